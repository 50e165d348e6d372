//! The CSRF token itself, as pure functions: `random ‖ HMAC-SHA256(secret, session id ‖ random)`
//! (32 + 32 bytes), bound to one session, and its wire form, masked afresh for every response
//! against BREACH: `base64url(pad ‖ (token XOR pad))` with a random 64-byte pad (171 characters).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token (256 bits).
pub const RANDOM_LEN: usize = 32;
/// Bytes of the HMAC-SHA256 tag.
pub const MAC_LEN: usize = 32;
/// Bytes of an unmasked token.
pub const RAW_LEN: usize = RANDOM_LEN + MAC_LEN;
/// Characters of a masked token on the wire: base64url (no padding) of pad ‖ masked token.
pub const WIRE_LEN: usize = (2 * RAW_LEN * 4).div_ceil(3);
/// The shortest CSRF_SECRET / CSRF_OLD_SECRETS entry accepted.
pub const MIN_SECRET_BYTES: usize = 32;

/// Domain separation: these MACs are never valid for anything else signed with the secret.
const DOMAIN: &[u8] = b"unioneyes-csrf-v1\0";

/// The HMAC keys: the current secret signs and verifies; old secrets only verify (rotation).
#[derive(Clone)]
pub struct Secrets {
    current: Vec<u8>,
    old: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("old", &self.old.len())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    pub fn new(current: &[u8], old: &[&[u8]]) -> Result<Self, String> {
        let short = std::iter::once(current)
            .chain(old.iter().copied())
            .any(|s| s.len() < MIN_SECRET_BYTES);
        if short {
            return Err(format!(
                "a CSRF secret must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(Self {
            current: current.to_vec(),
            old: old.iter().map(|s| s.to_vec()).collect(),
        })
    }
}

/// An unmasked token. Its bytes are never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RawToken([u8; RAW_LEN]);

impl std::fmt::Debug for RawToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawToken(..)")
    }
}

impl RawToken {
    pub fn random_part(&self) -> [u8; RANDOM_LEN] {
        let mut r = [0u8; RANDOM_LEN];
        r.copy_from_slice(&self.0[..RANDOM_LEN]);
        r
    }

    fn mac_part(&self) -> &[u8] {
        &self.0[RANDOM_LEN..]
    }

    /// The same token? In constant time.
    pub fn same_as(&self, other: &RawToken) -> bool {
        constant_time_eq::constant_time_eq(&self.0, &other.0)
    }
}

fn mac(secret: &[u8], session_id: &str, random: &[u8; RANDOM_LEN]) -> [u8; MAC_LEN] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(DOMAIN);
    // Length-prefixed, so (session id, random) pairs can never be confused.
    m.update(&(session_id.len() as u64).to_be_bytes());
    m.update(session_id.as_bytes());
    m.update(random);
    m.finalize().into_bytes().into()
}

/// The token of `random` for `session_id`, signed with the current secret.
pub fn from_random(secrets: &Secrets, session_id: &str, random: &[u8; RANDOM_LEN]) -> RawToken {
    let mut raw = [0u8; RAW_LEN];
    raw[..RANDOM_LEN].copy_from_slice(random);
    raw[RANDOM_LEN..].copy_from_slice(&mac(&secrets.current, session_id, random));
    RawToken(raw)
}

/// A new token for `session_id`: 256 fresh random bits.
pub fn mint(secrets: &Secrets, session_id: &str) -> RawToken {
    from_random(secrets, session_id, &rand::random::<[u8; RANDOM_LEN]>())
}

/// True when the token was signed for `session_id` with the current or an old secret.
/// Every secret is tried (no early exit), each comparison in constant time.
pub fn verify(secrets: &Secrets, session_id: &str, token: &RawToken) -> bool {
    let random = token.random_part();
    let mut ok = false;
    for secret in std::iter::once(&secrets.current).chain(secrets.old.iter()) {
        ok |=
            constant_time_eq::constant_time_eq(&mac(secret, session_id, &random), token.mac_part());
    }
    ok
}

/// The wire form, masked with a fresh pad: two maskings of one token never look alike.
pub fn mask(token: &RawToken) -> String {
    let pad = rand::random::<[u8; RAW_LEN]>();
    let mut out = [0u8; 2 * RAW_LEN];
    out[..RAW_LEN].copy_from_slice(&pad);
    for (i, b) in token.0.iter().enumerate() {
        out[RAW_LEN + i] = b ^ pad[i];
    }
    URL_SAFE_NO_PAD.encode(out)
}

/// Why a presented value is not a token at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, derive_more::Display)]
pub enum Malformed {
    #[display("the token has the wrong length")]
    Length,
    #[display("the token is not base64url")]
    Encoding,
}

/// The token inside a wire value. The length is checked before anything is decoded, so a
/// huge value costs nothing.
pub fn unmask(wire: &str) -> Result<RawToken, Malformed> {
    if wire.len() != WIRE_LEN {
        return Err(Malformed::Length);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(wire)
        .map_err(|_| Malformed::Encoding)?;
    if bytes.len() != 2 * RAW_LEN {
        return Err(Malformed::Length);
    }
    let mut raw = [0u8; RAW_LEN];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = bytes[i] ^ bytes[RAW_LEN + i];
    }
    Ok(RawToken(raw))
}

/// A short, stable, non-reversible name for a session id: Redis keys and log lines carry this,
/// never the id itself.
pub fn session_hash(session_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"unioneyes-csrf-session\0")
        .chain_update(session_id.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// base64url of a token's random part (what the Redis record keeps).
pub fn encode_random(random: &[u8; RANDOM_LEN]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

pub fn decode_random(s: &str) -> Option<[u8; RANDOM_LEN]> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::new(&[7u8; 32], &[]).unwrap()
    }

    #[test]
    fn a_token_verifies_for_its_session_only() {
        let s = secrets();
        let t = mint(&s, "sess_a");
        assert!(verify(&s, "sess_a", &t));
        assert!(!verify(&s, "sess_b", &t));
        assert!(!verify(&s, "sess_a ", &t));
        assert!(!verify(&s, "", &t));
        let other = Secrets::new(&[8u8; 32], &[]).unwrap();
        assert!(!verify(&other, "sess_a", &t), "another secret");
        // Two tokens of one session differ (fresh randomness).
        assert!(!mint(&s, "sess_a").same_as(&t));
    }

    #[test]
    fn old_secrets_verify_but_never_sign() {
        let old = Secrets::new(&[1u8; 32], &[]).unwrap();
        let t = mint(&old, "sess");
        let rotated = Secrets::new(&[2u8; 32], &[&[1u8; 32]]).unwrap();
        assert!(verify(&rotated, "sess", &t));
        let fresh = mint(&rotated, "sess");
        assert!(!verify(&old, "sess", &fresh));
        assert!(Secrets::new(&[1u8; 31], &[]).is_err());
        assert!(Secrets::new(&[1u8; 32], &[&[1u8; 5]]).is_err());
    }

    #[test]
    fn masking_is_fresh_each_time_and_round_trips() {
        let t = mint(&secrets(), "sess");
        let (a, b) = (mask(&t), mask(&t));
        assert_ne!(a, b);
        assert_eq!(a.len(), WIRE_LEN);
        assert!(unmask(&a).unwrap().same_as(&t));
        assert!(unmask(&b).unwrap().same_as(&t));
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn malformed_values_are_classified_without_panics() {
        let good = mask(&mint(&secrets(), "sess"));
        assert_eq!(unmask(""), Err(Malformed::Length));
        assert_eq!(unmask(&good[1..]), Err(Malformed::Length));
        assert_eq!(unmask(&"A".repeat(10_240)), Err(Malformed::Length));
        let mut plus = good.clone();
        plus.replace_range(0..1, "+");
        assert_eq!(unmask(&plus), Err(Malformed::Encoding));
        let mut padded = good[..WIRE_LEN - 1].to_string();
        padded.push('=');
        assert_eq!(unmask(&padded), Err(Malformed::Encoding));
        let multibyte = "é".repeat(WIRE_LEN / 2) + "a";
        assert!(unmask(&multibyte).is_err());
        // A tampered character still decodes but no longer verifies.
        let mut flipped = good.into_bytes();
        flipped[100] = if flipped[100] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let raw = unmask(&flipped).unwrap();
        assert!(!verify(&secrets(), "sess", &raw));
    }

    #[test]
    fn session_hashes_are_stable_and_short() {
        assert_eq!(session_hash("sess_1"), session_hash("sess_1"));
        assert_ne!(session_hash("sess_1"), session_hash("sess_2"));
        assert_eq!(session_hash("sess_1").len(), 32);
        let r = [9u8; RANDOM_LEN];
        assert_eq!(decode_random(&encode_random(&r)), Some(r));
        assert_eq!(decode_random("abc"), None);
    }
}
