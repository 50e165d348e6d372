//! The reusable error responses of the OpenAPI document: one per status the service answers
//! with, each `application/problem+json` with the `Problem` schema (derived from
//! `crate::error::Problem`), the headers `AppError::error_response` adds, and an example of
//! its usual codes. Operations refer to them with `(status = 404, response = NotFound)`.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
use utoipa::{IntoResponses, ToResponse};

use crate::error::PROBLEM_JSON;

fn header(description: &str, kind: Type) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(kind))
        .description(Some(description))
        .build()
}

/// A problem response: `description`, the headers it carries and an example body.
fn problem(
    description: &str,
    headers: &[(&str, &str, Type)],
    status: u16,
    code: &str,
    detail: &str,
) -> RefOr<Response> {
    let title = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let example = json!({
        "type": format!("/problems/{code}"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/api/members",
        "code": code,
        "requestId": "5f0c2d9e-3b7a-4c55-8d0e-1a2b3c4d5e6f",
    });
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .example(Some(example))
            .build(),
    );
    for (name, text, kind) in headers {
        response = response.header(*name, header(text, kind.clone()));
    }
    response.build().into()
}

const RETRY_AFTER: (&str, &str, Type) = (
    "Retry-After",
    "Seconds to wait before retrying.",
    Type::Integer,
);

macro_rules! problem_response {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), $build)
            }
        }
    };
}

problem_response!(
    /// 400: field problems (`validation_failed`, all listed in `errors`), `malformed_json`,
    /// `invalid_body`, `invalid_path_parameter`, `invalid_query_parameter`, …
    BadRequest => problem(
        "The request is malformed or invalid: `validation_failed` lists every field problem in \
         `errors`; `malformed_json`, `invalid_body` (wrong shape, unknown or missing field), \
         `invalid_path_parameter`, `invalid_query_parameter`, `organization_required` / \
         `invalid_organization_header` (platform admin without a valid `x-organization-id`).",
        &[],
        400,
        "validation_failed",
        "1 field is invalid",
    )
);

problem_response!(
    /// 401 with `WWW-Authenticate: Bearer`.
    Unauthorized => problem(
        "No credentials, or credentials that were refused: `token_missing`, `token_expired`, \
         `token_not_yet_valid`, `token_bad_signature`, `token_bad_algorithm`, `token_bad_issuer`, \
         `token_bad_authorized_party`, `token_missing_claim`, `token_malformed`, \
         `auth_not_configured`; on admin routes `missing_credentials`, `invalid_credentials`, \
         `admin_api_disabled`.",
        &[("WWW-Authenticate", "`Bearer`.", Type::String)],
        401,
        "token_missing",
        "Authentication failed: no session token.",
    )
);

problem_response!(
    /// 403: the role may not do this, or a CSRF refusal.
    Forbidden => problem(
        "`forbidden`: the caller's role may not do this (or the session has no active \
         organization). A write with the `__session` cookie that failed the CSRF check: \
         `csrf_token_missing`, `csrf_token_invalid`, `csrf_token_expired` (fetch a new token, \
         retry once), `csrf_origin_rejected`.",
        &[],
        403,
        "forbidden",
        "This action needs the organization admin role.",
    )
);

problem_response!(
    /// 404.
    NotFound => problem(
        "`not_found`: no such record in the caller's organization.",
        &[],
        404,
        "not_found",
        "No such member.",
    )
);

problem_response!(
    /// 409: a unique value is taken.
    Conflict => problem(
        "A unique value is taken: `email_taken`, `member_number_taken`, `organization_exists`.",
        &[],
        409,
        "email_taken",
        "A member with this email already exists in the organization.",
    )
);

problem_response!(
    /// 408, the connection closed.
    RequestBodyTimeout => problem(
        "`request_body_timeout`: the request timeout (`REQUEST_TIMEOUT_SECS`) passed while the \
         body was still arriving; the connection is closed.",
        &[],
        408,
        "request_body_timeout",
        "The request body did not arrive in time.",
    )
);

problem_response!(
    /// 413.
    PayloadTooLarge => problem(
        "`payload_too_large`: the body is over `MAX_BODY_BYTES`.",
        &[],
        413,
        "payload_too_large",
        "The request body exceeds the limit of 1048576 bytes.",
    )
);

problem_response!(
    /// 415.
    UnsupportedMediaType => problem(
        "`unsupported_media_type`: JSON bodies need `Content-Type: application/json`; \
         compressed request bodies are refused.",
        &[],
        415,
        "unsupported_media_type",
        "Send the body as application/json.",
    )
);

problem_response!(
    /// 429 with `Retry-After` and the rate-limit headers.
    TooManyRequests => problem(
        "`rate_limited`: the caller's budget for this route is spent.",
        &[
            RETRY_AFTER,
            ("RateLimit-Policy", "The policy, e.g. `\"api_default\";q=300;w=60`.", Type::String),
            ("RateLimit", "What is left, e.g. `\"api_default\";r=0;t=12`.", Type::String),
            ("X-RateLimit-Limit", "Requests per window.", Type::Integer),
            ("X-RateLimit-Remaining", "Requests left in the window.", Type::Integer),
            ("X-RateLimit-Reset", "Seconds until the window resets.", Type::Integer),
        ],
        429,
        "rate_limited",
        "Rate limit API_DEFAULT exceeded; retry in 12 s.",
    )
);

problem_response!(
    /// 500.
    InternalError => problem(
        "`internal_error`: logged with context; the body never carries internals.",
        &[],
        500,
        "internal_error",
        "An internal error occurred.",
    )
);

problem_response!(
    /// 503 with `Retry-After`.
    ServiceUnavailable => problem(
        "A dependency cannot serve right now: `database_busy`, `database_unavailable`, \
         `request_timeout`, and per route e.g. `sin_encryption_not_configured`, \
         `stripe_not_configured`, `analytics_disabled`, `analytics_unavailable`, \
         `csrf_store_unavailable`. Retry after `Retry-After` seconds.",
        &[RETRY_AFTER],
        503,
        "database_unavailable",
        "A dependency is temporarily unavailable; retry shortly.",
    )
);

/// The errors every route inside the `/api` scope can answer: 401 (credentials refused; the
/// identity middleware and the role extractors), 429 (rate limits), 500, 503 (database, request
/// timeout). Operations list it beside their own statuses: `responses(..., problems::Common)`.
pub struct Common;

impl IntoResponses for Common {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("401", "Unauthorized"),
            ("429", "TooManyRequests"),
            ("500", "InternalError"),
            ("503", "ServiceUnavailable"),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_string(), Ref::from_response_name(name).into()))
        .collect()
    }
}
