//! One handler per analytics actor message.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::actor::AnalyticsActor;
use super::messages::{Flush, Stop, StopReport};

impl Handler<Flush> for AnalyticsActor {
    type Result = ();

    fn handle(&mut self, _msg: Flush, ctx: &mut Self::Context) {
        self.flush(ctx);
    }
}

impl Handler<Stop> for AnalyticsActor {
    type Result = ResponseFuture<StopReport>;

    fn handle(&mut self, _msg: Stop, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.begin_stop(tx, ctx);
        Box::pin(async move { rx.await.unwrap_or_default() })
    }
}
