//! One handler per health supervisor message.

use actix::prelude::*;

use super::actor::HealthSupervisor;
use super::messages::{RunChecks, Stop};

impl Handler<RunChecks> for HealthSupervisor {
    type Result = ();

    fn handle(&mut self, _msg: RunChecks, ctx: &mut Self::Context) {
        self.tick(ctx);
    }
}

impl Handler<Stop> for HealthSupervisor {
    type Result = ();

    fn handle(&mut self, _msg: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
