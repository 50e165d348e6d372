//! Verification of Clerk session tokens, without a network call: RS256 only (so `none` and the
//! HS256-with-the-public-key confusion are refused), exp/nbf with a small leeway, and, when
//! configured, the issuer and the authorized parties (`azp`).

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Clock skew tolerated on exp and nbf.
pub const LEEWAY_SECS: u64 = 30;

/// The caller's role inside their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Admin,
    Member,
}

impl OrgRole {
    /// Clerk sends `org:admin` / `org:member` (older tokens `admin` / `basic_member`).
    /// Anything unknown is the least privileged role.
    pub fn from_claim(value: Option<&str>) -> Self {
        match value {
            Some("org:admin" | "admin") => OrgRole::Admin,
            _ => OrgRole::Member,
        }
    }
}

/// Which part of the request carried the session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Header,
    Cookie,
}

/// A verified session. Never holds the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub session_id: String,
    /// Clerk's organization id (the tenant), when the session has an active organization.
    pub org_external_id: Option<String>,
    pub role: OrgRole,
    pub source: TokenSource,
}

/// Why a token was refused; `code()` is what the 401 problem says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, derive_more::Display)]
pub enum AuthFailure {
    #[display("no credentials")]
    Missing,
    #[display("the token has expired")]
    Expired,
    #[display("the token is not valid yet")]
    NotYetValid,
    #[display("the token signature does not verify")]
    BadSignature,
    #[display("the token algorithm is not accepted")]
    BadAlgorithm,
    #[display("the token issuer is not accepted")]
    BadIssuer,
    #[display("the token was issued for another party")]
    BadAuthorizedParty,
    #[display("the token lacks a required claim")]
    MissingClaim,
    #[display("the token is malformed")]
    Malformed,
    #[display("session tokens are not accepted: no verification key is configured")]
    NotConfigured,
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::Missing => "token_missing",
            AuthFailure::Expired => "token_expired",
            AuthFailure::NotYetValid => "token_not_yet_valid",
            AuthFailure::BadSignature => "token_bad_signature",
            AuthFailure::BadAlgorithm => "token_bad_algorithm",
            AuthFailure::BadIssuer => "token_bad_issuer",
            AuthFailure::BadAuthorizedParty => "token_bad_authorized_party",
            AuthFailure::MissingClaim => "token_missing_claim",
            AuthFailure::Malformed => "token_malformed",
            AuthFailure::NotConfigured => "auth_not_configured",
        }
    }

    /// Whether this refusal costs the client IP a unit of the AUTH budget (against guessing).
    /// Every refusal does except `Expired`: `jsonwebtoken::decode` checks the algorithm and
    /// the signature before it reads any claim, so an expired token is one our key signed (a
    /// session that ended, e.g. a dashboard left open), not a guess. A forged or tampered
    /// token is `BadSignature` / `BadAlgorithm` / `Malformed` whatever its `exp` says (unit
    /// tests below pin that order).
    pub fn counts_against_auth(self) -> bool {
        !matches!(self, AuthFailure::Expired)
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    sid: Option<String>,
    org_id: Option<String>,
    org_role: Option<String>,
    azp: Option<String>,
}

/// True when the token's header names an algorithm other than RS256 (e.g. `none`, which the
/// JWT library cannot even represent).
fn declares_other_algorithm(token: &str) -> bool {
    use base64::Engine;
    let Some(header) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|h| h.get("alg").and_then(|a| a.as_str()).map(|a| a != "RS256"))
        .unwrap_or(false)
}

pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    authorized_parties: Vec<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("authorized_parties", &self.authorized_parties)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(
        public_pem: &str,
        issuer: Option<&str>,
        authorized_parties: &[String],
    ) -> Result<Self, String> {
        let key = DecodingKey::from_rsa_pem(public_pem.as_bytes())
            .map_err(|_| "CLERK_JWT_KEY is not an RSA public key in PEM form".to_string())?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self {
            key,
            validation,
            authorized_parties: authorized_parties.to_vec(),
        })
    }

    pub fn verify(&self, token: &str, source: TokenSource) -> Result<Session, AuthFailure> {
        if token.len() > 8192 {
            return Err(AuthFailure::Malformed);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthFailure::Expired,
                ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
                ErrorKind::InvalidSignature => AuthFailure::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthFailure::BadAlgorithm
                }
                ErrorKind::InvalidIssuer => AuthFailure::BadIssuer,
                ErrorKind::MissingRequiredClaim(_) => AuthFailure::MissingClaim,
                _ if declares_other_algorithm(token) => AuthFailure::BadAlgorithm,
                _ => AuthFailure::Malformed,
            },
        )?;
        let claims = data.claims;
        if !self.authorized_parties.is_empty() {
            let ok = claims
                .azp
                .as_deref()
                .is_some_and(|azp| self.authorized_parties.iter().any(|p| p == azp));
            if !ok {
                return Err(AuthFailure::BadAuthorizedParty);
            }
        }
        let session_id = claims
            .sid
            .filter(|s| !s.is_empty())
            .ok_or(AuthFailure::MissingClaim)?;
        if claims.sub.is_empty() {
            return Err(AuthFailure::MissingClaim);
        }
        Ok(Session {
            user_id: claims.sub,
            session_id,
            org_external_id: claims.org_id.filter(|o| !o.is_empty()),
            role: OrgRole::from_claim(claims.org_role.as_deref()),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::dev_keys::{generate_private_key, public_pem, sign, TokenClaims};
    use base64::Engine;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    fn claims(exp_in: i64) -> TokenClaims {
        let now = chrono::Utc::now().timestamp();
        TokenClaims {
            sub: "user_1".into(),
            sid: "sess_1".into(),
            org_id: Some("org_1".into()),
            org_role: Some("org:admin".into()),
            azp: None,
            iss: None,
            iat: now,
            nbf: now,
            exp: now + exp_in,
        }
    }

    #[test]
    fn refusals_are_classified() {
        let key = generate_private_key().unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = public_pem(&key).unwrap();
        let v = JwtVerifier::new(&public, None, &[]).unwrap();
        let ok = sign(&private, &claims(60)).unwrap();
        let s = v.verify(&ok, TokenSource::Header).unwrap();
        assert_eq!((s.user_id.as_str(), s.role), ("user_1", OrgRole::Admin));
        let expired = sign(&private, &claims(-120)).unwrap();
        assert_eq!(
            v.verify(&expired, TokenSource::Header),
            Err(AuthFailure::Expired)
        );
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims(60),
            &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            v.verify(&hs, TokenSource::Header),
            Err(AuthFailure::BadAlgorithm)
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(serde_json::to_vec(&claims(60)).unwrap())
        );
        assert_eq!(
            v.verify(&none, TokenSource::Header),
            Err(AuthFailure::BadAlgorithm)
        );
        assert_eq!(
            v.verify("x", TokenSource::Header),
            Err(AuthFailure::Malformed)
        );
    }

    /// `Expired` (the one refusal that costs no AUTH unit) only ever means a token our key
    /// signed: the signature and algorithm are checked before `exp`.
    #[test]
    fn an_expired_token_is_expired_only_when_its_signature_verifies() {
        let key = generate_private_key().unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let v = JwtVerifier::new(&public_pem(&key).unwrap(), None, &[]).unwrap();
        let expired = sign(&private, &claims(-120)).unwrap();
        assert_eq!(
            v.verify(&expired, TokenSource::Header),
            Err(AuthFailure::Expired)
        );
        assert!(!AuthFailure::Expired.counts_against_auth());

        // The same claims signed by another key.
        let rogue = generate_private_key().unwrap();
        let rogue = rogue.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let forged = sign(&rogue, &claims(-120)).unwrap();
        assert_eq!(
            v.verify(&forged, TokenSource::Header),
            Err(AuthFailure::BadSignature)
        );
        // Our signature, with the signature part tampered with.
        let (head, sig) = expired.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{head}.{flipped}{}", &sig[1..]);
        assert_eq!(
            v.verify(&tampered, TokenSource::Header),
            Err(AuthFailure::BadSignature)
        );
        // Our signature over other (expired) claims.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (header, rest) = expired.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let mut other = claims(-120);
        other.sub = "user_2".into();
        let swapped = format!(
            "{header}.{}.{sig}",
            b64.encode(serde_json::to_vec(&other).unwrap())
        );
        assert_eq!(
            v.verify(&swapped, TokenSource::Header),
            Err(AuthFailure::BadSignature)
        );
        for f in [forged, tampered, swapped] {
            let refused = v.verify(&f, TokenSource::Header).unwrap_err();
            assert!(refused.counts_against_auth(), "{refused:?}");
        }
    }
}
