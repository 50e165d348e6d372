//! HTTP: routes, extractor configuration (so actix's own errors are problem+json too) and
//! middleware.

mod claims;
mod exports;
mod extract;
mod health;
pub mod input;
mod members;
pub use members::sin_aad;
pub mod middleware;
mod organizations;
pub use organizations::{validate_new_organization, CreateOrganization};
pub mod pagination;
mod webhooks;

use actix_web::{web, HttpResponse};

use crate::error::AppError;

pub use extract::extractor_configs;

/// Every route of the service. Health routes live outside /api's middleware concerns.
pub fn routes(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    // Signature-verified, never reads the session: outside the identified scope.
    cfg.service(web::scope("/api/webhooks").configure(webhooks::routes));
    cfg.service(
        web::scope("/api")
            .wrap(actix_web::middleware::from_fn(crate::auth::identify))
            .configure(organizations::routes)
            .configure(members::routes)
            .configure(claims::routes)
            .configure(exports::routes),
    );
}

/// The default service of a resource: 405 with an Allow header listing what it serves.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(AppError::MethodNotAllowed { allow }) })
}

/// The default service of the app: a problem+json 404.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("No resource matches this path.".into()))
}
