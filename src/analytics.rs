//! Wiring of request analytics (docs/analytics.md): the queue and reader the web side holds,
//! and the actor's start and final flush. The actor lives in `unioneyes_actors::analytics`;
//! recording is `http::middleware::analytics`, the admin API `http::analytics`.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle};
use unioneyes_actors::analytics::read::Reader;
use unioneyes_actors::analytics::{
    self as actors, AnalyticsActor, AnalyticsConfig, Inbox, Recorder, RedisLink, Stop,
};

use crate::cache::Cache;
use crate::config::Settings;

/// Analytics as the web side holds it: the queue handle and the reader.
#[derive(Clone, Debug)]
pub struct Analytics {
    pub recorder: Recorder,
    pub reader: Reader,
    /// Workers' record buffers not yet dropped (`http::middleware::worker_buffer`): the final
    /// flush waits for them, so a worker's last batch is in the queue before it is closed.
    pub worker_buffers: Arc<AtomicUsize>,
    link: RedisLink,
}

/// The queue, reader and the actor's inbox; None when analytics is off or Redis is not
/// configured.
pub fn build(settings: &Settings, cache: &Cache) -> Option<(Analytics, Inbox)> {
    let a = &settings.analytics;
    if !a.enabled {
        log::info!("ANALYTICS_ENABLED=false: request analytics off");
        return None;
    }
    let Some(pool) = cache.pool() else {
        log::warn!("Redis is not configured: request analytics off");
        return None;
    };
    let link = RedisLink::new(pool.clone(), a.redis_timeout);
    let (recorder, inbox) = actors::channel(a.queue_capacity);
    let reader = Reader::new(link.clone(), cache.prefix());
    Some((
        Analytics {
            recorder,
            reader,
            worker_buffers: Arc::new(AtomicUsize::new(0)),
            link,
        },
        inbox,
    ))
}

/// Start the actor on `arbiter` (the background actors' thread).
pub fn start(
    settings: &Settings,
    analytics: &Analytics,
    inbox: Inbox,
    arbiter: &ArbiterHandle,
) -> Addr<AnalyticsActor> {
    let a = &settings.analytics;
    let config = AnalyticsConfig {
        key_prefix: settings.redis.key_prefix.clone(),
        flush_interval: a.flush_interval,
        flush_batch: a.flush_batch,
        max_tenants_per_day: a.max_tenants_per_day,
        retention_days: settings.analytics_retention_days,
        shutdown_flush: a.shutdown_flush,
    };
    let link = analytics.link.clone();
    AnalyticsActor::start_in_arbiter(arbiter, move |_| AnalyticsActor::new(config, inbox, link))
}

/// The final flush: bounded by ANALYTICS_SHUTDOWN_FLUSH_MS (plus a margin if the actor hangs).
pub async fn stop(addr: &Addr<AnalyticsActor>, budget: Duration) {
    let margin = budget + Duration::from_secs(1);
    match tokio::time::timeout(margin, addr.send(Stop)).await {
        Ok(Ok(report)) => log::info!(
            "analytics stopped: {} requests written, {} lost",
            report.flushed,
            report.lost
        ),
        Ok(Err(_)) => log::warn!("analytics actor was already gone at shutdown"),
        Err(_) => log::warn!("analytics final flush did not finish in time"),
    }
}

/// Waits (at most 2 s) until every worker's record buffer is dropped, so its last batch is in
/// the queue before the final flush closes it. A stopped server drops its workers' services
/// right after it reports the stop; a buffer still alive after 2 s is reported, not waited for.
pub async fn await_worker_buffers(analytics: &Analytics) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let alive = analytics
            .worker_buffers
            .load(std::sync::atomic::Ordering::SeqCst);
        if alive == 0 {
            return;
        }
        if std::time::Instant::now() >= deadline {
            log::warn!("analytics: {alive} worker buffer(s) still alive at the final flush");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
