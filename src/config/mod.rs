//! Configuration of the service: loading (`load`, `load_from_process`), validation and the
//! `check-config` report. See `docs/configuration.md`.
//!
//! - `vars`: the table of every known variable (drives everything else)
//! - `raw`: layered raw values (defaults < base.toml < {APP_ENV}.toml < environment)
//! - `parse`: strict value parsers
//! - `validate`: raw values -> `Settings`, collecting all problems
//! - `report`: `ConfigReport`, its table and JSON

pub mod parse;
mod raw;
mod report;
pub mod settings;
mod validate;
pub mod vars;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use report::{ConfigProblem, ConfigReport, EntryStatus, ReportEntry};
pub use settings::*;

/// Loads and validates the configuration from `env` (the complete environment, e.g. of a test)
/// and the optional TOML files in `config_dir`. Never touches the process environment.
pub fn load(env: &HashMap<String, String>, config_dir: &Path) -> ConfigReport {
    load_with(env, config_dir, &[])
}

/// `load` with the process environment; `config_dir` is `$CONFIG_DIR` or `./config`.
/// A known variable whose value is not UTF-8 is an error naming it.
pub fn load_from_process() -> ConfigReport {
    let mut env = HashMap::new();
    let mut bad_encoding = Vec::new();
    for (key, value) in std::env::vars_os() {
        let Ok(key) = key.into_string() else { continue };
        match value.into_string() {
            Ok(value) => {
                env.insert(key, value);
            }
            Err(_) if vars::spec(&key).is_some() => bad_encoding.push(key),
            Err(_) => {}
        }
    }
    let config_dir = env
        .get("CONFIG_DIR")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("./config"), PathBuf::from);
    load_with(&env, &config_dir, &bad_encoding)
}

fn load_with(
    env: &HashMap<String, String>,
    config_dir: &Path,
    bad_encoding: &[String],
) -> ConfigReport {
    let raw = raw::load_raw(env, config_dir);
    validate::build(&raw, env, config_dir, bad_encoding)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::time::Duration;
    use vars::VARS;

    pub(crate) const PEM: &str = "-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\\n-----END PUBLIC KEY-----";

    /// A complete, valid production environment (with recognisable fake secrets).
    pub(crate) fn production() -> HashMap<String, String> {
        [
            ("APP_ENV", "production"),
            (
                "DATABASE_URL",
                "postgres://app:HUNTER2DB@db.example.com:5432/app?sslmode=verify-full",
            ),
            (
                "REDIS_URL",
                "rediss://default:HUNTER2REDIS@r.example.com:6379",
            ),
            ("CLERK_PUBLISHABLE_KEY", "pk_live_abc"),
            ("CLERK_SECRET_KEY", "sk_live_HUNTER2CLERK"),
            ("CLERK_JWT_KEY", PEM),
            ("STRIPE_SECRET_KEY", "sk_live_HUNTER2STRIPE"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_HUNTER2HOOK"),
            ("SENTRY_DSN", "https://HUNTER2SENTRY@o1.ingest.sentry.io/42"),
            ("ADMIN_API_TOKEN", "HUNTER2ADMIN-0123456789abcdef0123456789"),
            (
                "SIN_ENCRYPTION_KEY",
                "HUNTER2SINKEY000000000000000000000000000000=",
            ),
            ("UNION_NAME", "Example Local 1"),
            ("UNION_BN", "012345678RR0001"),
            ("CSRF_SECRET", "HUNTER2CSRF-0123456789abcdef0123456789"),
            ("APP_ORIGINS", "https://app.unioneyes.ca"),
            ("PATH", "/usr/bin"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub(crate) fn load_env(env: &HashMap<String, String>) -> ConfigReport {
        let dir = tempfile::tempdir().expect("tempdir");
        load(env, dir.path())
    }

    #[test]
    fn full_production_config_loads() {
        let report = load_env(&production());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let s = report.settings().expect("settings");
        assert_eq!(s.app_env, AppEnv::Production);
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(
            s.database.url.expose_secret(),
            "postgres://app:HUNTER2DB@db.example.com:5432/app?sslmode=verify-full"
        );
        assert_eq!(s.redis.key_prefix, "unioneyes:");
        assert_eq!(s.union_bn.as_deref(), Some("012345678RR0001"));
        assert!(s
            .services
            .clerk_jwt_key
            .as_deref()
            .is_some_and(|k| k.contains("KEY-----\nMIIB")));
        assert!(s.services.invalid.is_empty());
        assert!(s
            .services
            .sin_encryption_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().starts_with("HUNTER2SINKEY")));
        assert!(s.services.sin_encryption_old_keys.is_empty());
        assert!(
            s.services.clerk_authorized_parties.is_empty() && s.services.clerk_jwt_issuer.is_none()
        );
        assert_eq!(s.dev_keys_dir, PathBuf::from(".dev/keys"));
        assert!(s
            .csrf
            .secret
            .as_ref()
            .is_some_and(|k| k.expose_secret().starts_with("HUNTER2CSRF")));
        assert_eq!(s.csrf.app_origins, ["https://app.unioneyes.ca"]);
        assert_eq!(s.csrf.token_ttl, Duration::from_secs(3600));
        assert!(s.csrf.old_secrets.is_empty());
        assert!(report.into_settings().is_ok());
    }

    #[test]
    fn no_secret_is_ever_printed() {
        let mut env = production();
        env.insert("PORT".into(), "nope".into());
        for name in [
            "STRIPE_SECRET_KEY",
            "SENTRY_DSN",
            "ADMIN_API_TOKEN",
            "SIN_ENCRYPTION_KEY",
            "SIN_ENCRYPTION_OLD_KEYS",
            "CSRF_SECRET",
            "CSRF_OLD_SECRETS",
        ] {
            env.insert(name.into(), "HUNTER2BAD".into());
        }
        env.insert("DATABASE_URL".into(), "mysql://u:HUNTER2DB@h/db".into());
        env.insert("STRIPE_SECRT_KEY".into(), "HUNTER2TYPO".into());
        let report = load_env(&env);
        assert!(report.errors.len() >= 7);
        let outputs = [
            report.render_table(),
            report.to_json().to_string(),
            format!("{report:?}"),
        ];
        for out in outputs {
            assert!(!out.contains("HUNTER2"), "secret leaked:\n{out}");
        }
        // And with a valid config, Debug of the settings inside stays redacted.
        let ok = load_env(&production());
        let debug = format!("{ok:?}");
        assert!(
            !debug.contains("HUNTER2") && debug.contains("REDACTED"),
            "{debug}"
        );
        assert!(!ok.render_table().contains("HUNTER2"));
    }

    #[test]
    fn process_loader_reads_the_real_environment() {
        // Only asserts it runs; the process environment of the test runner is not controlled.
        let report = load_from_process();
        assert_eq!(report.entries.len(), vars::VARS.len());
    }

    pub(crate) fn with(
        base: HashMap<String, String>,
        pairs: &[(&str, &str)],
    ) -> HashMap<String, String> {
        let mut env = base;
        for (k, v) in pairs {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    pub(crate) fn dev(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let base = [
            ("APP_ENV", "development"),
            ("DATABASE_URL", "postgres://u@localhost/db"),
        ];
        let env = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        with(env, pairs)
    }

    pub(crate) fn names(list: &[ConfigProblem]) -> Vec<&str> {
        list.iter().map(|p| p.variable.as_str()).collect()
    }

    pub(crate) fn message<'a>(list: &'a [ConfigProblem], var: &str) -> &'a str {
        list.iter()
            .find(|p| p.variable == var)
            .map_or("", |p| p.message.as_str())
    }

    #[test]
    fn every_example_is_valid() {
        // Secret keys have placeholders as examples (nobody should copy a published key).
        let key = crate::crypto::sin::generate_key_b64;
        // The CA bundle examples name files that must exist: a real one stands in.
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).expect("cert");
        std::fs::write(&ca, cert.cert.pem()).expect("write ca");
        let env: HashMap<String, String> = VARS
            .iter()
            .map(|v| {
                let value = match v.name {
                    "DATABASE_CA_CERT_FILE" | "REDIS_CA_CERT_FILE" => ca.display().to_string(),
                    "SIN_ENCRYPTION_KEY" => key(),
                    "SIN_ENCRYPTION_OLD_KEYS" => format!("{},{}", key(), key()),
                    _ => v.example.replace("PASSWORD", "pw"),
                };
                (v.name.to_string(), value)
            })
            .collect();
        let r = load_env(&with(env, &[("APP_ENV", "development")]));
        assert!(
            r.errors.is_empty() && r.warnings.is_empty(),
            "{:?} {:?}",
            r.errors,
            r.warnings
        );
    }

    #[test]
    fn minimal_development_config() {
        let r = load_env(&dev(&[]));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(names(&r.warnings), ["REDIS_URL", "CSRF_SECRET"]);
        assert!(r.warnings[0].message.contains("Redis features are off"));
        assert!(r.warnings[1].message.contains("do not survive a restart"));
        let s = r.settings().expect("settings");
        assert!(s.redis.url.is_none() && s.services.clerk_secret_key.is_none());
        assert_eq!(s.server.request_timeout, Duration::from_secs(30));
        assert_eq!(s.database.statement_timeout, Duration::from_millis(10_000));
        assert!(!s.database.skip_startup_check && s.database.migrate_on_startup);
        assert_eq!(s.analytics_retention_days, 30);
        assert!(
            s.services.sin_encryption_key.is_none()
                && s.services.sin_encryption_old_keys.is_empty()
        );
        assert!(
            s.services.clerk_authorized_parties.is_empty() && s.services.clerk_jwt_issuer.is_none()
        );
        assert_eq!(s.dev_keys_dir, PathBuf::from(".dev/keys"));
    }

    #[test]
    fn app_env_fails_closed() {
        let r = load_env(&dev(&[("APP_ENV", "DEVELOPMENT")]));
        assert_eq!(r.app_env, AppEnv::Development);
        let r = load_env(&dev(&[("APP_ENV", "  ")]));
        assert_eq!(r.app_env, AppEnv::Production);
        assert!(
            names(&r.errors).contains(&"STRIPE_SECRET_KEY"),
            "production requirements apply"
        );
        assert!(!names(&r.errors).contains(&"APP_ENV"));
        let r = load_env(&dev(&[("APP_ENV", "prod")]));
        assert_eq!(r.app_env, AppEnv::Production);
        let m = message(&r.errors, "APP_ENV");
        assert!(
            m.contains("development, test, staging, production") && m.contains("\"prod\""),
            "{m}"
        );
    }

    #[test]
    fn whitespace_is_trimmed_and_blank_is_missing() {
        let r = load_env(&dev(&[
            ("DATABASE_URL", "postgres://u@localhost/db\n"),
            ("PORT", " 0 "),
            ("UNION_NAME", " \t"),
        ]));
        let s = r.settings().expect("settings");
        assert_eq!(s.database.url.expose_secret(), "postgres://u@localhost/db");
        assert_eq!(s.server.port, 0);
        assert!(s.union_name.is_none() && !r.warnings.iter().any(|w| w.variable == "UNION_NAME"));
        let r = load_env(&dev(&[("DATABASE_URL", "   ")]));
        assert!(message(&r.errors, "DATABASE_URL").contains("required in every environment"));
    }

    #[test]
    fn misspellings_warn_and_other_variables_are_ignored() {
        let r = load_env(&dev(&[
            ("STRIPE_SECRT_KEY", "x"),
            ("HOSTS", "x"),
            ("HOME", "/root"),
            ("CARGO_PKG_NAME", "x"),
        ]));
        assert_eq!(
            names(&r.warnings),
            ["REDIS_URL", "CSRF_SECRET", "STRIPE_SECRT_KEY"]
        );
        assert_eq!(
            r.warnings[2].message,
            "unknown variable STRIPE_SECRT_KEY — did you mean STRIPE_SECRET_KEY?"
        );
    }

    #[test]
    fn non_utf8_values_are_named() {
        let env = dev(&[]);
        let raw = raw::load_raw(&env, Path::new("/nonexistent"));
        let r = validate::build(
            &raw,
            &env,
            Path::new("/nonexistent"),
            &["DATABASE_URL".to_string(), "SENTRY_DSN".to_string()],
        );
        assert_eq!(names(&r.errors), ["DATABASE_URL", "SENTRY_DSN"]);
        assert!(r.errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn table_entries_follow_vars() {
        let r = load_env(&dev(&[("PORT", "9000"), ("PORT_NUMBER", "1")]));
        assert_eq!(r.entries.len(), VARS.len());
        let port = r
            .entries
            .iter()
            .find(|e| e.variable == "PORT")
            .expect("PORT");
        assert_eq!(
            (port.status, port.value.as_deref(), port.source.as_deref()),
            (EntryStatus::Ok, Some("9000"), Some("env"))
        );
        let db = r
            .entries
            .iter()
            .find(|e| e.variable == "DATABASE_URL")
            .expect("DB");
        assert_eq!(db.value.as_deref(), Some("(hidden)"));
    }
}
