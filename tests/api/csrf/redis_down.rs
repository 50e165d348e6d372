//! CSRF: Redis stalled, then stopped, then back: signed tokens for their own session pass, forged ones never.

use unioneyes::csrf::token;

use super::*;
use crate::support::redis::TempRedis;

#[actix_web::test]
async fn with_redis_unavailable_signed_tokens_work_and_forged_ones_fail() {
    let mut redis = TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), url);
    })
    .await;
    let victim = Browser::new("user_victim", "org_a");
    let token = victim.fetch_token(&app).await;
    let logged_out = Browser::new("user_gone", "org_a");
    let gone_token = logged_out.fetch_token(&app).await;
    let res = logged_out
        .with_token(&app, Method::POST, "/api/auth/logout", &gone_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let forged_secret = token::mask(&token::mint(
        &token::Secrets::new(&[9u8; 32], &[]).unwrap(),
        victim.sid(),
    ));
    let other_session = Browser::new("user_attacker", "org_a")
        .fetch_token(&app)
        .await;

    // 1. Redis stalls (every command blocks; the data stays).
    let client = bb8_redis::redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let paused_at = tokio::time::Instant::now();
    let _: () = bb8_redis::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2500)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let degraded_before = app.state.csrf.metrics.degraded();
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &token)
        .json(&member_body("d1@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "a signed token for this session still works"
    );
    assert!(
        app.state.csrf.metrics.degraded() > degraded_before,
        "logged as degraded"
    );
    let before = snapshot(&app, None).await;
    for forged in [&forged_secret, &other_session] {
        let res = victim
            .with_token(&app, Method::POST, "/api/members", forged)
            .json(&member_body("forged@local1.org"))
            .send()
            .await
            .unwrap();
        expect_refused(res, "csrf_token_invalid").await;
    }
    assert_eq!(snapshot(&app, None).await, before);
    // Revocation cannot be checked meanwhile (the documented trade-off) ...
    let res = logged_out
        .with_token(&app, Method::POST, "/api/members", &gone_token)
        .json(&member_body("gone1@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.wait_for_health(Duration::from_secs(2), |h| h["status"] == "degraded")
        .await;
    // ... and resumes when Redis answers again.
    tokio::time::sleep_until(paused_at + Duration::from_millis(2700)).await;
    let before = snapshot(&app, None).await;
    let res = logged_out
        .with_token(&app, Method::POST, "/api/members", &gone_token)
        .json(&member_body("gone2@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_invalid").await;
    assert_eq!(snapshot(&app, None).await, before);

    // 2. Redis stopped outright.
    redis.stop();
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &token)
        .json(&member_body("d2@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let before = snapshot(&app, None).await;
    for forged in [&forged_secret, &other_session] {
        let res = victim
            .with_token(&app, Method::POST, "/api/members", forged)
            .json(&member_body("forged2@local1.org"))
            .send()
            .await
            .unwrap();
        expect_refused(res, "csrf_token_invalid").await;
    }
    let res = victim
        .request(&app, Method::POST, "/api/members")
        .json(&member_body("none@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_missing").await;
    assert_eq!(snapshot(&app, None).await, before);
    app.wait_for_health(Duration::from_secs(3), |h| h["status"] == "degraded")
        .await;
    // A page loaded now still gets a (signed, unstored) token; logout cannot be recorded.
    let during = victim.fetch_token(&app).await;
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &during)
        .json(&member_body("d3@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = victim
        .with_token(&app, Method::POST, "/api/auth/logout", &during)
        .send()
        .await
        .unwrap();
    let (status, code, _) = outcome(res).await;
    assert_eq!((status, code.as_str()), (503, "csrf_store_unavailable"));

    // 3. Redis back (empty): the unstored token reads as expired; a new one works.
    redis.start_again();
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &during)
        .json(&member_body("d4@local1.org"))
        .send()
        .await
        .unwrap();
    expect_refused(res, "csrf_token_expired").await;
    let fresh = victim.fetch_token(&app).await;
    let res = victim
        .with_token(&app, Method::POST, "/api/members", &fresh)
        .json(&member_body("d5@local1.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}
