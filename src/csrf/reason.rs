//! What a CSRF refusal is: its reason (the problem code and the client-facing detail), the
//! cause for the log line, the counters per reason, and where a log line points.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a checked request was refused: the problem code, and a counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Missing,
    Invalid,
    Expired,
    OriginRejected,
}

impl Reason {
    pub const ALL: [Reason; 4] = [
        Reason::Missing,
        Reason::Invalid,
        Reason::Expired,
        Reason::OriginRejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::Missing => "csrf_token_missing",
            Reason::Invalid => "csrf_token_invalid",
            Reason::Expired => "csrf_token_expired",
            Reason::OriginRejected => "csrf_origin_rejected",
        }
    }

    /// What the client is told (never the token, never which check failed in detail).
    pub fn detail(self) -> &'static str {
        match self {
            Reason::Missing => "CSRF token required: send the token from GET /api/csrf-token in the x-csrf-token header.",
            Reason::Invalid => "The CSRF token is not valid for this session.",
            Reason::Expired => "The CSRF token has expired: fetch a new one from GET /api/csrf-token and retry once.",
            Reason::OriginRejected => "Requests from this origin may not change data with this session.",
        }
    }
}

/// A refusal with the precise cause for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub cause: String,
}

pub(crate) fn reject(reason: Reason, cause: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        cause: cause.into(),
    }
}

/// Counters: rejections per reason, requests accepted on the signature alone while Redis was
/// unavailable, and tokens replaced by a refresh. A later issue exports them to Prometheus.
#[derive(Debug, Default)]
pub struct CsrfMetrics {
    missing: AtomicU64,
    invalid: AtomicU64,
    expired: AtomicU64,
    origin_rejected: AtomicU64,
    pub(crate) degraded: AtomicU64,
    pub(crate) refreshed: AtomicU64,
}

impl CsrfMetrics {
    pub(crate) fn counter(&self, reason: Reason) -> &AtomicU64 {
        match reason {
            Reason::Missing => &self.missing,
            Reason::Invalid => &self.invalid,
            Reason::Expired => &self.expired,
            Reason::OriginRejected => &self.origin_rejected,
        }
    }
    pub fn rejections(&self, reason: Reason) -> u64 {
        self.counter(reason).load(Ordering::Relaxed)
    }
    pub fn degraded(&self) -> u64 {
        self.degraded.load(Ordering::Relaxed)
    }
    pub fn refreshed(&self) -> u64 {
        self.refreshed.load(Ordering::Relaxed)
    }
}

/// Where a log line about a request points: never the raw path, the token or the session id.
#[derive(Debug, Clone)]
pub struct LogContext {
    /// The route template (`/api/members/{id}`), or UNMATCHED.
    pub route: String,
    /// The session's organization (Clerk org id), `platform-admin`, or `-`.
    pub tenant: String,
    /// `token::session_hash` of the session id, or `-`.
    pub session: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "csrf_token_missing",
                "csrf_token_invalid",
                "csrf_token_expired",
                "csrf_origin_rejected"
            ]
        );
        assert!(Reason::Missing.detail().starts_with("CSRF token required"));
    }
}
