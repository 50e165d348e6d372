//! Real answers against the document: for each request the answer's status must be documented
//! for its operation, its content type listed, and a JSON body valid against the documented
//! schema, strictly (an object may not carry a property its schema does not list). Bodies sent
//! are the document's own examples.

use std::collections::BTreeSet;

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Map, Value};

use super::{document, response};
use crate::support::app::STRIPE_SECRET;
use crate::support::tokens::Spec;
use crate::support::{spawn_app_with, TestApp};

const METRICS_TOKEN: &str = "metrics-token-for-the-openapi-test-0123456789";

/// The document's components with every object schema closed (`unevaluatedProperties: false`),
/// except the parts of an `allOf`, whose holder is closed instead.
fn strict(components: &Value) -> Value {
    let mut composed = BTreeSet::new();
    collect_composed(components, &mut composed);
    let mut out = components.clone();
    if let Some(schemas) = out["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            close(schema, composed.contains(name));
        }
    }
    out
}

/// Names of the component schemas referred to from an `allOf`.
fn collect_composed(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("allOf") {
                for part in parts {
                    if let Some(r) = part["$ref"].as_str() {
                        out.insert(r.rsplit('/').next().unwrap_or_default().to_string());
                    }
                }
            }
            map.values().for_each(|v| collect_composed(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_composed(v, out)),
        _ => {}
    }
}

fn close(schema: &mut Value, is_part: bool) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let open = !map.contains_key("additionalProperties");
    if open && !is_part && (map.contains_key("properties") || map.contains_key("allOf")) {
        map.insert("unevaluatedProperties".into(), json!(false));
    }
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "properties" => {
                if let Some(props) = child.as_object_mut() {
                    props.values_mut().for_each(|p| close(p, false));
                }
            }
            "items" | "additionalProperties" => close(child, false),
            "allOf" => {
                for part in child.as_array_mut().into_iter().flatten() {
                    close(part, true);
                }
            }
            "oneOf" | "anyOf" => {
                for part in child.as_array_mut().into_iter().flatten() {
                    close(part, false);
                }
            }
            _ => {}
        }
    }
}

struct Checker {
    doc: Value,
    components: Value,
    checked: Vec<String>,
}

impl Checker {
    fn new(doc: Value) -> Self {
        let components = strict(&doc["components"]);
        Self {
            doc,
            components,
            checked: Vec::new(),
        }
    }

    /// The first example of a component schema.
    fn example(&self, schema: &str) -> Value {
        self.doc["components"]["schemas"][schema]["examples"][0].clone()
    }

    /// Sends `req` (`method` on the route `template`), checks the answer against the document
    /// and returns its status and body.
    async fn check(&mut self, method: &str, template: &str, req: RequestBuilder) -> (u16, Value) {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = res.text().await.unwrap();
        let at = format!("{} {template} → {status}", method.to_uppercase());
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "{at}: the operation is not documented");
        let documented = response(&self.doc, op, &status.to_string());
        assert!(
            documented.is_object(),
            "{at}: status not documented; body {text}"
        );
        let content = documented["content"].as_object().filter(|c| !c.is_empty());
        let body = match (content, ct) {
            (None, _) => {
                assert!(
                    text.is_empty(),
                    "{at}: a body the document does not describe: {text}"
                );
                Value::Null
            }
            (Some(_), None) => panic!("{at}: no content type"),
            (Some(content), Some(ct)) => {
                let media = ct.split(';').next().unwrap().trim();
                let (_, entry) = content
                    .iter()
                    .find(|(k, _)| *k == "*/*" || k.split(';').next().unwrap().trim() == media)
                    .unwrap_or_else(|| panic!("{at}: {ct} is not among {:?}", content.keys()));
                if media.ends_with("json") {
                    let body: Value = serde_json::from_str(&text).unwrap();
                    self.validate(&entry["schema"], &body, &at);
                    body
                } else {
                    Value::String(text)
                }
            }
        };
        self.checked.push(at);
        (status, body)
    }

    /// What is wrong with `instance` against `schema` (strictly).
    fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let root = json!({"allOf": [schema], "components": self.components});
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap();
        validator
            .iter_errors(instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn validate(&self, schema: &Value, instance: &Value, at: &str) {
        let errors = self.errors(schema, instance);
        assert!(
            errors.is_empty(),
            "{at}: the answer does not match its documented schema:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }
}

fn with_id(example: Value, key: &str, id: &str) -> Value {
    let mut map: Map<String, Value> = example.as_object().unwrap().clone();
    map.insert(key.into(), json!(id));
    Value::Object(map)
}

#[actix_web::test]
async fn real_answers_match_the_document() {
    let app: TestApp = spawn_app_with(|env| {
        env.insert("RATE_LIMITS".into(), "AUTH=10000/15m".into());
        env.insert("METRICS_TOKEN".into(), METRICS_TOKEN.into());
    })
    .await;
    let mut c = Checker::new(document(&app).await);
    let admin = Spec::new("user_oa_admin", "org_openapi", "org:admin").sign();
    let member = Spec::new("user_oa_member", "org_openapi", "org:member").sign();
    let url = |p: &str| app.url(p);
    let as_user = |m: Method, p: &str, t: &str| app.as_user(m, p, t);
    let admin_token = app.admin_token.clone();
    let http = app.client.clone();

    // Health, docs, static.
    c.check("get", "/api/health", http.get(url("/api/health")))
        .await;
    c.check(
        "get",
        "/api/health",
        http.get(url("/api/health")).bearer_auth(&admin_token),
    )
    .await;
    let ietf = http
        .get(url("/api/health"))
        .header("accept", "application/health+json");
    c.check("get", "/api/health", ietf).await;
    let ietf = http
        .get(url("/api/health"))
        .header("accept", "application/health+json");
    c.check("get", "/api/health", ietf.bearer_auth(&admin_token))
        .await;
    c.check("get", "/livez", http.get(url("/livez"))).await;
    c.check("get", "/readyz", http.get(url("/readyz"))).await;
    c.check(
        "get",
        "/api/openapi.json",
        http.get(url("/api/openapi.json")),
    )
    .await;
    c.check("get", "/api/docs/", http.get(url("/api/docs/")))
        .await;
    for file in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "favicon-32x32.png",
        "nope.txt",
    ] {
        let req = http.get(url(&format!("/api/docs/{file}")));
        c.check("get", "/api/docs/{file}", req).await;
    }
    c.check("get", "/static/csrf.js", http.get(url("/static/csrf.js")))
        .await;
    c.check("get", "/admin", http.get(url("/admin"))).await;
    for file in ["dashboard.js", "format.js", "dashboard.css", "nothing.js"] {
        let req = http.get(url(&format!("/admin/{file}")));
        c.check("get", "/admin/{file}", req).await;
    }
    let req = http.get(url("/metrics")).bearer_auth(METRICS_TOKEN);
    assert_eq!(c.check("get", "/metrics", req).await.0, 200);
    assert_eq!(
        c.check("get", "/metrics", http.get(url("/metrics")))
            .await
            .0,
        401
    );
    for token in [&admin, &admin_token] {
        let req = http.get(url("/api/me")).bearer_auth(token);
        assert_eq!(c.check("get", "/api/me", req).await.0, 200);
    }
    assert_eq!(
        c.check("get", "/api/me", http.get(url("/api/me"))).await.0,
        401
    );

    // Members, with the document's examples.
    let new_member = c.example("NewMember");
    let req = as_user(Method::POST, "/api/members", &admin).json(&new_member);
    let (status, created) = c.check("post", "/api/members", req).await;
    assert_eq!(status, 201, "the documented example is accepted: {created}");
    let id = created["id"].as_str().unwrap().to_string();
    let one = format!("/api/members/{id}");
    let req = as_user(Method::POST, "/api/members", &admin).json(&new_member);
    assert_eq!(c.check("post", "/api/members", req).await.0, 409);
    let req = as_user(Method::POST, "/api/members", &admin).json(&json!({"bogus": 1}));
    assert_eq!(c.check("post", "/api/members", req).await.0, 400);
    let req = as_user(Method::POST, "/api/members", &admin)
        .header("content-type", "text/plain")
        .body("{}");
    assert_eq!(c.check("post", "/api/members", req).await.0, 415);
    let req = as_user(Method::POST, "/api/members", &member).json(&new_member);
    assert_eq!(c.check("post", "/api/members", req).await.0, 403);
    for (path, want) in [("/api/members", 200), ("/api/members?limit=0", 400)] {
        let req = as_user(Method::GET, path, &member);
        assert_eq!(c.check("get", "/api/members", req).await.0, want);
    }
    assert_eq!(
        c.check("get", "/api/members", http.get(url("/api/members")))
            .await
            .0,
        401
    );
    let org = app.state.tenants.peek("org_openapi").unwrap().to_string();
    let req = http
        .get(url("/api/members"))
        .bearer_auth(&admin_token)
        .header("x-organization-id", &org);
    assert_eq!(c.check("get", "/api/members", req).await.0, 200);
    let req = http.get(url("/api/members")).bearer_auth(&admin_token);
    assert_eq!(c.check("get", "/api/members", req).await.0, 400);
    let missing = format!("/api/members/{}", uuid::Uuid::new_v4());
    for (path, want) in [
        (one.as_str(), 200),
        (&missing, 404),
        ("/api/members/abc", 400),
    ] {
        let req = as_user(Method::GET, path, &member);
        assert_eq!(c.check("get", "/api/members/{id}", req).await.0, want);
    }
    let req = as_user(Method::PATCH, &one, &admin).json(&c.example("MemberPatch"));
    assert_eq!(c.check("patch", "/api/members/{id}", req).await.0, 200);
    let reveal = format!("{one}/sin/reveal");
    let req = as_user(Method::POST, &reveal, &admin);
    assert_eq!(
        c.check("post", "/api/members/{id}/sin/reveal", req).await.0,
        200
    );

    // Claims.
    let new_claim = with_id(c.example("NewClaim"), "memberId", &id);
    let req = as_user(Method::POST, "/api/claims", &admin).json(&new_claim);
    let (status, claim) = c.check("post", "/api/claims", req).await;
    assert_eq!(status, 201, "{claim}");
    let claim = format!("/api/claims/{}", claim["id"].as_str().unwrap());
    let req = as_user(Method::GET, "/api/claims?status=open", &member);
    assert_eq!(c.check("get", "/api/claims", req).await.0, 200);
    let req = as_user(Method::GET, &claim, &member);
    assert_eq!(c.check("get", "/api/claims/{id}", req).await.0, 200);
    let req = as_user(Method::PATCH, &claim, &admin).json(&c.example("ClaimPatch"));
    assert_eq!(c.check("patch", "/api/claims/{id}", req).await.0, 200);
    let req = as_user(Method::GET, "/api/exports/members.csv", &admin);
    assert_eq!(c.check("get", "/api/exports/members.csv", req).await.0, 200);
    let req = as_user(Method::DELETE, &one, &admin);
    assert_eq!(c.check("delete", "/api/members/{id}", req).await.0, 204);

    // Platform admin: organizations.
    let new_org = c.example("CreateOrganization");
    for want in [201, 409] {
        let req = http
            .post(url("/api/admin/organizations"))
            .bearer_auth(&admin_token)
            .json(&new_org);
        assert_eq!(
            c.check("post", "/api/admin/organizations", req).await.0,
            want
        );
    }
    let req = http
        .get(url("/api/admin/organizations"))
        .bearer_auth(&admin_token);
    assert_eq!(c.check("get", "/api/admin/organizations", req).await.0, 200);
    let req = http.get(url("/api/admin/organizations"));
    assert_eq!(c.check("get", "/api/admin/organizations", req).await.0, 401);
    let req = http
        .get(url(&format!("/api/admin/organizations/{org}")))
        .bearer_auth(&admin_token);
    assert_eq!(
        c.check("get", "/api/admin/organizations/{id}", req).await.0,
        200
    );

    // Analytics.
    for route in ["summary", "endpoints", "slow", "tenants", "history"] {
        let path = format!("/api/admin/analytics/{route}");
        let req = http.get(url(&path)).bearer_auth(&admin_token);
        assert_eq!(c.check("get", &path, req).await.0, 200);
    }
    let req = as_user(Method::GET, "/api/admin/analytics/summary", &admin);
    assert_eq!(
        c.check("get", "/api/admin/analytics/summary", req).await.0,
        403
    );
    let req = as_user(
        Method::GET,
        &format!("/api/admin/analytics/tenants/{org}"),
        &admin,
    );
    assert_eq!(
        c.check("get", "/api/admin/analytics/tenants/{id}", req)
            .await
            .0,
        200
    );
    let req = http
        .get(url("/api/admin/analytics/summary"))
        .bearer_auth(&admin_token);
    let (_, summary) = c.check("get", "/api/admin/analytics/summary", req).await;

    // The checker is strict: a property the document does not list fails, inside an allOf too.
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    // Every example in the document is valid against its own schema.
    let schemas = c.doc["components"]["schemas"].as_object().unwrap().clone();
    for (name, s) in &schemas {
        for example in s["examples"].as_array().into_iter().flatten() {
            let errors = c.errors(&schema(name), example);
            assert!(errors.is_empty(), "example of {name}: {errors:?}");
        }
    }
    let mut member = c.example("Member");
    assert!(c.errors(&schema("Member"), &member).is_empty());
    member["undocumented"] = json!(1);
    assert!(!c.errors(&schema("Member"), &member).is_empty());
    let mut summary = summary;
    assert!(c.errors(&schema("AnalyticsSummary"), &summary).is_empty());
    summary["undocumented"] = json!(1);
    assert!(!c.errors(&schema("AnalyticsSummary"), &summary).is_empty());

    // CSRF tokens and logout, as a browser.
    let cookie = format!("__session={admin}");
    let req = http.get(url("/api/csrf-token")).header("cookie", &cookie);
    let (status, token) = c.check("get", "/api/csrf-token", req).await;
    assert_eq!(status, 200);
    let req = http.get(url("/api/csrf-token")).bearer_auth(&admin_token);
    assert_eq!(c.check("get", "/api/csrf-token", req).await.0, 403);
    let req = http.post(url("/api/auth/logout")).header("cookie", &cookie);
    assert_eq!(c.check("post", "/api/auth/logout", req).await.0, 403);
    let req = http
        .post(url("/api/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", token["token"].as_str().unwrap());
    assert_eq!(c.check("post", "/api/auth/logout", req).await.0, 204);

    // The Stripe webhook.
    let event = json!({"id": "evt_openapi_1", "type": "invoice.paid", "created": 1_700_000_000})
        .to_string();
    let signature = unioneyes::stripe::sign(
        event.as_bytes(),
        STRIPE_SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
    );
    let req = http
        .post(url("/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(event.clone());
    assert_eq!(c.check("post", "/api/webhooks/stripe", req).await.0, 200);
    let req = http.post(url("/api/webhooks/stripe")).body(event);
    assert_eq!(c.check("post", "/api/webhooks/stripe", req).await.0, 400);

    assert!(c.checked.len() > 50, "{}", c.checked.len());
}
