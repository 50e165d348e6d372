//! `GET /api/me`: who the caller is, for browser pages (the admin dashboard) that must know
//! whether they act as the platform admin or as a session in an organization, and which one.
//! Read-only; never echoes a token or the session id.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use super::get_or_head;
use super::openapi::problems;
use crate::auth::{identity_of, unauthorized, AuthFailure, Authn, OrgRole};
use crate::error::AppError;
use crate::state::AppState;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(me))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head("/me", me));
}

/// The caller. `kind` is `platform_admin` (the admin token; every other field null) or
/// `session` (a verified session token, from the Authorization header or the `__session`
/// cookie).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[schema(schema_with = kind)]
    pub kind: &'static str,
    /// The session's user (Clerk user id).
    #[schema(required = true)]
    pub user_id: Option<String>,
    /// Our organization id (the uuid the tenant routes and analytics use); null without an
    /// active organization.
    #[schema(required = true)]
    pub organization_id: Option<Uuid>,
    /// Clerk's organization id.
    #[schema(required = true)]
    pub external_organization_id: Option<String>,
    /// `admin` or `member` inside the organization.
    #[schema(required = true)]
    pub role: Option<OrgRole>,
}

fn kind() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["platform_admin", "session"]))
}

/// Who the caller is
///
/// The platform admin token, or a verified session (header or cookie) with its organization
/// and role. Read-only; `Cache-Control: no-store`.
#[utoipa::path(
    method(get, head),
    path = "/api/me",
    operation_id = "me",
    tag = "session",
    security(("sessionBearer" = []), ("sessionCookie" = []), ("adminToken" = [])),
    responses(
        (status = 200, description = "The caller.", body = Me),
        problems::Common,
    )
)]
async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let me = match identity_of(&req).authn {
        Authn::Anonymous => return Err(unauthorized(AuthFailure::Missing)),
        Authn::Refused(f) => return Err(unauthorized(f)),
        Authn::PlatformAdmin => Me {
            kind: "platform_admin",
            user_id: None,
            organization_id: None,
            external_organization_id: None,
            role: None,
        },
        Authn::Session(s) => {
            // Resolved as every tenant route resolves it (created on first sight).
            let organization_id = match &s.org_external_id {
                Some(external) => Some(state.tenants.resolve(&state.db, external).await?),
                None => None,
            };
            Me {
                kind: "session",
                user_id: Some(s.user_id),
                organization_id,
                external_organization_id: s.org_external_id,
                role: Some(s.role),
            }
        }
    };
    // `Cache-Control: no-store` and `Vary` come from the /api scope's default headers.
    Ok(HttpResponse::Ok().json(me))
}
