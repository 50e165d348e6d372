//! The admin analytics API: who may read, parameter checks, days outside retention.

use std::time::Duration;

use chrono::Utc;

use crate::support::analytics::{admin_get, settle};
use crate::support::tokens::Spec;
use crate::support::{spawn_app, spawn_app_with};

const ROUTES: [&str; 6] = [
    "/api/admin/analytics/summary",
    "/api/admin/analytics/endpoints?sort=p95&limit=5",
    "/api/admin/analytics/slow?limit=10",
    "/api/admin/analytics/tenants?sort=errors",
    "/api/admin/analytics/tenants/anonymous",
    "/api/admin/analytics/history",
];

#[actix_web::test]
async fn platform_admins_read_everything_org_admins_their_own_tenant_only() {
    let app = spawn_app_with(|env| {
        // Refused tokens are rate limited per client IP (AUTH); this test sends many.
        env.insert("RATE_LIMITS".into(), "AUTH=1000/15m".into());
    })
    .await;
    let admin = Spec::new("user_admin", "org_reader", "org:admin").sign();
    let member = Spec::new("user_member", "org_reader", "org:member").sign();
    let other = Spec::new("user_other", "org_elsewhere", "org:admin").sign();
    for t in [&admin, &other] {
        let res = app
            .as_user(reqwest::Method::GET, "/api/members", t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    settle(&app, 2, Duration::from_secs(10)).await;
    let own = app.state.tenants.peek("org_reader").unwrap();
    let elsewhere = app.state.tenants.peek("org_elsewhere").unwrap();

    for path in ROUTES {
        let (status, body) = admin_get(&app, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let res = app.get(path).await;
        assert_eq!(res.status(), 401, "{path} anonymous");
        let res = app
            .as_user(reqwest::Method::GET, path, "not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} bad token");
        let res = app
            .as_user(reqwest::Method::GET, path, &member)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} member");
    }
    for path in [
        "/api/admin/analytics/summary",
        "/api/admin/analytics/tenants",
    ] {
        let res = app
            .as_user(reqwest::Method::GET, path, &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            403,
            "{path}: cross-tenant figures are for platform admins"
        );
    }
    let mine = format!("/api/admin/analytics/tenants/{own}");
    let res = app
        .as_user(reqwest::Method::GET, &mine, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["tenant"].as_str(), Some(own.to_string().as_str()));
    // Its 403s above may be flushed already; the one member listing certainly is.
    let members = body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["route"] == "/api/members")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (members["method"].as_str(), members["count"].as_u64()),
        (Some("GET"), Some(1))
    );
    let theirs = format!("/api/admin/analytics/tenants/{elsewhere}");
    let res = app
        .as_user(reqwest::Method::GET, &theirs, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/api/admin/analytics/summary"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[actix_web::test]
async fn malformed_dates_are_400_and_days_outside_retention_read_empty() {
    let app = spawn_app().await;
    for path in [
        "summary?date=2026-13-01",
        "summary?date=2026-1-5",
        "summary?date=yesterday",
        "endpoints?date=2026-02-30",
        "endpoints?sort=slowest",
        "endpoints?limit=0",
        "slow?limit=1001",
        "summary?dat=2026-01-01",
        "history?from=2026-02-10&to=2026-02-01",
        "history?from=2026-01-01&to=2026-03-01",
        "history?endpoint=nospace",
    ] {
        let (status, body) = admin_get(&app, &format!("/api/admin/analytics/{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["code"]
                .as_str()
                .is_some_and(|c| c.contains("invalid") || c == "validation_failed"),
            "{body}"
        );
    }
    let today = Utc::now().date_naive();
    let old = today - chrono::Duration::days(400);
    let (status, body) = admin_get(&app, &format!("/api/admin/analytics/summary?date={old}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["count"].as_u64(), body["p95Ms"].is_null()),
        (Some(0), true),
        "{body}"
    );
    let from = today - chrono::Duration::days(40);
    let to = today - chrono::Duration::days(35);
    let (status, body) = admin_get(
        &app,
        &format!("/api/admin/analytics/history?from={from}&to={to}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let points = body["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert!(points.iter().all(|p| p["count"] == 0));
    let future = today + chrono::Duration::days(3);
    let (status, body) = admin_get(&app, &format!("/api/admin/analytics/slow?date={future}")).await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}
