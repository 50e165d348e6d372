//! Platform-admin authentication: `Authorization: Bearer <ADMIN_API_TOKEN>`, compared in
//! constant time. The token is never logged or echoed.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use secrecy::{ExposeSecret, SecretString};

use crate::error::AppError;
use crate::state::AppState;

/// The bearer token of a request, if it has a well-formed one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Compares the SHA-256 digests in constant time: equal-length inputs, so not even the
/// expected token's length shows in the time a wrong guess takes.
pub fn token_matches(presented: &str, expected: &SecretString) -> bool {
    use sha2::{Digest, Sha256};
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    constant_time_eq::constant_time_eq(&presented, &expected)
}

/// True when the request carries the configured admin token.
pub fn is_admin_request(req: &HttpRequest, expected: Option<&SecretString>) -> bool {
    match (bearer_token(req), expected) {
        (Some(presented), Some(expected)) => token_matches(presented, expected),
        _ => false,
    }
}

/// Extractor for platform-admin routes: 401 problem unless the admin token is presented.
#[derive(Debug, Clone, Copy)]
pub struct AdminCaller;

impl FromRequest for AdminCaller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let expected = req
            .app_data::<web::Data<AppState>>()
            .and_then(|s| s.settings.admin_api_token.clone());
        let result = match (bearer_token(req), expected) {
            (_, None) => Err(AppError::Unauthorized {
                code: "admin_api_disabled",
                detail: "The admin API is disabled: ADMIN_API_TOKEN is not configured.".into(),
            }),
            (None, Some(_)) => Err(AppError::Unauthorized {
                code: "missing_credentials",
                detail: "This route needs the admin token as a bearer token.".into(),
            }),
            (Some(presented), Some(expected)) if token_matches(presented, &expected) => {
                Ok(AdminCaller)
            }
            (Some(_), Some(_)) => Err(AppError::Unauthorized {
                code: "invalid_credentials",
                detail: "The bearer token is not valid for this route.".into(),
            }),
        };
        ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let expected = SecretString::from("a".repeat(40));
        assert!(token_matches(&"a".repeat(40), &expected));
        for wrong in ["", "a", &"a".repeat(39), &"a".repeat(41), &"b".repeat(40)] {
            assert!(!token_matches(wrong, &expected), "{wrong:?}");
        }
    }
}
