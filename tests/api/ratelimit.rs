//! Rate limiting against real Redis: exact across instances, sliding, exact Retry-After,
//! client-IP rules, and safe when Redis is down.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::tokens::Spec;
use crate::support::{spawn_app_with, TestApp};

/// Two instances sharing one Redis prefix (and so every limit).
async fn pair(extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let prefix = format!("unioneyes:test:{}:", uuid::Uuid::new_v4().simple());
    let env = |env: &mut HashMap<String, String>| {
        env.insert("REDIS_KEY_PREFIX".into(), prefix.clone());
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
    };
    let a = spawn_app_with(env).await;
    let b = spawn_app_with(env).await;
    (a, b)
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.as_user(Method::GET, path, token).send().await.unwrap()
}

#[actix_web::test]
async fn fifty_concurrent_requests_over_two_instances_admit_exactly_the_limit() {
    // A generous Redis deadline: this test is about exactness across instances, not about the
    // fallback (a check past its deadline falls back to per-instance memory by design).
    let (a, b) = pair(&[
        ("RATE_LIMITS", "API_DEFAULT=3/1h"),
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", "1000"),
    ])
    .await;
    for round in 0..20 {
        let token = Spec::new(&format!("user_{round}"), "org_rl", "org:member").sign();
        let requests = (0..50).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            get(app, "/api/claims", &token)
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(requests)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let limited = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!((ok, limited), (3, 47), "round {round}: {statuses:?}");
    }
}

#[actix_web::test]
async fn the_window_slides_instead_of_resetting_at_a_boundary() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "API_DEFAULT=3/2s".into());
    })
    .await;
    let token = Spec::new("user_slide", "org_rl", "org:member").sign();
    // Start the first burst 0.4 s before an even second, where a fixed 2 s window would reset.
    let now = chrono::Utc::now();
    let into = (now.timestamp() % 2) as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    tokio::time::sleep(Duration::from_secs_f64((1.6 - into).rem_euclid(2.0))).await;
    for _ in 0..3 {
        assert_eq!(get(&app, "/api/claims", &token).await.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..3 {
        assert_eq!(
            get(&app, "/api/claims", &token).await.status(),
            429,
            "sliding, not fixed"
        );
    }
}

#[actix_web::test]
async fn retry_after_is_exact_and_rejections_are_not_counted() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "API_DEFAULT=1/3s".into());
    })
    .await;
    let token = Spec::new("user_retry", "org_rl", "org:member").sign();
    let ok = get(&app, "/api/claims", &token).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["ratelimit-policy"], "\"api_default\";q=1;w=3");
    assert_eq!(ok.headers()["x-ratelimit-limit"], "1");
    assert_eq!(ok.headers()["x-ratelimit-remaining"], "0");
    let sent = tokio::time::Instant::now();
    let limited = get(&app, "/api/claims", &token).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry, 3);
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    assert!(limited.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"api_default\";r=0;t="));
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(body["detail"].as_str().unwrap().contains("API_DEFAULT"));
    // One second before Retry-After (measured from before the rejected request left).
    tokio::time::sleep_until(sent + Duration::from_secs(retry - 1)).await;
    assert_eq!(
        get(&app, "/api/claims", &token).await.status(),
        429,
        "a second early"
    );
    // Hammer while limited: none of these may count.
    for _ in 0..5 {
        assert_eq!(get(&app, "/api/claims", &token).await.status(), 429);
    }
    tokio::time::sleep_until(sent + Duration::from_secs(retry) + Duration::from_millis(50)).await;
    assert_eq!(
        get(&app, "/api/claims", &token).await.status(),
        200,
        "Retry-After later"
    );
}

#[actix_web::test]
async fn every_key_has_a_ttl_within_its_window() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "API_DEFAULT=2/1m".into());
    })
    .await;
    let token = Spec::new("user_ttl", "org_rl", "org:member").sign();
    for _ in 0..4 {
        get(&app, "/api/claims", &token).await;
    }
    let client = bb8_redis::redis::Client::open(crate::support::app::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = bb8_redis::redis::cmd("KEYS")
        .arg(format!("{}rl:*", app.redis_prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key.contains("rl:v1:{API_DEFAULT:user:"), "{key}");
        assert!(!key.contains("user_ttl"), "subjects are hashed: {key}");
        let ttl: i64 = bb8_redis::redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "{key}: {ttl}");
    }
}

async fn webhook(app: &TestApp, xff: Option<&[u8]>) -> StatusCode {
    let mut req = app
        .client
        .post(app.url("/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(v) = xff {
        req = req.header(
            "x-forwarded-for",
            reqwest::header::HeaderValue::from_bytes(v).unwrap(),
        );
    }
    req.send().await.unwrap().status()
}

#[actix_web::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "WEBHOOKS=2/1h".into());
    })
    .await;
    let a: &[u8] = b"1.1.1.1";
    let b: &[u8] = b"2.2.2.2";
    let c: &[u8] = b"3.3.3.3";
    assert_eq!(
        webhook(&app, Some(a)).await,
        400,
        "bad signature, but admitted"
    );
    assert_eq!(webhook(&app, Some(b)).await, 400);
    assert_eq!(webhook(&app, Some(c)).await, 429, "same peer, same budget");
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_right_hop_is_used_and_garbage_is_harmless() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "WEBHOOKS=1/1h".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32".into());
    })
    .await;
    assert_eq!(webhook(&app, Some(b"9.9.9.9, 203.0.113.5")).await, 400);
    assert_eq!(
        webhook(&app, Some(b"8.8.8.8, 203.0.113.5")).await,
        429,
        "keyed on 203.0.113.5"
    );
    assert_eq!(
        webhook(&app, Some(b"203.0.113.6")).await,
        400,
        "another client"
    );
    // IPv6 clients share their /64.
    assert_eq!(webhook(&app, Some(b"2001:db8:1:2::1")).await, 400);
    assert_eq!(webhook(&app, Some(b"[2001:db8:1:2::ffff]:443")).await, 429);
    for garbage in [
        b"unknown".as_slice(),
        b"\xff\xfe",
        b"1.2.3.4:99999",
        b"[::1",
    ] {
        let status = webhook(&app, Some(garbage)).await;
        assert!(status == 400 || status == 429, "{status}");
    }
}

#[actix_web::test]
async fn failed_credentials_and_sin_reveals_are_limited_by_auth_across_instances() {
    let (a, b) = pair(&[]).await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(get(app, "/api/claims", "not-a-token").await.status(), 401);
    }
    assert_eq!(get(&b, "/api/claims", "not-a-token").await.status(), 429);

    let (a, b) = pair(&[]).await;
    let admin = Spec::new("user_admin", "org_sin", "org:admin").sign();
    let m = a
        .create_member(
            &admin,
            json!({"firstName": "S", "lastName": "I", "email": "s@u.org", "sin": "046454286"}),
        )
        .await;
    let path = format!("/api/members/{}/sin/reveal", m["id"].as_str().unwrap());
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = app
            .as_user(Method::POST, &path, &admin)
            .send()
            .await
            .unwrap();
        if i < 5 {
            // b has its own database: its reveals are 404s, and still count.
            assert!(
                res.status() == 200 || res.status() == 404,
                "{}",
                res.status()
            );
        } else {
            assert_eq!(res.status(), 429);
            assert!(res.headers().contains_key("retry-after"));
        }
    }
}

#[actix_web::test]
async fn nobody_else_at_the_address_can_use_up_a_users_sin_reveals() {
    let (a, b) = pair(&[]).await;
    let admin = Spec::new("user_revealer", "org_nat", "org:admin").sign();
    let m = a
        .create_member(
            &admin,
            json!({"firstName": "N", "lastName": "A", "email": "n@u.org", "sin": "046454286"}),
        )
        .await;
    let path = format!("/api/members/{}/sin/reveal", m["id"].as_str().unwrap());
    // Anonymous requests of the wrong method and unauthenticated POSTs are not reveals.
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 405, "request {i}");
        let res = app.client.post(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "request {i}");
    }
    // Refused guesses from the same address exhaust the address's AUTH budget...
    let mut statuses = Vec::new();
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        statuses.push(get(app, "/api/me", "not-a-token").await.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // ...and still the signed-in admin has all five reveals, and another admin their own.
    let other = Spec::new("user_neighbour", "org_nat", "org:admin").sign();
    for (token, who) in [(&admin, "the admin"), (&other, "a colleague")] {
        for i in 0..5 {
            let res = a.as_user(Method::POST, &path, token).send().await.unwrap();
            assert_eq!(res.status(), 200, "{who}, reveal {i}");
        }
        let res = b.as_user(Method::POST, &path, token).send().await.unwrap();
        assert_eq!(
            res.status(),
            429,
            "{who}: the sixth reveal, on the other instance"
        );
    }
}

#[actix_web::test]
async fn an_expired_but_validly_signed_token_costs_no_auth_budget() {
    let (a, b) = pair(&[]).await;
    let mut spec = Spec::new("user_stale", "org_stale", "org:admin");
    spec.exp_in = -120; // past the 30 s leeway
    let expired = spec.sign();
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = get(app, "/api/me", &expired).await;
        assert_eq!(res.status(), 401, "request {i}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "token_expired", "request {i}: {body}");
    }
    // The address's AUTH budget is untouched: a mistyped token is still just refused.
    let res = get(&a, "/api/me", "not-a-token").await;
    assert_eq!(res.status(), 401);
    // An expired token that does not verify is a guess like any other, and so is garbage.
    let forged = spec.sign_with(crate::support::tokens::rogue_keys());
    let res = get(&b, "/api/me", &forged).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "token_bad_signature", "{body}");
    let mut statuses = Vec::new();
    for i in 0..4 {
        let app = if i % 2 == 0 { &a } else { &b };
        statuses.push(get(app, "/api/me", "not-a-token").await.status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429],
        "the sixth refused guess is limited"
    );
    // Once limited, the expired token is still answered 401 with its reason.
    let res = get(&a, "/api/me", &expired).await;
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn redis_down_falls_back_to_memory_and_shared_limits_resume() {
    let mut redis = crate::support::redis::TempRedis::start();
    let url = redis.url();
    let prefix = format!("unioneyes:test:{}:", uuid::Uuid::new_v4().simple());
    let env = |env: &mut HashMap<String, String>| {
        env.insert("REDIS_URL".into(), url.clone());
        env.insert("REDIS_KEY_PREFIX".into(), prefix.clone());
        env.insert("RATE_LIMITS".into(), "API_DEFAULT=3/1h".into());
    };
    let a = spawn_app_with(env).await;
    let b = spawn_app_with(env).await;
    redis.stop();
    let token = Spec::new("user_down", "org_rl", "org:member").sign();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&a, "/api/claims", &token).await.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "in-memory limits, no 500"
    );

    redis.start_again();
    // Wait for the health supervisor to see Redis again.
    a.wait_for_health(Duration::from_secs(5), |h| h["status"] == "healthy")
        .await;
    b.wait_for_health(Duration::from_secs(5), |h| h["status"] == "healthy")
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await; // past the breaker's cooldown
    let token = Spec::new("user_back", "org_rl", "org:member").sign();
    let mut ok = 0;
    for i in 0..8 {
        let app = if i % 2 == 0 { &a } else { &b };
        if get(app, "/api/claims", &token).await.status() == 200 {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 3,
        "shared again: two instances admit the limit once, not twice"
    );
}
