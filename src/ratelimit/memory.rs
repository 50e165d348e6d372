//! The in-memory fallback used while Redis is unavailable: the same exact sliding window,
//! per instance, with bounded memory (old keys pruned).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Decision;

/// Keys kept at most; beyond this, expired keys are pruned and, if still too many, all dropped.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct MemoryLimiter {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    logs: HashMap<String, (Duration, VecDeque<Instant>)>,
    checks: u64,
}

impl MemoryLimiter {
    pub fn check(&self, key: &str, limit: u32, window: Duration, now: Instant) -> Decision {
        let Ok(mut inner) = self.inner.lock() else {
            // A poisoned lock only follows a panic elsewhere; admit rather than fail.
            return Decision::admitted_without_state(limit);
        };
        inner.checks += 1;
        if inner.logs.len() >= MAX_KEYS || inner.checks % 4096 == 0 {
            prune(&mut inner.logs, now);
        }
        let (_, log) = inner
            .logs
            .entry(key.to_string())
            .or_insert_with(|| (window, VecDeque::new()));
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            log.pop_front();
        }
        let count = log.len() as u32;
        if count < limit {
            log.push_back(now);
            let oldest = log.front().copied().unwrap_or(now);
            Decision {
                allowed: true,
                limit,
                remaining: limit - count - 1,
                reset: (oldest + window).saturating_duration_since(now),
            }
        } else {
            let oldest = log.front().copied().unwrap_or(now);
            Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset: (oldest + window).saturating_duration_since(now),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.logs.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn prune(logs: &mut HashMap<String, (Duration, VecDeque<Instant>)>, now: Instant) {
    logs.retain(|_, (window, log)| log.back().is_some_and(|t| now.duration_since(*t) < *window));
    if logs.len() >= MAX_KEYS {
        logs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_is_exact() {
        let m = MemoryLimiter::default();
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        for i in 0..3 {
            assert!(m.check("k", 3, w, t0 + Duration::from_secs(i)).allowed);
        }
        assert!(!m.check("k", 3, w, t0 + Duration::from_secs(9)).allowed);
        // The first entry leaves the window at exactly t0 + 10 s.
        let d = m.check("k", 3, w, t0 + Duration::from_millis(9_999));
        assert!(!d.allowed);
        assert_eq!(d.reset, Duration::from_millis(1));
        assert!(m.check("k", 3, w, t0 + Duration::from_secs(10)).allowed);
    }

    #[test]
    fn expired_keys_are_pruned() {
        let m = MemoryLimiter::default();
        let t0 = Instant::now();
        for i in 0..5000 {
            m.check(&format!("k{i}"), 1, Duration::from_secs(1), t0);
        }
        m.check(
            "late",
            1,
            Duration::from_secs(1),
            t0 + Duration::from_secs(5),
        );
        // 4096 checks trigger a prune; after the window only fresh keys remain.
        for i in 0..4096 {
            m.check(
                &format!("n{i}"),
                1,
                Duration::from_secs(1),
                t0 + Duration::from_secs(5),
            );
        }
        assert!(m.len() < 5000, "{}", m.len());
    }
}
