//! Erasure (GDPR Art. 17) and retention (Art. 5(1)(e)): which categories of a person's data an
//! erasure removes, which it keeps, on what ground and until when; and when a contact whose every
//! basis has lapsed is due for anonymisation. Pure rules: the store carries them out, the API,
//! the CLI and the console show them with the stable codes defined here.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::consent::coded_enum;
use crate::error::DomainError;
use crate::requests::add_months;
use crate::time::Timestamp;
use crate::zone::Zone;

coded_enum!(
    /// Why a contact is erased.
    ErasureReason, "reason" {
        /// The person asked (Art. 17(1)), or the DPO decided on their request.
        Request = "erasure",
        /// Every basis lapsed longer ago than the retention of its purposes (Art. 5(1)(e),
        /// Art. 17(1)(a)).
        Retention = "retention",
    }
);

coded_enum!(
    /// A category of a person's data an erasure removes.
    ErasedCategory, "category" {
        /// Name, external id, attributes, source: the contact's own fields.
        Identity = "identity",
        /// Every email address.
        Emails = "emails",
        /// Every phone number.
        Phones = "phones",
        /// The evidence of each consent (form data, IP, user agent): the ledger keeps its digest.
        ConsentEvidence = "consent_evidence",
        /// The evidence of each switch of a form of communication.
        ChannelEvidence = "channel_evidence",
        /// The operators' notes on justified contacts.
        InteractionNotes = "interaction_notes",
        /// Emails waiting or sent to the person (address and content).
        EmailOutbox = "email_outbox",
        /// Double opt-in requests (address, user agent, IP prefix).
        Subscriptions = "subscription_requests",
        /// The free text of the person's data-subject requests and their history.
        RequestTexts = "request_texts",
        /// The detail of the audit entries about the person.
        AuditDetails = "audit_details",
        /// Delivered webhook messages about the person (their CRM id).
        WebhookPayloads = "webhook_payloads",
        /// The numbers the dialer's reported calls went to.
        CallNumbers = "call_numbers",
    }
);

coded_enum!(
    /// A category of data an erasure keeps, without anything that names the person.
    KeptCategory, "category" {
        /// The consent ledger's events, keyed by the contact's UUID: proof of consent.
        ConsentProof = "consent_proof",
        /// Keyed hashes of every address and number, on the suppression list.
        Suppression = "suppression",
        /// The data-subject requests and their history, without free text.
        RequestRecords = "request_records",
        /// Who reached the person, when, on which channel and for which reason, without notes.
        InteractionRecords = "interaction_records",
        /// The audit trail's entries (who did what, when), without detail.
        AuditTrail = "audit_trail",
        /// The dialer's call outcomes (campaign, outcome, when, which operator), without the
        /// number: the proof that a refusal was honoured and a campaign's silent-call rate.
        CallRecords = "call_records",
    }
);

coded_enum!(
    /// The ground on which a category is kept (Art. 17(3)).
    KeepGround, "ground" {
        /// To demonstrate that consent was given (Art. 7(1)) and for the establishment, exercise
        /// or defence of legal claims (Art. 17(3)(e)).
        DemonstrateConsent = "art7_1_art17_3_e",
        /// To honour the erasure and any objection: without the hashes a re-import or a new
        /// subscription would reach the person again (Art. 17(1), Art. 21(3); Art. 6(1)(c)).
        HonourErasure = "art17_art21_3",
        /// Accountability: the controller must be able to show how it handled the person's
        /// rights (Art. 5(2), Art. 12).
        Accountability = "art5_2",
    }
);

impl KeptCategory {
    /// The ground each kept category rests on.
    pub fn ground(self) -> KeepGround {
        match self {
            Self::ConsentProof => KeepGround::DemonstrateConsent,
            Self::Suppression => KeepGround::HonourErasure,
            Self::RequestRecords
            | Self::InteractionRecords
            | Self::AuditTrail
            | Self::CallRecords => KeepGround::Accountability,
        }
    }
}

/// How long an erasure keeps what it keeps, in years from the erasure. The suppression hashes
/// have no end: they are kept as long as the erasure must be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasurePolicy {
    /// The pseudonymous consent proof and the justified contacts: 10 years by default, the
    /// ordinary limitation period of the Italian civil code (art. 2946 c.c.).
    pub proof_years: u8,
    /// The request records and the audit trail: 5 years by default.
    pub records_years: u8,
}

impl Default for ErasurePolicy {
    fn default() -> Self {
        Self {
            proof_years: 10,
            records_years: 5,
        }
    }
}

/// One kept category: why and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// What is kept.
    pub category: KeptCategory,
    /// On what ground.
    pub ground: KeepGround,
    /// Until when (`None`: as long as the erasure must be honoured).
    pub until: Option<Date>,
}

impl ErasurePolicy {
    /// What an erasure at `at` keeps, each with its ground and end (a local date in `zone`).
    pub fn kept(&self, at: Timestamp, zone: &Zone) -> Vec<Kept> {
        let after = |years: u8| {
            zone.date_of(at)
                .and_then(|d| add_months(d, 12u8.saturating_mul(years.min(21))))
        };
        KeptCategory::ALL
            .iter()
            .map(|&category| Kept {
                category,
                ground: category.ground(),
                until: match category {
                    KeptCategory::Suppression => None,
                    KeptCategory::ConsentProof | KeptCategory::InteractionRecords => {
                        after(self.proof_years)
                    }
                    _ => after(self.records_years),
                },
            })
            .collect()
    }
}

/// How long data kept for each purpose outlives the last consent (storage limitation, Art.
/// 5(1)(e)). Purposes are free text on the contact; a rule applies to a purpose whose folded
/// text contains the rule's key ("marketing" covers "marketing diretto").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// (key, months), keys folded with [`crate::fold_for_search`].
    rules: Vec<(String, u8)>,
    /// For a contact none of whose purposes has a rule (or with no purposes).
    default_months: u8,
    /// The zone whose local days the months are counted in.
    zone: Zone,
}

impl Default for RetentionPolicy {
    /// The Italian DPA's benchmarks (provvedimento 24 febbraio 2005 on loyalty programmes,
    /// confirmed since): marketing 24 months, profiling 12 months.
    fn default() -> Self {
        Self::new(
            [
                ("marketing", 24),
                ("newsletter", 24),
                ("profilazione", 12),
                ("profiling", 12),
            ]
            .map(|(k, m)| (k.to_owned(), m)),
            24,
        )
    }
}

impl RetentionPolicy {
    /// A policy of `rules` (purpose key → months) and a default, counted in Rome's local days.
    pub fn new(rules: impl IntoIterator<Item = (String, u8)>, default_months: u8) -> Self {
        Self {
            rules: rules
                .into_iter()
                .map(|(k, m)| (crate::fold_for_search(k.trim()), m))
                .filter(|(k, _)| !k.is_empty())
                .collect(),
            default_months,
            zone: Zone::rome(),
        }
    }

    /// This policy, with its months counted in the local days of `zone`.
    pub fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// The months a purpose's data is kept after the last consent ended: the longest rule that
    /// applies, or the default.
    pub fn months_for(&self, purpose: &str) -> u8 {
        let folded = crate::fold_for_search(purpose);
        self.rules
            .iter()
            .filter(|(k, _)| folded.contains(k.as_str()))
            .map(|(_, m)| *m)
            .max()
            .unwrap_or(self.default_months)
    }

    /// The longest retention among `purposes` (the default when there are none): data serving
    /// several purposes is kept until the last of them lapses.
    pub fn months(&self, purposes: &[String]) -> u8 {
        purposes
            .iter()
            .map(|p| self.months_for(p))
            .max()
            .unwrap_or(self.default_months)
    }

    /// The shortest period any contact can have: a first cut the store can apply in SQL.
    pub fn shortest_months(&self) -> u8 {
        self.rules
            .iter()
            .map(|(_, m)| *m)
            .chain([self.default_months])
            .min()
            .unwrap_or(self.default_months)
    }

    /// Whether a contact with `purposes` whose last consent ended at `ended` is past its
    /// retention at `now`: more than the period has run since, counted in the policy zone's
    /// local days.
    pub fn lapsed(&self, purposes: &[String], ended: Timestamp, now: Timestamp) -> bool {
        let zone = &self.zone;
        let (Some(ended), Some(today)) = (zone.date_of(ended), zone.date_of(now)) else {
            return false;
        };
        add_months(ended, self.months(purposes)).is_some_and(|end| today > end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u8, d: u8) -> Timestamp {
        let date = Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
        Timestamp::from_micros(date.midnight().assume_utc().unix_timestamp() * 1_000_000)
    }

    #[test]
    fn retention_counts_local_days_not_utc_ones() {
        let p = RetentionPolicy::default();
        let m = vec!["marketing".to_owned()];
        // The consent ended at 00:30 on 15 June 2024 in Rome (22:30 UTC on the 14th).
        let ended = Timestamp::parse("t", "2024-06-14T22:30:00Z").unwrap();
        let now = Timestamp::parse("t", "2026-06-15T12:00:00Z").unwrap();
        // In Rome the 24 months end on 15 June 2026: today, not yet past.
        assert!(!p.lapsed(&m, ended, now));
        // Reckoned in UTC the consent ended on the 14th, so the 15th would already be past.
        let utc = RetentionPolicy::default().in_zone(Zone::utc());
        assert!(utc.lapsed(&m, ended, now));
    }

    #[test]
    fn marketing_is_kept_24_months_and_profiling_12_by_default() {
        let p = RetentionPolicy::default();
        assert_eq!(p.months_for("Marketing diretto"), 24);
        assert_eq!(p.months_for("profilazione"), 12);
        assert_eq!(p.months(&["profilazione".into(), "marketing".into()]), 24);
        assert_eq!(p.months(&[]), 24);
        assert_eq!(p.shortest_months(), 12);
    }

    #[test]
    fn a_consent_ended_25_months_ago_has_lapsed_and_23_months_ago_has_not() {
        let p = RetentionPolicy::default();
        let now = at(2027, 6, 15);
        let m = vec!["marketing".to_owned()];
        assert!(p.lapsed(&m, at(2025, 5, 15), now));
        assert!(!p.lapsed(&m, at(2025, 7, 15), now));
        assert!(
            !p.lapsed(&m, at(2025, 6, 15), now),
            "exactly the period is not more than it"
        );
        let profiling = vec!["profilazione".to_owned()];
        assert!(p.lapsed(&profiling, at(2026, 5, 1), now));
    }

    #[test]
    fn an_erasure_keeps_proof_ten_years_records_five_and_hashes_without_end() {
        let kept = ErasurePolicy::default().kept(at(2026, 3, 1), &Zone::rome());
        let of = |c| kept.iter().find(|k| k.category == c).unwrap();
        assert_eq!(
            of(KeptCategory::ConsentProof).until,
            Date::from_calendar_date(2036, time::Month::March, 1).ok()
        );
        assert_eq!(
            of(KeptCategory::RequestRecords).until,
            Date::from_calendar_date(2031, time::Month::March, 1).ok()
        );
        assert_eq!(of(KeptCategory::Suppression).until, None);
        assert_eq!(
            of(KeptCategory::ConsentProof).ground.code(),
            "art7_1_art17_3_e"
        );
    }
}
