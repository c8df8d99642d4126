//! The Italian *Registro pubblico delle opposizioni* (RPO): the list a controller sends to the
//! register and the answer it reads back, how long a checked answer stays valid, and whether a
//! marketing call to a number may be made. Which consents an enrolment revokes is decided where
//! the consents are, set-based, in the store's import of an answer.
//!
//! The rules (L. 11 gennaio 2018, n. 5, art. 1; DPR 27 gennaio 2022, n. 26):
//! - The register holds every Italian number, fixed and mobile, listed in a public directory or
//!   not. Numbers of other countries are outside it and are never sent to it.
//! - Enrolment revokes every consent given *before* it to marketing calls and to disclosure of
//!   the number to third parties; a consent given after it stays valid.
//! - The controller checks its list before each campaign and at least monthly; a checked answer
//!   is valid for 15 days ([`RpoPolicy::validity_days`]).
//! - A contract in force, or ended no more than 30 days ago, keeps our own marketing calls to
//!   the customer lawful ([`RpoPolicy::contract_grace_days`]); it never covers disclosure to
//!   third parties. A call the person asked for is not blocked by the register.
//! - A number in a public directory that is not enrolled may be called without consent (the
//!   opt-out regime of art. 130(3-bis) of the Codice privacy, D.Lgs. 196/2003); a number in no
//!   public directory needs the person's consent in any case.
//!
//! Pure: the store keeps the checks and the enrolment findings, the application builds
//! [`RpoFacts`] from them and writes and reads the files.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::import::{LineError, LineProblem};
use crate::{DomainError, Phone, Timestamp};

/// The country calling code of the numbers the register holds.
pub const ITALY: &str = "39";

/// Whether `phone` is an Italian number (E.164 `+39…`), the only kind the register holds.
pub fn is_italian(phone: &Phone) -> bool {
    phone
        .as_str()
        .strip_prefix('+')
        .is_some_and(|d| d.starts_with(ITALY))
}

/// The national form of an Italian number, as the register's lists write it: the E.164 text
/// without `+39` (`+393331234567` → `3331234567`, `+390612345678` → `0612345678`: the leading 0
/// of a landline is part of an Italian number). `None` for a number of another country.
pub fn national_form(phone: &Phone) -> Option<&str> {
    phone.as_str().strip_prefix("+39")
}

// ---------------------------------------------------------------------------------------------
// The list format
// ---------------------------------------------------------------------------------------------

/// How the numbers of an exported list are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RpoNumberForm {
    /// Without the country code (`3331234567`, `0612345678`): the default, the form the
    /// register's own lists use.
    #[default]
    National,
    /// E.164, with `+39` (`+393331234567`).
    E164,
}

/// What the register's answer file means when a line holds a number alone.
///
/// The layout of the register's answer is not fixed by the law and has changed between
/// services, so it is a setting, not an assumption. A line that carries an outcome of its own
/// (`3331234567;1`) is read as that outcome in either mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RpoAnswerMode {
    /// The file lists the enrolled numbers: every other number submitted is not enrolled.
    Enrolled,
    /// The file lists the numbers that may be called (the submitted list cleaned of the
    /// enrolled ones): every other number submitted is enrolled.
    Callable,
}

/// The format of the files exchanged with the register.
///
/// **Export** (the list sent): one number per line, each line ending in `\n`, in
/// [`RpoNumberForm`] (national by default); only Italian numbers, each once, in the order given.
///
/// **Import** (the answer read back): one number per line, in national form, with `+39` or
/// `0039`, spaces allowed (`333 123 4567`). A line may add, after `;` or `,`, whether the
/// number is **enrolled**: `1`, `si`/`sì`, `iscritto`, `enrolled` for enrolled; `0`, `no`,
/// `non iscritto`, `not_enrolled` for not (any case; surrounding double quotes are dropped).
/// The outcome always answers "is the number enrolled?", whatever the [`RpoAnswerMode`].
/// Empty lines are skipped, and so is a first line with no digit (a header). Every line must
/// name a number that was submitted: an unknown number means the file answers another list.
///
/// A submitted number the file does not name is read by the answer mode, unless every line of
/// the file states an outcome: then the register answered number by number, and a number it
/// left out is unanswered (it stays unchecked, so calls to it stay blocked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RpoListFormat {
    /// How exported numbers are written.
    #[serde(default)]
    pub numbers: RpoNumberForm,
    /// What a line holding a number alone means in the answer.
    pub answer_mode: RpoAnswerMode,
}

/// A list ready to send to the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpoExport {
    /// The file's text.
    pub text: String,
    /// The numbers written, in order, each once: the list the answer is read against.
    pub sent: Vec<Phone>,
    /// The numbers left out because they are not Italian, each once.
    pub not_italian: Vec<Phone>,
}

/// The register's answer to a list, number by number, each in the order submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpoAnswer {
    /// Numbers enrolled in the register.
    pub enrolled: Vec<Phone>,
    /// Numbers not enrolled.
    pub not_enrolled: Vec<Phone>,
    /// Numbers the answer says nothing about (see [`RpoListFormat`]).
    pub unanswered: Vec<Phone>,
}

impl RpoListFormat {
    /// A format reading answers in `answer_mode`, exporting national numbers.
    pub fn new(answer_mode: RpoAnswerMode) -> Self {
        Self {
            numbers: RpoNumberForm::National,
            answer_mode,
        }
    }

    /// The list to send for `phones`: Italian numbers only, each once.
    pub fn export<'a>(&self, phones: impl IntoIterator<Item = &'a Phone>) -> RpoExport {
        let mut seen = HashSet::new();
        let mut out = RpoExport {
            text: String::new(),
            sent: Vec::new(),
            not_italian: Vec::new(),
        };
        for phone in phones {
            if !seen.insert(phone) {
                continue;
            }
            let Some(national) = national_form(phone) else {
                out.not_italian.push(phone.clone());
                continue;
            };
            out.text.push_str(match self.numbers {
                RpoNumberForm::National => national,
                RpoNumberForm::E164 => phone.as_str(),
            });
            out.text.push('\n');
            out.sent.push(phone.clone());
        }
        out
    }

    /// Reads the register's answer `text` to the list `submitted` (what [`Self::export`] sent;
    /// numbers of other countries in it are ignored). Every faulty line is named.
    pub fn import(&self, text: &str, submitted: &[Phone]) -> Result<RpoAnswer, Vec<LineError>> {
        let mut order = Vec::new();
        let mut known = HashSet::new();
        for phone in submitted.iter().filter(|p| is_italian(p)) {
            if known.insert(phone) {
                order.push(phone);
            }
        }
        let mut answers: HashMap<Phone, (bool, u64)> = HashMap::new();
        let mut errors = Vec::new();
        let (mut any_bare, mut any_stated) = (false, false);
        for (index, raw) in text.lines().enumerate() {
            let line = u64::try_from(index).map_or(u64::MAX, |i| i.saturating_add(1));
            let content = raw.trim_start_matches('\u{feff}').trim();
            if content.is_empty() || (index == 0 && !content.chars().any(|c| c.is_ascii_digit())) {
                continue;
            }
            let error = |column: &str, reason: String, problem: LineProblem| LineError {
                line,
                column: column.to_owned(),
                reason,
                problem: Some(problem),
            };
            let (number, outcome) = match content.split_once([';', ',']) {
                Some((n, o)) => (unquote(n), Some(unquote(o))),
                None => (unquote(content), None),
            };
            let phone = match Phone::parse(number, ITALY) {
                Ok(p) => p,
                Err(DomainError::Invalid { reason, .. }) => {
                    errors.push(error("number", reason, LineProblem::NotAPhoneNumber));
                    continue;
                }
            };
            if !is_italian(&phone) {
                errors.push(error(
                    "number",
                    format!("`{phone}` is not an Italian number: the register holds none"),
                    LineProblem::NotItalian,
                ));
                continue;
            }
            let stated = match outcome.filter(|o| !o.is_empty()).map(parse_outcome) {
                None => None,
                Some(Ok(enrolled)) => Some(enrolled),
                Some(Err(reason)) => {
                    errors.push(error("outcome", reason, LineProblem::NotAnOutcome));
                    continue;
                }
            };
            if stated.is_some() {
                any_stated = true;
            } else {
                any_bare = true;
            }
            let enrolled = stated.unwrap_or(self.answer_mode == RpoAnswerMode::Enrolled);
            if !known.contains(&phone) {
                errors.push(error(
                    "number",
                    format!(
                        "`{phone}` was not in the list sent to the register: the file answers another list"
                    ),
                    LineProblem::NotInListSent,
                ));
                continue;
            }
            match answers.get(&phone) {
                Some((earlier, at)) if *earlier != enrolled => errors.push(error(
                    "outcome",
                    format!(
                        "`{phone}` is {} here and {} on line {at}",
                        word(enrolled),
                        word(*earlier)
                    ),
                    LineProblem::Contradicts { line: *at },
                )),
                Some(_) => {}
                None => {
                    answers.insert(phone, (enrolled, line));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every line stating its outcome is an answer number by number: a number it leaves out
        // was not answered, and stays unchecked rather than being guessed.
        let by_mode = any_bare || !any_stated;
        let mut answer = RpoAnswer::default();
        for phone in order {
            let enrolled = match answers.get(phone) {
                Some((enrolled, _)) => Some(*enrolled),
                None if by_mode => Some(self.answer_mode == RpoAnswerMode::Callable),
                None => None,
            };
            match enrolled {
                Some(true) => answer.enrolled.push(phone.clone()),
                Some(false) => answer.not_enrolled.push(phone.clone()),
                None => answer.unanswered.push(phone.clone()),
            }
        }
        Ok(answer)
    }
}

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim()
}

fn word(enrolled: bool) -> &'static str {
    if enrolled { "enrolled" } else { "not enrolled" }
}

/// Whether an outcome field says the number is enrolled.
fn parse_outcome(text: &str) -> Result<bool, String> {
    let folded = text
        .trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match folded.as_str() {
        "1" | "si" | "sì" | "iscritto" | "enrolled" => Ok(true),
        "0" | "no" | "non iscritto" | "not enrolled" => Ok(false),
        _ => Err(format!(
            "`{}` is not an outcome: write 1 or 0, si or no, iscritto or non iscritto, enrolled or not_enrolled",
            text.trim().escape_debug()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------------

/// The longest a checked answer may be relied on: 15 days (DPR 26/2022).
pub const MAX_VALIDITY_DAYS: u32 = 15;

/// The longest a contract may have ended for its exception to hold: 30 days (L. 5/2018, art. 1).
pub const MAX_CONTRACT_GRACE_DAYS: u32 = 30;

/// The terms of the register's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct RpoPolicy {
    /// Days a checked answer stays valid, counted as 24-hour days from the instant it was
    /// answered. Default 15.
    pub validity_days: u32,
    /// Days after a contract ended during which the contract exception still holds, counted as
    /// 24-hour days from the instant it ended. Default 30.
    pub contract_grace_days: u32,
}

impl Default for RpoPolicy {
    fn default() -> Self {
        Self {
            validity_days: MAX_VALIDITY_DAYS,
            contract_grace_days: MAX_CONTRACT_GRACE_DAYS,
        }
    }
}

impl RpoPolicy {
    /// Checks the terms: a validity of 1 to 15 days and a grace of at most 30, since a longer
    /// term than the law's would allow calls the law forbids. A shorter one is stricter, and
    /// allowed.
    pub fn validate(self) -> Result<Self, DomainError> {
        if !(1..=MAX_VALIDITY_DAYS).contains(&self.validity_days) {
            return Err(DomainError::invalid(
                "validity_days",
                "a check of the register is valid 1 to 15 days (DPR 26/2022)",
            ));
        }
        if self.contract_grace_days > MAX_CONTRACT_GRACE_DAYS {
            return Err(DomainError::invalid(
                "contract_grace_days",
                "the contract exception lasts at most 30 days after the contract ended (L. 5/2018)",
            ));
        }
        Ok(self)
    }

    /// The first instant at which a check answered at `answered_at` is no longer valid.
    pub fn check_valid_until(&self, answered_at: Timestamp) -> Timestamp {
        answered_at.plus_days(self.validity_days)
    }

    /// The first instant at which a contract that ended at `ended_at` no longer allows our own
    /// marketing calls.
    pub fn contract_exception_until(&self, ended_at: Timestamp) -> Timestamp {
        ended_at.plus_days(self.contract_grace_days)
    }
}

// ---------------------------------------------------------------------------------------------
// The verdict
// ---------------------------------------------------------------------------------------------

/// Whose marketing a call serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPurpose {
    /// Our own marketing.
    OwnMarketing,
    /// Marketing of a third party the number is disclosed to.
    ThirdPartyDisclosure,
}

/// A check of the number against the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RpoCheck {
    /// When the register answered.
    pub answered_at: Timestamp,
    /// Whether the number was enrolled.
    pub enrolled: bool,
}

/// The customer relationship with the person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CustomerContract {
    /// No contract.
    #[default]
    NoContract,
    /// A contract in force.
    InForce,
    /// The last contract ended.
    Ended {
        /// When.
        at: Timestamp,
    },
}

/// What is known about a number and the person when a marketing call is considered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RpoFacts {
    /// The latest check of the number, if it was ever checked.
    pub latest_check: Option<RpoCheck>,
    /// When the number was first found enrolled (the enrolment still in force); without it an
    /// enrolled check counts as the finding.
    pub enrolled_found_at: Option<Timestamp>,
    /// When the consent the call relies on was given (or last renewed), if there is one.
    pub consent_given_at: Option<Timestamp>,
    /// The customer relationship.
    pub contract: CustomerContract,
    /// Whether the person asked for this one call.
    pub requested_call: bool,
    /// Whether the number is in a public directory.
    pub in_public_directory: bool,
}

/// Why the register does not stand in the way of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "allowed_by", rename_all = "snake_case")]
pub enum RpoAllowance {
    /// The person asked for this call.
    RequestedCall,
    /// A contract in force or recently ended, for our own marketing.
    ContractException {
        /// When the exception ends; none while the contract is in force.
        until: Option<Timestamp>,
    },
    /// The number is enrolled, but the consent relied on was given after the enrolment was
    /// found, and enrolment revokes only earlier consents.
    ConsentAfterEnrolment {
        /// When the enrolment was found.
        found_at: Timestamp,
        /// When the consent was given.
        consent_given_at: Timestamp,
        /// When the check showing the enrolment stops being valid.
        check_valid_until: Timestamp,
    },
    /// A valid check found the number not enrolled.
    NotEnrolled {
        /// When the check stops being valid.
        valid_until: Timestamp,
        /// The consent relied on; none for a number in a public directory, which may be called
        /// without one while not enrolled.
        consent_given_at: Option<Timestamp>,
    },
}

impl RpoAllowance {
    /// The stable code of the allowance.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RequestedCall => "requested_call",
            Self::ContractException { .. } => "contract_exception",
            Self::ConsentAfterEnrolment { .. } => "consent_after_enrolment",
            Self::NotEnrolled { .. } => "not_enrolled",
        }
    }
}

/// Why the register blocks a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "cause")]
pub enum RpoBlock {
    /// The number is enrolled, no consent was given after the enrolment was found, and no
    /// exception applies.
    #[serde(rename = "rpo_enrolled")]
    Enrolled {
        /// When the enrolment was found.
        found_at: Timestamp,
    },
    /// The number was never checked.
    #[serde(rename = "rpo_check_missing")]
    CheckMissing,
    /// The latest check is no longer valid: the number must be checked again.
    #[serde(rename = "rpo_check_expired")]
    CheckExpired {
        /// When the check stopped being valid.
        expired_at: Timestamp,
    },
    /// The number is not enrolled but is in no public directory, and there is no consent.
    #[serde(rename = "rpo_unlisted_without_consent")]
    UnlistedWithoutConsent,
}

impl RpoBlock {
    /// The stable code of the cause.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Enrolled { .. } => "rpo_enrolled",
            Self::CheckMissing => "rpo_check_missing",
            Self::CheckExpired { .. } => "rpo_check_expired",
            Self::UnlistedWithoutConsent => "rpo_unlisted_without_consent",
        }
    }
}

impl std::fmt::Display for RpoBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enrolled { found_at } => write!(
                f,
                "the number is enrolled in the Registro pubblico delle opposizioni (found {found_at}) and no consent was given after that"
            ),
            Self::CheckMissing => f.write_str(
                "the number was never checked against the Registro pubblico delle opposizioni",
            ),
            Self::CheckExpired { expired_at } => write!(
                f,
                "the check against the Registro pubblico delle opposizioni expired at {expired_at}: check the number again"
            ),
            Self::UnlistedWithoutConsent => f.write_str(
                "the number is in no public directory and there is no consent to call it",
            ),
        }
    }
}

/// Whether the register allows a marketing call for `purpose` to a number, at `now`. In order:
///
/// 1. A call the person asked for is allowed (not for disclosure to third parties: the person
///    asked to be called, not for their number to be passed on).
/// 2. For our own marketing, a contract in force, or ended less than
///    [`RpoPolicy::contract_grace_days`] ago, allows the call (L. 5/2018, art. 1).
/// 3. Otherwise a valid check is needed: none is [`RpoBlock::CheckMissing`], one answered
///    [`RpoPolicy::validity_days`] or more ago is [`RpoBlock::CheckExpired`] (DPR 26/2022).
/// 4. Enrolled: a consent given at or after the enrolment was found allows the call; without
///    one, [`RpoBlock::Enrolled`] (L. 5/2018, art. 1: enrolment revokes earlier consents).
/// 5. Not enrolled: allowed for a number in a public directory; one in none needs a consent
///    (Codice privacy art. 130(3-bis)), else [`RpoBlock::UnlistedWithoutConsent`].
pub fn rpo_verdict(
    facts: &RpoFacts,
    purpose: CallPurpose,
    now: Timestamp,
    policy: &RpoPolicy,
) -> Result<RpoAllowance, RpoBlock> {
    let own = purpose == CallPurpose::OwnMarketing;
    if own && facts.requested_call {
        return Ok(RpoAllowance::RequestedCall);
    }
    if own {
        match facts.contract {
            CustomerContract::InForce => {
                return Ok(RpoAllowance::ContractException { until: None });
            }
            CustomerContract::Ended { at } => {
                let until = policy.contract_exception_until(at);
                if now < until {
                    return Ok(RpoAllowance::ContractException { until: Some(until) });
                }
            }
            CustomerContract::NoContract => {}
        }
    }
    let check = facts.latest_check.ok_or(RpoBlock::CheckMissing)?;
    let valid_until = policy.check_valid_until(check.answered_at);
    if now >= valid_until {
        return Err(RpoBlock::CheckExpired {
            expired_at: valid_until,
        });
    }
    if check.enrolled {
        let found_at = facts.enrolled_found_at.unwrap_or(check.answered_at);
        return match facts.consent_given_at {
            Some(given_at) if given_at >= found_at => Ok(RpoAllowance::ConsentAfterEnrolment {
                found_at,
                consent_given_at: given_at,
                check_valid_until: valid_until,
            }),
            _ => Err(RpoBlock::Enrolled { found_at }),
        };
    }
    if !facts.in_public_directory && facts.consent_given_at.is_none() {
        return Err(RpoBlock::UnlistedWithoutConsent);
    }
    Ok(RpoAllowance::NotEnrolled {
        valid_until,
        consent_given_at: facts.consent_given_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Zone;

    fn rome(text: &str) -> Timestamp {
        Zone::rome().parse_instant("t", text).unwrap()
    }

    fn phone(text: &str) -> Phone {
        Phone::parse(text, "39").unwrap()
    }

    fn checked(at: &str, enrolled: bool) -> RpoFacts {
        RpoFacts {
            latest_check: Some(RpoCheck {
                answered_at: rome(at),
                enrolled,
            }),
            in_public_directory: true,
            ..RpoFacts::default()
        }
    }

    fn verdict(
        facts: &RpoFacts,
        purpose: CallPurpose,
        now: &str,
    ) -> Result<RpoAllowance, RpoBlock> {
        rpo_verdict(facts, purpose, rome(now), &RpoPolicy::default())
    }

    const OWN: CallPurpose = CallPurpose::OwnMarketing;
    const THIRD: CallPurpose = CallPurpose::ThirdPartyDisclosure;

    // The check's validity.

    #[test]
    fn a_check_at_ten_allows_a_call_fifteen_days_later_at_nine_fifty_nine_and_not_at_ten() {
        let facts = checked("2026-03-02T10:00", false);
        assert_eq!(
            verdict(&facts, OWN, "2026-03-17T09:59"),
            Ok(RpoAllowance::NotEnrolled {
                valid_until: rome("2026-03-17T10:00"),
                consent_given_at: None,
            })
        );
        let blocked = verdict(&facts, OWN, "2026-03-17T10:00").unwrap_err();
        assert_eq!(
            blocked,
            RpoBlock::CheckExpired {
                expired_at: rome("2026-03-17T10:00")
            }
        );
        assert_eq!(blocked.code(), "rpo_check_expired");
        assert_eq!(
            serde_json::to_value(blocked).unwrap(),
            serde_json::json!({"cause": "rpo_check_expired", "expired_at": "2026-03-17T09:00:00Z"})
        );
    }

    #[test]
    fn a_number_never_checked_is_blocked_as_check_missing() {
        let facts = RpoFacts {
            in_public_directory: true,
            consent_given_at: Some(rome("2026-01-01T10:00")),
            ..RpoFacts::default()
        };
        assert_eq!(
            verdict(&facts, OWN, "2026-03-02T10:00"),
            Err(RpoBlock::CheckMissing)
        );
        assert_eq!(RpoBlock::CheckMissing.code(), "rpo_check_missing");
    }

    #[test]
    fn a_shorter_validity_ends_the_check_sooner() {
        let facts = checked("2026-03-02T10:00", false);
        let policy = RpoPolicy {
            validity_days: 7,
            ..RpoPolicy::default()
        };
        assert_eq!(
            rpo_verdict(&facts, OWN, rome("2026-03-09T10:00"), &policy),
            Err(RpoBlock::CheckExpired {
                expired_at: rome("2026-03-09T10:00")
            })
        );
    }

    #[test]
    fn the_default_policy_is_fifteen_days_of_validity_and_thirty_of_grace() {
        let policy = RpoPolicy::default();
        assert_eq!((policy.validity_days, policy.contract_grace_days), (15, 30));
        assert_eq!(
            serde_json::from_str::<RpoPolicy>("{}").unwrap(),
            RpoPolicy::default()
        );
        assert_eq!(policy.validate(), Ok(policy));
    }

    #[test]
    fn a_policy_longer_than_the_law_allows_is_refused() {
        let too_long = RpoPolicy {
            validity_days: 16,
            ..RpoPolicy::default()
        };
        assert_eq!(too_long.validate().unwrap_err().field(), "validity_days");
        let none = RpoPolicy {
            validity_days: 0,
            ..RpoPolicy::default()
        };
        assert_eq!(none.validate().unwrap_err().field(), "validity_days");
        let grace = RpoPolicy {
            contract_grace_days: 31,
            ..RpoPolicy::default()
        };
        assert_eq!(grace.validate().unwrap_err().field(), "contract_grace_days");
    }

    // Enrolment and consents.
    #[test]
    fn an_enrolled_number_without_a_later_consent_is_blocked_naming_when_it_was_found() {
        let mut facts = checked("2026-03-10T10:00", true);
        facts.enrolled_found_at = Some(rome("2026-02-01T10:00"));
        facts.consent_given_at = Some(rome("2026-01-15T10:00"));
        let blocked = verdict(&facts, OWN, "2026-03-11T10:00").unwrap_err();
        assert_eq!(
            blocked,
            RpoBlock::Enrolled {
                found_at: rome("2026-02-01T10:00")
            }
        );
        assert_eq!(blocked.code(), "rpo_enrolled");
        facts.consent_given_at = None;
        assert_eq!(verdict(&facts, THIRD, "2026-03-11T10:00"), Err(blocked));
    }

    #[test]
    fn an_enrolled_check_without_an_earlier_finding_is_the_finding() {
        let mut facts = checked("2026-03-10T10:00", true);
        facts.consent_given_at = Some(rome("2026-03-10T09:00"));
        assert_eq!(
            verdict(&facts, OWN, "2026-03-11T10:00"),
            Err(RpoBlock::Enrolled {
                found_at: rome("2026-03-10T10:00")
            })
        );
    }

    #[test]
    fn a_consent_given_after_the_enrolment_was_found_allows_the_call() {
        let mut facts = checked("2026-03-10T10:00", true);
        facts.enrolled_found_at = Some(rome("2026-02-01T10:00"));
        facts.consent_given_at = Some(rome("2026-02-20T10:00"));
        let expected = RpoAllowance::ConsentAfterEnrolment {
            found_at: rome("2026-02-01T10:00"),
            consent_given_at: rome("2026-02-20T10:00"),
            check_valid_until: rome("2026-03-25T10:00"),
        };
        assert_eq!(verdict(&facts, OWN, "2026-03-11T10:00"), Ok(expected));
        assert_eq!(verdict(&facts, THIRD, "2026-03-11T10:00"), Ok(expected));
    }

    #[test]
    fn a_consent_after_the_enrolment_still_needs_a_valid_check() {
        let mut facts = checked("2026-03-10T10:00", true);
        facts.enrolled_found_at = Some(rome("2026-02-01T10:00"));
        facts.consent_given_at = Some(rome("2026-02-20T10:00"));
        assert_eq!(
            verdict(&facts, OWN, "2026-03-25T10:00"),
            Err(RpoBlock::CheckExpired {
                expired_at: rome("2026-03-25T10:00")
            })
        );
    }

    // The directories.

    #[test]
    fn a_listed_number_not_enrolled_may_be_called_without_consent() {
        let facts = checked("2026-03-02T10:00", false);
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00").map(|a| a.code()),
            Ok("not_enrolled")
        );
    }

    #[test]
    fn an_unlisted_number_not_enrolled_needs_a_consent() {
        let mut facts = checked("2026-03-02T10:00", false);
        facts.in_public_directory = false;
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Err(RpoBlock::UnlistedWithoutConsent)
        );
        facts.consent_given_at = Some(rome("2025-06-01T10:00"));
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Ok(RpoAllowance::NotEnrolled {
                valid_until: rome("2026-03-17T10:00"),
                consent_given_at: Some(rome("2025-06-01T10:00")),
            })
        );
    }

    // The exceptions.

    #[test]
    fn a_contract_in_force_allows_our_own_marketing_to_an_enrolled_number() {
        let mut facts = checked("2026-03-02T10:00", true);
        facts.contract = CustomerContract::InForce;
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Ok(RpoAllowance::ContractException { until: None })
        );
        facts.latest_check = None;
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Ok(RpoAllowance::ContractException { until: None })
        );
    }

    #[test]
    fn the_contract_exception_ends_thirty_days_after_the_contract() {
        let mut facts = checked("2026-03-02T10:00", true);
        facts.contract = CustomerContract::Ended {
            at: rome("2026-02-05T10:00"),
        };
        assert_eq!(
            verdict(&facts, OWN, "2026-03-07T09:59"),
            Ok(RpoAllowance::ContractException {
                until: Some(rome("2026-03-07T10:00"))
            })
        );
        assert_eq!(
            verdict(&facts, OWN, "2026-03-07T10:00"),
            Err(RpoBlock::Enrolled {
                found_at: rome("2026-03-02T10:00")
            })
        );
    }

    #[test]
    fn the_contract_exception_never_covers_disclosure_to_third_parties() {
        let mut facts = checked("2026-03-02T10:00", true);
        facts.contract = CustomerContract::InForce;
        assert_eq!(
            verdict(&facts, THIRD, "2026-03-03T10:00"),
            Err(RpoBlock::Enrolled {
                found_at: rome("2026-03-02T10:00")
            })
        );
    }

    #[test]
    fn a_call_the_person_asked_for_is_allowed_even_when_enrolled_and_unchecked() {
        let mut facts = checked("2026-03-02T10:00", true);
        facts.requested_call = true;
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Ok(RpoAllowance::RequestedCall)
        );
        facts.latest_check = None;
        assert_eq!(
            verdict(&facts, OWN, "2026-03-03T10:00"),
            Ok(RpoAllowance::RequestedCall)
        );
    }

    #[test]
    fn a_requested_call_does_not_let_the_number_pass_to_third_parties() {
        let mut facts = checked("2026-03-02T10:00", true);
        facts.requested_call = true;
        assert_eq!(
            verdict(&facts, THIRD, "2026-03-03T10:00"),
            Err(RpoBlock::Enrolled {
                found_at: rome("2026-03-02T10:00")
            })
        );
    }

    // The list format.

    #[test]
    fn the_national_form_drops_plus_39_and_keeps_the_landline_zero() {
        assert_eq!(national_form(&phone("+393331234567")), Some("3331234567"));
        assert_eq!(national_form(&phone("+390612345678")), Some("0612345678"));
        assert_eq!(national_form(&phone("+41446681800")), None);
    }

    #[test]
    fn export_writes_italian_numbers_one_a_line_in_national_form() {
        let phones = [phone("+393331234567"), phone("+390612345678")];
        let export = RpoListFormat::new(RpoAnswerMode::Enrolled).export(&phones);
        assert_eq!(export.text, "3331234567\n0612345678\n");
        assert_eq!(export.sent, phones);
    }

    #[test]
    fn export_in_e164_keeps_plus_39() {
        let format = RpoListFormat {
            numbers: RpoNumberForm::E164,
            answer_mode: RpoAnswerMode::Enrolled,
        };
        let export = format.export(&[phone("+393331234567")]);
        assert_eq!(export.text, "+393331234567\n");
    }

    #[test]
    fn export_never_sends_a_foreign_number_and_sends_each_number_once() {
        let swiss = phone("+41446681800");
        let phones = [
            phone("+393331234567"),
            swiss.clone(),
            phone("+393331234567"),
            swiss.clone(),
        ];
        let export = RpoListFormat::new(RpoAnswerMode::Enrolled).export(&phones);
        assert_eq!(export.text, "3331234567\n");
        assert_eq!(export.sent, vec![phone("+393331234567")]);
        assert_eq!(export.not_italian, vec![swiss]);
    }

    fn submitted() -> Vec<Phone> {
        [
            "+393331234567",
            "+390612345678",
            "+393471112222",
            "+393209998888",
        ]
        .map(phone)
        .to_vec()
    }

    #[test]
    fn import_reads_national_plus_39_0039_and_spaced_numbers() {
        let text = "3331234567\n+39 06 1234 5678\n0039 347 111 2222\n\n+39 320-999-8888\r\n";
        let answer = RpoListFormat::new(RpoAnswerMode::Enrolled)
            .import(text, &submitted())
            .unwrap();
        assert_eq!(answer.enrolled, submitted());
        assert!(answer.not_enrolled.is_empty() && answer.unanswered.is_empty());
    }

    #[test]
    fn import_reads_every_spelling_of_the_outcome() {
        let enrolled = ["1", "iscritto", "si", "Sì", "enrolled", "\"1\"", "ISCRITTO"];
        let not_enrolled = [
            "0",
            "non iscritto",
            "no",
            "not_enrolled",
            "Non Iscritto",
            "NO",
        ];
        for (outcome, expected) in enrolled
            .iter()
            .map(|o| (o, true))
            .chain(not_enrolled.iter().map(|o| (o, false)))
        {
            for separator in [';', ','] {
                let text = format!("3331234567{separator}{outcome}\n");
                let submitted = [phone("+393331234567")];
                for mode in [RpoAnswerMode::Enrolled, RpoAnswerMode::Callable] {
                    let answer = RpoListFormat::new(mode).import(&text, &submitted).unwrap();
                    assert_eq!(answer.enrolled.len() == 1, expected, "{text:?} in {mode:?}");
                    assert_eq!(answer.not_enrolled.len() == 1, !expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn a_list_of_enrolled_numbers_makes_every_other_submitted_number_not_enrolled() {
        let answer = RpoListFormat::new(RpoAnswerMode::Enrolled)
            .import("3331234567\n3471112222\n", &submitted())
            .unwrap();
        assert_eq!(
            answer.enrolled,
            vec![phone("+393331234567"), phone("+393471112222")]
        );
        assert_eq!(
            answer.not_enrolled,
            vec![phone("+390612345678"), phone("+393209998888")]
        );
        assert!(answer.unanswered.is_empty());
    }

    #[test]
    fn a_list_of_callable_numbers_makes_every_other_submitted_number_enrolled() {
        let answer = RpoListFormat::new(RpoAnswerMode::Callable)
            .import("3331234567\n3471112222\n", &submitted())
            .unwrap();
        assert_eq!(
            answer.not_enrolled,
            vec![phone("+393331234567"), phone("+393471112222")]
        );
        assert_eq!(
            answer.enrolled,
            vec![phone("+390612345678"), phone("+393209998888")]
        );
    }

    #[test]
    fn an_empty_answer_is_read_by_the_mode() {
        let all = submitted();
        let none_enrolled = RpoListFormat::new(RpoAnswerMode::Enrolled)
            .import("", &all)
            .unwrap();
        assert_eq!(none_enrolled.not_enrolled, all);
        let none_callable = RpoListFormat::new(RpoAnswerMode::Callable)
            .import("\n", &all)
            .unwrap();
        assert_eq!(none_callable.enrolled, all);
    }

    #[test]
    fn a_file_stating_every_outcome_leaves_the_numbers_it_omits_unanswered() {
        let text = "numero;esito\n3331234567;1\n0612345678;0\n";
        let answer = RpoListFormat::new(RpoAnswerMode::Callable)
            .import(text, &submitted())
            .unwrap();
        assert_eq!(answer.enrolled, vec![phone("+393331234567")]);
        assert_eq!(answer.not_enrolled, vec![phone("+390612345678")]);
        assert_eq!(
            answer.unanswered,
            vec![phone("+393471112222"), phone("+393209998888")]
        );
    }

    #[test]
    fn bad_lines_are_named_by_their_number() {
        let text = "3331234567\n12ab\n3471112222;forse\n+41446681800\n3209998888;1\n3331234567;0\n3351234567\n";
        let errors = RpoListFormat::new(RpoAnswerMode::Enrolled)
            .import(text, &submitted()[..3])
            .unwrap_err();
        let named: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            named,
            vec![
                (2, "number"),
                (3, "outcome"),
                (4, "number"),
                (5, "number"),
                (6, "outcome"),
                (7, "number"),
            ]
        );
        assert!(errors[1].reason.contains("forse"), "{}", errors[1].reason);
        assert!(errors[2].reason.contains("not an Italian number"));
        assert!(errors[3].reason.contains("not in the list sent"));
        assert!(errors[4].reason.contains("line 1"), "{}", errors[4].reason);
        assert_eq!(
            errors[0].to_string().split(':').next(),
            Some("line 2"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_foreign_number_in_the_submitted_list_is_not_asked_about() {
        let submitted = [phone("+393331234567"), phone("+41446681800")];
        let answer = RpoListFormat::new(RpoAnswerMode::Enrolled)
            .import("", &submitted)
            .unwrap();
        assert_eq!(answer.not_enrolled, vec![phone("+393331234567")]);
        assert!(answer.enrolled.is_empty() && answer.unanswered.is_empty());
    }

    #[test]
    fn the_list_format_reads_from_settings_with_national_numbers_by_default() {
        let format: RpoListFormat = serde_json::from_str(r#"{"answer_mode": "callable"}"#).unwrap();
        assert_eq!(format, RpoListFormat::new(RpoAnswerMode::Callable));
    }
}
