//! `spawn_app()`: the application as `main` builds it, on a random port, with a fresh database
//! (created here, migrated by the app, dropped afterwards) and its own Redis key prefix
//! (deleted afterwards).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::web;
use unioneyes::startup::{Application, ExtraRoutes, StartupError, Stopper};
use unioneyes::state::AppState;
use unioneyes_actors::health::HealthSupervisor;

pub fn admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `url` with its database replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("admin url");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A local port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub struct TestApp {
    pub address: String,
    /// The internal metrics listener's port (METRICS_PORT), when configured.
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub db_name: String,
    pub redis_prefix: String,
    pub state: AppState,
    pub supervisor: Addr<HealthSupervisor>,
    pub analytics: Option<Addr<unioneyes_actors::analytics::AnalyticsActor>>,
    pub stopper: Stopper,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with a session token in the Authorization header.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// Create a member through the API as `token`; returns the JSON.
    pub async fn create_member(&self, token: &str, body: serde_json::Value) -> serde_json::Value {
        let res = self
            .as_user(reqwest::Method::POST, "/api/members", token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        assert_eq!(status, 201, "{text}");
        serde_json::from_str(&text).expect("json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_admin(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("request")
    }

    /// Poll /api/health until `pred` holds on its JSON, or panic after `within`.
    pub async fn wait_for_health(
        &self,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let body: serde_json::Value = self.get("/api/health").await.json().await.expect("json");
            if pred(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health never reached the expected state; last: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stopper.stop();
        // The analytics actor flushes what it holds before the keys are deleted.
        let analytics = self
            .state
            .analytics
            .as_ref()
            .map(|a| a.recorder.counters().clone());
        if let Some(addr) = &self.analytics {
            addr.do_send(unioneyes_actors::analytics::Stop);
        }
        // The runtime ends with the test, before `run_until_stopped` gets to stop the
        // supervisor: stop it here, or it probes the dropped database for the rest of the run.
        self.supervisor.do_send(unioneyes_actors::health::Stop);
        self.state.db.close();
        let db = self.db_name.clone();
        let prefix = self.redis_prefix.clone();
        let _ = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(3);
            while let Some(c) = &analytics {
                if c.stopped.load(std::sync::atomic::Ordering::Relaxed)
                    || std::time::Instant::now() > deadline
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            cleanup(&db, &prefix)
        })
        .join();
    }
}

fn cleanup(db: &str, prefix: &str) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        if let Ok((client, conn)) =
            tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await
        {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .await;
        }
        if let Ok(client) = bb8_redis::redis::Client::open(redis_url()) {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let keys: Vec<String> = bb8_redis::redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query_async(&mut conn)
                    .await
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<(), _> = bb8_redis::redis::cmd("DEL")
                        .arg(keys)
                        .query_async(&mut conn)
                        .await;
                }
            }
        }
    });
}

pub async fn create_database(name: &str) {
    let (client, conn) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL (TEST_PG_ADMIN_URL)");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
}

pub const STRIPE_SECRET: &str = "whsec_test_0123456789abcdef";
pub const CSRF_SECRET: &str = "csrf-test-secret-0123456789abcdef-0123456789";
/// The browser app's origin in every test app (APP_ORIGINS).
pub const APP_ORIGIN: &str = "https://app.unioneyes.ca";

/// One SIN key for the whole test process.
pub fn test_sin_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(unioneyes::crypto::sin::generate_key_b64)
}

/// The environment every test app starts from.
pub fn base_env(db_name: &str, prefix: &str, admin_token: &str) -> HashMap<String, String> {
    [
        ("APP_ENV", "test".to_string()),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        ("WORKERS", "2".into()),
        ("DATABASE_URL", with_database(&admin_url(), db_name)),
        ("DATABASE_POOL_MAX", "4".into()),
        ("DATABASE_POOL_TIMEOUT_MS", "300".into()),
        ("DATABASE_STARTUP_RETRY_DELAY_MS", "50".into()),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", prefix.to_string()),
        ("ADMIN_API_TOKEN", admin_token.to_string()),
        ("HEALTH_INTERVAL_MS", "200".into()),
        ("HEALTH_TIMEOUT_MS", "150".into()),
        ("SHUTDOWN_DRAIN_SECS", "0".into()),
        ("SHUTDOWN_GRACE_SECS", "1".into()),
        ("ANALYTICS_FLUSH_INTERVAL_MS", "100".into()),
        ("ANALYTICS_SHUTDOWN_FLUSH_MS", "1500".into()),
        ("CLERK_JWT_KEY", super::tokens::keys().public_pem.clone()),
        ("SIN_ENCRYPTION_KEY", test_sin_key().to_string()),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET.to_string()),
        ("CSRF_SECRET", CSRF_SECRET.to_string()),
        ("APP_ORIGINS", APP_ORIGIN.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(f: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    try_spawn_app(f).await.expect("application starts")
}

fn test_routes() -> ExtraRoutes {
    Arc::new(|cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/test/slow",
            web::get().to(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                actix_web::HttpResponse::Ok().finish()
            }),
        );
        cfg.route(
            "/test/sleep/{ms}",
            web::get().to(|ms: web::Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms.into_inner().min(5_000))).await;
                actix_web::HttpResponse::Ok().finish()
            }),
        );
        cfg.route(
            "/test/panic",
            web::get().to(|| async {
                if std::hint::black_box(true) {
                    panic!("deliberate test panic");
                }
                actix_web::HttpResponse::Ok().finish()
            }),
        );
    })
}

/// Build the app; the database and prefix are cleaned up whether or not it starts.
pub async fn try_spawn_app(
    f: impl FnOnce(&mut HashMap<String, String>),
) -> Result<TestApp, StartupError> {
    // The service's log on stderr when RUST_LOG is set (e.g. RUST_LOG=error,access=off to see
    // what answered a 500); quiet otherwise.
    if std::env::var_os("RUST_LOG").is_some() {
        unioneyes::logging::init();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let db_name = format!("ue_test_{id}");
    let prefix = format!("unioneyes:test:{id}:");
    let admin_token = format!("test-admin-{id}-{id}");
    create_database(&db_name).await;
    let mut env = base_env(&db_name, &prefix, &admin_token);
    f(&mut env);
    let report = unioneyes::config::load(&env, Path::new("/nonexistent-config-dir"));
    let settings = match report.into_settings() {
        Ok(s) => s,
        Err(report) => panic!("test settings invalid:\n{}", report.render_table()),
    };
    let app = match Application::build_with(settings, test_routes()).await {
        Ok(app) => app,
        Err(e) => {
            let (d, p) = (db_name.clone(), prefix.clone());
            let _ = std::thread::spawn(move || cleanup(&d, &p)).join();
            return Err(e);
        }
    };
    let port = app.port();
    let test_app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        metrics_port: app.metrics_port(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // Below the server's 5 s keep-alive, so a pooled connection is never reused just
            // as the server closes it.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client"),
        admin_token,
        db_name,
        redis_prefix: prefix,
        state: app.state().clone(),
        supervisor: app.health_supervisor(),
        analytics: app.analytics_actor(),
        stopper: app.stopper(),
    };
    actix_rt::spawn(app.run_until_stopped());
    Ok(test_app)
}
