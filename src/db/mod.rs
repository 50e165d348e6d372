//! PostgreSQL access: the deadpool pool, error classification, startup checks, migrations
//! and the health probe.

pub mod audit;
pub mod claims;
pub mod members;
mod migrate;
pub mod organizations;
mod probe;
pub mod sin_rotation;
mod startup;
pub mod tls;

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::DatabaseSettings;

pub use migrate::run_migrations;
pub use probe::DatabaseProbe;
pub use startup::{check_schema, startup_checks, StartupError, CRITICAL_TABLES};

/// The driver configuration: TLS mode (from `sslmode`, see `tls`), timeouts, keepalives,
/// application name, statement timeout.
pub fn pg_config(settings: &DatabaseSettings) -> Result<tokio_postgres::Config, String> {
    let (mode, url) = tls::split_sslmode(settings.url.expose_secret())
        .map_err(|e| format!("DATABASE_URL {e}"))?;
    let mut cfg = tokio_postgres::Config::from_str(&url)
        // The parser's message can quote the URL: never pass it on.
        .map_err(|_| "DATABASE_URL could not be parsed as a PostgreSQL URL".to_string())?;
    tls::apply(mode, &mut cfg);
    cfg.connect_timeout(settings.connect_timeout)
        .keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(30))
        .application_name("unioneyes")
        .options(format!(
            "-c statement_timeout={}",
            settings.statement_timeout.as_millis()
        ));
    Ok(cfg)
}

/// The TLS connector of every PostgreSQL connection (pool, health probe, migrations, CLI
/// tools), for DATABASE_URL's sslmode and DATABASE_CA_CERT_FILE.
pub fn pg_tls(settings: &DatabaseSettings) -> Result<MakeRustlsConnect, String> {
    let (mode, _) = tls::split_sslmode(settings.url.expose_secret())
        .map_err(|e| format!("DATABASE_URL {e}"))?;
    tls::connector(mode, settings.ca_cert_file.as_deref())
}

/// A pool that never waits unboundedly and verifies connections when recycling them, so a
/// PostgreSQL restart is survived without failing requests. Creating it does not connect.
pub fn build_pool(settings: &DatabaseSettings) -> Result<Pool, String> {
    let manager = Manager::from_config(
        pg_config(settings)?,
        pg_tls(settings)?,
        ManagerConfig {
            recycling_method: RecyclingMethod::Verified,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_max)
        .wait_timeout(Some(settings.pool_wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| format!("database pool: {e}"))
}

/// A stable, secret-free class for a driver error (shown to admins, used in logs and retries).
pub fn error_class(e: &tokio_postgres::Error) -> &'static str {
    if let Some(db) = e.as_db_error() {
        return match db.code().code() {
            // pg_hba.conf has no entry for unencrypted connections ("hostssl" only).
            "28000" if db.message().ends_with("no encryption") => "tls_required",
            "28P01" | "28000" => "auth_failed",
            "3D000" => "database_not_found",
            "57P03" => "starting_up",
            "57014" => "statement_timeout",
            "57P01" | "57P02" => "shutting_down",
            "53300" => "too_many_connections",
            "42P01" => "undefined_table",
            "23505" => "unique_violation",
            _ => "query_failed",
        };
    }
    if let Some(class) = tls::error_class(e) {
        return class;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection_refused",
                std::io::ErrorKind::TimedOut => "timeout",
                _ => "connection_lost",
            };
        }
        source = s.source();
    }
    if e.is_closed() {
        return "connection_lost";
    }
    if e.to_string().contains("timeout") {
        return "timeout";
    }
    "unknown"
}

/// Classes worth retrying at startup; anything else (bad password, unknown database) is final.
pub fn is_transient(class: &str) -> bool {
    matches!(
        class,
        "connection_refused"
            | "timeout"
            | "starting_up"
            | "connection_lost"
            | "shutting_down"
            | "too_many_connections"
    )
}

/// A log line for a driver error: class, SQLSTATE and the server's message, never the DETAIL
/// (which can quote row values) nor connection parameters.
pub fn describe_for_log(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "{} (SQLSTATE {}): {}",
            error_class(e),
            db.code().code(),
            db.message()
        ),
        None => error_class(e).to_string(),
    }
}
