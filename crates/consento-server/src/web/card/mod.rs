//! The contact card (the seed's "scheda anagrafica") and the contact moment.
//!
//! The card shows one checkbox per consent type with the date it was given. Ticking one records
//! a `given` event dated as the operator says (a paper form signed last week), never in the
//! future; unticking one records a `withdrawn` event after a confirmation step (GDPR Art. 7(3):
//! withdrawing is as easy as giving, but an operator's slip must not withdraw a consent). Both go
//! through the same append as the API, with the operator as actor. The card also edits the
//! provenance (source, Art. 6(1) legal basis, purposes), sets the restriction (Art. 18) and the
//! objection (Art. 21), shows and records the telemarketing facts (the opt-out register's
//! checks and its exceptions, the calls' outcomes), and lists the history: every ledger event
//! and every justified contact.
//!
//! The contact moment: "Send email", "Call", "Send SMS" ask the decision engine (the decision
//! rules, `consento_domain::decision::decide`). Allowed: the card says by which consent. Needs a
//! reason: the card opens the seed's pop-up, a dialog asking for a reason from the active list
//! (it is the card re-rendered with `?moment=<action>`, so it works without JavaScript); the
//! justified contact is recorded before the operator proceeds. Blocked: the card says why, with
//! dates, and offers no way around it.
//!
//! Every change, every contact moment, and every view of a card is audited.
//!
//! The code is split by concern: `page` builds and shows the card, `history` lists what
//! happened, `consents` saves the consents form, `provenance` the provenance fields, `flags` the
//! restriction, objection and channel switches, `moment` answers the contact moment and records
//! the justified contact, `downloads` hands out the data export and the signed receipts,
//! `telemarketing` shows and records what lets a marketing call through the opt-out register
//! and how the calls ended. What they share lives here: the methods and moments offered, and
//! the words of codes.

mod consents;
mod downloads;
mod flags;
mod history;
mod moment;
mod page;
mod provenance;
mod telemarketing;

use std::collections::HashMap;

use consento_domain::{Action, CollectionMethod};
use consento_store::CurrentConsent;

use super::page::PageError;
use crate::i18n::{Arg, Tr};

pub use consents::save_consents;
pub use downloads::{export_csv, export_json, receipt};
pub use flags::{channel, objection, restriction};
pub use moment::{justify, moment};
pub use page::show;
pub use provenance::save_provenance;
pub use telemarketing::{call_outcome, call_request, customer, directory};

/// The collection methods an operator picks from when ticking or unticking a consent on the
/// card; the others (import, API, preference center…) are recorded by machines.
const METHODS: [CollectionMethod; 6] = [
    CollectionMethod::Phone,
    CollectionMethod::Paper,
    CollectionMethod::Email,
    CollectionMethod::InPerson,
    CollectionMethod::Form,
    CollectionMethod::Operator,
];

/// The contact moments of the card: the single contacts an operator makes (bulk sends are the
/// newsletter's).
const MOMENTS: [Action; 3] = [Action::EmailSingle, Action::PhoneCall, Action::SmsSingle];

/// An argument of a message, owned.
fn text(s: impl Into<String>) -> Arg<'static> {
    Arg::Text(s.into().into())
}

/// A key segment of a code: `email.single` → `email-single`.
fn key_of(code: &str) -> String {
    code.replace(['.', '_'], "-")
}

fn action_words(tr: Tr, action: Action) -> String {
    tr.t(&format!("card-action-{}", key_of(action.code())))
}

fn method_words(tr: Tr, method: CollectionMethod) -> String {
    tr.t(&format!("card-method-{}", key_of(method.code())))
}

/// Parses the action of a contact moment: one of the card's three.
fn moment_action(code: &str) -> Result<Action, PageError> {
    Action::parse(code)
        .ok()
        .filter(|a| MOMENTS.contains(a))
        .ok_or(PageError::NotFound)
}

/// "Newsletter (NEWS)": a consent type as the card names it.
struct Titles(HashMap<String, String>);

impl Titles {
    fn of(consents: &[CurrentConsent]) -> Self {
        Self(
            consents
                .iter()
                .map(|c| {
                    (
                        c.code.as_str().to_owned(),
                        format!("{} ({})", c.title, c.code),
                    )
                })
                .collect(),
        )
    }

    fn name(&self, code: &str) -> String {
        self.0.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consento_domain::EventKind;

    #[test]
    fn every_action_method_kind_and_basis_has_words_in_both_languages() {
        use crate::i18n::Locale;
        for locale in Locale::ALL {
            let tr = Tr::rome(locale);
            let mut keys: Vec<String> = Vec::new();
            keys.extend(
                Action::ALL
                    .iter()
                    .map(|a| format!("card-action-{}", key_of(a.code()))),
            );
            keys.extend(
                CollectionMethod::ALL
                    .iter()
                    .map(|m| format!("card-method-{}", key_of(m.code()))),
            );
            keys.extend(
                EventKind::ALL
                    .iter()
                    .map(|k| format!("card-kind-{}", k.code())),
            );
            keys.extend(
                EventKind::ALL
                    .iter()
                    .filter(|k| !k.grants())
                    .map(|k| format!("card-state-{}", k.code())),
            );
            keys.extend(
                consento_domain::LegalBasis::ALL
                    .iter()
                    .map(|b| format!("contacts-basis-{}", key_of(b.code()))),
            );
            // Keys chosen at run time rather than written in a `.t("…")` call.
            keys.extend(
                [
                    "card-error-date-required",
                    "card-error-date-invalid",
                    "card-error-date-future",
                    "card-error-reason-objection",
                    "card-error-reason-inactive",
                    "card-missing-email",
                    "card-missing-phone",
                    "done-contact-created",
                    "done-contact-saved",
                    "done-consents-saved",
                    "done-consents-unchanged",
                    "done-restriction-set",
                    "done-restriction-lifted",
                    "done-objection-set",
                    "done-objection-lifted",
                ]
                .map(str::to_owned),
            );
            for key in keys {
                assert!(tr.has(&key), "{}: {key}", locale.code());
            }
        }
    }

    #[test]
    fn only_the_three_single_contacts_are_moments_of_the_card() {
        assert!(moment_action("phone.call").is_ok());
        assert!(moment_action("email.bulk").is_err());
        assert!(moment_action("fax").is_err());
    }
}
