//! The outermost middleware: request id, request timeout, panic catching, problem+json for
//! every error response, one access-log line per request, and the request's Prometheus
//! series (`metrics::RequestTimer`: the route template it already names, never a raw path).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::FutureExt;
use unioneyes_actors::analytics::method_name;

use super::body_watch::{self, HeldBody, PayloadHold};
use crate::error::{AppError, Problem, PROBLEM_JSON};
use crate::metrics::RequestTimer;
use crate::state::AppState;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Put in a response's extensions by a handler whose error-status body is the answer itself
/// (the health report); every other error response leaves as problem+json.
#[derive(Debug, Clone, Copy)]
pub struct KeepBody;

/// The request id, in the request's extensions for handlers and other middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client-sent id is kept when it is 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| s.to_string())
}

pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // One sane id is kept; none, an insane one or several get a fresh id.
    let mut sent = req.headers().get_all(&X_REQUEST_ID);
    let request_id = match (sent.next(), sent.next()) {
        (Some(one), None) => sane_request_id(one),
        _ => None,
    }
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // The request cannot be cloned across `next.call` (routing needs it unshared): keep what
    // the error paths need.
    let method = req.method().clone();
    let instance: String = req.path().chars().take(512).collect();
    let state = req.app_data::<web::Data<AppState>>();
    let timeout = state
        .map(|s| s.settings.server.request_timeout)
        .unwrap_or(std::time::Duration::from_secs(30));
    // Records on `finish`; dropped unfinished (the client went away) it records ABORTED.
    let timer = RequestTimer::start(
        state.map(|s| Arc::clone(&s.metrics)),
        method_name(method.as_str()),
        started,
    );

    // Request bodies are accepted only uncompressed: no decompression bombs.
    let encoded = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        let err = AppError::UnsupportedMediaType(
            "Compressed request bodies are not accepted; send the body without Content-Encoding."
                .into(),
        );
        let mut response = finalize(&instance, &request_id, err.error_response());
        stamp_headers(response.headers_mut(), &request_id);
        log::info!(
            target: "access",
            "{request_id} {method} ENCODED 415 {}us",
            started.elapsed().as_micros()
        );
        timer.finish("ENCODED", 415);
        return Ok(req.into_response(response));
    }
    let body_wait = body_watch::watch(&mut req);
    let mut abort_line = AbortLine {
        request_id: &request_id,
        method: &method,
        started,
        armed: true,
    };
    let outcome = tokio::time::timeout(
        timeout,
        // Inside the future, so a panic while routing is caught too.
        AssertUnwindSafe(async move { next.call(req).await }).catch_unwind(),
    )
    .await;
    // The payload of a request cut while its body was still arriving, kept by the 408's body.
    let mut hold = None;
    let (res, route) = match outcome {
        Ok(Ok(Ok(res))) => {
            let route = route_of(res.request());
            let (http_req, response) = res.into_parts();
            let response = finalize(&instance, &request_id, response.map_into_boxed_body());
            (Ok(ServiceResponse::new(http_req, response)), route)
        }
        Ok(Ok(Err(e))) => (Err(e.error_response()), "UNMATCHED".to_string()),
        Ok(Err(_panic)) => {
            log::error!("request {request_id}: handler panicked");
            let err = AppError::internal("handler panicked");
            (Err(err.error_response()), "PANIC".to_string())
        }
        Err(_elapsed) if body_wait.as_ref().is_some_and(|w| w.waiting()) => {
            hold = body_wait.as_ref().map(|w| w.hold());
            (
                Err(AppError::BodyTimeout.error_response()),
                "TIMEOUT".to_string(),
            )
        }
        Err(_elapsed) => (
            Err(AppError::Timeout.error_response()),
            "TIMEOUT".to_string(),
        ),
    };
    abort_line.armed = false;
    let status = match &res {
        Ok(r) => r.status(),
        Err(r) => r.status(),
    };
    log::log!(
        target: "access",
        access_level(&route, status),
        "{request_id} {method} {route} {} {}us",
        status.as_u16(),
        started.elapsed().as_micros()
    );
    timer.finish(route, status.as_u16());
    match res {
        Ok(mut res) => {
            stamp_headers(res.headers_mut(), &request_id);
            Ok(res)
        }
        // Without the request we cannot build a ServiceResponse: hand actix a finished error
        // whose response is already complete.
        Err(response) => {
            let mut response = finalize(&instance, &request_id, response);
            stamp_headers(response.headers_mut(), &request_id);
            let mut finished = Finished::from(response);
            finished.hold = hold;
            Err(finished.into())
        }
    }
}

/// The access line of a request whose future was dropped before it finished: the client went
/// away (or the connection broke mid-body), counted as `ABORTED` 499 like the metrics do.
struct AbortLine<'a> {
    request_id: &'a str,
    method: &'a actix_web::http::Method,
    started: Instant,
    armed: bool,
}

impl Drop for AbortLine<'_> {
    fn drop(&mut self) {
        if self.armed {
            log::info!(
                target: "access",
                "{} {} ABORTED 499 {}us",
                self.request_id,
                self.method,
                self.started.elapsed().as_micros()
            );
        }
    }
}

/// What every answer carries: its request id, and `nosniff` (JSON and problem bodies echo
/// request text such as the path; no browser may read them as anything but their type).
fn stamp_headers(headers: &mut header::HeaderMap, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(X_REQUEST_ID, v);
    }
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
}

/// An error response that is already final (problem body, request id, headers).
#[derive(Debug, derive_more::Display)]
#[display("{status}")]
struct Finished {
    status: actix_web::http::StatusCode,
    /// The unread payload of a 408 on a stalled body: while the answer holds it, actix closes
    /// the connection (and says so) instead of draining the rest of the body.
    hold: Option<PayloadHold>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: String,
}

impl std::error::Error for Finished {}

impl From<HttpResponse<BoxBody>> for Finished {
    fn from(res: HttpResponse<BoxBody>) -> Self {
        let status = res.status();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let body = actix_web::body::to_bytes_limited(res.into_body(), 64 * 1024)
            .now_or_never()
            .and_then(|r| r.ok())
            .and_then(|r| r.ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Self {
            status,
            hold: None,
            headers,
            body,
        }
    }
}

impl ResponseError for Finished {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = match &self.hold {
            Some(hold) => BoxBody::new(HeldBody::new(self.body.clone().into(), hold.clone())),
            None => BoxBody::new(self.body.clone()),
        };
        let mut res = HttpResponse::with_body(self.status, body);
        for (k, v) in &self.headers {
            res.headers_mut().append(k.clone(), v.clone());
        }
        res
    }
}

/// The route template, never the raw path (which can carry ids and personal data).
pub fn route_of(req: &HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "UNMATCHED".to_string())
}

/// Error responses leave as problem+json with the request id and instance, whoever made them.
fn finalize(instance: &str, request_id: &str, res: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let carried = res.extensions().get::<Problem>().cloned();
    let mut problem = match carried {
        Some(p) => p,
        // A body meant to be read as it is (a 503 health report).
        None if res.extensions().get::<KeepBody>().is_some() => return res,
        None => Problem::for_status(status),
    };
    problem.instance = Some(instance.to_string());
    problem.request_id = Some(request_id.to_string());
    let mut out = HttpResponse::with_body(status, BoxBody::new(problem.to_body()));
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    let headers = out.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    // An error is about this request only; under /api (per-caller answers) say whose it is,
    // also for the errors made here, outside the /api scope's default headers.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if instance.starts_with("/api/") && !headers.contains_key(header::VARY) {
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Authorization, Cookie"),
        );
    }
    out
}

impl actix_web::FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        std::future::ready(Ok(id))
    }
}

/// Successful load-balancer and container probes (every few seconds, from every poller) log at
/// debug, so they do not drown the access log; everything else, failed probes included, at info.
fn access_level(route: &str, status: StatusCode) -> log::Level {
    let probe = matches!(route, "/livez" | "/readyz" | "/api/health");
    if probe && status.is_success() {
        log::Level::Debug
    } else {
        log::Level::Info
    }
}
