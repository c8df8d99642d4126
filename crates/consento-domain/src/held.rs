//! Messages held until someone gives a reason: an email to a contact that needs a justification
//! (rule 7 of [`crate::decide`]) and came without one waits, instead of going out or being lost,
//! until an operator picks a reason (the message is released) or drops it, or until its hold
//! runs out (it is dropped). Where a held message comes from, what became of it, the mail
//! system's queue id that names it, and when its hold ends.

use crate::{DomainError, Timestamp};

/// Where a held message waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeldSource {
    /// Postfix's hold queue, told by the policy service (`HOLD`); released with
    /// `postsuper -H`, removed with `postsuper -d`.
    Postfix,
    /// Consento's own SMTP relay.
    Relay,
}

impl HeldSource {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Postfix => "postfix",
            Self::Relay => "relay",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        match code {
            "postfix" => Ok(Self::Postfix),
            "relay" => Ok(Self::Relay),
            _ => Err(DomainError::invalid("source", "must be postfix or relay")),
        }
    }
}

/// What became of a held message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeldStatus {
    /// Waiting for a reason.
    Held,
    /// A reason was given (the justified contact recorded): it may go.
    Released,
    /// It will not go: an operator dropped it, its hold ran out, or the person was erased.
    Dropped,
}

impl HeldStatus {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Dropped => "dropped",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        match code {
            "held" => Ok(Self::Held),
            "released" => Ok(Self::Released),
            "dropped" => Ok(Self::Dropped),
            _ => Err(DomainError::invalid(
                "status",
                "must be held, released or dropped",
            )),
        }
    }
}

/// Why a held message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropCause {
    /// An operator dropped it.
    Operator,
    /// Nobody gave a reason before its hold ran out.
    Expired,
    /// The recipient was erased (GDPR Art. 17): nothing may reach them.
    Erased,
}

impl DropCause {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Expired => "expired",
            Self::Erased => "erased",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        match code {
            "operator" => Ok(Self::Operator),
            "expired" => Ok(Self::Expired),
            "erased" => Ok(Self::Erased),
            _ => Err(DomainError::invalid(
                "drop_cause",
                "must be operator, expired or erased",
            )),
        }
    }
}

/// The id a mail system gives a message in its queue (Postfix: 10 or more hexadecimal digits,
/// or a "long" id of letters and digits). Letters and digits only, and never `ALL`, so that it
/// can be handed to `postsuper` as an argument and never read as an option, a path, or the
/// keyword that names every queued message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueId(String);

impl QueueId {
    /// Parses a queue id: 1 to 32 ASCII letters and digits, not `ALL`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.is_empty()
            || text.len() > 32
            || !text.bytes().all(|b| b.is_ascii_alphanumeric())
            || text.eq_ignore_ascii_case("all")
        {
            return Err(DomainError::invalid(
                "queue_id",
                "must be 1 to 32 letters and digits",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as the mail system wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most hours a message may be held: a month. Longer, the sender has long forgotten it and
/// the reason would justify a contact nobody expects any more.
pub const MAX_HOLD_HOURS: u32 = 24 * 31;

/// When a message held at `held_at` for `hours` is dropped if nobody gave a reason.
pub fn hold_until(held_at: Timestamp, hours: u32) -> Timestamp {
    let micros = i64::from(hours.min(MAX_HOLD_HOURS)) * 3_600_000_000;
    Timestamp::from_micros(held_at.as_micros().saturating_add(micros))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn codes_read_back_as_what_they_name() {
        for s in [HeldSource::Postfix, HeldSource::Relay] {
            assert_eq!(HeldSource::parse(s.code()).unwrap(), s);
        }
        for s in [HeldStatus::Held, HeldStatus::Released, HeldStatus::Dropped] {
            assert_eq!(HeldStatus::parse(s.code()).unwrap(), s);
        }
        for c in [DropCause::Operator, DropCause::Expired, DropCause::Erased] {
            assert_eq!(DropCause::parse(c.code()).unwrap(), c);
        }
        assert!(HeldSource::parse("smtp").is_err());
    }

    #[test]
    fn a_queue_id_is_letters_and_digits_only_so_no_option_or_path_slips_into_postsuper() {
        assert_eq!(QueueId::parse("3F1A2B4C5D").unwrap().as_str(), "3F1A2B4C5D");
        assert_eq!(
            QueueId::parse("4Qk9Zb1xyzz8Ab").unwrap().as_str(),
            "4Qk9Zb1xyzz8Ab"
        );
        for bad in [
            "",
            "-d",
            "ALL",
            "all",
            "../x",
            "3F1A 2B",
            "a/b",
            &"A".repeat(33),
        ] {
            assert!(QueueId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hold_ends_its_hours_later_and_never_beyond_a_month() {
        let at = Timestamp::from_micros(1_000);
        assert_eq!(hold_until(at, 48).as_micros(), 1_000 + 48 * 3_600_000_000);
        assert_eq!(
            hold_until(at, 10_000).as_micros(),
            1_000 + i64::from(MAX_HOLD_HOURS) * 3_600_000_000
        );
    }
}
