//! Background actors of UnionEyes Core. No actix-web here: actors talk to the web side
//! through messages and lock-free cells only.

pub mod analytics;
pub mod health;
pub mod redis;
