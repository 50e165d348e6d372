//! POST /api/webhooks/stripe: verified by signature (never by session), each event id
//! recorded once; a replay is acknowledged without being processed again.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::method_not_allowed;
use super::openapi::{problems, schemas};
use crate::error::AppError;
use crate::state::AppState;
use crate::stripe;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(stripe_webhook))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stripe")
            .route(web::post().to(stripe_webhook))
            .default_service(method_not_allowed("POST")),
    );
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: Option<i64>,
}

/// Receive a Stripe event
///
/// No session: the `Stripe-Signature` header is verified (HMAC-SHA256 with
/// `STRIPE_WEBHOOK_SECRET`, any `v1` may match, 5-minute tolerance). Each event id is
/// processed once; a replay is acknowledged with `duplicate: true`. Rate limited by the
/// `WEBHOOKS` preset (fails open). Not CSRF-checked. A refused signature answers 400
/// `invalid_signature`, a body that is not an event 400 `invalid_event`, and without
/// `STRIPE_WEBHOOK_SECRET` the route answers 503 `stripe_not_configured`.
#[utoipa::path(
    post,
    path = "/api/webhooks/stripe",
    operation_id = "receiveStripeEvent",
    tag = "webhooks",
    request_body(
        description = "A Stripe event object, verified byte for byte against the signature \
            before it is parsed.",
        content = serde_json::Value,
        content_type = "application/json",
        example = json!({"id": "evt_1", "type": "invoice.paid", "created": 1700000000})
    ),
    security(("stripeSignature" = [])),
    responses(
        (status = 200, description = "Accepted (or a replay, not processed again).",
            body = schemas::WebhookAck),
        (status = 400, response = problems::BadRequest),
        (status = 408, response = problems::RequestBodyTimeout),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 429, response = problems::TooManyRequests),
        (status = 500, response = problems::InternalError),
        (status = 503, response = problems::ServiceUnavailable),
    )
)]
async fn stripe_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let secret = state
        .settings
        .services
        .stripe_webhook_secret
        .as_ref()
        .ok_or(AppError::Unavailable {
            code: "stripe_not_configured",
            retry_after_secs: 60,
        })?;
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = chrono::Utc::now().timestamp();
    stripe::verify(header, &body, secret.expose_secret().as_bytes(), now).map_err(|e| {
        log::warn!("stripe webhook refused: {e}");
        AppError::bad_request(
            "invalid_signature",
            format!("Stripe signature refused: {e}."),
        )
    })?;
    let event: Event = serde_json::from_slice(&body).map_err(|_| {
        AppError::bad_request("invalid_event", "The event is not a Stripe event object.")
    })?;
    if event.id.is_empty() || event.id.len() > 255 || event.kind.len() > 255 {
        return Err(AppError::bad_request(
            "invalid_event",
            "The event id or type is not acceptable.",
        ));
    }
    let created = event
        .created
        .and_then(|c| chrono::DateTime::from_timestamp(c, 0));
    let client = state.db.get().await?;
    let inserted = client
        .execute(
            "INSERT INTO stripe_events (id, type, created) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            &[&event.id, &event.kind, &created],
        )
        .await?;
    let duplicate = inserted == 0;
    if duplicate {
        log::info!("stripe event replayed; already processed");
    } else {
        log::info!("stripe event accepted: {}", event.kind);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true, "duplicate": duplicate })))
}
