//! The state shared by every worker: settings, pools, the health cell and the lifecycle flags.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use deadpool_postgres::Pool;
use unioneyes_actors::health::HealthCell;

use crate::auth::{JwtVerifier, TenantCache};
use crate::cache::Cache;
use crate::config::Settings;
use crate::crypto::sin::SinKeyRing;
use crate::csrf::Csrf;
use crate::ratelimit::Limiter;

/// Where the instance is in its life; read by /readyz and /api/health.
#[derive(Debug)]
pub struct Lifecycle {
    started_at: Instant,
    ready: AtomicBool,
    shutting_down: AtomicBool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            started_at: Instant::now(),
            ready: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
        }
    }
}

impl Lifecycle {
    pub fn uptime_secs(&self) -> u64 {
        self.started_at.elapsed().as_secs()
    }
    /// Startup checks passed.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }
}

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Pool,
    pub cache: Cache,
    pub health: HealthCell,
    pub lifecycle: Arc<Lifecycle>,
    /// Verifies session tokens; None when no key is configured (session tokens refused).
    pub jwt: Option<Arc<JwtVerifier>>,
    pub tenants: Arc<TenantCache>,
    /// None when SIN_ENCRYPTION_KEY is not configured (development/test): SIN features off.
    pub sin_keys: Option<Arc<SinKeyRing>>,
    pub limiter: Arc<Limiter>,
    /// CSRF protection: secrets, allowed origins, the Redis token store, rejection counters.
    pub csrf: Arc<Csrf>,
    /// Request analytics; None when ANALYTICS_ENABLED=false or Redis is not configured.
    pub analytics: Option<crate::analytics::Analytics>,
    /// Prometheus metrics (docs/monitoring.md): request series, read-at-scrape series.
    pub metrics: Arc<crate::metrics::Metrics>,
}
