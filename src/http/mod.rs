//! HTTP: routes, extractor configuration (so actix's own errors are problem+json too) and
//! middleware.

mod admin_page;
mod analytics;
mod claims;
mod csrf_routes;
pub use csrf_routes::{EXEMPT_ROUTES, HELPER_JS};
mod docs;
mod exports;
mod extract;
mod health;
pub mod input;
mod me;
mod members;
pub use members::sin_aad;
pub mod middleware;
pub mod openapi;
mod organizations;
pub use organizations::{validate_new_organization, CreateOrganization};
pub mod pagination;
mod webhooks;

use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::ratelimit::PresetName;
use middleware::RateLimit;

pub use extract::extractor_configs;

/// Every route of the service. Health routes live outside /api's middleware concerns.
pub fn routes(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    // Outside /api: its own token or its own port (docs/monitoring.md).
    crate::metrics::routes(cfg);
    csrf_routes::static_routes(cfg);
    // Public and read-only: outside the identified, CSRF-checked /api scope.
    docs::routes(cfg);
    admin_page::routes(cfg);
    // Signature-verified, never reads the session: outside the identified scope.
    cfg.service(
        web::scope("/api/webhooks")
            .wrap(RateLimit::new(PresetName::Webhooks))
            .configure(webhooks::routes),
    );
    cfg.service(
        web::scope("/api")
            // Innermost, so it runs after identify: the CSRF check (docs/csrf.md).
            .wrap(actix_web::middleware::from_fn(middleware::csrf))
            // Runs last to first: identify, count failed credentials (AUTH per client IP),
            // then the general per-user budget.
            .wrap(RateLimit::authenticated(PresetName::ApiDefault))
            .wrap(RateLimit::failed_credentials(PresetName::Auth))
            .wrap(actix_web::middleware::from_fn(crate::auth::identify))
            // Outermost: every /api answer is about one caller (tenant data, who they are),
            // so no shared cache may keep it; a handler's own Cache-Control/Vary wins.
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((actix_web::http::header::CACHE_CONTROL, "no-store"))
                    .add((actix_web::http::header::VARY, "Authorization, Cookie")),
            )
            .configure(organizations::routes)
            .configure(members::routes)
            .configure(claims::routes)
            .configure(exports::routes)
            .configure(analytics::routes)
            .configure(me::routes)
            .configure(csrf_routes::api_routes),
    );
}

/// A GET/HEAD resource (HEAD answers like GET, without the body) with a 405 and `Allow: GET,
/// HEAD` for every other method.
pub fn get_or_head<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(
            web::route()
                .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
                .to(handler),
        )
        .default_service(method_not_allowed("GET, HEAD"))
}

/// The default service of a resource: 405 with an Allow header listing what it serves.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(AppError::MethodNotAllowed { allow }) })
}

/// The default service of the app: a problem+json 404.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("No resource matches this path.".into()))
}
