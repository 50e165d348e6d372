//! CSRF protection for cookie-authenticated browsers (docs/csrf.md): the decisions, as functions
//! the middleware (`http::middleware::csrf`) and the token routes (`http::csrf_routes`) call.
//!
//! - `origin`: the header-only origin layer (Sec-Fetch-Site, Origin vs APP_ORIGINS)
//! - `token`: the token format, minting, masking and verification (no I/O)
//! - `read`: the token of a request (the header only; the cookie may only agree)
//! - `reason`: refusal reasons, their codes and counters
//! - `store`: the per-session record in Redis (current, previous, revoked)

pub mod origin;
mod read;
mod reason;
pub mod store;
pub mod token;

pub use read::read_token;
pub use reason::{CsrfMetrics, LogContext, Reason, Rejection};

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::header::HeaderName;
use secrecy::ExposeSecret;

use crate::cache::Cache;
use crate::config::CsrfSettings;
use crate::error::AppError;
use reason::reject;
use store::{Entry, Record, Store, Stored, Unavailable};
use token::{RawToken, Secrets};

/// The request header carrying the token (the only place a token is read from).
pub const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");
/// The companion cookie set with every issued token. If sent it must hold the same token.
pub const TOKEN_COOKIE: &str = "__Host-csrf-token";
/// A token with less life left than this is replaced after a successful checked request.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(600);

/// A token as handed to the client.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: RawToken,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Issued {
    pub fn expires_at_rfc3339(&self) -> String {
        chrono::DateTime::from_timestamp(self.expires_at, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Seconds of life left (for the cookie's Max-Age).
    pub fn max_age(&self) -> i64 {
        (self.expires_at - now()).max(0)
    }
}

/// How a token passed.
#[derive(Debug)]
pub enum Verified {
    /// Redis confirms it is the session's current token.
    Current(Stored),
    /// The session's previous token, still within its life; `current` goes back to the client.
    Previous(Option<Issued>),
    /// Redis was unavailable: accepted on its signature for this session alone.
    Degraded(&'static str),
}

/// Why no token can be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueError {
    /// The session was ended (logout): it gets no new token.
    SessionEnded,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn random_matches(entry: &Option<Entry>, random: &[u8; token::RANDOM_LEN]) -> Option<i64> {
    let entry = entry.as_ref()?;
    let stored = token::decode_random(&entry.random)?;
    constant_time_eq::constant_time_eq(&stored, random).then_some(entry.expires_at)
}

/// Everything the CSRF check needs, built once at startup.
pub struct Csrf {
    secrets: Secrets,
    origins: Vec<String>,
    ttl: Duration,
    store: Store,
    pub metrics: CsrfMetrics,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csrf")
            .field("origins", &self.origins)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Csrf {
    pub fn new(secrets: Secrets, origins: Vec<String>, ttl: Duration, cache: Cache) -> Self {
        Self {
            secrets,
            origins,
            ttl,
            store: Store::new(cache, store::REDIS_TIMEOUT),
            metrics: CsrfMetrics::default(),
        }
    }

    /// From the validated settings. Without CSRF_SECRET (development/test only: validation
    /// refuses it elsewhere) a random per-process secret is used, with a warning.
    pub fn from_settings(settings: &CsrfSettings, cache: Cache) -> Result<Self, String> {
        let old: Vec<&[u8]> = settings
            .old_secrets
            .iter()
            .map(|s| s.expose_secret().as_bytes())
            .collect();
        let current: Vec<u8> = match &settings.secret {
            Some(secret) => secret.expose_secret().as_bytes().to_vec(),
            None => {
                log::warn!(
                    "CSRF_SECRET is not set: using a random secret for this process only; CSRF \
                     tokens will not survive a restart and other instances will refuse them"
                );
                rand::random::<[u8; 32]>().to_vec()
            }
        };
        let secrets = Secrets::new(&current, &old)?;
        Ok(Self::new(
            secrets,
            settings.app_origins.clone(),
            settings.token_ttl,
            cache,
        ))
    }

    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Count and log a refusal; the 403 problem to answer.
    pub fn refuse(&self, rejection: &Rejection, ctx: &LogContext) -> AppError {
        self.metrics
            .counter(rejection.reason)
            .fetch_add(1, Ordering::Relaxed);
        log::warn!(
            target: "csrf",
            "csrf rejected: reason={} cause=\"{}\" route={} tenant={} session={}",
            rejection.reason.code(),
            rejection.cause,
            ctx.route,
            ctx.tenant,
            ctx.session
        );
        AppError::Csrf {
            code: rejection.reason.code(),
            detail: rejection.reason.detail(),
        }
    }

    fn degraded(&self, what: &str, class: &str, ctx: &LogContext) {
        self.metrics.degraded.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            target: "csrf",
            "csrf degraded: Redis unavailable ({class}); {what} route={} tenant={} session={}",
            ctx.route,
            ctx.tenant,
            ctx.session
        );
    }

    fn issued(&self, session_id: &str, entry: &Entry) -> Option<Issued> {
        let random = token::decode_random(&entry.random)?;
        Some(Issued {
            token: token::from_random(&self.secrets, session_id, &random),
            expires_at: entry.expires_at,
        })
    }

    /// The record's current token when it has at least the refresh window left.
    fn fresh_current(&self, session_id: &str, record: &Record) -> Option<Issued> {
        let entry = record.current.as_ref()?;
        if record.revoked || entry.expires_at - now() < REFRESH_WINDOW.as_secs() as i64 {
            return None;
        }
        self.issued(session_id, entry)
    }

    /// Is `token` valid for `session_id`? The signature first (no I/O), then the record.
    pub async fn verify(
        &self,
        session_id: &str,
        token: &RawToken,
        ctx: &LogContext,
    ) -> Result<Verified, Rejection> {
        if !token::verify(&self.secrets, session_id, token) {
            return Err(reject(
                Reason::Invalid,
                "the signature does not match this session",
            ));
        }
        let stored = match self.store.load(session_id).await {
            Ok(stored) => stored,
            Err(Unavailable(class)) => {
                self.degraded("accepted a token on its signature", class, ctx);
                return Ok(Verified::Degraded(class));
            }
        };
        let Some(stored) = stored else {
            return Err(reject(Reason::Expired, "no live token for this session"));
        };
        let record = &stored.record;
        if record.revoked {
            return Err(reject(Reason::Invalid, "the session ended (logout)"));
        }
        let random = token.random_part();
        let now = now();
        if let Some(exp) = random_matches(&record.current, &random) {
            if now >= exp {
                return Err(reject(Reason::Expired, "the token expired"));
            }
            return Ok(Verified::Current(stored));
        }
        if let Some(exp) = random_matches(&record.previous, &random) {
            if now >= exp {
                return Err(reject(Reason::Expired, "the token expired"));
            }
            let current = record
                .current
                .as_ref()
                .and_then(|e| self.issued(session_id, e));
            return Ok(Verified::Previous(current));
        }
        Err(reject(Reason::Expired, "a newer token replaced it"))
    }

    /// After a successful checked request: a token for the response's `x-csrf-token` header
    /// when the one used is near its end (a fresh one) or was the previous one (the current).
    pub async fn after_success(
        &self,
        session_id: &str,
        verified: Verified,
        ctx: &LogContext,
    ) -> Option<Issued> {
        match verified {
            Verified::Degraded(_) => None,
            Verified::Previous(current) => current,
            Verified::Current(stored) => {
                let exp = stored.record.current.as_ref()?.expires_at;
                if exp - now() >= REFRESH_WINDOW.as_secs() as i64 {
                    return None;
                }
                match self.replace(session_id, Some(stored)).await {
                    Ok(Ok(issued)) => {
                        self.metrics.refreshed.fetch_add(1, Ordering::Relaxed);
                        Some(issued)
                    }
                    Ok(Err(IssueError::SessionEnded)) => None,
                    Err(Unavailable(class)) => {
                        self.degraded("the token was not refreshed", class, ctx);
                        None
                    }
                }
            }
        }
    }

    /// Store a new current token (the old current becomes the previous), unless another
    /// request did first: then theirs is used. Compare-and-set, so concurrent refreshes on
    /// several instances never lose a token a client already holds.
    async fn replace(
        &self,
        session_id: &str,
        mut stored: Option<Stored>,
    ) -> Result<Result<Issued, IssueError>, Unavailable> {
        for _ in 0..3 {
            let now = now();
            let new = token::mint(&self.secrets, session_id);
            let entry = Entry {
                random: token::encode_random(&new.random_part()),
                expires_at: now + self.ttl.as_secs() as i64,
            };
            let previous = stored
                .as_ref()
                .and_then(|s| s.record.current.clone())
                .filter(|e| e.expires_at > now);
            let record = Record {
                revoked: false,
                current: Some(entry.clone()),
                previous,
            };
            let expected = stored.as_ref().map(|s| s.raw.as_str());
            if self
                .store
                .compare_and_set(session_id, expected, &record, self.ttl)
                .await?
            {
                return Ok(Ok(Issued {
                    token: new,
                    expires_at: entry.expires_at,
                }));
            }
            stored = self.store.load(session_id).await?;
            if let Some(s) = &stored {
                if s.record.revoked {
                    return Ok(Err(IssueError::SessionEnded));
                }
                if let Some(issued) = self.fresh_current(session_id, &s.record) {
                    return Ok(Ok(issued));
                }
            }
        }
        Err(Unavailable("contention"))
    }

    /// A token for `session_id` (GET /api/csrf-token): the current one while it has more than
    /// the refresh window left, so several tabs share it; else a new one. With Redis
    /// unavailable, an unstored token (valid on its signature until Redis returns).
    pub async fn issue(&self, session_id: &str, ctx: &LogContext) -> Result<Issued, IssueError> {
        let outcome = match self.store.load(session_id).await {
            Ok(Some(s)) if s.record.revoked => return Err(IssueError::SessionEnded),
            Ok(Some(s)) => match self.fresh_current(session_id, &s.record) {
                Some(issued) => return Ok(issued),
                None => self.replace(session_id, Some(s)).await,
            },
            Ok(None) => self.replace(session_id, None).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(result) => result,
            Err(Unavailable(class)) => {
                self.degraded("issued an unstored token", class, ctx);
                Ok(Issued {
                    token: token::mint(&self.secrets, session_id),
                    expires_at: now() + self.ttl.as_secs() as i64,
                })
            }
        }
    }

    /// End the session's tokens (logout, or any session end the service learns of): a
    /// tombstone for a token lifetime, so no earlier token passes and none is issued.
    pub async fn revoke(&self, session_id: &str) -> Result<(), Unavailable> {
        let tombstone = Record {
            revoked: true,
            ..Record::default()
        };
        self.store.put(session_id, &tombstone, self.ttl).await
    }

    /// The wire form of a token, masked afresh.
    pub fn mask(&self, issued: &Issued) -> String {
        token::mask(&issued.token)
    }
}
