//! Extractor configuration: JSON, path, query and raw-body errors become problem+json with one
//! rule everywhere (bad parameters 400, wrong content type 415, too large 413).

use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::web;

use crate::error::AppError;

fn payload_error(e: &PayloadError, limit: usize) -> AppError {
    match e {
        PayloadError::Overflow => AppError::PayloadTooLarge { limit },
        _ => AppError::bad_request("invalid_body", "The request body could not be read."),
    }
}

/// serde's message cut to a sane length (on a character boundary).
fn serde_message(e: &serde_json::Error) -> String {
    e.to_string().chars().take(200).collect()
}

pub fn json_error(e: &JsonPayloadError, limit: usize) -> AppError {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => {
            AppError::UnsupportedMediaType("Send the body as application/json.".into())
        }
        JsonPayloadError::Deserialize(se) if se.is_data() => {
            AppError::bad_request("invalid_body", serde_message(se))
        }
        JsonPayloadError::Deserialize(se) => AppError::bad_request(
            "malformed_json",
            format!("The body is not valid JSON: {}", serde_message(se)),
        ),
        JsonPayloadError::Payload(p) => payload_error(p, limit),
        _ => AppError::bad_request("invalid_body", "The JSON body could not be read."),
    }
}

/// Extractor configs to register as app data on every app.
pub fn extractor_configs(
    max_body: usize,
) -> (
    web::JsonConfig,
    web::PathConfig,
    web::QueryConfig,
    web::PayloadConfig,
) {
    let json = web::JsonConfig::default()
        .limit(max_body)
        .error_handler(move |e, _| json_error(&e, max_body).into());
    let path = web::PathConfig::default().error_handler(|e: PathError, _| {
        let PathError::Deserialize(d) = e else {
            return AppError::bad_request("invalid_path_parameter", "Invalid path parameter.")
                .into();
        };
        AppError::bad_request(
            "invalid_path_parameter",
            format!("Invalid path parameter: {d}"),
        )
        .into()
    });
    let query = web::QueryConfig::default().error_handler(|e: QueryPayloadError, _| {
        let detail: String = format!("Invalid query: {e}").chars().take(200).collect();
        AppError::bad_request("invalid_query_parameter", detail).into()
    });
    let payload = web::PayloadConfig::default().limit(max_body);
    (json, path, query, payload)
}
