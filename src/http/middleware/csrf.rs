//! The CSRF middleware of the /api scope (docs/csrf.md), innermost, so it runs after
//! `identify`. Safe methods (exactly GET, HEAD, OPTIONS) pass; a request without the session
//! cookie passes (a browser cannot attach the Authorization header cross-site); every other
//! request must pass the origin layer and carry a valid token for its own session. Nothing is
//! exempt by path: routes that must not be checked are registered outside the scope.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use crate::auth::{identity_of, unauthorized, AuthFailure, Authn, Identity};
use crate::csrf::{self, origin, token, Csrf, Issued, LogContext, Reason, Rejection};
use crate::error::AppError;
use crate::http::csrf_routes::token_cookie;
use crate::state::AppState;

/// GET, HEAD and OPTIONS, compared exactly: `get`, `post`, PROPFIND or FOO are unsafe.
pub fn is_safe_method(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS
}

/// Route template, tenant and session hash of a request, for log lines.
pub fn log_context(req: &HttpRequest, identity: &Identity) -> LogContext {
    let route = req
        .resource_map()
        .match_pattern(req.path())
        .unwrap_or_else(|| "UNMATCHED".to_string());
    let (tenant, session) = match &identity.authn {
        Authn::Session(s) => (
            s.org_external_id.clone().unwrap_or_else(|| "-".into()),
            token::session_hash(&s.session_id),
        ),
        Authn::PlatformAdmin => ("platform-admin".into(), "-".into()),
        _ => ("-".into(), "-".into()),
    };
    LogContext {
        route,
        tenant,
        session,
    }
}

fn refuse<B>(
    req: ServiceRequest,
    err: AppError,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    Ok(req.error_response(err).map_into_right_body())
}

/// Put a (fresh or current) token on a response: the header and the cookie.
fn attach<B>(res: &mut ServiceResponse<B>, csrf: &Csrf, issued: &Issued) {
    let wire = csrf.mask(issued);
    if let Ok(value) = HeaderValue::from_str(&wire) {
        res.headers_mut().insert(csrf::TOKEN_HEADER, value);
    }
    let _ = res
        .response_mut()
        .add_cookie(&token_cookie(csrf.mask(issued), issued.max_age()));
    if !res.headers().contains_key(CACHE_CONTROL) {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

pub async fn csrf<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if is_safe_method(req.method()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let identity = identity_of(req.request());
    if !identity.session_cookie {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(req, AppError::internal("csrf: no application state"));
    };
    let csrf = &state.csrf;
    let ctx = log_context(req.request(), &identity);

    if let Err(refusal) = origin::check(req.headers(), csrf.origins()) {
        let rejection = Rejection {
            reason: Reason::OriginRejected,
            cause: refusal.to_string(),
        };
        return refuse(req, csrf.refuse(&rejection, &ctx));
    }
    let session_id = match &identity.authn {
        Authn::Session(s) => Some(s.session_id.clone()),
        Authn::PlatformAdmin => None,
        // The same answer the handler would give: no identity to act as.
        Authn::Refused(f) => return refuse(req, unauthorized(*f)),
        Authn::Anonymous => return refuse(req, unauthorized(AuthFailure::Missing)),
    };
    let token = match csrf::read_token(req.headers()) {
        Ok(t) => t,
        Err(rejection) => return refuse(req, csrf.refuse(&rejection, &ctx)),
    };
    let Some(session_id) = session_id else {
        let rejection = Rejection {
            reason: Reason::Invalid,
            cause: "a platform-admin request has no session to bind a token to".into(),
        };
        return refuse(req, csrf.refuse(&rejection, &ctx));
    };
    let verified = match csrf.verify(&session_id, &token, &ctx).await {
        Ok(v) => v,
        Err(rejection) => return refuse(req, csrf.refuse(&rejection, &ctx)),
    };

    let mut res = next.call(req).await?;
    let status = res.status();
    // A handler that set the cookie itself (logout) has the last word.
    let handled = res
        .response()
        .cookies()
        .any(|c| c.name() == csrf::TOKEN_COOKIE);
    if (status.is_success() || status.is_redirection()) && !handled {
        if let Some(issued) = csrf.after_success(&session_id, verified, &ctx).await {
            attach(&mut res, csrf, &issued);
        }
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_safe_methods_are_safe() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(is_safe_method(&Method::from_bytes(m.as_bytes()).unwrap()));
        }
        for m in [
            "POST", "PUT", "PATCH", "DELETE", "get", "head", "options", "post", "PROPFIND", "FOO",
            "TRACE", "CONNECT",
        ] {
            assert!(
                !is_safe_method(&Method::from_bytes(m.as_bytes()).unwrap()),
                "{m}"
            );
        }
    }
}
