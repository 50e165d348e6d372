//! Request series: a count and a latency histogram per method, route template and status
//! class, recorded once per request by `request_context` through a `RequestTimer`.
//!
//! Labels stay bounded: the route is the template actix matched (`/api/members/{id}`) or a
//! fixed name (`UNMATCHED`, `TIMEOUT`, `PANIC`, `ENCODED`, `ABORTED`), never a raw path; the
//! method is a standard name or `_OTHER` (the analytics helper `method_name`).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::Metrics;

/// Upper bounds (seconds) of the latency buckets: 1 ms to 30 s (the longest request timeout
/// anyone should run is well inside the last bucket; beyond it, `+Inf`).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route of a request whose future was dropped before it answered (the client went away).
pub const ABORTED: &str = "ABORTED";
/// The status recorded for it (nginx's "client closed request").
pub const ABORTED_STATUS: u16 = 499;

/// One series of the request families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: Cow<'static, str>,
    pub status_class: &'static str,
}

/// `2xx`, `3xx`, `4xx`, `5xx` (and `1xx`); anything outside 100–599 counts as `5xx`.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

fn new_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The two request families.
#[derive(Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            new_histogram,
        );
        registry.register(
            "http_requests",
            "Requests answered, by method, route template and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from the first middleware to the response head, by method, route template and status class",
            Unit::Seconds,
            duration.clone(),
        );
        Self { requests, duration }
    }

    /// Count one request and its latency. Allocates only the first time a label set is seen.
    pub fn observe(&self, labels: &RequestLabels, elapsed: Duration) {
        self.requests.get_or_create(labels).inc();
        self.duration
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// Times one request; `finish` records it, and a timer dropped unfinished (the client went
/// away, the future was cancelled) records it as `ABORTED` / 499.
pub struct RequestTimer {
    metrics: Option<Arc<Metrics>>,
    method: &'static str,
    started: Instant,
}

impl RequestTimer {
    /// `metrics` None (no application state): records nothing.
    pub fn start(metrics: Option<Arc<Metrics>>, method: &'static str, started: Instant) -> Self {
        Self {
            metrics,
            method,
            started,
        }
    }

    pub fn finish(mut self, route: impl Into<Cow<'static, str>>, status: u16) {
        self.record(route.into(), status);
    }

    fn record(&mut self, route: Cow<'static, str>, status: u16) {
        if let Some(metrics) = self.metrics.take() {
            let labels = RequestLabels {
                method: self.method,
                route,
                status_class: status_class(status),
            };
            metrics.http().observe(&labels, self.started.elapsed());
        }
    }
}

impl Drop for RequestTimer {
    fn drop(&mut self) {
        self.record(Cow::Borrowed(ABORTED), ABORTED_STATUS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    #[test]
    fn status_classes() {
        for (status, class) in [
            (101, "1xx"),
            (200, "2xx"),
            (204, "2xx"),
            (304, "3xx"),
            (404, "4xx"),
            (499, "4xx"),
            (500, "5xx"),
            (503, "5xx"),
            (99, "5xx"),
            (600, "5xx"),
        ] {
            assert_eq!(status_class(status), class, "{status}");
        }
    }

    #[test]
    fn observations_render_as_one_series_per_label_set() {
        let mut registry = Registry::with_prefix("unioneyes");
        let http = HttpMetrics::register(&mut registry);
        let labels = |route: &'static str, class| RequestLabels {
            method: "GET",
            route: Cow::Borrowed(route),
            status_class: class,
        };
        http.observe(
            &labels("/api/members/{id}", "2xx"),
            Duration::from_millis(3),
        );
        // An owned route equal to a borrowed one is the same series.
        let owned = RequestLabels {
            route: Cow::Owned("/api/members/{id}".to_string()),
            ..labels("", "2xx")
        };
        http.observe(&owned, Duration::from_millis(40));
        http.observe(&labels("UNMATCHED", "4xx"), Duration::from_micros(200));
        let mut out = String::new();
        encode(&mut out, &registry).expect("encode");
        let series = r#"{method="GET",route="/api/members/{id}",status_class="2xx"}"#;
        assert!(
            out.contains(&format!("unioneyes_http_requests_total{series} 2")),
            "{out}"
        );
        assert!(out.contains("# TYPE unioneyes_http_request_duration_seconds histogram"));
        assert!(out.contains(&format!(
            "unioneyes_http_request_duration_seconds_count{series} 2"
        )));
        assert!(out.contains(r#"route="/api/members/{id}",status_class="2xx",le="0.005"} 1"#));
        assert!(out.contains(r#"route="/api/members/{id}",status_class="2xx",le="0.05"} 2"#));
        assert!(out.contains(
            r#"unioneyes_http_requests_total{method="GET",route="UNMATCHED",status_class="4xx"} 1"#
        ));
    }
}
