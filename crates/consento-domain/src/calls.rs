//! The dialer's call outcomes and what they mean: which calls connected, which outcome is a
//! refusal the controller must honour at once, the rules an outcome report must meet before it is
//! recorded, and a campaign's silent-call rate.
//!
//! "A no is enough" (*basta un no*; Garante per la protezione dei dati personali, February 2023):
//! a person who refuses promotional calls during a call has objected to direct marketing (GDPR
//! Art. 21(2)–(3)); the refusal holds at once, for every later campaign, and they are not asked to
//! confirm it. A silent call (*chiamata muta*) is a call that connected without an operator
//! speaking; the Garante's general provision on silent calls (n. 83 of 20 February 2014, Gazzetta
//! Ufficiale n. 79 of 4 April 2014) sets, as reported, at most 3 silent calls per 100 answered
//! calls of a campaign.

use serde::{Deserialize, Serialize};

use crate::consent::coded_enum;
use crate::error::DomainError;
use crate::text::{self, Lines};
use crate::time::Timestamp;

coded_enum!(
    /// How one call of a campaign ended, as the dialer reports it.
    CallOutcome, "outcome" {
        /// The person answered and spoke with an operator.
        Answered = "answered",
        /// Nobody answered.
        NoAnswer = "no_answer",
        /// The line was busy.
        Busy = "busy",
        /// The call connected but no operator spoke (a silent call, Garante general provision
        /// n. 83 of 20 February 2014).
        Silent = "silent",
        /// The person refused promotional calls: an objection to direct marketing (GDPR
        /// Art. 21(3)), recorded at once ("basta un no").
        RefusedMarketing = "refused_marketing",
        /// The person asked to be called back.
        CallbackRequested = "callback_requested",
    }
);

impl CallOutcome {
    /// Whether the call connected: the person's line answered, whatever followed (an operator
    /// spoke, or none did). These are the "answered calls" a silent-call rate is counted
    /// against; a call nobody answered or a busy line is not.
    pub fn connected(self) -> bool {
        matches!(
            self,
            Self::Answered | Self::Silent | Self::RefusedMarketing | Self::CallbackRequested
        )
    }

    /// Whether the person objected to direct marketing during the call (GDPR Art. 21(3)).
    pub fn objects(self) -> bool {
        self == Self::RefusedMarketing
    }
}

/// How far ahead of the recording clock a reported call may be: the dialer's clock and ours
/// drift, by a few minutes at most.
pub const CLOCK_SKEW_MICROS: i64 = 5 * 60 * 1_000_000;

/// How old a reported call may be: a dialer reports its outcomes as calls end, or in a daily
/// batch; a month-old report is more likely a replay or a misdated file than a late one.
pub const MAX_AGE_DAYS: u32 = 30;

/// The longest campaign name.
pub const MAX_CAMPAIGN: usize = 200;

/// The longest operator handle (as an actor's identifier).
pub const MAX_OPERATOR: usize = 128;

/// Silent calls per 100 answered calls above which a campaign is flagged (general provision
/// n. 83 of 20 February 2014).
pub const SILENT_LIMIT_PER_100: u64 = 3;

/// Refuses a call said to have happened after `now` (beyond [`CLOCK_SKEW_MICROS`]) or more than
/// [`MAX_AGE_DAYS`] before it; the error names `called_at`.
pub fn check_called_at(called_at: Timestamp, now: Timestamp) -> Result<(), DomainError> {
    if called_at.as_micros() > now.as_micros().saturating_add(CLOCK_SKEW_MICROS) {
        return Err(DomainError::invalid(
            "called_at",
            "the call is in the future (more than 5 minutes ahead of the server's clock)",
        ));
    }
    if called_at.plus_days(MAX_AGE_DAYS) < now {
        return Err(DomainError::invalid(
            "called_at",
            format!("the call is more than {MAX_AGE_DAYS} days old"),
        ));
    }
    Ok(())
}

/// A campaign's name: trimmed, 1 to 200 characters on one line.
pub fn campaign(text: &str) -> Result<String, DomainError> {
    text::required("campaign", text, MAX_CAMPAIGN, Lines::One)
}

/// Who placed the call (the dialer's operator handle): trimmed, 1 to 128 characters on one line.
pub fn operator(text: &str) -> Result<String, DomainError> {
    text::required("operator", text, MAX_OPERATOR, Lines::One)
}

/// A campaign's calls counted per outcome, and its silent-call rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignTally {
    /// Calls answered, an operator speaking.
    pub answered: u64,
    /// Calls nobody answered.
    pub no_answer: u64,
    /// Busy lines.
    pub busy: u64,
    /// Silent calls.
    pub silent: u64,
    /// Refusals of promotional calls.
    pub refused_marketing: u64,
    /// Callbacks asked for.
    pub callback_requested: u64,
}

impl CampaignTally {
    /// Adds `count` calls that ended with `outcome`.
    pub fn add(&mut self, outcome: CallOutcome, count: u64) {
        let slot = match outcome {
            CallOutcome::Answered => &mut self.answered,
            CallOutcome::NoAnswer => &mut self.no_answer,
            CallOutcome::Busy => &mut self.busy,
            CallOutcome::Silent => &mut self.silent,
            CallOutcome::RefusedMarketing => &mut self.refused_marketing,
            CallOutcome::CallbackRequested => &mut self.callback_requested,
        };
        *slot = slot.saturating_add(count);
    }

    /// The count of `outcome`.
    pub fn count(&self, outcome: CallOutcome) -> u64 {
        match outcome {
            CallOutcome::Answered => self.answered,
            CallOutcome::NoAnswer => self.no_answer,
            CallOutcome::Busy => self.busy,
            CallOutcome::Silent => self.silent,
            CallOutcome::RefusedMarketing => self.refused_marketing,
            CallOutcome::CallbackRequested => self.callback_requested,
        }
    }

    /// Every call reported.
    pub fn total(&self) -> u64 {
        CallOutcome::ALL
            .iter()
            .fold(0u64, |sum, o| sum.saturating_add(self.count(*o)))
    }

    /// The calls that connected ([`CallOutcome::connected`]): the answered calls of the
    /// silent-call rate.
    pub fn connected(&self) -> u64 {
        CallOutcome::ALL
            .iter()
            .filter(|o| o.connected())
            .fold(0u64, |sum, o| sum.saturating_add(self.count(*o)))
    }

    /// Silent calls per 100 connected calls; `None` when no call connected.
    pub fn silent_per_100_connected(&self) -> Option<f64> {
        let connected = self.connected();
        // Counts of calls stay far below 2^52: the conversion is exact.
        (connected > 0).then(|| self.silent as f64 * 100.0 / connected as f64)
    }

    /// Whether the campaign has more than 3 silent calls per 100 connected calls. Compared in
    /// integers (silent × 100 > 3 × connected), so that exactly 3 per 100 is not flagged
    /// whatever floating point would make of it.
    pub fn silent_over_limit(&self) -> bool {
        u128::from(self.silent) * 100
            > u128::from(SILENT_LIMIT_PER_100) * u128::from(self.connected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse("t", text).unwrap()
    }

    #[test]
    fn the_codes_are_the_dialers_and_an_unknown_one_names_the_outcome_field() {
        let codes: Vec<&str> = CallOutcome::ALL.iter().map(|o| o.code()).collect();
        assert_eq!(
            codes,
            [
                "answered",
                "no_answer",
                "busy",
                "silent",
                "refused_marketing",
                "callback_requested"
            ]
        );
        assert_eq!(
            CallOutcome::parse("refused_marketing").unwrap(),
            CallOutcome::RefusedMarketing
        );
        assert_eq!(
            CallOutcome::parse("hung_up").unwrap_err().field(),
            "outcome"
        );
    }

    #[test]
    fn only_a_refusal_objects_and_only_calls_that_rang_through_connected() {
        let connected: Vec<CallOutcome> = CallOutcome::ALL
            .iter()
            .copied()
            .filter(|o| o.connected())
            .collect();
        assert_eq!(
            connected,
            [
                CallOutcome::Answered,
                CallOutcome::Silent,
                CallOutcome::RefusedMarketing,
                CallOutcome::CallbackRequested
            ]
        );
        let objecting: Vec<CallOutcome> = CallOutcome::ALL
            .iter()
            .copied()
            .filter(|o| o.objects())
            .collect();
        assert_eq!(objecting, [CallOutcome::RefusedMarketing]);
    }

    #[test]
    fn a_call_five_minutes_ahead_or_thirty_days_old_is_accepted_and_no_further() {
        let now = at("2026-03-31T10:00:00Z");
        assert!(check_called_at(at("2026-03-31T10:05:00Z"), now).is_ok());
        assert_eq!(
            check_called_at(at("2026-03-31T10:05:00.000001Z"), now)
                .unwrap_err()
                .field(),
            "called_at"
        );
        assert!(check_called_at(at("2026-03-01T10:00:00Z"), now).is_ok());
        assert_eq!(
            check_called_at(at("2026-03-01T09:59:59Z"), now)
                .unwrap_err()
                .field(),
            "called_at"
        );
    }

    #[test]
    fn a_campaign_is_one_line_of_at_most_two_hundred_characters() {
        assert_eq!(campaign("  Spring offers ").unwrap(), "Spring offers");
        assert_eq!(campaign(" ").unwrap_err().field(), "campaign");
        assert!(campaign(&"x".repeat(200)).is_ok());
        assert_eq!(campaign(&"x".repeat(201)).unwrap_err().field(), "campaign");
        assert_eq!(campaign("a\nb").unwrap_err().field(), "campaign");
        assert_eq!(operator("").unwrap_err().field(), "operator");
    }

    #[test]
    fn four_silent_calls_in_a_hundred_connected_are_flagged_and_three_are_not() {
        let mut tally = CampaignTally::default();
        tally.add(CallOutcome::Answered, 90);
        tally.add(CallOutcome::RefusedMarketing, 3);
        tally.add(CallOutcome::CallbackRequested, 3);
        tally.add(CallOutcome::Silent, 4);
        // Unanswered and busy calls never connected: they do not dilute the rate.
        tally.add(CallOutcome::NoAnswer, 500);
        tally.add(CallOutcome::Busy, 50);
        assert_eq!((tally.connected(), tally.total()), (100, 650));
        assert_eq!(tally.silent_per_100_connected(), Some(4.0));
        assert!(tally.silent_over_limit());

        let mut three = CampaignTally::default();
        three.add(CallOutcome::Answered, 97);
        three.add(CallOutcome::Silent, 3);
        assert_eq!(three.silent_per_100_connected(), Some(3.0));
        assert!(!three.silent_over_limit());
    }

    #[test]
    fn a_campaign_whose_calls_never_connected_has_no_rate_and_no_flag() {
        let mut tally = CampaignTally::default();
        tally.add(CallOutcome::NoAnswer, 12);
        assert_eq!(tally.silent_per_100_connected(), None);
        assert!(!tally.silent_over_limit());
    }
}
