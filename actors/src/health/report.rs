//! The health report published by the supervisor, and the verdict a reader derives from it.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::probe::Impact;

/// Status of one check or of the whole instance. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not configured on purpose (an optional service); never lowers the verdict.
    Disabled,
    Healthy,
    Degraded,
    Unhealthy,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Disabled => "disabled",
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// The result of one check as shown in /api/health.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: Status,
    /// How this check weighs on the instance verdict.
    #[serde(skip)]
    pub impact: Impact,
    pub response_time_ms: Option<f64>,
    pub checked_at: DateTime<Utc>,
    /// Public, generic text: never driver errors, hosts, names or variables.
    pub message: &'static str,
    /// Admin only: a sanitized error class such as `connection_refused`.
    pub error_class: Option<&'static str>,
    /// Admin only: pool statistics and the like.
    pub details: Option<serde_json::Value>,
}

/// What the supervisor publishes after every cycle.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// False until the supervisor's first cycle finished.
    pub measured: bool,
    pub checked_at: DateTime<Utc>,
    pub checks: Vec<CheckResult>,
}

/// Shared, lock-free cell holding the newest report. Readers never wait on the actor.
pub type HealthCell = Arc<ArcSwap<HealthReport>>;

/// The instance verdict a reader derives from a report at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Why the instance is not healthy, as a stable code (`stale`, `starting`, `database`...).
    pub reason: Option<&'static str>,
}

impl HealthReport {
    /// The report before the first probe cycle: unhealthy, reason `starting`.
    pub fn starting(now: DateTime<Utc>) -> Self {
        Self {
            measured: false,
            checked_at: now,
            checks: Vec::new(),
        }
    }

    pub fn new_cell(now: DateTime<Utc>) -> HealthCell {
        Arc::new(ArcSwap::from_pointee(Self::starting(now)))
    }

    /// Overall verdict: only critical checks can make the instance unhealthy, and a report older
    /// than `stale_after` is unhealthy whatever it says (a cached "healthy" never outlives its prober).
    pub fn verdict(&self, now: DateTime<Utc>, stale_after: Duration) -> Verdict {
        if !self.measured {
            return Verdict {
                status: Status::Unhealthy,
                reason: Some("starting"),
            };
        }
        let age = now.signed_duration_since(self.checked_at);
        if age.to_std().map(|a| a > stale_after).unwrap_or(false) {
            return Verdict {
                status: Status::Unhealthy,
                reason: Some("stale"),
            };
        }
        let mut verdict = Verdict {
            status: Status::Healthy,
            reason: None,
        };
        for check in &self.checks {
            let weight = match check.impact {
                Impact::Critical => check.status,
                Impact::NonCritical => check.status.min(Status::Degraded),
            };
            if weight > verdict.status {
                verdict = Verdict {
                    status: weight,
                    reason: Some(check.name),
                };
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &'static str, status: Status, impact: Impact) -> CheckResult {
        CheckResult {
            name,
            status,
            impact,
            response_time_ms: None,
            checked_at: Utc::now(),
            message: "",
            error_class: None,
            details: None,
        }
    }

    fn report(checks: Vec<CheckResult>) -> HealthReport {
        HealthReport {
            measured: true,
            checked_at: Utc::now(),
            checks,
        }
    }

    const STALE: Duration = Duration::from_secs(15);

    #[test]
    fn starting_report_is_unhealthy() {
        let v = HealthReport::starting(Utc::now()).verdict(Utc::now(), STALE);
        assert_eq!(v.status, Status::Unhealthy);
        assert_eq!(v.reason, Some("starting"));
    }

    #[test]
    fn only_critical_checks_make_it_unhealthy() {
        let r = report(vec![
            check("database", Status::Healthy, Impact::Critical),
            check("redis", Status::Unhealthy, Impact::NonCritical),
            check("sentry", Status::Disabled, Impact::NonCritical),
        ]);
        let v = r.verdict(Utc::now(), STALE);
        assert_eq!(v.status, Status::Degraded);
        assert_eq!(v.reason, Some("redis"));

        let r = report(vec![
            check("database", Status::Unhealthy, Impact::Critical),
            check("redis", Status::Unhealthy, Impact::NonCritical),
        ]);
        assert_eq!(r.verdict(Utc::now(), STALE).status, Status::Unhealthy);
        assert_eq!(r.verdict(Utc::now(), STALE).reason, Some("database"));
    }

    #[test]
    fn disabled_services_keep_it_healthy() {
        let r = report(vec![
            check("database", Status::Healthy, Impact::Critical),
            check("sentry", Status::Disabled, Impact::NonCritical),
        ]);
        assert_eq!(r.verdict(Utc::now(), STALE).status, Status::Healthy);
    }

    #[test]
    fn an_old_report_is_stale_even_when_healthy() {
        let mut r = report(vec![check("database", Status::Healthy, Impact::Critical)]);
        r.checked_at = Utc::now() - chrono::Duration::seconds(16);
        let v = r.verdict(Utc::now(), STALE);
        assert_eq!(v.status, Status::Unhealthy);
        assert_eq!(v.reason, Some("stale"));
    }
}
