//! The OpenAPI document (`GET /api/openapi.json`) and the docs UI (`/api/docs/`): every route
//! documented with each method it serves, valid OpenAPI 3.1, spot checks of auth and errors,
//! and a UI served entirely by the service. `conformance` checks real answers against it.

mod conformance;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::support::routes::{instantiate, normalise, route_patterns, served_methods};
use crate::support::{spawn_app, spawn_app_with, TestApp};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The served document, checked to be JSON.
async fn document(app: &TestApp) -> Value {
    let res = app.get("/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let doc: Value = res.json().await.unwrap();
    if let Ok(path) = std::env::var("OPENAPI_DUMP") {
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    doc
}

/// Every (normalised path, METHOD) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((normalise(path), method.to_uppercase()));
            }
        }
    }
    out
}

/// Every operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, &'static str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method, op));
            }
        }
    }
    out
}

#[actix_web::test]
async fn every_registered_route_is_documented_with_each_method_it_serves() {
    let app = spawn_app_with(|env| {
        // Anonymous probes of every route and method.
        env.insert("RATE_LIMITS".into(), "AUTH=10000/15m".into());
    })
    .await;
    let doc = document(&app).await;
    let mut registered = BTreeSet::new();
    for pattern in route_patterns(&app.state).await {
        let path = instantiate(&pattern, "00000000-0000-4000-8000-000000000000");
        let methods = served_methods(&app, &path).await;
        assert!(!methods.is_empty(), "{pattern} serves no method");
        for m in methods {
            registered.insert((normalise(&pattern), m.to_string()));
        }
    }
    let documented = documented(&doc);
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not in the OpenAPI document: {missing:#?}\n\
         in the document but not served: {extra:#?}"
    );
}

/// Every `$ref` in `value`, with where it is.
fn refs<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push((at.to_string(), r)),
                    _ => refs(v, &format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[actix_web::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );

    // The official OpenAPI 3.1 schema (tests/api/fixtures/README.md says where it is from).
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/openapi-3.1-schema.json")).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the OpenAPI 3.1 schema compiles offline");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid OpenAPI 3.1:\n{}",
        errors.join("\n")
    );

    // That schema does not look into Schema Objects: each must be valid JSON Schema 2020-12.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let errors: Vec<String> = jsonschema::draft202012::meta::validate(schema)
            .err()
            .map(|e| vec![e.to_string()])
            .unwrap_or_default();
        assert!(errors.is_empty(), "schema {name}: {errors:?}");
    }

    // Every $ref resolves inside the document.
    let mut all = Vec::new();
    refs(&doc, "#", &mut all);
    assert!(all.len() > 50, "{} refs", all.len());
    for (at, r) in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: external {r}"));
        assert!(doc.pointer(pointer).is_some(), "{at}: {r} does not resolve");
    }

    // Unique operation ids; security names that exist; path parameters declared.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeMap::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no id"));
        if let Some(previous) = ids.insert(id.to_string(), format!("{method} {path}")) {
            panic!("operationId {id} used by {previous} and {method} {path}");
        }
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{method} {path}: scheme {name}");
            }
        }
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }
}

/// The operation at `path`, `method`.
fn op<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no {method} {path}");
    op
}

/// The response of `op` for `status`, following a `$ref` to `components/responses`.
fn response<'a>(doc: &'a Value, op: &'a Value, status: &str) -> &'a Value {
    let r = &op["responses"][status];
    match r["$ref"].as_str() {
        Some(reference) => doc.pointer(&reference[1..]).expect("a resolvable response"),
        None => r,
    }
}

#[actix_web::test]
async fn spot_checks_of_bodies_errors_and_auth() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    // POST /api/members: a JSON body schema, and the validation problem. The service answers
    // field problems with 400 `validation_failed` (src/error.rs), not 422.
    let create = op(&doc, "/api/members", "post");
    let body = &create["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewMember"
    );
    let new_member = &doc["components"]["schemas"]["NewMember"];
    assert_eq!(new_member["additionalProperties"], false);
    let mut required: Vec<&str> = new_member["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["email", "firstName", "lastName"]);
    let bad = response(&doc, create, "400");
    assert_eq!(
        bad["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    assert!(create["responses"].get("422").is_none());
    for status in ["401", "403", "409", "413", "415", "429", "500", "503"] {
        let r = response(&doc, create, status);
        assert!(
            r["content"]["application/problem+json"].is_object(),
            "POST /api/members {status}"
        );
    }
    assert!(response(&doc, create, "401")["headers"]["WWW-Authenticate"].is_object());
    assert!(response(&doc, create, "503")["headers"]["Retry-After"].is_object());
    assert!(response(&doc, create, "429")["headers"]["Retry-After"].is_object());

    // The Problem schema is what src/error.rs emits.
    let problem = &doc["components"]["schemas"]["Problem"];
    let mut props: Vec<&str> = problem["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    props.sort();
    assert_eq!(
        props,
        [
            "code",
            "detail",
            "errors",
            "instance",
            "requestId",
            "status",
            "title",
            "type"
        ]
    );
    let mut required: Vec<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["code", "detail", "status", "title", "type"]);

    // Security: required on every tenant, admin and session route; the cookie needs the CSRF
    // header on writes; nothing on health, docs and static files.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["sessionCookie"]["type"], "apiKey");
    assert_eq!(schemes["sessionCookie"]["in"], "cookie");
    assert_eq!(schemes["sessionCookie"]["name"], "__session");
    assert_eq!(schemes["csrfToken"]["in"], "header");
    assert_eq!(schemes["csrfToken"]["name"], "x-csrf-token");
    assert_eq!(schemes["sessionBearer"]["scheme"], "bearer");
    assert_eq!(schemes["sessionBearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
    assert_eq!(schemes["stripeSignature"]["name"], "Stripe-Signature");
    for (path, method, op) in operations(&doc) {
        let security = op["security"].as_array();
        let public = [
            "/api/health",
            "/livez",
            "/readyz",
            "/api/openapi.json",
            "/api/docs",
            "/static/",
            "/admin",
        ]
        .iter()
        .any(|p| path.starts_with(p));
        if public {
            assert!(
                security.is_none_or(|s| s.is_empty()),
                "{method} {path}: {security:?}"
            );
            continue;
        }
        let security = security.unwrap_or_else(|| panic!("{method} {path}: no security"));
        assert!(!security.is_empty(), "{method} {path}");
        assert!(
            security
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty())),
            "{method} {path}: an anonymous alternative"
        );
        let cookie = security.iter().find(|r| r.get("sessionCookie").is_some());
        if method != "get" && method != "head" {
            if let Some(cookie) = cookie {
                assert!(
                    cookie.get("csrfToken").is_some(),
                    "{method} {path}: cookie without CSRF"
                );
            }
        } else if let Some(cookie) = cookie {
            assert!(cookie.get("csrfToken").is_none(), "{method} {path}");
        }
    }
    assert_eq!(
        op(&doc, "/api/members", "post")["security"],
        json!([{"sessionBearer": []}, {"csrfToken": [], "sessionCookie": []}])
    );
    assert_eq!(
        op(&doc, "/api/members", "get")["security"],
        json!([{"sessionBearer": []}, {"sessionCookie": []}, {"adminToken": []}])
    );
    assert_eq!(
        op(&doc, "/api/webhooks/stripe", "post")["security"],
        json!([{"stripeSignature": []}])
    );
    assert_eq!(
        op(&doc, "/api/admin/organizations", "post")["security"],
        json!([{"adminToken": []}])
    );
    // Every /api operation but the public ones lists the common errors.
    for (path, method, op) in operations(&doc) {
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if path.starts_with("/api/") && secured {
            for status in ["429", "500", "503"] {
                let r = response(&doc, op, status);
                assert!(
                    r["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
}

/// Attribute values (`src="…"`, `href="…"`) in an HTML page.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("{name}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[actix_web::test]
async fn the_docs_ui_is_served_by_the_service_itself() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/api/docs/");

    // Followed the way a browser does.
    let res = app.get("/api/docs").await;
    assert_eq!(res.status(), 200);
    let page = res.url().clone();
    assert_eq!(page.path(), "/api/docs/");
    let headers = res.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = res.text().await.unwrap();

    let mut assets: Vec<&str> = attribute_values(&html, "src");
    assets.extend(attribute_values(&html, "href"));
    assert!(assets.len() >= 4, "{assets:?} in {html}");
    let mut scripts = Vec::new();
    for asset in &assets {
        let url = page.join(asset).unwrap();
        assert_eq!(
            url.origin(),
            page.origin(),
            "{asset}: not served by the service"
        );
        let res = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let body = res.text().await.unwrap();
        assert!(!body.is_empty(), "{url}");
        if asset.ends_with(".js") {
            scripts.push((url, body));
        }
    }
    // The UI's configuration (in its initializer script) names the document by a local URL.
    let (_, initializer) = scripts
        .iter()
        .find(|(u, _)| u.path().ends_with("swagger-initializer.js"))
        .expect("the initializer script");
    let config_urls: Vec<&str> = initializer
        .match_indices("\"url\": \"")
        .map(|(i, m)| {
            let rest = &initializer[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(config_urls, ["/api/openapi.json"], "{initializer}");
    assert!(!initializer.contains("http://") && !initializer.contains("https://"));
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
    let url = page.join(config_urls[0]).unwrap();
    assert_eq!(url.origin(), page.origin());
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].is_string());

    // Public, but only GET and HEAD; unknown files are problem+json 404s.
    let res = app.client.post(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    let res = app.get("/api/docs/nope.js").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app
        .client
        .head(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
