//! Request analytics, recording and storage: exact counts across instances, percentiles, TTLs,
//! collapsed names, bounded keys, equal durations, UTC days.

use std::time::Duration;

use bb8_redis::redis;
use chrono::{NaiveTime, Utc};
use futures_util::StreamExt;
use unioneyes_actors::analytics::keys::expire_at;

use crate::support::analytics::{admin_get, endpoint, keys, push, redis_conn, settle, snapshot};
use crate::support::app::{admin_url, redis_url, with_database};
use crate::support::spawn_app_with;
use crate::support::tokens::Spec;

const SETTLE: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn two_instances_sharing_redis_add_up_exactly() {
    let prefix = format!("unioneyes:test:{}:", uuid::Uuid::new_v4().simple());
    let p = prefix.clone();
    let one = spawn_app_with(|env| {
        env.insert("REDIS_KEY_PREFIX".into(), p);
    })
    .await;
    let (p, db) = (prefix.clone(), with_database(&admin_url(), &one.db_name));
    let two = spawn_app_with(|env| {
        env.insert("REDIS_KEY_PREFIX".into(), p);
        env.insert("DATABASE_URL".into(), db);
    })
    .await;
    let token = Spec::new("user_a", "org_two_instances", "org:admin").sign();
    for (app, n) in [(&one, 30), (&two, 20)] {
        for _ in 0..n {
            let res = app
                .as_user(reqwest::Method::GET, "/api/members", &token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
    for i in 0..7 {
        assert_eq!(two.get(&format!("/nope/{i}")).await.status(), 404);
    }
    for _ in 0..5 {
        assert_eq!(one.get("/api/members").await.status(), 401);
    }
    settle(&one, 35, SETTLE).await;
    settle(&two, 27, SETTLE).await;
    let org = one
        .state
        .tenants
        .peek("org_two_instances")
        .expect("tenant resolved");
    assert_eq!(
        two.state.tenants.peek("org_two_instances"),
        Some(org),
        "one database"
    );

    let (status, summary) = admin_get(&one, "/api/admin/analytics/summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["count"], 62, "{summary}");
    assert_eq!(summary["clientErrors"], 12);
    assert_eq!(
        (summary["endpoints"].as_u64(), summary["tenants"].as_u64()),
        (Some(2), Some(2))
    );

    let (_, body) = admin_get(&two, "/api/admin/analytics/endpoints").await;
    let members = endpoint(&body, "GET", "/api/members");
    assert_eq!(
        (members["count"].as_u64(), members["errors"].as_u64()),
        (Some(55), Some(5))
    );
    assert_eq!(endpoint(&body, "GET", "UNMATCHED")["count"], 7);

    let (status, tenant) = admin_get(&one, &format!("/api/admin/analytics/tenants/{org}")).await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["count"], 50);
    assert_eq!(
        tenant["endpoints"],
        serde_json::json!([{"method": "GET", "route": "/api/members", "count": 50}])
    );
    let (_, list) = admin_get(&one, "/api/admin/analytics/tenants").await;
    let anonymous = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "anonymous")
        .unwrap();
    assert_eq!(anonymous["count"], 12);
}

fn exact(sorted: &[u64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1] as f64 / 1000.0
}

#[actix_web::test]
async fn percentiles_are_within_two_percent_of_the_exact_values() {
    let app = spawn_app_with(|_| {}).await;
    let now = Utc::now();
    // A deterministic, heavy-tailed distribution from 150 µs to about a second.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut samples = Vec::new();
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state % 1_000_000) as f64 / 1_000_000.0;
        let v = (150.0 * (1.0 / (1.0 - u * 0.999)).powf(1.3)) as u64 + state % 50;
        samples.push(v);
        push(&app, "/known/distribution", 200, v, now);
    }
    settle(&app, 20_000, SETTLE).await;
    samples.sort_unstable();
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let row = endpoint(&body, "GET", "/known/distribution");
    assert_eq!(row["count"], 20_000);
    for (field, p) in [
        ("p50Ms", 50.0),
        ("p90Ms", 90.0),
        ("p95Ms", 95.0),
        ("p99Ms", 99.0),
    ] {
        let got = row[field].as_f64().unwrap();
        let want = exact(&samples, p);
        assert!(
            (got - want).abs() / want <= 0.02,
            "{field}: {got} vs exact {want}"
        );
    }
    assert_eq!(row["minMs"].as_f64(), Some(samples[0] as f64 / 1000.0));
    assert_eq!(
        row["maxMs"].as_f64(),
        Some(samples[samples.len() - 1] as f64 / 1000.0)
    );
    let avg = samples.iter().sum::<u64>() as f64 / samples.len() as f64 / 1000.0;
    assert!((row["avgMs"].as_f64().unwrap() - avg).abs() < 0.001);
}

#[actix_web::test]
async fn every_key_carries_the_prefix_and_the_days_absolute_expiry() {
    let app = spawn_app_with(|_| {}).await;
    let token = Spec::new("user_t", "org_ttl", "org:member").sign();
    app.as_user(reqwest::Method::GET, "/api/members", &token)
        .send()
        .await
        .unwrap();
    app.get("/nope").await;
    app.get("/api/members").await;
    settle(&app, 3, SETTLE).await;
    let today = Utc::now().date_naive();
    let mut conn = redis_conn(&redis_url()).await;
    let all: Vec<String> = redis::cmd("KEYS")
        .arg("*analytics:v1:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ours: Vec<&String> = all
        .iter()
        .filter(|k| k.contains(&app.redis_prefix))
        .collect();
    assert!(ours.len() >= 12, "{ours:?}");
    let expected = expire_at(today, 30);
    for key in ours {
        assert!(
            key.starts_with(&format!("{}analytics:v1:{{{today}}}:", app.redis_prefix)),
            "{key}"
        );
        let at: i64 = redis::cmd("EXPIRETIME")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(at, expected, "{key}");
    }
}

#[actix_web::test]
async fn unmatched_routes_and_unknown_methods_collapse_and_health_and_assets_are_not_recorded() {
    let app = spawn_app_with(|_| {}).await;
    for i in 0..20 {
        app.get(&format!("/scan/{i}/wp-admin?id={i}")).await;
    }
    for _ in 0..3 {
        app.client
            .post(app.url("/wp-login.php"))
            .send()
            .await
            .unwrap();
    }
    let propfind = reqwest::Method::from_bytes(b"PROPFIND").unwrap();
    let foo = reqwest::Method::from_bytes(b"FOO").unwrap();
    for i in 0..2 {
        app.client
            .request(propfind.clone(), app.url("/api/members"))
            .send()
            .await
            .unwrap();
        app.client
            .request(foo.clone(), app.url(&format!("/x{i}")))
            .send()
            .await
            .unwrap();
    }
    // Encoded spellings reach the same routes and are not recorded either.
    for path in [
        "/api/health",
        "/livez",
        "/readyz",
        "/api/health",
        "/%6civez",
        "/api/%68ealth",
    ] {
        app.get(path).await;
    }
    // Static files of the dashboard, the docs UI and the CSRF helper are page loads, not API use.
    for path in [
        "/admin",
        "/admin/",
        "/admin/dashboard.js",
        "/admin/no-such-file.js",
        "/static/csrf.js",
        "/api/docs",
        "/api/docs/",
        "/api/docs/index.html",
    ] {
        app.get(path).await;
    }
    settle(&app, 27, SETTLE).await;
    assert_eq!(
        snapshot(&app).enqueued,
        27,
        "health routes and static files are not recorded"
    );
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let mut names: Vec<(String, u64)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!(
                    "{} {}",
                    i["method"].as_str().unwrap(),
                    i["route"].as_str().unwrap()
                ),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect();
    names.sort();
    let want = [
        ("GET UNMATCHED", 20),
        ("POST UNMATCHED", 3),
        ("_OTHER /api/members", 2),
        ("_OTHER UNMATCHED", 2),
    ];
    let want: Vec<(String, u64)> = want.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(names, want);
    let stored = keys(&redis_url(), &app.redis_prefix).await;
    assert!(!stored
        .iter()
        .any(|k| k.contains("scan") || k.contains("wp-") || k.contains("FOO")));
}

#[actix_web::test]
async fn five_thousand_distinct_ids_on_one_route_add_one_endpoint_and_no_keys() {
    let app = spawn_app_with(|env| {
        env.insert(
            "RATE_LIMITS".into(),
            "API_DEFAULT=100000/1m,AUTH=100000/15m".into(),
        );
    })
    .await;
    let send = |n: usize| {
        let app = &app;
        futures_util::stream::iter(0..n)
            .map(move |_| async move {
                let id = uuid::Uuid::new_v4();
                app.get(&format!("/api/members/{id}")).await.status()
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
    };
    send(50).await;
    settle(&app, 50, SETTLE).await;
    let before = keys(&redis_url(), &app.redis_prefix).await;
    send(5_000).await;
    settle(&app, 5_050, Duration::from_secs(30)).await;
    let after = keys(&redis_url(), &app.redis_prefix).await;
    assert_eq!(before, after, "no key per id");
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(endpoint(&body, "GET", "/api/members/{id}")["count"], 5_050);
}

#[actix_web::test]
async fn equal_durations_are_all_counted() {
    let app = spawn_app_with(|_| {}).await;
    let at = Utc::now();
    for _ in 0..600 {
        push(&app, "/same", 200, 4_321, at);
    }
    settle(&app, 600, SETTLE).await;
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let row = endpoint(&body, "GET", "/same");
    assert_eq!(row["count"], 600);
    assert_eq!(
        (row["p50Ms"].as_f64(), row["p99Ms"].as_f64()),
        (Some(4.321), Some(4.321))
    );
    let (_, slow) = admin_get(&app, "/api/admin/analytics/slow?limit=1000").await;
    // The admin call above is a request too: keep the pushed ones.
    let items: Vec<&serde_json::Value> = slow["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["route"] == "/same")
        .collect();
    assert_eq!(items.len(), 600, "no sample overwrites another");
    assert!(items
        .iter()
        .all(|i| i["durationMs"] == 4.321 && i["requestId"] == "same-request-id"));
}

#[actix_web::test]
async fn requests_on_either_side_of_utc_midnight_land_on_their_own_days() {
    let app = spawn_app_with(|_| {}).await;
    let today = Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let midnight = today.and_time(NaiveTime::MIN).and_utc();
    for _ in 0..3 {
        push(&app, "/midnight", 200, 100, midnight);
    }
    for _ in 0..2 {
        push(
            &app,
            "/midnight",
            500,
            100,
            midnight - chrono::Duration::milliseconds(1),
        );
    }
    settle(&app, 5, SETTLE).await;
    let (_, t) = admin_get(&app, &format!("/api/admin/analytics/summary?date={today}")).await;
    let (_, y) = admin_get(
        &app,
        &format!("/api/admin/analytics/summary?date={yesterday}"),
    )
    .await;
    assert_eq!(
        (t["count"].as_u64(), t["serverErrors"].as_u64()),
        (Some(3), Some(0)),
        "{t}"
    );
    assert_eq!(
        (y["count"].as_u64(), y["serverErrors"].as_u64()),
        (Some(2), Some(2)),
        "{y}"
    );
    let path = format!(
        "/api/admin/analytics/history?from={yesterday}&to={today}&endpoint=GET%20/midnight"
    );
    let (status, h) = admin_get(&app, &path).await;
    assert_eq!(status, 200, "{h}");
    let counts: Vec<u64> = h["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [2, 3]);
}

#[actix_web::test]
async fn requests_cut_by_the_timeout_or_a_panic_are_still_counted() {
    let app = spawn_app_with(|env| {
        env.insert("REQUEST_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    assert_eq!(app.get("/test/panic").await.status(), 500);
    assert_eq!(app.get("/test/slow").await.status(), 503);
    // A body that stops arriving: the timeout is the client's fault (408), a client error.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(b"{".to_vec())).await.unwrap();
    let stalled = app
        .client
        .post(app.url("/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
        .send()
        .await
        .unwrap();
    assert_eq!(stalled.status(), 408);
    drop(tx);
    settle(&app, 3, SETTLE).await;
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let panic = endpoint(&body, "GET", "PANIC");
    assert_eq!(
        (panic["count"].as_u64(), panic["serverErrors"].as_u64()),
        (Some(1), Some(1))
    );
    let timeout = endpoint(&body, "GET", "TIMEOUT");
    assert_eq!(timeout["count"], 1);
    assert!(timeout["minMs"].as_f64().unwrap() >= 1000.0, "{timeout}");
    let stalled = endpoint(&body, "POST", "TIMEOUT");
    assert_eq!(
        (
            stalled["count"].as_u64(),
            stalled["clientErrors"].as_u64(),
            stalled["serverErrors"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{stalled}"
    );
    // The client decided how long the stalled request took: it is in no other figure.
    let (_, summary) = admin_get(&app, "/api/admin/analytics/summary").await;
    // (The analytics reads of this test may be counted too, and all answered 200.)
    assert!(summary["count"].as_u64().unwrap() >= 2, "{summary}");
    assert_eq!(
        summary["serverErrors"], 2,
        "the panic and the server timeout: {summary}"
    );
    assert_eq!(
        summary["clientErrors"], 0,
        "the stalled body is not here: {summary}"
    );
    let (_, slow) = admin_get(&app, "/api/admin/analytics/slow").await;
    let statuses: Vec<u64> = slow["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_u64().unwrap())
        .collect();
    assert!(!statuses.is_empty() && !statuses.contains(&408), "{slow}");
}

#[actix_web::test]
async fn time_spent_waiting_for_the_clients_body_is_not_the_services() {
    let app = spawn_app_with(|_| {}).await;
    // A body trickled in over ~0.8 s, then complete: answered 400 (no valid signature).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let feed = tokio::spawn(async move {
        for part in [&b"{\"id\":"[..], b"\"evt_1\"", b"}"] {
            tx.send(Ok(part.to_vec())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    });
    let res = app
        .client
        .post(app.url("/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", "t=1,v1=00")
        .header("x-request-id", "trickled-body")
        .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    feed.await.unwrap();
    settle(&app, 1, SETTLE).await;
    let (_, body) = admin_get(&app, "/api/admin/analytics/endpoints").await;
    let hook = endpoint(&body, "POST", "/api/webhooks/stripe");
    assert_eq!(hook["count"], 1, "{hook}");
    // The service's own time is milliseconds; the client's 0.8 s is not in it.
    assert!(hook["maxMs"].as_f64().unwrap() < 400.0, "{hook}");
    let (_, summary) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert!(summary["maxMs"].as_f64().unwrap() < 400.0, "{summary}");
}

/// A body stream fed by a channel: it stalls while the sender is kept and sends nothing.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
