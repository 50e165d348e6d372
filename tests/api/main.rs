//! The integration test binary: every test spawns the real application against a real
//! PostgreSQL (a fresh database each) and a real Redis (its own key prefix).

#![allow(clippy::unwrap_used)] // tests panic on purpose when something is off

mod config;
mod database;
mod errors;
mod health;
mod lifecycle;
mod support;
