//! What the request path hands over for one request, and the names it may use.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

/// The endpoint name of every request no route matched (scanners, typos, 404s): one name, so no
/// client can create keys.
pub const UNMATCHED: &str = "UNMATCHED";
/// The method name of every method outside the standard set.
pub const OTHER_METHOD: &str = "_OTHER";
/// The tenant of requests without a verified organization.
pub const ANONYMOUS: &str = "anonymous";
/// Requests authenticated with the platform admin token.
pub const PLATFORM_ADMIN: &str = "platform-admin";
/// Where tenants beyond the per-day cap are counted.
pub const OVERFLOW_TENANT: &str = "_overflow";

/// One finished request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The route template (`/api/members/{id}`) or `UNMATCHED`; never a raw path.
    pub route: String,
    /// A standard method name or `_OTHER`.
    pub method: &'static str,
    pub status: u16,
    pub duration_us: u64,
    /// Organization id, `anonymous` or `platform-admin` (the fixed names borrowed: most
    /// requests allocate nothing for their tenant).
    pub tenant: Cow<'static, str>,
    pub request_id: String,
    /// When the request ended (UTC); decides the day it counts for.
    pub ended_at: DateTime<Utc>,
}

impl Record {
    /// `METHOD route`, the name of the endpoint.
    pub fn endpoint(&self) -> String {
        endpoint_name(self.method, &self.route)
    }

    /// `client_cut(self.status)`.
    pub fn client_cut(&self) -> bool {
        client_cut(self.status)
    }
}

/// Whether the client decided how long a request with this status took: 408 (its body
/// stalled until the request timeout) or 499 (it went away). Any client can make such requests
/// as slow as the timeout, so they count under their own endpoint only (`TIMEOUT`, `ABORTED`),
/// never in the day's summary, a tenant's figures or the slowest requests: a few stalled
/// connections must not move the day's percentiles or fill the slow list.
pub fn client_cut(status: u16) -> bool {
    matches!(status, 408 | 499)
}

pub fn endpoint_name(method: &str, route: &str) -> String {
    let mut s = String::with_capacity(method.len() + 1 + route.len());
    s.push_str(method);
    s.push(' ');
    s.push_str(route);
    s
}

/// A method name from the standard set, or `_OTHER`.
pub fn method_name(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or(OTHER_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_collapse() {
        assert_eq!(method_name("GET"), "GET");
        assert_eq!(method_name("PATCH"), "PATCH");
        assert_eq!(method_name("get"), OTHER_METHOD);
        assert_eq!(method_name("PURGE"), OTHER_METHOD);
        assert_eq!(
            endpoint_name("GET", "/api/members/{id}"),
            "GET /api/members/{id}"
        );
    }
}
