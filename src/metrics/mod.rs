//! Prometheus metrics (docs/monitoring.md): the registry and its families (`Metrics`, one per
//! process, an `Arc` in `AppState`), the request series recorded on the request path (`http`),
//! the series read at scrape time from what the service already keeps (`collect`), and
//! `GET /metrics` with its exposure rules (`endpoint`).

mod collect;
mod endpoint;
mod http;

use std::fmt;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

pub use collect::{instance_status, Sources};
pub use endpoint::{authorize, exposure, routes, serve_internal, Api as OpenApiDoc, Exposure};
pub use http::{status_class, HttpMetrics, RequestLabels, RequestTimer, ABORTED, DURATION_BUCKETS};

/// The `Content-Type` of a scrape: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every series of the service; names start with `unioneyes_`.
pub struct Metrics {
    registry: Registry,
    http: HttpMetrics,
}

impl Metrics {
    pub fn new(sources: Sources) -> Self {
        let mut registry = Registry::with_prefix("unioneyes");
        let http = HttpMetrics::register(&mut registry);
        registry.register_collector(Box::new(collect::StateCollector(sources)));
        Self { registry, http }
    }

    /// The request families (`request_context` records into them).
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// The scrape body, in the Prometheus text format.
    pub fn render(&self) -> Result<String, fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
