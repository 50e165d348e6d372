//! Members: validation, duplicates, pagination, SINs (masking, reveal, audit, rotation).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::spawn_app;
use crate::support::tokens::Spec;

#[actix_web::test]
async fn validation_lists_every_field_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    let res = app
        .as_user(Method::POST, "/api/members", &admin)
        .json(&json!({"firstName": "", "email": "not-an-email", "status": "dead", "sin": "123456789", "shoeSize": 44}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "email",
            "firstName",
            "lastName",
            "shoeSize",
            "sin",
            "status"
        ]
    );
    assert!(
        !body.to_string().contains("123456789"),
        "the SIN is never echoed"
    );
    let list: Value = app
        .as_user(Method::GET, "/api/members", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn duplicate_emails_conflict_case_insensitively() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    app.create_member(
        &admin,
        json!({"firstName": "A", "lastName": "B", "email": "Ann@Union.org"}),
    )
    .await;
    let res = app
        .as_user(Method::POST, "/api/members", &admin)
        .json(&json!({"firstName": "A", "lastName": "B", "email": "ann@union.ORG"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "email_taken");
    // The same email in another organization is fine.
    let other = Spec::new("u2", "org_b", "org:admin").sign();
    app.create_member(
        &other,
        json!({"firstName": "A", "lastName": "B", "email": "ann@union.org"}),
    )
    .await;
}

#[actix_web::test]
async fn lists_paginate_with_opaque_cursors_and_filter_by_status() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    for i in 0..5 {
        let status = if i % 2 == 0 { "active" } else { "retired" };
        app.create_member(
            &admin,
            json!({"firstName": format!("M{i}"), "lastName": "L", "email": format!("m{i}@u.org"), "status": status}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/members?limit=2&cursor={c}"),
            None => "/api/members?limit=2".to_string(),
        };
        let page: Value = app
            .as_user(Method::GET, &path, &admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for m in page["items"].as_array().unwrap() {
            seen.push(m["firstName"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["M0", "M1", "M2", "M3", "M4"]);
    let retired: Value = app
        .as_user(Method::GET, "/api/members?status=retired", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retired["items"].as_array().unwrap().len(), 2);
    for bad in [
        "/api/members?limit=500",
        "/api/members?cursor=bogus",
        "/api/members?status=dead",
    ] {
        let res = app.as_user(Method::GET, bad, &admin).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[actix_web::test]
async fn sins_are_masked_revealed_to_org_admins_only_and_audited() {
    let app = spawn_app().await;
    let admin = Spec::new("user_admin", "org_a", "org:admin").sign();
    let member_token = Spec::new("user_member", "org_a", "org:member").sign();
    let m = app
        .create_member(
            &admin,
            json!({"firstName": "S", "lastName": "I", "email": "s@u.org", "sin": "046-454-286"}),
        )
        .await;
    assert_eq!(m["sinMasked"], "***-***-286");
    assert!(!m.to_string().contains("046454286"));
    let id = m["id"].as_str().unwrap();
    let path = format!("/api/members/{id}/sin/reveal");

    let res = app
        .as_user(Method::POST, &path, &member_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "platform admins name no org and may not reveal"
    );

    let res = app
        .as_user(Method::POST, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sin"], "046454286");

    let client = app.state.db.get().await.unwrap();
    let rows = client
        .query(
            "SELECT actor, action, target_id, request_id FROM audit_log WHERE action = 'member.sin_reveal'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "user_admin");
    assert_eq!(rows[0].get::<_, &str>(2), id);
    assert!(rows[0].get::<_, Option<&str>>(3).is_some());
    let creates: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'member.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(creates, 1);
}

#[actix_web::test]
async fn equal_sins_encrypt_differently_and_survive_a_key_rotation() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    for i in 0..2 {
        app.create_member(
            &admin,
            json!({"firstName": "S", "lastName": "I", "email": format!("s{i}@u.org"), "sin": "046454286"}),
        )
        .await;
    }
    let client = app.state.db.get().await.unwrap();
    let rows = client
        .query("SELECT sin_ciphertext, sin_key_id FROM members", &[])
        .await
        .unwrap();
    let (a, b): (Vec<u8>, Vec<u8>) = (rows[0].get(0), rows[1].get(0));
    assert_ne!(a, b, "random nonces: equal SINs never share a ciphertext");
    assert!(!String::from_utf8_lossy(&a).contains("046454286"));

    // Rotate: new current key, the old one decrypt-only.
    let old = crate::support::app::test_sin_key();
    let new = unioneyes::crypto::sin::generate_key_b64();
    let ring = unioneyes::crypto::sin::SinKeyRing::new(&new, &[old]).unwrap();
    let n = unioneyes::db::sin_rotation::rotate_sin_keys(&app.state.db, &ring)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let keys: Vec<String> = client
        .query("SELECT sin_key_id FROM members", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(keys.iter().all(|k| k == ring.current_key_id()));

    // An app running with the new key reveals the same SIN.
    let db_url = secrecy::ExposeSecret::expose_secret(&app.state.settings.database.url).to_string();
    let rotated = crate::support::spawn_app_with(|env| {
        env.insert("DATABASE_URL".into(), db_url);
        env.insert("SIN_ENCRYPTION_KEY".into(), new.clone());
    })
    .await;
    let list: Value = rotated
        .as_user(Method::GET, "/api/members", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap();
    let body: Value = rotated
        .as_user(
            Method::POST,
            &format!("/api/members/{id}/sin/reveal"),
            &admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["sin"], "046454286");
}

#[actix_web::test]
async fn update_and_delete_round_trip() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    let m = app
        .create_member(
            &admin,
            json!({"firstName": "A", "lastName": "B", "email": "a@u.org", "memberNumber": "L-1"}),
        )
        .await;
    let id = m["id"].as_str().unwrap();
    let res = app
        .as_user(Method::PATCH, &format!("/api/members/{id}"), &admin)
        .json(&json!({"status": "retired", "memberNumber": null, "sin": "046454286"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "retired");
    assert_eq!(body["memberNumber"], Value::Null);
    assert_eq!(body["sinMasked"], "***-***-286");
    let res = app
        .as_user(Method::PATCH, &format!("/api/members/{id}"), &admin)
        .json(&json!({"email": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .as_user(Method::DELETE, &format!("/api/members/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .as_user(Method::GET, &format!("/api/members/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
