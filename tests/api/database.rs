//! PostgreSQL behaviour: startup failures name the cause, restarts are survived, migrations
//! do not race.

use std::time::{Duration, Instant};

use unioneyes::db::StartupError as DbStartupError;
use unioneyes::startup::StartupError;

use crate::support::blackhole::Blackhole;
use crate::support::pg::TempPostgres;
use crate::support::{spawn_app, spawn_app_with, try_spawn_app};

#[actix_web::test]
async fn wrong_password_fails_at_once_naming_the_cause() {
    let pg = TempPostgres::start(Some("right-password"));
    let url = pg.url("postgres:wrong-password", "postgres");
    let started = Instant::now();
    let err = try_spawn_app(|env| {
        env.insert("DATABASE_URL".into(), url);
        env.insert("DATABASE_STARTUP_ATTEMPTS".into(), "5".into());
        env.insert("DATABASE_STARTUP_RETRY_DELAY_MS".into(), "30000".into());
    })
    .await
    .err()
    .expect("startup must fail");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no retries on a bad password"
    );
    assert!(
        matches!(err, StartupError::Database(DbStartupError::AuthFailed)),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("credentials"), "{text}");
    assert!(!text.contains("wrong-password"));
}

#[actix_web::test]
async fn unknown_database_fails_at_once_naming_the_cause() {
    let started = Instant::now();
    let err = try_spawn_app(|env| {
        let url = env["DATABASE_URL"].replace("ue_test_", "ue_missing_");
        env.insert("DATABASE_URL".into(), url);
        env.insert("DATABASE_STARTUP_ATTEMPTS".into(), "5".into());
        env.insert("DATABASE_STARTUP_RETRY_DELAY_MS".into(), "30000".into());
    })
    .await
    .err()
    .expect("startup must fail");
    assert!(started.elapsed() < Duration::from_secs(20), "no retries");
    assert!(
        matches!(
            err,
            StartupError::Database(DbStartupError::DatabaseNotFound)
        ),
        "{err}"
    );
    assert!(err.to_string().contains("does not exist"));
}

#[actix_web::test]
async fn unreachable_database_is_retried_then_reported() {
    let port = crate::support::closed_port();
    let err = try_spawn_app(|env| {
        env.insert(
            "DATABASE_URL".into(),
            format!("postgres://postgres@127.0.0.1:{port}/x"),
        );
        env.insert("DATABASE_STARTUP_ATTEMPTS".into(), "3".into());
    })
    .await
    .err()
    .expect("startup must fail");
    assert!(
        matches!(
            err,
            StartupError::Database(DbStartupError::Unreachable { attempts: 3, .. })
        ),
        "{err}"
    );
}

#[actix_web::test]
async fn a_postgres_restart_is_survived_without_5xx() {
    let pg = TempPostgres::start(None);
    let url = pg.url("postgres", "postgres");
    let app = spawn_app_with(|env| {
        env.insert("DATABASE_URL".into(), url);
    })
    .await;
    // Warm the pool so it holds connections that the restart will kill.
    for _ in 0..4 {
        assert_eq!(
            app.get_admin("/api/admin/organizations").await.status(),
            200
        );
    }
    pg.stop_server();
    let down = app
        .wait_for_health(Duration::from_secs(3), |b| b["status"] == "unhealthy")
        .await;
    assert_eq!(down["reason"], "database");
    pg.start_server();
    app.wait_for_health(Duration::from_secs(5), |b| b["status"] == "healthy")
        .await;
    for _ in 0..20 {
        let res = app.get_admin("/api/admin/organizations").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
    }
}

#[actix_web::test]
async fn instances_starting_together_do_not_race_on_migrations() {
    let first = spawn_app().await;
    let url = first.state.settings.database.url.clone();
    let db_url = secrecy::ExposeSecret::expose_secret(&url).to_string();
    // Fresh schema: drop everything, then start three instances at once on it.
    let client = first.state.db.get().await.unwrap();
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .unwrap();
    drop(client);
    let spawn = || {
        let db_url = db_url.clone();
        try_spawn_app(move |env| {
            env.insert("DATABASE_URL".into(), db_url);
        })
    };
    let (a, b, c) = tokio::join!(spawn(), spawn(), spawn());
    for app in [a, b, c] {
        let app = app.expect("every instance starts");
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
    }
}

#[actix_web::test]
async fn critical_tables_missing_at_startup_are_named() {
    let app = spawn_app().await;
    let db_url = secrecy::ExposeSecret::expose_secret(&app.state.settings.database.url).to_string();
    let client = app.state.db.get().await.unwrap();
    client
        .batch_execute("DROP TABLE stripe_events")
        .await
        .unwrap();
    drop(client);
    let err = try_spawn_app(|env| {
        env.insert("DATABASE_URL".into(), db_url);
        env.insert("DATABASE_MIGRATE_ON_STARTUP".into(), "false".into());
    })
    .await
    .err()
    .expect("startup must fail");
    let text = err.to_string();
    assert!(
        text.contains("stripe_events") && text.contains("unioneyes migrate"),
        "{text}"
    );
}

/// A probe connection that goes silent (half-open: the query never answers, the socket stays
/// open) is dropped when its check is cut by the deadline, so the next cycle reconnects and
/// the instance is ready again — not stuck "unhealthy" until TCP gives up minutes later.
#[actix_web::test]
async fn a_silent_probe_connection_is_replaced_on_the_next_cycle() {
    let target = url::Url::parse(&crate::support::app::admin_url())
        .unwrap()
        .port()
        .unwrap_or(5432);
    let proxy = Blackhole::start(target).await;
    let proxy_port = proxy.port;
    let app = spawn_app_with(|env| {
        let mut url = url::Url::parse(&env["DATABASE_URL"]).unwrap();
        url.set_port(Some(proxy_port)).unwrap();
        env.insert("DATABASE_URL".into(), url.to_string());
        // Long enough between cycles that the one failed cycle is seen.
        env.insert("HEALTH_INTERVAL_MS".into(), "1000".into());
        env.insert("HEALTH_TIMEOUT_MS".into(), "300".into());
    })
    .await;
    app.wait_for_health(Duration::from_secs(5), |b| b["status"] == "healthy")
        .await;
    proxy.blackhole();
    let down = app
        .wait_for_health(Duration::from_secs(5), |b| b["status"] == "unhealthy")
        .await;
    assert_eq!(down["reason"], "database", "{down}");
    app.wait_for_health(Duration::from_secs(5), |b| b["status"] == "healthy")
        .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}
