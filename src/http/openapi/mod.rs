//! The OpenAPI 3.1 document of the service, generated from the code with utoipa: this module
//! assembles the per-module path docs (`#[utoipa::path]` on the handlers, each handler module's
//! `Api`), declares the security schemes, the shared problem+json responses and tags, and
//! serialises the document once for `GET /api/openapi.json` (served by `super::docs`).

mod pages;
pub mod problems;
pub mod schemas;

use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use crate::auth::SESSION_COOKIE;

/// Security scheme names, as the operations' `security(...)` use them.
pub const SESSION_BEARER: &str = "sessionBearer";
pub const SESSION_COOKIE_SCHEME: &str = "sessionCookie";
pub const CSRF_TOKEN: &str = "csrfToken";
pub const ADMIN_TOKEN: &str = "adminToken";
pub const STRIPE_SIGNATURE: &str = "stripeSignature";
pub const METRICS_TOKEN: &str = "metricsToken";

const DESCRIPTION: &str = "\
The API of UnionEyes Core, the service labour unions use to manage their members and \
grievances (claims); one organization (tenant) per union.

**Authentication.** Organization members and admins send their Clerk session token (an RS256 \
JWT) as `Authorization: Bearer …` (`sessionBearer`) or in the `__session` cookie \
(`sessionCookie`). Platform admins send `ADMIN_API_TOKEN` as a bearer token (`adminToken`): the \
`/api/admin/*` routes, and tenant reads naming the organization with `x-organization-id`.

**CSRF.** A request with the `__session` cookie and a method other than GET, HEAD or OPTIONS \
must carry the session's token from `GET /api/csrf-token` in the `x-csrf-token` header \
(`csrfToken`, required together with `sessionCookie` on writes) and pass an origin check; \
requests authenticated by the `Authorization` header only are not checked. See docs/csrf.md.

**Errors.** Every error is `application/problem+json` (RFC 9457, the `Problem` schema) with a \
machine-readable `code`; methods a route does not serve answer 405 with an `Allow` header. \
Every response carries `x-request-id`.";

#[derive(OpenApi)]
#[openapi(
    info(title = "UnionEyes Core API", description = DESCRIPTION),
    modifiers(&Security),
    components(
        schemas(crate::error::Problem, crate::error::FieldProblem),
        responses(
            problems::BadRequest,
            problems::Unauthorized,
            problems::Forbidden,
            problems::NotFound,
            problems::Conflict,
            problems::RequestBodyTimeout,
            problems::PayloadTooLarge,
            problems::UnsupportedMediaType,
            problems::TooManyRequests,
            problems::InternalError,
            problems::ServiceUnavailable,
        )
    ),
    tags(
        (name = "members", description = "Members of the organization, with encrypted SINs."),
        (name = "claims", description = "Claims (grievances) of the caller's organization."),
        (name = "exports", description = "Bulk exports."),
        (name = "session", description = "Who the caller is."),
        (name = "csrf", description = "CSRF tokens for browsers with the session cookie."),
        (name = "webhooks", description = "Signed callbacks from Stripe."),
        (name = "admin-organizations", description = "Platform admin: organizations (tenants)."),
        (name = "admin-analytics", description = "Request figures per day, endpoint and tenant."),
        (name = "admin-dashboard", description = "The admin dashboard page and its files."),
        (name = "health", description = "Health, liveness and readiness: no auth, no rate limit."),
        (name = "metrics", description = "Prometheus metrics (docs/monitoring.md)."),
        (name = "docs", description = "This document and its browsable UI: public."),
        (name = "static", description = "Files for browsers."),
    )
)]
struct Base;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |description: &str, format: Option<&str>| {
            let mut b = HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description));
            if let Some(f) = format {
                b = b.bearer_format(f);
            }
            SecurityScheme::Http(b.build())
        };
        components.add_security_scheme(
            SESSION_BEARER,
            bearer(
                "A Clerk session token (RS256 JWT, verified locally) in `Authorization: Bearer`. \
                 The tenant is its `org_id`; its `org_role` (`org:admin` / `org:member`) decides \
                 what it may do.",
                Some("JWT"),
            ),
        );
        components.add_security_scheme(
            SESSION_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The Clerk session token in the `__session` cookie (browsers). Writes need \
                 `csrfToken` too.",
            ))),
        );
        components.add_security_scheme(
            CSRF_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-csrf-token",
                "The session's CSRF token from `GET /api/csrf-token`: required on every write \
                 (not GET/HEAD/OPTIONS) that carries the `__session` cookie; never needed with \
                 `Authorization`.",
            ))),
        );
        components.add_security_scheme(
            ADMIN_TOKEN,
            bearer(
                "The platform admin token (`ADMIN_API_TOKEN`) in `Authorization: Bearer`, \
                 compared in constant time.",
                None,
            ),
        );
        components.add_security_scheme(
            STRIPE_SIGNATURE,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Stripe-Signature",
                "Stripe's signature of the payload: `t=<unix time>,v1=<HMAC-SHA256 of \
                 \"t.payload\" with STRIPE_WEBHOOK_SECRET>`, 5-minute tolerance.",
            ))),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            bearer(
                "`METRICS_TOKEN` in `Authorization: Bearer`, compared in constant time.",
                None,
            ),
        );
    }
}

/// The whole document: the base (info, security schemes, problems, tags) and every handler
/// module's operations.
pub fn document() -> Document {
    use super::{analytics, claims, csrf_routes, docs, exports, health, me, members};
    use super::{organizations, webhooks};
    let mut doc = Base::openapi();
    for part in [
        health::Api::openapi(),
        members::Api::openapi(),
        claims::Api::openapi(),
        exports::Api::openapi(),
        webhooks::Api::openapi(),
        organizations::Api::openapi(),
        analytics::Api::openapi(),
        csrf_routes::Api::openapi(),
        docs::Api::openapi(),
        me::Api::openapi(),
        crate::metrics::OpenApiDoc::openapi(),
        pages::Api::openapi(),
    ] {
        doc.merge(part);
    }
    head_operations(&mut doc);
    // utoipa copies Cargo's `license = "UNLICENSED"` as an SPDX identifier, which it is not.
    doc.info.license = Some(utoipa::openapi::info::License::new(
        "Proprietary (not licensed for use outside UnionEyes)",
    ));
    doc
}

/// `method(get, head)` puts one operation under both methods; a HEAD answer has no body and
/// each operation needs its own id.
fn head_operations(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        let Some(head) = item.head.as_mut() else {
            continue;
        };
        if let Some(id) = head.operation_id.as_mut() {
            id.push_str("Head");
        }
        head.summary = head.summary.take().map(|s| format!("{s} (headers only)"));
        for response in head.responses.responses.values_mut() {
            if let RefOr::T(r) = response {
                r.content.clear();
            }
        }
    }
}

/// The document as served, built once.
pub static JSON: LazyLock<String> = LazyLock::new(|| {
    document().to_json().unwrap_or_else(|e| {
        log::error!("the OpenAPI document failed to serialise: {e}");
        serde_json::json!({"error": "the OpenAPI document failed to serialise"}).to_string()
    })
});
