//! Cryptography of data at rest. `sin`: Social Insurance Numbers (validation, masking, AES-256-GCM
//! with key rotation).

pub mod sin;
