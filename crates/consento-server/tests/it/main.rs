#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The server crate's one integration-test binary: the command line, the HTTP API, webhooks.

mod api;
mod api_resources;
mod app_rules;
mod backups;
mod browser;
mod cli;
mod connections;
mod console;
mod console_contacts;
mod console_insights;
mod console_setup;
mod database_copy;
mod dialer_outcomes;
mod erasure;
mod export;
mod first_run;
mod flags;
mod import;
mod local_time;
mod openapi;
mod ops;
mod page_language;
mod receipts;
mod register_exceptions;
mod relay;
mod requests;
mod retention;
mod rules;
mod self_service;
mod smtp_server;
mod strict_input;
mod subscribe;
mod support;
mod telemarketing;
mod webhooks;
