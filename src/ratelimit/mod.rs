//! Rate limiting shared by every instance: exact sliding windows in Redis (one script call per
//! check), named presets, client-IP rules, and an in-memory fallback behind a circuit breaker.

pub mod client_ip;
mod limiter;
mod memory;
pub mod preset;

use std::time::Duration;

pub use limiter::{Backend, Limiter};
pub use memory::MemoryLimiter;
pub use preset::{FailurePolicy, KeyBy, Preset, PresetName};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the oldest counted request leaves the window (a slot frees).
    pub reset: Duration,
}

impl Decision {
    pub fn admitted_without_state(limit: u32) -> Self {
        Self {
            allowed: true,
            limit,
            remaining: limit,
            reset: Duration::ZERO,
        }
    }

    /// Whole seconds, rounded up, at least 1: a retry after exactly this long is admitted.
    pub fn retry_after_secs(&self) -> u64 {
        let micros = self.reset.as_micros() as u64;
        micros.div_ceil(1_000_000).max(1)
    }
}
