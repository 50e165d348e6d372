//! The single table of every configuration variable the service knows (`VARS`): name, kind,
//! secrecy, default, where it is required, example and description. It drives validation, the
//! `check-config` table, misspelling detection and `docs/configuration.md`.

use super::settings::AppEnv;

/// The value type of a variable, with the range for integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// Whole number in `min..=max` (digits only).
    Int { min: u64, max: u64 },
    /// `true`/`false`/`1`/`0`, case-insensitive.
    Bool,
    /// One of a fixed set of words, case-insensitive.
    Choice(&'static [&'static str]),
    /// IP address or host name.
    Host,
    /// URL of a fixed shape (see the description).
    Url,
    /// Prefixed API key or token.
    Key,
    /// PEM-encoded public key.
    Pem,
    /// Comma-separated list of IPs/CIDRs.
    IpList,
    /// Comma-separated list of origins (`scheme://host[:port]`).
    OriginList,
    /// Comma-separated list of keys.
    KeyList,
    /// Filesystem path.
    Path,
    /// Log filter (`env_logger` syntax); listed, not parsed.
    LogFilter,
}

impl Kind {
    /// Short human description for the docs and the table.
    pub fn describe(self) -> String {
        match self {
            Kind::Text => "string".into(),
            Kind::Int { min, max } => format!("integer {min}–{max}"),
            Kind::Bool => "bool".into(),
            Kind::Choice(options) => format!("one of {}", options.join(", ")),
            Kind::Host => "host".into(),
            Kind::Url => "url".into(),
            Kind::Key => "key".into(),
            Kind::Pem => "pem".into(),
            Kind::IpList => "ip/cidr list".into(),
            Kind::OriginList => "origin list".into(),
            Kind::KeyList => "key list".into(),
            Kind::Path => "path".into(),
            Kind::LogFilter => "log filter".into(),
        }
    }
}

/// In which environments a variable must be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    Never,
    /// Staging and production.
    Strict,
    /// Every environment.
    Always,
}

impl Required {
    pub fn applies(self, env: AppEnv) -> bool {
        match self {
            Required::Never => false,
            Required::Strict => env.is_strict(),
            Required::Always => true,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Required::Never => "never",
            Required::Strict => "staging, production",
            Required::Always => "all",
        }
    }
}

/// One known variable.
#[derive(Debug, Clone, Copy)]
pub struct VarSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Never printed (messages, table, JSON, Debug).
    pub secret: bool,
    pub default: Option<&'static str>,
    pub required: Required,
    /// In development/test a problem with it is a warning and the feature is switched off.
    pub optional_service: bool,
    /// A valid value (placeholders for secrets).
    pub example: &'static str,
    pub description: &'static str,
    /// False for variables read only from the process environment (not from the TOML files).
    pub in_files: bool,
}

impl VarSpec {
    /// Whether an invalid value may be quoted back in a message.
    pub fn may_quote(&self) -> bool {
        !self.secret && !matches!(self.kind, Kind::Pem)
    }
}

const fn var(name: &'static str, kind: Kind, default: Option<&'static str>) -> VarSpec {
    VarSpec {
        name,
        kind,
        secret: false,
        default,
        required: Required::Never,
        optional_service: false,
        example: "",
        description: "",
        in_files: true,
    }
}

const fn int(name: &'static str, min: u64, max: u64, default: &'static str) -> VarSpec {
    var(name, Kind::Int { min, max }, Some(default))
}

impl VarSpec {
    const fn ex(mut self, example: &'static str, description: &'static str) -> Self {
        self.example = example;
        self.description = description;
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    const fn req(mut self, required: Required) -> Self {
        self.required = required;
        self
    }
    const fn service(mut self) -> Self {
        self.optional_service = true;
        self
    }
    const fn env_only(mut self) -> Self {
        self.in_files = false;
        self
    }
}

pub const APP_ENVS: &[&str] = &["development", "test", "staging", "production"];

use Kind as K;
use Required::{Always, Strict};

/// Every known variable, in the order of the docs and the `check-config` table.
#[rustfmt::skip]
pub const VARS: &[VarSpec] = &[
    var("APP_ENV", K::Choice(APP_ENVS), Some("production")).ex("production", "Deployment environment; missing or unknown counts as production (fail closed)."),
    var("CONFIG_DIR", K::Path, Some("./config")).env_only().ex("/etc/unioneyes", "Directory holding base.toml and {APP_ENV}.toml (environment only)."),
    var("HOST", K::Host, Some("127.0.0.1")).ex("0.0.0.0", "Address to bind the HTTP server to."),
    int("PORT", 0, 65535, "8080").ex("8080", "Port to bind; 0 picks any free port."),
    int("REQUEST_TIMEOUT_SECS", 1, 300, "30").ex("30", "Deadline for every request handler."),
    int("MAX_BODY_BYTES", 1024, 104_857_600, "1048576").ex("1048576", "Largest request body accepted."),
    int("SHUTDOWN_DRAIN_SECS", 0, 300, "5").ex("5", "After SIGTERM, how long /readyz reports 503 while still serving."),
    int("SHUTDOWN_GRACE_SECS", 0, 600, "30").ex("30", "After the drain, how long in-flight requests get to finish."),
    int("WORKERS", 0, 256, "0").ex("4", "HTTP worker threads; 0 = one per CPU core."),
    var("DATABASE_URL", K::Url, None).secret().req(Always).ex("postgres://unioneyes:PASSWORD@db.example.com:5432/unioneyes?sslmode=verify-full", "PostgreSQL connection URL (postgres:// or postgresql://); sslmode as in libpq: disable, prefer (default; TLS if offered, unchecked), require (TLS, unchecked), verify-ca, verify-full."),
    var("DATABASE_CA_CERT_FILE", K::Path, None).ex("/etc/unioneyes/db-ca.pem", "PEM bundle of the CA(s) of PostgreSQL's certificate; when set only these are trusted (else the built-in public roots) and sslmode=require checks the chain too."),
    int("DATABASE_POOL_MAX", 1, 1000, "16").ex("16", "Maximum pooled PostgreSQL connections."),
    int("DATABASE_CONNECT_TIMEOUT_MS", 100, 60_000, "3000").ex("3000", "TCP connect timeout for new database connections."),
    int("DATABASE_POOL_TIMEOUT_MS", 10, 60_000, "2000").ex("2000", "How long a request waits for a pooled connection before a 503."),
    int("DATABASE_STATEMENT_TIMEOUT_MS", 100, 3_600_000, "10000").ex("10000", "Server-side statement_timeout of every pooled connection."),
    int("DATABASE_STARTUP_ATTEMPTS", 1, 100, "3").ex("3", "Connection attempts at startup before giving up."),
    int("DATABASE_STARTUP_RETRY_DELAY_MS", 0, 60_000, "2000").ex("2000", "Delay between startup connection attempts."),
    var("SKIP_DB_STARTUP_CHECK", K::Bool, Some("false")).ex("false", "Start even if the database is unreachable."),
    var("DATABASE_MIGRATE_ON_STARTUP", K::Bool, Some("true")).ex("true", "Run pending migrations at startup."),
    var("REDIS_URL", K::Url, None).secret().req(Strict).service().ex("rediss://default:PASSWORD@redis.example.com:6380", "Redis URL (redis://, or rediss:// for TLS with the certificate checked; no #insecure); optional in development/test (Redis features off)."),
    var("REDIS_CA_CERT_FILE", K::Path, None).ex("/etc/unioneyes/redis-ca.pem", "PEM bundle of the CA(s) of Redis's certificate (rediss:// only); when set only these are trusted, else the built-in public roots."),
    var("REDIS_KEY_PREFIX", K::Text, Some("unioneyes:")).ex("unioneyes:", "Prefix of every Redis key: up to 64 of [A-Za-z0-9_.:-], ending with ':'."),
    int("REDIS_POOL_MAX", 1, 1000, "16").ex("16", "Maximum pooled Redis connections."),
    int("REDIS_CONNECT_TIMEOUT_MS", 10, 10_000, "250").ex("250", "Redis connect timeout."),
    int("HEALTH_INTERVAL_MS", 100, 600_000, "5000").ex("5000", "How often dependencies are probed."),
    int("HEALTH_TIMEOUT_MS", 50, 60_000, "1000").ex("1000", "Deadline of one probe; must be less than HEALTH_INTERVAL_MS."),
    int("HEALTH_SCHEMA_CHECK_INTERVAL_SECS", 10, 86_400, "300").ex("300", "How often the critical-tables check runs."),
    var("CLERK_PUBLISHABLE_KEY", K::Key, None).req(Strict).service().ex("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "Clerk publishable key (pk_test_… or pk_live_…)."),
    var("CLERK_SECRET_KEY", K::Key, None).secret().req(Strict).service().ex("sk_live_0123456789abcdefABCDEF", "Clerk secret key (sk_test_… or sk_live_…)."),
    var("CLERK_JWT_KEY", K::Pem, None).req(Strict).service().ex(r"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----", "Clerk JWT verification key (PEM public key; literal \\n accepted)."),
    var("CLERK_AUTHORIZED_PARTIES", K::OriginList, None).ex("https://app.example.com,http://localhost:3000", "Comma-separated origins (scheme://host[:port], no path) accepted as the session token's azp claim; empty = not checked."),
    var("CLERK_JWT_ISSUER", K::Url, None).ex("https://clerk.example.com", "When set, the session token's iss must equal this https URL exactly (no trailing slash)."),
    var("STRIPE_SECRET_KEY", K::Key, None).secret().req(Strict).service().ex("sk_test_0123456789abcdef", "Stripe secret key: sk_live_… in production, sk_test_… elsewhere."),
    var("STRIPE_WEBHOOK_SECRET", K::Key, None).secret().req(Strict).service().ex("whsec_0123456789abcdef", "Stripe webhook signing secret (whsec_…)."),
    var("AZURE_KEY_VAULT_URL", K::Url, None).service().ex("https://unioneyes-kv.vault.azure.net/", "Azure Key Vault URL (https://NAME.vault.azure.net)."),
    var("AZURE_OPENAI_ENDPOINT", K::Url, None).service().ex("https://unioneyes-openai.openai.azure.com/", "Azure OpenAI endpoint (https)."),
    var("AZURE_OPENAI_API_KEY", K::Key, None).secret().service().ex("0123456789abcdef0123456789abcdef", "Azure OpenAI API key."),
    var("AZURE_STORAGE_ACCOUNT", K::Text, None).service().ex("unioneyesdocs", "Azure Storage account name (3–24 lowercase letters and digits)."),
    var("SENTRY_DSN", K::Url, None).secret().req(Strict).service().ex("https://0123456789abcdef@o123456.ingest.sentry.io/4504000000000000", "Sentry DSN (https://PUBLICKEY@HOST/PROJECT_ID)."),
    int("ANALYTICS_RETENTION_DAYS", 1, 365, "30").ex("30", "Days a day's analytics figures are kept after that UTC day ends (absolute expiry of its keys)."),
    var("ANALYTICS_ENABLED", K::Bool, Some("true")).ex("true", "Record request analytics (needs REDIS_URL; without it analytics is off); docs/analytics.md."),
    int("ANALYTICS_FLUSH_INTERVAL_MS", 50, 60_000, "1000").ex("1000", "How often aggregated analytics are written to Redis (one pipeline per flush)."),
    int("ANALYTICS_FLUSH_BATCH", 100, 1_000_000, "10000").ex("10000", "Write sooner once this many requests are aggregated."),
    int("ANALYTICS_QUEUE_CAPACITY", 100, 10_000_000, "50000").ex("50000", "Requests the analytics queue holds; a full queue drops (and counts) records, never blocks."),
    int("ANALYTICS_MAX_TENANTS_PER_DAY", 1, 1_000_000, "10000").ex("10000", "Tenants counted by name per day and instance; the rest count under _overflow."),
    int("ANALYTICS_REDIS_TIMEOUT_MS", 10, 60_000, "1000").ex("1000", "Deadline of every analytics Redis call (flush, admin reads: 503 past it)."),
    int("ANALYTICS_SHUTDOWN_FLUSH_MS", 0, 60_000, "5000").ex("5000", "At shutdown, how long the final analytics flush may take before the rest is logged as lost."),
    var("UNION_NAME", K::Text, None).req(Strict).service().ex("Example Workers Union, Local 123", "Display name of the union (1–200 characters)."),
    var("UNION_BN", K::Text, None).req(Strict).service().ex("123456789RR0001", "Canadian business number: 9 digits, optionally + program account (2 letters, 4 digits)."),
    var("ADMIN_API_TOKEN", K::Key, None).secret().req(Strict).service().ex("<output of: openssl rand -hex 32>", "Bearer token of the admin API (at least 32 characters)."),
    var("TRUSTED_PROXIES", K::IpList, None).ex("10.0.0.0/8,192.168.1.10", "Comma-separated proxy IPs/CIDRs whose X-Forwarded-For is trusted."),
    var("SIN_ENCRYPTION_KEY", K::Key, None).secret().req(Strict).service().ex("<output of: openssl rand -base64 32>", "Key encrypting members' SINs at rest (AES-256-GCM): base64 of exactly 32 bytes; optional in development/test (SIN features off)."),
    var("SIN_ENCRYPTION_OLD_KEYS", K::KeyList, None).secret().ex("<previous SIN_ENCRYPTION_KEY>", "Comma-separated old SIN keys, decrypt-only during a key rotation; empty by default."),
    var("CSRF_SECRET", K::Key, None).secret().req(Strict).ex("<output of: openssl rand -hex 32>", "HMAC key of the CSRF tokens (at least 32 bytes; docs/csrf.md). Unset in development/test: a random per-process secret, so tokens do not survive a restart."),
    var("CSRF_OLD_SECRETS", K::KeyList, None).secret().ex("<previous CSRF_SECRET value (32+ bytes)>", "Comma-separated previous CSRF secrets (each at least 32 bytes) that still verify tokens during a rotation; empty by default."),
    var("APP_ORIGINS", K::OriginList, None).req(Strict).ex("https://app.unioneyes.ca", "Comma-separated exact origins (scheme://host[:port]) whose Origin header may change data with the session cookie; https only in staging/production."),
    int("CSRF_TOKEN_TTL_SECS", 900, 86_400, "3600").ex("3600", "Lifetime of a CSRF token; refreshed when less than 10 minutes remain."),
    var("RATE_LIMITS", K::Text, None).ex("AUTH=10/15m,EXPORTS=100/1h:dry-run", "Preset overrides: comma-separated NAME=LIMIT/WINDOW[:dry-run] (units s, m, h, d); see docs/rate-limits.md."),
    var("RATE_LIMIT_REDIS_TIMEOUT_MS", K::Int { min: 10, max: 1000 }, Some("75")).ex("75", "Deadline of one rate-limit check in Redis; past it the preset's failure policy applies."),
    var("METRICS_TOKEN", K::Key, None).secret().service().ex("<another output of: openssl rand -hex 32>", "Bearer token of GET /metrics (at least 32 characters). Neither it nor METRICS_PORT set: /metrics answers 404; docs/monitoring.md."),
    var("METRICS_HOST", K::Host, Some("127.0.0.1")).ex("0.0.0.0", "Address of the internal metrics listener (used only with METRICS_PORT)."),
    var("METRICS_PORT", K::Int { min: 0, max: 65535 }, None).ex("9464", "When set, /metrics is served only on this internal port (0 picks a free one), no longer on PORT."),
    var("DEV_KEYS_DIR", K::Path, Some(".dev/keys")).ex(".dev/keys", "Directory of development-only generated keys (the local JWT key pair)."),
    var("RUST_LOG", K::LogFilter, Some("info")).ex("info,unioneyes=debug", "Log filter (env_logger syntax); not validated."),
];

/// The spec of a known variable (exact, upper-case name).
pub fn spec(name: &str) -> Option<&'static VarSpec> {
    VARS.iter().find(|v| v.name == name)
}

/// The closest known name to an unknown one (Damerau-Levenshtein ≤ 2, case-insensitive),
/// for names of at least 6 characters.
pub fn suggest(unknown: &str) -> Option<&'static str> {
    if unknown.chars().count() < 6 {
        return None;
    }
    let upper = unknown.to_ascii_uppercase();
    VARS.iter()
        .map(|v| (strsim::damerau_levenshtein(&upper, v.name), v.name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// The variable table of `docs/configuration.md` (a test keeps the docs in sync with `VARS`).
pub fn docs_table() -> String {
    let mut out = String::from(
        "| Variable | Type | Default | Required in | Secret | Example | Description |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for v in VARS {
        let default = v.default.map_or("—".to_string(), |d| format!("`{d}`"));
        let secret = if v.secret { "yes" } else { "no" };
        let required = match (v.required, v.optional_service) {
            (Required::Never, true) => "optional (feature off when unset)",
            (r, _) => r.describe(),
        };
        let line = format!(
            "| `{}` | {} | {default} | {required} | {secret} | `{}` | {} |\n",
            v.name,
            v.kind.describe(),
            v.example,
            v.description.replace('|', "\\|"),
        );
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_upper_snake_and_documented() {
        for (i, v) in VARS.iter().enumerate() {
            assert!(
                v.name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{}",
                v.name
            );
            assert!(
                !v.description.is_empty() && !v.example.is_empty(),
                "{}",
                v.name
            );
            assert!(
                VARS[i + 1..].iter().all(|w| w.name != v.name),
                "duplicate {}",
                v.name
            );
        }
    }

    #[test]
    fn required_vars_have_no_default() {
        for v in VARS.iter().filter(|v| v.required != Required::Never) {
            assert!(v.default.is_none(), "{}", v.name);
        }
        let strict: Vec<_> = VARS
            .iter()
            .filter(|v| v.required != Required::Never)
            .map(|v| v.name)
            .collect();
        assert_eq!(strict.len(), 14);
        assert_eq!(
            spec("DATABASE_URL").map(|v| v.required),
            Some(Required::Always)
        );
    }

    #[test]
    fn docs_are_in_sync() {
        let docs = include_str!("../../docs/configuration.md");
        let table = docs_table();
        assert!(
            docs.contains(&table),
            "update docs/configuration.md with:\n{table}"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("STRIPE_SECRT_KEY"), Some("STRIPE_SECRET_KEY"));
        assert_eq!(suggest("DATABSE_URL"), Some("DATABASE_URL"));
        assert_eq!(suggest("database_url"), Some("DATABASE_URL"));
        assert_eq!(suggest("HOSTS"), None, "too short");
        assert_eq!(suggest("HOSTNAME"), None);
        assert_eq!(suggest("PATH"), None);
        assert_eq!(suggest("CARGO_HOME"), None);
    }
}
