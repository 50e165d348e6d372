//! The health supervisor actor: runs every probe concurrently each interval, each under one
//! deadline, and publishes the result to the shared cell.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use futures_util::future::join_all;

use super::debounce::Debounce;
use super::probe::{Probe, ProbeOutcome};
use super::report::{CheckResult, HealthCell, HealthReport, Status};

/// Consecutive samples needed to switch between healthy and degraded on latency alone.
const DEBOUNCE_SAMPLES: u32 = 2;

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    pub interval: Duration,
    /// One deadline for a whole check (pool wait + connect + query). Must be below `interval`.
    pub timeout: Duration,
}

struct Slot {
    probe: Arc<dyn Probe>,
    debounce: Option<Debounce>,
    last: Option<CheckResult>,
    last_run: Option<Instant>,
}

pub struct HealthSupervisor {
    config: SupervisorConfig,
    slots: Vec<Slot>,
    /// Checks computed once at boot (configured services).
    fixed: Vec<CheckResult>,
    cell: HealthCell,
    in_flight: bool,
}

impl HealthSupervisor {
    pub fn new(
        config: SupervisorConfig,
        probes: Vec<Arc<dyn Probe>>,
        fixed: Vec<CheckResult>,
        cell: HealthCell,
    ) -> Self {
        let slots = probes
            .into_iter()
            .map(|probe| Slot {
                debounce: probe
                    .slow_threshold()
                    .map(|t| Debounce::new(t, DEBOUNCE_SAMPLES)),
                probe,
                last: None,
                last_run: None,
            })
            .collect();
        Self {
            config,
            slots,
            fixed,
            cell,
            in_flight: false,
        }
    }

    /// Start one cycle unless one is still running.
    pub(super) fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        let now = Instant::now();
        let deadline = self.config.timeout;
        let due: Vec<(usize, Arc<dyn Probe>)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| match (s.probe.period(), s.last_run) {
                (Some(period), Some(last)) => now.duration_since(last) >= period,
                _ => true,
            })
            .map(|(i, s)| (i, Arc::clone(&s.probe)))
            .collect();
        self.in_flight = true;
        let runs = due.into_iter().map(move |(i, probe)| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(deadline, probe.check()).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    ProbeOutcome::down("no answer within the deadline", probe.deadline_class())
                }
            };
            (i, started, outcome)
        });
        ctx.spawn(
            join_all(runs)
                .into_actor(self)
                .map(|results, act, _| act.publish(results)),
        );
    }

    fn publish(&mut self, results: Vec<(usize, Instant, ProbeOutcome)>) {
        self.in_flight = false;
        let now = Utc::now();
        for (i, started, outcome) in results {
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            let ok = outcome.status != Status::Unhealthy;
            let status = match slot.debounce.as_mut() {
                Some(d) if outcome.status <= Status::Healthy || !ok => {
                    d.observe(ok, outcome.latency)
                }
                _ => outcome.status,
            };
            if status != outcome.status && status == Status::Degraded {
                log::debug!("{}: slow answers, degraded", slot.probe.name());
            }
            slot.last_run = Some(started);
            slot.last = Some(CheckResult {
                name: slot.probe.name(),
                status,
                impact: slot.probe.impact(),
                response_time_ms: outcome.latency.map(|l| l.as_secs_f64() * 1000.0),
                checked_at: now,
                message: if status == Status::Degraded && outcome.status == Status::Healthy {
                    "slow answers"
                } else {
                    outcome.message
                },
                error_class: outcome.error_class,
                details: outcome.details,
            });
        }
        let mut checks: Vec<CheckResult> =
            self.slots.iter().filter_map(|s| s.last.clone()).collect();
        checks.extend(self.fixed.iter().cloned());
        let previous = self.cell.load().verdict(now, Duration::MAX).status;
        let report = HealthReport {
            measured: true,
            checked_at: now,
            checks,
        };
        let current = report.verdict(now, Duration::MAX).status;
        if previous != current {
            log_transition(previous, current, &report.checks);
        }
        self.cell.store(Arc::new(report));
    }
}

/// A change of the instance status: WARN when it got worse (log alerting sees it, with the
/// checks to blame), INFO when it got better.
fn log_transition(previous: Status, current: Status, checks: &[CheckResult]) {
    let blamed: Vec<String> = checks
        .iter()
        .filter(|c| c.status > Status::Healthy)
        .map(|c| {
            let class = c.error_class.map(|e| format!(", {e}")).unwrap_or_default();
            format!("{}: {}{class}", c.name, c.status.as_str())
        })
        .collect();
    let detail = if blamed.is_empty() {
        String::new()
    } else {
        format!(" ({})", blamed.join("; "))
    };
    let level = if current > previous {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    log::log!(
        level,
        "health: {} -> {}{detail}",
        previous.as_str(),
        current.as_str()
    );
}

impl Actor for HealthSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.config.interval, |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        log::info!("health supervisor stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Impact, RunChecks};

    /// A probe that answers after `delay` (a stand-in for a dependency, to test scheduling).
    struct Sleepy {
        name: &'static str,
        delay: Duration,
    }

    impl Probe for Sleepy {
        fn name(&self) -> &'static str {
            self.name
        }
        fn impact(&self) -> Impact {
            Impact::Critical
        }
        fn check(&self) -> futures_util::future::BoxFuture<'static, ProbeOutcome> {
            let delay = self.delay;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                ProbeOutcome::up(delay, "ok")
            })
        }
    }

    async fn first_report(cell: &HealthCell) -> Arc<HealthReport> {
        for _ in 0..200 {
            if cell.load().measured {
                return cell.load_full();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("no report");
    }

    #[actix_rt::test]
    async fn probes_run_concurrently_and_a_hung_probe_times_out() {
        let cell = HealthReport::new_cell(Utc::now());
        let probes: Vec<Arc<dyn Probe>> = vec![
            Arc::new(Sleepy {
                name: "a",
                delay: Duration::from_millis(60),
            }),
            Arc::new(Sleepy {
                name: "b",
                delay: Duration::from_millis(60),
            }),
            Arc::new(Sleepy {
                name: "hung",
                delay: Duration::from_secs(30),
            }),
        ];
        let config = SupervisorConfig {
            interval: Duration::from_secs(10),
            timeout: Duration::from_millis(150),
        };
        let started = Instant::now();
        let addr = HealthSupervisor::new(config, probes, Vec::new(), Arc::clone(&cell)).start();
        let report = first_report(&cell).await;
        // One deadline for the whole cycle, not the sum of the probes.
        assert!(started.elapsed() < Duration::from_secs(5));
        let status = |n: &str| report.checks.iter().find(|c| c.name == n).map(|c| c.status);
        assert_eq!(status("a"), Some(Status::Healthy));
        assert_eq!(status("b"), Some(Status::Healthy));
        assert_eq!(status("hung"), Some(Status::Unhealthy));
        let hung = report
            .checks
            .iter()
            .find(|c| c.name == "hung")
            .map(|c| c.error_class);
        assert_eq!(hung, Some(Some("timeout")));
        addr.do_send(RunChecks);
    }
}
