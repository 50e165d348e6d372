//! POST /api/webhooks/stripe: verified by signature (never by session), each event id
//! recorded once; a replay is acknowledged without being processed again.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::method_not_allowed;
use crate::error::AppError;
use crate::state::AppState;
use crate::stripe;

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
