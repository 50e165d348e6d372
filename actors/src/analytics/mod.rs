//! Request analytics: the request path hands a `Record` to a bounded queue (`Recorder`, never
//! waits); the `AnalyticsActor` aggregates in memory and writes per-UTC-day figures to Redis in
//! batches (one pipeline per flush, exactly once); `read` answers the admin API.
//!
//! Layout: `record` (what is recorded), `histogram` and `stats` (the one bucket layout and the
//! stored form), `keys` (names, expiry), `aggregate` (in-memory, bounded), `batch` and `store`
//! (the flush script and its call), `link` (a self-healing Redis connection), `queue`,
//! `messages`, `actor`, `handlers`, `probe` (the health entry), `read` (queries).

mod actor;
pub mod aggregate;
mod batch;
mod handlers;
pub mod histogram;
pub mod keys;
mod link;
mod messages;
mod probe;
mod queue;
pub mod read;
mod record;
pub mod stats;
mod store;

pub use actor::{AnalyticsActor, AnalyticsConfig};
pub use aggregate::{SlowEntry, SLOW_KEEP};
pub use link::{LinkError, RedisLink, RedisPool};
pub use messages::{Flush, Stop, StopReport};
pub use probe::AnalyticsProbe;
pub use queue::{channel, Counters, Inbox, Recorder, Snapshot};
pub use record::{
    client_cut, endpoint_name, method_name, Record, ANONYMOUS, OTHER_METHOD, OVERFLOW_TENANT,
    PLATFORM_ADMIN, UNMATCHED,
};
