//! /api/members: tenant-scoped member records with encrypted SINs. Handlers stay thin:
//! input rules in `read_new_member` / `read_member_patch`, SQL in `crate::db::members`.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::input::Input;
use super::method_not_allowed;
use super::middleware::{RateLimit, RequestId};
use super::openapi::{problems, schemas};
use super::pagination::{self, page};
use crate::auth::Caller;
use crate::crypto::sin::{Sin, SinKeyRing};
use crate::db::audit::{self, AuditEntry};
use crate::db::members::{self, MemberPatch, NewMember, StoredSin};
use crate::error::AppError;
use crate::ratelimit::PresetName;
use crate::state::AppState;

pub const STATUSES: &[&str] = &["active", "suspended", "retired"];
const FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "email",
    "memberNumber",
    "status",
    "sin",
];

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, fetch, patch, remove, reveal_sin))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/members")
            .route(web::get().to(list))
            .route(web::head().to(list))
            .route(web::post().to(create))
            .default_service(method_not_allowed("GET, HEAD, POST")),
    )
    .service(
        web::resource("/members/{id}")
            .route(web::get().to(fetch))
            .route(web::head().to(fetch))
            .route(web::patch().to(patch))
            .route(web::delete().to(remove))
            .default_service(method_not_allowed("GET, HEAD, PATCH, DELETE")),
    )
    .service(
        web::resource("/members/{id}/sin/reveal")
            .route(
                web::post()
                    .to(reveal_sin)
                    .wrap(RateLimit::per_user(PresetName::Auth)),
            )
            .default_service(method_not_allowed("POST")),
    );
}

fn keys(state: &AppState) -> Result<&SinKeyRing, AppError> {
    state.sin_keys.as_deref().ok_or(AppError::Unavailable {
        code: "sin_encryption_not_configured",
        retry_after_secs: 60,
    })
}

/// Additional data binding a SIN ciphertext to its organization and member.
pub fn sin_aad(org: Uuid, member: Uuid) -> Vec<u8> {
    [org.as_bytes().as_slice(), member.as_bytes().as_slice()].concat()
}

fn read_sin(input: &mut Input) -> Option<Option<Sin>> {
    match input.raw("sin")? {
        serde_json::Value::Null => Some(None),
        serde_json::Value::String(s) => match Sin::parse(s) {
            Ok(sin) => Some(Some(sin)),
            Err(e) => {
                input.problem("sin", "format", e.to_string());
                None
            }
        },
        _ => {
            input.problem("sin", "type", "must be a string of 9 digits");
            None
        }
    }
}

fn seal(keys: &SinKeyRing, org: Uuid, member: Uuid, sin: &Sin) -> StoredSin {
    StoredSin {
        encrypted: keys.encrypt(sin, &sin_aad(org, member)),
        last3: sin.last3().to_string(),
    }
}

pub fn read_new_member(body: serde_json::Value) -> Result<(NewMember, Option<Sin>), AppError> {
    let mut input = Input::new(body, FIELDS)?;
    let first_name = input.string("firstName", true, 1, 100);
    let last_name = input.string("lastName", true, 1, 100);
    let email = input.email("email", true);
    let member_number = input.string("memberNumber", false, 1, 50);
    let status = input.one_of("status", false, STATUSES);
    let sin = read_sin(&mut input).flatten();
    input.finish()?;
    let (Some(first_name), Some(last_name), Some(email)) = (first_name, last_name, email) else {
        return Err(AppError::internal(
            "validated member without required fields",
        ));
    };
    let member = NewMember {
        id: Uuid::new_v4(),
        first_name,
        last_name,
        email,
        member_number,
        status: status.unwrap_or_else(|| "active".into()),
        sin: None,
    };
    Ok((member, sin))
}

pub fn read_member_patch(
    body: serde_json::Value,
) -> Result<(MemberPatch, Option<Option<Sin>>), AppError> {
    let mut input = Input::new(body, FIELDS)?;
    let patch = MemberPatch {
        first_name: input.string("firstName", false, 1, 100),
        last_name: input.string("lastName", false, 1, 100),
        email: input.email("email", false),
        member_number: input.nullable_string("memberNumber", 1, 50),
        status: input.one_of("status", false, STATUSES),
        sin: None,
    };
    let sin = read_sin(&mut input);
    for f in ["firstName", "lastName", "email", "status"] {
        if matches!(input.raw(f), Some(serde_json::Value::Null)) {
            input.problem(f, "type", "cannot be null");
        }
    }
    input.finish()?;
    Ok((patch, sin))
}

/// Create a member
///
/// Org admins. Every field problem is reported at once (unknown fields too). The SIN is stored
/// encrypted; answers show only `sinMasked`. Audited.
#[utoipa::path(
    post,
    path = "/api/members",
    operation_id = "createMember",
    tag = "members",
    request_body = schemas::NewMember,
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 201, description = "The member.", body = members::Member),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 409, response = problems::Conflict),
        (status = 408, response = problems::RequestBodyTimeout),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 415, response = problems::UnsupportedMediaType),
        problems::Common,
    )
)]
async fn create(
    caller: Caller,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    caller.require_org_admin()?;
    let (mut new, sin) = read_new_member(body.into_inner())?;
    if let Some(sin) = &sin {
        new.sin = Some(seal(keys(&state)?, caller.org_id, new.id, sin));
    }
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let member = members::insert(&*tx, caller.org_id, &new).await?;
    audit::record(
        &*tx,
        &entry(&caller, &request_id, "member.create", member.id),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(member))
}

fn entry<'a>(caller: &'a Caller, rid: &'a RequestId, action: &'a str, id: Uuid) -> AuditEntry<'a> {
    AuditEntry {
        org_id: Some(caller.org_id),
        actor: &caller.actor,
        action,
        target_type: "member",
        target_id: id.to_string(),
        request_id: Some(&rid.0),
    }
}

/// List the organization's members
///
/// Oldest first; follow `nextCursor`. Org members and admins; platform admins name the
/// organization with `x-organization-id`.
#[utoipa::path(
    method(get, head),
    path = "/api/members",
    operation_id = "listMembers",
    tag = "members",
    params(pagination::ListQuery, schemas::MemberFilter, schemas::TenantHeader),
    security(("sessionBearer" = []), ("sessionCookie" = []), ("adminToken" = [])),
    responses(
        (status = 200, description = "One page of members.", body = schemas::MemberPage),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        problems::Common,
    )
)]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<pagination::ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner().validate(STATUSES)?;
    let (limit, after) = (q.limit, q.after);
    let client = state.db.get().await?;
    let rows = members::list(
        &**client,
        caller.org_id,
        q.status.as_deref(),
        after,
        limit + 1,
    )
    .await?;
    let (items, next) = page(rows, limit, |m| (m.created_at, m.id));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "nextCursor": next })))
}

fn not_found() -> AppError {
    AppError::NotFound("No such member.".into())
}

/// Get a member
#[utoipa::path(
    method(get, head),
    path = "/api/members/{id}",
    operation_id = "getMember",
    tag = "members",
    params(("id" = Uuid, Path, description = "The member's id."), schemas::TenantHeader),
    security(("sessionBearer" = []), ("sessionCookie" = []), ("adminToken" = [])),
    responses(
        (status = 200, description = "The member.", body = members::Member),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        problems::Common,
    )
)]
async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let client = state.db.get().await?;
    let member = members::get(&**client, caller.org_id, id.into_inner())
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(member))
}

/// Update a member
///
/// Org admins. Only the fields sent change; `memberNumber` and `sin` may be null to clear.
/// Audited.
#[utoipa::path(
    patch,
    path = "/api/members/{id}",
    operation_id = "updateMember",
    tag = "members",
    params(("id" = Uuid, Path, description = "The member's id.")),
    request_body = schemas::MemberPatch,
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 200, description = "The updated member.", body = members::Member),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict),
        (status = 408, response = problems::RequestBodyTimeout),
        (status = 413, response = problems::PayloadTooLarge),
        (status = 415, response = problems::UnsupportedMediaType),
        problems::Common,
    )
)]
async fn patch(
    caller: Caller,
    request_id: RequestId,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    caller.require_org_admin()?;
    let id = id.into_inner();
    let (mut patch, sin) = read_member_patch(body.into_inner())?;
    patch.sin = match sin {
        None => None,
        Some(None) => Some(None),
        Some(Some(sin)) => Some(Some(seal(keys(&state)?, caller.org_id, id, &sin))),
    };
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let member = members::update(&*tx, caller.org_id, id, &patch)
        .await?
        .ok_or_else(not_found)?;
    audit::record(&*tx, &entry(&caller, &request_id, "member.update", id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Delete a member
///
/// Org admins. The member's claims go too. Audited.
#[utoipa::path(
    delete,
    path = "/api/members/{id}",
    operation_id = "deleteMember",
    tag = "members",
    params(("id" = Uuid, Path, description = "The member's id.")),
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        problems::Common,
    )
)]
async fn remove(
    caller: Caller,
    request_id: RequestId,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    caller.require_org_admin()?;
    let id = id.into_inner();
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    if !members::delete(&*tx, caller.org_id, id).await? {
        return Err(not_found());
    }
    audit::record(&*tx, &entry(&caller, &request_id, "member.delete", id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The full SIN, for an org admin of the member's organization; every reveal is audited.
#[utoipa::path(
    post,
    path = "/api/members/{id}/sin/reveal",
    operation_id = "revealMemberSin",
    tag = "members",
    summary = "Reveal a member's SIN",
    params(("id" = Uuid, Path, description = "The member's id.")),
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 200, description = "The SIN (`Cache-Control: no-store`).",
            body = schemas::RevealedSin),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        problems::Common,
    )
)]
async fn reveal_sin(
    caller: Caller,
    request_id: RequestId,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    caller.require_org_admin()?;
    let id = id.into_inner();
    let keys = keys(&state)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let stored = members::sin_of(&*tx, caller.org_id, id)
        .await?
        .ok_or_else(not_found)?
        .ok_or_else(|| AppError::NotFound("No SIN is on file for this member.".into()))?;
    let sin = keys
        .decrypt(&stored, &sin_aad(caller.org_id, id))
        .map_err(|e| AppError::internal(format!("SIN decryption failed: {e}")))?;
    audit::record(&*tx, &entry(&caller, &request_id, "member.sin_reveal", id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "id": id, "sin": sin.digits() })))
}
