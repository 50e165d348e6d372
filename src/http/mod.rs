//! HTTP: routes, extractor configuration (so actix's own errors are problem+json too) and
//! middleware.

mod extract;
mod health;
pub mod middleware;
mod organizations;

use actix_web::{web, HttpResponse};

use crate::error::AppError;

pub use extract::extractor_configs;

/// Every route of the service. Health routes live outside /api's middleware concerns.
pub fn routes(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    cfg.service(web::scope("/api").configure(organizations::routes));
}

/// The default service of a resource: 405 with an Allow header listing what it serves.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(AppError::MethodNotAllowed { allow }) })
}

/// The default service of the app: a problem+json 404.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("No resource matches this path.".into()))
}
