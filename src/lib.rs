//! UnionEyes Core: the multi-tenant API service for labour unions.

pub mod analytics;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod csrf;
pub mod csv;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod ratelimit;
pub mod retry;
pub mod startup;
pub mod state;
pub mod stripe;
pub mod tls;

pub use startup::Application;
