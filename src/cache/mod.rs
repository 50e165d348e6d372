//! Redis access: the bb8 pool with a short connection timeout, and the key prefix every key
//! carries so deployments and tests can share one Redis.

mod probe;

use secrecy::ExposeSecret;
use unioneyes_actors::redis::{RedisManager, SharedConnection};

use crate::config::RedisSettings;

pub use probe::RedisProbe;

pub use unioneyes_actors::redis::RedisPool;

/// Redis as the rest of the service sees it: maybe not configured (development only).
#[derive(Clone)]
pub struct Cache {
    pool: Option<RedisPool>,
    /// One multiplexed connection for hot paths that must not queue for the pool.
    shared: Option<std::sync::Arc<SharedConnection>>,
    prefix: String,
    pool_max: u32,
}

impl Cache {
    /// Builds the pool without connecting; a dead Redis costs a request at most the
    /// configured connection timeout.
    pub fn new(settings: &RedisSettings) -> Result<Self, String> {
        let pool = match &settings.url {
            None => None,
            Some(url) => {
                let manager = RedisManager::new(url.expose_secret())
                    .map_err(|_| "REDIS_URL could not be parsed as a Redis URL".to_string())?;
                Some(
                    bb8::Pool::builder()
                        .max_size(settings.pool_max)
                        .connection_timeout(settings.connect_timeout)
                        .test_on_check_out(false)
                        // Report a refused connection at once instead of retrying until the
                        // timeout hides the cause.
                        .retry_connection(false)
                        .build_unchecked(manager),
                )
            }
        };
        let shared = match &settings.url {
            None => None,
            Some(url) => Some(std::sync::Arc::new(
                SharedConnection::new(url.expose_secret(), settings.connect_timeout)
                    .map_err(|_| "REDIS_URL could not be parsed as a Redis URL".to_string())?,
            )),
        };
        Ok(Self {
            pool,
            shared,
            prefix: settings.key_prefix.clone(),
            pool_max: settings.pool_max,
        })
    }

    pub fn shared(&self) -> Option<&SharedConnection> {
        self.shared.as_deref()
    }

    pub fn pool(&self) -> Option<&RedisPool> {
        self.pool.as_ref()
    }

    pub fn pool_max(&self) -> u32 {
        self.pool_max
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix` + the parts joined with ':'.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("configured", &self.pool.is_some())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A stable, secret-free class for a Redis error.
pub fn error_class(e: &bb8_redis::redis::RedisError) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connection_refusal() {
        "connection_refused"
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection_lost"
    } else {
        "command_failed"
    }
}

pub fn run_error_class(e: &bb8::RunError<bb8_redis::redis::RedisError>) -> &'static str {
    match e {
        bb8::RunError::User(e) => error_class(e),
        bb8::RunError::TimedOut => "timeout",
    }
}
