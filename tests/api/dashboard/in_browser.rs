//! The page in a real browser: a platform admin with the token, an org admin with their
//! session cookie (which then expires), and an instance whose Redis is down.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::browser::{require_browser_toolchain, run_browser, screenshot_path};
use super::traffic::{flush_all, frozen_app, make_traffic, LOCAL1};
use super::{day, json_ok, RETENTION_DAYS};
use crate::support::analytics::{admin_get, snapshot};
use crate::support::tokens::Spec;
use crate::support::{closed_port, spawn_app_with};

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

    // The same admin's session once it has expired (past the 30 s leeway), validly signed.
    let mut expired = Spec::new("user_ann", LOCAL1.2, "org:admin");
    expired.exp_in = -120;
    let scenario = json!({
        "scenario": "org",
        "baseUrl": app.address,
        "sessionToken": world.local1_admin,
        "expiredSessionToken": expired.sign(),
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

    // The page's refused requests carried an expired but validly signed token: they cost this
    // address nothing from its AUTH budget (5 / 15 min), so five mistyped tokens are still
    // answered 401, and only the sixth is limited.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = app
            .as_user(Method::GET, "/api/me", "not-a-token")
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
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
