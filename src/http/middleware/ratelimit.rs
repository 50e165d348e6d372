//! The rate-limit middleware: `.wrap(RateLimit::new(PresetName::Exports))` on any route or
//! scope. Adds the limit state headers to every response of a limited route and answers 429
//! problem+json with an exact Retry-After when the preset is exhausted.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, ResponseError};

use crate::auth::{identity_of, Authn};
use crate::error::AppError;
use crate::ratelimit::client_ip::{client_ip, ip_subject};
use crate::ratelimit::{Decision, KeyBy, Preset, PresetName};
use crate::state::AppState;

/// Which requests a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every request (per-route presets such as EXPORTS).
    All,
    /// Authenticated callers only (API_DEFAULT: anonymous requests are refused anyway).
    Authenticated,
    /// Requests whose credentials were refused (AUTH against brute force); an expired but
    /// validly signed session token is not a guess and is not counted.
    RefusedCredentials,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    preset: PresetName,
    scope: Scope,
    /// Keys on this instead of the preset's `key_by`.
    key_by: Option<KeyBy>,
}

impl RateLimit {
    pub fn new(preset: PresetName) -> Self {
        Self {
            preset,
            scope: Scope::All,
            key_by: None,
        }
    }

    /// API_DEFAULT: the general per-user budget of authenticated callers.
    pub fn authenticated(preset: PresetName) -> Self {
        Self {
            preset,
            scope: Scope::Authenticated,
            key_by: None,
        }
    }

    /// Count every failed credential check (bad session token, wrong admin token), except a
    /// validly signed session token that has expired (`AuthFailure::counts_against_auth`).
    pub fn failed_credentials(preset: PresetName) -> Self {
        Self {
            preset,
            scope: Scope::RefusedCredentials,
            key_by: None,
        }
    }

    /// A sensitive action of signed-in users (the SIN reveal): authenticated callers only,
    /// each user on a key of their own, whatever the preset keys on elsewhere. Nobody else at
    /// the same address (anonymous requests, refused guesses, other users behind one NAT) can
    /// use up a user's budget. Put it on the action's route, so other methods are not counted.
    pub fn per_user(preset: PresetName) -> Self {
        Self {
            preset,
            scope: Scope::Authenticated,
            key_by: Some(KeyBy::User),
        }
    }
}

/// The subject a preset keys on for this request.
pub fn subject(req: &HttpRequest, key_by: KeyBy, proxies: &[ipnet::IpNet]) -> String {
    let ip = || {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        format!("ip:{}", ip_subject(client_ip(peer, req.headers(), proxies)))
    };
    let identity = identity_of(req);
    match (key_by, &identity.authn) {
        (KeyBy::ClientIp, _) => ip(),
        (KeyBy::User, Authn::Session(s)) => format!("user:{}", s.user_id),
        (KeyBy::Organization, Authn::Session(s)) => match &s.org_external_id {
            Some(org) => format!("org:{org}"),
            None => format!("user:{}", s.user_id),
        },
        (_, Authn::PlatformAdmin) => "platform-admin".to_string(),
        _ => ip(),
    }
}

fn applies(scope: Scope, req: &HttpRequest) -> bool {
    let authn = identity_of(req).authn;
    match scope {
        Scope::All => true,
        Scope::Authenticated => matches!(authn, Authn::Session(_) | Authn::PlatformAdmin),
        Scope::RefusedCredentials => {
            matches!(authn, Authn::Refused(f) if f.counts_against_auth())
        }
    }
}

fn append(headers: &mut HeaderMap, name: &'static str, value: String) {
    let name = HeaderName::from_static(name);
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {value}"),
        None => value,
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(name, v);
    }
}

/// RateLimit-Policy / RateLimit (draft 09) and X-RateLimit-* for older clients. With several
/// limits on one route the X- headers show the one with the fewest requests left.
pub fn limit_headers(headers: &mut HeaderMap, preset: &Preset, d: &Decision) {
    let name = preset.name.as_str().to_ascii_lowercase();
    let reset = d.retry_after_secs();
    append(
        headers,
        "ratelimit-policy",
        format!(
            "\"{name}\";q={};w={}",
            preset.limit,
            preset.window.as_secs()
        ),
    );
    append(
        headers,
        "ratelimit",
        format!("\"{name}\";r={};t={reset}", d.remaining),
    );
    let lower = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .is_none_or(|existing| d.remaining < existing);
    if lower {
        for (k, v) in [
            ("x-ratelimit-limit", d.limit.to_string()),
            ("x-ratelimit-remaining", d.remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(HeaderName::from_static(k), v);
            }
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RateLimitService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitService {
            service: Rc::new(service),
            limit: *self,
        }))
    }
}

pub struct RateLimitService<S> {
    service: Rc<S>,
    limit: RateLimit,
}

impl<S, B> Service<ServiceRequest> for RateLimitService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let limit = self.limit;
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().cloned();
            let preset = state
                .as_ref()
                .and_then(|s| s.limiter.preset(limit.preset).cloned());
            let (Some(state), Some(preset)) = (state, preset) else {
                return service.call(req).await.map(|r| r.map_into_left_body());
            };
            if !applies(limit.scope, req.request()) {
                return service.call(req).await.map(|r| r.map_into_left_body());
            }
            let who = subject(
                req.request(),
                limit.key_by.unwrap_or(preset.key_by),
                &state.settings.trusted_proxies,
            );
            let (decision, _backend) = state.limiter.check(&preset, &who).await;
            if !decision.allowed {
                state.limiter.count_rejection(preset.name);
                if preset.dry_run {
                    log::warn!(
                        "rate limit {} would have limited this request (dry run)",
                        preset.name.as_str()
                    );
                } else {
                    let err = AppError::RateLimited {
                        preset: preset.name.as_str(),
                        retry_after_secs: decision.retry_after_secs(),
                    };
                    let mut res = req.into_response(err.error_response());
                    limit_headers(res.headers_mut(), &preset, &decision);
                    return Ok(res.map_into_right_body());
                }
            }
            let mut res = service.call(req).await?;
            limit_headers(res.headers_mut(), &preset, &decision);
            Ok(res.map_into_left_body())
        })
    }
}
