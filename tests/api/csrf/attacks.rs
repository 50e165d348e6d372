//! CSRF: Forged, stolen, planted and misplaced tokens; foreign origins; content types.

use unioneyes::csrf::{token, TOKEN_COOKIE};

use super::*;
use crate::support::app::APP_ORIGIN;

#[actix_web::test]
async fn only_requests_carrying_the_session_cookie_are_checked() {
    let (app, victim, _) = app_with_member().await;
    // Authorization header only: no token needed (a browser cannot send it cross-site).
    let res = app
        .as_user(Method::POST, "/api/members", &victim.jwt)
        .json(&member_body("header@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The same with the session cookie along: checked.
    let before = snapshot(&app, None).await;
    let res = app
        .as_user(Method::POST, "/api/members", &victim.jwt)
        .header("cookie", victim.cookie())
        .json(&member_body("both@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    // The platform admin token with a session cookie: checked, and it has no session.
    let res = app
        .client
        .post(app.url("/api/admin/organizations"))
        .bearer_auth(&app.admin_token)
        .header("cookie", victim.cookie())
        .header("x-csrf-token", victim.fetch_token(&app).await)
        .json(&json!({"name": "Local 9", "slug": "local-9"}))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // A refused session cookie gets the 401 the handler would give.
    let mut expired = victim.spec.clone();
    expired.exp_in = -300;
    let res = Browser::from_spec(expired)
        .request(&app, Method::POST, "/api/members")
        .json(&member_body("x@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(snapshot(&app, None).await, before);
}

#[actix_web::test]
async fn tokens_of_other_sessions_never_work() {
    let (app, victim, id) = app_with_member().await;
    let attacker_same_org = Browser::new("user_attacker", "org_a");
    let attacker_other_org = Browser::new("user_attacker", "org_evil");
    let victim_token = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let path = format!("/api/members/{id}");
    for attacker in [&attacker_same_org, &attacker_other_org] {
        let stolen = attacker.fetch_token(&app).await;
        let res = victim
            .with_token(&app, Method::DELETE, &path, &stolen)
            .send()
            .await
            .unwrap();
        expect_refused(res, "csrf_token_invalid").await;
        // Also with the attacker's token planted as the CSRF cookie.
        let res = app
            .client
            .delete(app.url(&path))
            .header(
                "cookie",
                format!("{}; {TOKEN_COOKIE}={stolen}", victim.cookie()),
            )
            .header("x-csrf-token", &stolen)
            .send()
            .await
            .unwrap();
        expect_refused(res, "csrf_token_invalid").await;
    }
    // The victim's token with the attacker's session: refused too.
    let res = attacker_same_org
        .with_token(&app, Method::POST, "/api/members", &victim_token)
        .json(&member_body("evil@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // A token minted before the user signed in again (a new session id).
    let relogged = victim.new_session();
    let res = relogged
        .with_token(&app, Method::DELETE, &path, &victim_token)
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // Before login there is no token to mint at all.
    let res = app.get("/api/csrf-token").await;
    assert_eq!(res.status(), 401);
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn cookie_tossing_and_duplicates_are_refused() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let other = victim.fetch_token(&app).await; // same token, another mask
    let planted = "A".repeat(token::WIRE_LEN);
    let forged = token::mask(&token::mint(
        &token::Secrets::new(&[9u8; 32], &[]).unwrap(),
        victim.sid(),
    ));
    let path = format!("/api/members/{id}");
    let before = snapshot(&app, Some(&id)).await;
    let send = |cookie: String, headers: Vec<String>| {
        let mut req = app.client.delete(app.url(&path)).header("cookie", cookie);
        for h in headers {
            req = req.header("x-csrf-token", h);
        }
        req.send()
    };
    let base = victim.cookie();
    // A planted cookie equal to a planted header.
    for value in [&planted, &forged] {
        let res = send(
            format!("{base}; {TOKEN_COOKIE}={value}"),
            vec![value.clone()],
        )
        .await
        .unwrap();
        expect_refused(res, "csrf_token_invalid").await;
    }
    // A planted cookie next to the real header.
    let res = send(
        format!("{base}; {TOKEN_COOKIE}={forged}"),
        vec![token.clone()],
    )
    .await
    .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // Duplicate CSRF cookies, even both valid.
    let res = send(
        format!("{base}; {TOKEN_COOKIE}={token}; {TOKEN_COOKIE}={other}"),
        vec![token.clone()],
    )
    .await
    .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // Duplicate headers, even both valid.
    let res = send(base.clone(), vec![token.clone(), other.clone()])
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    // A tossed second session cookie.
    let attacker = Browser::new("user_attacker", "org_a");
    let res = send(
        format!("{}; {base}", attacker.cookie()),
        vec![token.clone()],
    )
    .await
    .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn a_token_anywhere_but_the_header_is_missing() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let res = victim
        .request(
            &app,
            Method::POST,
            &format!("/api/members?csrf_token={token}&x-csrf-token={token}"),
        )
        .json(&member_body("q@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    let mut body = member_body("b@local1.org");
    body["csrfToken"] = json!(token);
    body["x-csrf-token"] = json!(token);
    let res = victim
        .request(&app, Method::POST, "/api/members")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    let res = victim
        .request(&app, Method::POST, "/api/members")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "x-csrf-token={token}&csrf_token={token}&firstName=A"
        ))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    // The cookie alone is not a token either.
    let res = app
        .client
        .post(app.url("/api/members"))
        .header(
            "cookie",
            format!("{}; {TOKEN_COOKIE}={token}", victim.cookie()),
        )
        .json(&member_body("c@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn no_content_type_bypasses_the_check() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let json_body = member_body("ct@local1.org").to_string();
    let content_types = [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("APPLICATION/X-WWW-FORM-URLENCODED"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=xyz"),
        Some("MULTIPART/FORM-DATA; boundary=xyz"),
        None,
    ];
    for ct in content_types {
        let mut headers = vec![("cookie", victim.cookie())];
        if let Some(ct) = ct {
            headers.push(("content-type", ct.to_string()));
        }
        let (status, text) = raw(&app, "POST", "/api/members", &headers, &json_body).await;
        assert_eq!(
            (status, code_in(&text).as_str()),
            (403, "csrf_token_missing"),
            "{ct:?}: {text}"
        );
        // With a valid token the JSON route still wants JSON.
        headers.push(("x-csrf-token", token.clone()));
        let (status, text) = raw(&app, "POST", "/api/members", &headers, &json_body).await;
        assert_eq!(
            (status, code_in(&text).as_str()),
            (415, "unsupported_media_type"),
            "{ct:?}: {text}"
        );
    }
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}

#[actix_web::test]
async fn the_origin_layer_refuses_foreign_origins_even_with_a_valid_token() {
    let (app, victim, id) = app_with_member().await;
    let token = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let path = format!("/api/members/{id}");
    let refused: [&[(&str, &str)]; 9] = [
        &[("origin", "null")],
        &[("origin", "https://app.unioneyes.ca.evil.example")],
        &[("origin", "https://evilapp.unioneyes.ca")],
        &[("origin", "http://app.unioneyes.ca")],
        &[("origin", "https://local1.unioneyes.ca")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "same-site"), ("origin", APP_ORIGIN)],
        &[("origin", APP_ORIGIN), ("origin", "https://evil.example")],
    ];
    for headers in refused {
        let mut req = victim.with_token(&app, Method::PATCH, &path, &token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req
            .json(&json!({"firstName": "Mallory"}))
            .send()
            .await
            .unwrap();
        expect_refused(res, "csrf_origin_rejected").await;
    }
    // Nor does a cross-site page get a token.
    let res = victim
        .request(&app, Method::GET, "/api/csrf-token")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_origin_rejected").await;
    assert_eq!(snapshot(&app, Some(&id)).await, before);

    // Same-origin browsers, the configured origin, and header-less server clients pass.
    let passing: [&[(&str, &str)]; 4] = [
        &[("sec-fetch-site", "same-origin"), ("origin", APP_ORIGIN)],
        &[("sec-fetch-site", "none")],
        &[("origin", APP_ORIGIN)],
        &[],
    ];
    for (i, headers) in passing.iter().enumerate() {
        let mut req = victim.with_token(&app, Method::PATCH, &path, &token);
        for (k, v) in *headers {
            req = req.header(*k, *v);
        }
        let res = req
            .json(&json!({"firstName": format!("Ann{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{headers:?}");
    }
}

#[actix_web::test]
async fn malformed_tokens_are_refused_never_400_or_500() {
    let (app, victim, id) = app_with_member().await;
    let good = victim.fetch_token(&app).await;
    let before = snapshot(&app, Some(&id)).await;
    let mut bad_char = good.clone();
    bad_char.replace_range(10..11, "+");
    let mut padded = good[..good.len() - 1].to_string();
    padded.push('=');
    let malformed = [
        ("", "csrf_token_missing"),
        ("abc", "csrf_token_invalid"),
        (&good[..good.len() - 1], "csrf_token_invalid"),
        (&format!("{good}A"), "csrf_token_invalid"),
        (&bad_char, "csrf_token_invalid"),
        (&padded, "csrf_token_invalid"),
        (&"!".repeat(token::WIRE_LEN), "csrf_token_invalid"),
        (&"A".repeat(10 * 1024), "csrf_token_invalid"),
        (&"A".repeat(token::WIRE_LEN), "csrf_token_invalid"),
    ];
    let path = format!("/api/members/{id}");
    for (value, code) in malformed {
        let (status, text) = raw(
            &app,
            "DELETE",
            &path,
            &[
                ("cookie", victim.cookie()),
                ("x-csrf-token", value.to_string()),
            ],
            "",
        )
        .await;
        assert_eq!(
            (status, code_in(&text).as_str()),
            (403, code),
            "{value:.20}: {text}"
        );
        assert!(value.len() < 8 || !text.contains(value), "never echoed");
    }
    // Bytes that are not visible ASCII.
    let (status, text) = raw(
        &app,
        "DELETE",
        &path,
        &[
            ("cookie", victim.cookie()),
            ("x-csrf-token", "\u{e9}t\u{e9}".into()),
        ],
        "",
    )
    .await;
    assert_eq!(
        (status, code_in(&text).as_str()),
        (403, "csrf_token_invalid"),
        "{text}"
    );
    assert_eq!(snapshot(&app, Some(&id)).await, before);
}
