//! SQL for the organizations table (tenants).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub external_id: Option<String>,
}

/// An organization (tenant).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: Uuid,
    /// The Clerk organization id (`org_…`), null when none is linked.
    #[schema(required = true)]
    pub external_id: Option<String>,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, external_id, name, slug, created_at";

fn from_row(row: &Row) -> Organization {
    Organization {
        id: row.get(0),
        external_id: row.get(1),
        name: row.get(2),
        slug: row.get(3),
        created_at: row.get(4),
    }
}

pub async fn insert<C: tokio_postgres::GenericClient>(
    client: &C,
    new: &NewOrganization,
) -> Result<Organization, AppError> {
    let sql = format!(
        "INSERT INTO organizations (name, slug, external_id) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    );
    match client
        .query_one(&sql, &[&new.name, &new.slug, &new.external_id])
        .await
    {
        Ok(row) => Ok(from_row(&row)),
        Err(e) if super::error_class(&e) == "unique_violation" => Err(AppError::Conflict {
            code: "organization_exists",
            detail: "An organization with this slug or external id already exists.".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(client: &Client, limit: i64) -> Result<Vec<Organization>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM organizations ORDER BY created_at, id LIMIT $1");
    let rows = client.query(&sql, &[&limit]).await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn get(client: &Client, id: Uuid) -> Result<Option<Organization>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM organizations WHERE id = $1");
    let row = client.query_opt(&sql, &[&id]).await?;
    Ok(row.as_ref().map(from_row))
}

/// A slug for an organization first seen in a token: readable part + hash, unique in practice.
pub fn slug_for_external(external_id: &str) -> String {
    use sha2::Digest;
    let readable: String = external_id
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect();
    let hash = hex::encode(sha2::Sha256::digest(external_id.as_bytes()));
    format!("org-{readable}-{}", &hash[..10])
}

/// The organization with this Clerk id, created (named after the id) when new.
pub async fn ensure_external(client: &Client, external_id: &str) -> Result<Uuid, AppError> {
    let row = client
        .query_one(
            "INSERT INTO organizations (external_id, name, slug) VALUES ($1, $1, $2) \
             ON CONFLICT (external_id) DO UPDATE SET external_id = EXCLUDED.external_id \
             RETURNING id",
            &[&external_id, &slug_for_external(external_id)],
        )
        .await?;
    Ok(row.get(0))
}
