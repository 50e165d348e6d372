//! UnionEyes Core: the multi-tenant API service for labour unions.

pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod retry;
pub mod startup;
pub mod state;

pub use startup::Application;
