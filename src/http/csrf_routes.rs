//! The CSRF routes (docs/csrf.md): `GET /api/csrf-token` issues the session's token,
//! `POST /api/auth/logout` ends the session's tokens, and `GET /static/csrf.js` serves the
//! browser helper. Also the `__Host-csrf-token` cookie they and the middleware set.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::method_not_allowed;
use super::middleware::log_context;
use super::openapi::{problems, schemas};
use crate::auth::{identity_of, unauthorized, AuthFailure, Authn, Identity};
use crate::csrf::store::Unavailable;
use crate::csrf::{origin, token, IssueError, Reason, Rejection, TOKEN_COOKIE};
use crate::error::AppError;
use crate::state::AppState;

/// The browser helper, embedded in the binary.
pub const HELPER_JS: &str = include_str!("../../static/csrf.js");

/// Every route registered outside the CSRF-checked /api scope: (methods it serves, route
/// pattern, why it needs no check). Exemption is by registration, never by matching a path
/// prefix; a test enumerates the registered routes and requires exactly these to bypass the
/// check. None of them acts on the session cookie.
pub const EXEMPT_ROUTES: &[(&str, &str, &str)] = &[
    ("GET, HEAD", "/api/health", "health: read-only, no session"),
    ("GET, HEAD", "/livez", "health: read-only, no session"),
    ("GET, HEAD", "/readyz", "health: read-only, no session"),
    ("GET, HEAD", "/static/csrf.js", "a static file"),
    ("GET, HEAD", "/api/openapi.json", "public API description"),
    ("GET, HEAD", "/api/docs", "a redirect to the docs UI"),
    ("GET, HEAD", "/api/docs/", "the docs UI: a static file"),
    ("GET, HEAD", "/api/docs/{file}", "docs UI files (static)"),
    (
        "GET, HEAD",
        "/metrics",
        "metrics: read-only, its own bearer token, never the session",
    ),
    ("GET, HEAD", "/admin", "the dashboard page (static)"),
    ("GET, HEAD", "/admin/", "a redirect to /admin"),
    ("GET, HEAD", "/admin/{file}", "dashboard files (static)"),
    (
        "POST",
        "/api/webhooks/stripe",
        "verified by Stripe's signature; never reads the session",
    ),
];

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(csrf_token, logout, helper_js))]
pub(super) struct Api;

/// Routes inside the checked /api scope (the logout POST is CSRF-checked like any write).
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/csrf-token")
            .route(web::get().to(csrf_token))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/auth/logout")
            .route(web::post().to(logout))
            .default_service(method_not_allowed("POST")),
    );
}

/// App-level routes (read-only, no session).
pub fn static_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/static/csrf.js")
            .route(
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(helper_js),
            )
            .default_service(method_not_allowed("GET, HEAD")),
    );
}

/// `__Host-csrf-token`: Path=/, Secure, SameSite=Strict, no Domain (so no sibling subdomain can
/// set or read it). Not HttpOnly: the helper reads it so every tab sends the latest token.
pub fn token_cookie(wire: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(TOKEN_COOKIE, wire)
        .path("/")
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(max_age_secs))
        .finish()
}

/// The same cookie, expired.
pub fn expired_token_cookie() -> Cookie<'static> {
    let mut c = token_cookie(String::new(), 0);
    c.make_removal();
    c
}

/// The session a token belongs to: only a verified session has one.
fn session_of(identity: &Identity) -> Result<String, AppError> {
    match &identity.authn {
        Authn::Session(s) => Ok(s.session_id.clone()),
        Authn::Anonymous => Err(unauthorized(AuthFailure::Missing)),
        Authn::Refused(f) => Err(unauthorized(*f)),
        Authn::PlatformAdmin => Err(AppError::Forbidden(
            "CSRF tokens belong to browser sessions; requests with the admin token need none."
                .into(),
        )),
    }
}

/// `GET /api/csrf-token`: `{token, expiresAt}`, never cached, with the cookie.
#[utoipa::path(
    get,
    path = "/api/csrf-token",
    operation_id = "getCsrfToken",
    tag = "csrf",
    summary = "Get the session's CSRF token",
    description = "The session's current token while it has more than 10 minutes left, else a \
        new one; also set as the `__Host-csrf-token` cookie. Sessions only: the admin token gets \
        403 `forbidden`, a logged-out session 401 `session_ended`, a foreign origin 403 \
        `csrf_origin_rejected`.",
    security(("sessionBearer" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The token (`Cache-Control: no-store`).",
            body = schemas::CsrfToken,
            headers(("Set-Cookie" = String,
                description = "`__Host-csrf-token=…; Path=/; Secure; SameSite=Strict; …`"))),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn csrf_token(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let identity = identity_of(&req);
    let ctx = log_context(&req, &identity);
    let csrf = &state.csrf;
    // No cross-site page has a reason to ask for a token.
    if let Err(refusal) = origin::check(req.headers(), csrf.origins()) {
        let rejection = Rejection {
            reason: Reason::OriginRejected,
            cause: refusal.to_string(),
        };
        return Err(csrf.refuse(&rejection, &ctx));
    }
    let session_id = session_of(&identity)?;
    let issued = csrf
        .issue(&session_id, &ctx)
        .await
        .map_err(|IssueError::SessionEnded| AppError::Unauthorized {
            code: "session_ended",
            detail: "This session was logged out; sign in again.".into(),
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(token_cookie(csrf.mask(&issued), issued.max_age()))
        .json(json!({ "token": csrf.mask(&issued), "expiresAt": issued.expires_at_rfc3339() })))
}

/// `POST /api/auth/logout`: the session's tokens end (in Redis, for every instance) and the
/// cookie expires. With Redis unavailable the end cannot be recorded: 503, retry.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    operation_id = "logout",
    tag = "csrf",
    summary = "End the session's CSRF tokens",
    description = "Every token of the session stops working and `GET /api/csrf-token` answers \
        401 `session_ended` for it; the `__Host-csrf-token` cookie expires. Does not sign out of \
        Clerk. Checked like any write. Redis unavailable: 503 `csrf_store_unavailable`, retry.",
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 204, description = "The session's tokens ended; the cookie expired.",
            headers(("Set-Cookie" = String,
                description = "The expired `__Host-csrf-token` cookie."))),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn logout(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let identity = identity_of(&req);
    let session_id = session_of(&identity)?;
    let session = token::session_hash(&session_id);
    match state.csrf.revoke(&session_id).await {
        Ok(()) => {
            log::info!(target: "csrf", "session ended (logout): session={session}");
            Ok(HttpResponse::NoContent()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .cookie(expired_token_cookie())
                .finish())
        }
        Err(Unavailable(class)) => {
            log::warn!(target: "csrf", "logout not recorded: Redis unavailable ({class}) session={session}");
            let mut res = AppError::Unavailable {
                code: "csrf_store_unavailable",
                retry_after_secs: 1,
            }
            .error_response();
            let _ = res.add_cookie(&expired_token_cookie());
            Ok(res)
        }
    }
}

/// The CSRF browser helper
///
/// A dependency-free ES module: `csrfFetch`, `logout`, `reset`, `csrfToken`,
/// `createCsrfClient` (docs/csrf.md).
#[utoipa::path(
    method(get, head),
    path = "/static/csrf.js",
    operation_id = "csrfHelperJs",
    tag = "static",
    responses(
        (status = 200, description = "The module (`Cache-Control: no-cache`).",
            content_type = "text/javascript; charset=utf-8", body = String),
    )
)]
async fn helper_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(HELPER_JS)
}
