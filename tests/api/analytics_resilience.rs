//! Analytics when Redis goes away: stopped, hung, refusing a write, or gone at shutdown.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bb8_redis::redis;
use chrono::Utc;
use unioneyes_actors::analytics::keys::DayKeys;
use unioneyes_actors::analytics::stats::Stats;

use crate::support::analytics::{admin_get, endpoint, redis_conn, settle, snapshot};
use crate::support::app::redis_url;
use crate::support::redis::TempRedis;
use crate::support::{spawn_app_with, TestApp};

async fn unmatched(app: &TestApp, n: usize) {
    for i in 0..n {
        assert_eq!(app.get(&format!("/gone/{i}")).await.status(), 404);
    }
}

async fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After `stopper.stop()`: waits (up to `within`) for the actor's final flush, then reads how
/// many requests today's stored summary counts.
async fn written_today_after_stop(app: &TestApp, within: Duration) -> u64 {
    let counters = app
        .state
        .analytics
        .as_ref()
        .unwrap()
        .recorder
        .counters()
        .clone();
    wait_until("the final flush", within, || counters.stopped.load(Relaxed)).await;
    let mut conn = redis_conn(&redis_url()).await;
    let key = DayKeys::new(&app.redis_prefix, Utc::now().date_naive()).summary();
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    Stats::decode(&bytes).count
}

fn analytics_check(health: &serde_json::Value) -> serde_json::Value {
    health["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "analytics"))
        .cloned()
        .unwrap_or_default()
}

#[actix_web::test]
async fn redis_stopped_for_a_while_during_traffic_then_started_totals_are_exact() {
    let mut redis = TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("ANALYTICS_REDIS_TIMEOUT_MS".into(), "300".into());
    })
    .await;
    unmatched(&app, 20).await;
    settle(&app, 20, Duration::from_secs(10)).await;
    redis.save_and_stop();
    unmatched(&app, 30).await;
    wait_until("failed flushes", Duration::from_secs(5), || {
        snapshot(&app).flush_failures >= 2
    })
    .await;
    let health = app
        .wait_for_health(Duration::from_secs(5), |b| {
            analytics_check(b)["status"] == "degraded"
        })
        .await;
    assert_eq!(
        analytics_check(&health)["message"],
        "writes failing; buffering in memory"
    );
    let s = snapshot(&app);
    assert_eq!((s.unflushed, s.dropped, s.lost), (30, 0, 0), "{s:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.start_again();
    settle(&app, 50, Duration::from_secs(15)).await;
    let (status, summary) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["count"], 50, "{summary}");
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    assert_eq!(endpoint(&body, "GET", "UNMATCHED")["count"], 50);
    app.wait_for_health(Duration::from_secs(5), |b| {
        analytics_check(b)["status"] == "healthy"
    })
    .await;
}

#[actix_web::test]
async fn a_hung_redis_gets_a_503_within_the_timeout_and_loses_nothing() {
    let redis = TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("ANALYTICS_REDIS_TIMEOUT_MS".into(), "300".into());
    })
    .await;
    unmatched(&app, 10).await;
    settle(&app, 10, Duration::from_secs(10)).await;
    redis.pause();
    unmatched(&app, 15).await;
    let started = Instant::now();
    let (status, body) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "analytics_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    wait_until("failed flushes", Duration::from_secs(5), || {
        snapshot(&app).flush_failures >= 1
    })
    .await;
    redis.resume();
    // 10 + 15 + the 503 admin call, all written once Redis answers again.
    settle(&app, 26, Duration::from_secs(15)).await;
    let (status, summary) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["count"], 26, "{summary}");
    assert_eq!(summary["serverErrors"], 1);
}

#[actix_web::test]
async fn a_refused_write_is_counted_without_poisoning_the_rest() {
    let app = spawn_app_with(|_| {}).await;
    let day = DayKeys::new(&app.redis_prefix, Utc::now().date_naive());
    let mut conn = redis_conn(&redis_url()).await;
    let bad = day.endpoint("GET UNMATCHED");
    let _: () = redis::cmd("LPUSH")
        .arg(&bad)
        .arg("wrong type")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("EXPIRE")
        .arg(&bad)
        .arg(600)
        .query_async(&mut conn)
        .await
        .unwrap();
    unmatched(&app, 12).await;
    for _ in 0..8 {
        app.get("/api/members").await;
    }
    settle(&app, 20, Duration::from_secs(10)).await;
    assert!(snapshot(&app).write_errors >= 1);
    // Health is a cached report: wait for a probe cycle that saw the refused write.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health: serde_json::Value = app.get_admin("/api/health").await.json().await.unwrap();
        if analytics_check(&health)["details"]["writeErrors"].as_u64() >= Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, summary) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert_eq!(
        summary["count"], 20,
        "the rest of the batch stands: {summary}"
    );
    for _ in 0..5 {
        app.get("/api/members").await;
    }
    settle(&app, 26, Duration::from_secs(10)).await;
    let (status, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        endpoint(&body, "GET", "/api/members")["count"],
        13,
        "later flushes go on"
    );
    assert_eq!(
        endpoint(&body, "GET", "UNMATCHED")["count"],
        0,
        "the damaged key reads empty"
    );
}

#[actix_web::test]
async fn graceful_shutdown_flushes_requests_served_just_before_the_stop() {
    let app = spawn_app_with(|env| {
        env.insert("ANALYTICS_FLUSH_INTERVAL_MS".into(), "60000".into());
        env.insert("ANALYTICS_FLUSH_BATCH".into(), "1000000".into());
    })
    .await;
    unmatched(&app, 40).await;
    // The workers hand their records over within 10 ms; nothing is written before the stop.
    wait_until("the records in the actor", Duration::from_secs(2), || {
        let s = snapshot(&app);
        s.queued + s.unflushed == 40
    })
    .await;
    assert_eq!(snapshot(&app).flushed, 0, "nothing written before the stop");
    app.stopper.stop();
    assert_eq!(
        written_today_after_stop(&app, Duration::from_secs(5)).await,
        40
    );
    assert_eq!(snapshot(&app).lost, 0);
}

#[actix_web::test]
async fn requests_still_running_at_the_stop_are_written_too() {
    // Each worker hands its records over in batches; the ones of requests that end during the
    // graceful stop must reach the actor before its final flush.
    let app = spawn_app_with(|env| {
        env.insert("ANALYTICS_FLUSH_INTERVAL_MS".into(), "60000".into());
        env.insert("ANALYTICS_FLUSH_BATCH".into(), "1000000".into());
    })
    .await;
    let slow = (0..12).map(|i| {
        let url = app.url(&format!("/test/sleep/{}", 300 + 20 * i));
        let client = app.client.clone();
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
    });
    let slow: Vec<_> = slow.collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    unmatched(&app, 5).await;
    app.stopper.stop();
    for handle in slow {
        assert_eq!(handle.await.unwrap().unwrap(), 200, "served to the end");
    }
    let written = written_today_after_stop(&app, Duration::from_secs(10)).await;
    assert_eq!(written, 17, "{:?}", snapshot(&app));
    assert_eq!((snapshot(&app).lost, snapshot(&app).dropped), (0, 0));
}

#[actix_web::test]
async fn redis_gone_at_shutdown_stops_within_the_budget_and_counts_the_loss() {
    let mut redis = TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("ANALYTICS_FLUSH_INTERVAL_MS".into(), "60000".into());
        env.insert("ANALYTICS_SHUTDOWN_FLUSH_MS".into(), "800".into());
        env.insert("ANALYTICS_REDIS_TIMEOUT_MS".into(), "200".into());
    })
    .await;
    unmatched(&app, 10).await;
    redis.stop();
    let started = Instant::now();
    app.stopper.stop();
    let counters = app
        .state
        .analytics
        .as_ref()
        .unwrap()
        .recorder
        .counters()
        .clone();
    wait_until("the actor to stop", Duration::from_secs(5), || {
        counters.stopped.load(Relaxed)
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(snapshot(&app).lost, 10);
}
