//! GET /api/exports/members.csv: the organization's members streamed as CSV, row by row from
//! PostgreSQL (never buffered whole). Never includes SINs.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use futures_util::{stream, StreamExt};
use tokio_postgres::types::ToSql;

use super::method_not_allowed;
use super::middleware::RateLimit;
use super::openapi::problems;
use crate::auth::Caller;
use crate::csv;
use crate::error::AppError;
use crate::ratelimit::PresetName;
use crate::state::AppState;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(members_csv))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/exports/members.csv")
            .wrap(RateLimit::new(PresetName::Exports))
            .route(web::get().to(members_csv))
            .default_service(method_not_allowed("GET")),
    );
}

const HEADER: [&str; 8] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "member_number",
    "status",
    "created_at",
    "updated_at",
];

fn record(row: &tokio_postgres::Row) -> String {
    let id: uuid::Uuid = row.get(0);
    let number: Option<String> = row.get(4);
    let created: chrono::DateTime<chrono::Utc> = row.get(6);
    let updated: chrono::DateTime<chrono::Utc> = row.get(7);
    let (id, created, updated) = (
        id.to_string(),
        created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    csv::row([
        id.as_str(),
        row.get::<_, &str>(1),
        row.get::<_, &str>(2),
        row.get::<_, &str>(3),
        number.as_deref().unwrap_or(""),
        row.get::<_, &str>(5),
        created.as_str(),
        updated.as_str(),
    ])
}

/// Export the members as CSV
///
/// Org admins. Streamed row by row (RFC 4180, CRLF); a cell starting with `= + - @`, tab or CR
/// is prefixed with `'`. Never includes SINs. Rate limited by the `EXPORTS` preset.
#[utoipa::path(
    get,
    path = "/api/exports/members.csv",
    operation_id = "exportMembersCsv",
    tag = "exports",
    security(("sessionBearer" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The organization's members, oldest first, with a header row \
            `id,first_name,last_name,email,member_number,status,created_at,updated_at` \
            (`Content-Disposition: attachment; filename=\"members.csv\"`).",
            content_type = "text/csv; charset=utf-8", body = String),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn members_csv(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    caller.require_org_admin()?;
    let client = state.db.get().await?;
    let org = caller.org_id;
    let params: [&(dyn ToSql + Sync); 1] = [&org];
    let rows = client
        .query_raw(
            "SELECT id, first_name, last_name, email, member_number, status, created_at, updated_at \
             FROM members WHERE organization_id = $1 ORDER BY created_at, id",
            params,
        )
        .await?;
    let head = stream::once(async { Ok::<Bytes, AppError>(Bytes::from(csv::row(HEADER))) });
    // The pooled connection rides along with the stream and returns to the pool at its end.
    let body = stream::unfold((Box::pin(rows), client), |(mut rows, client)| async move {
        match rows.next().await {
            Some(Ok(row)) => Some((Ok(Bytes::from(record(&row))), (rows, client))),
            Some(Err(e)) => {
                log::error!("member export failed: {}", crate::db::describe_for_log(&e));
                Some((
                    Err(AppError::internal("export stream failed")),
                    (rows, client),
                ))
            }
            None => None,
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"members.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(head.chain(body)))
}
