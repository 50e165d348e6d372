//! Analytics helpers: wait until everything recorded is written, push records with known
//! figures straight into the queue, and look at Redis directly.

use std::time::Duration;

use bb8_redis::redis::{self, aio::MultiplexedConnection};
use chrono::{DateTime, Utc};
use unioneyes_actors::analytics::{Record, Snapshot};

use super::TestApp;

pub fn snapshot(app: &TestApp) -> Snapshot {
    app.state
        .analytics
        .as_ref()
        .expect("analytics on")
        .recorder
        .snapshot()
}

/// Wait until at least `enqueued` records were taken and every one of them is written.
pub async fn settle(app: &TestApp, enqueued: u64, within: Duration) -> Snapshot {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = snapshot(app);
        if s.enqueued >= enqueued && s.queued == 0 && s.unflushed == 0 {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "analytics never settled: {s:?} (want {enqueued} enqueued)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A record with known figures, straight into the app's queue (as the middleware would).
pub fn push(app: &TestApp, route: &str, status: u16, duration_us: u64, at: DateTime<Utc>) {
    let recorder = &app.state.analytics.as_ref().expect("analytics on").recorder;
    let accepted = recorder.record(Record {
        route: route.to_string(),
        method: "GET",
        status,
        duration_us,
        tenant: "tenant-known".into(),
        request_id: "same-request-id".into(),
        ended_at: at,
    });
    assert!(accepted, "queue full");
}

pub async fn redis_conn(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

pub async fn keys(url: &str, prefix: &str) -> Vec<String> {
    let mut conn = redis_conn(url).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    keys.sort();
    keys
}

/// GET an admin analytics route with the platform admin token; status and JSON.
pub async fn admin_get(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let res = app.get_admin(path).await;
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The item of an `endpoints` answer for `method route`.
pub fn endpoint<'a>(
    body: &'a serde_json::Value,
    method: &str,
    route: &str,
) -> &'a serde_json::Value {
    body["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["method"] == method && i["route"] == route)
        })
        .unwrap_or_else(|| panic!("no endpoint {method} {route} in {body}"))
}
