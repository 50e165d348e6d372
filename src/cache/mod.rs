//! Redis access: the bb8 pool with a short connection timeout, and the key prefix every key
//! carries so deployments and tests can share one Redis.

mod probe;

use secrecy::ExposeSecret;
pub use unioneyes_actors::redis::error_class;
use unioneyes_actors::redis::{redis, ConnectErrors, RedisManager, SharedConnection};

use crate::config::RedisSettings;

pub use probe::RedisProbe;

pub use unioneyes_actors::redis::RedisPool;

/// Redis as the rest of the service sees it: maybe not configured (development only).
#[derive(Clone)]
pub struct Cache {
    pool: Option<RedisPool>,
    /// One multiplexed connection for hot paths that must not queue for the pool.
    shared: Option<std::sync::Arc<SharedConnection>>,
    prefix: String,
    pool_max: u32,
    /// The pool's last failed connect (names the cause behind a checkout timeout).
    connect_errors: ConnectErrors,
}

impl Cache {
    /// Builds the pool without connecting; a dead Redis costs a request at most the
    /// configured connection timeout.
    pub fn new(settings: &RedisSettings) -> Result<Self, String> {
        let client = match &settings.url {
            None => None,
            Some(url) => Some(client(
                url.expose_secret(),
                settings.ca_cert_file.as_deref(),
            )?),
        };
        let mut connect_errors = ConnectErrors::default();
        let pool = match &client {
            None => None,
            Some(client) => {
                let manager = RedisManager::from_client(client)
                    .map_err(|_| "REDIS_URL could not be parsed as a Redis URL".to_string())?;
                connect_errors = manager.connect_errors();
                Some(
                    bb8::Pool::builder()
                        .max_size(settings.pool_max)
                        .connection_timeout(settings.connect_timeout)
                        .test_on_check_out(false)
                        // Report a refused connection at once instead of retrying until the
                        // timeout hides the cause.
                        .retry_connection(false)
                        .build_unchecked(manager),
                )
            }
        };
        let shared = client.map(|client| {
            std::sync::Arc::new(SharedConnection::from_client(
                client,
                settings.connect_timeout,
            ))
        });
        Ok(Self {
            pool,
            shared,
            prefix: settings.key_prefix.clone(),
            pool_max: settings.pool_max,
            connect_errors,
        })
    }

    pub fn shared(&self) -> Option<&SharedConnection> {
        self.shared.as_deref()
    }

    pub fn pool(&self) -> Option<&RedisPool> {
        self.pool.as_ref()
    }

    pub fn pool_max(&self) -> u32 {
        self.pool_max
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix` + the parts joined with ':'.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }
}

/// The one Redis client every connection comes from (pool, shared connection, analytics link,
/// probe): `rediss://` is TLS (rustls, certificate and host name checked against the built-in
/// webpki roots, or only the CAs of REDIS_CA_CERT_FILE when set). Messages never quote the URL.
fn client(url: &str, ca_cert_file: Option<&std::path::Path>) -> Result<redis::Client, String> {
    crate::tls::install_crypto_provider();
    let unparsable = |_| "REDIS_URL could not be parsed as a Redis URL".to_string();
    let tls = url
        .get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"));
    match ca_cert_file {
        Some(path) if tls => {
            let root_cert =
                crate::tls::read_ca_pem(path).map_err(|e| format!("REDIS_CA_CERT_FILE {e}"))?;
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(url, certs).map_err(unparsable)
        }
        _ => redis::Client::open(url).map_err(unparsable),
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("configured", &self.pool.is_some())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Cache {
    /// The class of a failed checkout. A timeout names the pool's last failed connect
    /// instead when there was one lately (refused, TLS, …): "timeout" alone would send the
    /// operator looking for a slow Redis when it is down.
    pub fn run_error_class(&self, e: &bb8::RunError<bb8_redis::redis::RedisError>) -> &'static str {
        match e {
            bb8::RunError::User(e) => error_class(e),
            bb8::RunError::TimedOut => self.recent_connect_error().unwrap_or("timeout"),
        }
    }

    /// The class of the pool's last connect if it failed in the last 30 s and none succeeded
    /// since.
    pub fn recent_connect_error(&self) -> Option<&'static str> {
        self.connect_errors
            .recent(std::time::Duration::from_secs(30))
    }
}
