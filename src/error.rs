//! The one error type of the service (`AppError`) and its RFC 9457 problem+json rendering.
//!
//! Handlers return `Result<_, AppError>`. `error_response` renders the body; the request-context
//! middleware then adds the request id and instance, and turns any other error response
//! (actix's own) into the same shape.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use derive_more::Display;
use serde::Serialize;

/// One field-level problem in a validation error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field (body property or query parameter) as the client sent it.
    #[schema(examples("slug"))]
    pub field: String,
    /// `required`, `type`, `length`, `format`, `enum`, `range`, `unknown_field`, `not_found`, …
    #[schema(examples("format"))]
    pub code: &'static str,
    #[schema(examples("must be 2 to 63 lowercase letters, digits or inner hyphens"))]
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Display)]
pub enum AppError {
    #[display("validation failed: {detail}")]
    Validation {
        detail: String,
        fields: Vec<FieldProblem>,
    },
    #[display("bad request ({code})")]
    BadRequest { code: &'static str, detail: String },
    #[display("unauthorized ({code})")]
    Unauthorized { code: &'static str, detail: String },
    #[display("forbidden: {_0}")]
    Forbidden(String),
    /// A CSRF check refused the request (403 with a `csrf_*` code; never the token).
    #[display("csrf rejected ({code})")]
    Csrf {
        code: &'static str,
        detail: &'static str,
    },
    #[display("not found: {_0}")]
    NotFound(String),
    #[display("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[display("conflict ({code})")]
    Conflict { code: &'static str, detail: String },
    #[display("payload too large")]
    PayloadTooLarge { limit: usize },
    #[display("unsupported media type")]
    UnsupportedMediaType(String),
    #[display("rate limited ({preset})")]
    RateLimited {
        preset: &'static str,
        retry_after_secs: u64,
    },
    /// Logged with its context, answered with a generic 500.
    #[display("internal error: {_0}")]
    Internal(String),
    #[display("external service {service} failed")]
    ExternalApi { service: &'static str },
    /// A dependency (database, Redis) cannot serve right now: 503 with Retry-After.
    #[display("dependency unavailable ({code})")]
    Unavailable {
        code: &'static str,
        retry_after_secs: u64,
    },
    #[display("request timed out")]
    Timeout,
    /// The request timeout fired while the handler waited for the client's body: the
    /// client's fault (408), not a server failure. The connection is closed by the request
    /// middleware, whose answer keeps the unread payload (`body_watch::PayloadHold`).
    #[display("request body timed out")]
    BodyTimeout,
}

impl std::error::Error for AppError {}

/// The problem+json body. `instance` and `request_id` are filled in by the middleware.
/// Its derived schema is the `Problem` of the OpenAPI document (src/http/openapi/).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(description = "An RFC 9457 problem (`application/problem+json`): every error answer.")]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(examples("/problems/validation_failed"))]
    pub kind: String,
    /// The status's reason phrase.
    #[schema(examples("Bad Request"))]
    pub title: &'static str,
    #[schema(minimum = 400, maximum = 599, examples(400))]
    pub status: u16,
    #[schema(examples("1 field is invalid"))]
    pub detail: String,
    /// The request path (without the query).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, examples("/api/members"))]
    pub instance: Option<String>,
    /// Machine-readable: the table in docs/api.md.
    #[schema(examples("validation_failed"))]
    pub code: &'static str,
    /// The request's `x-request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub request_id: Option<String>,
    /// `validation_failed` only: every field problem at once; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(min_items = 1)]
    pub errors: Vec<FieldProblem>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            code,
            request_id: None,
            errors: Vec::new(),
        }
    }

    /// The generic problem for an error response that carried no problem of its own.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status.as_u16() {
            400 => ("bad_request", "The request could not be understood."),
            404 => ("not_found", "No resource matches this path."),
            405 => ("method_not_allowed", "This method is not allowed here."),
            408 => ("request_timeout", "The request took too long to arrive."),
            413 => ("payload_too_large", "The request body is too large."),
            415 => (
                "unsupported_media_type",
                "The content type is not supported.",
            ),
            431 => ("headers_too_large", "The request headers are too large."),
            s if s >= 500 => ("internal_error", "An internal error occurred."),
            _ => ("error", "The request failed."),
        };
        Self::new(status, code, detail)
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"about:blank","status":{},"code":"error"}}"#,
                self.status
            )
        })
    }
}

impl AppError {
    pub fn validation(fields: Vec<FieldProblem>) -> Self {
        let detail = match fields.len() {
            1 => "1 field is invalid".to_string(),
            n => format!("{n} fields are invalid"),
        };
        AppError::Validation { detail, fields }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        AppError::Internal(context.to_string())
    }

    pub fn problem(&self) -> Problem {
        use StatusCode as S;
        let status = self.status_code();
        match self {
            AppError::Validation { detail, fields } => {
                let mut p = Problem::new(status, "validation_failed", detail.clone());
                p.errors = fields.clone();
                p
            }
            AppError::BadRequest { code, detail } => Problem::new(status, code, detail.clone()),
            AppError::Unauthorized { code, detail } => Problem::new(status, code, detail.clone()),
            AppError::Forbidden(d) => Problem::new(status, "forbidden", d.clone()),
            AppError::Csrf { code, detail } => Problem::new(status, code, *detail),
            AppError::NotFound(d) => Problem::new(status, "not_found", d.clone()),
            AppError::MethodNotAllowed { allow } => Problem::new(
                status,
                "method_not_allowed",
                format!("This resource allows: {allow}."),
            ),
            AppError::Conflict { code, detail } => Problem::new(status, code, detail.clone()),
            AppError::PayloadTooLarge { limit } => Problem::new(
                status,
                "payload_too_large",
                format!("The request body exceeds the limit of {limit} bytes."),
            ),
            AppError::UnsupportedMediaType(d) => {
                Problem::new(status, "unsupported_media_type", d.clone())
            }
            AppError::RateLimited {
                preset,
                retry_after_secs,
            } => Problem::new(
                status,
                "rate_limited",
                format!("Rate limit {preset} exceeded; retry in {retry_after_secs} s."),
            ),
            AppError::Internal(_) => Problem::for_status(S::INTERNAL_SERVER_ERROR),
            AppError::ExternalApi { service } => Problem::new(
                status,
                "external_service_error",
                format!("The {service} service did not answer correctly."),
            ),
            AppError::Unavailable { code, .. } => Problem::new(
                status,
                code,
                "A dependency is temporarily unavailable; retry shortly.",
            ),
            AppError::Timeout => Problem::new(
                status,
                "request_timeout",
                "The request did not complete in time.",
            ),
            AppError::BodyTimeout => Problem::new(
                status,
                "request_body_timeout",
                "The request body did not arrive in time.",
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        use StatusCode as S;
        match self {
            AppError::Validation { .. } | AppError::BadRequest { .. } => S::BAD_REQUEST,
            AppError::Unauthorized { .. } => S::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf { .. } => S::FORBIDDEN,
            AppError::NotFound(_) => S::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => S::CONFLICT,
            AppError::PayloadTooLarge { .. } => S::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => S::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => S::TOO_MANY_REQUESTS,
            AppError::Internal(_) => S::INTERNAL_SERVER_ERROR,
            AppError::ExternalApi { .. } => S::BAD_GATEWAY,
            AppError::Unavailable { .. } | AppError::Timeout => S::SERVICE_UNAVAILABLE,
            AppError::BodyTimeout => S::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(context) = self {
            log::error!("internal error: {context}");
        }
        let problem = self.problem();
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(PROBLEM_JSON);
        match self {
            AppError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, *allow));
            }
            AppError::RateLimited {
                retry_after_secs, ..
            }
            | AppError::Unavailable {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::Timeout => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::Unauthorized { .. } => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        let body = problem.to_body();
        let mut response = res.body(body);
        response.extensions_mut().insert(problem);
        response
    }
}

impl From<deadpool_postgres::PoolError> for AppError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError as P;
        match e {
            P::Timeout(deadpool_postgres::TimeoutType::Wait) => AppError::Unavailable {
                code: "database_busy",
                retry_after_secs: 1,
            },
            P::Timeout(_) => AppError::Unavailable {
                code: "database_unavailable",
                retry_after_secs: 2,
            },
            P::Backend(e) => {
                log::warn!("database connection failed: {}", crate::db::error_class(&e));
                AppError::Unavailable {
                    code: "database_unavailable",
                    retry_after_secs: 2,
                }
            }
            other => AppError::internal(format!("database pool: {other}")),
        }
    }
}

impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> Self {
        let class = crate::db::error_class(&e);
        match class {
            "connection_lost" | "connection_refused" | "timeout" | "starting_up"
            | "statement_timeout" | "shutting_down" => {
                log::warn!("database unavailable: {class}");
                AppError::Unavailable {
                    code: "database_unavailable",
                    retry_after_secs: 2,
                }
            }
            _ => AppError::internal(format!(
                "database query failed: {}",
                crate::db::describe_for_log(&e)
            )),
        }
    }
}
