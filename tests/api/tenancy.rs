//! Tenant isolation: org A's admin can read, change, delete, export or reveal nothing of org B's.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::spawn_app;
use crate::support::tokens::Spec;

#[actix_web::test]
async fn org_a_cannot_touch_anything_of_org_b() {
    let app = spawn_app().await;
    let a = Spec::new("user_a", "org_a", "org:admin").sign();
    let b = Spec::new("user_b", "org_b", "org:admin").sign();
    let member_b = app
        .create_member(
            &b,
            json!({"firstName": "Bea", "lastName": "B", "email": "bea@b.org", "sin": "046 454 286", "status": "suspended"}),
        )
        .await;
    let mid = member_b["id"].as_str().unwrap().to_string();
    let res = app
        .as_user(Method::POST, "/api/claims", &b)
        .json(&json!({"memberId": mid, "title": "Unpaid overtime"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let claim_b: Value = res.json().await.unwrap();
    let cid = claim_b["id"].as_str().unwrap().to_string();

    // Direct access: 404 exactly like a record that does not exist.
    let not_found = |path: String, method: Method, body: Option<Value>| {
        let app = &app;
        let a = a.clone();
        async move {
            let mut req = app.as_user(method.clone(), &path, &a);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 404, "{method} {path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "not_found");
        }
    };
    not_found(format!("/api/members/{mid}"), Method::GET, None).await;
    not_found(
        format!("/api/members/{mid}"),
        Method::PATCH,
        Some(json!({"firstName": "X"})),
    )
    .await;
    not_found(format!("/api/members/{mid}"), Method::DELETE, None).await;
    not_found(format!("/api/members/{mid}/sin/reveal"), Method::POST, None).await;
    not_found(format!("/api/claims/{cid}"), Method::GET, None).await;
    not_found(
        format!("/api/claims/{cid}"),
        Method::PATCH,
        Some(json!({"status": "resolved"})),
    )
    .await;

    // A claim of A's may not point at B's member.
    let res = app
        .as_user(Method::POST, "/api/claims", &a)
        .json(&json!({"memberId": mid, "title": "Sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Lists, filters and exports hold none of B's rows.
    for path in [
        "/api/members",
        "/api/members?status=suspended",
        "/api/claims",
        "/api/claims?status=open",
    ] {
        let body: Value = app
            .as_user(Method::GET, path, &a)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["items"].as_array().unwrap().len(), 0, "{path}: {body}");
    }
    let csv = app
        .as_user(Method::GET, "/api/exports/members.csv", &a)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!csv.contains("bea@b.org") && !csv.contains(&mid), "{csv}");

    // A cursor made from B's page does not reveal B's rows to A.
    let b_page: Value = app
        .as_user(Method::GET, "/api/members?limit=1", &b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b_page["items"].as_array().unwrap().len(), 1);
    let fake_cursor = unioneyes::http::pagination::encode_cursor(
        chrono::DateTime::from_timestamp(0, 0).unwrap(),
        uuid::Uuid::nil(),
    );
    let body: Value = app
        .as_user(
            Method::GET,
            &format!("/api/members?cursor={fake_cursor}"),
            &a,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 0);

    // B's data is intact.
    let still: Value = app
        .as_user(Method::GET, &format!("/api/members/{mid}"), &b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still["firstName"], "Bea");
    assert_eq!(still["status"], "suspended");
}

#[actix_web::test]
async fn platform_admins_read_across_tenants_but_do_not_write() {
    let app = spawn_app().await;
    let b = Spec::new("user_b", "org_b", "org:admin").sign();
    let member = app
        .create_member(
            &b,
            json!({"firstName": "Bea", "lastName": "B", "email": "bea@b.org"}),
        )
        .await;
    let orgs: Value = app
        .get_admin("/api/admin/organizations")
        .await
        .json()
        .await
        .unwrap();
    let org_id = orgs["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .get(app.url("/api/members"))
        .bearer_auth(&app.admin_token)
        .header("x-organization-id", &org_id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"][0]["id"], member["id"]);
    let res = app
        .client
        .delete(app.url(&format!("/api/members/{}", member["id"].as_str().unwrap())))
        .bearer_auth(&app.admin_token)
        .header("x-organization-id", &org_id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}
