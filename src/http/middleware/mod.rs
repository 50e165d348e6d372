//! Middleware of the service.

mod request_context;

pub use request_context::{request_context, RequestId};
