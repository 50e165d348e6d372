//! Scrape-time series: read, at each scrape, from what the service already keeps (the cached
//! health report, the pools' own statistics, the analytics queue counters, the rate limiter's
//! and the CSRF check's counters). Nothing here probes, locks a pool or waits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use unioneyes_actors::analytics::Recorder;
use unioneyes_actors::health::{HealthCell, HealthReport, Status};

use crate::cache::Cache;
use crate::csrf::{Csrf, Reason};
use crate::ratelimit::{preset, Backend, Limiter};
use crate::state::Lifecycle;

/// Everything the scrape-time series are read from (shared handles, cloned at startup).
pub struct Sources {
    pub health: HealthCell,
    /// HEALTH_INTERVAL_MS: a report older than 3 intervals is stale (unhealthy), as in /api/health.
    pub health_interval: Duration,
    pub lifecycle: Arc<Lifecycle>,
    pub db: deadpool_postgres::Pool,
    pub cache: Cache,
    /// None when analytics is off.
    pub analytics: Option<Recorder>,
    pub limiter: Arc<Limiter>,
    pub csrf: Arc<Csrf>,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("cache", &self.cache)
            .field("analytics", &self.analytics.is_some())
            .finish_non_exhaustive()
    }
}

type Label<'a> = (&'static str, &'a str);

fn gauges<N: EncodeGaugeValue + Copy>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &[(&[Label<'_>], N)],
) -> fmt::Result {
    let help = format!("{help}.");
    let mut metric = enc.encode_descriptor(name, &help, unit, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn counters<N: EncodeCounterValue + Copy>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: &[(&[Label<'_>], N)],
) -> fmt::Result {
    let help = format!("{help}.");
    let mut metric = enc.encode_descriptor(name, &help, None, MetricType::Counter)?;
    for (labels, value) in series {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// The statuses a check can have, in state-set order.
const CHECK_STATUSES: [Status; 4] = [
    Status::Healthy,
    Status::Degraded,
    Status::Unhealthy,
    Status::Disabled,
];

/// The instance status as /api/health says it.
pub fn instance_status(report: &HealthReport, lifecycle: &Lifecycle, interval: Duration) -> Status {
    crate::health::instance_verdict(report, lifecycle, interval).status
}

impl Sources {
    fn health(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let report = self.health.load();
        let overall = instance_status(&report, &self.lifecycle, self.health_interval);
        let series: Vec<([Label<'_>; 1], i64)> = CHECK_STATUSES[..3]
            .iter()
            .map(|s| ([("status", s.as_str())], i64::from(*s == overall)))
            .collect();
        let refs: Vec<(&[Label<'_>], i64)> = series.iter().map(|(l, v)| (&l[..], *v)).collect();
        gauges(
            enc,
            "health_status",
            "Instance verdict of /api/health: 1 for the current status, 0 for the others",
            None,
            &refs,
        )?;
        let age = if report.measured {
            let age = Utc::now().signed_duration_since(report.checked_at);
            age.to_std().unwrap_or_default().as_secs_f64()
        } else {
            -1.0
        };
        gauges(
            enc,
            "health_report_age",
            "Age of the cached health report (-1 before the first probe cycle)",
            Some(&Unit::Seconds),
            &[(&[], age)],
        )?;
        let mut states: Vec<([Label<'_>; 2], i64)> = Vec::new();
        let mut latency: Vec<([Label<'_>; 1], f64)> = Vec::new();
        for check in &report.checks {
            for s in CHECK_STATUSES {
                let labels = [("check", check.name), ("status", s.as_str())];
                states.push((labels, i64::from(check.status == s)));
            }
            if let Some(ms) = check.response_time_ms {
                latency.push(([("check", check.name)], ms / 1000.0));
            }
        }
        let refs: Vec<(&[Label<'_>], i64)> = states.iter().map(|(l, v)| (&l[..], *v)).collect();
        gauges(
            enc,
            "health_check_status",
            "Status of each dependency check in the cached health report: 1 for the current status",
            None,
            &refs,
        )?;
        let refs: Vec<(&[Label<'_>], f64)> = latency.iter().map(|(l, v)| (&l[..], *v)).collect();
        gauges(
            enc,
            "health_check_latency",
            "Duration of each check's last probe, for checks that report one",
            Some(&Unit::Seconds),
            &refs,
        )?;
        let ready = crate::health::not_ready_reason(&report, &self.lifecycle, self.health_interval)
            .is_none();
        gauges(
            enc,
            "ready",
            "1 when /readyz answers 200: started, not shutting down, and not unhealthy",
            None,
            &[(&[], i64::from(ready))],
        )?;
        gauges(
            enc,
            "build_info",
            "Always 1; the version of the running binary is the label",
            None,
            &[(&[("version", env!("CARGO_PKG_VERSION"))], 1i64)],
        )
    }

    fn pools(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        const PG: &[Label<'static>] = &[("pool", "postgres")];
        const REDIS: &[Label<'static>] = &[("pool", "redis")];
        let pg = self.db.status();
        let mut max = vec![(PG, pg.max_size as u64)];
        let mut size = vec![(PG, pg.size as u64)];
        let mut available = vec![(PG, pg.available as u64)];
        let mut waiting = vec![(PG, pg.waiting as u64)];
        if let Some(pool) = self.cache.pool() {
            let state = pool.state();
            let stats = &state.statistics;
            max.push((REDIS, u64::from(self.cache.pool_max())));
            size.push((REDIS, u64::from(state.connections)));
            available.push((REDIS, u64::from(state.idle_connections)));
            // bb8's pending gets, computed without its unchecked subtraction.
            let done = stats.get_direct + stats.get_waited + stats.get_timed_out;
            waiting.push((REDIS, stats.get_started.saturating_sub(done)));
        }
        gauges(
            enc,
            "pool_max_size",
            "Largest size the connection pool may grow to",
            None,
            &max,
        )?;
        gauges(
            enc,
            "pool_size",
            "Connections the pool holds (busy and idle)",
            None,
            &size,
        )?;
        gauges(
            enc,
            "pool_available",
            "Idle connections ready to be handed out",
            None,
            &available,
        )?;
        gauges(
            enc,
            "pool_waiting",
            "Callers waiting for a connection",
            None,
            &waiting,
        )
    }

    fn analytics(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        gauges(
            enc,
            "analytics_enabled",
            "1 when request analytics records (ANALYTICS_ENABLED and Redis configured)",
            None,
            &[(&[], i64::from(self.analytics.is_some()))],
        )?;
        let Some(recorder) = &self.analytics else {
            return Ok(());
        };
        let s = recorder.snapshot();
        gauges(
            enc,
            "analytics_queued",
            "Records waiting in the analytics queue",
            None,
            &[(&[], s.queued)],
        )?;
        gauges(
            enc,
            "analytics_backlog",
            "Records not yet written to Redis: queued plus aggregated and unflushed",
            None,
            &[(&[], s.queued + s.unflushed)],
        )?;
        let c = |enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64| {
            counters(enc, name, help, &[(&[], v)])
        };
        c(
            enc,
            "analytics_enqueued",
            "Records accepted into the analytics queue",
            s.enqueued,
        )?;
        c(
            enc,
            "analytics_dropped",
            "Records dropped because the analytics queue was full (or stopped)",
            s.dropped,
        )?;
        c(
            enc,
            "analytics_flushed",
            "Records whose figures were written to Redis",
            s.flushed,
        )?;
        c(
            enc,
            "analytics_flush_failures",
            "Analytics flushes that failed as a whole (retried)",
            s.flush_failures,
        )?;
        c(
            enc,
            "analytics_write_errors",
            "Single analytics writes Redis refused inside a flush",
            s.write_errors,
        )?;
        c(enc, "analytics_lost", "Records whose figures were given up (retention passed, or Redis unreachable at shutdown)", s.lost)
    }

    fn rate_limits(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let limiter = &self.limiter;
        let rejections: Vec<([Label<'_>; 2], u64)> = preset::ALL
            .iter()
            .filter_map(|name| {
                let p = limiter.preset(*name)?;
                let mode = if p.dry_run { "dry_run" } else { "enforce" };
                Some((
                    [("preset", name.as_str()), ("mode", mode)],
                    limiter.rejections(*name),
                ))
            })
            .collect();
        let refs: Vec<(&[Label<'_>], u64)> = rejections.iter().map(|(l, v)| (&l[..], *v)).collect();
        counters(
            enc,
            "ratelimit_rejections",
            "Requests over a rate-limit preset (mode dry_run: counted and logged, not refused)",
            &refs,
        )?;
        let decisions: Vec<([Label<'_>; 1], u64)> = Backend::ALL
            .iter()
            .map(|b| ([("backend", b.as_str())], limiter.decisions(*b)))
            .collect();
        let refs: Vec<(&[Label<'_>], u64)> = decisions.iter().map(|(l, v)| (&l[..], *v)).collect();
        counters(
            enc,
            "ratelimit_checks",
            "Rate-limit checks by the backend that decided: redis (shared), memory (per-instance fallback), fail_open",
            &refs,
        )?;
        gauges(
            enc,
            "ratelimit_fallback_active",
            "1 while rate limits skip Redis (unavailable or not configured): in-memory per-instance limits or fail open",
            None,
            &[(&[], i64::from(limiter.fallback_active()))],
        )
    }

    fn csrf(&self, enc: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let m = &self.csrf.metrics;
        let rejections: Vec<([Label<'_>; 1], u64)> = Reason::ALL
            .iter()
            .map(|r| ([("reason", r.code())], m.rejections(*r)))
            .collect();
        let refs: Vec<(&[Label<'_>], u64)> = rejections.iter().map(|(l, v)| (&l[..], *v)).collect();
        counters(
            enc,
            "csrf_rejections",
            "Writes refused by the CSRF check, by problem code",
            &refs,
        )?;
        counters(
            enc,
            "csrf_degraded",
            "CSRF tokens accepted on their signature alone while Redis was unavailable",
            &[(&[], m.degraded())],
        )?;
        counters(
            enc,
            "csrf_token_refreshes",
            "CSRF tokens replaced by a refresh",
            &[(&[], m.refreshed())],
        )
    }
}

/// The collector registered with the registry; reads `Sources` on every scrape.
#[derive(Debug)]
pub struct StateCollector(pub Sources);

impl Collector for StateCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        self.0.health(&mut enc)?;
        self.0.pools(&mut enc)?;
        self.0.analytics(&mut enc)?;
        self.0.rate_limits(&mut enc)?;
        self.0.csrf(&mut enc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_status_follows_the_report_and_shutdown() {
        let lifecycle = Lifecycle::default();
        let interval = Duration::from_secs(5);
        let starting = HealthReport::starting(Utc::now());
        assert_eq!(
            instance_status(&starting, &lifecycle, interval),
            Status::Unhealthy
        );
        let fresh = HealthReport {
            measured: true,
            checked_at: Utc::now(),
            checks: Vec::new(),
        };
        assert_eq!(
            instance_status(&fresh, &lifecycle, interval),
            Status::Healthy
        );
        let stale = HealthReport {
            checked_at: Utc::now() - chrono::Duration::seconds(60),
            ..fresh.clone()
        };
        assert_eq!(
            instance_status(&stale, &lifecycle, interval),
            Status::Unhealthy
        );
        lifecycle.begin_shutdown();
        assert_eq!(
            instance_status(&fresh, &lifecycle, interval),
            Status::Unhealthy
        );
    }
}
