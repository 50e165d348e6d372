//! Layered raw string values of the known variables, merged with the `config` crate:
//! defaults < `{config_dir}/base.toml` < `{config_dir}/{APP_ENV}.toml` < environment.
//!
//! Keys are flat SCREAMING_SNAKE names in every layer. `config` lower-cases environment keys
//! (and keeps file keys as written), so every layer is fed in lower case and read back upper case.
//! Values are trimmed; empty ones count as missing, so a lower layer shows through.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat, Map, Source, Value, ValueKind};

use super::parse;
use super::report::ConfigProblem;
use super::settings::AppEnv;
use super::vars::{self, VARS};

/// Where a raw value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// File name, e.g. `base.toml`.
    File(String),
    Env,
}

impl Origin {
    pub fn label(&self) -> &str {
        match self {
            Origin::Default => "default",
            Origin::File(name) => name,
            Origin::Env => "env",
        }
    }
}

#[derive(Clone)]
pub struct RawValue {
    pub value: String,
    pub origin: Origin,
}

/// Merged raw values of the known variables (upper-case names), plus problems found while
/// reading the files. `Debug` is omitted on purpose: values may be secrets.
pub struct RawConfig {
    pub values: BTreeMap<&'static str, RawValue>,
    pub errors: Vec<ConfigProblem>,
    pub warnings: Vec<ConfigProblem>,
}

impl RawConfig {
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.values.get(name)
    }
}

/// A ready-made layer for the builder (lower-case keys). Its Debug hides the values.
#[derive(Clone)]
struct Layer(Map<String, Value>);

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Layer({} keys)", self.0.len())
    }
}

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.0.clone())
    }
}

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn problem(variable: &str, message: impl Into<String>, example: &str) -> ConfigProblem {
    ConfigProblem {
        variable: variable.into(),
        message: message.into(),
        example: example.into(),
    }
}

/// A file's parse error without the source snippet (which may quote a secret): only the lines
/// that are not part of the `N | text` excerpt.
fn sanitise_parse_error(e: &ConfigError) -> String {
    let text = match e {
        ConfigError::FileParse { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('|'))
        .collect();
    lines.join("; ")
}

/// Reads one optional TOML file into upper-case name -> trimmed string value.
fn read_file(dir: &Path, name: &str, raw: &mut RawConfig) -> BTreeMap<&'static str, String> {
    let path = dir.join(name);
    let mut out = BTreeMap::new();
    if !path.exists() {
        return out;
    }
    let shown = path.display().to_string();
    let example = "PORT = 8080";
    let table = match File::from(path.as_path())
        .format(FileFormat::Toml)
        .required(true)
        .collect()
    {
        Ok(table) => table,
        Err(e) => {
            let msg = format!("cannot be read as TOML: {}", sanitise_parse_error(&e));
            raw.errors.push(problem(&shown, msg, example));
            return out;
        }
    };
    for (key, value) in table {
        let Some(spec) = vars::spec(&key.to_ascii_uppercase()) else {
            let msg = match vars::suggest(&key) {
                Some(known) => format!("unknown key {key} in {name} — did you mean {known}?"),
                None => format!("unknown key {key} in {name} is ignored"),
            };
            let example = vars::suggest(&key)
                .and_then(vars::spec)
                .map_or(example, |s| s.example);
            raw.warnings.push(problem(&key, msg, example));
            continue;
        };
        if !spec.in_files || (spec.name == "APP_ENV" && name != "base.toml") {
            let msg = format!(
                "is ignored in {name}: it is only read from the environment{}",
                if spec.name == "APP_ENV" {
                    " or base.toml"
                } else {
                    ""
                }
            );
            raw.warnings.push(problem(spec.name, msg, spec.example));
            continue;
        }
        let text = match value.kind {
            ValueKind::Nil => continue,
            ValueKind::Table(_) | ValueKind::Array(_) => {
                let msg = format!(
                    "must be a single value in {name} (flat `{} = …`), not a table or array",
                    spec.name
                );
                raw.errors.push(problem(spec.name, msg, spec.example));
                continue;
            }
            // Keep the decimal point: `1e2` must not turn into the integer "100".
            ValueKind::Float(f) => format!("{f:?}"),
            kind => Value::new(None, kind).into_string().unwrap_or_default(),
        };
        if let Some(text) = trimmed(&text) {
            out.insert(spec.name, text);
        }
    }
    out
}

fn layer(values: &BTreeMap<&'static str, String>) -> Layer {
    let origin = String::from("layer");
    Layer(
        values
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    Value::new(Some(&origin), ValueKind::String(v.clone())),
                )
            })
            .collect(),
    )
}

/// Merges the layers. Only known, non-empty environment variables are passed on.
pub fn load_raw(env: &HashMap<String, String>, config_dir: &Path) -> RawConfig {
    let mut raw = RawConfig {
        values: BTreeMap::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let env_known: BTreeMap<&'static str, String> = VARS
        .iter()
        .filter_map(|spec| Some((spec.name, trimmed(env.get(spec.name)?)?)))
        .collect();

    let base = read_file(config_dir, "base.toml", &mut raw);
    // APP_ENV picks the second file, so it can only come from the environment or base.toml.
    let app_env = env_known
        .get("APP_ENV")
        .or_else(|| base.get("APP_ENV"))
        .and_then(|s| parse::app_env(s).ok())
        .unwrap_or(AppEnv::Production);
    let env_file_name = format!("{}.toml", app_env.as_str());
    let env_file = read_file(config_dir, &env_file_name, &mut raw);

    let defaults: BTreeMap<&'static str, String> = VARS
        .iter()
        .filter_map(|s| Some((s.name, s.default?.to_string())))
        .collect();
    let env_map: Map<String, String> = env_known
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    let merged = Config::builder()
        .add_source(layer(&defaults))
        .add_source(layer(&base))
        .add_source(layer(&env_file))
        .add_source(Environment::default().source(Some(env_map)))
        .build();
    let merged = match merged {
        Ok(c) => c,
        Err(e) => {
            raw.errors.push(problem(
                "CONFIG_DIR",
                format!(
                    "configuration layers could not be merged: {}",
                    sanitise_parse_error(&e)
                ),
                "/etc/unioneyes",
            ));
            return raw;
        }
    };

    for spec in VARS {
        let Ok(value) = merged.get_string(&spec.name.to_ascii_lowercase()) else {
            continue;
        };
        let Some(value) = trimmed(&value) else {
            continue;
        };
        let origin = if env_known.contains_key(spec.name) {
            Origin::Env
        } else if env_file.contains_key(spec.name) {
            Origin::File(env_file_name.clone())
        } else if base.contains_key(spec.name) {
            Origin::File("base.toml".into())
        } else {
            Origin::Default
        };
        raw.values.insert(spec.name, RawValue { value, origin });
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn val<'a>(raw: &'a RawConfig, name: &str) -> Option<(&'a str, &'a str)> {
        raw.get(name).map(|v| (v.value.as_str(), v.origin.label()))
    }

    #[test]
    fn defaults_then_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = load_raw(
            &env(&[("PORT", " 9000\n"), ("WORKERS", "   "), ("PATH", "/bin")]),
            dir.path(),
        );
        assert_eq!(val(&raw, "PORT"), Some(("9000", "env")));
        assert_eq!(
            val(&raw, "WORKERS"),
            Some(("0", "default")),
            "blank counts as missing"
        );
        assert_eq!(
            val(&raw, "ANALYTICS_RETENTION_DAYS"),
            Some(("30", "default"))
        );
        assert_eq!(val(&raw, "DATABASE_URL"), None);
        assert!(raw.errors.is_empty() && raw.warnings.is_empty());
        // Every default is present, i.e. every name works as a config key.
        assert!(VARS
            .iter()
            .filter(|v| v.default.is_some())
            .all(|v| raw.get(v.name).is_some()));
    }

    #[test]
    fn files_layer_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("base.toml"), "PORT = 7000\nHOST = \"0.0.0.0\"\nAPP_ENV = \"staging\"\nANALYTICS_RETENTION_DAYS = 90\nRETENTION = 1e2\nSKIP_DB_STARTUP_CHECK = true\n").expect("write");
        fs::write(
            dir.path().join("staging.toml"),
            "port = 7100\nWORKERS = 1e2\nREQUEST_TIMEOUT_SECS = 90.6\n",
        )
        .expect("write");
        fs::write(dir.path().join("production.toml"), "PORT = 1\n").expect("write");
        let raw = load_raw(&env(&[("HOST", "10.0.0.1")]), dir.path());
        assert_eq!(val(&raw, "APP_ENV"), Some(("staging", "base.toml")));
        assert_eq!(val(&raw, "PORT"), Some(("7100", "staging.toml")));
        assert_eq!(val(&raw, "HOST"), Some(("10.0.0.1", "env")));
        assert_eq!(
            val(&raw, "ANALYTICS_RETENTION_DAYS"),
            Some(("90", "base.toml")),
            "not a nested path"
        );
        assert_eq!(
            val(&raw, "WORKERS"),
            Some(("100.0", "staging.toml")),
            "float stays a float"
        );
        assert_eq!(
            val(&raw, "REQUEST_TIMEOUT_SECS"),
            Some(("90.6", "staging.toml"))
        );
        assert_eq!(
            val(&raw, "SKIP_DB_STARTUP_CHECK"),
            Some(("true", "base.toml"))
        );
        assert_eq!(raw.warnings.len(), 1);
        assert_eq!(raw.warnings[0].variable, "RETENTION");
    }

    #[test]
    fn env_app_env_picks_file_and_file_cannot_switch_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("test.toml"),
            "APP_ENV = \"production\"\nPORT = 0\nDATABSE_URL = \"x\"\n",
        )
        .expect("write");
        let raw = load_raw(&env(&[("APP_ENV", "TEST")]), dir.path());
        assert_eq!(val(&raw, "APP_ENV"), Some(("TEST", "env")));
        assert_eq!(val(&raw, "PORT"), Some(("0", "test.toml")));
        let names: Vec<&str> = raw.warnings.iter().map(|w| w.variable.as_str()).collect();
        assert!(
            names.contains(&"APP_ENV") && names.contains(&"DATABSE_URL"),
            "{names:?}"
        );
        assert!(raw
            .warnings
            .iter()
            .any(|w| w.message.contains("did you mean DATABASE_URL?")));
    }

    #[test]
    fn missing_app_env_reads_production_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("production.toml"), "PORT = 1234\n").expect("write");
        let raw = load_raw(&env(&[]), dir.path());
        assert_eq!(val(&raw, "PORT"), Some(("1234", "production.toml")));
        let raw = load_raw(&env(&[("APP_ENV", "prod")]), dir.path());
        assert_eq!(
            val(&raw, "PORT"),
            Some(("1234", "production.toml")),
            "unknown = production"
        );
    }

    #[test]
    fn bad_files_are_errors_without_echoing_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("base.toml"),
            "DATABASE_URL = postgres://u:hunter2@h/db\n",
        )
        .expect("write");
        let raw = load_raw(&env(&[]), dir.path());
        assert_eq!(raw.errors.len(), 1);
        let e = &raw.errors[0];
        assert!(
            e.variable.ends_with("base.toml") && e.message.contains("TOML"),
            "{e:?}"
        );
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("line 1"), "{}", e.message);

        fs::write(
            dir.path().join("base.toml"),
            "PORT = [1]\n[database]\nurl = \"x\"\n",
        )
        .expect("write");
        let raw = load_raw(&env(&[]), dir.path());
        assert_eq!(raw.errors.len(), 1, "{:?}", raw.errors);
        assert_eq!(raw.errors[0].variable, "PORT");
        assert_eq!(raw.warnings.len(), 1, "unknown [database] table");
    }

    #[test]
    fn shipped_base_toml_is_clean() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("base.toml"),
            include_str!("../../config/base.toml"),
        )
        .expect("write");
        let raw = load_raw(&env(&[]), dir.path());
        assert!(raw.errors.is_empty() && raw.warnings.is_empty());
        assert_eq!(
            val(&raw, "REDIS_KEY_PREFIX"),
            Some(("unioneyes:", "base.toml"))
        );
    }

    #[test]
    fn config_dir_only_from_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("base.toml"), "CONFIG_DIR = \"/x\"\n").expect("write");
        let raw = load_raw(&env(&[("CONFIG_DIR", "/etc/u")]), dir.path());
        assert_eq!(val(&raw, "CONFIG_DIR"), Some(("/etc/u", "env")));
        assert_eq!(raw.warnings.len(), 1);
    }
}
