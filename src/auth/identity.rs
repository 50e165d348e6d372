//! Who is calling: computed once per request by the `identify` middleware on /api (so rate
//! limiting, CSRF and analytics read the same answer), and handed to handlers by the `Caller`
//! extractor, which also resolves the tenant.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use super::admin::{bearer_token, token_matches};
use super::jwt::{AuthFailure, OrgRole, Session, TokenSource};
use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "__session";

/// How the request authenticated.
#[derive(Debug, Clone)]
pub enum Authn {
    Anonymous,
    PlatformAdmin,
    Session(Session),
    Refused(AuthFailure),
}

/// The request's identity, in its extensions.
#[derive(Debug, Clone)]
pub struct Identity {
    pub authn: Authn,
    /// The session cookie was sent (whatever authenticated the request): CSRF checks it.
    pub session_cookie: bool,
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// Work out the identity from the headers: the admin token, else a session token from the
/// Authorization header, else from the `__session` cookie.
pub fn identify_request(req: &HttpRequest, state: &AppState) -> Identity {
    let cookie = session_cookie(req.headers());
    let session_cookie = cookie.is_some();
    let verify = |token: &str, source| match &state.jwt {
        Some(v) => match v.verify(token, source) {
            Ok(s) => Authn::Session(s),
            Err(f) => Authn::Refused(f),
        },
        None => Authn::Refused(AuthFailure::NotConfigured),
    };
    let authn = match (bearer_token(req), cookie) {
        (Some(token), _) => match &state.settings.admin_api_token {
            Some(admin) if token_matches(token, admin) => Authn::PlatformAdmin,
            _ => verify(token, TokenSource::Header),
        },
        (None, Some(token)) if !token.is_empty() => verify(&token, TokenSource::Cookie),
        _ => Authn::Anonymous,
    };
    if let Authn::Refused(f) = &authn {
        log::info!("credentials refused: {}", f.code());
    }
    Identity {
        authn,
        session_cookie,
    }
}

/// Middleware: identify every /api request once.
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        let identity = identify_request(req.request(), state);
        req.extensions_mut().insert(identity);
    }
    next.call(req).await
}

/// The identity of a request (computed now if the middleware did not run).
pub fn identity_of(req: &HttpRequest) -> Identity {
    if let Some(id) = req.extensions().get::<Identity>() {
        return id.clone();
    }
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => identify_request(req, state),
        None => Identity {
            authn: Authn::Anonymous,
            session_cookie: false,
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerRole {
    OrgAdmin,
    OrgMember,
    /// A platform admin reading a tenant named by `x-organization-id`: read-only.
    PlatformAdmin,
}

/// An authenticated caller acting inside one organization (the tenant of every query).
#[derive(Debug, Clone)]
pub struct Caller {
    /// User id for the audit log (`platform-admin` for the admin token).
    pub actor: String,
    pub session_id: Option<String>,
    pub org_id: Uuid,
    pub role: CallerRole,
}

impl Caller {
    /// Writes are for org admins of this organization.
    pub fn require_org_admin(&self) -> Result<(), AppError> {
        match self.role {
            CallerRole::OrgAdmin => Ok(()),
            _ => Err(AppError::Forbidden(
                "This action needs the organization admin role.".into(),
            )),
        }
    }
}

pub fn unauthorized(failure: AuthFailure) -> AppError {
    AppError::Unauthorized {
        code: failure.code(),
        detail: format!("Authentication failed: {failure}."),
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let identity = identity_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let org_header = req
            .headers()
            .get("x-organization-id")
            .map(|v| v.to_str().ok().and_then(|s| Uuid::parse_str(s.trim()).ok()));
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("no app state"))?;
            match identity.authn {
                Authn::Anonymous => Err(unauthorized(AuthFailure::Missing)),
                Authn::Refused(f) => Err(unauthorized(f)),
                Authn::PlatformAdmin => {
                    let org_id = match org_header {
                        Some(Some(id)) => id,
                        Some(None) => {
                            return Err(AppError::bad_request(
                                "invalid_organization_header",
                                "x-organization-id must be an organization UUID.",
                            ))
                        }
                        None => {
                            return Err(AppError::bad_request(
                                "organization_required",
                                "Platform admins name the tenant with x-organization-id.",
                            ))
                        }
                    };
                    let client = state.db.get().await?;
                    if crate::db::organizations::get(&client, org_id)
                        .await?
                        .is_none()
                    {
                        return Err(AppError::NotFound("No such organization.".into()));
                    }
                    Ok(Caller {
                        actor: "platform-admin".into(),
                        session_id: None,
                        org_id,
                        role: CallerRole::PlatformAdmin,
                    })
                }
                Authn::Session(session) => {
                    let external = session.org_external_id.clone().ok_or_else(|| {
                        AppError::Forbidden("The session has no active organization.".into())
                    })?;
                    let org_id = state.tenants.resolve(&state.db, &external).await?;
                    Ok(Caller {
                        actor: session.user_id,
                        session_id: Some(session.session_id),
                        org_id,
                        role: match session.role {
                            OrgRole::Admin => CallerRole::OrgAdmin,
                            OrgRole::Member => CallerRole::OrgMember,
                        },
                    })
                }
            }
        })
    }
}
