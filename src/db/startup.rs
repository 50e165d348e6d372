//! Startup checks of the database: connect with retry, a test query, migrations, and the
//! critical-tables check. Errors name the cause and never the URL or password.

use deadpool_postgres::{Pool, PoolError};
use derive_more::Display;

use crate::config::DatabaseSettings;
use crate::retry::{retry, Backoff};

/// Tables the service cannot run without. One list, used at startup and by the health probe.
pub const CRITICAL_TABLES: &[&str] = &[
    "organizations",
    "members",
    "claims",
    "audit_log",
    "stripe_events",
];

#[derive(Debug, Display)]
pub enum StartupError {
    #[display("PostgreSQL is unreachable after {attempts} attempt(s) ({class}); is it running and is DATABASE_URL's host/port right?")]
    Unreachable { class: &'static str, attempts: u32 },
    #[display("PostgreSQL rejected the credentials in DATABASE_URL (wrong user or password)")]
    AuthFailed,
    #[display("the database named in DATABASE_URL does not exist; create it (e.g. `createdb NAME`) or fix the URL")]
    DatabaseNotFound,
    #[display("critical tables are missing: {}; run `unioneyes migrate` to create them", _0.join(", "))]
    MissingTables(Vec<String>),
    #[display("migrations failed: {_0}")]
    Migration(String),
    #[display("PostgreSQL refuses connections without TLS (its pg_hba.conf allows only hostssl): set sslmode=verify-full (or require) in DATABASE_URL")]
    TlsRequired,
    #[display("the TLS connection to PostgreSQL failed ({_0}): {}", tls_hint(_0))]
    Tls(&'static str),
    #[display("database check failed ({_0})")]
    Other(&'static str),
}

/// What to check for a TLS failure class (`db::tls::error_class`).
fn tls_hint(class: &str) -> &'static str {
    match class {
        "tls_unknown_issuer" => "the server's certificate is not signed by a trusted CA; set DATABASE_CA_CERT_FILE to the PEM bundle of the CA that issued it (the built-in roots are the public web CAs)",
        "tls_name_mismatch" => "the server's certificate does not name DATABASE_URL's host; connect by the name in the certificate (or use sslmode=verify-ca to check the CA only)",
        "tls_certificate_expired" => "the server's certificate has expired (or is not yet valid)",
        "tls_certificate_invalid" => "the server's certificate was refused; check DATABASE_CA_CERT_FILE and the server's certificate",
        "tls_not_offered" => "the server does not offer TLS, but DATABASE_URL's sslmode requires it; enable ssl on the server",
        _ => "check the server's TLS setup, DATABASE_URL's sslmode and DATABASE_CA_CERT_FILE",
    }
}

impl std::error::Error for StartupError {}

impl StartupError {
    /// Why no connection could be had, named like the startup checks name it.
    pub fn from_pool_error(e: &PoolError) -> Self {
        Self::from_class(pool_error_class(e), 1)
    }

    fn from_class(class: &'static str, attempts: u32) -> Self {
        match class {
            "auth_failed" => StartupError::AuthFailed,
            "database_not_found" => StartupError::DatabaseNotFound,
            "tls_required" => StartupError::TlsRequired,
            c if c.starts_with("tls_") => StartupError::Tls(c),
            c if super::is_transient(c) => StartupError::Unreachable { class: c, attempts },
            c => StartupError::Other(c),
        }
    }
}

fn pool_error_class(e: &PoolError) -> &'static str {
    match e {
        PoolError::Backend(e) => super::error_class(e),
        PoolError::Timeout(_) => "timeout",
        _ => "unknown",
    }
}

/// Connect (with retry on transient errors only), run a test query, migrate when configured,
/// then check the critical tables.
pub async fn startup_checks(pool: &Pool, settings: &DatabaseSettings) -> Result<(), StartupError> {
    let backoff = Backoff {
        attempts: settings.startup_attempts,
        initial: settings.startup_retry_delay,
        max: settings.startup_retry_delay * 4,
        factor: 1.5,
        jitter: 0.2,
    };
    let attempts = std::cell::Cell::new(0);
    retry(
        backoff,
        |n| {
            attempts.set(n);
            async move {
                let client = pool.get().await.map_err(|e| pool_error_class(&e))?;
                client
                    .simple_query("SELECT 1")
                    .await
                    .map_err(|e| super::error_class(&e))?;
                Ok::<(), &'static str>(())
            }
        },
        |class| {
            let transient = super::is_transient(class);
            if transient {
                log::warn!("database not reachable yet ({class}); retrying");
            }
            transient
        },
    )
    .await
    .map_err(|class| StartupError::from_class(class, attempts.get()))?;
    log::info!("database reachable");

    if settings.migrate_on_startup {
        super::run_migrations(pool).await?;
    }
    let client = pool
        .get()
        .await
        .map_err(|e| StartupError::from_class(pool_error_class(&e), 1))?;
    let missing = check_schema(&client)
        .await
        .map_err(|class| StartupError::from_class(class, 1))?;
    if !missing.is_empty() {
        return Err(StartupError::MissingTables(missing));
    }
    Ok(())
}

/// The critical tables that do not exist (empty when all are there).
pub async fn check_schema(client: &tokio_postgres::Client) -> Result<Vec<String>, &'static str> {
    let tables: Vec<String> = CRITICAL_TABLES.iter().map(|t| t.to_string()).collect();
    let rows = client
        .query(
            "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass('public.' || t) IS NULL",
            &[&tables],
        )
        .await
        .map_err(|e| super::error_class(&e))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}
