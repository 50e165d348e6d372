//! Platform-admin organization routes: create, list, fetch. Handlers stay thin: validation
//! lives in `validate_new_organization`, SQL in `crate::db::organizations`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::method_not_allowed;
use super::middleware::RequestId;
use super::openapi::{problems, schemas};
use crate::auth::AdminCaller;
use crate::db::audit::{self, AuditEntry};
use crate::db::organizations::{self, NewOrganization};
use crate::error::{AppError, FieldProblem};
use crate::state::AppState;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, fetch))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/organizations")
            .route(web::get().to(list))
            .route(web::head().to(list))
            .route(web::post().to(create))
            .default_service(method_not_allowed("GET, HEAD, POST")),
    )
    .service(
        web::resource("/admin/organizations/{id}")
            .route(web::get().to(fetch))
            .route(web::head().to(fetch))
            .default_service(method_not_allowed("GET, HEAD")),
    );
}

/// `POST /api/admin/organizations`. Unknown fields are refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(examples(json!({"name": "Local 1", "slug": "local-1", "externalId": "org_2abc"})))]
pub struct CreateOrganization {
    /// Trimmed; 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// 2 to 63 lowercase letters, digits or inner hyphens; unique.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")]
    pub slug: String,
    /// The Clerk organization id (`org_…`): 1 to 100 printable characters; unique.
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub external_id: Option<String>,
}

fn valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    (2..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// Every field problem at once; trims names.
pub fn validate_new_organization(input: CreateOrganization) -> Result<NewOrganization, AppError> {
    let mut problems = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(FieldProblem::new(
            "name",
            "length",
            "must be 1 to 200 characters",
        ));
    } else if name.chars().any(char::is_control) {
        problems.push(FieldProblem::new(
            "name",
            "format",
            "must not contain control characters",
        ));
    }
    if !valid_slug(&input.slug) {
        problems.push(FieldProblem::new(
            "slug",
            "format",
            "must be 2 to 63 lowercase letters, digits or inner hyphens",
        ));
    }
    let external_id = input.external_id.map(|e| e.trim().to_string());
    if let Some(e) = &external_id {
        if e.is_empty() || e.len() > 100 || e.chars().any(|c| c.is_control()) {
            problems.push(FieldProblem::new(
                "externalId",
                "format",
                "must be 1 to 100 printable characters",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(AppError::validation(problems));
    }
    Ok(NewOrganization {
        name,
        slug: input.slug,
        external_id,
    })
}

/// Create an organization
///
/// Platform admins. Audited.
#[utoipa::path(
    post,
    path = "/api/admin/organizations",
    operation_id = "createOrganization",
    tag = "admin-organizations",
    request_body = CreateOrganization,
    security(("adminToken" = [])),
    responses(
        (status = 201, description = "The organization.", body = organizations::Organization),
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
    _admin: AdminCaller,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    // Objects only: serde would also read a struct from a JSON array.
    let body = body.into_inner();
    if !body.is_object() {
        return Err(AppError::bad_request(
            "invalid_body",
            "The body must be a JSON object.",
        ));
    }
    let input: CreateOrganization = serde_json::from_value(body).map_err(|e| {
        AppError::bad_request(
            "invalid_body",
            e.to_string().chars().take(200).collect::<String>(),
        )
    })?;
    let new = validate_new_organization(input)?;
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let org = organizations::insert(&*tx, &new).await?;
    audit::record(
        &*tx,
        &AuditEntry {
            org_id: Some(org.id),
            actor: "platform-admin",
            action: "organization.create",
            target_type: "organization",
            target_id: org.id.to_string(),
            request_id: Some(&request_id.0),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(org))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// How many organizations (the oldest first).
    #[param(minimum = 1, maximum = 200, default = 50, nullable = false)]
    limit: Option<u16>,
}

/// List organizations
///
/// Platform admins. Oldest first; no paging beyond `limit`.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/organizations",
    operation_id = "listOrganizations",
    tag = "admin-organizations",
    params(ListQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The organizations.", body = schemas::OrganizationList),
        (status = 400, response = problems::BadRequest),
        problems::Common,
    )
)]
async fn list(
    _admin: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation(vec![FieldProblem::new(
            "limit",
            "range",
            "must be between 1 and 200",
        )]));
    }
    let client = state.db.get().await?;
    let items = organizations::list(&client, i64::from(limit)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Get an organization
///
/// Platform admins.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/organizations/{id}",
    operation_id = "getOrganization",
    tag = "admin-organizations",
    params(("id" = Uuid, Path, description = "The organization's id.")),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The organization.", body = organizations::Organization),
        (status = 400, response = problems::BadRequest),
        (status = 404, response = problems::NotFound),
        problems::Common,
    )
)]
async fn fetch(
    _admin: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let client = state.db.get().await?;
    match organizations::get(&client, id.into_inner()).await? {
        Some(org) => Ok(HttpResponse::Ok().json(org)),
        None => Err(AppError::NotFound("No such organization.".into())),
    }
}
