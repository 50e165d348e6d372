//! The shared limiter: one atomic Redis script call per check (loaded once, called by hash,
//! reloaded on NOSCRIPT by `redis::Script`), time from the Redis server, expiry set in the same
//! step. A circuit breaker, also fed by the health supervisor, skips Redis while it is known to
//! be down; each preset then follows its failure policy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bb8_redis::redis;
use sha2::{Digest, Sha256};
use unioneyes_actors::health::{HealthCell, Status};

use super::memory::MemoryLimiter;
use super::preset::{FailurePolicy, Preset, PresetName};
use super::Decision;
use crate::cache::Cache;

/// ARGV: limit, window (µs), a unique member suffix. Returns {allowed, remaining, reset µs}.
/// Rejected requests are not recorded and do not extend the key's life; a key found
/// without an expiry is repaired.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {1, limit - count - 1, tonumber(oldest[2]) + window - now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = tonumber(oldest[2]) + window - now
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], math.ceil(reset / 1000))
end
return {0, 0, reset}
"#;

/// How long the breaker stays open after a Redis failure before one request probes again.
const COOLDOWN: Duration = Duration::from_secs(2);

/// Which backend decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Redis,
    Memory,
    FailOpen,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Redis, Backend::Memory, Backend::FailOpen];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Memory => "memory",
            Backend::FailOpen => "fail_open",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

pub struct Limiter {
    cache: Cache,
    script: redis::Script,
    timeout: Duration,
    presets: HashMap<PresetName, Preset>,
    memory: MemoryLimiter,
    health: HealthCell,
    started: Instant,
    /// Milliseconds since `started` until which Redis is skipped.
    open_until_ms: AtomicU64,
    probing: AtomicBool,
    in_outage: AtomicBool,
    rejections: HashMap<PresetName, AtomicU64>,
    /// Checks decided by each backend (`Backend::index`), for /metrics.
    decisions: [AtomicU64; 3],
}

impl Limiter {
    pub fn new(cache: Cache, presets: &[Preset], timeout: Duration, health: HealthCell) -> Self {
        Self {
            cache,
            script: redis::Script::new(SCRIPT),
            timeout,
            presets: presets.iter().map(|p| (p.name, p.clone())).collect(),
            memory: MemoryLimiter::default(),
            health,
            started: Instant::now(),
            open_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            in_outage: AtomicBool::new(false),
            rejections: presets
                .iter()
                .map(|p| (p.name, AtomicU64::new(0)))
                .collect(),
            decisions: Default::default(),
        }
    }

    pub fn preset(&self, name: PresetName) -> Option<&Preset> {
        self.presets.get(&name)
    }

    pub fn rejections(&self, name: PresetName) -> u64 {
        self.rejections
            .get(&name)
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    pub fn count_rejection(&self, name: PresetName) {
        if let Some(c) = self.rejections.get(&name) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many checks `backend` decided since the start.
    pub fn decisions(&self, backend: Backend) -> u64 {
        self.decisions[backend.index()].load(Ordering::Relaxed)
    }

    /// True while checks skip Redis: Redis is not configured, or a check failed and the
    /// breaker is still open (within the cooldown, or while the health report says Redis is
    /// down). Once the next check would go to Redis again it reads false, so an idle instance
    /// does not report a fallback long after Redis came back.
    pub fn fallback_active(&self) -> bool {
        if self.cache.shared().is_none() {
            return true;
        }
        self.in_outage.load(Ordering::Acquire)
            && (self.now_ms() < self.open_until_ms.load(Ordering::Acquire)
                || self.health_says_redis_down())
    }

    /// Check and record one request of `subject` against `preset`.
    pub async fn check(&self, preset: &Preset, subject: &str) -> (Decision, Backend) {
        let (decision, backend) = self.decide(preset, subject).await;
        self.decisions[backend.index()].fetch_add(1, Ordering::Relaxed);
        (decision, backend)
    }

    /// The Redis key of one check: prefix, version, one hash tag, the subject hashed.
    pub fn key(&self, preset: &Preset, subject: &str) -> String {
        let digest = hex::encode(Sha256::digest(subject.as_bytes()));
        format!(
            "{}rl:v1:{{{}:{}:{}}}",
            self.cache.prefix(),
            preset.name.as_str(),
            preset.key_by.as_str(),
            &digest[..32]
        )
    }

    async fn decide(&self, preset: &Preset, subject: &str) -> (Decision, Backend) {
        let key = self.key(preset, subject);
        if self.may_use_redis() {
            match self.redis_check(preset, &key).await {
                Ok(d) => {
                    self.redis_ok();
                    return (d, Backend::Redis);
                }
                Err(class) => self.redis_failed(class),
            }
        }
        match preset.on_failure {
            FailurePolicy::FailOpen => (
                Decision::admitted_without_state(preset.limit),
                Backend::FailOpen,
            ),
            FailurePolicy::InMemory => (
                self.memory
                    .check(&key, preset.limit, preset.window, Instant::now()),
                Backend::Memory,
            ),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn health_says_redis_down(&self) -> bool {
        self.health
            .load()
            .checks
            .iter()
            .any(|c| c.name == "redis" && c.status == Status::Unhealthy)
    }

    /// Closed: yes. Open: no, until the cooldown passed; then one request probes.
    fn may_use_redis(&self) -> bool {
        if self.cache.shared().is_none() {
            return false;
        }
        let open = self.now_ms() < self.open_until_ms.load(Ordering::Acquire)
            || (self.in_outage.load(Ordering::Acquire) && self.health_says_redis_down());
        if !self.in_outage.load(Ordering::Acquire) && !open {
            return true;
        }
        if open {
            return false;
        }
        // Half-open: exactly one probe at a time.
        !self.probing.swap(true, Ordering::AcqRel)
    }

    fn redis_ok(&self) {
        self.probing.store(false, Ordering::Release);
        if self.in_outage.swap(false, Ordering::AcqRel) {
            log::info!("rate limiter: Redis is back; shared limits resume");
        }
    }

    fn redis_failed(&self, class: &'static str) {
        self.open_until_ms.store(
            self.now_ms() + COOLDOWN.as_millis() as u64,
            Ordering::Release,
        );
        self.probing.store(false, Ordering::Release);
        if !self.in_outage.swap(true, Ordering::AcqRel) {
            log::warn!("rate limiter: Redis unavailable ({class}); presets follow their failure policy (in-memory limits or fail open)");
        }
    }

    async fn redis_check(&self, preset: &Preset, key: &str) -> Result<Decision, &'static str> {
        let shared = self.cache.shared().ok_or("not_configured")?;
        let window_us = preset.window.as_micros() as u64;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        // The shared multiplexed connection: concurrent checks share one socket, none waits
        // for a pool checkout.
        let call = async {
            let mut conn = shared
                .get()
                .await
                .map_err(|e| crate::cache::error_class(&e))?;
            self.script
                .key(key)
                .arg(preset.limit)
                .arg(window_us)
                .arg(&nonce)
                .invoke_async::<(i64, i64, i64)>(&mut conn)
                .await
                .map_err(|e| crate::cache::error_class(&e))
        };
        let outcome = match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err("timeout"),
        };
        if let Err(class) = outcome {
            if class != "command_failed" {
                // A dead or hung socket: connect afresh on the next attempt.
                shared.reset().await;
            }
        }
        let (allowed, remaining, reset_us) = outcome?;
        Ok(Decision {
            allowed: allowed == 1,
            limit: preset.limit,
            remaining: remaining.max(0) as u32,
            reset: Duration::from_micros(reset_us.max(0) as u64),
        })
    }
}
