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
///
/// Two statements, on purpose: requests of a new organization arrive together (on one
/// instance or several), and `ON CONFLICT (external_id) DO UPDATE` raced on the slug's unique
/// index (not its arbiter), answering one of them 500. `DO NOTHING` without a target yields to
/// any unique conflict, and the SELECT, a statement of its own, sees the winner's committed row.
pub async fn ensure_external(client: &Client, external_id: &str) -> Result<Uuid, AppError> {
    let inserted = client
        .query_opt(
            "INSERT INTO organizations (external_id, name, slug) VALUES ($1, $1, $2) \
             ON CONFLICT DO NOTHING RETURNING id",
            &[&external_id, &slug_for_external(external_id)],
        )
        .await?;
    if let Some(row) = inserted {
        return Ok(row.get(0));
    }
    let existing = client
        .query_opt(
            "SELECT id FROM organizations WHERE external_id = $1",
            &[&external_id],
        )
        .await?;
    existing.map(|row| row.get(0)).ok_or_else(|| {
        // Only when another organization already holds the generated slug (made by hand).
        AppError::internal("the generated slug of a new organization is taken")
    })
}
