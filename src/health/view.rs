//! Renders the cached health report. Anonymous callers get statuses only; admins also get
//! latencies' context: pool statistics and sanitized error classes. No driver text, host,
//! port, database, role, URL or variable name ever reaches a body.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use unioneyes_actors::health::{HealthReport, Status, Verdict};

/// Everything a health body is made of, gathered by the handler.
pub struct HealthView<'a> {
    pub report: &'a HealthReport,
    pub verdict: Verdict,
    pub version: &'static str,
    pub uptime_secs: u64,
    pub admin: bool,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn round_ms(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// The service's own format (`application/json`).
pub fn health_body(v: &HealthView<'_>) -> Value {
    let checks: Vec<Value> = v
        .report
        .checks
        .iter()
        .map(|c| {
            let mut o = json!({
                "name": c.name,
                "status": c.status,
                "responseTimeMs": c.response_time_ms.map(round_ms),
                "checkedAt": time(c.checked_at),
                "message": c.message,
            });
            if v.admin {
                o["errorClass"] = json!(c.error_class);
                o["details"] = c.details.clone().unwrap_or(Value::Null);
            }
            o
        })
        .collect();
    json!({
        "status": v.verdict.status,
        "reason": v.verdict.reason,
        "version": v.version,
        "uptimeSeconds": v.uptime_secs,
        "checkedAt": time(v.report.checked_at),
        "checks": checks,
    })
}

fn ietf_status(s: Status) -> &'static str {
    match s {
        Status::Healthy | Status::Disabled => "pass",
        Status::Degraded => "warn",
        Status::Unhealthy => "fail",
    }
}

/// The IETF health-check draft's format (`application/health+json`): same verdict.
pub fn health_json_body(v: &HealthView<'_>) -> Value {
    let mut checks = Map::new();
    for c in &v.report.checks {
        // `component:measurement`: the datastores' probe round trip; analytics' state (its
        // check reads in-memory counters, so no time is reported); the others' configuration.
        let (key, component, timed) = match c.name {
            "database" | "redis" => (format!("{}:responseTime", c.name), "datastore", true),
            "analytics" => ("analytics:status".to_string(), "component", false),
            _ => (format!("{}:configuration", c.name), "component", false),
        };
        let mut entry = json!({
            "componentType": component,
            "status": ietf_status(c.status),
            "time": time(c.checked_at),
            "output": c.message,
        });
        if let Some(ms) = c.response_time_ms.filter(|_| timed) {
            entry["observedValue"] = json!(round_ms(ms));
            entry["observedUnit"] = json!("ms");
        }
        if v.admin {
            entry["errorClass"] = json!(c.error_class);
            entry["details"] = c.details.clone().unwrap_or(Value::Null);
        }
        checks.insert(key, Value::Array(vec![entry]));
    }
    let mut body = json!({
        "status": ietf_status(v.verdict.status),
        "version": v.version,
        "releaseId": v.version,
        "serviceId": "unioneyes-core",
        "description": "UnionEyes Core API",
        "checks": checks,
    });
    if let Some(reason) = v.verdict.reason {
        body["output"] = json!(reason);
    }
    body
}
