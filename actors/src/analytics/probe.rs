//! The analytics entry of the health report: backlog, drops and write failures, read from the
//! shared counters (no I/O). Degraded while Redis writes fail or when records were dropped
//! since the previous check; never more (analytics is not critical).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::queue::Recorder;
use crate::health::{Probe, ProbeOutcome, Status};

pub struct AnalyticsProbe {
    recorder: Recorder,
    dropped_seen: AtomicU64,
}

impl AnalyticsProbe {
    pub fn new(recorder: Recorder) -> Self {
        let dropped = recorder.snapshot().dropped;
        Self {
            recorder,
            dropped_seen: AtomicU64::new(dropped),
        }
    }
}

impl Probe for AnalyticsProbe {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn check(&self) -> BoxFuture<'static, ProbeOutcome> {
        let s = self.recorder.snapshot();
        let newly_dropped = s.dropped > self.dropped_seen.swap(s.dropped, Relaxed);
        let last_flush = self.recorder.counters().last_flush_ms.load(Relaxed);
        let (status, message, class) = if s.consecutive_failures > 0 {
            (
                Status::Degraded,
                "writes failing; buffering in memory",
                Some("redis_unavailable"),
            )
        } else if newly_dropped {
            (
                Status::Degraded,
                "queue full; requests dropped",
                Some("queue_full"),
            )
        } else {
            (Status::Healthy, "recording", None)
        };
        let mut details = serde_json::to_value(s).unwrap_or_default();
        details["backlog"] = serde_json::json!(s.queued + s.unflushed);
        details["lastFlushAt"] =
            serde_json::json!(chrono::DateTime::from_timestamp_millis(last_flush)
                .filter(|_| last_flush > 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        Box::pin(async move {
            ProbeOutcome {
                status,
                latency: Some(Duration::ZERO),
                message,
                error_class: class,
                details: Some(details),
            }
        })
    }
}
