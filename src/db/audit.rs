//! The audit log: who did what to which record, written in the same transaction as the change.

use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::error::AppError;

pub struct AuditEntry<'a> {
    pub org_id: Option<Uuid>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    pub request_id: Option<&'a str>,
}

pub async fn record<C: GenericClient>(client: &C, e: &AuditEntry<'_>) -> Result<(), AppError> {
    client
        .execute(
            "INSERT INTO audit_log (organization_id, actor, action, target_type, target_id, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&e.org_id, &e.actor, &e.action, &e.target_type, &e.target_id, &e.request_id],
        )
        .await?;
    Ok(())
}
