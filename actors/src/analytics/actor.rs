//! The analytics actor: takes records from the bounded queue, aggregates them in memory and
//! writes the aggregate every `flush_interval` (sooner once `flush_batch` records are waiting)
//! as one pipeline. At most one write is in flight. A failed write is kept unchanged and resent
//! with back-off while new records keep aggregating; nothing is lost while Redis is away.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::aggregate::Aggregate;
use super::batch::{self, Batch};
use super::keys;
use super::link::{LinkError, RedisLink};
use super::messages::StopReport;
use super::queue::{Counters, Inbox};
use super::record::Record;
use super::store::{self, FlushOutcome};

/// Longest pause between two attempts while Redis fails.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Pause between attempts of the final flush.
const STOP_RETRY: Duration = Duration::from_millis(200);
/// How often the queue is emptied. Polling on a timer (instead of waiting on the queue) means
/// a request never wakes the actor's thread: `Recorder::record_batch` stays a plain enqueue.
const DRAIN_EVERY: Duration = Duration::from_millis(5);
/// Batches taken per drain at most (a batch holds one to a few dozen records).
const DRAIN_MAX: usize = 10_000;

#[derive(Debug, Clone)]
pub struct AnalyticsConfig {
    /// REDIS_KEY_PREFIX.
    pub key_prefix: String,
    pub flush_interval: Duration,
    /// Flush early once this many records are aggregated.
    pub flush_batch: u64,
    pub max_tenants_per_day: usize,
    pub retention_days: u32,
    /// Budget of the final flush at shutdown.
    pub shutdown_flush: Duration,
}

struct Stopping {
    deadline: Instant,
    reply: Option<oneshot::Sender<StopReport>>,
}

pub struct AnalyticsActor {
    config: AnalyticsConfig,
    rx: mpsc::Receiver<Vec<Record>>,
    counters: Arc<Counters>,
    link: RedisLink,
    instance: String,
    seq: u64,
    live: Aggregate,
    /// The batch being written or to be resent; new records never join it.
    pending: Option<Arc<Batch>>,
    in_flight: bool,
    retry_at: Option<Instant>,
    stopping: Option<Stopping>,
}

impl AnalyticsActor {
    pub fn new(config: AnalyticsConfig, inbox: Inbox, link: RedisLink) -> Self {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        Self {
            live: Aggregate::new(config.max_tenants_per_day, &instance),
            config,
            rx: inbox.rx,
            counters: inbox.counters,
            link,
            instance,
            seq: 0,
            pending: None,
            in_flight: false,
            retry_at: None,
            stopping: None,
        }
    }

    /// Takes up to `max` queued batches into the aggregate. Each batch's records are counted
    /// unflushed before they stop counting as queued: a reader may briefly see them as both,
    /// never as neither (which would look like a settled backlog).
    fn take_queued(&mut self, max: usize, mut ctx: Option<&mut Context<Self>>) {
        for _ in 0..max {
            let Ok(batch) = self.rx.try_recv() else {
                break;
            };
            let n = batch.len() as u64;
            self.counters.received.fetch_add(n, Relaxed);
            self.counters.unflushed.fetch_add(n, Relaxed);
            self.counters.queued.fetch_sub(n, Relaxed);
            for record in batch {
                self.live.add(record);
                if let Some(ctx) = ctx.as_deref_mut() {
                    if self.live.records() >= self.config.flush_batch && self.retry_at.is_none() {
                        self.flush(ctx);
                    }
                }
            }
        }
    }

    fn backlog(&self) -> u64 {
        self.live.records() + self.pending.as_ref().map_or(0, |b| b.records)
    }

    /// Start a write unless one is in flight: the pending batch, else a new one from the
    /// aggregate.
    pub(super) fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        if self.pending.is_none() {
            let retention = self.config.retention_days;
            let now = Utc::now();
            let lost = self
                .live
                .discard_days(|d| keys::within_retention(d, retention, now));
            if lost > 0 {
                self.lose(lost, "their day is past the retention");
            }
            if self.live.records() == 0 {
                return;
            }
            self.seq += 1;
            let days = self.live.take();
            let batch = batch::build(
                &self.config.key_prefix,
                &self.instance,
                self.seq,
                retention,
                days,
            );
            self.pending = Some(Arc::new(batch));
        }
        let Some(batch) = self.pending.clone() else {
            return;
        };
        self.in_flight = true;
        let link = self.link.clone();
        ctx.spawn(
            async move { store::write(&link, &batch).await }
                .into_actor(self)
                .map(|result, act, ctx| act.flushed(result, ctx)),
        );
    }

    fn lose(&self, records: u64, why: &str) {
        self.counters.lost.fetch_add(records, Relaxed);
        self.counters.unflushed.fetch_sub(records, Relaxed);
        log::warn!("analytics: figures of {records} requests lost: {why}");
    }

    fn flushed(&mut self, result: Result<FlushOutcome, LinkError>, ctx: &mut Context<Self>) {
        self.in_flight = false;
        match result {
            Ok(outcome) => {
                let records = self.pending.take().map_or(0, |b| b.records);
                let failed: u64 = outcome.failed_days.iter().map(|(_, n, _)| n).sum();
                for (day, n, why) in &outcome.failed_days {
                    log::error!(
                        "analytics: Redis refused the batch of {day} ({n} requests): {why}"
                    );
                }
                if failed > 0 {
                    self.lose(failed, "Redis refused their day's batch");
                }
                self.counters.flushed.fetch_add(records - failed, Relaxed);
                self.counters.unflushed.fetch_sub(records - failed, Relaxed);
                let errors = outcome.write_errors.len() as u64;
                if errors > 0 {
                    self.counters.write_errors.fetch_add(errors, Relaxed);
                    for e in outcome.write_errors.iter().take(5) {
                        log::error!("analytics: write refused: {e}");
                    }
                }
                for (day, floor) in outcome.slow_floors {
                    self.live.set_slow_floor(day, floor);
                }
                if self.counters.consecutive_failures.swap(0, Relaxed) > 0 {
                    log::info!("analytics: Redis writes resumed; backlog written");
                }
                self.counters
                    .last_flush_ms
                    .store(Utc::now().timestamp_millis(), Relaxed);
                self.retry_at = None;
                if self.stopping.is_some() {
                    self.continue_stop(ctx);
                } else if self.live.records() >= self.config.flush_batch {
                    self.flush(ctx);
                }
            }
            Err(e) => {
                let failures = self.counters.consecutive_failures.fetch_add(1, Relaxed) + 1;
                self.counters.flush_failures.fetch_add(1, Relaxed);
                if failures == 1 || failures % 20 == 0 {
                    log::warn!(
                        "analytics: flush failed ({}, attempt {failures}); {} requests buffered, retrying",
                        e.class(),
                        self.backlog()
                    );
                }
                let exp = failures.saturating_sub(1).min(16) as u32;
                let backoff = self
                    .config
                    .flush_interval
                    .saturating_mul(1 << exp)
                    .min(MAX_BACKOFF.max(self.config.flush_interval));
                self.retry_at = Some(Instant::now() + backoff);
                if self.stopping.is_some() {
                    ctx.run_later(STOP_RETRY, |act, ctx| act.continue_stop(ctx));
                }
            }
        }
    }

    fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.stopping.is_some() {
            return;
        }
        // Bounded, so a flood cannot keep the actor from its other work.
        self.take_queued(DRAIN_MAX, Some(ctx));
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.stopping.is_some() || self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        self.flush(ctx);
    }

    pub(super) fn begin_stop(
        &mut self,
        reply: oneshot::Sender<StopReport>,
        ctx: &mut Context<Self>,
    ) {
        if self.stopping.is_some() {
            // A second Stop: the first one reports.
            let _ = reply.send(StopReport::default());
            return;
        }
        self.rx.close();
        // Closed first: nothing can join the queue after it is emptied.
        self.take_queued(usize::MAX, None);
        let budget = self.config.shutdown_flush;
        self.stopping = Some(Stopping {
            deadline: Instant::now() + budget,
            reply: Some(reply),
        });
        ctx.run_later(budget, |act, ctx| act.finish_stop(ctx));
        self.continue_stop(ctx);
    }

    fn continue_stop(&mut self, ctx: &mut Context<Self>) {
        let Some(stopping) = &self.stopping else {
            return;
        };
        if self.backlog() == 0 || Instant::now() >= stopping.deadline {
            self.finish_stop(ctx);
        } else {
            self.flush(ctx);
        }
    }

    fn finish_stop(&mut self, ctx: &mut Context<Self>) {
        let Some(reply) = self.stopping.as_mut().and_then(|s| s.reply.take()) else {
            return;
        };
        let lost = self.backlog();
        if lost > 0 {
            self.lose(lost, "Redis did not take the final flush in time");
        } else {
            log::info!("analytics: final flush done");
        }
        let report = StopReport {
            flushed: self.counters.flushed.load(Relaxed),
            lost,
        };
        let _ = reply.send(report);
        self.counters.stopped.store(true, Relaxed);
        ctx.stop();
    }
}

impl Actor for AnalyticsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(DRAIN_EVERY, |act, ctx| act.drain(ctx));
        ctx.run_interval(self.config.flush_interval, |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.counters.stopped.store(true, Relaxed);
        log::info!("analytics actor stopped");
    }
}
