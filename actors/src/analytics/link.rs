//! Redis calls of analytics (writer and readers) under one deadline each: pool wait, connect
//! and round trip together. The shared pool (`crate::redis`) discards a connection whose call
//! failed at the transport level or was abandoned by the deadline, so a hung or restarted
//! Redis never leaves a dead connection behind. Command errors keep the connection.

use std::time::Duration;

use bb8_redis::redis::{FromRedisValue, Pipeline, RedisError};
use tokio::time::{timeout_at, Instant};

pub use crate::redis::RedisPool;

#[derive(Debug)]
pub enum LinkError {
    /// No answer within the deadline (Redis down, slow or hung).
    Timeout,
    Redis(RedisError),
    /// A reply of an unexpected shape.
    Reply(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.class())
    }
}

impl std::error::Error for LinkError {}

impl LinkError {
    /// A stable, secret-free class.
    pub fn class(&self) -> &'static str {
        match self {
            LinkError::Timeout => "timeout",
            LinkError::Redis(e) if e.is_timeout() => "timeout",
            LinkError::Redis(e) if e.is_connection_refusal() => "connection_refused",
            LinkError::Redis(e) if e.is_connection_dropped() || e.is_io_error() => {
                "connection_lost"
            }
            LinkError::Redis(_) => "command_failed",
            LinkError::Reply(_) => "unexpected_reply",
        }
    }
}

/// Converts one reply of a pipeline.
pub fn parse<T: FromRedisValue>(value: bb8_redis::redis::Value) -> Result<T, LinkError> {
    bb8_redis::redis::from_redis_value(value).map_err(|e| LinkError::Reply(e.to_string()))
}

#[derive(Clone)]
pub struct RedisLink {
    pool: RedisPool,
    timeout: Duration,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisLink {
    pub fn new(pool: RedisPool, timeout: Duration) -> Self {
        Self { pool, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Run a pipeline under the link's deadline.
    pub async fn query<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, LinkError> {
        let deadline = Instant::now() + self.timeout;
        let mut conn = match timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(c)) => c,
            Ok(Err(bb8::RunError::User(e))) => return Err(LinkError::Redis(e)),
            Ok(Err(bb8::RunError::TimedOut)) | Err(_) => return Err(LinkError::Timeout),
        };
        match timeout_at(deadline, pipe.query_async::<T>(&mut *conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(LinkError::Redis(e)),
            Err(_) => Err(LinkError::Timeout),
        }
    }
}
