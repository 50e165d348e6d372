//! What a dependency check implements. The web side provides the PostgreSQL and Redis probes.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::report::Status;

/// How a check weighs on the instance verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Impact {
    /// Can make the instance unhealthy (only the database).
    Critical,
    /// Can make the instance degraded at worst.
    #[default]
    NonCritical,
}

/// What one probe run found. `message` is public; `error_class` and `details` are admin only.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    pub status: Status,
    pub latency: Option<Duration>,
    pub message: &'static str,
    pub error_class: Option<&'static str>,
    pub details: Option<serde_json::Value>,
}

impl ProbeOutcome {
    pub fn up(latency: Duration, message: &'static str) -> Self {
        Self {
            status: Status::Healthy,
            latency: Some(latency),
            message,
            error_class: None,
            details: None,
        }
    }

    pub fn down(message: &'static str, error_class: &'static str) -> Self {
        Self {
            status: Status::Unhealthy,
            latency: None,
            message,
            error_class: Some(error_class),
            details: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// A dependency check run by the supervisor under one deadline for the whole check.
pub trait Probe: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    fn impact(&self) -> Impact {
        Impact::NonCritical
    }

    /// Latency at or above which a successful check counts as degraded (debounced).
    fn slow_threshold(&self) -> Option<Duration> {
        None
    }

    /// Run less often than every cycle (e.g. the schema check); the last result is kept between runs.
    fn period(&self) -> Option<Duration> {
        None
    }

    fn check(&self) -> BoxFuture<'static, ProbeOutcome>;

    /// The error class reported when the deadline cuts the check. "timeout" unless the probe
    /// knows a more precise cause (a connection refused in the background, say).
    fn deadline_class(&self) -> &'static str {
        "timeout"
    }
}
