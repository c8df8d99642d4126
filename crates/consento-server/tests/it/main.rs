#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The server crate's one integration-test binary: the command line, the HTTP API, webhooks.

mod api;
mod api_resources;
mod cli;
mod console;
mod console_insights;
mod ops;
mod support;
mod webhooks;
