//! Middleware of the service.

mod analytics;
mod body_watch;
mod csrf;
mod ratelimit;
mod request_context;
pub mod worker_buffer;

pub use analytics::{tenant_of, Analytics, UNRECORDED_PATHS};
pub use csrf::{csrf, is_safe_method, log_context};
pub use ratelimit::{limit_headers, subject, RateLimit};
pub use request_context::{request_context, KeepBody, RequestId};
