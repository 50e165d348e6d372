//! Strict parsers for single configuration values, as plain functions.
//!
//! Every function gets an already trimmed, non-empty value and returns `Err(message)` describing
//! what is wrong. Messages never contain the value itself (the caller decides whether it may be
//! quoted), so they are safe for secrets.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use ipnet::IpNet;
use url::Url;

use super::settings::AppEnv;
use super::vars::APP_ENVS;
use crate::crypto::sin::SinKeyRing;

/// A whole number in `min..=max`: ASCII digits only (no sign, decimal point, exponent, unit or
/// inner whitespace).
pub fn int(s: &str, min: u64, max: u64) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "must be a whole number from {min} to {max} (digits only: no sign, decimals or unit suffix)"
        ));
    }
    match s.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("is out of range: must be from {min} to {max}")),
    }
}

/// Exactly `true`/`false`/`1`/`0`, case-insensitive.
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("must be true, false, 1 or 0".into()),
    }
}

pub fn app_env(s: &str) -> Result<AppEnv, String> {
    match s.to_ascii_lowercase().as_str() {
        "development" => Ok(AppEnv::Development),
        "test" => Ok(AppEnv::Test),
        "staging" => Ok(AppEnv::Staging),
        "production" => Ok(AppEnv::Production),
        _ => Err(format!(
            "must be one of {}; treating it as production",
            APP_ENVS.join(", ")
        )),
    }
}

/// An IP address or a DNS host name (no scheme, port or path).
pub fn host(s: &str) -> Result<String, String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // "0", "999.999.999.999": the OS reads all-numeric names as (odd) IPv4 forms.
    let numeric = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if s.parse::<IpAddr>().is_ok() || (!numeric && s.len() <= 253 && s.split('.').all(label_ok)) {
        Ok(s.to_string())
    } else {
        Err("must be an IP address or a host name (no scheme, port or path)".into())
    }
}

fn url_with_host(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("is not a valid URL ({e})"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must include a host name".into());
    }
    Ok(url)
}

fn looks_like_sql_server(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    let ado_key = ["server=", "data source=", "initial catalog=", "database="];
    l.starts_with("sqlserver://")
        || l.starts_with("mssql://")
        || l.starts_with("jdbc:sqlserver://")
        || (l.contains(';')
            && ado_key
                .iter()
                .any(|k| l.starts_with(k) || l.contains(&format!(";{k}"))))
}

pub const SQL_SERVER_MESSAGE: &str = "looks like a SQL Server connection string: SQL Server / Azure SQL is not supported; this service needs PostgreSQL (postgres://…)";

/// A PostgreSQL URL that `tokio_postgres` accepts.
pub fn database_url(s: &str) -> Result<(), String> {
    if looks_like_sql_server(s) {
        return Err(SQL_SERVER_MESSAGE.into());
    }
    if s.to_ascii_lowercase().starts_with("jdbc:") {
        return Err("is a JDBC URL: remove the jdbc: prefix (postgres://…)".into());
    }
    let url = Url::parse(s).map_err(|e| {
        format!("is not a valid URL ({e}); it must look like postgres://USER:PASSWORD@HOST:5432/DB")
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err("must start with postgres:// or postgresql://".into());
    }
    url_with_host(s)?;
    // tokio-postgres knows only disable/prefer/require: the sslmode is read (and checked) here.
    let (_, driver_url) = crate::db::tls::split_sslmode(s)?;
    tokio_postgres::Config::from_str(&driver_url)
        .map(|_| ())
        .map_err(|e| format!("is not a connection string PostgreSQL accepts ({e})"))
}

/// DATABASE_CA_CERT_FILE / REDIS_CA_CERT_FILE: a readable PEM bundle with a certificate.
pub fn ca_cert_file(s: &str) -> Result<PathBuf, String> {
    let path = path(s)?;
    crate::tls::read_ca_pem(&path)?;
    Ok(path)
}

/// Loopback, `localhost`, or a single-label name (a container or service name on a private
/// network, like the compose files' `postgres` and `redis`): traffic that never crosses an
/// untrusted network, so plaintext there draws no warning.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost") || !host.contains('.'),
    }
}

pub fn redis_url(s: &str) -> Result<(), String> {
    let url = url_with_host(s)?;
    if url.fragment().is_some() {
        return Err(
            "has a #fragment: #insecure (TLS without certificate checks) is not \
            supported; for a private CA set REDIS_CA_CERT_FILE to its PEM bundle"
                .into(),
        );
    }
    match url.scheme() {
        "redis" | "rediss" => Ok(()),
        "http" | "https" => Err("is an HTTP(S) URL, probably a REST endpoint (such as Upstash's \
            UPSTASH_REDIS_REST_URL), which is not the Redis protocol; use the redis:// or rediss:// URL"
            .into()),
        _ => Err("must start with redis:// or rediss://".into()),
    }
}

pub fn redis_key_prefix(s: &str) -> Result<(), String> {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if s.is_empty() || s.len() > 64 || !ok_chars || !s.ends_with(':') {
        return Err("must be 1–64 characters of A-Z a-z 0-9 _ . : - and end with ':'".into());
    }
    Ok(())
}

/// `value` starts with one of `prefixes` and has a non-empty rest without whitespace; returns the prefix.
fn prefixed(s: &str, prefixes: &[&'static str]) -> Result<&'static str, String> {
    for p in prefixes {
        if let Some(rest) = s.strip_prefix(p) {
            if !rest.is_empty() && !rest.chars().any(char::is_whitespace) {
                return Ok(p);
            }
        }
    }
    let list = prefixes.iter().map(|p| format!("{p}…")).collect::<Vec<_>>();
    Err(format!(
        "must start with {} followed by the key (no spaces)",
        list.join(" or ")
    ))
}

pub fn clerk_publishable_key(s: &str) -> Result<(), String> {
    prefixed(s, &["pk_test_", "pk_live_"]).map(|_| ())
}

pub fn clerk_secret_key(s: &str) -> Result<(), String> {
    prefixed(s, &["sk_test_", "sk_live_"]).map(|_| ())
}

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// A PEM public key; literal `\n` escapes count as newlines. Returns the normalised PEM.
pub fn clerk_jwt_key(s: &str) -> Result<String, String> {
    let text = s
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n");
    let text = text.trim();
    if text.contains("PRIVATE KEY-----") {
        return Err("is a PRIVATE key: use the public key (-----BEGIN PUBLIC KEY-----) from the Clerk dashboard, and rotate the private one".into());
    }
    let body = text
        .strip_prefix(PEM_BEGIN)
        .and_then(|rest| rest.strip_suffix(PEM_END))
        .ok_or_else(|| format!("must be a PEM public key: {PEM_BEGIN} … {PEM_END}"))?;
    let lines: Vec<&str> = body.split_whitespace().collect();
    let joined = lines.concat();
    let data = joined.trim_end_matches('=');
    let base64 = !data.is_empty()
        && joined.len() % 4 == 0
        && joined.len() - data.len() <= 2
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !base64 {
        return Err("must have a base64 body between the BEGIN and END lines".into());
    }
    Ok(format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n")))
}

/// `sk_test_…`/`sk_live_…`; live keys only in production, test keys everywhere but production.
pub fn stripe_secret_key(s: &str, env: AppEnv) -> Result<(), String> {
    let prefix = prefixed(s, &["sk_test_", "sk_live_"])?;
    match (prefix, env) {
        ("sk_test_", AppEnv::Production) => {
            Err("is a test-mode key (sk_test_…) but APP_ENV is production: use the live key (sk_live_…)".into())
        }
        ("sk_live_", env) if env != AppEnv::Production => Err(format!(
            "is a live-mode key (sk_live_…) but APP_ENV is {}: live keys are only allowed in production, use a test key (sk_test_…)",
            env.as_str()
        )),
        _ => Ok(()),
    }
}

pub fn stripe_webhook_secret(s: &str) -> Result<(), String> {
    prefixed(s, &["whsec_"]).map(|_| ())
}

pub fn azure_key_vault_url(s: &str) -> Result<(), String> {
    let lower = s.to_ascii_lowercase();
    let name = lower
        .strip_prefix("https://")
        .map(|rest| rest.strip_suffix('/').unwrap_or(rest))
        .and_then(|rest| rest.strip_suffix(".vault.azure.net"));
    match name {
        Some(n)
            if (3..=24).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Ok(())
        }
        _ => Err(
            "must be https://NAME.vault.azure.net with NAME 3–24 letters, digits or hyphens".into(),
        ),
    }
}

pub fn azure_openai_endpoint(s: &str) -> Result<(), String> {
    let url = url_with_host(s)?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL".into());
    }
    Ok(())
}

pub fn azure_storage_account(s: &str) -> Result<(), String> {
    if (3..=24).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err("must be 3–24 lowercase letters and digits".into())
    }
}

/// `http(s)://PUBLICKEY@HOST[:port]/[path/]PROJECT_ID`.
pub fn sentry_dsn(s: &str) -> Result<(), String> {
    let shape = "it must look like https://PUBLICKEY@HOST/PROJECT_ID";
    let url = url_with_host(s).map_err(|e| format!("{e}; {shape}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be an http(s) URL; {shape}"));
    }
    if url.username().is_empty() {
        return Err(format!("has no public key before the @; {shape}"));
    }
    let project = url.path().rsplit('/').next().unwrap_or("");
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must end with a numeric project id; {shape}"));
    }
    Ok(())
}

pub fn union_name(s: &str) -> Result<(), String> {
    if (1..=200).contains(&s.chars().count()) && !s.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("must be 1–200 characters without control characters".into())
    }
}

/// Canadian BN: 9 digits, optionally followed by a program account (2 uppercase letters + 4 digits).
pub fn union_bn(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    let ok = match b.len() {
        9 => digits(b),
        15 => digits(&b[..9]) && b[9..11].iter().all(u8::is_ascii_uppercase) && digits(&b[11..]),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("must be a 9-digit business number, optionally followed by a program account such as RR0001".into())
    }
}

pub const ADMIN_TOKEN_MIN_CHARS: usize = 32;

pub fn admin_api_token(s: &str) -> Result<(), String> {
    if s.chars().count() >= ADMIN_TOKEN_MIN_CHARS {
        Ok(())
    } else {
        Err(format!("is too short: it must be at least {ADMIN_TOKEN_MIN_CHARS} characters (e.g. openssl rand -hex 32)"))
    }
}

/// Comma-separated IPs or CIDRs; a bare IP becomes a /32 or /128.
pub fn trusted_proxies(s: &str) -> Result<Vec<IpNet>, String> {
    let mut nets = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in s.split(',').map(str::trim).enumerate() {
        match IpNet::from_str(item) {
            Ok(net) => nets.push(net.trunc()),
            Err(_) => match item.parse::<IpAddr>() {
                Ok(ip) => nets.push(IpNet::from(ip)),
                Err(_) => bad.push((i + 1).to_string()),
            },
        }
    }
    if bad.is_empty() {
        Ok(nets)
    } else {
        Err(format!(
            "must be a comma-separated list of IP addresses or CIDRs; entry {} is not",
            bad.join(", ")
        ))
    }
}

/// Comma-separated origins `scheme://host[:port]` (http or https; no path, query, fragment or
/// credentials; one trailing `/` is tolerated). Returned as browsers send them in `Origin` and
/// Clerk in `azp` (lower-case, default port omitted, no trailing slash), without duplicates.
pub fn authorized_parties(s: &str) -> Result<Vec<String>, String> {
    let mut origins: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in s.split(',').map(str::trim).enumerate() {
        match origin(item) {
            Some(o) if !origins.contains(&o) => origins.push(o),
            Some(_) => {}
            None => bad.push((i + 1).to_string()),
        }
    }
    if bad.is_empty() {
        Ok(origins)
    } else {
        Err(format!(
            "must be a comma-separated list of origins like https://app.example.com \
             (scheme://host[:port], no path); entry {} is not",
            bad.join(", ")
        ))
    }
}

fn origin(item: &str) -> Option<String> {
    let url = Url::parse(item).ok()?;
    let after_scheme = item.split_once("://")?.1;
    let path_ok = match after_scheme.find('/') {
        None => true,
        Some(i) => i + 1 == after_scheme.len(),
    };
    let plain = url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && !item.contains(['?', '#'])
        && match url.host() {
            Some(url::Host::Domain(d)) => host(d).is_ok(),
            Some(_) => true,
            None => false,
        };
    (matches!(url.scheme(), "http" | "https") && path_ok && plain)
        .then(|| url.origin().ascii_serialization())
}

/// An https URL compared verbatim with the token's `iss`, so it must already be canonical:
/// lower-case host, no default port, no trailing slash, query, fragment or credentials.
pub fn clerk_jwt_issuer(s: &str) -> Result<(), String> {
    let url = url_with_host(s)?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() || s.contains(['?', '#']) {
        return Err("must not have a query or fragment".into());
    }
    if s.ends_with('/') {
        return Err("must not end with '/': the token's iss is compared exactly and Clerk's issuer has no trailing slash".into());
    }
    if url.as_str() != s && url.as_str() != format!("{s}/") {
        return Err("must be written canonically (lower-case host, no default port), as the token's iss is compared exactly".into());
    }
    Ok(())
}

const SIN_KEY_SHAPE: &str =
    "must be base64 of exactly 32 random bytes (e.g. the output of openssl rand -base64 32)";

/// Base64 (standard or URL-safe, padded or not) of exactly 32 bytes, as `SinKeyRing` takes it.
pub fn sin_encryption_key(s: &str) -> Result<(), String> {
    SinKeyRing::new(s, &[])
        .map(|_| ())
        .map_err(|e| format!("{SIN_KEY_SHAPE}; {e}"))
}

/// Comma-separated SIN keys (each as in `sin_encryption_key`), trimmed; every bad entry named.
pub fn sin_encryption_old_keys(s: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in s.split(',').map(str::trim).enumerate() {
        if item.is_empty() {
            bad.push(format!("entry {} is empty", i + 1));
            continue;
        }
        match SinKeyRing::new(item, &[]) {
            Ok(_) => keys.push(item.to_string()),
            Err(e) => bad.push(format!("entry {}: {e}", i + 1)),
        }
    }
    if bad.is_empty() {
        Ok(keys)
    } else {
        Err(format!(
            "must be a comma-separated list of keys, each base64 of exactly 32 bytes; {}",
            bad.join("; ")
        ))
    }
}

/// A CSRF HMAC secret: at least `MIN_SECRET_BYTES` bytes.
pub fn csrf_secret(s: &str) -> Result<(), String> {
    let min = crate::csrf::token::MIN_SECRET_BYTES;
    if s.len() >= min {
        Ok(())
    } else {
        Err(format!(
            "is too short: it must be at least {min} bytes (e.g. openssl rand -hex 32)"
        ))
    }
}

/// Comma-separated CSRF secrets (each as in `csrf_secret`), trimmed; every bad entry named.
pub fn csrf_old_secrets(s: &str) -> Result<Vec<String>, String> {
    let mut secrets = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in s.split(',').map(str::trim).enumerate() {
        if item.is_empty() {
            bad.push(format!("entry {} is empty", i + 1));
        } else if csrf_secret(item).is_err() {
            bad.push(format!("entry {} is shorter than 32 bytes", i + 1));
        } else {
            secrets.push(item.to_string());
        }
    }
    if bad.is_empty() {
        Ok(secrets)
    } else {
        Err(format!(
            "must be a comma-separated list of secrets of at least 32 bytes each; {}",
            bad.join("; ")
        ))
    }
}

/// APP_ORIGINS: origins as in `authorized_parties` (normalised the way browsers send
/// `Origin`); in staging and production every one must be https.
pub fn app_origins(s: &str, env: AppEnv) -> Result<Vec<String>, String> {
    let origins = authorized_parties(s)?;
    let plain: Vec<String> = origins
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.starts_with("https://"))
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if env.is_strict() && !plain.is_empty() {
        return Err(format!(
            "must list only https:// origins in {}; entry {} is not",
            env.as_str(),
            plain.join(", ")
        ));
    }
    Ok(origins)
}

/// A filesystem path without control characters.
pub fn path(s: &str) -> Result<PathBuf, String> {
    if s.chars().any(char::is_control) {
        return Err("must be a path without control characters".into());
    }
    Ok(PathBuf::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(int("30", 1, 300), Ok(30));
        assert_eq!(int("0", 0, 10), Ok(0));
        assert_eq!(int("007", 0, 10), Ok(7));
        for bad in [
            "yes", "90.6", "1e2", "30d", "-1", "+5", "8 0", "", "0x10", "１２",
        ] {
            assert!(int(bad, 0, 1000).is_err(), "{bad:?}");
        }
        assert!(int("301", 1, 300)
            .expect_err("must be rejected")
            .contains("out of range"));
        assert!(int("0", 1, 300).is_err());
        assert!(int("99999999999999999999999", 0, u64::MAX).is_err());
        assert_eq!(int("65535", 0, 65535), Ok(65535));
        assert!(int("65536", 0, 65535).is_err());
    }

    #[test]
    fn booleans() {
        for (s, v) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("False", false),
            ("0", false),
        ] {
            assert_eq!(boolean(s), Ok(v));
        }
        for bad in ["yes", "no", "on", "off", "2", "t", "truee"] {
            assert!(boolean(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_envs() {
        assert_eq!(app_env("Staging"), Ok(AppEnv::Staging));
        assert_eq!(app_env("TEST"), Ok(AppEnv::Test));
        let e = app_env("prod").expect_err("must be rejected");
        assert!(e.contains("development, test, staging, production"));
    }

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1",
            "0.0.0.0",
            "::",
            "::1",
            "localhost",
            "api.example.com",
        ] {
            assert!(host(ok).is_ok(), "{ok}");
        }
        for bad in ["http://x", "a b", "host:80", "-x.com", "x/y", "[::1]"] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn database_urls() {
        assert!(database_url("postgres://u:p@localhost:5432/db").is_ok());
        assert!(database_url("postgresql://u@db.example.com/db?sslmode=require").is_ok());
        for sql in [
            "sqlserver://x.database.windows.net:1433;database=db",
            "mssql://u:p@host/db",
            "jdbc:sqlserver://host:1433;databaseName=db",
            "Server=tcp:x.database.windows.net,1433;Database=db;User ID=u;Password=p;",
            "Data Source=host;Initial Catalog=db;",
        ] {
            assert_eq!(
                database_url(sql).expect_err("must be rejected"),
                SQL_SERVER_MESSAGE,
                "{sql}"
            );
        }
        assert!(database_url("mysql://u:p@h/db")
            .expect_err("must be rejected")
            .contains("postgres://"));
        assert!(database_url("postgres:///db")
            .expect_err("must be rejected")
            .contains("host"));
        assert!(database_url("host=localhost user=x").is_err());
        assert!(database_url("postgres://u@h/db?bogus_option=1")
            .expect_err("must be rejected")
            .contains("PostgreSQL accepts"));
        assert!(database_url("jdbc:postgresql://h/db")
            .expect_err("must be rejected")
            .contains("jdbc"));
        // Never echoes the value (it may contain a password).
        let e = database_url("mysql://user:hunter2@h/db").expect_err("must be rejected");
        assert!(!e.contains("hunter2"));
    }

    #[test]
    fn redis() {
        assert!(redis_url("redis://localhost:6379").is_ok());
        assert!(redis_url("rediss://default:pw@x.upstash.io:6379").is_ok());
        assert!(redis_url("https://x.upstash.io")
            .expect_err("must be rejected")
            .contains("REST"));
        assert!(redis_url("memcached://h").is_err());
        assert!(redis_url("redis://").is_err());
        assert!(redis_key_prefix("unioneyes:").is_ok());
        assert!(redis_key_prefix("a.b-c_d:e:").is_ok());
        for bad in [
            "unioneyes",
            "uni eyes:",
            "é:",
            &format!("{}:", "a".repeat(64)),
        ] {
            assert!(redis_key_prefix(bad).is_err(), "{bad}");
        }
        assert!(redis_key_prefix(&format!("{}:", "a".repeat(63))).is_ok());
    }

    #[test]
    fn clerk() {
        assert!(clerk_publishable_key("pk_test_abc").is_ok());
        assert!(clerk_publishable_key("pk_live_abc").is_ok());
        assert!(clerk_publishable_key("pk_live_").is_err());
        assert!(clerk_publishable_key("sk_live_abc").is_err());
        assert!(clerk_secret_key("sk_test_abc").is_ok());
        assert!(clerk_secret_key("pk_test_abc").is_err());
        assert!(clerk_secret_key("sk_test_a b").is_err());
    }

    #[test]
    fn pem_keys() {
        let body = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
        let want = format!("{PEM_BEGIN}\n{body}\n{PEM_END}\n");
        assert_eq!(
            clerk_jwt_key(&format!("{PEM_BEGIN}\n{body}\n{PEM_END}")),
            Ok(want.clone())
        );
        assert_eq!(
            clerk_jwt_key(&format!("{PEM_BEGIN}\\n{body}\\n{PEM_END}")),
            Ok(want.clone())
        );
        assert_eq!(
            clerk_jwt_key(&format!("{PEM_BEGIN}\r\n{body}\r\n{PEM_END}\r\n")),
            Ok(want)
        );
        let two = clerk_jwt_key(&format!("{PEM_BEGIN}\nQUJD\nREVG\n{PEM_END}"));
        assert_eq!(two, Ok(format!("{PEM_BEGIN}\nQUJD\nREVG\n{PEM_END}\n")));
        assert!(clerk_jwt_key(&format!("{PEM_BEGIN}\n{PEM_END}")).is_err());
        assert!(clerk_jwt_key(&format!("{PEM_BEGIN}\nnot base64!\n{PEM_END}")).is_err());
        assert!(clerk_jwt_key(&format!("{PEM_BEGIN}\nQUJ\n{PEM_END}")).is_err());
        assert!(clerk_jwt_key(body).is_err());
        let private = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----";
        assert!(clerk_jwt_key(private)
            .expect_err("must be rejected")
            .contains("PRIVATE"));
    }

    #[test]
    fn stripe() {
        use AppEnv::*;
        assert!(stripe_secret_key("sk_live_x", Production).is_ok());
        assert!(stripe_secret_key("sk_test_x", Production)
            .expect_err("must be rejected")
            .contains("test-mode"));
        for env in [Development, Test, Staging] {
            assert!(stripe_secret_key("sk_test_x", env).is_ok());
            assert!(stripe_secret_key("sk_live_x", env)
                .expect_err("must be rejected")
                .contains("live-mode"));
        }
        assert!(stripe_secret_key("pk_test_x", Test).is_err());
        assert!(stripe_webhook_secret("whsec_abc").is_ok());
        assert!(stripe_webhook_secret("whsec_").is_err());
    }

    #[test]
    fn azure() {
        assert!(azure_key_vault_url("https://my-vault.vault.azure.net").is_ok());
        assert!(azure_key_vault_url("https://my-vault.vault.azure.net/").is_ok());
        for bad in [
            "http://my-vault.vault.azure.net",
            "https://ab.vault.azure.net",
            "https://my_vault.vault.azure.net",
            "https://my-vault.vault.azure.net/secrets",
            &format!("https://{}.vault.azure.net", "a".repeat(25)),
        ] {
            assert!(azure_key_vault_url(bad).is_err(), "{bad}");
        }
        assert!(azure_openai_endpoint("https://x.openai.azure.com/").is_ok());
        assert!(azure_openai_endpoint("http://x.openai.azure.com/").is_err());
        assert!(azure_openai_endpoint("x.openai.azure.com").is_err());
        assert!(azure_storage_account("unioneyes01").is_ok());
        for bad in ["ab", "UnionEyes", "union-eyes", &"a".repeat(25)] {
            assert!(azure_storage_account(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sentry() {
        assert!(sentry_dsn("https://abc@o1.ingest.sentry.io/123").is_ok());
        assert!(sentry_dsn("http://abc@localhost:9000/sub/path/42").is_ok());
        for bad in [
            "https://o1.ingest.sentry.io/123",
            "https://abc@o1.ingest.sentry.io/",
            "https://abc@o1.ingest.sentry.io/abc",
            "ftp://abc@h/1",
            "abc@h/1",
        ] {
            assert!(sentry_dsn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn union_fields() {
        assert!(union_name("Local 1").is_ok());
        assert!(union_name(&"é".repeat(200)).is_ok());
        assert!(union_name(&"x".repeat(201)).is_err());
        assert!(union_name("a\u{7}b").is_err());
        for ok in ["123456789", "012345678", "123456789RR0001"] {
            assert!(union_bn(ok).is_ok(), "{ok}");
        }
        for bad in [
            "12345678",
            "1234567890",
            "123456789rr0001",
            "123456789RR001",
            "123 456 789",
            "123456789R10001",
        ] {
            assert!(union_bn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_token() {
        assert!(admin_api_token(&"x".repeat(32)).is_ok());
        assert!(admin_api_token(&"x".repeat(31)).is_err());
    }

    #[test]
    fn proxies() {
        let nets = trusted_proxies("10.0.0.1, 192.168.0.0/16,::1,10.1.2.3/8").unwrap_or_default();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["10.0.0.1/32", "192.168.0.0/16", "::1/128", "10.0.0.0/8"]
        );
        let e = trusted_proxies("10.0.0.1,nope,10.0.0.0/33").expect_err("must be rejected");
        assert!(e.contains("entry 2, 3"), "{e}");
        assert!(trusted_proxies("10.0.0.1,").is_err());
    }
    #[test]
    fn origins() {
        let got = authorized_parties(
            "https://App.Example.com, http://localhost:3000/,https://app.example.com:443,https://x.example.org:8443",
        );
        assert_eq!(
            got,
            Ok(vec![
                "https://app.example.com".to_string(),
                "http://localhost:3000".to_string(),
                "https://x.example.org:8443".to_string(),
            ])
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "https://app.example.com//",
            "https://app.example.com?x=1",
            "https://app.example.com/#x",
            "https://user@app.example.com",
            "ftp://app.example.com",
            "*",
            "https://*.example.com",
            "",
        ] {
            assert!(authorized_parties(bad).is_err(), "{bad:?}");
        }
        let e = authorized_parties("https://a.example.com,nope,https://b.example.com/x")
            .expect_err("must be rejected");
        assert!(e.contains("entry 2, 3"), "{e}");
        assert!(authorized_parties("https://a.example.com,").is_err());
    }

    #[test]
    fn issuers() {
        for ok in [
            "https://clerk.example.com",
            "https://fond-cat-12.clerk.accounts.dev",
            "https://clerk.example.com:8443",
            "https://example.com/tenant/1",
        ] {
            assert_eq!(clerk_jwt_issuer(ok), Ok(()), "{ok}");
        }
        for (bad, want) in [
            ("http://clerk.example.com", "https://"),
            ("https://clerk.example.com/", "trailing slash"),
            ("https://Clerk.example.com", "canonically"),
            ("https://clerk.example.com:443", "canonically"),
            ("https://u:p@clerk.example.com", "credentials"),
            ("https://clerk.example.com?a=1", "query"),
            ("https://clerk.example.com#", "query"),
            ("clerk.example.com", "URL"),
        ] {
            let e = clerk_jwt_issuer(bad).expect_err("must be rejected");
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn sin_keys() {
        use crate::crypto::sin::generate_key_b64;
        let (a, b) = (generate_key_b64(), generate_key_b64());
        assert!(sin_encryption_key(&a).is_ok());
        assert!(sin_encryption_key(a.trim_end_matches('=')).is_ok());
        let short = "SECRETSECRETSECRETSECRETSECRETSECRETSECR";
        let e = sin_encryption_key(short).expect_err("must be rejected");
        assert!(
            e.contains("openssl rand -base64 32") && e.contains("30 bytes"),
            "{e}"
        );
        assert!(!e.contains("SECRET"), "{e}");
        let e = sin_encryption_key("SECRET!").expect_err("must be rejected");
        assert!(
            e.contains("not valid base64") && !e.contains("SECRET"),
            "{e}"
        );

        assert_eq!(
            sin_encryption_old_keys(&format!(" {a} ,{b}")),
            Ok(vec![a.clone(), b.clone()])
        );
        let e = sin_encryption_old_keys(&format!("{a},SECRET!,,{short}"))
            .expect_err("must be rejected");
        assert!(
            e.contains("entry 2: the key is not valid base64")
                && e.contains("entry 3 is empty")
                && e.contains("entry 4: the key decodes to 30 bytes"),
            "{e}"
        );
        assert!(!e.contains("SECRET") && !e.contains(&a), "{e}");
    }

    #[test]
    fn csrf_values() {
        assert!(csrf_secret(&"k".repeat(32)).is_ok());
        let e = csrf_secret(&"k".repeat(31)).unwrap_err();
        assert!(e.contains("at least 32 bytes"), "{e}");
        let (a, b) = ("a".repeat(40), "b".repeat(32));
        assert_eq!(
            csrf_old_secrets(&format!("{a}, {b}")),
            Ok(vec![a.clone(), b.clone()])
        );
        let e = csrf_old_secrets(&format!("{a},short,,{b}")).unwrap_err();
        assert!(
            e.contains("entry 2 is shorter")
                && e.contains("entry 3 is empty")
                && !e.contains("short,"),
            "{e}"
        );
        assert_eq!(
            app_origins(
                "https://App.UnionEyes.ca/, http://localhost:3000",
                AppEnv::Development
            ),
            Ok(vec![
                "https://app.unioneyes.ca".to_string(),
                "http://localhost:3000".to_string()
            ])
        );
        let e = app_origins(
            "https://app.unioneyes.ca,http://app.unioneyes.ca",
            AppEnv::Production,
        )
        .unwrap_err();
        assert!(e.contains("https") && e.contains("entry 2"), "{e}");
        assert!(app_origins("https://app.unioneyes.ca/login", AppEnv::Development).is_err());
        assert!(app_origins("*", AppEnv::Development).is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(path(".dev/keys"), Ok(PathBuf::from(".dev/keys")));
        assert!(path("/var/lib/unioneyes keys").is_ok());
        assert!(path("a\nb").is_err());
        assert!(path("a\u{0}b").is_err());
    }
}
