//! `Application`: builds the whole service from a `Settings` value, serves until stopped, and
//! shuts down in order (not ready → drain → stop accepting → finish in-flight → stop actors →
//! close pools).
//!
//! Startup order: bind the listener (/livez answers at once, /readyz says "starting") →
//! database checks and migrations → actors → ready.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Arbiter};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use chrono::Utc;
use derive_more::Display;
use tokio::sync::Notify;
use unioneyes_actors::analytics::{AnalyticsActor, AnalyticsProbe};
use unioneyes_actors::health::{self, HealthReport, HealthSupervisor, Probe, SupervisorConfig};

use secrecy::ExposeSecret;

use crate::auth::{dev_keys, JwtVerifier, TenantCache};
use crate::cache::{Cache, RedisProbe};
use crate::config::{AppEnv, Settings};
use crate::crypto::sin::SinKeyRing;
use crate::csrf::Csrf;
use crate::db::{self, DatabaseProbe};
use crate::http::{self, middleware::request_context};
use crate::metrics::{Metrics, Sources as MetricSources};
use crate::ratelimit::Limiter;
use crate::state::{AppState, Lifecycle};

#[derive(Debug, Display)]
pub enum StartupError {
    #[display("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[display("{_0}")]
    Setup(String),
    #[display("{_0}")]
    Database(db::StartupError),
}

impl std::error::Error for StartupError {}

/// Extra routes a caller may add (the test harness uses it for a panicking route).
pub type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// Stops a running `Application` the same way SIGTERM does.
#[derive(Clone, Default)]
pub struct Stopper(Arc<Notify>);

impl Stopper {
    pub fn stop(&self) {
        self.0.notify_one();
    }
}

pub struct Application {
    port: u16,
    /// The internal metrics listener's bound port (METRICS_PORT), and its server.
    metrics_port: Option<u16>,
    metrics_handle: Option<ServerHandle>,
    server: actix_rt::task::JoinHandle<std::io::Result<()>>,
    handle: ServerHandle,
    state: AppState,
    supervisor: Addr<HealthSupervisor>,
    /// None when analytics is off (ANALYTICS_ENABLED=false or no Redis).
    analytics: Option<Addr<AnalyticsActor>>,
    /// The thread the background actors run on.
    actor_arbiter: Arbiter,
    stopper: Stopper,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with(settings, Arc::new(|_| {})).await
    }

    pub async fn build_with(settings: Settings, extra: ExtraRoutes) -> Result<Self, StartupError> {
        let settings = Arc::new(settings);
        let pool = db::build_pool(&settings.database).map_err(StartupError::Setup)?;
        let cache = Cache::new(&settings.redis).map_err(StartupError::Setup)?;
        let health = HealthReport::new_cell(Utc::now());
        let limiter = Limiter::new(
            cache.clone(),
            &settings.rate_limits.presets,
            settings.rate_limits.redis_timeout,
            Arc::clone(&health),
        );
        let (analytics, analytics_inbox) = crate::analytics::build(&settings, &cache).unzip();
        let lifecycle = Arc::new(Lifecycle::default());
        let limiter = Arc::new(limiter);
        let csrf = Arc::new(
            Csrf::from_settings(&settings.csrf, cache.clone()).map_err(StartupError::Setup)?,
        );
        let metrics = Arc::new(Metrics::new(MetricSources {
            health: Arc::clone(&health),
            health_interval: settings.health.interval,
            lifecycle: Arc::clone(&lifecycle),
            db: pool.clone(),
            cache: cache.clone(),
            analytics: analytics.as_ref().map(|a| a.recorder.clone()),
            limiter: Arc::clone(&limiter),
            csrf: Arc::clone(&csrf),
        }));
        let state = AppState {
            settings: Arc::clone(&settings),
            db: pool.clone(),
            cache: cache.clone(),
            health,
            limiter,
            lifecycle,
            jwt: build_verifier(&settings)?.map(Arc::new),
            tenants: Arc::new(TenantCache::default()),
            sin_keys: build_sin_keys(&settings)?.map(Arc::new),
            analytics,
            csrf,
            metrics,
        };

        let (listener, port) = bind(&settings.server.host, settings.server.port)?;
        let metrics_listener = bind_metrics(&settings)?;
        let server = serve(listener, state.clone(), extra)?;
        let handle = server.handle();
        log::info!("listening on http://{}:{port}", settings.server.host);
        let (metrics_port, metrics_handle) = match metrics_listener {
            Some((listener, metrics_port)) => {
                let server =
                    crate::metrics::serve_internal(listener, web::Data::new(state.clone()))
                        .map_err(|e| StartupError::Setup(format!("cannot serve metrics: {e}")))?;
                log::info!(
                    "metrics on http://{}:{metrics_port}/metrics",
                    settings.metrics.host
                );
                let metrics_handle = server.handle();
                actix_rt::spawn(server);
                (Some(metrics_port), Some(metrics_handle))
            }
            None => (None, None),
        };

        let server = actix_rt::spawn(server);
        if let Err(e) = prepare_database(&state).await {
            if let Some(h) = &metrics_handle {
                h.stop(false).await;
            }
            handle.stop(false).await;
            let _ = server.await;
            return Err(e);
        }
        let (supervisor, actor_arbiter) = start_supervisor(&state)?;
        // On the same thread as the health supervisor.
        let analytics = match (&state.analytics, analytics_inbox) {
            (Some(a), Some(inbox)) => Some(crate::analytics::start(
                &settings,
                a,
                inbox,
                &actor_arbiter.handle(),
            )),
            _ => None,
        };
        wait_for_first_report(&state).await;
        state.lifecycle.mark_ready();
        log::info!("ready ({})", settings.app_env.as_str());
        Ok(Self {
            port,
            metrics_port,
            metrics_handle,
            server,
            handle,
            state,
            supervisor,
            analytics,
            actor_arbiter,
            stopper: Stopper::default(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bound port of the internal metrics listener; None without METRICS_PORT.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn health_supervisor(&self) -> Addr<HealthSupervisor> {
        self.supervisor.clone()
    }

    pub fn analytics_actor(&self) -> Option<Addr<AnalyticsActor>> {
        self.analytics.clone()
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serve until SIGTERM/SIGINT or `Stopper::stop`, then shut down in order.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            handle,
            state,
            supervisor,
            analytics,
            actor_arbiter,
            stopper,
            metrics_handle,
            ..
        } = self;
        tokio::select! {
            _ = shutdown_signal() => log::info!("signal received; shutting down"),
            _ = stopper.0.notified() => log::info!("stop requested; shutting down"),
            res = server => return res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        }
        state.lifecycle.begin_shutdown();
        let drain = state.settings.server.shutdown_drain;
        if !drain.is_zero() {
            log::info!(
                "draining for {} s before closing the listener",
                drain.as_secs()
            );
            tokio::time::sleep(drain).await;
        }
        handle.stop(true).await;
        if let Some(h) = metrics_handle {
            h.stop(true).await;
        }
        log::info!("http server stopped");
        // Final analytics flush: after the last request and the workers' last batches, before
        // the pools close.
        if let Some(a) = &state.analytics {
            crate::analytics::await_worker_buffers(a).await;
        }
        if let Some(addr) = &analytics {
            crate::analytics::stop(addr, state.settings.analytics.shutdown_flush).await;
        }
        let _ = supervisor.send(health::Stop).await;
        actor_arbiter.stop();
        state.db.close();
        log::info!("shutdown complete");
        Ok(())
    }
}

fn serve(
    listener: TcpListener,
    state: AppState,
    extra: ExtraRoutes,
) -> Result<Server, StartupError> {
    let server_settings = state.settings.server.clone();
    let data = web::Data::new(state);
    let (json, path, query, payload) = http::extractor_configs(server_settings.max_body_bytes);
    let mut server = HttpServer::new(move || {
        let extra = Arc::clone(&extra);
        App::new()
            .app_data(data.clone())
            .app_data(json.clone())
            .app_data(path.clone())
            .app_data(query.clone())
            .app_data(payload.clone())
            // Just inside request_context: unmatched routes are recorded too.
            .wrap(http::middleware::Analytics::new(data.analytics.as_ref()))
            .wrap(from_fn(request_context))
            .configure(http::routes)
            .configure(move |cfg| extra(cfg))
            .default_service(web::to(http::not_found))
    })
    .disable_signals()
    .shutdown_timeout(server_settings.shutdown_grace.as_secs());
    if server_settings.workers > 0 {
        server = server.workers(server_settings.workers);
    }
    server
        .listen(listener)
        .map(|s| s.run())
        .map_err(|e| StartupError::Setup(format!("cannot serve: {e}")))
}

/// The internal metrics listener (METRICS_PORT), bound before anything is served.
fn bind_metrics(settings: &Settings) -> Result<Option<(TcpListener, u16)>, StartupError> {
    let Some(port) = settings.metrics.port else {
        return Ok(None);
    };
    bind(&settings.metrics.host, port).map(Some)
}

/// Bind `host:port` (port 0: any free port); answers the listener and its real port.
fn bind(host: &str, port: u16) -> Result<(TcpListener, u16), StartupError> {
    let addr = format!("{host}:{port}");
    let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| StartupError::Setup(format!("no local address: {e}")))?
        .port();
    Ok((listener, port))
}

/// The session-token verifier: CLERK_JWT_KEY, or in development the local key pair.
fn build_verifier(settings: &Settings) -> Result<Option<JwtVerifier>, StartupError> {
    let services = &settings.services;
    let pem = match (&services.clerk_jwt_key, settings.app_env) {
        (Some(pem), _) => pem.clone(),
        (None, AppEnv::Development) => dev_keys::ensure_dev_keypair(&settings.dev_keys_dir)
            .map_err(|e| StartupError::Setup(format!("development keys: {e}")))?,
        (None, _) => {
            log::warn!("CLERK_JWT_KEY is not set: session tokens are refused");
            return Ok(None);
        }
    };
    JwtVerifier::new(
        &pem,
        services.clerk_jwt_issuer.as_deref(),
        &services.clerk_authorized_parties,
    )
    .map(Some)
    .map_err(StartupError::Setup)
}

fn build_sin_keys(settings: &Settings) -> Result<Option<SinKeyRing>, StartupError> {
    let services = &settings.services;
    let Some(current) = &services.sin_encryption_key else {
        log::warn!("SIN_ENCRYPTION_KEY is not set: SIN storage and reveal are off");
        return Ok(None);
    };
    let old: Vec<&str> = services
        .sin_encryption_old_keys
        .iter()
        .map(|k| k.expose_secret())
        .collect();
    SinKeyRing::new(current.expose_secret(), &old)
        .map(Some)
        .map_err(StartupError::Setup)
}

async fn prepare_database(state: &AppState) -> Result<(), StartupError> {
    let db_settings = &state.settings.database;
    if db_settings.skip_startup_check {
        log::warn!("SKIP_DB_STARTUP_CHECK=true: database checks and migrations skipped");
        return Ok(());
    }
    db::startup_checks(&state.db, db_settings)
        .await
        .map_err(StartupError::Database)
}

fn start_supervisor(state: &AppState) -> Result<(Addr<HealthSupervisor>, Arbiter), StartupError> {
    let settings = &state.settings;
    let pg = db::pg_config(&settings.database).map_err(StartupError::Setup)?;
    let pg_tls = db::pg_tls(&settings.database).map_err(StartupError::Setup)?;
    let mut probes: Vec<Arc<dyn Probe>> = vec![
        Arc::new(DatabaseProbe::new(
            pg,
            pg_tls,
            state.db.clone(),
            settings.health.schema_check_interval,
        )),
        Arc::new(RedisProbe::new(state.cache.clone())),
    ];
    if let Some(a) = &state.analytics {
        probes.push(Arc::new(AnalyticsProbe::new(a.recorder.clone())));
    }
    let config = SupervisorConfig {
        interval: settings.health.interval,
        timeout: settings.health.timeout,
    };
    let fixed = crate::health::service_checks(settings);
    let cell = Arc::clone(&state.health);
    // Its own thread: nothing that blocks the caller's thread can delay a probe cycle.
    let arbiter = Arbiter::new();
    let addr = HealthSupervisor::start_in_arbiter(&arbiter.handle(), move |_| {
        HealthSupervisor::new(config, probes, fixed, cell)
    });
    Ok((addr, arbiter))
}

/// Wait (bounded) for the supervisor's first report, so "ready" means "measured".
async fn wait_for_first_report(state: &AppState) {
    let deadline =
        tokio::time::Instant::now() + state.settings.health.timeout + Duration::from_millis(500);
    while !state.health.load().measured && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
