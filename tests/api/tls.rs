//! TLS to PostgreSQL and Redis against real TLS servers (certificates made by rcgen at test
//! time): libpq's sslmode values, DATABASE_CA_CERT_FILE / REDIS_CA_CERT_FILE, and failures
//! that name the cause without the URL.

use std::time::{Duration, Instant};

use bb8_redis::redis;
use serde_json::Value;
use unioneyes::db::StartupError as DbStartupError;
use unioneyes::startup::StartupError;

use crate::support::certs::TestCerts;
use crate::support::pg::TempPostgres;
use crate::support::redis::TempRedis;
use crate::support::tokens::Spec;
use crate::support::{spawn_app_with, try_spawn_app, TestApp};

const NAMES: &[&str] = &["localhost", "127.0.0.1"];

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {body}"))
}

fn db_env(
    url: String,
    ca: Option<&std::path::Path>,
) -> impl FnOnce(&mut std::collections::HashMap<String, String>) {
    let ca = ca.map(|p| p.display().to_string());
    move |env| {
        env.insert("DATABASE_URL".into(), url);
        if let Some(ca) = ca {
            env.insert("DATABASE_CA_CERT_FILE".into(), ca);
        }
        // A TLS failure must be final: a retry would only hide it for minutes.
        env.insert("DATABASE_STARTUP_ATTEMPTS".into(), "5".into());
        env.insert("DATABASE_STARTUP_RETRY_DELAY_MS".into(), "30000".into());
    }
}

/// Whether the app's pooled connection is encrypted, as the server sees it.
async fn pool_uses_tls(app: &TestApp) -> bool {
    let client = app.state.db.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    row.get(0)
}

#[actix_web::test]
async fn postgres_verify_full_with_the_ca_file_is_healthy_and_encrypted() {
    let certs = TestCerts::generate(NAMES);
    let pg = TempPostgres::start_tls(&certs);
    let url = format!("{}?sslmode=verify-full", pg.url("postgres", "postgres"));
    let app = spawn_app_with(db_env(url, Some(&certs.ca))).await;
    let body = app
        .wait_for_health(Duration::from_secs(5), |b| {
            check(b, "database")["status"] == "healthy"
        })
        .await;
    assert_eq!(check(&body, "database")["status"], "healthy", "{body}");
    assert!(pool_uses_tls(&app).await);
}

#[actix_web::test]
async fn postgres_require_needs_no_ca_file() {
    let certs = TestCerts::generate(NAMES);
    let pg = TempPostgres::start_tls(&certs);
    let url = format!("{}?sslmode=require", pg.url("postgres", "postgres"));
    let app = spawn_app_with(db_env(url, None)).await;
    app.wait_for_health(Duration::from_secs(5), |b| {
        check(b, "database")["status"] == "healthy"
    })
    .await;
    assert!(pool_uses_tls(&app).await);
}

#[actix_web::test]
async fn postgres_verify_full_with_the_wrong_ca_fails_startup_at_once_and_clearly() {
    let certs = TestCerts::generate(NAMES);
    let other = TestCerts::generate(NAMES);
    let pg = TempPostgres::start_tls(&certs);
    let url = format!("{}?sslmode=verify-full", pg.url("postgres", "postgres"));
    let started = Instant::now();
    let err = try_spawn_app(db_env(url, Some(&other.ca)))
        .await
        .err()
        .expect("startup must fail");
    assert!(started.elapsed() < Duration::from_secs(5), "not retried");
    assert!(
        matches!(
            err,
            StartupError::Database(DbStartupError::Tls("tls_unknown_issuer"))
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("DATABASE_CA_CERT_FILE"), "{text}");
    assert!(
        !text.contains("postgres://") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[actix_web::test]
async fn postgres_verify_full_checks_the_host_name_and_verify_ca_does_not() {
    // A certificate for another name than the URL's host (127.0.0.1).
    let certs = TestCerts::generate(&["db.internal.example"]);
    let pg = TempPostgres::start_tls(&certs);
    let base = pg.url("postgres", "postgres");
    let err = try_spawn_app(db_env(
        format!("{base}?sslmode=verify-full"),
        Some(&certs.ca),
    ))
    .await
    .err()
    .expect("startup must fail");
    assert!(
        matches!(
            err,
            StartupError::Database(DbStartupError::Tls("tls_name_mismatch"))
        ),
        "{err}"
    );
    assert!(err.to_string().contains("verify-ca"), "{err}");

    let app = spawn_app_with(db_env(format!("{base}?sslmode=verify-ca"), Some(&certs.ca))).await;
    assert!(pool_uses_tls(&app).await);
}

#[actix_web::test]
async fn postgres_sslmode_disable_against_a_tls_only_server_fails_naming_tls() {
    let certs = TestCerts::generate(NAMES);
    let pg = TempPostgres::start_tls(&certs);
    let url = format!("{}?sslmode=disable", pg.url("postgres", "postgres"));
    let err = try_spawn_app(db_env(url, None))
        .await
        .err()
        .expect("startup must fail");
    assert!(
        matches!(err, StartupError::Database(DbStartupError::TlsRequired)),
        "{err}"
    );
    assert!(err.to_string().contains("sslmode=verify-full"), "{err}");
}

#[actix_web::test]
async fn postgres_prefer_uses_tls_when_offered() {
    let certs = TestCerts::generate(NAMES);
    let pg = TempPostgres::start_tls(&certs);
    let app = spawn_app_with(db_env(pg.url("postgres", "postgres"), None)).await;
    assert!(pool_uses_tls(&app).await, "prefer is the default");
}

/// A connection to the TLS test Redis, trusting `certs`' CA.
async fn tls_conn(url: &str, certs: &TestCerts) -> redis::aio::MultiplexedConnection {
    unioneyes::tls::install_crypto_provider();
    let client = redis::Client::build_with_tls(
        url,
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(&certs.ca).unwrap()),
        },
    )
    .unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, pattern: String) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn rediss_with_the_ca_file_serves_health_rate_limits_and_analytics() {
    let certs = TestCerts::generate(NAMES);
    let redis = TempRedis::start_tls(&certs);
    let url = redis.url();
    assert!(url.starts_with("rediss://"));
    let ca = certs.ca.display().to_string();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url.clone());
        env.insert("REDIS_CA_CERT_FILE".into(), ca);
        env.insert("RATE_LIMITS".into(), "API_DEFAULT=2/1m".into());
        env.insert("RATE_LIMIT_REDIS_TIMEOUT_MS".into(), "1000".into());
    })
    .await;
    let body = app
        .wait_for_health(Duration::from_secs(5), |b| {
            check(b, "redis")["status"] == "healthy"
        })
        .await;
    assert_eq!(body["status"], "healthy", "{body}");

    let token = Spec::new("user_tls", "org_tls", "org:member").sign();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = app
            .as_user(reqwest::Method::GET, "/api/claims", &token)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(
        statuses[2], 429,
        "the third request is limited: {statuses:?}"
    );

    let mut conn = tls_conn(&url, &certs).await;
    let windows = keys(&mut conn, format!("{}rl:*", app.redis_prefix)).await;
    assert!(!windows.is_empty(), "the limiter counted in the TLS Redis");

    // The analytics actor's flush writes over its own TLS link.
    crate::support::analytics::settle(&app, 3, Duration::from_secs(5)).await;
    let all = keys(&mut conn, format!("{}*", app.redis_prefix)).await;
    assert!(
        all.iter().any(|k| !k.contains("rl:")),
        "analytics keys written: {all:?}"
    );
}

#[actix_web::test]
async fn rediss_with_the_wrong_ca_is_reported_degraded_not_a_crash() {
    let certs = TestCerts::generate(NAMES);
    let other = TestCerts::generate(NAMES);
    let redis = TempRedis::start_tls(&certs);
    let url = redis.url();
    let ca = other.ca.display().to_string();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("REDIS_CA_CERT_FILE".into(), ca);
    })
    .await;
    let body = app
        .wait_for_health(Duration::from_secs(5), |b| b["status"] == "degraded")
        .await;
    assert_eq!(body["reason"], "redis", "{body}");
    assert_ne!(check(&body, "redis")["status"], "healthy", "{body}");
    assert_eq!(check(&body, "database")["status"], "healthy", "{body}");
    assert_eq!(app.get("/livez").await.status(), 200);
}
