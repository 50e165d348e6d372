//! The page and its files as served: headers, the strict policy, every module the page loads,
//! the methods and the redirect.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{spawn_app, TestApp};

/// The modules `entry` loads, directly or not (itself included), each checked to be served as
/// JavaScript with the page's headers.
async fn module_graph(app: &TestApp, entry: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([entry.to_string()]);
    let mut todo = vec![entry.to_string()];
    while let Some(path) = todo.pop() {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(
            h["content-type"], "text/javascript; charset=utf-8",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        if path.starts_with("/admin/") {
            assert_eq!(h["cache-control"], "no-cache", "{path}");
            assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
            assert_eq!(h["cross-origin-resource-policy"], "same-origin", "{path}");
        }
        let js = res.text().await.unwrap();
        // `import … from "…";`, or the last line of an import over several lines.
        let imports = js
            .lines()
            .filter(|l| l.starts_with("import ") || l.starts_with("} from "))
            .filter_map(|l| l.rsplit_once(" from "))
            .map(|(_, from)| from.trim_end_matches(';').trim_matches('"').to_string());
        for import in imports {
            assert!(import.starts_with('/'), "{path} imports {import}");
            if seen.insert(import.clone()) {
                todo.push(import);
            }
        }
    }
    seen
}

#[actix_web::test]
async fn the_page_is_served_from_the_binary_with_a_strict_policy() {
    let app = spawn_app().await;
    let res = app.get("/admin").await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let header = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("referrer-policy"), "no-referrer");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="ue-retention-days" content="30">"#),
        "{html}"
    );

    // Every file the page and its modules load is served here, with its type.
    for (path, kind) in [
        ("/admin/dashboard.js", "text/javascript; charset=utf-8"),
        ("/admin/format.js", "text/javascript; charset=utf-8"),
        ("/admin/dashboard.css", "text/css; charset=utf-8"),
        ("/static/csrf.js", "text/javascript; charset=utf-8"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], kind, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    assert!(html.contains(r#"<script type="module" src="/admin/dashboard.js"></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/admin/dashboard.css">"#));
    let js = app.get("/admin/dashboard.js").await.text().await.unwrap();
    assert!(js.contains(r#"from "/admin/format.js""#));
    let api = app.get("/admin/api.js").await.text().await.unwrap();
    assert!(api.contains(r#"from "/static/csrf.js""#));
    // Every module the entry loads, followed through their imports, is served here.
    let modules = module_graph(&app, "/admin/dashboard.js").await;
    for module in ["/admin/format.js", "/admin/api.js", "/static/csrf.js"] {
        assert!(modules.contains(module), "{module} in {modules:?}");
    }
    assert!(modules.len() >= 6, "{modules:?}");
    let res = app.client.head(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
    let res = app.client.post(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/admin");
    assert_eq!(app.get("/admin/nothing.js").await.status(), 404);

    // The files: a problem+json 404 for any other name (the page itself is only `/admin`),
    // HEAD without a body, 405 for other methods.
    for unknown in [
        "/admin/nothing.js",
        "/admin/index.html",
        "/admin/DASHBOARD.JS",
    ] {
        let res = app.get(unknown).await;
        assert_eq!(res.status(), 404, "{unknown}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{unknown}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{unknown}: {body}");
    }
    let res = app
        .client
        .head(app.url("/admin/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(res.text().await.unwrap().is_empty());
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for path in ["/admin/dashboard.js", "/admin/nothing.js"] {
            let res = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{method} {path}");
            assert_eq!(res.headers()["allow"], "GET, HEAD", "{method} {path}");
        }
    }
}
