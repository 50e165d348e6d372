//! CSRF protection (issue 6, docs/csrf.md): every attack the issue lists, against the real
//! application, PostgreSQL and Redis. Each attack re-reads the data afterwards (`Snapshot`:
//! every mutable table, plus the attacked member) to prove nothing changed. Helpers here; the
//! tests in `flow`, `attacks`, `routes` and `redis_down`.

mod attacks;
mod flow;
mod redis_down;
mod routes;

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

use crate::support::tokens::Spec;
use crate::support::{spawn_app, spawn_app_with, TestApp};

/// A signed-in browser: a Clerk session whose token rides in the `__session` cookie.
#[derive(Clone)]
struct Browser {
    spec: Spec,
    jwt: String,
}

impl Browser {
    fn new(user: &str, org: &str) -> Self {
        Self::from_spec(Spec::new(user, org, "org:admin"))
    }

    fn from_spec(spec: Spec) -> Self {
        let jwt = spec.sign();
        Self { spec, jwt }
    }

    /// The same user signing in again: a new session id.
    fn new_session(&self) -> Self {
        let mut spec = self.spec.clone();
        spec.session = format!("sess_{}", uuid::Uuid::new_v4().simple());
        Self::from_spec(spec)
    }

    fn cookie(&self) -> String {
        format!("__session={}", self.jwt)
    }

    fn sid(&self) -> &str {
        &self.spec.session
    }

    /// A request as this browser sends it: the session cookie, no token.
    fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.client
            .request(method, app.url(path))
            .header("cookie", self.cookie())
    }

    /// A request with the token in the header.
    fn with_token(&self, app: &TestApp, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(app, method, path)
            .header("x-csrf-token", token)
    }

    /// GET /api/csrf-token, the way the helper does.
    async fn fetch_token(&self, app: &TestApp) -> String {
        let res = self
            .request(app, Method::GET, "/api/csrf-token")
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

fn member_body(email: &str) -> Value {
    json!({"firstName": "Ann", "lastName": "Lee", "email": email})
}

/// Everything an attack could change, read back from PostgreSQL.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot(Vec<(String, i64)>, Option<Value>);

async fn snapshot(app: &TestApp, member: Option<&str>) -> Snapshot {
    let client = app.state.db.get().await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "members",
        "claims",
        "audit_log",
        "stripe_events",
        "organizations",
    ] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        counts.push((table.to_string(), n));
    }
    let member = match member {
        Some(id) => {
            let row = client
                .query_one(
                    "SELECT to_jsonb(m) - 'sin_encrypted' FROM members m WHERE id = $1::text::uuid",
                    &[&id],
                )
                .await
                .unwrap();
            Some(row.get::<_, Value>(0))
        }
        None => None,
    };
    Snapshot(counts, member)
}

/// The status and problem code of a response (the body is read).
async fn outcome(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["code"].as_str().map(String::from))
        .unwrap_or_default();
    (status, code, text)
}

async fn expect_refused(res: Response, code: &str) -> String {
    let (status, got, text) = outcome(res).await;
    assert_eq!((status, got.as_str()), (403, code), "{text}");
    text
}

/// A raw HTTP/1.1 exchange: the target and method go out exactly as written (no client-side
/// normalisation of `..`, `%2e`, case or `//`). Returns the status and the whole response.
async fn raw(
    app: &TestApp,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    })
    .await
    .unwrap()
}

fn code_in(raw_response: &str) -> String {
    let body = raw_response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(String::from))
        .unwrap_or_default()
}

/// An app with one member created over the header path; returns it and its id. The probes
/// send many requests from one address: the per-IP AUTH budget (on SIN reveal) is raised so
/// they see the CSRF answer rather than a 429.
async fn app_with_member() -> (TestApp, Browser, String) {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "AUTH=10000/15m".into());
    })
    .await;
    let victim = Browser::new("user_victim", "org_a");
    let member = app
        .create_member(&victim.jwt, member_body("seed@local1.org"))
        .await;
    let id = member["id"].as_str().unwrap().to_string();
    (app, victim, id)
}
