//! Tells a client's stalled request body from a slow handler: the request's payload is wrapped
//! in a stream that notes whether the handler is waiting on it. When the request timeout fires
//! while it is, the client is at fault: 408 `request_body_timeout` (a 4xx, so a trickled body
//! cannot set off the 5xx alerts), not 503 `request_timeout`. The 408 then holds the payload
//! (`PayloadHold`) until its body is sent, so actix closes the connection instead of reading
//! and discarding the rest of a chunked body for as long as the client keeps sending.
//!
//! It also adds up how long the handler waited for body bytes (`BodyWait::waited`): that time
//! is the client's, and analytics leaves it out of a request's duration, so a body trickled in
//! (or abandoned) just before the timeout cannot pass for a slow service.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::Stream;

/// Whether the request's handler is waiting for body bytes that have not arrived, and the
/// payload itself. Kept in the request's extensions, so the analytics record of a cut request
/// names it the same way.
#[derive(Clone)]
pub struct BodyWait {
    waiting: Rc<Cell<bool>>,
    /// Since when the current wait for body bytes lasts, if one does.
    since: Rc<Cell<Option<Instant>>>,
    /// Finished waits for body bytes, added up.
    waited: Rc<Cell<Duration>>,
    payload: Rc<RefCell<Payload>>,
}

impl BodyWait {
    /// True while the last read of the body found nothing yet (and the body has not ended).
    pub fn waiting(&self) -> bool {
        self.waiting.get()
    }

    /// How long the handler has waited for body bytes so far, the current wait included.
    pub fn waited(&self) -> Duration {
        self.waited.get() + self.since.get().map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Notes the outcome of one read of the body.
    fn note(&self, pending: bool) {
        self.waiting.set(pending);
        match (self.since.get(), pending) {
            (None, true) => self.since.set(Some(Instant::now())),
            (Some(t), false) => {
                self.waited.set(self.waited.get() + t.elapsed());
                self.since.set(None);
            }
            _ => {}
        }
    }

    /// Keeps the request's payload alive for as long as the hold lives.
    pub fn hold(&self) -> PayloadHold {
        PayloadHold(Rc::clone(&self.payload))
    }
}

/// The payload of a request answered before its body arrived. While a response body holds it,
/// actix sees the payload as unread and closes the connection after the response.
#[derive(Clone)]
pub struct PayloadHold(#[allow(dead_code)] Rc<RefCell<Payload>>);

impl std::fmt::Debug for PayloadHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadHold")
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
    let wait = BodyWait {
        waiting: Rc::new(Cell::new(false)),
        since: Rc::new(Cell::new(None)),
        waited: Rc::new(Cell::new(Duration::ZERO)),
        payload: Rc::new(RefCell::new(req.take_payload())),
    };
    let watched: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(Watched(wait.clone()));
    req.set_payload(Payload::from(watched));
    req.extensions_mut().insert(wait.clone());
    Some(wait)
}

struct Watched(BodyWait);

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = match self.0.payload.try_borrow_mut() {
            Ok(mut payload) => Pin::new(&mut *payload).poll_next(cx),
            // Only this stream reads the payload; a hold never borrows it.
            Err(_) => Poll::Ready(Some(Err(PayloadError::Incomplete(None)))),
        };
        self.0.note(polled.is_pending());
        polled
    }
}

/// A finished response body that keeps a `PayloadHold` until it has been sent.
pub struct HeldBody {
    bytes: Option<Bytes>,
    len: u64,
    _hold: PayloadHold,
}

impl HeldBody {
    pub fn new(bytes: Bytes, hold: PayloadHold) -> Self {
        Self {
            len: bytes.len() as u64,
            bytes: Some(bytes),
            _hold: hold,
        }
    }
}

impl MessageBody for HeldBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.bytes.take().map(Ok))
    }
}
