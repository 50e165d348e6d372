//! The Redis health probe: PING latency; healthy under the threshold, degraded at or above it
//! (debounced by the supervisor), unhealthy on failure.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use unioneyes_actors::health::{Probe, ProbeOutcome, Status};

use super::Cache;

/// PING latency at or above which Redis counts as slow.
pub const REDIS_SLOW: Duration = Duration::from_millis(200);

pub struct RedisProbe {
    cache: Cache,
}

impl RedisProbe {
    pub fn new(cache: Cache) -> Self {
        Self { cache }
    }
}

impl Probe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn slow_threshold(&self) -> Option<Duration> {
        Some(REDIS_SLOW)
    }

    /// A checkout cut by the deadline names the pool's last failed connect, if recent.
    fn deadline_class(&self) -> &'static str {
        self.cache.recent_connect_error().unwrap_or("timeout")
    }

    fn check(&self) -> BoxFuture<'static, ProbeOutcome> {
        let pool = self.cache.pool().cloned();
        let cache = self.cache.clone();
        let max = self.cache.pool_max();
        Box::pin(async move {
            let Some(pool) = pool else {
                return ProbeOutcome {
                    status: Status::Degraded,
                    latency: None,
                    message: "not configured",
                    error_class: Some("not_configured"),
                    details: None,
                };
            };
            let started = Instant::now();
            let state = pool.state();
            let details = serde_json::json!({
                "pool": {
                    "max": max,
                    "size": state.connections,
                    "idle": state.idle_connections,
                }
            });
            let mut conn = match pool.get().await {
                Ok(c) => c,
                Err(e) => {
                    return ProbeOutcome::down("unreachable", cache.run_error_class(&e))
                        .with_details(details)
                }
            };
            match bb8_redis::redis::cmd("PING")
                .query_async::<String>(&mut *conn)
                .await
            {
                Ok(_) => ProbeOutcome::up(started.elapsed(), "reachable").with_details(details),
                Err(e) => {
                    ProbeOutcome::down("ping failed", super::error_class(&e)).with_details(details)
                }
            }
        })
    }
}
