#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The server crate's one integration-test binary: the command line, the HTTP API, webhooks.

mod api;
mod api_resources;
mod browser;
mod cli;
mod console;
mod console_contacts;
mod console_insights;
mod console_setup;
mod export;
mod import;
mod ops;
mod requests;
mod self_service;
mod smtp_server;
mod subscribe;
mod support;
mod webhooks;
