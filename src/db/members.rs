//! SQL for members. Every statement is filtered by the caller's organization.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::crypto::sin::{mask_last3, EncryptedSin};
use crate::error::AppError;

/// A member of the organization.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"id": "7d2f3c52-0b5e-4d59-9b1a-2f3f1a0c9e11", "firstName": "Ann",
    "lastName": "Lee", "email": "ann@local1.org", "memberNumber": "L1-0042", "status": "active",
    "sinMasked": "***-***-286", "createdAt": "2026-12-03T17:00:00.123456Z",
    "updatedAt": "2026-12-03T17:00:00.123456Z"})))]
pub struct Member {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[schema(required = true)]
    pub member_number: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::member_status)]
    pub status: String,
    /// `***-***-123`, or null when no SIN is on file. The full SIN is never in this type.
    #[schema(required = true)]
    pub sin_masked: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A SIN ready to store: ciphertext, key id and the last three digits for masking.
#[derive(Debug, Clone)]
pub struct StoredSin {
    pub encrypted: EncryptedSin,
    pub last3: String,
}

#[derive(Debug)]
pub struct NewMember {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub member_number: Option<String>,
    pub status: String,
    pub sin: Option<StoredSin>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct MemberPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub member_number: Option<Option<String>>,
    pub status: Option<String>,
    pub sin: Option<Option<StoredSin>>,
}

const COLUMNS: &str =
    "id, first_name, last_name, email, member_number, status, sin_last3, created_at, updated_at";

fn from_row(row: &Row) -> Member {
    let last3: Option<String> = row.get(6);
    Member {
        id: row.get(0),
        first_name: row.get(1),
        last_name: row.get(2),
        email: row.get(3),
        member_number: row.get(4),
        status: row.get(5),
        sin_masked: last3.as_deref().map(mask_last3),
        created_at: row.get(7),
        updated_at: row.get(8),
    }
}

fn conflict(e: tokio_postgres::Error) -> AppError {
    let constraint = e
        .as_db_error()
        .and_then(|d| d.constraint())
        .unwrap_or_default()
        .to_string();
    match constraint.as_str() {
        "members_org_email_key" => AppError::Conflict {
            code: "email_taken",
            detail: "A member with this email already exists in the organization.".into(),
        },
        "members_org_number_key" => AppError::Conflict {
            code: "member_number_taken",
            detail: "A member with this member number already exists in the organization.".into(),
        },
        _ => e.into(),
    }
}

pub async fn insert<C: GenericClient>(
    client: &C,
    org: Uuid,
    m: &NewMember,
) -> Result<Member, AppError> {
    let (ct, key, last3) = match &m.sin {
        Some(s) => (
            Some(s.encrypted.ciphertext.clone()),
            Some(s.encrypted.key_id.clone()),
            Some(s.last3.clone()),
        ),
        None => (None, None, None),
    };
    let sql = format!(
        "INSERT INTO members (id, organization_id, first_name, last_name, email, member_number, \
         status, sin_ciphertext, sin_key_id, sin_last3) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    );
    client
        .query_one(
            &sql,
            &[
                &m.id,
                &org,
                &m.first_name,
                &m.last_name,
                &m.email,
                &m.member_number,
                &m.status,
                &ct,
                &key,
                &last3,
            ],
        )
        .await
        .map(|r| from_row(&r))
        .map_err(conflict)
}

/// One page ordered by (created_at, id), after the cursor position when given.
pub async fn list<C: GenericClient>(
    client: &C,
    org: Uuid,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Member>, AppError> {
    let (after_at, after_id) = after.unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM members WHERE organization_id = $1 \
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
) -> Result<Option<Member>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM members WHERE organization_id = $1 AND id = $2");
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
    p: &MemberPatch,
) -> Result<Option<Member>, AppError> {
    let set_number = p.member_number.is_some();
    let number = p.member_number.clone().flatten();
    let set_sin = p.sin.is_some();
    let sin = p.sin.clone().flatten();
    let ct = sin.as_ref().map(|s| s.encrypted.ciphertext.clone());
    let key = sin.as_ref().map(|s| s.encrypted.key_id.clone());
    let last3 = sin.as_ref().map(|s| s.last3.clone());
    let sql = format!(
        "UPDATE members SET \
           first_name = COALESCE($3, first_name), \
           last_name = COALESCE($4, last_name), \
           email = COALESCE($5, email), \
           member_number = CASE WHEN $6 THEN $7 ELSE member_number END, \
           status = COALESCE($8, status), \
           sin_ciphertext = CASE WHEN $9 THEN $10 ELSE sin_ciphertext END, \
           sin_key_id = CASE WHEN $9 THEN $11 ELSE sin_key_id END, \
           sin_last3 = CASE WHEN $9 THEN $12 ELSE sin_last3 END, \
           updated_at = now() \
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    client
        .query_opt(
            &sql,
            &[
                &org,
                &id,
                &p.first_name,
                &p.last_name,
                &p.email,
                &set_number,
                &number,
                &p.status,
                &set_sin,
                &ct,
                &key,
                &last3,
            ],
        )
        .await
        .map(|r| r.as_ref().map(from_row))
        .map_err(conflict)
}

pub async fn delete<C: GenericClient>(client: &C, org: Uuid, id: Uuid) -> Result<bool, AppError> {
    let n = client
        .execute(
            "DELETE FROM members WHERE organization_id = $1 AND id = $2",
            &[&org, &id],
        )
        .await?;
    Ok(n == 1)
}

/// The stored SIN of a member of this organization: Ok(None) when the member does not
/// exist, Ok(Some(None)) when no SIN is on file.
pub async fn sin_of<C: GenericClient>(
    client: &C,
    org: Uuid,
    id: Uuid,
) -> Result<Option<Option<EncryptedSin>>, AppError> {
    let row = client
        .query_opt(
            "SELECT sin_ciphertext, sin_key_id FROM members WHERE organization_id = $1 AND id = $2",
            &[&org, &id],
        )
        .await?;
    Ok(row.map(|r| {
        let ct: Option<Vec<u8>> = r.get(0);
        let key: Option<String> = r.get(1);
        ct.zip(key)
            .map(|(ciphertext, key_id)| EncryptedSin { key_id, ciphertext })
    }))
}
