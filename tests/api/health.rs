//! /api/health, /livez, /readyz: shape, status codes, degraded and unhealthy states, secrecy.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{closed_port, spawn_app, spawn_app_with};

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {body}"))
}

#[actix_web::test]
async fn health_is_healthy_with_real_postgres_and_redis() {
    let app = spawn_app().await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "healthy", "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptimeSeconds"].is_u64());
    assert!(body["checkedAt"].as_str().unwrap().ends_with('Z'));
    for name in ["database", "redis"] {
        let c = check(&body, name);
        assert_eq!(c["status"], "healthy", "{c}");
        assert!(c["responseTimeMs"].as_f64().unwrap() >= 0.0);
        assert!(c["checkedAt"].is_string());
        assert!(c["message"].is_string());
        assert!(
            c.get("details").is_none(),
            "anonymous callers see no details: {c}"
        );
    }
    assert_eq!(check(&body, "sentry")["status"], "disabled");
}

#[actix_web::test]
async fn admin_sees_pool_statistics_and_anonymous_does_not() {
    let app = spawn_app().await;
    let body: Value = app.get_admin("/api/health").await.json().await.unwrap();
    let db = check(&body, "database");
    assert_eq!(db["details"]["pool"]["max"], 4, "{db}");
    assert!(db["details"]["pool"]["available"].is_u64());
    assert!(db["details"]["pool"]["waiting"].is_u64());

    let wrong: Value = app
        .client
        .get(app.url("/api/health"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(check(&wrong, "database").get("details").is_none());
}

#[actix_web::test]
async fn health_json_format_has_the_same_verdict() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/health"))
        .header("accept", "application/health+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/health+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pass", "{body}");
    let db = &body["checks"]["database:responseTime"][0];
    assert_eq!(db["status"], "pass");
    assert_eq!(db["observedUnit"], "ms");
    assert_eq!(db["componentType"], "datastore");
    let analytics = &body["checks"]["analytics:status"][0];
    assert_eq!(analytics["status"], "pass", "{body}");
    assert!(analytics.get("observedValue").is_none(), "{analytics}");
    assert_eq!(body["checks"]["sentry:configuration"][0]["status"], "pass");
}

#[actix_web::test]
async fn head_works_on_every_probe_route() {
    let app = spawn_app().await;
    for path in ["/api/health", "/livez", "/readyz"] {
        let res = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[actix_web::test]
async fn redis_down_is_degraded_within_one_interval_and_health_still_answers_fast() {
    let port = closed_port();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), format!("redis://127.0.0.1:{port}"));
    })
    .await;
    // The first report already holds the failed probe: degraded from the start.
    let started = Instant::now();
    let res = app.get("/api/health").await;
    let elapsed = started.elapsed();
    assert_eq!(res.status(), 200, "degraded still answers 200");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["reason"], "redis");
    assert_eq!(check(&body, "redis")["status"], "unhealthy");
    assert!(
        elapsed < Duration::from_secs(2),
        "answered from cache: {elapsed:?}"
    );
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "Redis cannot make it unready"
    );
    // Admins see the cause: refused, not a bare checkout timeout.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let body: Value = app.get_admin("/api/health").await.json().await.unwrap();
        let class = check(&body, "redis")["errorClass"].clone();
        if class == "connection_refused" {
            break;
        }
        assert!(Instant::now() < deadline, "redis error class: {class}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn database_down_is_unhealthy_503_while_livez_stays_200() {
    let port = closed_port();
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            format!("postgres://postgres@127.0.0.1:{port}/nowhere"),
        );
        env.insert("SKIP_DB_STARTUP_CHECK".into(), "true".into());
    })
    .await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy", "{body}");
    assert_eq!(body["reason"], "database");
    assert_eq!(app.get("/livez").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[actix_web::test]
async fn every_pool_connection_busy_is_degraded_not_503() {
    let app = spawn_app().await;
    // Hold every connection of the main pool (max 4 in tests).
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.state.db.get().await.expect("connection"));
    }
    let body = app
        .wait_for_health(Duration::from_secs(3), |b| b["status"] == "degraded")
        .await;
    assert_eq!(body["reason"], "database");
    assert_eq!(
        check(&body, "database")["message"],
        "connection pool saturated"
    );
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    drop(held);
    app.wait_for_health(Duration::from_secs(3), |b| b["status"] == "healthy")
        .await;
}

#[actix_web::test]
async fn a_stopped_supervisor_turns_the_report_stale() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/health").await.status(), 200);
    app.supervisor
        .send(unioneyes_actors::health::Stop)
        .await
        .unwrap();
    // Interval 200 ms: stale after 3 intervals without a report.
    let body = app
        .wait_for_health(Duration::from_secs(3), |b| b["status"] == "unhealthy")
        .await;
    assert_eq!(body["reason"], "stale", "{body}");
    assert_eq!(app.get("/api/health").await.status(), 503);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[actix_web::test]
async fn with_everything_down_anonymous_bodies_name_nothing_internal() {
    let (pg_port, redis_port) = (closed_port(), closed_port());
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            format!("postgres://secretrole:hunter2pw@127.0.0.1:{pg_port}/secretdb"),
        );
        env.insert(
            "REDIS_URL".into(),
            format!("redis://:redispw@127.0.0.1:{redis_port}"),
        );
        env.insert("SKIP_DB_STARTUP_CHECK".into(), "true".into());
    })
    .await;
    for accept in ["application/json", "application/health+json"] {
        let res = app
            .client
            .get(app.url("/api/health"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        let text = res.text().await.unwrap();
        for needle in [
            "127.0.0.1",
            &pg_port.to_string(),
            &redis_port.to_string(),
            "postgres://",
            "redis://",
            "secretrole",
            "hunter2pw",
            "redispw",
            "secretdb",
            "DATABASE_URL",
            "REDIS_URL",
            "refused",
            "localhost",
        ] {
            assert!(!text.contains(needle), "{needle:?} leaked in {text}");
        }
    }
}

#[actix_web::test]
async fn stopping_redis_turns_health_degraded_within_two_intervals() {
    let mut redis = crate::support::redis::TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("HEALTH_INTERVAL_MS".into(), "500".into());
    })
    .await;
    let body: Value = app.get("/api/health").await.json().await.unwrap();
    assert_eq!(body["status"], "healthy", "{body}");
    redis.stop();
    let stopped = Instant::now();
    // Interval 500 ms: two intervals plus one probe deadline (150 ms) is the budget.
    let body = app
        .wait_for_health(Duration::from_secs(3), |b| b["status"] == "degraded")
        .await;
    let took = stopped.elapsed();
    assert_eq!(body["reason"], "redis");
    assert!(
        took < Duration::from_millis(1150),
        "degraded after {took:?}"
    );
    let started = Instant::now();
    assert_eq!(app.get("/api/health").await.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    // Redis comes back on the same port: the pool drops its dead connection and recovers.
    redis.start_again();
    app.wait_for_health(Duration::from_secs(5), |b| b["status"] == "healthy")
        .await;
}
