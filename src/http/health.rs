//! /api/health, /livez and /readyz: answered from the supervisor's cached report, never by
//! probing. No authentication, rate limiting or analytics here.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;
use unioneyes_actors::health::{Status, Verdict};

use super::method_not_allowed;
use super::middleware::KeepBody;
use crate::auth::is_admin_request;
use crate::health::{health_body, health_json_body, HealthView};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(probe_resource("/api/health", health))
        .service(probe_resource("/livez", livez))
        .service(probe_resource("/readyz", readyz));
}

/// A GET/HEAD resource with a 405 for every other method.
fn probe_resource<F, Args>(path: &'static str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
        .default_service(method_not_allowed("GET, HEAD"))
}

/// The instance verdict now: the cached report, unless the instance is stopping.
fn current_verdict(state: &AppState) -> Verdict {
    if state.lifecycle.is_shutting_down() {
        return Verdict {
            status: Status::Unhealthy,
            reason: Some("shutting_down"),
        };
    }
    let stale_after = state.settings.health.interval * 3;
    state.health.load().verdict(Utc::now(), stale_after)
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

async fn livez() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "status": "alive" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let reason = if state.lifecycle.is_shutting_down() {
        Some("shutting_down")
    } else if !state.lifecycle.is_ready() {
        Some("starting")
    } else {
        match current_verdict(&state) {
            Verdict {
                status: Status::Unhealthy,
                reason,
            } => Some(reason.unwrap_or("unhealthy")),
            _ => None,
        }
    };
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
