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

/// Sign with the development key pair in `dir`, which the service made when it started.
/// Never generates one: a token signed by a new pair would be refused by the running
/// service, so a wrong `dir` (say, a relative default read from another directory) is an error.
pub fn sign_dev_token(dir: &Path, claims: &TokenClaims) -> Result<String, String> {
    let private_path = dir.join(PRIVATE);
    if !private_path.exists() || !dir.join(PUBLIC).exists() {
        return Err(format!(
            "no development key pair in {}: start the service first (./scripts/run.sh), \
             or set DEV_KEYS_DIR to the directory it uses (the repository's .dev/keys), \
             or run ./scripts/run.sh dev-token ... from the repository",
            dir.display()
        ));
    }
    let pem = std::fs::read_to_string(&private_path)
        .map_err(|e| format!("read the development key: {e}"))?;
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .map_err(|_| "the development key is corrupt".to_string())?;
    sign(&pem, claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            sub: "user_1".into(),
            sid: "sess_1".into(),
            org_id: Some("org_demo".into()),
            org_role: Some("org:admin".into()),
            azp: None,
            iss: None,
            iat: 0,
            nbf: 0,
            exp: 60,
        }
    }

    #[test]
    fn signing_without_the_services_key_pair_fails_and_creates_nothing() {
        let dir = std::env::temp_dir().join(format!("ue-devkeys-{}", uuid::Uuid::new_v4()));
        let err = sign_dev_token(&dir, &claims()).unwrap_err();
        assert!(err.contains("no development key pair"), "{err}");
        assert!(
            !dir.exists(),
            "a key pair was generated in {}",
            dir.display()
        );
    }

    #[test]
    fn a_token_is_signed_with_the_pair_the_service_made() {
        let dir = std::env::temp_dir().join(format!("ue-devkeys-{}", uuid::Uuid::new_v4()));
        let public = ensure_dev_keypair(&dir).unwrap();
        let token = sign_dev_token(&dir, &claims()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "user_1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
