//! The admin dashboard (`/admin`, docs/dashboard.md): the page's headers, `GET /api/me`, and
//! the page itself in a real browser: Debian's Chromium driven by playwright-core
//! (tests/browser/dashboard.mjs) against the service with real PostgreSQL and Redis. The test
//! makes traffic, writes it to Redis, reads the JSON API itself and hands those figures to the
//! browser script, which signs in, compares what the page shows, switches days and saves a
//! screenshot (target/screenshots/).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use unioneyes_actors::analytics::{Flush, Record};
use uuid::Uuid;

use crate::support::analytics::{admin_get, snapshot};
use crate::support::tokens::Spec;
use crate::support::{closed_port, spawn_app, spawn_app_with, TestApp};

/// ANALYTICS_RETENTION_DAYS of the test apps (the default).
const RETENTION_DAYS: i64 = 30;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root().join(target)
    };
    target.join("screenshots").join(name)
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Chromium, Node.js and playwright-core, or a failure that says how to get them: the browser
/// test never skips silently.
fn require_browser_toolchain() {
    let mut missing = Vec::new();
    if !chromium().is_file() {
        missing.push(format!("Chromium ({})", chromium().display()));
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        missing.push("Node.js (`node` on PATH)".to_string());
    }
    let playwright = root().join("tests/browser/node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        missing.push("tests/browser/node_modules (playwright-core)".to_string());
    }
    assert!(
        missing.is_empty(),
        "the dashboard browser test needs {}: run scripts/test.sh, which installs them \
         (apt-get install chromium chromium-driver; npm ci --prefix tests/browser)",
        missing.join(", ")
    );
}

/// Run the browser script on `scenario`; panics with its output unless it passed.
async fn run_browser(scenario: Value) -> String {
    require_browser_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.json");
    std::fs::write(&file, scenario.to_string()).unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let (out, err) = (out_path.clone(), err_path.clone());
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(root().join("tests/browser/dashboard.mjs"))
            .arg(&file)
            .current_dir(root())
            .env("CHROMIUM_PATH", chromium())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start node");
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let elapsed = started.elapsed();
    match status {
        Some(s) if s.success() => {
            println!("{output}browser run: {elapsed:?}");
            output
        }
        Some(s) => panic!("the browser run failed ({s}) after {elapsed:?}:\n{output}"),
        None => panic!("the browser run did not finish within 150 s:\n{output}"),
    }
}

/// An app whose analytics actor writes only when told (the flush timer at its 60 s maximum):
/// the page's own requests are recorded but not written while the browser compares figures.
async fn frozen_app() -> TestApp {
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
async fn flush_all(app: &TestApp, enqueued: u64) {
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

struct World {
    local1: Uuid,
    local7: Uuid,
    local1_admin: String,
    /// Records sent or pushed.
    records: u64,
}

const LOCAL1: (&str, &str, &str) = ("Local 1 · Steelworkers", "local-1", "org_local1");
const LOCAL7: (&str, &str, &str) = ("Local 7 · Nurses", "local-7", "org_local7");

/// Two organizations and a morning's traffic: members created and read, claims, an export,
/// validation failures, conflicts, 404s, a member trying to write, anonymous callers and a
/// scanner. Earlier days get records pushed straight into the queue (the test cannot make
/// traffic in the past), so the history chart has something to show; yesterday stays empty.
async fn make_traffic(app: &TestApp) -> World {
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
                tenant: if j % 3 == 0 { local7 } else { local1 }.to_string(),
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

fn day(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + chrono::Duration::days(offset)
}

async fn json_ok(app: &TestApp, path: &str) -> Value {
    let (status, body) = admin_get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[actix_web::test]
async fn the_dashboard_shows_the_json_api_figures_in_a_real_browser() {
    require_browser_toolchain();
    let app = frozen_app().await;
    let started = Instant::now();
    let world = make_traffic(&app).await;
    flush_all(&app, world.records).await;

    let (today, empty_day, past_day) = (day(0), day(-1), day(-3));
    let a = "/api/admin/analytics";
    let summary = json_ok(&app, &format!("{a}/summary?date={today}")).await;
    let endpoints = json_ok(&app, &format!("{a}/endpoints?date={today}&limit=1000")).await;
    let tenants = json_ok(&app, &format!("{a}/tenants?date={today}&limit=200")).await;
    let slow = json_ok(&app, &format!("{a}/slow?date={today}&limit=10")).await;
    let past = json_ok(&app, &format!("{a}/summary?date={past_day}")).await;
    // Real traffic, as sent: the figures the page must show.
    assert!(summary["count"].as_u64().unwrap() >= 45, "{summary}");
    assert!(summary["clientErrors"].as_u64().unwrap() >= 10, "{summary}");
    assert!(past["count"].as_u64().unwrap() > 0, "{past}");
    let members = crate::support::analytics::endpoint(&endpoints, "POST", "/api/members");
    assert_eq!(members["count"], 18, "{members}");
    assert!(
        tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tenant"] == world.local1.to_string()),
        "{tenants}"
    );

    let scenario = json!({
        "scenario": "platform",
        "baseUrl": app.address,
        "adminToken": app.admin_token,
        "retentionDays": RETENTION_DAYS,
        "today": today,
        "oldest": day(-RETENTION_DAYS),
        "emptyDay": empty_day,
        "pastDay": past_day,
        "orgName": LOCAL1.0,
        "screenshot": screenshot_path("admin-dashboard.png"),
        "expect": {
            "summary": summary,
            "endpoints": endpoints,
            "tenants": tenants,
            "slow": slow,
            "past": past,
        },
    });
    run_browser(scenario).await;

    // The page's own requests were recorded but not written meanwhile: the figures compared
    // were the ones on screen from start to end.
    let after = json_ok(&app, &format!("{a}/summary?date={today}")).await;
    assert_eq!(
        after["count"],
        summary["count"],
        "a flush happened during the browser run ({:?} after start): the comparison raced",
        started.elapsed()
    );
    assert!(
        snapshot(&app).unflushed > 0,
        "the page's requests are recorded"
    );
}

#[actix_web::test]
async fn an_org_admin_signed_in_with_their_session_sees_only_their_tenant() {
    require_browser_toolchain();
    let app = frozen_app().await;
    let world = make_traffic(&app).await;
    flush_all(&app, world.records).await;
    let today = day(0);
    let detail = json_ok(
        &app,
        &format!("/api/admin/analytics/tenants/{}?date={today}", world.local1),
    )
    .await;
    assert!(detail["count"].as_u64().unwrap() > 20, "{detail}");

    let scenario = json!({
        "scenario": "org",
        "baseUrl": app.address,
        "sessionToken": world.local1_admin,
        "externalOrgId": LOCAL1.2,
        "orgId": world.local1,
        "otherOrgId": world.local7,
        "retentionDays": RETENTION_DAYS,
        "today": today,
        "emptyDay": day(-1),
        "screenshot": screenshot_path("admin-dashboard-org.png"),
        "expect": { "detail": detail },
    });
    run_browser(scenario).await;
}

#[actix_web::test]
async fn with_redis_down_the_dashboard_shows_the_problem_not_a_blank_page() {
    require_browser_toolchain();
    let port = closed_port();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), format!("redis://127.0.0.1:{port}"));
    })
    .await;
    let (status, body) = admin_get(&app, "/api/admin/analytics/summary").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("analytics_unavailable")),
        "{body}"
    );
    let scenario = json!({
        "scenario": "redis-down",
        "baseUrl": app.address,
        "adminToken": app.admin_token,
        "retentionDays": RETENTION_DAYS,
        "screenshot": screenshot_path("admin-dashboard-redis-down.png"),
    });
    run_browser(scenario).await;
}

#[actix_web::test]
async fn the_page_is_served_from_the_binary_with_a_strict_policy() {
    let app = spawn_app().await;
    let res = app.get("/admin").await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let header = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("referrer-policy"), "no-referrer");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="ue-retention-days" content="30">"#),
        "{html}"
    );

    // Every file the page and its modules load is served here, with its type.
    for (path, kind) in [
        ("/admin/dashboard.js", "text/javascript; charset=utf-8"),
        ("/admin/format.js", "text/javascript; charset=utf-8"),
        ("/admin/dashboard.css", "text/css; charset=utf-8"),
        ("/static/csrf.js", "text/javascript; charset=utf-8"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], kind, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    assert!(html.contains(r#"<script type="module" src="/admin/dashboard.js"></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/admin/dashboard.css">"#));
    let js = app.get("/admin/dashboard.js").await.text().await.unwrap();
    assert!(js.contains(r#"from "/admin/format.js""#) && js.contains(r#"from "/static/csrf.js""#));
    let res = app.client.head(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
    let res = app.client.post(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/admin");
    assert_eq!(app.get("/admin/nothing.js").await.status(), 404);
}

#[actix_web::test]
async fn api_me_says_who_the_caller_is() {
    let app = spawn_app().await;
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), 401);
    let res = app
        .as_user(reqwest::Method::GET, "/api/me", "not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let (status, body) = admin_get(&app, "/api/me").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "kind": "platform_admin", "userId": null, "organizationId": null,
                "externalOrganizationId": null, "role": null })
    );

    let admin = Spec::new("user_me", "org_me", "org:admin").sign();
    let res = app
        .as_user(reqwest::Method::GET, "/api/me", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let org = app.state.tenants.peek("org_me").expect("resolved");
    assert_eq!(
        body,
        json!({ "kind": "session", "userId": "user_me", "organizationId": org,
                "externalOrganizationId": "org_me", "role": "admin" })
    );
    // The browser's way: the session cookie, no header.
    let member = Spec::new("user_you", "org_me", "org:member").sign();
    let res = app
        .client
        .get(app.url("/api/me"))
        .header("cookie", format!("__session={member}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["role"].as_str(), body["organizationId"].as_str()),
        (Some("member"), Some(org.to_string().as_str()))
    );
    let mut no_org = Spec::new("user_none", "x", "org:admin");
    no_org.org = None;
    let res = app
        .as_user(reqwest::Method::GET, "/api/me", &no_org.sign())
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["kind"].as_str(), &body["organizationId"]),
        (Some("session"), &Value::Null)
    );
    let res = app
        .client
        .post(app.url("/api/me"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}
