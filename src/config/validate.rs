//! Turns raw values into `Settings`, collecting every problem at once into a `ConfigReport`.
//!
//! Staging/production: every problem is an error. Development/test: problems with optional
//! services (`VarSpec::optional_service`) are warnings and switch the feature off; problems with
//! core settings stay errors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::parse;
use super::raw::{Origin, RawConfig};
use super::report::{display_value, ConfigProblem, ConfigReport, EntryStatus, ReportEntry};
use super::settings::*;
use super::vars::{self, Required, VarSpec, VARS};

pub const UPSTASH_FORM: &str = "rediss://default:<password>@<host>:6379";

fn spec(name: &str) -> &'static VarSpec {
    match vars::spec(name) {
        Some(s) => s,
        None => panic!("config variable {name} is missing from vars::VARS"),
    }
}

/// Values that must not be quoted even in a non-secret variable (a secret pasted in the wrong place).
fn looks_secret(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    ["sk_", "rk_", "whsec_"].iter().any(|p| l.starts_with(p))
        || l.contains("private key")
        || l.contains("password=")
        || Url::parse(v).is_ok_and(|u| u.password().is_some())
}

fn example(spec: &VarSpec, env: AppEnv) -> String {
    match (spec.name, env) {
        ("STRIPE_SECRET_KEY", AppEnv::Production) => "sk_live_0123456789abcdef".into(),
        _ => spec.example.into(),
    }
}

struct Ctx<'a> {
    raw: &'a RawConfig,
    env: &'a HashMap<String, String>,
    app_env: AppEnv,
    errors: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
    /// Variables with a problem: status and message for the table.
    marked: BTreeMap<&'static str, (EntryStatus, String)>,
    invalid: Vec<&'static str>,
}

impl<'a> Ctx<'a> {
    fn problem(&mut self, spec: &'static VarSpec, message: String, error: bool) {
        // A missing REDIS_URL next to Upstash REST variables gets the Upstash form as example.
        let example = if spec.name == "REDIS_URL" && message.contains(UPSTASH_FORM) {
            UPSTASH_FORM.to_string()
        } else {
            example(spec, self.app_env)
        };
        let p = ConfigProblem {
            variable: spec.name.into(),
            message: message.clone(),
            example,
        };
        let status = if error {
            EntryStatus::Error
        } else {
            EntryStatus::Warning
        };
        if error {
            self.errors.push(p)
        } else {
            self.warnings.push(p)
        }
        self.marked.entry(spec.name).or_insert((status, message));
    }

    /// Parses a set value or applies the default; `service` selects the optional-service severity.
    fn value<T>(
        &mut self,
        name: &str,
        service: bool,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let spec = spec(name);
        if self.marked.contains_key(spec.name) {
            return None;
        }
        let error = !service || self.app_env.is_strict();
        let Some(raw) = self.raw.get(spec.name) else {
            if spec.required.applies(self.app_env) {
                let message = match spec.required {
                    Required::Always => "is required in every environment but not set".to_string(),
                    _ => format!("is required in {} but not set", self.app_env.as_str()),
                };
                self.problem(spec, message + &self.hint(spec), true);
            } else if spec.name == "REDIS_URL" {
                let message = format!("is not set: Redis features are off{}", self.hint(spec));
                self.problem(spec, message, false);
            }
            return None;
        };
        match f(&raw.value) {
            Ok(v) => Some(v),
            Err(mut message) => {
                if spec.may_quote() && !looks_secret(&raw.value) {
                    message += &format!(" (got \"{}\")", display_value(&raw.value));
                }
                if let Origin::File(file) = &raw.origin {
                    message += &format!(" [set in {file}]");
                }
                if !error {
                    message += "; the feature is off";
                    self.invalid.push(spec.name);
                }
                self.problem(spec, message, error);
                None
            }
        }
    }

    fn core<T>(&mut self, name: &str, f: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        self.value(name, false, f)
    }

    fn service<T>(&mut self, name: &str, f: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        self.value(name, true, f)
    }

    fn secret(
        &mut self,
        name: &str,
        f: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<SecretString> {
        let value = self.raw.get(name).map(|r| r.value.clone());
        self.service(name, f).and(value).map(SecretString::from)
    }

    fn text(&mut self, name: &str, f: impl FnOnce(&str) -> Result<(), String>) -> Option<String> {
        let value = self.raw.get(name).map(|r| r.value.clone());
        self.service(name, f).and(value)
    }

    /// Integer in the table's range; on a problem the default stands in (Settings is not built then).
    fn int(&mut self, name: &str) -> Option<u64> {
        let vars::Kind::Int { min, max } = spec(name).kind else {
            panic!("{name} is not an integer variable")
        };
        self.core(name, |s| parse::int(s, min, max))
    }

    fn bool(&mut self, name: &str) -> bool {
        self.core(name, parse::boolean).unwrap_or(false)
    }

    /// Extra text for a missing REDIS_URL when only Upstash REST variables are present.
    fn hint(&self, spec: &VarSpec) -> String {
        let set = |k: &str| self.env.get(k).is_some_and(|v| !v.trim().is_empty());
        if spec.name != "REDIS_URL"
            || !(set("UPSTASH_REDIS_REST_URL") || set("UPSTASH_REDIS_REST_TOKEN"))
        {
            return String::new();
        }
        let host = self
            .env
            .get("UPSTASH_REDIS_REST_URL")
            .and_then(|u| Url::parse(u.trim()).ok())
            .and_then(|u| u.host_str().map(|h| format!(" (here <host> is {h})")))
            .unwrap_or_default();
        format!(". UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN are set, but that is Upstash's HTTPS REST \
            endpoint, not the Redis protocol this service speaks; set REDIS_URL to {UPSTASH_FORM}{host}")
    }
}

fn secs(v: Option<u64>) -> Duration {
    Duration::from_secs(v.unwrap_or(0))
}

fn millis(v: Option<u64>) -> Duration {
    Duration::from_millis(v.unwrap_or(0))
}

/// Validates everything. `bad_encoding` lists known variables whose value was not UTF-8.
pub fn build(
    raw: &RawConfig,
    env: &HashMap<String, String>,
    config_dir: &Path,
    bad_encoding: &[String],
) -> ConfigReport {
    let mut cx = Ctx {
        raw,
        env,
        app_env: AppEnv::Production,
        errors: raw.errors.clone(),
        warnings: raw.warnings.clone(),
        marked: BTreeMap::new(),
        invalid: Vec::new(),
    };
    for name in bad_encoding {
        if let Some(spec) = vars::spec(name) {
            cx.problem(spec, "contains bytes that are not valid UTF-8".into(), true);
        }
    }
    let app_env = cx
        .core("APP_ENV", parse::app_env)
        .unwrap_or(AppEnv::Production);
    cx.app_env = app_env;

    let host = cx.core("HOST", parse::host);
    let server = ServerSettings {
        host: host.unwrap_or_default(),
        port: cx
            .int("PORT")
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(0),
        request_timeout: secs(cx.int("REQUEST_TIMEOUT_SECS")),
        max_body_bytes: cx.int("MAX_BODY_BYTES").unwrap_or(0) as usize,
        shutdown_drain: secs(cx.int("SHUTDOWN_DRAIN_SECS")),
        shutdown_grace: secs(cx.int("SHUTDOWN_GRACE_SECS")),
        workers: cx.int("WORKERS").unwrap_or(0) as usize,
    };
    let db_url = cx
        .core("DATABASE_URL", parse::database_url)
        .and(raw.get("DATABASE_URL").map(|r| r.value.clone()));
    let mut database = DatabaseSettings {
        url: SecretString::from(String::new()),
        pool_max: cx.int("DATABASE_POOL_MAX").unwrap_or(0) as usize,
        connect_timeout: millis(cx.int("DATABASE_CONNECT_TIMEOUT_MS")),
        pool_wait_timeout: millis(cx.int("DATABASE_POOL_TIMEOUT_MS")),
        statement_timeout: millis(cx.int("DATABASE_STATEMENT_TIMEOUT_MS")),
        startup_attempts: cx.int("DATABASE_STARTUP_ATTEMPTS").unwrap_or(0) as u32,
        startup_retry_delay: millis(cx.int("DATABASE_STARTUP_RETRY_DELAY_MS")),
        skip_startup_check: cx.bool("SKIP_DB_STARTUP_CHECK"),
        migrate_on_startup: cx.bool("DATABASE_MIGRATE_ON_STARTUP"),
        ca_cert_file: cx.core("DATABASE_CA_CERT_FILE", parse::ca_cert_file),
    };
    let redis = RedisSettings {
        url: cx.secret("REDIS_URL", parse::redis_url),
        key_prefix: cx
            .core("REDIS_KEY_PREFIX", |s| {
                parse::redis_key_prefix(s).map(|()| s.to_string())
            })
            .unwrap_or_default(),
        pool_max: cx.int("REDIS_POOL_MAX").unwrap_or(0) as u32,
        connect_timeout: millis(cx.int("REDIS_CONNECT_TIMEOUT_MS")),
        ca_cert_file: cx.core("REDIS_CA_CERT_FILE", parse::ca_cert_file),
    };
    tls_checks(&mut cx, app_env, db_url.as_deref(), &database, &redis);
    let interval = cx.int("HEALTH_INTERVAL_MS");
    let timeout = cx.int("HEALTH_TIMEOUT_MS");
    if let (Some(i), Some(t)) = (interval, timeout) {
        if t >= i {
            let msg = format!("must be less than HEALTH_INTERVAL_MS (HEALTH_TIMEOUT_MS is {t}, HEALTH_INTERVAL_MS is {i})");
            let p = ConfigProblem {
                variable: "HEALTH_TIMEOUT_MS".into(),
                message: msg.clone(),
                example: "HEALTH_INTERVAL_MS=5000 with HEALTH_TIMEOUT_MS=1000".into(),
            };
            cx.errors.push(p);
            cx.marked
                .insert("HEALTH_TIMEOUT_MS", (EntryStatus::Error, msg));
        }
    }
    let health = HealthSettings {
        interval: millis(interval),
        timeout: millis(timeout),
        schema_check_interval: secs(cx.int("HEALTH_SCHEMA_CHECK_INTERVAL_SECS")),
    };

    let mut services = ServiceSettings {
        clerk_publishable_key: cx.text("CLERK_PUBLISHABLE_KEY", parse::clerk_publishable_key),
        clerk_secret_key: cx.secret("CLERK_SECRET_KEY", parse::clerk_secret_key),
        clerk_jwt_key: cx.service("CLERK_JWT_KEY", parse::clerk_jwt_key),
        clerk_authorized_parties: cx
            .core("CLERK_AUTHORIZED_PARTIES", parse::authorized_parties)
            .unwrap_or_default(),
        clerk_jwt_issuer: cx.core("CLERK_JWT_ISSUER", |s| {
            parse::clerk_jwt_issuer(s).map(|()| s.to_string())
        }),
        stripe_secret_key: cx.secret("STRIPE_SECRET_KEY", |s| {
            parse::stripe_secret_key(s, app_env)
        }),
        stripe_webhook_secret: cx.secret("STRIPE_WEBHOOK_SECRET", parse::stripe_webhook_secret),
        azure_key_vault_url: cx.text("AZURE_KEY_VAULT_URL", parse::azure_key_vault_url),
        azure_openai_endpoint: cx.text("AZURE_OPENAI_ENDPOINT", parse::azure_openai_endpoint),
        azure_openai_api_key: cx.secret("AZURE_OPENAI_API_KEY", |_| Ok(())),
        azure_storage_account: cx.text("AZURE_STORAGE_ACCOUNT", parse::azure_storage_account),
        sentry_dsn: cx.secret("SENTRY_DSN", parse::sentry_dsn),
        sin_encryption_key: None,
        sin_encryption_old_keys: Vec::new(),
        invalid: Vec::new(),
    };
    let analytics_retention_days = cx.int("ANALYTICS_RETENTION_DAYS").unwrap_or(0) as u32;
    let analytics = AnalyticsSettings {
        enabled: cx.bool("ANALYTICS_ENABLED"),
        flush_interval: millis(cx.int("ANALYTICS_FLUSH_INTERVAL_MS")),
        flush_batch: cx.int("ANALYTICS_FLUSH_BATCH").unwrap_or(0),
        queue_capacity: cx.int("ANALYTICS_QUEUE_CAPACITY").unwrap_or(0) as usize,
        max_tenants_per_day: cx.int("ANALYTICS_MAX_TENANTS_PER_DAY").unwrap_or(0) as usize,
        redis_timeout: millis(cx.int("ANALYTICS_REDIS_TIMEOUT_MS")),
        shutdown_flush: millis(cx.int("ANALYTICS_SHUTDOWN_FLUSH_MS")),
    };
    let union_name = cx.text("UNION_NAME", parse::union_name);
    let union_bn = cx.text("UNION_BN", parse::union_bn);
    let admin_api_token = cx.secret("ADMIN_API_TOKEN", parse::admin_api_token);
    let trusted_proxies = cx
        .core("TRUSTED_PROXIES", parse::trusted_proxies)
        .unwrap_or_default();
    services.sin_encryption_key = cx.secret("SIN_ENCRYPTION_KEY", parse::sin_encryption_key);
    services.sin_encryption_old_keys = cx
        .core("SIN_ENCRYPTION_OLD_KEYS", parse::sin_encryption_old_keys)
        .unwrap_or_default()
        .into_iter()
        .map(SecretString::from)
        .collect();
    if services.sin_encryption_key.is_none()
        && !services.sin_encryption_old_keys.is_empty()
        && !cx.marked.contains_key("SIN_ENCRYPTION_KEY")
    {
        let message = "is set but SIN_ENCRYPTION_KEY is not: old keys only decrypt during a \
            rotation, so member SIN features are off"
            .to_string();
        cx.problem(spec("SIN_ENCRYPTION_OLD_KEYS"), message, false);
    }
    let csrf = csrf_settings(&mut cx, app_env);
    let metrics = metrics_settings(&mut cx, server.port, admin_api_token.as_ref());
    let dev_keys_dir = cx.core("DEV_KEYS_DIR", parse::path).unwrap_or_default();
    let rate_limits = crate::config::RateLimitSettings {
        presets: crate::ratelimit::preset::with_overrides(
            &cx.core("RATE_LIMITS", crate::ratelimit::preset::parse_overrides)
                .unwrap_or_default(),
        ),
        redis_timeout: Duration::from_millis(cx.int("RATE_LIMIT_REDIS_TIMEOUT_MS").unwrap_or(75)),
    };

    let mut unknown: Vec<&String> = env.keys().filter(|k| vars::spec(k).is_none()).collect();
    unknown.sort();
    for name in unknown {
        if let Some(known) = vars::suggest(name) {
            cx.warnings.push(ConfigProblem {
                variable: name.clone(),
                message: format!("unknown variable {name} — did you mean {known}?"),
                example: format!("{known}={}", example(spec(known), app_env)),
            });
        }
    }

    let entries = VARS
        .iter()
        .map(|spec| entry(spec, &cx, config_dir))
        .collect();
    services.invalid = std::mem::take(&mut cx.invalid);
    let settings = match db_url {
        Some(url) if cx.errors.is_empty() => {
            database.url = SecretString::from(url);
            Some(Settings {
                app_env,
                server,
                database,
                redis,
                health,
                services,
                analytics_retention_days,
                analytics,
                union_name,
                union_bn,
                admin_api_token,
                trusted_proxies,
                dev_keys_dir,
                rate_limits,
                csrf,
                metrics,
            })
        }
        _ => None,
    };
    ConfigReport {
        app_env,
        errors: cx.errors,
        warnings: cx.warnings,
        entries,
        settings,
    }
}

/// TLS to PostgreSQL and Redis. A CA file next to a URL that never checks certificates is an
/// error in every environment (the operator meant verification and would silently not get
/// it). In production, plaintext to a host that is not local (`parse::is_local_host`) is a
/// warning, not an error: a private network (a VNet, the compose files' internal network) is
/// a legitimate place for it.
fn tls_checks(
    cx: &mut Ctx<'_>,
    app_env: AppEnv,
    db_url: Option<&str>,
    database: &DatabaseSettings,
    redis: &RedisSettings,
) {
    use crate::db::tls::{split_sslmode, SslMode};
    let host_of = |url: &str| {
        Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    };
    if let Some((mode, url)) = db_url.and_then(|u| split_sslmode(u).ok().map(|(m, _)| (m, u))) {
        if database.ca_cert_file.is_some() && !mode.uses_ca_file() {
            let message = format!(
                "is set, but DATABASE_URL's sslmode is {}{}, which checks no certificate: set \
                 sslmode=verify-full in DATABASE_URL (or unset this)",
                mode.as_str(),
                if mode == SslMode::Prefer {
                    " (the default)"
                } else {
                    ""
                }
            );
            cx.problem(spec("DATABASE_CA_CERT_FILE"), message, true);
        }
        let remote = host_of(url).is_some_and(|h| !parse::is_local_host(&h));
        if app_env == AppEnv::Production && remote && !mode.always_encrypts() {
            let message = format!(
                "connects to a host that is not local with sslmode={}{}: the password and data \
                 may cross the network unencrypted; use sslmode=verify-full (or keep the \
                 database on a private network)",
                mode.as_str(),
                if mode == SslMode::Prefer {
                    " (the default: TLS only if offered, certificate unchecked)"
                } else {
                    ""
                }
            );
            cx.problem(spec("DATABASE_URL"), message, false);
        }
    }
    let redis_url = redis
        .url
        .as_ref()
        .and_then(|_| cx.raw.get("REDIS_URL").map(|r| r.value.clone()));
    match (&redis_url, &redis.ca_cert_file) {
        (Some(url), Some(_)) if !url.to_ascii_lowercase().starts_with("rediss://") => {
            let message =
                "is set, but REDIS_URL is redis:// (no TLS): use rediss:// (or unset this)";
            cx.problem(spec("REDIS_CA_CERT_FILE"), message.into(), true);
        }
        (None, Some(_)) if !cx.marked.contains_key("REDIS_URL") => {
            let message = "is set, but REDIS_URL is not: it is not used";
            cx.problem(spec("REDIS_CA_CERT_FILE"), message.into(), false);
        }
        _ => {}
    }
    if let Some(url) = &redis_url {
        let remote = host_of(url).is_some_and(|h| !parse::is_local_host(&h));
        if app_env == AppEnv::Production
            && remote
            && url.to_ascii_lowercase().starts_with("redis://")
        {
            let message = "connects to a host that is not local without TLS (redis://): the \
                password and data may cross the network unencrypted; use rediss:// (or keep Redis \
                on a private network)";
            cx.problem(spec("REDIS_URL"), message.into(), false);
        }
    }
}

/// CSRF_SECRET, CSRF_OLD_SECRETS, APP_ORIGINS, CSRF_TOKEN_TTL_SECS. A set but invalid value is
/// an error in every environment (protection never silently loosens); a missing secret is an
/// error in staging/production and a warning elsewhere (a random per-process secret is used).
fn csrf_settings(cx: &mut Ctx<'_>, app_env: AppEnv) -> CsrfSettings {
    let secret = cx
        .core("CSRF_SECRET", parse::csrf_secret)
        .and(cx.raw.get("CSRF_SECRET").map(|r| r.value.clone()))
        .map(SecretString::from);
    if secret.is_none() && !cx.marked.contains_key("CSRF_SECRET") && !app_env.is_strict() {
        let message = "is not set: a random secret is generated for each start, so CSRF tokens do \
            not survive a restart and other instances refuse them"
            .to_string();
        cx.problem(spec("CSRF_SECRET"), message, false);
    }
    CsrfSettings {
        secret,
        old_secrets: cx
            .core("CSRF_OLD_SECRETS", parse::csrf_old_secrets)
            .unwrap_or_default()
            .into_iter()
            .map(SecretString::from)
            .collect(),
        app_origins: cx
            .core("APP_ORIGINS", |s| parse::app_origins(s, app_env))
            .unwrap_or_default(),
        token_ttl: secs(cx.int("CSRF_TOKEN_TTL_SECS")),
    }
}

/// METRICS_TOKEN, METRICS_HOST, METRICS_PORT (docs/monitoring.md). The token follows
/// ADMIN_API_TOKEN's rule (at least 32 characters; too short: an error in staging/production,
/// a warning elsewhere with /metrics off) and must not be the admin token, which would hand the
/// scraper admin rights. METRICS_PORT must differ from PORT (both 0 is fine: two free ports).
fn metrics_settings(
    cx: &mut Ctx<'_>,
    main_port: u16,
    admin_token: Option<&SecretString>,
) -> MetricsSettings {
    use secrecy::ExposeSecret;
    let mut token = cx.secret("METRICS_TOKEN", parse::admin_api_token);
    let same_as_admin = matches!(
        (&token, admin_token),
        (Some(t), Some(a)) if t.expose_secret() == a.expose_secret()
    );
    if same_as_admin {
        let strict = cx.app_env.is_strict();
        let mut message =
            "must differ from ADMIN_API_TOKEN: the scraper would hold admin rights".to_string();
        if !strict {
            message += "; /metrics is off";
            token = None;
        }
        cx.problem(spec("METRICS_TOKEN"), message, strict);
    }
    let host = cx.core("METRICS_HOST", parse::host).unwrap_or_default();
    let mut port = cx.int("METRICS_PORT").and_then(|v| u16::try_from(v).ok());
    // A token that was set but refused (development/test only; elsewhere it is an error)
    // turns /metrics off everywhere: the internal listener must not serve without the token
    // the operator meant to require.
    if token.is_none() && cx.raw.get("METRICS_TOKEN").is_some() {
        port = None;
    }
    if let Some(p) = port.filter(|p| *p != 0 && *p == main_port) {
        let message = format!("must differ from PORT (both are {p})");
        cx.problem(spec("METRICS_PORT"), message, true);
    }
    MetricsSettings { token, host, port }
}

fn entry(spec: &'static VarSpec, cx: &Ctx<'_>, config_dir: &Path) -> ReportEntry {
    let raw = cx.raw.get(spec.name);
    let (status, problem) = match (cx.marked.get(spec.name), raw) {
        (Some((status, message)), _) => (*status, Some(message.clone())),
        (None, Some(r)) if r.origin == Origin::Default => (EntryStatus::Default, None),
        (None, Some(_)) => (EntryStatus::Ok, None),
        (None, None) => (EntryStatus::Unset, None),
    };
    let value = raw.and_then(|r| {
        if spec.name == "CONFIG_DIR" {
            Some(display_value(&config_dir.display().to_string()))
        } else if spec.secret || looks_secret(&r.value) {
            Some("(hidden)".to_string())
        } else if problem.is_some() && !spec.may_quote() {
            None
        } else {
            Some(display_value(&r.value))
        }
    });
    ReportEntry {
        variable: spec.name,
        status,
        secret: spec.secret,
        value,
        source: raw.map(|r| r.origin.label().to_string()),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{dev, load_env, message, names, production, with};
    use super::*;

    #[test]
    fn all_problems_at_once_and_strict_integers() {
        let bad = [
            ("PORT", "8 0"),
            ("WORKERS", "-1"),
            ("REQUEST_TIMEOUT_SECS", "30s"),
            ("MAX_BODY_BYTES", "1e6"),
            ("ANALYTICS_RETENTION_DAYS", "90.6"),
            ("REDIS_POOL_MAX", "+5"),
            ("SHUTDOWN_GRACE_SECS", "601"),
            ("SKIP_DB_STARTUP_CHECK", "yes"),
            ("HOST", "http://x"),
            ("REDIS_KEY_PREFIX", "nocolon"),
        ];
        let r = load_env(&dev(&bad));
        let got = names(&r.errors);
        for (var, _) in bad {
            assert!(got.contains(&var), "{var} missing from {got:?}");
        }
        assert!(message(&r.errors, "PORT").contains("(got \"8 0\")"));
        assert!(r.settings().is_none());
    }

    #[test]
    fn optional_services_warn_in_development_and_fail_in_production() {
        let bad = [
            ("CLERK_PUBLISHABLE_KEY", "pk_abc"),
            ("SENTRY_DSN", "https://o1.ingest.sentry.io/1"),
            ("AZURE_STORAGE_ACCOUNT", "Bad_Name"),
            ("UNION_BN", "12345"),
            ("REDIS_URL", "http://x"),
        ];
        let r = load_env(&dev(&bad));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let s = r.settings().expect("settings");
        assert!(s.services.clerk_publishable_key.is_none() && s.services.sentry_dsn.is_none());
        assert!(s.union_bn.is_none() && s.redis.url.is_none());
        let mut invalid = s.services.invalid.clone();
        invalid.sort_unstable();
        assert_eq!(
            invalid,
            [
                "AZURE_STORAGE_ACCOUNT",
                "CLERK_PUBLISHABLE_KEY",
                "REDIS_URL",
                "SENTRY_DSN",
                "UNION_BN"
            ]
        );
        assert!(message(&r.warnings, "SENTRY_DSN").ends_with("the feature is off"));

        let r = load_env(&with(production(), &bad));
        for (var, _) in bad {
            assert!(names(&r.errors).contains(&var), "{var}");
        }
        let r = load_env(&with(
            production(),
            &[("APP_ENV", "staging"), ("STRIPE_SECRET_KEY", "sk_test_x")],
        ));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(r.settings().is_some_and(|s| s.services.invalid.is_empty()));
    }

    #[test]
    fn production_requires_everything() {
        let env: HashMap<String, String> = [
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://u@h/db"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = load_env(&env);
        let want = [
            "REDIS_URL",
            "CLERK_PUBLISHABLE_KEY",
            "CLERK_SECRET_KEY",
            "CLERK_JWT_KEY",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "SENTRY_DSN",
            "UNION_NAME",
            "UNION_BN",
            "ADMIN_API_TOKEN",
            "SIN_ENCRYPTION_KEY",
            "CSRF_SECRET",
            "APP_ORIGINS",
        ];
        assert_eq!(names(&r.errors), want);
        assert!(r.errors[0].message.contains("required in production"));
        assert!(r.errors.iter().all(|e| !e.example.is_empty()));
    }

    #[test]
    fn stripe_modes() {
        let r = load_env(&with(production(), &[("STRIPE_SECRET_KEY", "sk_test_x")]));
        assert!(message(&r.errors, "STRIPE_SECRET_KEY").contains("test-mode"));
        assert_eq!(r.errors[0].example, "sk_live_0123456789abcdef");
        let r = load_env(&with(production(), &[("APP_ENV", "staging")]));
        assert!(message(&r.errors, "STRIPE_SECRET_KEY").contains("live-mode"));
        let r = load_env(&dev(&[("STRIPE_SECRET_KEY", "sk_live_x")]));
        assert!(message(&r.warnings, "STRIPE_SECRET_KEY").contains("live-mode"));
        assert!(r
            .settings()
            .is_some_and(|s| s.services.stripe_secret_key.is_none()));
    }

    #[test]
    fn admin_token_length() {
        let r = load_env(&with(production(), &[("ADMIN_API_TOKEN", "short")]));
        assert!(message(&r.errors, "ADMIN_API_TOKEN").contains("at least 32"));
        let r = load_env(&dev(&[("ADMIN_API_TOKEN", "short")]));
        assert!(message(&r.warnings, "ADMIN_API_TOKEN").contains("at least 32"));
        assert!(r.settings().is_some_and(|s| s.admin_api_token.is_none()));
    }

    #[test]
    fn metrics_settings() {
        let token = "metrics-0123456789abcdef0123456789abcdef";
        // A refused token never leaves the internal port open without one.
        for refused in ["short", "dev-admin-token-0123456789abcdef0123"] {
            let r = load_env(&dev(&[
                ("METRICS_TOKEN", refused),
                ("METRICS_PORT", "9464"),
                ("ADMIN_API_TOKEN", "dev-admin-token-0123456789abcdef0123"),
            ]));
            let s = r.into_settings().expect("settings");
            assert!(
                s.metrics.token.is_none() && s.metrics.port.is_none(),
                "{refused}"
            );
        }
        let s = load_env(&dev(&[])).into_settings().expect("settings");
        assert!(s.metrics.token.is_none() && s.metrics.port.is_none());
        assert_eq!(s.metrics.host, "127.0.0.1");
        let r = load_env(&with(
            production(),
            &[
                ("METRICS_TOKEN", token),
                ("METRICS_PORT", "9464"),
                ("METRICS_HOST", "0.0.0.0"),
            ],
        ));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let s = r.into_settings().expect("settings");
        assert_eq!(
            (s.metrics.port, s.metrics.host.as_str()),
            (Some(9464), "0.0.0.0")
        );
        assert!(s.metrics.token.is_some());
        assert!(!format!("{:?}", s.metrics).contains(token), "redacted");
        // Like ADMIN_API_TOKEN: too short is an error in production, off with a warning in dev.
        let r = load_env(&with(production(), &[("METRICS_TOKEN", "HUNTER2M")]));
        assert!(message(&r.errors, "METRICS_TOKEN").contains("at least 32"));
        assert!(!r.render_table().contains("HUNTER2M") && !format!("{r:?}").contains("HUNTER2M"));
        let r = load_env(&dev(&[("METRICS_TOKEN", "short")]));
        assert!(message(&r.warnings, "METRICS_TOKEN").contains("at least 32"));
        assert!(r.settings().is_some_and(|s| s.metrics.token.is_none()));
        // Never the admin token.
        let admin = "HUNTER2ADMIN-0123456789abcdef0123456789";
        let r = load_env(&with(production(), &[("METRICS_TOKEN", admin)]));
        assert!(message(&r.errors, "METRICS_TOKEN").contains("ADMIN_API_TOKEN"));
        let r = load_env(&dev(&[
            ("ADMIN_API_TOKEN", admin),
            ("METRICS_TOKEN", admin),
        ]));
        assert!(message(&r.warnings, "METRICS_TOKEN").contains("ADMIN_API_TOKEN"));
        assert!(r.settings().is_some_and(|s| s.metrics.token.is_none()));
        // Its own port, in range.
        let r = load_env(&dev(&[("PORT", "8080"), ("METRICS_PORT", "8080")]));
        assert!(message(&r.errors, "METRICS_PORT").contains("differ from PORT"));
        let r = load_env(&dev(&[("PORT", "0"), ("METRICS_PORT", "0")]));
        assert!(r.settings().is_some_and(|s| s.metrics.port == Some(0)));
        let r = load_env(&dev(&[("METRICS_PORT", "70000")]));
        assert!(!message(&r.errors, "METRICS_PORT").is_empty());
        let r = load_env(&dev(&[("METRICS_HOST", "http://x")]));
        assert!(!message(&r.errors, "METRICS_HOST").is_empty());
    }

    #[test]
    fn health_timeout_below_interval() {
        let r = load_env(&dev(&[
            ("HEALTH_INTERVAL_MS", "1000"),
            ("HEALTH_TIMEOUT_MS", "1000"),
        ]));
        let m = message(&r.errors, "HEALTH_TIMEOUT_MS");
        assert!(
            m.contains("HEALTH_INTERVAL_MS") && m.contains("1000"),
            "{m}"
        );
        let r = load_env(&dev(&[
            ("HEALTH_INTERVAL_MS", "1000"),
            ("HEALTH_TIMEOUT_MS", "999"),
        ]));
        assert!(r
            .settings()
            .is_some_and(|s| s.health.timeout < s.health.interval));
    }

    #[test]
    fn redis_and_upstash() {
        let upstash = [
            ("UPSTASH_REDIS_REST_URL", "https://eu1-x.upstash.io"),
            ("UPSTASH_REDIS_REST_TOKEN", "AXtoken"),
        ];
        let r = load_env(
            &with(production(), &[("REDIS_URL", "")])
                .into_iter()
                .chain(upstash.map(|(k, v)| (k.into(), v.into())))
                .collect(),
        );
        let m = message(&r.errors, "REDIS_URL");
        assert!(
            m.contains("REST")
                && m.contains(UPSTASH_FORM)
                && m.contains("eu1-x.upstash.io")
                && !m.contains("AXtoken"),
            "{m}"
        );
        let r = load_env(&dev(&upstash));
        assert!(message(&r.warnings, "REDIS_URL").contains(UPSTASH_FORM));
        let r = load_env(&dev(&[("REDIS_URL", "redis://localhost:6379")]));
        assert!(r.settings().is_some_and(|s| s.redis.url.is_some()));
    }

    #[test]
    fn sql_server_is_explained_without_echo() {
        let r = load_env(&dev(&[(
            "DATABASE_URL",
            "Server=tcp:x.database.windows.net;Database=d;Password=hunter2;",
        )]));
        let m = message(&r.errors, "DATABASE_URL");
        assert!(
            m.contains("SQL Server / Azure SQL is not supported; this service needs PostgreSQL")
                && !m.contains("hunter2")
        );
    }

    #[test]
    fn quoting_and_proxies() {
        let long = "x".repeat(100);
        let r = load_env(&dev(&[
            ("HOST", long.as_str()),
            ("TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16,::1"),
        ]));
        let m = message(&r.errors, "HOST");
        assert!(m.contains(&format!("\"{}…\"", "x".repeat(63))), "{m}");
        let r = load_env(&dev(&[("TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16,::1")]));
        let nets: Vec<String> = r
            .settings()
            .map(|s| s.trusted_proxies.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        assert_eq!(nets, ["10.0.0.1/32", "10.1.0.0/16", "::1/128"]);
        // A secret pasted into a non-secret variable is not quoted either.
        let r = load_env(&dev(&[("UNION_NAME", "sk_live_hunter2\u{7}")]));
        assert!(!format!("{:?}{}", r.warnings, r.render_table()).contains("hunter2"));
    }
    #[test]
    fn sin_encryption_keys() {
        use crate::crypto::sin::{generate_key_b64, SinKeyRing};
        use secrecy::ExposeSecret;
        let (a, b, c) = (generate_key_b64(), generate_key_b64(), generate_key_b64());
        let old = format!("{b}, {c}");
        let r = load_env(&dev(&[
            ("SIN_ENCRYPTION_KEY", a.as_str()),
            ("SIN_ENCRYPTION_OLD_KEYS", old.as_str()),
        ]));
        let s = r.settings().expect("settings");
        let key = s.services.sin_encryption_key.as_ref().expect("key");
        let olds: Vec<&str> = s
            .services
            .sin_encryption_old_keys
            .iter()
            .map(|k| k.expose_secret())
            .collect();
        assert_eq!(
            (key.expose_secret(), olds),
            (a.as_str(), vec![b.as_str(), c.as_str()])
        );
        assert!(SinKeyRing::new(key.expose_secret(), &[]).is_ok());
        let shown = r.render_table() + &format!("{r:?}");
        assert!(!shown.contains(&a) && !shown.contains(&b), "{shown}");

        // Bad current key: a warning in development (SIN features off), an error in production.
        let bad = "hunter2h".repeat(5); // 30 bytes
        let r = load_env(&dev(&[("SIN_ENCRYPTION_KEY", bad.as_str())]));
        let m = message(&r.warnings, "SIN_ENCRYPTION_KEY");
        assert!(
            m.contains("32") && m.contains("30 bytes") && m.ends_with("the feature is off"),
            "{m}"
        );
        let s = r.settings().expect("settings");
        assert!(s.services.sin_encryption_key.is_none());
        assert!(s.services.invalid.contains(&"SIN_ENCRYPTION_KEY"));
        let r = load_env(&with(production(), &[("SIN_ENCRYPTION_KEY", bad.as_str())]));
        assert!(message(&r.errors, "SIN_ENCRYPTION_KEY").contains("30 bytes"));
        let r = load_env(&with(production(), &[("SIN_ENCRYPTION_KEY", "  ")]));
        assert!(message(&r.errors, "SIN_ENCRYPTION_KEY").contains("required in production"));
        for r in [
            load_env(&dev(&[("SIN_ENCRYPTION_KEY", bad.as_str())])),
            load_env(&with(production(), &[("SIN_ENCRYPTION_KEY", bad.as_str())])),
        ] {
            let out = format!("{}{}{r:?}", r.render_table(), r.to_json());
            assert!(!out.contains("hunter2"), "{out}");
        }

        // Bad old keys are an error everywhere; every bad entry is named, none is echoed.
        let olds = format!("{b},{bad},,nope!");
        let r = load_env(&dev(&[
            ("SIN_ENCRYPTION_KEY", a.as_str()),
            ("SIN_ENCRYPTION_OLD_KEYS", olds.as_str()),
        ]));
        let m = message(&r.errors, "SIN_ENCRYPTION_OLD_KEYS");
        assert!(
            m.contains("entry 2: the key decodes to 30 bytes")
                && m.contains("entry 3 is empty")
                && m.contains("entry 4: the key is not valid base64"),
            "{m}"
        );
        let out = format!("{}{}{r:?}", r.render_table(), r.to_json());
        assert!(
            !out.contains("hunter2") && !out.contains("nope!") && !out.contains(&b),
            "{out}"
        );

        // Old keys without a current key: a warning, SIN features stay off.
        let r = load_env(&dev(&[("SIN_ENCRYPTION_OLD_KEYS", b.as_str())]));
        assert!(
            message(&r.warnings, "SIN_ENCRYPTION_OLD_KEYS").contains("SIN_ENCRYPTION_KEY is not")
        );
        assert!(r
            .settings()
            .is_some_and(|s| s.services.sin_encryption_key.is_none()));
    }

    #[test]
    fn clerk_token_restrictions() {
        let r = load_env(&dev(&[
            (
                "CLERK_AUTHORIZED_PARTIES",
                "https://App.example.com/, http://localhost:3000",
            ),
            ("CLERK_JWT_ISSUER", "https://clerk.example.com"),
        ]));
        let s = r.settings().expect("settings");
        assert_eq!(
            s.services.clerk_authorized_parties,
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(
            s.services.clerk_jwt_issuer.as_deref(),
            Some("https://clerk.example.com")
        );

        // Restrictions never silently loosen: invalid is an error in every environment.
        let bad = [
            ("CLERK_AUTHORIZED_PARTIES", "https://app.example.com/login"),
            ("CLERK_JWT_ISSUER", "http://clerk.example.com"),
        ];
        for env in [dev(&bad), with(production(), &bad)] {
            let r = load_env(&env);
            assert!(message(&r.errors, "CLERK_AUTHORIZED_PARTIES").contains("entry 1 is not"));
            assert!(message(&r.errors, "CLERK_AUTHORIZED_PARTIES")
                .contains("(got \"https://app.example.com/login\")"));
            assert!(message(&r.errors, "CLERK_JWT_ISSUER").contains("https://"));
            assert!(r.settings().is_none());
        }
    }

    #[test]
    fn csrf_variables() {
        use secrecy::ExposeSecret;
        let (a, b) = ("a".repeat(32), "b".repeat(40));
        let r = load_env(&dev(&[
            ("CSRF_SECRET", a.as_str()),
            ("CSRF_OLD_SECRETS", b.as_str()),
            (
                "APP_ORIGINS",
                "http://localhost:3000, https://App.example.com/",
            ),
            ("CSRF_TOKEN_TTL_SECS", "1800"),
        ]));
        assert!(r.warnings.iter().all(|w| w.variable != "CSRF_SECRET"));
        let c = &r.settings().expect("settings").csrf;
        assert_eq!(
            c.secret.as_ref().map(|s| s.expose_secret()),
            Some(a.as_str())
        );
        assert_eq!(c.old_secrets.len(), 1);
        assert_eq!(
            c.app_origins,
            ["http://localhost:3000", "https://app.example.com"]
        );
        assert_eq!(c.token_ttl, Duration::from_secs(1800));
        let shown = format!("{}{}{r:?}", r.render_table(), r.to_json());
        assert!(!shown.contains(&a) && !shown.contains(&b), "{shown}");

        // Missing in development: a warning and a per-process secret; defaults apply.
        let r = load_env(&dev(&[]));
        assert!(message(&r.warnings, "CSRF_SECRET").contains("do not survive a restart"));
        let c = &r.settings().expect("settings").csrf;
        assert!(c.secret.is_none() && c.app_origins.is_empty());
        assert_eq!(c.token_ttl, Duration::from_secs(3600));

        // Set but invalid: an error everywhere, never echoed.
        let short = "hunter2-short";
        for env in [
            dev(&[("CSRF_SECRET", short)]),
            with(production(), &[("CSRF_SECRET", short)]),
        ] {
            let r = load_env(&env);
            assert!(message(&r.errors, "CSRF_SECRET").contains("at least 32 bytes"));
            assert!(!format!("{}{}{r:?}", r.render_table(), r.to_json()).contains(short));
            assert!(r.settings().is_none());
        }
        let r = load_env(&dev(&[("CSRF_OLD_SECRETS", "hunter2-old")]));
        assert!(message(&r.errors, "CSRF_OLD_SECRETS").contains("entry 1 is shorter"));
        let r = load_env(&dev(&[("CSRF_TOKEN_TTL_SECS", "60")]));
        assert!(message(&r.errors, "CSRF_TOKEN_TTL_SECS").contains("900"));

        // Staging/production: both required; origins must be https.
        let mut env = production();
        env.remove("CSRF_SECRET");
        env.remove("APP_ORIGINS");
        let r = load_env(&env);
        assert!(message(&r.errors, "CSRF_SECRET").contains("required in production"));
        assert!(message(&r.errors, "APP_ORIGINS").contains("required in production"));
        let r = load_env(&with(
            production(),
            &[
                ("APP_ENV", "staging"),
                ("STRIPE_SECRET_KEY", "sk_test_x"),
                ("APP_ORIGINS", "http://app.example.com"),
            ],
        ));
        assert!(message(&r.errors, "APP_ORIGINS").contains("https"));
    }

    #[test]
    fn dev_keys_dir() {
        let r = load_env(&dev(&[("DEV_KEYS_DIR", "/tmp/unioneyes-keys")]));
        assert_eq!(
            r.settings().map(|s| s.dev_keys_dir.clone()),
            Some(std::path::PathBuf::from("/tmp/unioneyes-keys"))
        );
        let r = load_env(&dev(&[("DEV_KEYS_DIR", "a\u{1b}b")]));
        assert!(message(&r.errors, "DEV_KEYS_DIR").contains("control characters"));
    }

    #[test]
    fn analytics_settings() {
        let r = load_env(&dev(&[]));
        let a = &r.settings().expect("settings").analytics;
        assert!(a.enabled);
        assert_eq!(a.flush_interval, Duration::from_millis(1000));
        assert_eq!(
            (a.flush_batch, a.queue_capacity, a.max_tenants_per_day),
            (10_000, 50_000, 10_000)
        );
        assert_eq!(a.redis_timeout, Duration::from_millis(1000));
        assert_eq!(a.shutdown_flush, Duration::from_millis(5000));
        let r = load_env(&dev(&[
            ("ANALYTICS_ENABLED", "false"),
            ("ANALYTICS_FLUSH_INTERVAL_MS", "250"),
            ("ANALYTICS_MAX_TENANTS_PER_DAY", "5"),
        ]));
        let a = &r.settings().expect("settings").analytics;
        assert!(!a.enabled);
        assert_eq!(
            (a.flush_interval, a.max_tenants_per_day),
            (Duration::from_millis(250), 5)
        );
        let r = load_env(&dev(&[
            ("ANALYTICS_FLUSH_INTERVAL_MS", "10"),
            ("ANALYTICS_QUEUE_CAPACITY", "1e5"),
            ("ANALYTICS_ENABLED", "yes"),
        ]));
        assert_eq!(
            names(&r.errors),
            [
                "ANALYTICS_ENABLED",
                "ANALYTICS_FLUSH_INTERVAL_MS",
                "ANALYTICS_QUEUE_CAPACITY"
            ]
        );
        assert!(r.settings().is_none());
    }

    #[test]
    fn sslmode_and_ca_files_are_checked_and_plaintext_to_remote_hosts_warns_in_production() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).expect("cert");
        std::fs::write(&ca, cert.cert.pem()).expect("write");
        let ca = ca.display().to_string();

        let r = load_env(&dev(&[(
            "DATABASE_URL",
            "postgres://u:SECRET@h/db?sslmode=verify",
        )]));
        let m = message(&r.errors, "DATABASE_URL");
        assert!(
            m.contains("disable, prefer, require, verify-ca, verify-full"),
            "{m}"
        );
        assert!(!m.contains("SECRET"), "{m}");
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let url = format!("postgres://u@db.example.com/db?sslmode={mode}");
            let r = load_env(&dev(&[("DATABASE_URL", &url)]));
            assert!(r.errors.is_empty(), "{mode}: {:?}", r.errors);
        }

        // A CA file next to a mode that checks nothing, or a redis:// URL: an error.
        let r = load_env(&dev(&[
            ("DATABASE_URL", "postgres://u@h/db?sslmode=disable"),
            ("DATABASE_CA_CERT_FILE", &ca),
            ("REDIS_URL", "redis://localhost:6379"),
            ("REDIS_CA_CERT_FILE", &ca),
        ]));
        assert_eq!(
            names(&r.errors),
            ["DATABASE_CA_CERT_FILE", "REDIS_CA_CERT_FILE"]
        );
        let r = load_env(&dev(&[("DATABASE_CA_CERT_FILE", "/nonexistent/ca.pem")]));
        assert!(message(&r.errors, "DATABASE_CA_CERT_FILE").contains("cannot be read"));
        let r = load_env(&dev(&[("REDIS_URL", "rediss://localhost:6380/#insecure")]));
        assert!(message(&r.warnings, "REDIS_URL").contains("#insecure"));

        // Production: plaintext to a remote host warns; loopback and service names do not.
        let r = load_env(&with(
            production(),
            &[
                (
                    "DATABASE_URL",
                    "postgres://u:SECRET@db.example.com/db?sslmode=prefer",
                ),
                ("REDIS_URL", "redis://:SECRET@cache.example.com:6379"),
            ],
        ));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(names(&r.warnings), ["DATABASE_URL", "REDIS_URL"]);
        assert!(r.warnings.iter().all(|w| !w.message.contains("SECRET")));
        let r = load_env(&with(
            production(),
            &[
                ("DATABASE_URL", "postgres://u:pw@postgres:5432/db"),
                ("REDIS_URL", "redis://:pw@127.0.0.1:6379"),
            ],
        ));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
}
