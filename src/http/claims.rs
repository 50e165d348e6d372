//! /api/claims: grievances, tenant-scoped. Input rules in `read_new_claim` / `read_claim_patch`,
//! SQL in `crate::db::claims`.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::input::Input;
use super::method_not_allowed;
use super::middleware::RequestId;
use super::openapi::{problems, schemas};
use super::pagination::{self, page};
use crate::auth::Caller;
use crate::db::audit::{self, AuditEntry};
use crate::db::claims::{self, ClaimPatch, NewClaim};
use crate::error::{AppError, FieldProblem};
use crate::state::AppState;

pub const STATUSES: &[&str] = &["open", "in_review", "resolved", "rejected"];
pub const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, fetch, patch))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/claims")
            .route(web::get().to(list))
            .route(web::head().to(list))
            .route(web::post().to(create))
            .default_service(method_not_allowed("GET, HEAD, POST")),
    )
    .service(
        web::resource("/claims/{id}")
            .route(web::get().to(fetch))
            .route(web::head().to(fetch))
            .route(web::patch().to(patch))
            .default_service(method_not_allowed("GET, HEAD, PATCH")),
    );
}

pub fn read_new_claim(body: serde_json::Value) -> Result<NewClaim, AppError> {
    let mut input = Input::new(
        body,
        &["memberId", "title", "description", "status", "priority"],
    )?;
    let member_id = input.uuid("memberId", true);
    let title = input.string("title", true, 1, 200);
    let description = input.string("description", false, 0, 10_000);
    let status = input.one_of("status", false, STATUSES);
    let priority = input.one_of("priority", false, PRIORITIES);
    input.finish()?;
    let (Some(member_id), Some(title)) = (member_id, title) else {
        return Err(AppError::internal(
            "validated claim without required fields",
        ));
    };
    Ok(NewClaim {
        id: Uuid::new_v4(),
        member_id,
        title,
        description: description.unwrap_or_default(),
        status: status.unwrap_or_else(|| "open".into()),
        priority: priority.unwrap_or_else(|| "normal".into()),
    })
}

pub fn read_claim_patch(body: serde_json::Value) -> Result<ClaimPatch, AppError> {
    let mut input = Input::new(body, &["title", "description", "status", "priority"])?;
    let patch = ClaimPatch {
        title: input.string("title", false, 1, 200),
        description: input.string("description", false, 0, 10_000),
        status: input.one_of("status", false, STATUSES),
        priority: input.one_of("priority", false, PRIORITIES),
    };
    input.finish()?;
    Ok(patch)
}

fn entry<'a>(caller: &'a Caller, rid: &'a RequestId, action: &'a str, id: Uuid) -> AuditEntry<'a> {
    AuditEntry {
        org_id: Some(caller.org_id),
        actor: &caller.actor,
        action,
        target_type: "claim",
        target_id: id.to_string(),
        request_id: Some(&rid.0),
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No such claim.".into())
}

/// Create a claim
///
/// Org admins. `memberId` must be a member of the organization (else 400 with
/// `errors[].code` `not_found`). Audited.
#[utoipa::path(
    post,
    path = "/api/claims",
    operation_id = "createClaim",
    tag = "claims",
    request_body = schemas::NewClaim,
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 201, description = "The claim.", body = claims::Claim),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
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
    let new = read_new_claim(body.into_inner())?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let claim = claims::insert(&*tx, caller.org_id, &new)
        .await?
        .ok_or_else(|| {
            AppError::validation(vec![FieldProblem::new(
                "memberId",
                "not_found",
                "no such member in this organization",
            )])
        })?;
    audit::record(&*tx, &entry(&caller, &request_id, "claim.create", claim.id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(claim))
}

/// List the organization's claims
///
/// Oldest first; follow `nextCursor`. Org members and admins; platform admins name the
/// organization with `x-organization-id`.
#[utoipa::path(
    method(get, head),
    path = "/api/claims",
    operation_id = "listClaims",
    tag = "claims",
    params(pagination::ListQuery, schemas::ClaimFilter, schemas::TenantHeader),
    security(("sessionBearer" = []), ("sessionCookie" = []), ("adminToken" = [])),
    responses(
        (status = 200, description = "One page of claims.", body = schemas::ClaimPage),
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
    let rows = claims::list(
        &**client,
        caller.org_id,
        q.status.as_deref(),
        after,
        limit + 1,
    )
    .await?;
    let (items, next) = page(rows, limit, |c| (c.created_at, c.id));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "nextCursor": next })))
}

/// Get a claim
#[utoipa::path(
    method(get, head),
    path = "/api/claims/{id}",
    operation_id = "getClaim",
    tag = "claims",
    params(("id" = Uuid, Path, description = "The claim's id."), schemas::TenantHeader),
    security(("sessionBearer" = []), ("sessionCookie" = []), ("adminToken" = [])),
    responses(
        (status = 200, description = "The claim.", body = claims::Claim),
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
    let claim = claims::get(&**client, caller.org_id, id.into_inner())
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(claim))
}

/// Update a claim
///
/// Org admins. Only the fields sent change. Audited.
#[utoipa::path(
    patch,
    path = "/api/claims/{id}",
    operation_id = "updateClaim",
    tag = "claims",
    params(("id" = Uuid, Path, description = "The claim's id.")),
    request_body = schemas::ClaimPatch,
    security(("sessionBearer" = []), ("sessionCookie" = [], "csrfToken" = [])),
    responses(
        (status = 200, description = "The updated claim.", body = claims::Claim),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
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
    let patch = read_claim_patch(body.into_inner())?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let claim = claims::update(&*tx, caller.org_id, id, &patch)
        .await?
        .ok_or_else(not_found)?;
    audit::record(&*tx, &entry(&caller, &request_id, "claim.update", id)).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(claim))
}
