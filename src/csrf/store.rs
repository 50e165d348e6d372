//! The per-session CSRF record in Redis, at `{REDIS_KEY_PREFIX}csrf:v1:{<session hash>}` (one
//! key per session; the hash tag keeps it on one cluster slot): the current token's random part
//! and expiry, the previous token (valid until its own expiry, so a page holding it survives a
//! refresh), or a tombstone once the session ended. Every call is bounded by a short deadline;
//! a slow or dead Redis is reported as `Unavailable`, never waited on.

use std::time::Duration;

use bb8_redis::redis;
use serde::{Deserialize, Serialize};

use super::token::session_hash;
use crate::cache::Cache;

/// The deadline of one Redis round trip (pool checkout included).
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(100);

/// One issued token: its random part (base64url) and when it expires (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "r")]
    pub random: String,
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

/// What Redis holds for one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The session ended (logout): no token of it is valid, none is issued.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Entry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Entry>,
}

impl Record {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A record as read, with the exact stored text (the compare-and-set compares that).
#[derive(Debug, Clone)]
pub struct Stored {
    pub raw: String,
    pub record: Record,
}

/// Redis could not answer in time (or is not configured); the class is for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable(pub &'static str);

/// Set the key to ARGV[2] with a TTL of ARGV[3] ms only if it still holds ARGV[1] ('' = absent).
const COMPARE_AND_SET: &str = r"
local v = redis.call('GET', KEYS[1])
if (v == false and ARGV[1] == '') or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

#[derive(Clone)]
pub struct Store {
    cache: Cache,
    timeout: Duration,
}

impl Store {
    pub fn new(cache: Cache, timeout: Duration) -> Self {
        Self { cache, timeout }
    }

    /// The Redis key of a session's record: never the session id itself.
    pub fn key(&self, session_id: &str) -> String {
        format!(
            "{}csrf:v1:{{{}}}",
            self.cache.prefix(),
            session_hash(session_id)
        )
    }

    /// One command, pool checkout included, within the deadline.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Unavailable> {
        let pool = self.cache.pool().ok_or(Unavailable("not_configured"))?;
        let call = async {
            let mut conn = pool
                .get()
                .await
                .map_err(|e| Unavailable(self.cache.run_error_class(&e)))?;
            cmd.query_async::<T>(&mut *conn)
                .await
                .map_err(|e| Unavailable(crate::cache::error_class(&e)))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| Unavailable("timeout"))?
    }

    /// The session's record; an unreadable value counts as none (logged).
    pub async fn load(&self, session_id: &str) -> Result<Option<Stored>, Unavailable> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(session_id));
        let raw: Option<String> = self.query(&cmd).await?;
        Ok(raw.and_then(|raw| match serde_json::from_str(&raw) {
            Ok(record) => Some(Stored { raw, record }),
            Err(_) => {
                log::warn!("csrf: unreadable record in Redis; treated as absent");
                None
            }
        }))
    }

    /// Replace the record only if it still is `expected` (None = absent). False when another
    /// request changed it first.
    pub async fn compare_and_set(
        &self,
        session_id: &str,
        expected: Option<&str>,
        record: &Record,
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(COMPARE_AND_SET)
            .arg(1)
            .arg(self.key(session_id))
            .arg(expected.unwrap_or(""))
            .arg(record.to_json())
            .arg(ttl_ms(ttl));
        let done: i64 = self.query(&cmd).await?;
        Ok(done == 1)
    }

    /// Overwrite the record unconditionally.
    pub async fn put(
        &self,
        session_id: &str,
        record: &Record,
        ttl: Duration,
    ) -> Result<(), Unavailable> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(session_id))
            .arg(record.to_json())
            .arg("PX")
            .arg(ttl_ms(ttl));
        self.query(&cmd).await
    }
}

/// A key lifetime in ms, at least a second.
fn ttl_ms(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1000, u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialise_compactly() {
        let r = Record {
            revoked: false,
            current: Some(Entry {
                random: "abc".into(),
                expires_at: 10,
            }),
            previous: None,
        };
        assert_eq!(r.to_json(), r#"{"current":{"r":"abc","exp":10}}"#);
        let tomb = Record {
            revoked: true,
            ..Record::default()
        };
        assert_eq!(tomb.to_json(), r#"{"revoked":true}"#);
        let back: Record = serde_json::from_str(&tomb.to_json()).unwrap();
        assert_eq!(back, tomb);
    }
}
