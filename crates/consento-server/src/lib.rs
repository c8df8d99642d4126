//! Consento's server: the HTTP API, the operator console, the policy service for Postfix, the webhook worker, and the `consento` command line. The
//! binary (`main.rs`) only parses the command line and runs it; everything else is here, so that
//! integration tests can start the application in process with their own clock.

pub mod api;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod connections;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod policy;
pub mod relay;
pub mod retry;
pub mod rng;
pub mod serve;
pub mod smtp_client;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod webhooks;
pub mod workers;

/// The OpenAPI document of the HTTP API (for `consento openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}
