//! Development only: a local RSA key pair standing in for Clerk, and tokens signed with it
//! (`unioneyes dev-token`). Refused outside APP_ENV=development.

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;

const PRIVATE: &str = "jwt-private.pem";
const PUBLIC: &str = "jwt-public.pem";

/// The public key PEM of the development key pair, generating the pair on first use.
pub fn ensure_dev_keypair(dir: &Path) -> Result<String, String> {
    let public_path = dir.join(PUBLIC);
    if let (Ok(public), true) = (
        std::fs::read_to_string(&public_path),
        dir.join(PRIVATE).exists(),
    ) {
        return Ok(public);
    }
    let private = generate_private_key()?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("encode key: {e}"))?;
    let public_pem = public_pem(&private)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    write_private(&dir.join(PRIVATE), private_pem.as_bytes())?;
    std::fs::write(&public_path, &public_pem)
        .map_err(|e| format!("write {}: {e}", public_path.display()))?;
    log::warn!(
        "development: generated a local JWT signing key pair in {}",
        dir.display()
    );
    Ok(public_pem)
}

pub fn generate_private_key() -> Result<RsaPrivateKey, String> {
    let mut rng = rsa::rand_core::OsRng;
    RsaPrivateKey::new(&mut rng, 2048).map_err(|e| format!("generate key: {e}"))
}

pub fn public_pem(private: &RsaPrivateKey) -> Result<String, String> {
    RsaPublicKey::from(private)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("encode public key: {e}"))
}

fn write_private(path: &Path, pem: &[u8]) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("write {}: {e}", path.display()))?;
        f.write_all(pem)
            .map_err(|e| format!("write {}: {e}", path.display()))
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, pem).map_err(|e| format!("write {}: {e}", path.display()))
    }
}

/// The claims of a Clerk-like session token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenClaims {
    pub sub: String,
    pub sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Sign claims with an RSA private key (PKCS#8 PEM), RS256.
pub fn sign(private_pem: &str, claims: &TokenClaims) -> Result<String, String> {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes())
        .map_err(|e| format!("bad private key: {e}"))?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key)
        .map_err(|e| format!("sign: {e}"))
}

/// Sign with the development key pair in `dir`.
pub fn sign_dev_token(dir: &Path, claims: &TokenClaims) -> Result<String, String> {
    ensure_dev_keypair(dir)?;
    let pem = std::fs::read_to_string(dir.join(PRIVATE))
        .map_err(|e| format!("read the development key: {e}"))?;
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .map_err(|_| "the development key is corrupt".to_string())?;
    sign(&pem, claims)
}
