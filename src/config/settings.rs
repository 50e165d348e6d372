//! The validated, typed configuration of one instance (`Settings`), built only by `config::load`.
//!
//! Secrets are `SecretString`: their `Debug` prints `[REDACTED]`, so `{:?}` of a `Settings` is safe to log.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

/// APP_ENV. Missing or unknown counts as `Production` (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    Development,
    Test,
    Staging,
    Production,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Development => "development",
            AppEnv::Test => "test",
            AppEnv::Staging => "staging",
            AppEnv::Production => "production",
        }
    }

    /// Staging and production refuse to start on any configuration error.
    pub fn is_strict(self) -> bool {
        matches!(self, AppEnv::Staging | AppEnv::Production)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub health: HealthSettings,
    pub services: ServiceSettings,
    pub analytics_retention_days: u32,
    pub analytics: AnalyticsSettings,
    pub union_name: Option<String>,
    /// Canadian business number, kept as a string (leading zeros matter).
    pub union_bn: Option<String>,
    pub admin_api_token: Option<SecretString>,
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limits: RateLimitSettings,
    pub csrf: CsrfSettings,
    /// GET /metrics (docs/monitoring.md).
    pub metrics: MetricsSettings,
    /// Development-only generated keys (the local JWT key pair) live here.
    pub dev_keys_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port; `Application::port()` reports the bound one.
    pub port: u16,
    /// Every handler must finish within this or the client gets a 503 problem.
    pub request_timeout: Duration,
    /// Largest request body accepted (JSON and raw), with or without Content-Length.
    pub max_body_bytes: usize,
    /// After SIGTERM: how long /readyz says 503 while the service still serves, so the LB notices first.
    pub shutdown_drain: Duration,
    /// After the drain: how long in-flight requests get to finish.
    pub shutdown_grace: Duration,
    /// Actix worker threads (0 = one per core).
    pub workers: usize,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub pool_max: usize,
    /// TCP connect timeout for new connections.
    pub connect_timeout: Duration,
    /// How long a request waits for a pooled connection before a 503.
    pub pool_wait_timeout: Duration,
    /// Server-side statement_timeout for every pooled connection.
    pub statement_timeout: Duration,
    pub startup_attempts: u32,
    pub startup_retry_delay: Duration,
    pub skip_startup_check: bool,
    pub migrate_on_startup: bool,
    /// DATABASE_CA_CERT_FILE: the only roots trusted for sslmode=require/verify-ca/verify-full
    /// (else the compiled-in webpki roots).
    pub ca_cert_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// None only in development/test, where Redis is optional.
    pub url: Option<SecretString>,
    pub key_prefix: String,
    pub pool_max: u32,
    pub connect_timeout: Duration,
    /// REDIS_CA_CERT_FILE: the only roots trusted for rediss:// (else the compiled-in webpki roots).
    pub ca_cert_file: Option<PathBuf>,
}

/// Request analytics (docs/analytics.md); retention is `Settings::analytics_retention_days`.
#[derive(Debug, Clone)]
pub struct AnalyticsSettings {
    /// Off also when Redis is not configured.
    pub enabled: bool,
    pub flush_interval: Duration,
    /// Flush sooner once this many requests are aggregated.
    pub flush_batch: u64,
    pub queue_capacity: usize,
    pub max_tenants_per_day: usize,
    /// Deadline of every analytics Redis call (writes and admin reads).
    pub redis_timeout: Duration,
    /// Budget of the final flush at shutdown.
    pub shutdown_flush: Duration,
}

#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub interval: Duration,
    /// One deadline for a whole probe (pool wait + connect + query); always < interval.
    pub timeout: Duration,
    /// How often the critical-tables check runs after startup.
    pub schema_check_interval: Duration,
}

/// External services: validated at startup, shown in /api/health, used by later features.
#[derive(Debug, Clone, Default)]
pub struct ServiceSettings {
    pub clerk_publishable_key: Option<String>,
    pub clerk_secret_key: Option<SecretString>,
    pub clerk_jwt_key: Option<String>,
    /// Origins accepted as the token's `azp`, normalised (`https://app.example.com`); empty = not checked.
    pub clerk_authorized_parties: Vec<String>,
    /// When set, the token's `iss` must equal it exactly.
    pub clerk_jwt_issuer: Option<String>,
    pub stripe_secret_key: Option<SecretString>,
    pub stripe_webhook_secret: Option<SecretString>,
    pub azure_key_vault_url: Option<String>,
    pub azure_openai_endpoint: Option<String>,
    pub azure_openai_api_key: Option<SecretString>,
    pub azure_storage_account: Option<String>,
    pub sentry_dsn: Option<SecretString>,
    /// Base64 AES-256 key for SINs (`crypto::sin::SinKeyRing`); None only in development/test,
    /// where member SIN features are then off.
    pub sin_encryption_key: Option<SecretString>,
    /// Old SIN keys, decrypt-only during a rotation (validated; may be empty).
    pub sin_encryption_old_keys: Vec<SecretString>,
    /// Optional variables that were set but invalid (development/test only; strict environments
    /// refuse to start instead), so health can report them as "misconfigured".
    pub invalid: Vec<&'static str>,
}

/// Rate-limit presets (defaults with RATE_LIMITS applied) and the Redis deadline of a check.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub presets: Vec<crate::ratelimit::Preset>,
    pub redis_timeout: Duration,
}

/// CSRF protection (docs/csrf.md).
#[derive(Debug, Clone)]
pub struct CsrfSettings {
    /// The HMAC key of the tokens; None only in development/test, where a random per-process
    /// secret stands in (tokens then do not survive a restart).
    pub secret: Option<SecretString>,
    /// Previous secrets that still verify tokens during a rotation.
    pub old_secrets: Vec<SecretString>,
    /// Exact origins (normalised like the browser's `Origin`) allowed when Sec-Fetch-Site is absent.
    pub app_origins: Vec<String>,
    /// Lifetime of a token.
    pub token_ttl: Duration,
}

/// Where GET /metrics is served and who may read it (docs/monitoring.md).
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    /// Bearer token required to read /metrics; with no `port`, /metrics is served on the main
    /// port only when this is set (never public by default).
    pub token: Option<SecretString>,
    /// Address of the internal metrics listener.
    pub host: String,
    /// When set, /metrics is served only on this internal port (0 picks a free one;
    /// `Application::metrics_port()` reports the bound one) and the main port answers 404.
    pub port: Option<u16>,
}
