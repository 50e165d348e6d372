//! GET /metrics (docs/monitoring.md): never public by default, the bearer token on the main
//! port, the internal listener, and every series family after real traffic, with route
//! templates only and no secret in the body.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::app::{CSRF_SECRET, STRIPE_SECRET};
use crate::support::redis::TempRedis;
use crate::support::tokens::Spec;
use crate::support::{closed_port, spawn_app, spawn_app_with, TestApp};

const TOKEN: &str = "metrics-test-token-0123456789abcdef-0123456789";
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn scrape_at(app: &TestApp, url: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = app.client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

/// A scrape of the main port with the right token; asserts the format.
async fn scrape(app: &TestApp) -> String {
    let (status, content_type, body) = scrape_at(app, &app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, TEXT_FORMAT);
    assert_text_format(&body);
    body
}

/// Every line is `# HELP`, `# TYPE` or `name{labels} value` with a valid name and number.
fn assert_text_format(body: &str) {
    for line in body.lines().filter(|l| !l.is_empty()) {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect(line);
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "{line}"
        );
        let name = series.split('{').next().unwrap();
        assert!(
            name.starts_with("unioneyes_")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        assert_eq!(series.contains('{'), series.ends_with('}'), "{line}");
    }
}

/// The value of one series (exact name and labels as printed), if present.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn require(body: &str, series: &str) -> f64 {
    sample(body, series).unwrap_or_else(|| panic!("{series} missing from:\n{body}"))
}

fn problem_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not json: {body}"));
    v["code"].as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn metrics_are_not_served_without_configuration() {
    let app = spawn_app().await;
    for token in [None, Some(TOKEN), Some(app.admin_token.as_str())] {
        let res = {
            let mut req = app.client.get(app.url("/metrics"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send().await.unwrap()
        };
        assert_eq!(res.status(), 404);
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "problem+json"
        );
        assert_eq!(problem_code(&res.text().await.unwrap()), "not_found");
    }
    assert_eq!(app.metrics_port, None);
}

#[actix_web::test]
async fn the_main_port_needs_the_metrics_token() {
    let app = spawn_app_with(|env| {
        env.insert("METRICS_TOKEN".into(), TOKEN.into());
    })
    .await;
    let url = app.url("/metrics");
    let (status, content_type, body) = scrape_at(&app, &url, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::UNAUTHORIZED, "application/problem+json")
    );
    assert_eq!(problem_code(&body), "missing_credentials");
    let wrong = format!("{}x", &TOKEN[..TOKEN.len() - 1]);
    for bad in [wrong.as_str(), app.admin_token.as_str(), "x"] {
        let (status, content_type, body) = scrape_at(&app, &url, Some(bad)).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem_code(&body), "invalid_credentials");
        assert!(!body.contains(bad) && !body.contains(TOKEN), "never echoed");
    }
    let body = scrape(&app).await;
    assert!(
        body.contains("# TYPE unioneyes_health_status gauge"),
        "{body}"
    );
    // Only GET and HEAD.
    let res = app
        .client
        .post(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = app
        .client
        .head(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The refused and served scrapes are counted under their route template.
    let body = scrape(&app).await;
    let refused =
        r#"unioneyes_http_requests_total{method="GET",route="/metrics",status_class="4xx"}"#;
    assert_eq!(require(&body, refused), 4.0);
}

#[actix_web::test]
async fn every_family_is_exported_with_templates_and_no_secret() {
    let app = spawn_app_with(|env| {
        env.insert("METRICS_TOKEN".into(), TOKEN.into());
        env.insert("RATE_LIMITS".into(), "EXPORTS=1/1h".into());
    })
    .await;
    let admin = Spec::new("user_metrics", "org_metrics", "org:admin").sign();
    let member = app
        .create_member(
            &admin,
            json!({"firstName": "Ann", "lastName": "Lee", "email": "ann.metrics@local1.org"}),
        )
        .await;
    let id = member["id"].as_str().unwrap().to_string();
    let path = format!("/api/members/{id}");
    let res = app
        .as_user(Method::GET, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Unmatched paths, a method outside the standard set.
    let nowhere = format!("/nowhere/{id}/secret-path");
    assert_eq!(app.get(&nowhere).await.status(), 404);
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    let res = app
        .client
        .request(propfind, app.url("/livez"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    // A rate-limit rejection (EXPORTS=1/1h).
    for expected in [200, 429] {
        let res = app
            .as_user(Method::GET, "/api/exports/members.csv", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }
    // A CSRF rejection: the session cookie without a token.
    let res = app
        .client
        .post(app.url("/api/members"))
        .header("cookie", format!("__session={admin}"))
        .json(&json!({"firstName": "Bo", "lastName": "Lee", "email": "bo@local1.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // The workers hand their analytics records over within 10 ms.
    crate::support::analytics::settle(&app, 6, std::time::Duration::from_secs(5)).await;
    let body = scrape(&app).await;
    // Requests: templates, status classes, fixed names.
    let req = |method: &str, route: &str, class: &str| {
        format!(
            r#"unioneyes_http_requests_total{{method="{method}",route="{route}",status_class="{class}"}}"#
        )
    };
    assert_eq!(require(&body, &req("POST", "/api/members", "2xx")), 1.0);
    assert_eq!(require(&body, &req("POST", "/api/members", "4xx")), 1.0);
    assert_eq!(require(&body, &req("GET", "/api/members/{id}", "2xx")), 1.0);
    assert_eq!(require(&body, &req("GET", "UNMATCHED", "4xx")), 1.0);
    assert_eq!(require(&body, &req("_OTHER", "/livez", "4xx")), 1.0);
    assert_eq!(
        require(&body, &req("GET", "/api/exports/members.csv", "2xx")),
        1.0
    );
    assert_eq!(
        require(&body, &req("GET", "/api/exports/members.csv", "4xx")),
        1.0
    );
    let hist = r#"unioneyes_http_request_duration_seconds_bucket{method="GET",route="/api/members/{id}",status_class="2xx",le="+Inf"}"#;
    assert_eq!(require(&body, hist), 1.0);
    let count = r#"unioneyes_http_request_duration_seconds_count{method="POST",route="/api/members",status_class="2xx"}"#;
    assert_eq!(require(&body, count), 1.0);
    assert!(body.contains("# TYPE unioneyes_http_request_duration_seconds histogram"));
    for raw in [id.as_str(), "/nowhere", "secret-path", "PROPFIND"] {
        assert!(!body.contains(raw), "raw {raw} in the body");
    }

    // Health, read from the cached report.
    let overall: f64 = ["healthy", "degraded", "unhealthy"]
        .iter()
        .map(|s| {
            require(
                &body,
                &format!(r#"unioneyes_health_status{{status="{s}"}}"#),
            )
        })
        .sum();
    assert_eq!(overall, 1.0, "exactly one current status");
    for check in ["database", "redis", "analytics"] {
        let healthy =
            format!(r#"unioneyes_health_check_status{{check="{check}",status="healthy"}}"#);
        assert_eq!(require(&body, &healthy), 1.0, "{check}");
    }
    for check in ["database", "redis"] {
        let latency = format!(r#"unioneyes_health_check_latency_seconds{{check="{check}"}}"#);
        let seconds = require(&body, &latency);
        assert!((0.0..1.0).contains(&seconds), "{check}: {seconds}");
    }
    assert_eq!(
        require(
            &body,
            r#"unioneyes_health_check_status{check="sentry",status="disabled"}"#
        ),
        1.0
    );
    assert!(require(&body, "unioneyes_health_report_age_seconds") >= 0.0);
    assert_eq!(require(&body, "unioneyes_ready"), 1.0);

    // Pools.
    assert_eq!(
        require(&body, r#"unioneyes_pool_max_size{pool="postgres"}"#),
        4.0
    );
    assert_eq!(
        require(&body, r#"unioneyes_pool_max_size{pool="redis"}"#),
        16.0
    );
    for pool in ["postgres", "redis"] {
        let size = require(&body, &format!(r#"unioneyes_pool_size{{pool="{pool}"}}"#));
        let available = require(
            &body,
            &format!(r#"unioneyes_pool_available{{pool="{pool}"}}"#),
        );
        assert!(available <= size, "{pool}");
        assert_eq!(
            require(
                &body,
                &format!(r#"unioneyes_pool_waiting{{pool="{pool}"}}"#)
            ),
            0.0
        );
    }
    assert!(require(&body, r#"unioneyes_pool_size{pool="postgres"}"#) >= 1.0);

    // Analytics.
    assert_eq!(require(&body, "unioneyes_analytics_enabled"), 1.0);
    assert!(require(&body, "unioneyes_analytics_enqueued_total") >= 6.0);
    assert_eq!(require(&body, "unioneyes_analytics_dropped_total"), 0.0);
    assert!(require(&body, "unioneyes_analytics_backlog") >= 0.0);
    for name in [
        "queued",
        "flushed_total",
        "lost_total",
        "flush_failures_total",
        "write_errors_total",
    ] {
        require(&body, &format!("unioneyes_analytics_{name}"));
    }

    // Rate limits: per preset, the backend, no fallback.
    let rejected = r#"unioneyes_ratelimit_rejections_total{preset="EXPORTS",mode="enforce"}"#;
    assert_eq!(require(&body, rejected), 1.0);
    let auth = r#"unioneyes_ratelimit_rejections_total{preset="AUTH",mode="enforce"}"#;
    assert_eq!(require(&body, auth), 0.0);
    assert!(
        require(
            &body,
            r#"unioneyes_ratelimit_checks_total{backend="redis"}"#
        ) >= 5.0
    );
    assert_eq!(
        require(
            &body,
            r#"unioneyes_ratelimit_checks_total{backend="memory"}"#
        ),
        0.0
    );
    assert_eq!(require(&body, "unioneyes_ratelimit_fallback_active"), 0.0);

    // CSRF: per reason (the problem code).
    let missing = r#"unioneyes_csrf_rejections_total{reason="csrf_token_missing"}"#;
    assert_eq!(require(&body, missing), 1.0);
    let expired = r#"unioneyes_csrf_rejections_total{reason="csrf_token_expired"}"#;
    assert_eq!(require(&body, expired), 0.0);
    require(&body, "unioneyes_csrf_degraded_total");
    require(&body, "unioneyes_csrf_token_refreshes_total");
    require(
        &body,
        &format!(
            r#"unioneyes_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ),
    );

    // Nothing secret or personal.
    for secret in [
        TOKEN,
        app.admin_token.as_str(),
        CSRF_SECRET,
        STRIPE_SECRET,
        admin.as_str(),
        "postgres://",
        "redis://",
        app.db_name.as_str(),
        "ann.metrics@local1.org",
        "org_metrics",
        "user_metrics",
    ] {
        assert!(!body.contains(secret), "{secret} leaked");
    }
}

#[actix_web::test]
async fn with_redis_down_the_fallback_shows() {
    let port = closed_port();
    let app = spawn_app_with(|env| {
        env.insert("METRICS_TOKEN".into(), TOKEN.into());
        env.insert("REDIS_URL".into(), format!("redis://127.0.0.1:{port}"));
    })
    .await;
    let token = Spec::new("user_fallback", "org_fallback", "org:member").sign();
    let res = app
        .as_user(Method::GET, "/api/claims", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = scrape(&app).await;
    assert_eq!(require(&body, "unioneyes_ratelimit_fallback_active"), 1.0);
    assert!(
        require(
            &body,
            r#"unioneyes_ratelimit_checks_total{backend="memory"}"#
        ) >= 1.0
    );
    let redis = r#"unioneyes_health_check_status{check="redis",status="unhealthy"}"#;
    assert_eq!(require(&body, redis), 1.0);
    assert_eq!(
        require(&body, r#"unioneyes_health_status{status="degraded"}"#),
        1.0
    );
}

/// After Redis comes back the fallback gauge clears by itself, without limited traffic (so
/// the fallback alert stops on an idle instance), and the next check uses Redis.
#[actix_web::test]
async fn the_fallback_gauge_clears_when_redis_is_back_without_traffic() {
    let mut redis = TempRedis::start();
    let url = redis.url();
    let app = spawn_app_with(|env| {
        env.insert("METRICS_TOKEN".into(), TOKEN.into());
        env.insert("REDIS_URL".into(), url);
    })
    .await;
    let token = Spec::new("user_back", "org_back", "org:member").sign();
    let get = || app.as_user(Method::GET, "/api/claims", &token).send();
    assert_eq!(get().await.unwrap().status(), 200);
    redis.stop();
    assert_eq!(get().await.unwrap().status(), 200);
    let body = scrape(&app).await;
    assert_eq!(require(&body, "unioneyes_ratelimit_fallback_active"), 1.0);
    let memory = r#"unioneyes_ratelimit_checks_total{backend="memory"}"#;
    let memory_before = require(&body, memory);
    assert!(memory_before >= 1.0);
    redis.start_again();
    // No limited request from here until the gauge reads 0.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body = scrape(&app).await;
        if require(&body, "unioneyes_ratelimit_fallback_active") == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "fallback still active 10 s after Redis came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let redis_checks = r#"unioneyes_ratelimit_checks_total{backend="redis"}"#;
    let before = require(&scrape(&app).await, redis_checks);
    assert_eq!(get().await.unwrap().status(), 200);
    let body = scrape(&app).await;
    assert_eq!(require(&body, redis_checks), before + 1.0);
    assert_eq!(require(&body, memory), memory_before);
}

#[actix_web::test]
async fn the_internal_port_serves_only_metrics_and_the_main_port_404s() {
    let app = spawn_app_with(|env| {
        env.insert("METRICS_PORT".into(), "0".into());
    })
    .await;
    let port = app.metrics_port.expect("bound metrics port");
    assert_ne!(port, 0);
    let internal = format!("http://127.0.0.1:{port}");
    assert_eq!(app.get("/api/health").await.status(), 200);
    let (status, content_type, body) = scrape_at(&app, &format!("{internal}/metrics"), None).await;
    assert_eq!(
        (status.as_u16(), content_type.as_str()),
        (200, TEXT_FORMAT),
        "{body}"
    );
    assert_text_format(&body);
    assert!(
        body.contains(r#"route="/api/health",status_class="2xx"}"#),
        "{body}"
    );
    assert!(
        !body.contains(r#"route="/metrics""#),
        "internal scrapes are not counted"
    );
    // Nothing else on the internal port.
    for path in ["/api/health", "/livez", "/", "/metrics/x"] {
        let (status, content_type, body) =
            scrape_at(&app, &format!("{internal}{path}"), None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(problem_code(&body), "not_found");
    }
    let res = app
        .client
        .post(format!("{internal}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    // The main port does not serve it.
    let (status, content_type, _) = scrape_at(&app, &app.url("/metrics"), None).await;
    assert_eq!(
        (status.as_u16(), content_type.as_str()),
        (404, "application/problem+json")
    );
}

#[actix_web::test]
async fn with_both_the_internal_port_serves_and_still_needs_the_token() {
    let app = spawn_app_with(|env| {
        env.insert("METRICS_PORT".into(), "0".into());
        env.insert("METRICS_TOKEN".into(), TOKEN.into());
    })
    .await;
    let internal = format!("http://127.0.0.1:{}/metrics", app.metrics_port.unwrap());
    let (status, _, body) = scrape_at(&app, &internal, None).await;
    assert_eq!(
        (status.as_u16(), problem_code(&body).as_str()),
        (401, "missing_credentials")
    );
    let (status, _, body) = scrape_at(&app, &internal, Some("wrong")).await;
    assert_eq!(
        (status.as_u16(), problem_code(&body).as_str()),
        (401, "invalid_credentials")
    );
    let (status, _, _) = scrape_at(&app, &internal, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let (status, _, _) = scrape_at(&app, &app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(
        status, 404,
        "the main port never serves it when METRICS_PORT is set"
    );
}
