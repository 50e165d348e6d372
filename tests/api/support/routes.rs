//! The registered route table: every route pattern actix knows, and the methods each serves.
//! Used by the CSRF exemption test and the OpenAPI completeness test.

use actix_web::{test as actix_test, web, App};
use unioneyes::state::AppState;

use super::TestApp;

/// Every route pattern actix registered, from its resource map (actix has no public route
/// listing; its `Debug` output is the tree). Fails loudly if the format ever changes.
pub fn registered_patterns(rmap: &actix_web::dev::ResourceMap) -> Vec<String> {
    let dump = format!("{rmap:#?}");
    assert!(!dump.contains("patterns: List("), "multi-pattern resources");
    let lines: Vec<&str> = dump.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start() != "patterns: Single(" {
            continue;
        }
        let depth = indent(line);
        let pattern: String = serde_json::from_str(lines[i + 1].trim().trim_end_matches(','))
            .expect("a quoted pattern");
        while stack.last().is_some_and(|(d, _)| *d >= depth) {
            stack.pop();
        }
        let full: String = stack.iter().map(|(_, p)| p.as_str()).collect::<String>() + &pattern;
        let nodes = lines[i..]
            .iter()
            .find(|l| indent(l) + 4 == depth && l.trim_start().starts_with("nodes:"))
            .expect("nodes of the resource");
        if nodes.trim_start().starts_with("nodes: None") {
            out.push(full);
        } else {
            stack.push((depth, pattern));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every route pattern of the production route table, built the way `startup::serve` builds
/// it (`unioneyes::http::routes`), as an in-process service.
pub async fn route_patterns(state: &AppState) -> Vec<String> {
    let service = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(unioneyes::http::routes),
    )
    .await;
    let res = actix_test::call_service(
        &service,
        actix_test::TestRequest::get().uri("/livez").to_request(),
    )
    .await;
    registered_patterns(res.request().resource_map())
}

/// `pattern` with every `{param}` / `{param:regex}` segment replaced by `value`.
pub fn instantiate(pattern: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `pattern` with its parameters' names and regexes dropped: `/a/{id}/b/{f:.*}` → `/a/{}/b/{}`.
pub fn normalise(pattern: &str) -> String {
    instantiate(pattern, "{}")
}

/// The methods a route serves: those its resource does not answer 405 (every resource has a
/// 405 default service with an `Allow` header), probed over HTTP without credentials.
pub async fn served_methods(app: &TestApp, path: &str) -> Vec<&'static str> {
    let mut served = Vec::new();
    for method in [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
    ] {
        let res = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("a method"),
                app.url(path),
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("request");
        if res.status() != 405 {
            served.push(method);
        }
    }
    served
}
