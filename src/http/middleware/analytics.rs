//! Records every request for analytics: route template (or `UNMATCHED`), method (`_OTHER`
//! outside the standard set), status, duration in µs, tenant (our organization id from the
//! verified identity, `platform-admin`, or `anonymous`), request id and the UTC end time.
//! Health routes and the static files of the dashboard and docs UI are not recorded. The
//! record goes to the analytics queue without waiting; a full queue drops it (counted).
//!
//! Wrapped at the App level just inside `request_context`, so unmatched routes are recorded
//! too. The template is read after routing (`match_pattern` then names the resource that really
//! served, guards included, without matching the path again). A request whose future is dropped
//! is recorded from a guard under the names the access log uses: `TIMEOUT` (the request timeout,
//! 503; 408 when the handler was waiting for the client's body), `PANIC` (500), or `ABORTED`
//! (the client went away, 499). Matching the path before routing to name those would cost
//! every request a second route match (measured: several percent of a trivial route's
//! throughput; docs/benchmarks.md).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use chrono::Utc;
use unioneyes_actors::analytics::{
    method_name, Record, Recorder, ANONYMOUS, PLATFORM_ADMIN, UNMATCHED,
};

use super::body_watch::BodyWait;
use super::RequestId;
use crate::auth::{Authn, Identity};
use crate::state::AppState;

/// Routes never recorded: health and metrics (checked on the raw path first, the cheap common
/// case, then on the matched route).
pub const UNRECORDED_PATHS: [&str; 4] = ["/api/health", "/livez", "/readyz", "/metrics"];

/// Route templates of static files (the dashboard's, the docs UI's, the CSRF helper): page
/// loads, not API use, which would otherwise crowd the endpoint table (a dashboard sign-in
/// fetches a dozen of them). Prometheus still counts them. Checked on the matched route.
pub const UNRECORDED_ASSET_ROUTES: [&str; 7] = [
    "/admin",
    "/admin/",
    "/admin/{file}",
    "/static/csrf.js",
    "/api/docs",
    "/api/docs/",
    "/api/docs/{file}",
];

/// The tenant analytics names for a request.
pub fn tenant_of(req: &HttpRequest, state: &AppState) -> Cow<'static, str> {
    let ext = req.extensions();
    match ext.get::<Identity>().map(|i| &i.authn) {
        Some(Authn::PlatformAdmin) => Cow::Borrowed(PLATFORM_ADMIN),
        Some(Authn::Session(s)) => s
            .org_external_id
            .as_deref()
            .and_then(|org| state.tenants.peek(org))
            .map_or(Cow::Borrowed(ANONYMOUS), |id| Cow::Owned(id.to_string())),
        _ => Cow::Borrowed(ANONYMOUS),
    }
}

/// What is known before the request runs; records from `Drop` if the request never finishes.
/// Borrows the recorder from the application state the middleware holds (no handle cloned
/// per request).
struct InFlight<'a> {
    recorder: &'a Recorder,
    started: Instant,
    method: &'static str,
    request_id: String,
    timeout: Duration,
    body_wait: Option<BodyWait>,
    done: bool,
}

impl InFlight<'_> {
    fn finish(&mut self, route: String, status: u16, tenant: Cow<'static, str>) {
        self.done = true;
        self.recorder.record(Record {
            route,
            method: self.method,
            status,
            duration_us: self.started.elapsed().as_micros() as u64,
            tenant,
            request_id: std::mem::take(&mut self.request_id),
            ended_at: Utc::now(),
        });
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // A panic answers 500, the request timeout 503; otherwise the client went away (499).
        let (route, status) = if std::thread::panicking() {
            ("PANIC", 500)
        } else if self.started.elapsed() >= self.timeout {
            let body_stalled = self.body_wait.as_ref().is_some_and(BodyWait::waiting);
            ("TIMEOUT", if body_stalled { 408 } else { 503 })
        } else {
            ("ABORTED", 499)
        };
        self.finish(route.to_string(), status, Cow::Borrowed(ANONYMOUS));
    }
}

pub async fn analytics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let recorder = match &state.analytics {
        Some(a) if !UNRECORDED_PATHS.contains(&req.path()) => &a.recorder,
        _ => return next.call(req).await,
    };
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let mut in_flight = InFlight {
        recorder,
        started: Instant::now(),
        method: method_name(req.method().as_str()),
        request_id,
        timeout: state.settings.server.request_timeout,
        body_wait: req.extensions().get::<BodyWait>().cloned(),
        done: false,
    };
    let result = next.call(req).await;
    match &result {
        Ok(res) => {
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED.to_string());
            if UNRECORDED_PATHS.contains(&route.as_str())
                || UNRECORDED_ASSET_ROUTES.contains(&route.as_str())
            {
                // Static files, or a health route reached by an encoded spelling (`/%6civez`)
                // that the raw-path check above did not know: the route decides.
                in_flight.done = true;
            } else {
                let tenant = tenant_of(res.request(), &state);
                in_flight.finish(route, res.status().as_u16(), tenant);
            }
        }
        Err(e) => {
            // An inner middleware refused with an error: the request is gone with it.
            let status = e.as_response_error().status_code().as_u16();
            in_flight.finish(UNMATCHED.to_string(), status, Cow::Borrowed(ANONYMOUS));
        }
    }
    result
}
