//! /api/health, /livez and /readyz: answered from the supervisor's cached report, never by
//! probing. No authentication, rate limiting or analytics here.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use unioneyes_actors::health::{Status, Verdict};

use super::get_or_head;
use super::middleware::KeepBody;
use super::openapi::schemas;
use crate::auth::is_admin_request;
use crate::health::{health_body, health_json_body, HealthView};
use crate::state::AppState;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, livez, readyz))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head("/api/health", health))
        .service(get_or_head("/livez", livez))
        .service(get_or_head("/readyz", readyz));
}

/// The instance verdict now: the cached report, unless the instance is stopping.
fn current_verdict(state: &AppState) -> Verdict {
    crate::health::instance_verdict(
        &state.health.load(),
        &state.lifecycle,
        state.settings.health.interval,
    )
}

fn no_store() -> CacheControl {
    CacheControl(vec![CacheDirective::NoStore])
}

fn wants_health_json(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/health+json"))
}

/// The instance's health
///
/// From the health supervisor's cached report (never probes); `Cache-Control: no-store`.
/// `Accept: application/health+json` gives the IETF health-check draft format. With
/// `Authorization: Bearer <ADMIN_API_TOKEN>` each check also has `errorClass` and `details`;
/// anonymous answers carry statuses only.
#[utoipa::path(
    method(get, head),
    path = "/api/health",
    operation_id = "health",
    tag = "health",
    responses(
        (status = 200, description = "`healthy` or `degraded`.", content(
            (schemas::HealthReport = "application/json"),
            (schemas::HealthJson = "application/health+json"),
        )),
        (status = 503, description = "`unhealthy` (the same body).", content(
            (schemas::HealthReport = "application/json"),
            (schemas::HealthJson = "application/health+json"),
        )),
    )
)]
async fn health(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let report = state.health.load();
    let verdict = current_verdict(&state);
    let view = HealthView {
        report: &report,
        verdict,
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.lifecycle.uptime_secs(),
        admin: is_admin_request(&req, state.settings.admin_api_token.as_ref()),
    };
    let mut res = if verdict.status == Status::Unhealthy {
        HttpResponse::ServiceUnavailable()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header(no_store())
        .insert_header((header::VARY, "Accept, Authorization"));
    let mut res = if wants_health_json(&req) {
        res.content_type("application/health+json")
            .body(health_json_body(&view).to_string())
    } else {
        res.json(health_body(&view))
    };
    res.extensions_mut().insert(KeepBody);
    res
}

/// Liveness
///
/// 200 while the process runs; no dependency checks.
#[utoipa::path(
    method(get, head),
    path = "/livez",
    operation_id = "livez",
    tag = "health",
    responses((status = 200, description = "Alive.", body = schemas::Liveness)),
)]
async fn livez() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "status": "alive" }))
}

/// Readiness
///
/// Ready only after the startup checks passed, while the database is healthy and the instance
/// is not shutting down.
#[utoipa::path(
    method(get, head),
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready.", body = schemas::Readiness),
        (status = 503, description = "Not ready, with the reason.", body = schemas::Readiness),
    ),
)]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let reason = crate::health::not_ready_reason(
        &state.health.load(),
        &state.lifecycle,
        state.settings.health.interval,
    );
    match reason {
        None => HttpResponse::Ok()
            .insert_header(no_store())
            .json(json!({ "status": "ready" })),
        Some(reason) => {
            let mut res = HttpResponse::ServiceUnavailable()
                .insert_header(no_store())
                .json(json!({ "status": "not_ready", "reason": reason }));
            res.extensions_mut().insert(KeepBody);
            res
        }
    }
}
