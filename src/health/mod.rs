//! Health as the HTTP side shows it: the checks computed once at boot, and the JSON views of
//! the supervisor's cached report (ours and the IETF health+json draft).

mod services;
mod view;

pub use services::service_checks;
pub use view::{health_body, health_json_body, HealthView};
