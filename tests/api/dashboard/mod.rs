//! The admin dashboard (`/admin`, docs/dashboard.md): the page's headers, `GET /api/me`, and
//! the page itself in a real browser: Debian's Chromium driven by playwright-core
//! (tests/browser/dashboard.mjs) against the service with real PostgreSQL and Redis. The test
//! makes traffic, writes it to Redis, reads the JSON API itself and hands those figures to the
//! browser script, which signs in, compares what the page shows, switches days and saves a
//! screenshot (target/screenshots/).
//!
//! `traffic` makes the traffic, `browser` runs the script; the tests are in `in_browser` (the
//! three browser runs), `page` (the page and its files as served) and `me` (`GET /api/me`).

mod browser;
mod in_browser;
mod me;
mod page;
mod traffic;

use chrono::{NaiveDate, Utc};
use serde_json::Value;

use crate::support::analytics::admin_get;
use crate::support::TestApp;

/// ANALYTICS_RETENTION_DAYS of the test apps (the default).
const RETENTION_DAYS: i64 = 30;

/// Today + `offset` days (UTC).
fn day(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + chrono::Duration::days(offset)
}

/// An analytics answer with the admin token, which must be 200.
async fn json_ok(app: &TestApp, path: &str) -> Value {
    let (status, body) = admin_get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}
