//! `GET /metrics`: where it is served and who may read it. Never public by default:
//!
//! - `METRICS_PORT` set: served only on the internal listener (`METRICS_HOST`, default
//!   127.0.0.1), which serves nothing else; the bearer token is required there too when
//!   `METRICS_TOKEN` is also set. The main port answers 404.
//! - only `METRICS_TOKEN` set: served on the main port to `Authorization: Bearer <token>`
//!   (compared in constant time); otherwise 401 problem+json.
//! - neither: the main port answers a problem+json 404, as for any unknown path.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use secrecy::SecretString;

use crate::auth::{bearer_token, token_matches};
use crate::config::MetricsSettings;
use crate::error::AppError;
use crate::http::get_or_head;
use crate::state::AppState;

pub const PATH: &str = "/metrics";

/// Where /metrics is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Nowhere: 404.
    Off,
    /// On the main port, to holders of METRICS_TOKEN.
    MainPort,
    /// Only on the internal listener (METRICS_PORT).
    InternalPort,
}

pub fn exposure(settings: &MetricsSettings) -> Exposure {
    match (settings.port, &settings.token) {
        (Some(_), _) => Exposure::InternalPort,
        (None, Some(_)) => Exposure::MainPort,
        (None, None) => Exposure::Off,
    }
}

/// 401 problem+json (with `WWW-Authenticate: Bearer`) unless the request carries `expected` as
/// its bearer token. The token is never logged or echoed.
pub fn authorize(req: &HttpRequest, expected: &SecretString) -> Result<(), AppError> {
    match bearer_token(req) {
        Some(presented) if token_matches(presented, expected) => Ok(()),
        Some(_) => Err(AppError::Unauthorized {
            code: "invalid_credentials",
            detail: "The bearer token is not valid for /metrics.".into(),
        }),
        None => Err(AppError::Unauthorized {
            code: "missing_credentials",
            detail: "/metrics needs the metrics token as a bearer token.".into(),
        }),
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No resource matches this path.".into())
}

fn scrape(state: &AppState) -> Result<HttpResponse, AppError> {
    let body = state
        .metrics
        .render()
        .map_err(|_| AppError::internal("metrics: the registry could not be encoded"))?;
    Ok(HttpResponse::Ok()
        .content_type(super::CONTENT_TYPE)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(body))
}

/// `/metrics` in the OpenAPI document (the main port's route).
#[derive(utoipa::OpenApi)]
#[openapi(paths(main_port))]
pub struct Api;

/// Prometheus metrics
///
/// The Prometheus text format (0.0.4), `Cache-Control: no-store`. Served on this port only
/// when `METRICS_TOKEN` is set and `METRICS_PORT` is not, to that bearer token; otherwise this
/// port answers 404 (with `METRICS_PORT` the metrics are on the internal listener).
#[utoipa::path(
    method(get, head),
    path = "/metrics",
    operation_id = "metrics",
    tag = "metrics",
    security(("metricsToken" = [])),
    responses(
        (status = 200, description = "Every `unioneyes_*` series.",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, response = crate::http::openapi::problems::Unauthorized),
        (status = 404, response = crate::http::openapi::problems::NotFound),
        (status = 500, response = crate::http::openapi::problems::InternalError),
    )
)]
async fn main_port(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let settings = &state.settings.metrics;
    match (exposure(settings), &settings.token) {
        (Exposure::MainPort, Some(token)) => authorize(&req, token)?,
        _ => return Err(not_found()),
    }
    scrape(&state)
}

async fn internal_port(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = &state.settings.metrics.token {
        authorize(&req, token)?;
    }
    scrape(&state)
}

/// /metrics on the main port (outside /api: no identity, CSRF or rate limit; see `exposure`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head(PATH, main_port));
}

/// The internal listener: /metrics and a problem+json 404 for everything else. One worker, no
/// request-context middleware (its scrapes are not counted in the request series).
pub fn serve_internal(
    listener: TcpListener,
    state: web::Data<AppState>,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(get_or_head(PATH, internal_port))
            .default_service(web::to(|| async { Err::<HttpResponse, _>(not_found()) }))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::AUTHORIZATION;
    use actix_web::test::TestRequest;
    use actix_web::ResponseError;

    fn settings(token: Option<&str>, port: Option<u16>) -> MetricsSettings {
        MetricsSettings {
            token: token.map(|t| SecretString::from(t.to_string())),
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn never_public_by_default() {
        assert_eq!(exposure(&settings(None, None)), Exposure::Off);
        assert_eq!(exposure(&settings(Some("t"), None)), Exposure::MainPort);
        assert_eq!(exposure(&settings(None, Some(0))), Exposure::InternalPort);
        assert_eq!(
            exposure(&settings(Some("t"), Some(9464))),
            Exposure::InternalPort
        );
    }

    #[test]
    fn bearer_token_in_constant_time() {
        let token = SecretString::from("metrics-token-0123456789abcdef-0123".to_string());
        let with = |value: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(v) = value {
                req = req.insert_header((AUTHORIZATION, v));
            }
            authorize(&req.to_http_request(), &token)
        };
        assert!(with(Some("Bearer metrics-token-0123456789abcdef-0123")).is_ok());
        assert!(with(Some("bearer metrics-token-0123456789abcdef-0123")).is_ok());
        for (value, code) in [
            (None, "missing_credentials"),
            (Some("Basic bWV0cmljcw=="), "missing_credentials"),
            (Some("Bearer "), "missing_credentials"),
            (
                Some("Bearer metrics-token-0123456789abcdef-012"),
                "invalid_credentials",
            ),
            (
                Some("Bearer metrics-token-0123456789abcdef-01234"),
                "invalid_credentials",
            ),
        ] {
            let err = with(value).expect_err("refused");
            assert_eq!(err.status_code(), 401, "{value:?}");
            assert_eq!(err.problem().code, code, "{value:?}");
            assert!(!err.problem().detail.contains("0123456789"), "never echoed");
        }
    }
}
