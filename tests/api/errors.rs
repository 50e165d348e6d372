//! Every error path answers RFC 9457 problem+json with the right status, code and request id.

use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp};

async fn problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(ct, "application/problem+json");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["requestId"], request_id.as_str());
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    assert!(body["instance"].as_str().unwrap().starts_with('/'));
    body
}

fn orgs(app: &TestApp) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/api/admin/organizations"))
        .bearer_auth(&app.admin_token)
}

#[actix_web::test]
async fn unknown_route_is_404_problem() {
    let app = spawn_app().await;
    problem(app.get("/nope/../../etc").await, 404, "not_found").await;
    problem(app.get("/api/definitely-not-here").await, 404, "not_found").await;
}

#[actix_web::test]
async fn wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let res = app
        .client
        .delete(app.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    problem(res, 405, "method_not_allowed").await;
    let res = app
        .client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            app.url("/api/admin/organizations"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD, POST");
    problem(res, 405, "method_not_allowed").await;
}

#[actix_web::test]
async fn malformed_and_wrongly_typed_json_are_400() {
    let app = spawn_app().await;
    let res = orgs(&app)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    problem(res, 400, "malformed_json").await;
    let res = orgs(&app)
        .json(&json!({"name": 5, "slug": "x"}))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_body").await;
    let res = orgs(&app)
        .json(&json!({"name": "A", "slug": "ab", "extra": true}))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_body").await;
}

#[actix_web::test]
async fn validation_lists_every_field_problem() {
    let app = spawn_app().await;
    let res = orgs(&app)
        .json(&json!({"name": "  ", "slug": "Not A Slug", "externalId": ""}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 400, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "slug", "externalId"]);
}

#[actix_web::test]
async fn missing_or_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let res = orgs(&app)
        .body(r#"{"name":"A","slug":"ab"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    let res = orgs(&app)
        .header("content-type", "text/plain")
        .body(r#"{"name":"A","slug":"ab"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
}

#[actix_web::test]
async fn too_large_bodies_are_413_with_length_or_chunked() {
    let app = spawn_app().await;
    let big = format!(
        r#"{{"name":"{}","slug":"ab"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let res = orgs(&app)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload_too_large").await;

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let res = orgs(&app)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload_too_large").await;
}

#[actix_web::test]
async fn bad_path_and_query_parameters_are_400() {
    let app = spawn_app().await;
    let res = app.get_admin("/api/admin/organizations/not-a-uuid").await;
    problem(res, 400, "invalid_path_parameter").await;
    let res = app.get_admin("/api/admin/organizations?limit=lots").await;
    problem(res, 400, "invalid_query_parameter").await;
    let res = app.get_admin("/api/admin/organizations?limit=0").await;
    problem(res, 400, "validation_failed").await;
}

#[actix_web::test]
async fn missing_and_wrong_admin_tokens_are_401() {
    let app = spawn_app().await;
    let res = app.get("/api/admin/organizations").await;
    problem(res, 401, "missing_credentials").await;
    let res = app
        .client
        .get(app.url("/api/admin/organizations"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let body = problem(res, 401, "invalid_credentials").await;
    assert!(!body.to_string().contains("wrong"));
}

#[actix_web::test]
async fn duplicates_are_409_and_records_round_trip() {
    let app = spawn_app().await;
    let res = orgs(&app)
        .json(&json!({"name": "Local 1", "slug": "local-1", "externalId": "org_1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let fetched: Value = app
        .get_admin(&format!("/api/admin/organizations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["slug"], "local-1");
    let res = orgs(&app)
        .json(&json!({"name": "Other", "slug": "local-1"}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "organization_exists").await;
    let res = app
        .get_admin(&format!(
            "/api/admin/organizations/{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    problem(res, 404, "not_found").await;
}

#[actix_web::test]
async fn a_panicking_handler_answers_500_and_the_service_keeps_serving() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let res = app.get("/test/panic").await;
        let body = problem(res, 500, "internal_error").await;
        assert!(!body.to_string().contains("deliberate"), "{body}");
    }
    assert_eq!(app.get("/livez").await.status(), 200);
}

#[actix_web::test]
async fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/livez"))
        .header("x-request-id", "abc-123.DEF_4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123.DEF_4");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let res = app
        .client
        .get(app.url("/livez"))
        .header("x-request-id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a fresh UUID replaces an insane id: {id}");
    let res = app
        .client
        .get(app.url("/livez"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id\twith spaces");
}

#[actix_web::test]
async fn pool_exhaustion_is_503_with_retry_after() {
    let app = spawn_app().await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.state.db.get().await.unwrap());
    }
    let res = app.get_admin("/api/admin/organizations").await;
    assert!(res.headers().contains_key("retry-after"));
    problem(res, 503, "database_busy").await;
    drop(held);
    assert_eq!(
        app.get_admin("/api/admin/organizations").await.status(),
        200
    );
}

#[actix_web::test]
async fn a_handler_past_the_request_timeout_answers_503() {
    let app = crate::support::spawn_app_with(|env| {
        env.insert("REQUEST_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    let started = std::time::Instant::now();
    let res = app.get("/test/slow").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(res.headers().contains_key("retry-after"));
    problem(res, 503, "request_timeout").await;
}

#[actix_web::test]
async fn a_stalled_request_body_is_the_clients_fault_408_and_the_connection_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::spawn_app_with(|env| {
        env.insert("REQUEST_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    // Anonymous, as anyone could: 1 of the 100 announced bytes, then nothing.
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(
        b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    // read_to_end returns only once the server closes the connection.
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut answer),
    )
    .await
    .expect("the connection was not closed")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("application/problem+json")
            && answer.contains(r#""code":"request_body_timeout""#)
            && answer.contains("cache-control: no-store"),
        "{answer}"
    );
    // Chunked: the 408 says `connection: close`. actix still reads (and discards) the rest of
    // a chunked body, as after any early answer, then ends the connection: a request sent
    // after the body's last chunk is never served (the load balancer bounds slow senders).
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(
        b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut head))
        .await
        .expect("no answer to the stalled chunked body")
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(
        head.starts_with("HTTP/1.1 408") && head.contains("connection: close"),
        "{head}"
    );
    conn.write_all(b"0\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut rest),
    )
    .await
    .expect("the connection was not closed after the chunked body ended")
    .ok();
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains("HTTP/1.1 200"),
        "served after the 408: {rest}"
    );
    // A handler that is slow on its own is still the server's 503.
    problem(app.get("/test/slow").await, 503, "request_timeout").await;
}

#[actix_web::test]
async fn hostile_bodies_get_4xx_never_500() {
    let app = spawn_app().await;
    // Compressed bodies are refused before anything reads them (no decompression bombs).
    let res = orgs(&app)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00])
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    // A JSON array is not an object.
    let res = orgs(&app)
        .json(&json!(["Org", "org-x", null]))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_body").await;
    // serde's message quoting multi-byte text is cut on a character boundary.
    let key = "é".repeat(150);
    let res = orgs(&app)
        .header("content-type", "application/json")
        .body(format!("{{\"{key}\":1}}"))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_body").await;
    // NUL and other control characters never reach PostgreSQL.
    let res = orgs(&app)
        .json(&json!({"name": "a\u{0}b", "slug": "nul-test"}))
        .send()
        .await
        .unwrap();
    problem(res, 400, "validation_failed").await;
    let listed: Value = app
        .get_admin("/api/admin/organizations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}

#[actix_web::test]
async fn several_request_ids_are_replaced_by_one_fresh_id() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/livez"))
        .header("x-request-id", "first")
        .header("x-request-id", "second")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
}
