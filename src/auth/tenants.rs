//! Clerk organization id → our organization id, created on first sight of a valid token;
//! a bounded in-process cache spares the database a query per request.

use std::collections::HashMap;
use std::sync::Mutex;

use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::error::AppError;

const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub struct TenantCache {
    map: Mutex<HashMap<String, Uuid>>,
}

impl TenantCache {
    /// Our organization id for a Clerk organization id, if already known (no database access;
    /// analytics names the tenant with it).
    pub fn peek(&self, external_id: &str) -> Option<Uuid> {
        self.map
            .lock()
            .ok()
            .and_then(|m| m.get(external_id).copied())
    }

    pub async fn resolve(&self, pool: &Pool, external_id: &str) -> Result<Uuid, AppError> {
        if external_id.len() > 100 || external_id.chars().any(|c| c.is_control()) {
            return Err(AppError::Forbidden(
                "The session's organization id is not acceptable.".into(),
            ));
        }
        if let Some(id) = self
            .map
            .lock()
            .ok()
            .and_then(|m| m.get(external_id).copied())
        {
            return Ok(id);
        }
        let client = pool.get().await?;
        let id = crate::db::organizations::ensure_external(&client, external_id).await?;
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= CAPACITY {
                m.clear();
            }
            m.insert(external_id.to_string(), id);
        }
        Ok(id)
    }
}
