//! rustls, shared by the PostgreSQL and Redis clients: the one crypto provider (ring, chosen
//! explicitly; no OpenSSL, no cmake), and reading a CA bundle file for private CAs.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The crypto provider every TLS client of the service uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Make ring the process-wide default provider (the `redis` crate builds its TLS configs with
/// the default). Idempotent: when a provider is already installed (a second app in the same
/// test process, or another library first) the `Err` is ignored.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The raw PEM text of a CA bundle file, checked to hold at least one parseable certificate.
/// The message reads after the variable's name ("DATABASE_CA_CERT_FILE names a file that …");
/// the path is not a secret and is named.
pub fn read_ca_pem(path: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("names a file that cannot be read ({}: {e})", path.display()))?;
    let count = parse_certs(&pem)
        .map_err(|()| format!("is not a PEM certificate bundle ({})", path.display()))?
        .len();
    if count == 0 {
        return Err(format!(
            "holds no certificate ({}: no -----BEGIN CERTIFICATE----- block)",
            path.display()
        ));
    }
    Ok(pem)
}

/// The certificates of a CA bundle file; `var` names the variable in the message.
pub fn read_ca_certs(var: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_ca_pem(path).map_err(|e| format!("{var} {e}"))?;
    parse_certs(&pem)
        .map_err(|()| format!("{var} is not a PEM certificate bundle ({})", path.display()))
}

fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ()> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_bundle_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.pem");
        let e = read_ca_certs("X_CA", &missing).expect_err("missing");
        assert!(
            e.starts_with("X_CA names a file that cannot be read"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just text\n").expect("write");
        let e = read_ca_pem(&empty).expect_err("empty");
        assert!(e.contains("holds no certificate"), "{e}");
    }

    #[test]
    fn installing_the_provider_twice_is_harmless() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(CryptoProvider::get_default().is_some());
    }
}
