//! SQL migrations from migrations/, embedded in the binary and applied by refinery under a
//! PostgreSQL advisory lock, so instances starting together never race.

use deadpool_postgres::Pool;

use super::startup::StartupError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Arbitrary, fixed key of the migration advisory lock ("unioneye" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x756e_696f_6e65_7965;

/// Apply pending migrations; returns how many were applied.
pub async fn run_migrations(pool: &Pool) -> Result<usize, StartupError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| StartupError::from_pool_error(&e))?;
    let lock_err = |e: tokio_postgres::Error| {
        StartupError::Migration(format!("advisory lock: {}", super::describe_for_log(&e)))
    };
    // refinery's `CREATE TABLE IF NOT EXISTS` would log a NOTICE on every start; the pooled
    // connection gets its default back below.
    client
        .batch_execute("SET client_min_messages TO warning")
        .await
        .map_err(|e| StartupError::Migration(super::describe_for_log(&e)))?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(lock_err)?;
    let pg: &mut tokio_postgres::Client = &mut client;
    let result = embedded::migrations::runner().run_async(pg).await;
    let _ = client.batch_execute("RESET client_min_messages").await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    let report = result.map_err(|e| StartupError::Migration(e.to_string()))?;
    unlock.map_err(lock_err)?;
    let applied = report.applied_migrations().len();
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    Ok(applied)
}
