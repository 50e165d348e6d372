//! Social Insurance Numbers: validation (`Sin`), masking, and encryption at rest with AES-256-GCM
//! under a key ring that supports rotation (`SinKeyRing`). A SIN is never printed: `Debug` and
//! `Display` show only the masked form (`***-***-286`).

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use secrecy::zeroize::{Zeroize, Zeroizing};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Length of the random nonce at the start of `EncryptedSin::ciphertext`.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM authentication tag at the end of `EncryptedSin::ciphertext`.
pub const TAG_LEN: usize = 16;
/// Length of a raw key.
pub const KEY_LEN: usize = 32;

/// Why a SIN was refused or could not be recovered. The messages never contain the SIN.
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display)]
pub enum SinError {
    #[display("must be 9 digits, optionally grouped as NNN NNN NNN or NNN-NNN-NNN")]
    Format,
    #[display("is not a valid SIN: the check digit does not match")]
    Checksum,
    #[display("could not be decrypted (wrong key, or data altered or moved from another record)")]
    Decrypt,
    #[display("was encrypted with an unknown key (key id {_0})")]
    UnknownKey(String),
}

impl std::error::Error for SinError {}

/// A validated SIN: exactly 9 ASCII digits with a valid Luhn check digit. Zeroised on drop;
/// `Debug`/`Display` print only the masked form.
pub struct Sin(SecretString);

impl Sin {
    /// Accepts 9 digits, optionally with a single space or hyphen between digits
    /// (`046 454 286`, `046-454-286`). Anything else (leading/trailing or doubled separators,
    /// other characters, non-ASCII digits) is `SinError::Format`.
    pub fn parse(input: &str) -> Result<Sin, SinError> {
        let mut digits = Zeroizing::new(String::with_capacity(9));
        let mut after_digit = false;
        for c in input.chars() {
            match c {
                '0'..='9' if digits.len() < 9 => {
                    digits.push(c);
                    after_digit = true;
                }
                ' ' | '-' if after_digit => after_digit = false,
                _ => return Err(SinError::Format),
            }
        }
        if digits.len() != 9 || !after_digit {
            return Err(SinError::Format);
        }
        if !luhn_valid(digits.as_bytes()) {
            return Err(SinError::Checksum);
        }
        Ok(Sin(SecretString::from(std::mem::take(&mut *digits))))
    }

    /// The 9 digits. Only for the audited reveal route and for encryption.
    pub fn digits(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn last3(&self) -> &str {
        &self.digits()[6..]
    }

    /// `***-***-286`.
    pub fn masked(&self) -> String {
        mask_last3(self.last3())
    }
}

/// Luhn over ASCII digits: every second digit from the right (excluding the check digit) doubled.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2 == 1, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    sum % 10 == 0
}

/// `***-***-286` from the stored last three digits. Anything but exactly 3 ASCII digits is
/// masked completely (`***-***-***`), so a wrong argument can never reveal more.
pub fn mask_last3(last3: &str) -> String {
    if last3.len() == 3 && last3.bytes().all(|b| b.is_ascii_digit()) {
        format!("***-***-{last3}")
    } else {
        "***-***-***".to_string()
    }
}

impl fmt::Debug for Sin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sin({})", self.masked())
    }
}

impl fmt::Display for Sin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Clone for Sin {
    fn clone(&self) -> Self {
        Sin(SecretString::from(self.digits().to_string()))
    }
}

impl PartialEq for Sin {
    fn eq(&self, other: &Self) -> bool {
        self.digits() == other.digits()
    }
}

impl Eq for Sin {}

/// A SIN encrypted under the key `key_id`: `ciphertext` is nonce (12 bytes) || ciphertext + tag.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedSin {
    pub key_id: String,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for EncryptedSin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedSin")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

struct RingKey {
    id: String,
    cipher: Aes256Gcm,
}

/// Any base64 the usual tools print: standard or URL-safe alphabet, padded or not.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Key id: the first 16 hex characters of SHA-256 of the raw key.
fn key_id(raw: &[u8]) -> String {
    let mut id = hex::encode(Sha256::digest(raw));
    id.truncate(16);
    id
}

impl RingKey {
    /// Errors describe the problem only ("is not valid base64", "decodes to N bytes …"),
    /// never the value.
    fn from_b64(b64: &str) -> Result<RingKey, String> {
        let b64 = b64.trim();
        let raw = STANDARD_LENIENT
            .decode(b64)
            .or_else(|_| URL_SAFE_LENIENT.decode(b64))
            .map(Zeroizing::new)
            .map_err(|_| "is not valid base64 (standard or URL-safe alphabet)".to_string())?;
        if raw.len() != KEY_LEN {
            return Err(format!(
                "decodes to {} bytes instead of {KEY_LEN}",
                raw.len()
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(&raw)
            .map_err(|_| format!("decodes to {} bytes instead of {KEY_LEN}", raw.len()))?;
        Ok(RingKey {
            id: key_id(&raw),
            cipher,
        })
    }
}

/// The current key (encrypts and decrypts) and old keys (decrypt only, during a rotation).
/// `Debug` prints the key ids only. Cloning is cheap (shared).
#[derive(Clone)]
pub struct SinKeyRing {
    /// `keys[0]` is the current key; ids are unique.
    keys: Arc<[RingKey]>,
}

impl fmt::Debug for SinKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let old: Vec<&str> = self.keys[1..].iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SinKeyRing")
            .field("current", &self.current_key_id())
            .field("old", &old)
            .finish()
    }
}

impl SinKeyRing {
    /// Each key is base64 (standard or URL-safe, padded or not) of exactly 32 bytes; surrounding
    /// whitespace is ignored. An old key equal to the current (or another old) key is skipped.
    /// Error messages say which key is wrong ("the key …", "old key 2 …") and never include it.
    pub fn new(current_b64: &str, old_b64: &[&str]) -> Result<SinKeyRing, String> {
        let current = RingKey::from_b64(current_b64).map_err(|e| format!("the key {e}"))?;
        let mut keys = vec![current];
        for (i, b64) in old_b64.iter().enumerate() {
            let key = RingKey::from_b64(b64).map_err(|e| format!("old key {} {e}", i + 1))?;
            if keys.iter().all(|k| k.id != key.id) {
                keys.push(key);
            }
        }
        Ok(SinKeyRing { keys: keys.into() })
    }

    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// AES-256-GCM under the current key with a random 96-bit nonce. `aad` binds the ciphertext
    /// to its row (organization id + member id bytes): decrypting with other `aad` fails.
    pub fn encrypt(&self, sin: &Sin, aad: &[u8]) -> EncryptedSin {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: sin.digits().as_bytes(),
            aad,
        };
        let sealed = key
            .cipher
            .encrypt(&nonce, payload)
            .expect("AES-GCM cannot fail on a 9-byte message");
        let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        EncryptedSin {
            key_id: key.id.clone(),
            ciphertext,
        }
    }

    /// Decrypts with the key named by `enc.key_id` (current or old).
    pub fn decrypt(&self, enc: &EncryptedSin, aad: &[u8]) -> Result<Sin, SinError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == enc.key_id)
            .ok_or_else(|| SinError::UnknownKey(enc.key_id.clone()))?;
        if enc.ciphertext.len() < NONCE_LEN + TAG_LEN {
            return Err(SinError::Decrypt);
        }
        let (nonce, sealed) = enc.ciphertext.split_at(NONCE_LEN);
        let payload = Payload { msg: sealed, aad };
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map(Zeroizing::new)
            .map_err(|_| SinError::Decrypt)?;
        let text = std::str::from_utf8(&plain).map_err(|_| SinError::Decrypt)?;
        Sin::parse(text).map_err(|_| SinError::Decrypt)
    }

    /// Whether `enc` was encrypted under a key other than the current one.
    pub fn needs_rotation(&self, enc: &EncryptedSin) -> bool {
        enc.key_id != self.current_key_id()
    }
}

/// A fresh random 32-byte key as standard padded base64 (like `openssl rand -base64 32`).
pub fn generate_key_b64() -> String {
    let mut key = Aes256Gcm::generate_key(OsRng);
    let b64 = STANDARD.encode(key.as_slice());
    key.as_mut_slice().zeroize();
    b64
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "046 454 286";

    fn sin(s: &str) -> Sin {
        Sin::parse(s).expect("valid SIN")
    }

    #[test]
    fn luhn_and_format() {
        for ok in [
            "046 454 286",
            "046-454-286",
            "046454286",
            "046 454-286",
            "0 4 6 4 5 4 2 8 6",
        ] {
            assert_eq!(sin(ok).digits(), "046454286", "{ok}");
        }
        assert_eq!(Sin::parse("046 454 287").err(), Some(SinError::Checksum));
        assert_eq!(
            Sin::parse("130692544").map(|s| s.last3().to_string()),
            Ok("544".into())
        );
        for bad in [
            "",
            "04645428",
            "0464542860",
            "046 454 28",
            "046 454 2860",
            "046a454286",
            "abcdefghi",
            " 046454286",
            "046454286 ",
            "046  454 286",
            "046--454-286",
            "-046454286",
            "046.454.286",
            "046_454_286",
            "046\t454\t286",
            "٠٤٦٤٥٤٢٨٦",
            "０４６４５４２８６",
            "046 454 ٢٨٦",
        ] {
            assert_eq!(Sin::parse(bad).err(), Some(SinError::Format), "{bad:?}");
        }
    }

    #[test]
    fn masking_and_debug_never_show_the_digits() {
        let s = sin(VALID);
        assert_eq!(s.last3(), "286");
        assert_eq!(s.masked(), "***-***-286");
        assert_eq!(mask_last3("286"), "***-***-286");
        assert_eq!(mask_last3("046454286"), "***-***-***");
        assert_eq!(mask_last3("28"), "***-***-***");
        assert_eq!(mask_last3("٢٨٦"), "***-***-***");
        assert_eq!(format!("{s:?}"), "Sin(***-***-286)");
        assert_eq!(s.to_string(), "***-***-286");
        for out in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{:?}", Some(s.clone())),
        ] {
            assert!(!out.contains("046") && !out.contains("454"), "{out}");
        }
        for e in [SinError::Format, SinError::Checksum, SinError::Decrypt] {
            assert!(!e.to_string().contains("454 286"));
        }
    }

    fn ring(current: &str, old: &[&str]) -> SinKeyRing {
        SinKeyRing::new(current, old).expect("valid keys")
    }

    #[test]
    fn encrypt_decrypt_with_random_nonces_and_aad() {
        let r = ring(&generate_key_b64(), &[]);
        let s = sin(VALID);
        let a = r.encrypt(&s, b"org-1/member-1");
        let b = r.encrypt(&s, b"org-1/member-1");
        assert_ne!(a.ciphertext, b.ciphertext, "random nonce");
        assert_eq!(a.ciphertext.len(), NONCE_LEN + 9 + TAG_LEN);
        assert_eq!(a.key_id, r.current_key_id());
        assert!(!a.ciphertext.windows(9).any(|w| w == b"046454286"));
        assert_eq!(r.decrypt(&a, b"org-1/member-1"), Ok(s.clone()));
        assert_eq!(r.decrypt(&b, b"org-1/member-1"), Ok(s));
        assert_eq!(
            r.decrypt(&a, b"org-1/member-2").err(),
            Some(SinError::Decrypt)
        );
        assert_eq!(r.decrypt(&a, b"").err(), Some(SinError::Decrypt));
        let mut tampered = a.clone();
        tampered.ciphertext[NONCE_LEN] ^= 1;
        assert_eq!(
            r.decrypt(&tampered, b"org-1/member-1").err(),
            Some(SinError::Decrypt)
        );
        let short = EncryptedSin {
            key_id: a.key_id.clone(),
            ciphertext: vec![0; NONCE_LEN + TAG_LEN - 1],
        };
        assert_eq!(r.decrypt(&short, b"").err(), Some(SinError::Decrypt));
        assert!(!r.needs_rotation(&a));
        assert!(!format!("{a:?}").contains("046454286"));
    }

    #[test]
    fn rotation() {
        let (key_a, key_b) = (generate_key_b64(), generate_key_b64());
        let old_ring = ring(&key_a, &[]);
        let aad = b"org/member";
        let under_a = old_ring.encrypt(&sin(VALID), aad);

        let new_ring = ring(&key_b, &[&key_a]);
        assert_ne!(new_ring.current_key_id(), old_ring.current_key_id());
        assert!(new_ring.needs_rotation(&under_a));
        let s = new_ring.decrypt(&under_a, aad).expect("old key decrypts");
        let under_b = new_ring.encrypt(&s, aad);
        assert_eq!(under_b.key_id, new_ring.current_key_id());
        assert!(!new_ring.needs_rotation(&under_b));
        assert_eq!(new_ring.decrypt(&under_b, aad), Ok(sin(VALID)));

        // Once the old key is dropped, rows still under it name their key.
        let only_b = ring(&key_b, &[]);
        assert_eq!(
            only_b.decrypt(&under_a, aad).err(),
            Some(SinError::UnknownKey(old_ring.current_key_id().to_string()))
        );
        // And a ring without B cannot read B's rows.
        assert!(matches!(
            old_ring.decrypt(&under_b, aad),
            Err(SinError::UnknownKey(_))
        ));
    }

    #[test]
    fn key_ids_and_formats() {
        let raw: Vec<u8> = (0u8..32).collect();
        let id = key_id(&raw);
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let padded = STANDARD.encode(&raw);
        let unpadded = padded.trim_end_matches('=').to_string();
        let url = base64::engine::general_purpose::URL_SAFE.encode([0xfb_u8; 32]);
        assert!(url.contains('-') || url.contains('_'));
        for k in [padded.as_str(), unpadded.as_str(), &format!(" {padded}\n")] {
            assert_eq!(ring(k, &[]).current_key_id(), id);
        }
        assert_eq!(ring(&url, &[]).current_key_id(), key_id(&[0xfb; 32]));
        assert_eq!(
            ring(&url.replace('-', "+").replace('_', "/"), &[]).current_key_id(),
            key_id(&[0xfb; 32])
        );
        // Duplicates of the current key among the old ones are harmless.
        let r = ring(&padded, &[&unpadded]);
        assert!(format!("{r:?}").contains("old: []"), "{r:?}");
        let generated = generate_key_b64();
        assert_eq!(generated.len(), 44);
        assert!(generated.ends_with('='));
        assert_ne!(generated, generate_key_b64());
    }

    #[test]
    fn malformed_keys_are_rejected_without_echo() {
        let short = STANDARD.encode([7u8; 31]);
        let long = STANDARD.encode([7u8; 33]);
        let good = generate_key_b64();
        let cases = [
            ("SECRETnot base64!!", "not valid base64"),
            ("SECRET%%%", "not valid base64"),
            (short.as_str(), "31 bytes"),
            (long.as_str(), "33 bytes"),
            ("", "0 bytes"),
        ];
        for (bad, want) in cases {
            let e = SinKeyRing::new(bad, &[]).expect_err("rejected");
            assert!(e.starts_with("the key ") && e.contains(want), "{e}");
            if !bad.is_empty() {
                assert!(!e.contains(bad) && !e.contains("SECRET"), "{e}");
            }
            let e = SinKeyRing::new(&good, &[&good, bad]).expect_err("rejected");
            assert!(e.starts_with("old key 2 ") && e.contains(want), "{e}");
            assert!(!e.contains(&good));
        }
        // Mixed alphabets are not base64 of either kind.
        let mixed = format!("+_{}", &good[2..]);
        assert!(SinKeyRing::new(&mixed, &[]).is_err());
    }

    #[test]
    fn debug_of_the_ring_shows_ids_only() {
        let (a, b) = (generate_key_b64(), generate_key_b64());
        let r = ring(&a, &[&b]);
        let dbg = format!("{r:?}");
        let old_id = ring(&b, &[]).current_key_id().to_string();
        assert!(
            dbg.contains(r.current_key_id()) && dbg.contains(&old_id),
            "{dbg}"
        );
        for key in [&a, &b] {
            assert!(
                !dbg.contains(key.as_str()) && !dbg.contains(&key[..12]),
                "{dbg}"
            );
        }
        let cloned = r.clone();
        assert_eq!(cloned.current_key_id(), r.current_key_id());
    }
}
