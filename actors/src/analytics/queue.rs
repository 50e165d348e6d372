//! The request path's side: a bounded queue of records (`Recorder::record_batch` never waits:
//! a full queue drops the batch and counts its records) and the shared counters health and the
//! admin API read. Records travel in batches, so a busy worker pays the cross-core hand-over
//! once per batch instead of once per request (the web service's per-worker buffer,
//! `http::middleware::analytics`); the capacity still counts records.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use super::record::Record;

/// Counters shared by the recorder, the actor and readers. Lock-free. The request path writes
/// none of them on its common path (a record that enters the queue): only the actor, once per
/// drain, so the cores serving requests and the actor's never pass a counter's cache line back
/// and forth per request.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records the actor took from the queue (accepted records = this + the queued ones).
    pub received: AtomicU64,
    /// Records in the queue (changed once per batch, by the sender and by the actor).
    pub queued: AtomicU64,
    /// Records refused because the queue was full (or the actor gone).
    pub dropped: AtomicU64,
    /// Records aggregated by the actor whose figures are not written yet.
    pub unflushed: AtomicU64,
    /// Records whose figures are written.
    pub flushed: AtomicU64,
    /// Single writes Redis refused (e.g. a key of the wrong type); the rest of the batch stands.
    pub write_errors: AtomicU64,
    /// Flush attempts that failed as a whole (Redis down, slow or hung) and will be retried.
    pub flush_failures: AtomicU64,
    /// Failed attempts since the last successful flush.
    pub consecutive_failures: AtomicU64,
    /// Records whose figures were given up (outside retention, or Redis unreachable at shutdown).
    pub lost: AtomicU64,
    /// Unix milliseconds of the last successful flush (0: none yet).
    pub last_flush_ms: AtomicI64,
    /// The actor has stopped (after its final flush).
    pub stopped: AtomicBool,
}

/// A point-in-time view of the counters, for health and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub queued: u64,
    pub unflushed: u64,
    pub enqueued: u64,
    pub dropped: u64,
    pub flushed: u64,
    pub write_errors: u64,
    pub flush_failures: u64,
    pub consecutive_failures: u64,
    pub lost: u64,
}

/// The handle the middleware uses; cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Vec<Record>>,
    counters: Arc<Counters>,
    /// Records the queue holds at most.
    capacity: u64,
}

/// The receiving end, handed to the actor.
#[derive(Debug)]
pub struct Inbox {
    pub(super) rx: mpsc::Receiver<Vec<Record>>,
    pub(super) counters: Arc<Counters>,
}

/// A queue of `capacity` records.
pub fn channel(capacity: usize) -> (Recorder, Inbox) {
    let capacity = capacity.max(1);
    // One slot per record at most: every batch holds one or more.
    let (tx, rx) = mpsc::channel(capacity);
    let counters = Arc::new(Counters::default());
    let inbox = Inbox {
        rx,
        counters: Arc::clone(&counters),
    };
    let recorder = Recorder {
        tx,
        counters,
        capacity: capacity as u64,
    };
    (recorder, inbox)
}

impl Recorder {
    /// Hands one record over without waiting. False when it was dropped (queue full or closed).
    pub fn record(&self, record: Record) -> bool {
        self.record_batch(vec![record])
    }

    /// Hands records over without waiting, all or none: false when the queue has no room for
    /// all of them (or analytics stopped), and they are dropped and counted.
    pub fn record_batch(&self, batch: Vec<Record>) -> bool {
        let n = batch.len() as u64;
        if n == 0 {
            return true;
        }
        let c = &self.counters;
        let room = c
            .queued
            .fetch_update(Relaxed, Relaxed, |q| {
                (q + n <= self.capacity).then_some(q + n)
            })
            .is_ok();
        let why = if !room {
            "queue full"
        } else {
            match self.tx.try_send(batch) {
                Ok(()) => return true,
                Err(e) => {
                    c.queued.fetch_sub(n, Relaxed);
                    match e {
                        mpsc::error::TrySendError::Full(_) => "queue full",
                        mpsc::error::TrySendError::Closed(_) => "analytics stopped",
                    }
                }
            }
        };
        let before = c.dropped.fetch_add(n, Relaxed);
        // Never silent, never a log line per request: when the count passes 1, 2, 4, 8…
        if before == 0 || (before + n).ilog2() > before.ilog2() {
            log::warn!(
                "analytics: {n} record(s) dropped ({why}); {} dropped so far",
                before + n
            );
        }
        false
    }

    /// Records waiting in the queue.
    pub fn queued(&self) -> u64 {
        self.counters.queued.load(Relaxed)
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    pub fn snapshot(&self) -> Snapshot {
        let c = &self.counters;
        let queued = self.queued();
        Snapshot {
            queued,
            unflushed: c.unflushed.load(Relaxed),
            enqueued: c.received.load(Relaxed) + queued,
            dropped: c.dropped.load(Relaxed),
            flushed: c.flushed.load(Relaxed),
            write_errors: c.write_errors.load(Relaxed),
            flush_failures: c.flush_failures.load(Relaxed),
            consecutive_failures: c.consecutive_failures.load(Relaxed),
            lost: c.lost.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            route: "/x".into(),
            method: "GET",
            status: 200,
            duration_us: 5,
            tenant: "anonymous".into(),
            request_id: "r".into(),
            ended_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let (recorder, inbox) = channel(3);
        let accepted = (0..10).filter(|_| recorder.record(record())).count();
        assert_eq!(accepted, 3);
        let s = recorder.snapshot();
        assert_eq!((s.queued, s.enqueued, s.dropped), (3, 3, 7));
        drop(inbox);
        assert!(!recorder.record(record()), "closed queue drops too");
        assert_eq!(recorder.snapshot().dropped, 8);
    }

    #[test]
    fn the_capacity_counts_records_and_a_batch_goes_in_whole_or_not_at_all() {
        let (recorder, _inbox) = channel(5);
        assert!(recorder.record_batch(vec![record(), record(), record()]));
        assert!(!recorder.record_batch(vec![record(), record(), record()]));
        assert!(recorder.record_batch(vec![record(), record()]));
        assert!(recorder.record_batch(Vec::new()), "nothing to hand over");
        let s = recorder.snapshot();
        assert_eq!((s.queued, s.enqueued, s.dropped), (5, 5, 3));
    }
}
