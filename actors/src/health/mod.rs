//! The health supervisor: probes dependencies in the background and publishes a cached report.
//!
//! Layout: `report` (the published types and the verdict logic), `probe` (what a dependency
//! check must implement), `debounce` (latency flapping guard), `messages`, `actor`, `handlers`.

mod actor;
mod debounce;
mod handlers;
mod messages;
mod probe;
mod report;

pub use actor::{HealthSupervisor, SupervisorConfig};
pub use debounce::Debounce;
pub use messages::{RunChecks, Stop};
pub use probe::{Impact, Probe, ProbeOutcome};
pub use report::{CheckResult, HealthCell, HealthReport, Status, Verdict};
