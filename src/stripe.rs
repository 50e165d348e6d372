//! Stripe webhook signatures, checked the way Stripe documents it: HMAC-SHA256 over
//! "timestamp.payload" with the endpoint secret; any `v1` signature may match; constant-time
//! comparison; the timestamp must be within the tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, derive_more::Display)]
pub enum SignatureError {
    #[display("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[display("no v1 signature matches")]
    NoMatch,
    #[display("the timestamp is outside the tolerance")]
    TooOld,
}

fn mac(secret: &[u8], timestamp: &str, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Verify `header` for `payload`; returns the signed timestamp.
pub fn verify(
    header: &str,
    payload: &[u8],
    secret: &[u8],
    now: i64,
) -> Result<i64, SignatureError> {
    if header.len() > 4096 {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t_text = timestamp.ok_or(SignatureError::Malformed)?;
    let t: i64 = t_text.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, t_text, payload).finalize().into_bytes();
    let matched = signatures.iter().any(|sig| {
        hex::decode(sig)
            .map(|bytes| constant_time_eq::constant_time_eq(&bytes, &expected))
            .unwrap_or(false)
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    Ok(t)
}

/// A header as Stripe would send it (tests, local tooling).
pub fn sign(payload: &[u8], secret: &[u8], timestamp: i64) -> String {
    let t = timestamp.to_string();
    let sig = hex::encode(mac(secret, &t, payload).finalize().into_bytes());
    format!("t={t},v1={sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";

    #[test]
    fn valid_signatures_verify() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(verify(&header, body, SECRET, 1_010), Ok(1_000));
    }

    #[test]
    fn any_v1_may_match() {
        let body = b"{}";
        let good = sign(body, SECRET, 50);
        let sig = good.split("v1=").nth(1).unwrap();
        let header = format!("t=50,v1={},v0=abc,v1={sig}", "00".repeat(32));
        assert_eq!(verify(&header, body, SECRET, 60), Ok(50));
    }

    #[test]
    fn tampering_wrong_secrets_and_old_timestamps_fail() {
        let body = b"{\"amount\":1}";
        let header = sign(body, SECRET, 1_000);
        assert_eq!(
            verify(&header, b"{\"amount\":2}", SECRET, 1_000),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&header, body, b"whsec_other", 1_000),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&header, body, SECRET, 1_000 + 301),
            Err(SignatureError::TooOld)
        );
        for bad in ["", "t=abc,v1=00", "v1=00", "t=1", "garbage"] {
            assert_eq!(
                verify(bad, body, SECRET, 1),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
