//! Re-encrypts every stored SIN under the current key (`unioneyes rotate-sin-key`), in
//! batches, each in its own transaction, so it can run while the service serves.

use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::crypto::sin::{EncryptedSin, SinKeyRing};

const BATCH: i64 = 500;

/// Returns how many rows were re-encrypted.
pub async fn rotate_sin_keys(pool: &Pool, keys: &SinKeyRing) -> Result<usize, String> {
    let current = keys.current_key_id().to_string();
    let mut total = 0;
    loop {
        let mut client = pool.get().await.map_err(|e| format!("database: {e}"))?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| super::describe_for_log(&e))?;
        let rows = tx
            .query(
                "SELECT id, organization_id, sin_ciphertext, sin_key_id FROM members \
                 WHERE sin_key_id IS NOT NULL AND sin_key_id <> $1 \
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&current, &BATCH],
            )
            .await
            .map_err(|e| super::describe_for_log(&e))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let id: Uuid = row.get(0);
            let org: Uuid = row.get(1);
            let old = EncryptedSin {
                ciphertext: row.get(2),
                key_id: row.get(3),
            };
            let aad = crate::http::sin_aad(org, id);
            let sin = keys
                .decrypt(&old, &aad)
                .map_err(|e| format!("member {id}: {e}"))?;
            let new = keys.encrypt(&sin, &aad);
            tx.execute(
                "UPDATE members SET sin_ciphertext = $2, sin_key_id = $3 WHERE id = $1",
                &[&id, &new.ciphertext, &new.key_id],
            )
            .await
            .map_err(|e| super::describe_for_log(&e))?;
        }
        tx.commit().await.map_err(|e| super::describe_for_log(&e))?;
        total += rows.len();
    }
    Ok(total)
}
