//! The command line: `serve` (default), `check-config`, `migrate`, `healthcheck`, and the
//! operator tools in `tools` (`dev-token`, `org create`, `rotate-sin-key`).
//!
//! Exit codes: 0 ok, 1 runtime/startup failure, 2 configuration errors.

mod tools;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{self, ConfigReport, Settings};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(name = "unioneyes", version, about = "UnionEyes Core API service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Validate the configuration without connecting to anything; non-zero on errors.
    CheckConfig {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Probe a running instance's /readyz; exit 0 when ready, 1 otherwise.
    Healthcheck {
        /// Base URL of the instance (default http://127.0.0.1:$PORT).
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Development only: print a session token the local service accepts.
    DevToken {
        #[arg(long)]
        user: String,
        /// The Clerk-style organization id (created in the database on first use).
        #[arg(long)]
        org: String,
        /// admin or member
        #[arg(long, default_value = "admin")]
        role: String,
        /// Lifetime: 90s, 30m, 1h, 2d (at most 30 days).
        #[arg(long, default_value = "1h", value_parser = tools::parse_ttl)]
        ttl: Duration,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Re-encrypt every stored SIN under SIN_ENCRYPTION_KEY (old keys in SIN_ENCRYPTION_OLD_KEYS).
    RotateSinKey,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization (tenant).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// Clerk's organization id.
        #[arg(long)]
        external_id: Option<String>,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::CheckConfig { json } => check_config(json),
        Command::Migrate => migrate(),
        Command::Healthcheck { url, timeout_ms } => healthcheck(url, timeout_ms),
        Command::DevToken {
            user,
            org,
            role,
            ttl,
        } => {
            let app_env = config::load_from_process().app_env;
            tools::dev_token(
                &tools::DevTokenEnv::from_process(app_env),
                &user,
                &org,
                &role,
                ttl,
            )
        }
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    slug,
                    external_id,
                },
        } => with_settings(|settings| {
            let input = crate::http::CreateOrganization {
                name,
                slug,
                external_id,
            };
            match crate::http::validate_new_organization(input) {
                Ok(new) => tools::org_create(settings, new),
                Err(e) => {
                    eprintln!("{}", e.problem().to_body());
                    ExitCode::from(2)
                }
            }
        }),
        Command::RotateSinKey => with_settings(tools::rotate_sin_key),
    }
}

fn with_settings(f: impl FnOnce(Settings) -> ExitCode) -> ExitCode {
    init_logging();
    match load_settings() {
        Ok(settings) => f(settings),
        Err(code) => code,
    }
}

fn init_logging() {
    crate::logging::init();
}

/// Load and validate; log warnings; on errors print the report and give the exit code.
fn load_settings() -> Result<Settings, ExitCode> {
    let report = config::load_from_process();
    for w in &report.warnings {
        log::warn!("config: {}: {} (e.g. {})", w.variable, w.message, w.example);
    }
    match report.into_settings() {
        Ok(settings) => Ok(settings),
        Err(report) => {
            log::error!(
                "configuration has {} error(s); refusing to start ({})",
                report.errors.len(),
                report.app_env.as_str()
            );
            eprintln!("{}", report.render_table());
            Err(ExitCode::from(2))
        }
    }
}

fn serve() -> ExitCode {
    init_logging();
    let settings = match load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = actix_rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped()
            .await
            .map_err(|e| crate::startup::StartupError::Setup(format!("server error: {e}")))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("startup failed: {e}");
            ExitCode::from(1)
        }
    }
}

fn check_config(json: bool) -> ExitCode {
    let report: ConfigReport = config::load_from_process();
    if json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.render_table());
    }
    if report.has_errors() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn migrate() -> ExitCode {
    init_logging();
    let settings = match load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = actix_rt::System::new().block_on(async move {
        let pool = crate::db::build_pool(&settings.database)?;
        let applied = crate::db::run_migrations(&pool)
            .await
            .map_err(|e| e.to_string())?;
        pool.close();
        Ok::<usize, String>(applied)
    });
    match result {
        Ok(n) => {
            println!("migrations up to date ({n} applied now)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("migrate failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// Plain HTTP/1.1 GET of /readyz with a deadline; no TLS (it probes the local instance).
fn healthcheck(url: Option<String>, timeout_ms: u64) -> ExitCode {
    let base = url.unwrap_or_else(|| {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
        format!("http://127.0.0.1:{}", port.trim())
    });
    match probe_ready(&base, Duration::from_millis(timeout_ms)) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("not ready: /readyz answered {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("not ready: {e}");
            ExitCode::from(1)
        }
    }
}

fn probe_ready(base: &str, timeout: Duration) -> Result<u16, String> {
    let parsed = url::Url::parse(base).map_err(|e| format!("bad url: {e}"))?;
    if parsed.scheme() != "http" {
        return Err("only http:// is supported".into());
    }
    let host = parsed.host_str().ok_or("url has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "malformed response".to_string())
}
