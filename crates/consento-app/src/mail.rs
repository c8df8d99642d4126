//! The emails a use case queues in the outbox, in the same transaction as the change that
//! causes them (the mail worker renders and delivers them): each is named by its template, and
//! its payload holds what the template needs and nothing else.

/// The confirmation of a double opt-in request.
pub const SUBSCRIPTION_CONFIRM: &str = "subscription_confirm";

/// The notice that a restriction of processing is lifted (GDPR Art. 18(3)).
pub const RESTRICTION_LIFTED: &str = "restriction_lifted";
