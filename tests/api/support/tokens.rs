//! Session tokens signed in the test with keys the test makes (one pair per test process).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use unioneyes::auth::dev_keys::{self, TokenClaims};

pub struct Keys {
    pub private_pem: String,
    pub public_pem: String,
}

fn make() -> Keys {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let private = dev_keys::generate_private_key().expect("key");
    Keys {
        private_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem")
            .to_string(),
        public_pem: dev_keys::public_pem(&private).expect("pem"),
    }
}

/// The key the test apps trust.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(make)
}

/// A key nobody trusts.
pub fn rogue_keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(make)
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub user: String,
    pub session: String,
    pub org: Option<String>,
    pub role: &'static str,
    pub exp_in: i64,
    pub nbf_in: i64,
    pub azp: Option<String>,
}

impl Spec {
    pub fn new(user: &str, org: &str, role: &'static str) -> Self {
        Self {
            user: user.into(),
            session: format!("sess_{}", uuid::Uuid::new_v4().simple()),
            org: Some(org.into()),
            role,
            exp_in: 3600,
            nbf_in: 0,
            azp: None,
        }
    }

    pub fn claims(&self) -> TokenClaims {
        let now = chrono::Utc::now().timestamp();
        TokenClaims {
            sub: self.user.clone(),
            sid: self.session.clone(),
            org_id: self.org.clone(),
            org_role: Some(self.role.into()),
            azp: self.azp.clone(),
            iss: None,
            iat: now,
            nbf: now + self.nbf_in,
            exp: now + self.exp_in,
        }
    }

    pub fn sign(&self) -> String {
        self.sign_with(keys())
    }

    pub fn sign_with(&self, keys: &Keys) -> String {
        dev_keys::sign(&keys.private_pem, &self.claims()).expect("sign")
    }

    /// HS256 "signed" with the RSA public key: the classic algorithm confusion.
    pub fn sign_hs256_with_public_key(&self) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(keys().public_pem.as_bytes());
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &self.claims(),
            &key,
        )
        .expect("sign")
    }

    pub fn unsigned_alg_none(&self) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.claims()).expect("json"));
        format!("{header}.{body}.")
    }
}
