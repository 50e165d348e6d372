//! Messages the health supervisor answers.

use actix::Message;

/// Run a probe cycle now (used once at startup so the first report does not wait an interval).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunChecks;

/// Stop the supervisor (shutdown). Its last report stays in the cell and turns stale.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;
