//! The traffic the browser tests look at: two organizations and a morning's requests through
//! the API, records for the earlier days of the retention window, and an app whose analytics
//! are written to Redis only when the test says so.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use unioneyes_actors::analytics::{Flush, Record};
use uuid::Uuid;

use super::RETENTION_DAYS;
use crate::support::analytics::snapshot;
use crate::support::tokens::Spec;
use crate::support::{spawn_app_with, TestApp};

/// An app whose analytics actor writes only when told (the flush timer at its 60 s maximum):
/// the page's own requests are recorded but not written while the browser compares figures.
pub(super) async fn frozen_app() -> TestApp {
    spawn_app_with(|env| {
        env.insert("ANALYTICS_FLUSH_INTERVAL_MS".into(), "60000".into());
        env.insert("ANALYTICS_FLUSH_BATCH".into(), "1000000".into());
        // A report is stale (503) after 3 intervals; the tests' 200 ms is tight next to a
        // browser starting.
        env.insert("HEALTH_INTERVAL_MS".into(), "1000".into());
        env.insert("HEALTH_TIMEOUT_MS".into(), "500".into());
    })
    .await
}

/// Write everything recorded so far (at least `enqueued` records) to Redis.
pub(super) async fn flush_all(app: &TestApp, enqueued: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = snapshot(app);
        if s.enqueued >= enqueued && s.queued == 0 && s.unflushed == 0 {
            return;
        }
        if s.enqueued >= enqueued && s.queued == 0 {
            app.analytics
                .as_ref()
                .expect("analytics actor")
                .do_send(Flush);
        }
        assert!(
            Instant::now() < deadline,
            "analytics never flushed: {s:?} (want {enqueued} enqueued)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Requests sent through the API, counted (each is one analytics record).
struct Traffic<'a> {
    app: &'a TestApp,
    sent: u64,
}

impl Traffic<'_> {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.app.client.request(method, self.app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        self.sent += 1;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn expect(
        &mut self,
        want: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = self.call(method, path, token, body).await;
        assert_eq!(status, want, "{method} {path}: {body}");
        body
    }
}

pub(super) struct World {
    pub local1: Uuid,
    pub local7: Uuid,
    pub local1_admin: String,
    /// Records sent or pushed.
    pub records: u64,
}

pub(super) const LOCAL1: (&str, &str, &str) = ("Local 1 · Steelworkers", "local-1", "org_local1");
pub(super) const LOCAL7: (&str, &str, &str) = ("Local 7 · Nurses", "local-7", "org_local7");

/// Two organizations and a morning's traffic: members created and read, claims, an export,
/// validation failures, conflicts, 404s, a member trying to write, anonymous callers and a
/// scanner. Earlier days get records pushed straight into the queue (the test cannot make
/// traffic in the past), so the history chart has something to show; yesterday stays empty.
pub(super) async fn make_traffic(app: &TestApp) -> World {
    let before = snapshot(app).enqueued;
    let mut t = Traffic { app, sent: 0 };
    let admin = app.admin_token.clone();
    let mut orgs = Vec::new();
    for (name, slug, external) in [LOCAL1, LOCAL7] {
        let body = json!({ "name": name, "slug": slug, "externalId": external });
        let org = t
            .expect(
                201,
                "POST",
                "/api/admin/organizations",
                Some(&admin),
                Some(body),
            )
            .await;
        orgs.push(Uuid::parse_str(org["id"].as_str().unwrap()).unwrap());
    }
    let l1 = Spec::new("user_ann", LOCAL1.2, "org:admin").sign();
    let l1_member = Spec::new("user_bo", LOCAL1.2, "org:member").sign();
    let l7 = Spec::new("user_cy", LOCAL7.2, "org:admin").sign();

    let mut ids = Vec::new();
    for (i, (first, last)) in [
        ("Ann", "Lee"),
        ("Bo", "Chen"),
        ("Cy", "Roy"),
        ("Di", "Park"),
        ("Ed", "Moss"),
        ("Flo", "Nash"),
        ("Gus", "Ortiz"),
        ("Hal", "Quinn"),
    ]
    .iter()
    .enumerate()
    {
        let body = json!({ "firstName": first, "lastName": last, "email": format!("{}.{}@local1.org", first.to_lowercase(), i) });
        let m = t
            .expect(201, "POST", "/api/members", Some(&l1), Some(body))
            .await;
        ids.push(m["id"].as_str().unwrap().to_string());
    }
    for _ in 0..5 {
        t.expect(200, "GET", "/api/members", Some(&l1), None).await;
    }
    for id in ids.iter().take(4) {
        t.expect(200, "GET", &format!("/api/members/{id}"), Some(&l1), None)
            .await;
    }
    for id in ids.iter().take(2) {
        let body = json!({ "status": "suspended" });
        t.expect(
            200,
            "PATCH",
            &format!("/api/members/{id}"),
            Some(&l1),
            Some(body),
        )
        .await;
    }
    for _ in 0..2 {
        let body = json!({ "firstName": "Ann", "lastName": "Lee", "email": "ann.0@local1.org" });
        t.expect(409, "POST", "/api/members", Some(&l1), Some(body))
            .await;
    }
    for _ in 0..3 {
        let body = json!({ "firstName": "", "lastName": "Lee", "email": "not-an-email" });
        t.expect(400, "POST", "/api/members", Some(&l1), Some(body))
            .await;
    }
    for _ in 0..2 {
        t.expect(
            404,
            "GET",
            &format!("/api/members/{}", Uuid::new_v4()),
            Some(&l1),
            None,
        )
        .await;
    }
    t.expect(200, "GET", "/api/exports/members.csv", Some(&l1), None)
        .await;
    for _ in 0..3 {
        t.expect(200, "GET", "/api/members", Some(&l1_member), None)
            .await;
    }
    for _ in 0..2 {
        let body = json!({ "firstName": "Mo", "lastName": "Dee", "email": "mo@local1.org" });
        t.expect(403, "POST", "/api/members", Some(&l1_member), Some(body))
            .await;
    }
    let mut l7_members = Vec::new();
    for (i, first) in ["Ivy", "Jo", "Kai"].iter().enumerate() {
        let body = json!({ "firstName": first, "lastName": "Ward", "email": format!("{}{i}@local7.org", first.to_lowercase()) });
        let m = t
            .expect(201, "POST", "/api/members", Some(&l7), Some(body))
            .await;
        l7_members.push(m["id"].as_str().unwrap().to_string());
    }
    for member in l7_members.iter().take(2) {
        let body = json!({ "memberId": member, "title": "Overtime not paid", "priority": "high" });
        t.expect(201, "POST", "/api/claims", Some(&l7), Some(body))
            .await;
    }
    for _ in 0..2 {
        t.expect(200, "GET", "/api/claims", Some(&l7), None).await;
        t.expect(200, "GET", "/api/members", Some(&l7), None).await;
    }
    for _ in 0..2 {
        t.expect(401, "GET", "/api/members", None, None).await;
    }
    for path in ["/wp-login.php", "/.env", "/api/v1/users"] {
        t.expect(404, "GET", path, None, None).await;
    }
    let sent = t.sent;

    // Earlier days, straight into the queue as the middleware would put them.
    let (local1, local7) = (orgs[0], orgs[1]);
    let recorder = &app.state.analytics.as_ref().expect("analytics on").recorder;
    let routes = [
        ("GET", "/api/members"),
        ("GET", "/api/members/{id}"),
        ("POST", "/api/members"),
        ("GET", "/api/claims"),
        ("PATCH", "/api/members/{id}"),
    ];
    let now = Utc::now();
    let mut pushed = 0u64;
    for k in 2..=RETENTION_DAYS {
        if k % 9 == 0 {
            continue; // a few quiet days
        }
        let n = 20 + (k * 29 % 41) as u64 + if k % 7 < 2 { 0 } else { 25 };
        for j in 0..n {
            let (method, route) = routes[(j % 5) as usize];
            let status = if j % 23 == 0 {
                500
            } else if j % 6 == 0 {
                404
            } else {
                200
            };
            let accepted = recorder.record(Record {
                route: route.to_string(),
                method,
                status,
                duration_us: 700 + (j * 7919 + k as u64 * 131) % 38_000,
                tenant: if j % 3 == 0 { local7 } else { local1 }.to_string().into(),
                request_id: Uuid::new_v4().to_string(),
                ended_at: now - chrono::Duration::days(k),
            });
            assert!(accepted, "queue full");
            pushed += 1;
        }
    }
    World {
        local1,
        local7,
        local1_admin: l1,
        records: before + sent + pushed,
    }
}
