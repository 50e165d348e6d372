//! Tells a client's stalled request body from a slow handler: the request's payload is wrapped
//! in a stream that notes whether the handler is waiting on it. When the request timeout fires
//! while it is, the client is at fault: 408 `request_body_timeout` (a 4xx, so a trickled body
//! cannot set off the 5xx alerts), not 503 `request_timeout`.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::Stream;

/// Whether the request's handler is waiting for body bytes that have not arrived. Kept in the
/// request's extensions, so the analytics record of a cut request names it the same way.
#[derive(Debug, Clone, Default)]
pub struct BodyWait(Arc<AtomicBool>);

impl BodyWait {
    /// True while the last read of the body found nothing yet (and the body has not ended).
    pub fn waiting(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request that declares a body (Content-Length above 0, or chunked) gets its payload
/// watched; requests without one are left as they are (no allocation on the common GET).
pub fn watch(req: &mut ServiceRequest) -> Option<BodyWait> {
    let headers = req.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0);
    if !has_body {
        return None;
    }
    let wait = BodyWait::default();
    let inner = req.take_payload();
    let watched: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Watched {
        inner,
        wait: wait.clone(),
    });
    req.set_payload(Payload::from(watched));
    req.extensions_mut().insert(wait.clone());
    Some(wait)
}

struct Watched {
    inner: Payload,
    wait: BodyWait,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        self.wait.0.store(polled.is_pending(), Ordering::Relaxed);
        polled
    }
}
