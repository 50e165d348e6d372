//! Records every request for analytics: route template (or `UNMATCHED`), method (`_OTHER`
//! outside the standard set), status, duration in µs, tenant (our organization id from the
//! verified identity, `platform-admin`, or `anonymous`), request id and the UTC end time.
//! Health routes and the static files of the dashboard and docs UI are not recorded. The
//! record goes to the worker's buffer (`WorkerBuffer`: handed to the analytics queue in
//! batches of up to 64 or every 10 ms, never waiting; a full queue drops them, counted).
//!
//! Wrapped at the App level just inside `request_context`, so unmatched routes are recorded
//! too (`Analytics::new(…)`, one buffer per worker). The template is read after
//! routing (`match_pattern` then names the resource that really served, guards included,
//! without matching the path again). A request whose future is dropped is recorded from a
//! guard under the names the access log uses: `TIMEOUT` (the request timeout, 503; 408 when
//! the handler was waiting for the client's body), `PANIC` (500), or `ABORTED` (the client
//! went away, 499). Matching the path before routing to name those would cost every request a
//! second route match (measured: several percent of a trivial route's throughput;
//! docs/benchmarks.md).

use std::borrow::Cow;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, HttpMessage, HttpRequest};
use chrono::Utc;
use unioneyes_actors::analytics::{
    client_cut, method_name, Record, Recorder, ANONYMOUS, PLATFORM_ADMIN, UNMATCHED,
};

use super::body_watch::BodyWait;
use super::worker_buffer::WorkerBuffer;
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
struct InFlight {
    buffer: Rc<WorkerBuffer>,
    started: Instant,
    method: &'static str,
    request_id: String,
    timeout: Duration,
    body_wait: Option<BodyWait>,
    done: bool,
}

impl InFlight {
    fn finish(&mut self, route: String, status: u16, tenant: Cow<'static, str>) {
        self.done = true;
        self.buffer.push(Record {
            route,
            method: self.method,
            status,
            duration_us: self.duration(status).as_micros() as u64,
            tenant,
            request_id: std::mem::take(&mut self.request_id),
            ended_at: Utc::now(),
        });
    }

    /// The service's time: waiting for the client's body is the client's (`BodyWait`), so a
    /// body trickled in just before the timeout, or abandoned, does not pass for a slow
    /// service. Requests the client cut (408, 499) keep their whole time: they count under
    /// their own endpoint only (`client_cut`), which shows how long they were held.
    fn duration(&self, status: u16) -> Duration {
        let total = self.started.elapsed();
        if client_cut(status) {
            return total;
        }
        let client = self
            .body_wait
            .as_ref()
            .map_or(Duration::ZERO, BodyWait::waited);
        total.saturating_sub(client)
    }

    /// The request ends without a record (a route that is not recorded).
    fn skip(&mut self) {
        self.done = true;
    }
}

impl Drop for InFlight {
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

/// The middleware: `App::wrap(Analytics::new(state.analytics.as_ref()))`; `None` (analytics
/// off) passes every request through.
#[derive(Clone)]
pub struct Analytics {
    handle: Option<(Recorder, Arc<AtomicUsize>)>,
}

impl Analytics {
    pub fn new(analytics: Option<&crate::analytics::Analytics>) -> Self {
        Self {
            handle: analytics.map(|a| (a.recorder.clone(), Arc::clone(&a.worker_buffers))),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Analytics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AnalyticsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    /// Once per worker, on the worker's thread: the worker's own buffer.
    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AnalyticsService {
            service: Rc::new(service),
            buffer: self
                .handle
                .as_ref()
                .map(|(r, alive)| WorkerBuffer::start(r.clone(), Arc::clone(alive))),
        }))
    }
}

pub struct AnalyticsService<S> {
    service: Rc<S>,
    buffer: Option<Rc<WorkerBuffer>>,
}

impl<S, B> Service<ServiceRequest> for AnalyticsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let buffer = match &self.buffer {
            Some(b) if !UNRECORDED_PATHS.contains(&req.path()) => Rc::clone(b),
            _ => return Box::pin(service.call(req)),
        };
        Box::pin(record(service, buffer, req))
    }
}

async fn record<S, B>(
    service: Rc<S>,
    buffer: Rc<WorkerBuffer>,
    req: ServiceRequest,
) -> Result<ServiceResponse<B>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return service.call(req).await;
    };
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let mut in_flight = InFlight {
        buffer,
        started: Instant::now(),
        method: method_name(req.method().as_str()),
        request_id,
        timeout: state.settings.server.request_timeout,
        body_wait: req.extensions().get::<BodyWait>().cloned(),
        done: false,
    };
    let result = service.call(req).await;
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
                in_flight.skip();
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
