//! SQL for claims (grievances). Every statement is filtered by the caller's organization.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::error::AppError;

/// A claim (grievance) of a member.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub id: Uuid,
    pub member_id: Uuid,
    pub title: String,
    /// Empty when none was given.
    pub description: String,
    #[schema(schema_with = crate::http::openapi::schemas::claim_status)]
    pub status: String,
    #[schema(schema_with = crate::http::openapi::schemas::claim_priority)]
    pub priority: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct NewClaim {
    pub id: Uuid,
    pub member_id: Uuid,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
}

#[derive(Debug, Default)]
pub struct ClaimPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
}

const COLUMNS: &str = "id, member_id, title, description, status, priority, created_at, updated_at";

fn from_row(row: &Row) -> Claim {
    Claim {
        id: row.get(0),
        member_id: row.get(1),
        title: row.get(2),
        description: row.get(3),
        status: row.get(4),
        priority: row.get(5),
        created_at: row.get(6),
        updated_at: row.get(7),
    }
}

/// Ok(None) when the member is not one of this organization's.
pub async fn insert<C: GenericClient>(
    client: &C,
    org: Uuid,
    c: &NewClaim,
) -> Result<Option<Claim>, AppError> {
    // The INSERT ... SELECT only inserts when the member belongs to the organization.
    let sql = format!(
        "INSERT INTO claims (id, organization_id, member_id, title, description, status, priority) \
         SELECT $1, $2, m.id, $4, $5, $6, $7 FROM members m \
         WHERE m.organization_id = $2 AND m.id = $3 RETURNING {COLUMNS}"
    );
    let row = client
        .query_opt(
            &sql,
            &[
                &c.id,
                &org,
                &c.member_id,
                &c.title,
                &c.description,
                &c.status,
                &c.priority,
            ],
        )
        .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn list<C: GenericClient>(
    client: &C,
    org: Uuid,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Claim>, AppError> {
    let (after_at, after_id) = after.unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM claims WHERE organization_id = $1 \
         AND ($2::text IS NULL OR status = $2) \
         AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4)) \
         ORDER BY created_at, id LIMIT $5"
    );
    let rows = client
        .query(&sql, &[&org, &status, &after_at, &after_id, &limit])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn get<C: GenericClient>(
    client: &C,
    org: Uuid,
    id: Uuid,
) -> Result<Option<Claim>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM claims WHERE organization_id = $1 AND id = $2");
    Ok(client
        .query_opt(&sql, &[&org, &id])
        .await?
        .as_ref()
        .map(from_row))
}

pub async fn update<C: GenericClient>(
    client: &C,
    org: Uuid,
    id: Uuid,
    p: &ClaimPatch,
) -> Result<Option<Claim>, AppError> {
    let sql = format!(
        "UPDATE claims SET title = COALESCE($3, title), description = COALESCE($4, description), \
         status = COALESCE($5, status), priority = COALESCE($6, priority), updated_at = now() \
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let row = client
        .query_opt(
            &sql,
            &[&org, &id, &p.title, &p.description, &p.status, &p.priority],
        )
        .await?;
    Ok(row.as_ref().map(from_row))
}
