//! Health as the HTTP side shows it: the checks computed once at boot, and the JSON views of
//! the supervisor's cached report (ours and the IETF health+json draft).

mod services;
mod view;

pub use services::service_checks;
pub use view::{health_body, health_json_body, HealthView};

use std::time::Duration;

use chrono::Utc;
use unioneyes_actors::health::{HealthReport, Status, Verdict};

use crate::state::Lifecycle;

/// The instance verdict now, as /api/health, /readyz and the metrics say it: unhealthy while
/// shutting down, or when the report is missing or older than 3 probe intervals; otherwise
/// the worst weighed check.
pub fn instance_verdict(
    report: &HealthReport,
    lifecycle: &Lifecycle,
    interval: Duration,
) -> Verdict {
    if lifecycle.is_shutting_down() {
        return Verdict {
            status: Status::Unhealthy,
            reason: Some("shutting_down"),
        };
    }
    report.verdict(Utc::now(), interval * 3)
}

/// Why the instance is not ready, or None when it is: what /readyz answers and the
/// `unioneyes_ready` gauge shows. Not ready while stopping, before the startup checks passed,
/// and while the verdict is unhealthy.
pub fn not_ready_reason(
    report: &HealthReport,
    lifecycle: &Lifecycle,
    interval: Duration,
) -> Option<&'static str> {
    if lifecycle.is_shutting_down() {
        return Some("shutting_down");
    }
    if !lifecycle.is_ready() {
        return Some("starting");
    }
    match instance_verdict(report, lifecycle, interval) {
        Verdict {
            status: Status::Unhealthy,
            reason,
        } => Some(reason.unwrap_or("unhealthy")),
        _ => None,
    }
}
