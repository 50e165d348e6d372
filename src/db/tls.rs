//! TLS to PostgreSQL with rustls, honouring libpq's `sslmode` in DATABASE_URL.
//!
//! tokio-postgres only parses `disable`, `prefer` and `require` (and rejects the rest), so the
//! service reads `sslmode` itself, hands the driver the URL without it plus the driver's mode,
//! and builds the certificate verifier libpq would use:
//!
//! | sslmode | TLS | certificate check |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | none |
//! | `require` | always | none; chain only (like verify-ca) when DATABASE_CA_CERT_FILE is set |
//! | `verify-ca` | always | chain to a trusted root, any host name |
//! | `verify-full` | always | chain to a trusted root and the host name |
//!
//! Trusted roots: the PEM bundle in DATABASE_CA_CERT_FILE when set (only those, like libpq's
//! `sslrootcert`), else the Mozilla roots compiled in (webpki-roots).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;
use url::Url;

/// libpq's sslmode values this service supports (`allow` is not: it only ever weakens).
pub const SSL_MODES: &[&str] = &["disable", "prefer", "require", "verify-ca", "verify-full"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Every connection is encrypted (the driver refuses a server without TLS).
    pub fn always_encrypts(self) -> bool {
        !matches!(self, Self::Disable | Self::Prefer)
    }

    /// Whether a CA file changes anything (libpq ignores sslrootcert with disable/prefer).
    pub fn uses_ca_file(self) -> bool {
        self.always_encrypts()
    }

    fn driver_mode(self) -> tokio_postgres::config::SslMode {
        match self {
            Self::Disable => tokio_postgres::config::SslMode::Disable,
            Self::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        }
    }
}

/// A DATABASE_URL's sslmode (default `prefer`, as in libpq) and the URL without it, for the
/// driver. Messages never quote the URL.
pub fn split_sslmode(url: &str) -> Result<(SslMode, String), String> {
    let mut u =
        Url::parse(url).map_err(|_| "could not be parsed as a PostgreSQL URL".to_string())?;
    let mut mode = SslMode::Prefer;
    let mut rest = Vec::new();
    for (key, value) in u.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                mode = SslMode::parse(&value).ok_or_else(|| {
                    format!(
                        "has an unknown sslmode: use one of {}",
                        SSL_MODES.join(", ")
                    )
                })?;
            }
            "sslrootcert" | "sslcert" | "sslkey" => {
                return Err(format!(
                    "has {key}, which this service does not read from the URL: set \
                     DATABASE_CA_CERT_FILE to the CA bundle's path instead (client certificates \
                     are not supported)"
                ))
            }
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    if rest.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((mode, u.to_string()))
}

/// The driver configuration's TLS part: the mode the driver enforces.
pub fn apply(mode: SslMode, config: &mut tokio_postgres::Config) {
    config.ssl_mode(mode.driver_mode());
}

/// The TLS connector for `mode`, trusting the certificates in `ca_file` when set (read now:
/// a missing or malformed file fails here, at startup).
pub fn connector(mode: SslMode, ca_file: Option<&Path>) -> Result<MakeRustlsConnect, String> {
    crate::tls::install_crypto_provider();
    let provider = crate::tls::provider();
    let ca = match ca_file {
        Some(path) if mode.uses_ca_file() => {
            Some(crate::tls::read_ca_certs("DATABASE_CA_CERT_FILE", path)?)
        }
        _ => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, &ca) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => {
            Arc::new(NoVerification(Arc::clone(&provider)))
        }
        (SslMode::Require | SslMode::VerifyCa, _) => Arc::new(ChainOnly(webpki_verifier(
            ca.as_deref(),
            Arc::clone(&provider),
        )?)),
        (SslMode::VerifyFull, _) => webpki_verifier(ca.as_deref(), Arc::clone(&provider))?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn webpki_verifier(
    ca: Option<&[CertificateDer<'static>]>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let roots = match ca {
        Some(certs) => {
            let mut store = RootCertStore::empty();
            for cert in certs {
                store.add(cert.clone()).map_err(|e| {
                    format!("DATABASE_CA_CERT_FILE holds a certificate rustls cannot use as a root ({e})")
                })?;
            }
            store
        }
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("TLS setup: {e}"))
}

/// `prefer`/`require` without a CA (libpq semantics): encrypted, but any certificate is taken.
/// The handshake signatures are still checked, so the server holds the certificate's key.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full webpki check except the host name. webpki checks the chain (and
/// validity period) before the name, so a name mismatch means everything else passed.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A secret-free class for a TLS failure found in a driver error's causes, if any.
pub fn error_class(e: &tokio_postgres::Error) -> Option<&'static str> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let rustls_error = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = rustls_error {
            return Some(match r {
                rustls::Error::InvalidCertificate(c) => match c {
                    CertificateError::UnknownIssuer => "tls_unknown_issuer",
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => "tls_name_mismatch",
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                        "tls_certificate_expired"
                    }
                    _ => "tls_certificate_invalid",
                },
                _ => "tls_handshake_failed",
            });
        }
        source = s.source();
    }
    // The driver's own TLS error: mode require/verify-* and a server without TLS.
    if e.to_string().starts_with("error performing TLS handshake") {
        return Some(if format!("{e:?}").contains("does not support TLS") {
            "tls_not_offered"
        } else {
            "tls_handshake_failed"
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_removed_from_the_url() {
        let (mode, url) =
            split_sslmode("postgres://u:p%40ss@db.example.com:5432/app?sslmode=verify-full")
                .expect("valid");
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(url, "postgres://u:p%40ss@db.example.com:5432/app");
        let (mode, url) = split_sslmode(
            "postgres://u@h/db?application_name=x&sslmode=verify-ca&connect_timeout=3",
        )
        .expect("valid");
        assert_eq!(mode, SslMode::VerifyCa);
        assert_eq!(
            url,
            "postgres://u@h/db?application_name=x&connect_timeout=3"
        );
        let (mode, _) = split_sslmode("postgres://u@h/db").expect("valid");
        assert_eq!(mode, SslMode::Prefer);
        for m in SSL_MODES {
            let (mode, url) = split_sslmode(&format!("postgres://u@h/db?sslmode={m}")).expect("ok");
            assert_eq!(mode.as_str(), *m);
            let parsed = <tokio_postgres::Config as std::str::FromStr>::from_str(&url);
            assert!(parsed.is_ok(), "the driver refuses the URL for {m}");
        }
    }

    #[test]
    fn unknown_sslmode_lists_the_choices_without_the_url() {
        let e = split_sslmode("postgres://u:SECRET@h/db?sslmode=verify").expect_err("unknown");
        assert!(
            e.contains("disable, prefer, require, verify-ca, verify-full"),
            "{e}"
        );
        assert!(!e.contains("SECRET"));
        let e = split_sslmode("postgres://u:SECRET@h/db?sslrootcert=/x.pem").expect_err("rootcert");
        assert!(e.contains("DATABASE_CA_CERT_FILE"), "{e}");
        assert!(!e.contains("SECRET"));
    }

    #[test]
    fn connectors_build_for_every_mode() {
        for m in SSL_MODES {
            let mode = SslMode::parse(m).expect("mode");
            assert!(connector(mode, None).is_ok(), "{m}");
        }
    }
}
