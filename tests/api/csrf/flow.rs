//! CSRF: The happy path and the token life: issue, use, refresh, expiry, logout, rotation, the helper.

use std::time::Duration;

use unioneyes::csrf::{token, Reason, TOKEN_COOKIE};

use super::*;
use crate::support::app::{APP_ORIGIN, CSRF_SECRET};

#[actix_web::test]
async fn a_browser_fetches_a_token_and_writes_with_it() {
    let app = spawn_app().await;
    let browser = Browser::new("user_1", "org_a");
    let res = browser
        .request(&app, Method::GET, "/api/csrf-token")
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["Path=/", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        cookie.starts_with(&format!("{TOKEN_COOKIE}=")) && !cookie.contains("Domain"),
        "{cookie}"
    );
    let body: Value = res.json().await.unwrap();
    let wire = body["token"].as_str().unwrap().to_string();
    let expires = chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let life = expires - chrono::Utc::now().timestamp();
    assert!((3590..=3600).contains(&life), "1-hour lifetime: {life}");
    // The cookie holds the same token (masked differently).
    let cookie_value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_ne!(cookie_value, wire, "masked per response");
    assert!(token::unmask(cookie_value)
        .unwrap()
        .same_as(&token::unmask(&wire).unwrap()));

    // A second fetch (another tab) gets the same token, masked afresh.
    let again = browser.fetch_token(&app).await;
    assert_ne!(again, wire);
    assert!(token::unmask(&again)
        .unwrap()
        .same_as(&token::unmask(&wire).unwrap()));

    // POST with it, same-origin, with and without the cookie echoed.
    let res = browser
        .with_token(&app, Method::POST, "/api/members", &wire)
        .header("sec-fetch-site", "same-origin")
        .header("origin", APP_ORIGIN)
        .json(&member_body("ann@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(
        res.headers().get("x-csrf-token").is_none(),
        "no refresh for a fresh token"
    );
    let res = app
        .client
        .post(app.url("/api/members"))
        .header(
            "cookie",
            format!("{}; {TOKEN_COOKIE}={cookie_value}", browser.cookie()),
        )
        .header("x-csrf-token", &again)
        .json(&member_body("bob@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let list: Value = app
        .as_user(Method::GET, "/api/members", &browser.jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn logout_ends_the_sessions_tokens_and_expires_the_cookie() {
    let (app, victim, id) = app_with_member().await;
    let other_tab_session = victim.new_session();
    let token = victim.fetch_token(&app).await;
    let other_token = other_tab_session.fetch_token(&app).await;
    // Logout is a write: it needs the token too.
    let res = victim
        .request(&app, Method::POST, "/api/auth/logout")
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    let res = victim
        .with_token(&app, Method::POST, "/api/auth/logout", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("{TOKEN_COOKIE}=;")) && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let before = snapshot(&app, Some(&id)).await;
    let res = victim
        .with_token(&app, Method::DELETE, &format!("/api/members/{id}"), &token)
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    let res = victim
        .request(&app, Method::GET, "/api/csrf-token")
        .send()
        .await
        .unwrap();
    let (status, code, _) = outcome(res).await;
    assert_eq!((status, code.as_str()), (401, "session_ended"));
    assert_eq!(snapshot(&app, Some(&id)).await, before);
    // Another session of the same user is untouched.
    let res = other_tab_session
        .with_token(&app, Method::POST, "/api/members", &other_token)
        .json(&member_body("other@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // A header-authenticated client logs out without a token.
    let header_client = Browser::new("user_cli", "org_a");
    let res = app
        .as_user(Method::POST, "/api/auth/logout", &header_client.jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[actix_web::test]
async fn an_expired_token_says_so_and_a_new_one_works() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    // An hour passes: the record says the token's life is over.
    let store = app.state.csrf.store();
    let mut stored = store.load(victim.sid()).await.unwrap().unwrap();
    stored.record.current.as_mut().unwrap().expires_at = chrono::Utc::now().timestamp() - 1;
    store
        .put(victim.sid(), &stored.record, Duration::from_secs(60))
        .await
        .unwrap();
    let before = snapshot(&app, Some(&id)).await;
    let path = format!("/api/members/{id}");
    let res = victim
        .with_token(&app, Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    let text = expect_refused(res, "csrf_token_expired").await;
    assert!(!text.contains(&token));
    assert_eq!(snapshot(&app, Some(&id)).await, before);
    // The record gone altogether (its TTL ran out): expired as well.
    let mut conn = app.state.cache.pool().unwrap().get().await.unwrap();
    let _: () = bb8_redis::redis::cmd("DEL")
        .arg(store.key(victim.sid()))
        .query_async(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let res = victim
        .with_token(&app, Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_expired").await;
    // The client fetches a new token and retries once.
    let fresh = victim.fetch_token(&app).await;
    assert!(!token::unmask(&fresh)
        .unwrap()
        .same_as(&token::unmask(&token).unwrap()));
    let res = victim
        .with_token(&app, Method::DELETE, &path, &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[actix_web::test]
async fn a_token_near_its_end_is_refreshed_by_a_successful_request() {
    let app = spawn_app().await;
    let victim = Browser::new("user_victim", "org_a");
    let token = victim.fetch_token(&app).await;
    let store = app.state.csrf.store();
    let mut stored = store.load(victim.sid()).await.unwrap().unwrap();
    let soon = chrono::Utc::now().timestamp() + 300; // 5 minutes left
    stored.record.current.as_mut().unwrap().expires_at = soon;
    store
        .put(victim.sid(), &stored.record, Duration::from_secs(300))
        .await
        .unwrap();

    let res = victim
        .with_token(&app, Method::POST, "/api/members", &token)
        .json(&member_body("r1@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let fresh = res.headers()["x-csrf-token"].to_str().unwrap().to_string();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with(&format!("{TOKEN_COOKIE}=")), "{cookie}");
    assert!(!token::unmask(&fresh)
        .unwrap()
        .same_as(&token::unmask(&token).unwrap()));
    let record = store.load(victim.sid()).await.unwrap().unwrap().record;
    assert!(
        record.current.unwrap().expires_at > soon + 3000,
        "a full new hour"
    );
    assert_eq!(record.previous.unwrap().expires_at, soon);
    assert_eq!(app.state.csrf.metrics.refreshed(), 1);

    // The fresh token works; the old one too until its own end (an open page keeps working)
    // and its answer carries the current token.
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &fresh)
        .json(&member_body("r2@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("x-csrf-token").is_none());
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &token)
        .json(&member_body("r3@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let current = res.headers()["x-csrf-token"].to_str().unwrap();
    assert!(token::unmask(current)
        .unwrap()
        .same_as(&token::unmask(&fresh).unwrap()));
    // A failed request does not refresh.
    let mut stored = store.load(victim.sid()).await.unwrap().unwrap();
    stored.record.current.as_mut().unwrap().expires_at = chrono::Utc::now().timestamp() + 300;
    store
        .put(victim.sid(), &stored.record, Duration::from_secs(300))
        .await
        .unwrap();
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &fresh)
        .json(&json!({"firstName": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("x-csrf-token").is_none());
}

#[actix_web::test]
async fn old_secrets_still_verify_during_a_rotation() {
    let first = spawn_app().await;
    let victim = Browser::new("user_victim", "org_a");
    let token = victim.fetch_token(&first).await;
    // A second instance sharing the Redis records, rotated to a new secret.
    let prefix = first.redis_prefix.clone();
    let rotated = spawn_app_with(|env| {
        env.insert("REDIS_KEY_PREFIX".into(), prefix.clone());
        env.insert(
            "CSRF_SECRET".into(),
            "rotated-secret-0123456789abcdef-0123456789".into(),
        );
        env.insert("CSRF_OLD_SECRETS".into(), CSRF_SECRET.into());
    })
    .await;
    let res = victim
        .with_token(&rotated, Method::POST, "/api/members", &token)
        .json(&member_body("rot@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Without the old secret the token is refused.
    let unrelated = spawn_app_with(|env| {
        env.insert("REDIS_KEY_PREFIX".into(), prefix.clone());
        env.insert(
            "CSRF_SECRET".into(),
            "another-secret-0123456789abcdef-0123456789".into(),
        );
    })
    .await;
    let before = snapshot(&unrelated, None).await;
    let res = victim
        .with_token(&unrelated, Method::POST, "/api/members", &token)
        .json(&member_body("rot2@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    assert_eq!(snapshot(&unrelated, None).await, before);
    drop(unrelated);
    drop(rotated);
}

#[actix_web::test]
async fn rejections_are_counted_per_reason_and_never_echo_the_token() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let metrics = &app.state.csrf.metrics;
    let counts = || Reason::ALL.map(|r| metrics.rejections(r));
    assert_eq!(counts(), [0, 0, 0, 0]);
    let path = format!("/api/members/{id}");
    let res = victim
        .request(&app, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    let wrong = Browser::new("user_x", "org_a").fetch_token(&app).await;
    let res = victim
        .with_token(&app, Method::DELETE, &path, &wrong)
        .send()
        .await
        .unwrap();
    let text = expect_refused(res, "csrf_token_invalid").await;
    assert!(!text.contains(&wrong) && !text.contains(&token));
    let res = victim
        .with_token(&app, Method::DELETE, &path, &token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let text = expect_refused(res, "csrf_origin_rejected").await;
    assert!(!text.contains(&token));
    assert_eq!(counts(), [1, 1, 0, 1]);
}

#[actix_web::test]
async fn the_helper_script_is_served() {
    let app = spawn_app().await;
    let res = app.get("/static/csrf.js").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let js = res.text().await.unwrap();
    for needle in [
        "x-csrf-token",
        "/api/csrf-token",
        "csrf_token_expired",
        "export",
    ] {
        assert!(js.contains(needle), "{needle}");
    }
    assert_eq!(js, unioneyes::http::HELPER_JS);
    let res = app
        .client
        .post(app.url("/static/csrf.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}
