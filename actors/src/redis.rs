//! The Redis connection pool shared by the service and the actors: bb8 over bb8-redis's
//! manager, with one fix: a connection whose command failed at the I/O level, or whose command
//! was abandoned mid-flight (a timeout dropped the future), is marked broken and discarded
//! when returned, so the pool recovers after a Redis restart without a PING per checkout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bb8_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use bb8_redis::redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use bb8_redis::RedisConnectionManager;

pub use bb8_redis::redis;

pub type RedisPool = bb8::Pool<RedisManager>;

pub struct RedisManager {
    inner: RedisConnectionManager,
    connect_errors: ConnectErrors,
}

impl RedisManager {
    pub fn new(url: &str) -> Result<Self, RedisError> {
        Ok(Self {
            inner: RedisConnectionManager::new(url)?,
            connect_errors: ConnectErrors::default(),
        })
    }

    /// From a built client: keeps its TLS settings (a `Client::build_with_tls` CA bundle).
    pub fn from_client(client: &redis::Client) -> Result<Self, RedisError> {
        Ok(Self {
            inner: RedisConnectionManager::new(client.get_connection_info().clone())?,
            connect_errors: ConnectErrors::default(),
        })
    }

    /// The record of this manager's failed connects (shared handle).
    pub fn connect_errors(&self) -> ConnectErrors {
        self.connect_errors.clone()
    }
}

/// The class of a Redis error, for health reports, logs and metrics (never its text).
pub fn error_class(e: &RedisError) -> &'static str {
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

/// The last failed connect of a pool and when it happened: when a checkout only says "timed
/// out" (bb8 connects in the background), this names the real cause (refused, TLS, …).
#[derive(Clone, Default)]
pub struct ConnectErrors(Arc<Mutex<Option<(Instant, &'static str)>>>);

impl ConnectErrors {
    fn record(&self, class: Option<&'static str>) {
        if let Ok(mut last) = self.0.lock() {
            *last = class.map(|c| (Instant::now(), c));
        }
    }

    /// The class of the last connect, if it failed within `within` and none succeeded since.
    pub fn recent(&self, within: Duration) -> Option<&'static str> {
        let last = *self.0.lock().ok()?;
        last.filter(|(at, _)| at.elapsed() <= within)
            .map(|(_, class)| class)
    }
}

/// A pooled connection that remembers whether it can still be trusted.
pub struct RedisConn {
    inner: MultiplexedConnection,
    broken: bool,
}

/// Errors after which the connection must not be reused.
fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal()
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            // Stays true if this future is dropped before the answer arrives.
            self.broken = true;
            let result = self.inner.req_packed_command(cmd).await;
            self.broken = matches!(&result, Err(e) if breaks_connection(e));
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.broken = true;
            let result = self.inner.req_packed_commands(cmd, offset, count).await;
            self.broken = matches!(&result, Err(e) if breaks_connection(e));
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

impl bb8::ManageConnection for RedisManager {
    type Connection = RedisConn;
    type Error = RedisError;

    async fn connect(&self) -> Result<RedisConn, RedisError> {
        match self.inner.connect().await {
            Ok(inner) => {
                self.connect_errors.record(None);
                Ok(RedisConn {
                    inner,
                    broken: false,
                })
            }
            Err(e) => {
                self.connect_errors.record(Some(error_class(&e)));
                Err(e)
            }
        }
    }

    async fn is_valid(&self, conn: &mut RedisConn) -> Result<(), RedisError> {
        self.inner.is_valid(&mut conn.inner).await
    }

    fn has_broken(&self, conn: &mut RedisConn) -> bool {
        conn.broken
    }
}

/// One multiplexed connection shared by every caller of a hot path (the rate limiter): many
/// requests in flight at once on one socket, no pool checkout to wait for. Connected lazily
/// within `connect_timeout`; `reset` after a connection-level failure reconnects next time.
pub struct SharedConnection {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    connect_timeout: std::time::Duration,
}

impl SharedConnection {
    pub fn new(url: &str, connect_timeout: std::time::Duration) -> Result<Self, RedisError> {
        Ok(Self::from_client(
            redis::Client::open(url)?,
            connect_timeout,
        ))
    }

    /// From a built client (keeps its TLS settings).
    pub fn from_client(client: redis::Client, connect_timeout: std::time::Duration) -> Self {
        Self {
            client,
            conn: tokio::sync::Mutex::new(None),
            connect_timeout,
        }
    }

    pub async fn get(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut guard = self.conn.lock().await;
        if let Some(conn) = guard.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(
            self.connect_timeout,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| RedisError::from((redis::ErrorKind::Io, "connect timed out")))??;
        *guard = Some(conn.clone());
        Ok(conn)
    }

    pub async fn reset(&self) {
        *self.conn.lock().await = None;
    }
}
