//! Consento's use cases: every operation that the HTTP API, the operator console and the command
//! line share, and every one that is more than one store call. An adapter extracts its input,
//! calls [`App`], and maps the result (or [`AppError`]) in its one error-mapping place.
//!
//! The layers: `consento-domain` (pure rules) ← `consento-store` (all the SQL and transactions) ←
//! this crate ← `consento-server` (adapters). This crate has no web, template or command-line
//! dependency, and no SQL: where a use case needs one transaction across several writes, the
//! store offers it.

use std::sync::Arc;

use consento_store::Store;

pub mod accounts;
pub mod audience;
pub mod audit;
pub mod calls;
pub mod consents;
pub mod contacts;
pub mod controller;
pub mod decisions;
pub mod erasure;
pub mod error;
pub mod export;
pub mod flags;
pub mod held;
pub mod import;
pub mod links;
pub mod mail;
pub mod policy;
pub mod receipts;
pub mod relay;
pub mod requests;
pub mod ring;
pub mod rpo;
pub mod subscriptions;
pub mod tokens;

pub use error::AppError;
pub use policy::Policy;

/// What the server observes of the use cases (counters for `/metrics`); the command line
/// observes nothing.
pub trait Hooks: Send + Sync {
    /// A decision was answered with `outcome` (`allowed`, `needs_justification`, `blocked`),
    /// whoever asked.
    fn decided(&self, outcome: &'static str) {
        let _ = outcome;
    }

    /// A message was held, released or dropped (`event`: `held`, `released`, `dropped`), one
    /// recipient at a time.
    fn held_message(&self, event: &'static str) {
        let _ = event;
    }
}

/// Hooks that observe nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// The application: the store, the policy from configuration, and the hooks. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<Store>,
    policy: Arc<Policy>,
    hooks: Arc<dyn Hooks>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl App {
    /// An application over `store`, deciding with `policy`, observed by `hooks`.
    pub fn new(store: Arc<Store>, policy: Policy, hooks: Arc<dyn Hooks>) -> Self {
        Self {
            store,
            policy: Arc::new(policy),
            hooks,
        }
    }

    /// The store, for the adapters' single reads.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The office's time zone.
    pub fn zone(&self) -> &consento_domain::Zone {
        &self.policy.zone
    }

    /// Today's local date in the office's zone.
    pub fn today_date(&self) -> Result<time::Date, AppError> {
        self.policy
            .zone
            .today(self.store.now())
            .ok_or_else(|| AppError::Internal("the clock is out of the calendar's range".into()))
    }

    /// Reads an instant a person or a client typed, as the office's zone means it: a plain date
    /// is the start of that local day, an RFC 3339 instant keeps its offset. The error names
    /// `field`.
    pub fn parse_instant(
        &self,
        field: &'static str,
        text: &str,
    ) -> Result<consento_domain::Timestamp, AppError> {
        Ok(self.policy.zone.parse_instant(field, text)?)
    }
}
