//! One worker's analytics records on their way to the actor: finished requests' records
//! gather here and go to the queue as one batch (`Recorder::record_batch`) once `BATCH` are
//! waiting, and every `HAND_OVER_EVERY` whatever waits (a timer on the worker). A busy worker
//! hands over once per `BATCH` requests instead of once per request: the per-message
//! cross-core hand-over was most of analytics' cost on the request path
//! (docs/benchmarks.md). When the server stops, each worker's buffer hands over what is left
//! as it is dropped, and the final flush waits for every buffer to be gone (`alive`).
//!
//! Per worker thread (`Rc`, `Cell`): actix builds each worker's middleware on that worker.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use unioneyes_actors::analytics::{Record, Recorder};

/// Records handed over together at most.
pub const BATCH: usize = 64;
/// How often a worker hands over what waits, however little.
pub const HAND_OVER_EVERY: Duration = Duration::from_millis(10);

#[derive(Debug)]
pub struct WorkerBuffer {
    recorder: Recorder,
    records: RefCell<Vec<Record>>,
    /// Buffers not yet dropped, across workers.
    alive: Arc<AtomicUsize>,
}

impl WorkerBuffer {
    /// A worker's buffer, with its timer on the worker's runtime when there is one (there
    /// always is in a server; unit tests hand over by hand).
    pub fn start(recorder: Recorder, alive: Arc<AtomicUsize>) -> Rc<Self> {
        alive.fetch_add(1, SeqCst);
        let buffer = Rc::new(Self {
            recorder,
            records: RefCell::new(Vec::with_capacity(BATCH)),
            alive,
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            let weak: Weak<Self> = Rc::downgrade(&buffer);
            actix_rt::spawn(async move {
                let mut tick = actix_rt::time::interval(HAND_OVER_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(buffer) = weak.upgrade() else {
                        break;
                    };
                    buffer.hand_over();
                }
            });
        }
        buffer
    }

    /// A finished request's record.
    pub fn push(&self, record: Record) {
        let full = match self.records.try_borrow_mut() {
            Ok(mut records) => {
                records.push(record);
                records.len() >= BATCH
            }
            // Not reachable (nothing calls back in while the list is borrowed); should it ever
            // be, the record goes alone rather than being lost or panicking.
            Err(_) => {
                self.recorder.record(record);
                false
            }
        };
        if full {
            self.hand_over();
        }
    }

    /// Hands whatever waits to the queue (a full queue drops and counts it, never waits).
    pub fn hand_over(&self) {
        let batch = match self.records.try_borrow_mut() {
            Ok(mut records) if !records.is_empty() => {
                std::mem::replace(&mut *records, Vec::with_capacity(BATCH))
            }
            _ => return,
        };
        self.recorder.record_batch(batch);
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.records.borrow().len()
    }
}

impl Drop for WorkerBuffer {
    /// The worker's middleware is gone (server stopped): whatever waits goes now.
    fn drop(&mut self) {
        self.hand_over();
        self.alive.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unioneyes_actors::analytics::channel;

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
    fn records_go_in_full_batches_and_the_rest_when_handed_over_or_dropped() {
        let (recorder, _inbox) = channel(1000);
        let alive = Arc::new(AtomicUsize::new(0));
        let buffer = WorkerBuffer::start(recorder.clone(), Arc::clone(&alive));
        assert_eq!(alive.load(SeqCst), 1);
        for _ in 0..BATCH + 3 {
            buffer.push(record());
        }
        assert_eq!((buffer.waiting(), recorder.queued()), (3, BATCH as u64));
        buffer.hand_over();
        assert_eq!((buffer.waiting(), recorder.queued()), (0, BATCH as u64 + 3));
        buffer.push(record());
        drop(buffer);
        assert_eq!(
            recorder.queued(),
            BATCH as u64 + 4,
            "handed over when dropped"
        );
        assert_eq!(alive.load(SeqCst), 0);
    }

    #[actix_rt::test]
    async fn the_timer_hands_over_what_waits() {
        let (recorder, _inbox) = channel(1000);
        let buffer = WorkerBuffer::start(recorder.clone(), Arc::new(AtomicUsize::new(0)));
        buffer.push(record());
        assert_eq!(recorder.queued(), 0);
        actix_rt::time::sleep(HAND_OVER_EVERY * 3).await;
        assert_eq!((buffer.waiting(), recorder.queued()), (0, 1));
    }
}
