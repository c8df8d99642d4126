//! The emails a use case queues in the outbox, in the same transaction as the change that
//! causes them (the mail worker renders and delivers them): each is named by its template, and
//! its payload holds what the template needs and nothing else.

/// The confirmation of a double opt-in request.
pub const SUBSCRIPTION_CONFIRM: &str = "subscription_confirm";

/// The notice that a restriction of processing is lifted (GDPR Art. 18(3)).
pub const RESTRICTION_LIFTED: &str = "restriction_lifted";

/// The notice to a message's sender that it is held until someone gives the reason for
/// contacting its recipient, with the link to its page in the console.
pub const HELD_MESSAGE: &str = "held_message";

/// The notice to a held message's sender that it was dropped (by an operator, or its hold ran
/// out) and will not reach its recipient.
pub const HELD_DROPPED: &str = "held_dropped";
