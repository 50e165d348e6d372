//! The integration test binary: every test spawns the real application against a real
//! PostgreSQL (a fresh database each) and a real Redis (its own key prefix).

#![allow(clippy::unwrap_used)] // tests panic on purpose when something is off

mod analytics;
mod analytics_admin;
mod analytics_resilience;
mod claims;
mod config;
mod csrf;
mod dashboard;
mod database;
mod errors;
mod exports;
mod health;
mod identity;
mod lifecycle;
mod members;
mod metrics;
mod openapi;
mod ratelimit;
mod support;
mod tenancy;
mod tls;
mod webhooks;
