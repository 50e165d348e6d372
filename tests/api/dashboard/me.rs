//! `GET /api/me`: who the caller is, for the page's sign-in.

use serde_json::{json, Value};

use crate::support::analytics::admin_get;
use crate::support::spawn_app;
use crate::support::tokens::Spec;

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

#[actix_web::test]
async fn api_answers_are_never_cached_and_head_works_like_get() {
    let app = spawn_app().await;
    let org_admin = Spec::new("user_nc", "org_nc", "org:admin").sign();
    assert_eq!(
        app.as_user(reqwest::Method::GET, "/api/me", &org_admin)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let own = app.state.tenants.peek("org_nc").expect("resolved");
    let paths = [
        "/api/me".to_string(),
        "/api/members".to_string(),
        format!("/api/admin/analytics/tenants/{own}"),
        "/api/admin/analytics/summary".to_string(), // 403 for an org admin
        "/api/no-such-route".to_string(),
    ];
    for path in &paths {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let res = app
                .as_user(method.clone(), path, &org_admin)
                .send()
                .await
                .unwrap();
            let h = res.headers();
            assert_eq!(h["cache-control"], "no-store", "{method} {path}");
            let vary = h["vary"].to_str().unwrap().to_ascii_lowercase();
            assert!(
                vary.contains("authorization") && vary.contains("cookie"),
                "{method} {path}: {vary}"
            );
            assert_ne!(res.status(), 405, "{method} {path}");
        }
    }
    // Anonymous refusals too.
    let res = app.get("/api/admin/analytics/summary").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = app.client.head(app.url("/api/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}
