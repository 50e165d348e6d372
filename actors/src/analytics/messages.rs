//! Messages the analytics actor answers. Records do not come as messages: they arrive through
//! the bounded queue (`Recorder`), which never blocks the request path.

use actix::Message;

/// Flush now (unless a flush is in flight or Redis is in back-off).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

/// Shutdown: take what is queued, write everything within `shutdown_flush`, then stop.
/// Answers how many requests' figures were written and how many were lost.
#[derive(Message)]
#[rtype(result = "StopReport")]
pub struct Stop;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReport {
    pub flushed: u64,
    pub lost: u64,
}
