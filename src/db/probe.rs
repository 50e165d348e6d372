//! The PostgreSQL health probe. The test query, and every few minutes the critical-tables
//! check, run on a dedicated connection, so a saturated pool never looks like a dead database;
//! the pool's statistics are reported beside it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;
use unioneyes_actors::health::{Impact, Probe, ProbeOutcome, Status};

#[derive(Default)]
struct ProbeState {
    client: Option<Client>,
    schema_checked: Option<Instant>,
    missing_tables: Vec<String>,
}

pub struct DatabaseProbe {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    pool: Pool,
    schema_period: Duration,
    state: Arc<Mutex<ProbeState>>,
}

impl DatabaseProbe {
    /// `schema_period`: how often the critical-tables check repeats (it also ran at startup).
    /// `tls`: the same connector as the pool's (`db::pg_tls`).
    pub fn new(
        config: tokio_postgres::Config,
        tls: MakeRustlsConnect,
        pool: Pool,
        schema_period: Duration,
    ) -> Self {
        Self {
            config,
            tls,
            pool,
            schema_period,
            state: Arc::new(Mutex::new(ProbeState {
                schema_checked: Some(Instant::now()),
                ..ProbeState::default()
            })),
        }
    }
}

async fn connect(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            log::debug!("health probe connection ended: {}", super::error_class(&e));
        }
    });
    Ok(client)
}

impl Probe for DatabaseProbe {
    fn name(&self) -> &'static str {
        "database"
    }

    fn impact(&self) -> Impact {
        Impact::Critical
    }

    fn check(&self) -> BoxFuture<'static, ProbeOutcome> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let state = Arc::clone(&self.state);
        let status = self.pool.status();
        let schema_period = self.schema_period;
        Box::pin(async move {
            let pool = json!({
                "max": status.max_size,
                "size": status.size,
                "available": status.available,
                "waiting": status.waiting,
            });
            let down = |message, e: &tokio_postgres::Error| {
                ProbeOutcome::down(message, super::error_class(e))
                    .with_details(json!({ "pool": pool }))
            };
            let mut state = state.lock().await;
            let started = Instant::now();
            // Taken out for the check and put back only once it finished: when the supervisor's
            // deadline cancels this future mid-query (a half-open connection that never
            // answers), the client is dropped with it, and the next cycle connects afresh
            // instead of queueing behind the hung query.
            let client = match state.client.take().filter(|c| !c.is_closed()) {
                Some(c) => c,
                None => match connect(&config, tls).await {
                    Ok(c) => c,
                    Err(e) => return down("unreachable", &e),
                },
            };
            if let Err(e) = client.simple_query("SELECT 1").await {
                return down("query failed", &e);
            }
            let latency = started.elapsed();
            if state
                .schema_checked
                .is_none_or(|t| t.elapsed() >= schema_period)
            {
                match super::check_schema(&client).await {
                    Ok(missing) => {
                        state.missing_tables = missing;
                        state.schema_checked = Some(Instant::now());
                    }
                    Err(class) => log::warn!("schema check could not run: {class}"),
                }
            }
            state.client = Some(client);
            if !state.missing_tables.is_empty() {
                return ProbeOutcome::down("critical tables missing", "missing_tables")
                    .with_details(json!({ "pool": pool, "missingTables": state.missing_tables }));
            }
            let saturated = status.size >= status.max_size && status.available == 0;
            let mut outcome = ProbeOutcome::up(latency, "reachable")
                .with_details(json!({ "pool": pool, "saturated": saturated }));
            if saturated {
                outcome.status = Status::Degraded;
                outcome.message = "connection pool saturated";
            }
            outcome
        })
    }
}
