//! Test harness: `spawn_app()` and friends.

pub mod analytics;
pub mod app;
pub mod blackhole;
pub mod certs;
pub mod pg;
pub mod redis;
pub mod routes;
pub mod tokens;

pub use app::{closed_port, spawn_app, spawn_app_with, try_spawn_app, TestApp};
