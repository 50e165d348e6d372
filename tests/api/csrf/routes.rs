//! CSRF: Methods, the route enumeration, path tricks against the exemptions, the webhook.

use actix_web::{test as actix_test, web, App};

use super::*;
use crate::support::app::STRIPE_SECRET;
use crate::support::routes::{instantiate, registered_patterns};

#[actix_web::test]
async fn safe_methods_reach_no_write_and_every_other_method_is_checked() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let member = format!("/api/members/{id}");
    let reveal = format!("/api/members/{id}/sin/reveal");
    let claim = format!("/api/claims/{id}");
    let unsafe_routes = [
        "/api/members",
        member.as_str(),
        reveal.as_str(),
        "/api/claims",
        claim.as_str(),
        "/api/admin/organizations",
        "/api/auth/logout",
    ];
    let cookie = victim.cookie();
    let with_token = [("cookie", cookie.clone()), ("x-csrf-token", token.clone())];
    let without = [("cookie", cookie.clone())];
    let body = member_body("m@local1.org").to_string();
    for path in unsafe_routes {
        // HEAD is GET without the body: where the route serves GET it is that read, answered
        // as GET would be (200, or the refusal of this caller / this id), else 405. The
        // snapshot below shows nothing changed.
        let serves_get = path != reveal && path != "/api/auth/logout";
        let (status, text) = raw(&app, "HEAD", path, &with_token, &body).await;
        if serves_get {
            assert!(
                matches!(status, 200 | 401 | 403 | 404),
                "HEAD {path}: {text}"
            );
        } else {
            assert_eq!(status, 405, "HEAD {path}: {text}");
        }
        let (status, text) = raw(&app, "OPTIONS", path, &with_token, &body).await;
        assert_eq!(status, 405, "OPTIONS {path}: {text}");
        for method in ["PATCH", "post", "PROPFIND", "FOO", "PUT", "get", "DELETE"] {
            let (status, text) = raw(&app, method, path, &without, &body).await;
            assert_eq!(
                (status, code_in(&text).as_str()),
                (403, "csrf_token_missing"),
                "{method} {path}: {text}"
            );
        }
        // Methods no route serves never reach a handler, even with a valid token.
        for method in ["post", "PROPFIND", "FOO", "get", "Patch"] {
            let (status, text) = raw(&app, method, path, &with_token, &body).await;
            assert_eq!(status, 405, "{method} {path}: {text}");
        }
    }
    assert_eq!(snapshot(&app, Some(&id)).await, before);
    // The token still works afterwards for a real write.
    let res = victim
        .with_token(&app, Method::PATCH, &member, &token)
        .json(&json!({"firstName": "Anna"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn exactly_the_intended_routes_bypass_the_check() {
    let (app, victim, id) = app_with_member().await;
    // The production route table, built the way `startup::serve` builds it.
    let service = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(app.state.clone()))
            .configure(unioneyes::http::routes),
    )
    .await;
    let res = actix_test::call_service(
        &service,
        actix_test::TestRequest::get().uri("/livez").to_request(),
    )
    .await;
    let patterns = registered_patterns(res.request().resource_map());
    for known in [
        "/api/members",
        "/api/members/{id}",
        "/api/csrf-token",
        "/livez",
    ] {
        assert!(
            patterns.iter().any(|p| p == known),
            "{known} in {patterns:?}"
        );
    }

    let before = snapshot(&app, Some(&id)).await;
    let cookie = victim.cookie();
    let unsafe_methods = ["POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND", "FOO"];
    let mut bypass: Vec<(String, String, u16)> = Vec::new();
    for pattern in &patterns {
        let path = instantiate(pattern, &id);
        for method in unsafe_methods {
            let (status, text) = raw(
                &app,
                method,
                &path,
                &[
                    ("cookie", cookie.clone()),
                    ("content-type", "application/json".into()),
                ],
                "{}",
            )
            .await;
            assert!(status < 500, "{method} {pattern}: {text}");
            if (status, code_in(&text).as_str()) != (403, "csrf_token_missing") {
                bypass.push((method.to_string(), pattern.clone(), status));
            }
        }
    }
    let mut bypassing: Vec<&str> = bypass.iter().map(|(_, p, _)| p.as_str()).collect();
    bypassing.dedup();
    let mut intended: Vec<&str> = unioneyes::http::EXEMPT_ROUTES
        .iter()
        .map(|(_, p, _)| *p)
        .collect();
    intended.sort();
    assert_eq!(bypassing, intended, "routes outside the check");
    // On the exempt routes only the webhook POST reaches a handler; everything else is 405.
    let reached: Vec<(&str, &str)> = bypass
        .iter()
        .filter(|(_, _, status)| *status != 405)
        .map(|(m, p, _)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(reached, [("POST", "/api/webhooks/stripe")]);
    for (methods, pattern, _) in unioneyes::http::EXEMPT_ROUTES {
        let served: Vec<&str> = methods.split(", ").collect();
        let unsafe_served: Vec<&str> = served
            .iter()
            .copied()
            .filter(|m| !["GET", "HEAD", "OPTIONS"].contains(m))
            .collect();
        let got: Vec<&str> = reached
            .iter()
            .filter(|(_, p)| p == pattern)
            .map(|(m, _)| *m)
            .collect();
        assert_eq!(got, unsafe_served, "{pattern}");
    }

    // Safe methods everywhere, as the victim's admin session: nothing changes.
    for pattern in &patterns {
        let path = instantiate(pattern, &id);
        for method in ["GET", "HEAD", "OPTIONS"] {
            let (status, text) = raw(&app, method, &path, &[("cookie", cookie.clone())], "").await;
            assert!(status < 500, "{method} {pattern}: {text}");
        }
    }
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn path_tricks_against_the_exemptions_never_write() {
    let (app, victim, id) = app_with_member().await;
    let before = snapshot(&app, Some(&id)).await;
    let cookie = victim.cookie();
    let body = member_body("trick@local1.org").to_string();
    let member = format!("/api/members/{id}");
    let targets = [
        "/api/webhooksX".to_string(),
        "/api/webhooks".to_string(),
        "/api/webhooks/".to_string(),
        "/api/webhooks/%2e%2e/members".to_string(),
        "/api/webhooks/%2E%2E/members".to_string(),
        "/api/webhooks/../members".to_string(),
        "/api/webhooks;x/../members".to_string(),
        "/api/webhooks%2Fstripe".to_string(),
        "/api/webhooks%2f..%2fmembers".to_string(),
        "//api/webhooks/stripe".to_string(),
        "//api/members".to_string(),
        "/API/WEBHOOKS/STRIPE".to_string(),
        "/api/WEBHOOKS/stripe".to_string(),
        "/API/members".to_string(),
        "/api/Members".to_string(),
        "/api/health/../members".to_string(),
        "/api/webhooks/stripe/../../members".to_string(),
        format!("/api/webhooks/..%2F..%2Fapi%2Fmembers%2F{id}"),
        format!("/api/webhooks/stripe/..{member}"),
    ];
    let headers = [
        ("cookie", cookie.clone()),
        ("content-type", "application/json".to_string()),
    ];
    for target in &targets {
        for method in ["POST", "PATCH", "DELETE"] {
            let (status, text) = raw(&app, method, target, &headers, &body).await;
            assert!(
                [403, 404, 405].contains(&status)
                    || (status == 400 && code_in(&text) == "invalid_signature"),
                "{method} {target}: {text}"
            );
        }
    }
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn the_stripe_webhook_ignores_the_session_cookie() {
    let app = spawn_app().await;
    let victim = Browser::new("user_victim", "org_a");
    let body =
        json!({"id": "evt_csrf_1", "type": "invoice.paid", "created": 1_700_000_000}).to_string();
    let now = chrono::Utc::now().timestamp();
    let sig = unioneyes::stripe::sign(body.as_bytes(), STRIPE_SECRET.as_bytes(), now);
    // Signed: accepted with or without a cookie (the cookie plays no part).
    let res = victim
        .request(&app, Method::POST, "/api/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Unsigned with the victim's cookie: refused by the signature check, nothing stored.
    let before = snapshot(&app, None).await;
    let res = victim
        .request(&app, Method::POST, "/api/webhooks/stripe")
        .header("content-type", "application/json")
        .body(json!({"id": "evt_csrf_2", "type": "invoice.paid"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(snapshot(&app, None).await, before);
}
