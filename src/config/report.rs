//! The outcome of loading the configuration (`ConfigReport`): per-variable entries, errors,
//! warnings and, when there are no errors, the `Settings`. Renders the `check-config` table and
//! its JSON form. Nothing in here ever holds a secret's value (Settings redacts its own).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use super::settings::{AppEnv, Settings};

/// One problem: which variable, what is wrong, and a valid example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    pub variable: String,
    pub message: String,
    pub example: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// Set and valid.
    Ok,
    /// Not set; the default applies.
    Default,
    /// Not set, not required, no default (feature off).
    Unset,
    Warning,
    Error,
}

impl EntryStatus {
    pub fn label(self) -> &'static str {
        match self {
            EntryStatus::Ok => "ok",
            EntryStatus::Default => "default",
            EntryStatus::Unset => "not set",
            EntryStatus::Warning => "WARNING",
            EntryStatus::Error => "ERROR",
        }
    }
}

/// One row of the table. `value` is already redacted for secrets (`"(hidden)"`) and truncated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportEntry {
    pub variable: &'static str,
    pub status: EntryStatus,
    pub secret: bool,
    pub value: Option<String>,
    /// `env`, `base.toml`, `{APP_ENV}.toml` or `default`; None when not set.
    pub source: Option<String>,
    pub problem: Option<String>,
}

/// Result of `config::load`. `Debug` is safe to print: entries are redacted and `Settings`
/// prints secrets as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct ConfigReport {
    pub app_env: AppEnv,
    pub errors: Vec<ConfigProblem>,
    pub warnings: Vec<ConfigProblem>,
    /// One entry per known variable, in `vars::VARS` order.
    pub entries: Vec<ReportEntry>,
    pub(super) settings: Option<Settings>,
}

impl ConfigReport {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The validated settings; Some exactly when there are no errors.
    pub fn settings(&self) -> Option<&Settings> {
        if self.has_errors() {
            None
        } else {
            self.settings.as_ref()
        }
    }

    #[allow(clippy::result_large_err)] // the report is the error, by design
    pub fn into_settings(mut self) -> Result<Settings, ConfigReport> {
        match self.settings.take() {
            Some(settings) if !self.has_errors() => Ok(settings),
            _ => Err(self),
        }
    }

    /// Aligned `VARIABLE | STATUS | VALUE / PROBLEM` table, then errors and warnings with examples.
    pub fn render_table(&self) -> String {
        let rows: Vec<(&str, &str, String)> = self
            .entries
            .iter()
            .map(|e| {
                let cell = match (&e.problem, &e.value) {
                    (Some(p), _) => p.clone(),
                    (None, Some(v)) => {
                        format!("{v}  [{}]", e.source.as_deref().unwrap_or("default"))
                    }
                    (None, None) => "-".to_string(),
                };
                (e.variable, e.status.label(), cell)
            })
            .collect();
        let w1 = rows
            .iter()
            .map(|r| r.0.len())
            .max()
            .unwrap_or(0)
            .max("VARIABLE".len());
        let w2 = rows
            .iter()
            .map(|r| r.1.len())
            .max()
            .unwrap_or(0)
            .max("STATUS".len());
        let mut out = format!(
            "Configuration check (APP_ENV={})\n\n",
            self.app_env.as_str()
        );
        let _ = writeln!(out, "{:w1$}  {:w2$}  VALUE / PROBLEM", "VARIABLE", "STATUS");
        let _ = writeln!(
            out,
            "{}  {}  {}",
            "-".repeat(w1),
            "-".repeat(w2),
            "-".repeat(15)
        );
        for (name, status, cell) in rows {
            let _ = writeln!(out, "{name:w1$}  {status:w2$}  {cell}");
        }
        for (title, list) in [("Errors", &self.errors), ("Warnings", &self.warnings)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title} ({}):", list.len());
            for p in list {
                let _ = writeln!(out, "  - {}: {}", p.variable, p.message);
                let _ = writeln!(out, "      example: {}", p.example);
            }
        }
        let verdict = if self.has_errors() {
            "the service will not start"
        } else {
            "configuration OK"
        };
        let _ = writeln!(
            out,
            "\n{} error(s), {} warning(s): {verdict}",
            self.errors.len(),
            self.warnings.len()
        );
        out
    }

    /// `{ app_env, ok, errors: [..], warnings: [..], variables: [..] }` for `check-config --json`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "app_env": self.app_env,
            "ok": !self.has_errors(),
            "errors": self.errors,
            "warnings": self.warnings,
            "variables": self.entries,
        })
    }
}

/// Shortens a value for display: at most 64 characters, newlines shown as `\n`.
pub fn display_value(s: &str) -> String {
    // Escape every control character: a value must not drive the operator's terminal.
    let flat: String = s
        .chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect();
    if flat.chars().count() > 64 {
        let mut cut: String = flat.chars().take(63).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(errors: usize) -> ConfigReport {
        let p = |v: &str| ConfigProblem {
            variable: v.into(),
            message: "is wrong".into(),
            example: "8080".into(),
        };
        ConfigReport {
            app_env: AppEnv::Test,
            errors: (0..errors).map(|_| p("PORT")).collect(),
            warnings: vec![p("STRIPE_SECRT_KEY")],
            entries: vec![
                ReportEntry {
                    variable: "PORT",
                    status: EntryStatus::Ok,
                    secret: false,
                    value: Some("8080".into()),
                    source: Some("env".into()),
                    problem: None,
                },
                ReportEntry {
                    variable: "DATABASE_URL",
                    status: EntryStatus::Ok,
                    secret: true,
                    value: Some("(hidden)".into()),
                    source: Some("env".into()),
                    problem: None,
                },
                ReportEntry {
                    variable: "SENTRY_DSN",
                    status: EntryStatus::Unset,
                    secret: true,
                    value: None,
                    source: None,
                    problem: None,
                },
            ],
            settings: None,
        }
    }

    #[test]
    fn table_is_aligned_and_lists_problems() {
        let t = report(1).render_table();
        assert!(t.contains("VARIABLE      STATUS   VALUE / PROBLEM"), "{t}");
        assert!(t.contains("PORT          ok       8080  [env]"), "{t}");
        assert!(t.contains("SENTRY_DSN    not set  -"), "{t}");
        assert!(
            t.contains("Errors (1):\n  - PORT: is wrong\n      example: 8080"),
            "{t}"
        );
        assert!(t.contains("Warnings (1):\n  - STRIPE_SECRT_KEY"), "{t}");
        assert!(t.contains("will not start"));
    }

    #[test]
    fn json_shape() {
        let j = report(0).to_json();
        assert_eq!(j["app_env"], "test");
        assert_eq!(j["ok"], true);
        assert_eq!(j["warnings"][0]["variable"], "STRIPE_SECRT_KEY");
        assert_eq!(j["variables"][1]["value"], "(hidden)");
        assert_eq!(j["variables"][2]["status"], "unset");
        assert_eq!(report(1).to_json()["errors"][0]["example"], "8080");
    }

    #[test]
    fn settings_only_without_errors() {
        let r = report(1);
        assert!(r.has_errors() && r.settings().is_none());
        assert!(r.into_settings().is_err());
    }

    #[test]
    fn display_values() {
        assert_eq!(display_value("a\nb"), "a\\nb");
        let long = display_value(&"x".repeat(100));
        assert_eq!(long.chars().count(), 64);
        assert!(long.ends_with('…'));
    }
}
