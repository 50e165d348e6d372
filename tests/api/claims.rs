//! Claims: create against a member, validate, update, filter.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::spawn_app;
use crate::support::tokens::Spec;

#[actix_web::test]
async fn claims_are_created_updated_and_filtered() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    let m = app
        .create_member(
            &admin,
            json!({"firstName": "A", "lastName": "B", "email": "a@u.org"}),
        )
        .await;
    let res = app
        .as_user(Method::POST, "/api/claims", &admin)
        .json(&json!({"memberId": m["id"], "title": "Unsafe ladder", "priority": "urgent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let claim: Value = res.json().await.unwrap();
    assert_eq!(claim["status"], "open");
    assert_eq!(claim["priority"], "urgent");
    let id = claim["id"].as_str().unwrap();
    let res = app
        .as_user(Method::PATCH, &format!("/api/claims/{id}"), &admin)
        .json(&json!({"status": "in_review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let open: Value = app
        .as_user(Method::GET, "/api/claims?status=open", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 0);
    let res = app
        .as_user(Method::POST, "/api/claims", &admin)
        .json(&json!({"memberId": "nope", "title": "", "status": "won", "priority": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"].as_array().unwrap().len(), 4, "{body}");
}
