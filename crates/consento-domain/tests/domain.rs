#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The decision rules ([`decide`], rules 1–7) and the projection of a consent's events onto
//! its state ([`latest_event_at`], [`expiry_of`]), tested together the way the store uses them:
//! each consent state is projected from a generated event history at the instant of the decision.
//!
//! Property tests cover rule 6/7 (a withdrawn or expired consent never allows; the instant
//! `event_time + validity` is already expired; giving a valid consent never takes `allowed`
//! away; neither the insertion order of events with distinct times nor the order of the
//! consents changes the outcome; the cause cited by rule 7) and the precedence of rules 1–5. Example tests pin rules 1–5 and `Decision::accept_reason`.

use consento_domain::consent::{EventFacts, expiry_of, latest_event_at};
use consento_domain::time::MICROS_PER_DAY;
use consento_domain::{
    Action, AllowedBy, Cause, Channel, ConsentCode, ConsentState, ConsentTypeId, ContactReason,
    ContactStatus, Decision, EventKind, Permissions, PrivacySettings, ReasonId, Timestamp, decide,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// 2025-01-01T00:00:00Z, the origin of every generated instant.
const T0_MICROS: i64 = 1_735_689_600_000_000;
/// One hour in microseconds: generated instants lie on an hourly grid, so that expiries of
/// different consents and decision instants often coincide exactly.
const HOUR: i64 = 3_600_000_000;
/// Events happen within the first 500 days after T0.
const EVENT_HOURS: i64 = 24 * 500;
/// Decisions are asked within the first 600 days after T0.
const AT_HOURS: i64 = 24 * 600;

/// A consent type that permits every action.
const EVERYTHING: Permissions = Permissions {
    email_bulk: true,
    email_single: true,
    phone_call: true,
    sms_single: true,
    sms_bulk: true,
};

fn hours(h: i64) -> Timestamp {
    Timestamp::from_micros(T0_MICROS + h * HOUR)
}

fn days(d: i64) -> Timestamp {
    Timestamp::from_micros(T0_MICROS + d * MICROS_PER_DAY)
}

fn micros_before(t: Timestamp, n: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() - n)
}

/// One consent type of a contact, with that contact's events for it in insertion (ledger) order.
#[derive(Debug, Clone)]
struct TypeHistory {
    type_id: ConsentTypeId,
    code: ConsentCode,
    permissions: Permissions,
    validity_days: Option<u32>,
    events: Vec<EventFacts>,
}

impl TypeHistory {
    /// Type number `n`, code `TYPE<n>`, with `events` recorded in the order given (seq 0, 1, …).
    fn new(
        n: u8,
        permissions: Permissions,
        validity_days: Option<u32>,
        events: &[(Timestamp, EventKind)],
    ) -> Self {
        let mut history = Self {
            type_id: ConsentTypeId::new_v7(hours(0), [n; 10]),
            code: ConsentCode::parse(&format!("TYPE{n}")).unwrap(),
            permissions,
            validity_days,
            events: Vec::new(),
        };
        for &(event_time, kind) in events {
            history.record(kind, event_time);
        }
        history
    }

    /// Appends an event to the ledger: its seq is its insertion position.
    fn record(&mut self, kind: EventKind, event_time: Timestamp) {
        self.events.push(EventFacts {
            seq: i64::try_from(self.events.len()).unwrap(),
            kind,
            event_time,
            validity_days: self.validity_days,
        });
    }

    /// The latest event at `at`, as the projection sees it.
    fn latest(&self, at: Timestamp) -> Option<&EventFacts> {
        latest_event_at(&self.events, at)
    }

    /// The consent's state at `at`: none if no event has happened yet.
    fn state_at(&self, at: Timestamp) -> Option<ConsentState> {
        let e = self.latest(at)?;
        Some(ConsentState {
            type_id: self.type_id,
            code: self.code.clone(),
            permissions: self.permissions,
            marketing: true,
            kind: e.kind,
            event_time: e.event_time,
            expires_at: expiry_of(e.kind, e.event_time, e.validity_days),
        })
    }

    /// Whether this consent is in force at `at`, read from the events by the words of rule 6.
    fn in_force_at(&self, at: Timestamp) -> bool {
        self.latest(at).is_some_and(|e| {
            e.kind.grants()
                && expiry_of(e.kind, e.event_time, e.validity_days).is_none_or(|x| at < x)
        })
    }
}

/// Everything `decide` is asked about one contact.
#[derive(Debug, Clone)]
struct Scenario {
    contact: ContactStatus,
    settings: PrivacySettings,
    types: Vec<TypeHistory>,
    action: Action,
    at: Timestamp,
}

impl Scenario {
    /// A contact with no flags, every check on.
    fn plain(types: Vec<TypeHistory>, action: Action, at: Timestamp) -> Self {
        Self {
            contact: ContactStatus::default(),
            settings: PrivacySettings::default(),
            types,
            action,
            at,
        }
    }

    fn states(&self) -> Vec<ConsentState> {
        self.types
            .iter()
            .filter_map(|t| t.state_at(self.at))
            .collect()
    }

    fn decide(&self) -> Decision {
        decide(
            &self.contact,
            &self.settings,
            &self.states(),
            self.action,
            self.at,
        )
    }

    fn permitting(&self) -> impl Iterator<Item = &TypeHistory> {
        self.types
            .iter()
            .filter(|t| t.permissions.permits(self.action))
    }

    /// What rules 1–5 decide (with rule 3b, a channel the person switched off), if one of them
    /// applies, written from the rules as stated (first match wins), not from the code.
    fn expected_from_rules_one_to_five(&self) -> Option<Decision> {
        let c = &self.contact;
        let bulk = self.action.is_bulk();
        let blocked = |cause| Some(Decision::Blocked { cause });
        if c.erased_at.is_some() {
            return blocked(Cause::Erased);
        }
        if let Some(since) = c.restricted_since {
            return blocked(Cause::Restricted { since });
        }
        if let Some(since) = c.objected_since {
            return if bulk {
                blocked(Cause::Objected { since })
            } else {
                Some(Decision::NeedsJustification {
                    cause: Cause::Objected { since },
                    marketing_reasons_allowed: false,
                })
            };
        }
        let off = match self.action {
            Action::EmailSingle | Action::EmailBulk => {
                c.email_off_since.map(|s| (Channel::Email, s))
            }
            Action::PhoneCall => c.phone_off_since.map(|s| (Channel::Phone, s)),
            Action::SmsSingle | Action::SmsBulk => c.sms_off_since.map(|s| (Channel::Sms, s)),
        };
        if let Some((channel, since)) = off {
            let cause = Cause::ChannelOff { channel, since };
            return if bulk {
                blocked(cause)
            } else {
                Some(Decision::NeedsJustification {
                    cause,
                    marketing_reasons_allowed: false,
                })
            };
        }
        let suppressed = match self.action {
            Action::EmailBulk => c.email_suppressed,
            Action::SmsBulk => c.phone_suppressed,
            _ => false,
        };
        if suppressed {
            return blocked(Cause::Suppressed);
        }
        if !self.settings.checks(self.action) {
            return Some(Decision::Allowed {
                allowed_by: AllowedBy::CheckDisabled,
            });
        }
        None
    }
}

fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        4 => Just(EventKind::Given),
        2 => Just(EventKind::Renewed),
        2 => Just(EventKind::Withdrawn),
        1 => Just(EventKind::Refused),
        1 => Just(EventKind::Revoked),
    ]
}

fn permissions() -> impl Strategy<Value = Permissions> {
    any::<[bool; 5]>().prop_map(|[b, s, c, ss, sb]| Permissions {
        email_bulk: b,
        email_single: s,
        phone_call: c,
        sms_single: ss,
        sms_bulk: sb,
    })
}

fn validity_days() -> impl Strategy<Value = Option<u32>> {
    prop::option::weighted(0.8, 1u32..=400)
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL)
}

/// One type's events: distinct event times, random kinds, recorded in a random order (so
/// backdated events recorded late are common). Half the times are on the hourly grid, half on
/// a coarse grid of ten instants, so that different types often share an instant (as when a
/// person unsubscribes from everything at once).
fn events() -> impl Strategy<Value = Vec<(Timestamp, EventKind)>> {
    let hour = prop_oneof![
        0..EVENT_HOURS,
        (0..10i64).prop_map(|n| n * EVENT_HOURS / 10),
    ];
    prop::collection::btree_map(hour, event_kind(), 0..6)
        .prop_map(|m| {
            m.into_iter()
                .map(|(h, k)| (hours(h), k))
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

/// Two to four consent types, each with its permissions, validity and events.
fn types() -> impl Strategy<Value = Vec<TypeHistory>> {
    prop::collection::vec((permissions(), validity_days(), events()), 2..=4).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(n, (p, v, e))| TypeHistory::new(u8::try_from(n).unwrap(), p, v, &e))
            .collect()
    })
}

/// A contact that is usually unflagged (so rules 6 and 7 get most cases), sometimes erased,
/// restricted, objecting, with a channel switched off, or suppressed.
fn contact_status() -> impl Strategy<Value = ContactStatus> {
    let since = |p: f64| prop::option::weighted(p, (0..AT_HOURS).prop_map(hours));
    (
        (since(0.08), since(0.08), since(0.12)),
        (since(0.08), since(0.08), since(0.08)),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(
                (erased_at, restricted_since, objected_since),
                (email_off, phone_off, sms_off),
                email,
                phone,
            )| {
                ContactStatus {
                    erased_at,
                    restricted_since,
                    objected_since,
                    email_suppressed: email,
                    phone_suppressed: phone,
                    email_off_since: email_off,
                    phone_off_since: phone_off,
                    sms_off_since: sms_off,
                }
            },
        )
}

fn settings() -> impl Strategy<Value = PrivacySettings> {
    let on = || prop::bool::weighted(0.85);
    (on(), on(), on(), on()).prop_map(|(single, bulk, phone, sms)| PrivacySettings {
        check_email_single: single,
        check_email_bulk: bulk,
        check_phone: phone,
        check_sms: sms,
    })
}

/// A whole scenario. The decision instant is either anywhere on the grid or, a third of the
/// time, exactly at (or one microsecond around) the expiry of one of the generated events.
fn scenario() -> impl Strategy<Value = Scenario> {
    (
        contact_status(),
        settings(),
        types(),
        action(),
        0..AT_HOURS,
        prop::option::weighted(0.35, (any::<Index>(), any::<Index>(), -1i64..=1)),
    )
        .prop_map(|(contact, settings, types, action, at_hours, boundary)| {
            let at = boundary
                .and_then(|(ti, ei, delta)| {
                    let t = ti.get(&types);
                    if t.events.is_empty() {
                        return None;
                    }
                    let e = ei.get(&t.events);
                    let expiry = expiry_of(EventKind::Given, e.event_time, e.validity_days)?;
                    Some(Timestamp::from_micros(expiry.as_micros() + delta))
                })
                .unwrap_or_else(|| hours(at_hours));
            Scenario {
                contact,
                settings,
                types,
                action,
                at,
            }
        })
}

fn reason(active: bool, marketing: bool) -> ContactReason {
    ContactReason {
        id: ReasonId::new_v7(hours(0), [7; 10]),
        label: "Reply to the person's own request".into(),
        active,
        marketing,
    }
}

fn code(text: &str) -> ConsentCode {
    ConsentCode::parse(text).unwrap()
}

proptest! {
    #[test]
    fn a_withdrawn_or_expired_consent_never_allows(s in scenario()) {
        let decision = s.decide();
        if let Decision::Allowed { allowed_by: AllowedBy::Consent { code, given_at, expires_at, .. } } = &decision {
            let t = s.types.iter().find(|t| t.code == *code).expect("the cited type exists");
            prop_assert!(t.permissions.permits(s.action), "{code} does not permit {}", s.action);
            let latest = t.latest(s.at).expect("the cited consent has an event");
            prop_assert!(latest.kind.grants(), "{code} allowed while its latest event is {}", latest.kind);
            let expiry = expiry_of(latest.kind, latest.event_time, latest.validity_days);
            prop_assert!(expiry.is_none_or(|e| s.at < e), "{code} allowed at {} but expired at {:?}", s.at, expiry);
            prop_assert_eq!(*given_at, latest.event_time);
            prop_assert_eq!(*expires_at, expiry);
        }
        if !s.permitting().any(|t| t.in_force_at(s.at)) {
            prop_assert!(
                !matches!(decision, Decision::Allowed { allowed_by: AllowedBy::Consent { .. } }),
                "allowed by a consent, but no permitting consent is in force: {decision:?}"
            );
        }
    }

    #[test]
    fn a_suspended_contact_is_never_allowed_by_a_consent_and_the_decision_names_the_suspension(s in scenario()) {
        let decision = s.decide();
        if let Some(cause) = consento_domain::suspension(&s.contact) {
            let decided = match &decision {
                Decision::Blocked { cause } | Decision::NeedsJustification { cause, .. } => Some(cause.clone()),
                Decision::Allowed { .. } => None,
            };
            prop_assert_eq!(decided, Some(cause));
        } else {
            let suspended = matches!(
                decision,
                Decision::Blocked { cause: Cause::Erased | Cause::Restricted { .. } | Cause::Objected { .. } }
                    | Decision::NeedsJustification { cause: Cause::Objected { .. }, .. }
            );
            prop_assert!(!suspended, "a suspension cause without a suspension: {:?}", decision);
        }
    }

    #[test]
    fn a_consent_in_force_allows_when_no_earlier_rule_applies(s in scenario()) {
        if s.expected_from_rules_one_to_five().is_some() {
            return Ok(());
        }
        let in_force = s.permitting().any(|t| t.in_force_at(s.at));
        prop_assert_eq!(s.decide().is_allowed(), in_force);
    }

    #[test]
    fn the_instant_event_time_plus_validity_is_already_expired(
        h in 0..EVENT_HOURS,
        jitter in 0..HOUR,
        validity in 1u32..=400,
        kind in prop_oneof![Just(EventKind::Given), Just(EventKind::Renewed)],
        action in action(),
    ) {
        let given_at = Timestamp::from_micros(hours(h).as_micros() + jitter);
        let news = TypeHistory::new(0, EVERYTHING, Some(validity), &[(given_at, kind)]);
        let expiry = given_at.plus_days(validity);
        prop_assert_eq!(expiry.as_micros() - given_at.as_micros(), i64::from(validity) * MICROS_PER_DAY);

        let at_expiry = Scenario::plain(vec![news.clone()], action, expiry).decide();
        let cause = Cause::Expired { code: news.code.clone(), at: expiry };
        let expected = if action.is_bulk() {
            Decision::Blocked { cause }
        } else {
            Decision::NeedsJustification { cause, marketing_reasons_allowed: true }
        };
        prop_assert_eq!(at_expiry, expected);

        let just_before = Scenario::plain(vec![news.clone()], action, micros_before(expiry, 1)).decide();
        prop_assert_eq!(just_before, Decision::Allowed {
            allowed_by: AllowedBy::Consent { code: news.code, given_at, expires_at: Some(expiry), marketing: true },
        });
    }

    #[test]
    fn giving_a_valid_permitting_consent_never_turns_allowed_into_anything_else(
        s in scenario(),
        target in any::<Index>(),
        new_permissions in permissions(),
        new_validity in validity_days(),
        back in any::<u64>(),
    ) {
        let before = s.decide();
        let mut after = s.clone();
        // Either a type the contact already has events for, or a new type that permits the action.
        let i = target.index(after.types.len() + 1);
        if i == after.types.len() {
            let mut p = new_permissions;
            match s.action {
                Action::EmailSingle => p.email_single = true,
                Action::EmailBulk => p.email_bulk = true,
                Action::PhoneCall => p.phone_call = true,
                Action::SmsSingle => p.sms_single = true,
                Action::SmsBulk => p.sms_bulk = true,
            }
            after.types.push(TypeHistory::new(u8::try_from(i).unwrap(), p, new_validity, &[]));
        }
        let t = &mut after.types[i];
        // The fresh event must be the latest at `at` (an equal time is fine: it is recorded last)
        // and still valid at `at`.
        let room = t.latest(s.at).map_or(i64::MAX, |l| s.at.as_micros() - l.event_time.as_micros());
        let window = t.validity_days.map_or(i64::MAX, |d| i64::from(d) * MICROS_PER_DAY - 1);
        let span = room.min(window).min(600 * MICROS_PER_DAY);
        let offset = i64::try_from(back % (u64::try_from(span).unwrap() + 1)).unwrap();
        let given_at = micros_before(s.at, offset);
        t.record(EventKind::Given, given_at);
        let latest = t.latest(s.at).unwrap();
        prop_assert_eq!((latest.kind, latest.event_time), (EventKind::Given, given_at));
        prop_assert!(t.in_force_at(s.at));
        let permits = t.permissions.permits(s.action);

        let decided = after.decide();
        if before.is_allowed() {
            prop_assert!(decided.is_allowed(), "was {before:?}, became {decided:?}");
        }
        let only_consent_decides = after.expected_from_rules_one_to_five().is_none();
        if permits && only_consent_decides {
            prop_assert!(
                matches!(decided, Decision::Allowed { allowed_by: AllowedBy::Consent { .. } }),
                "a valid permitting consent was given, yet {decided:?}"
            );
        }
    }

    #[test]
    fn the_outcome_does_not_depend_on_the_order_events_were_inserted_when_their_times_differ(
        (s, reordered) in scenario().prop_flat_map(|s| {
            let shuffled: Vec<_> = s.types.iter().map(|t| Just(t.events.clone()).prop_shuffle()).collect();
            (Just(s), shuffled)
        })
    ) {
        let mut shuffled = s.clone();
        for (t, events) in shuffled.types.iter_mut().zip(reordered) {
            t.events.clear();
            for e in events {
                t.record(e.kind, e.event_time);
            }
        }
        prop_assert_eq!(shuffled.states(), s.states());
        prop_assert_eq!(shuffled.decide(), s.decide());
    }

    #[test]
    fn the_outcome_does_not_depend_on_the_order_of_the_consents(
        (s, order) in scenario().prop_flat_map(|s| {
            let n = s.states().len();
            (Just(s), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
    ) {
        let states = s.states();
        let reordered: Vec<_> = order.iter().map(|&i| states[i].clone()).collect();
        prop_assert_eq!(
            decide(&s.contact, &s.settings, &reordered, s.action, s.at),
            decide(&s.contact, &s.settings, &states, s.action, s.at)
        );
    }

    #[test]
    fn rules_one_to_five_decide_before_any_consent_is_read(s in scenario()) {
        if let Some(expected) = s.expected_from_rules_one_to_five() {
            prop_assert_eq!(s.decide(), expected);
        }
    }

    #[test]
    fn without_a_valid_consent_the_clearest_cause_is_cited(s in scenario()) {
        if s.expected_from_rules_one_to_five().is_some() || s.permitting().any(|t| t.in_force_at(s.at)) {
            return Ok(());
        }
        // Rule 7: withdrawn (or revoked), else expired, else refused, else no consent; the most
        // recent instant of that kind is cited.
        let latest: Vec<_> = s
            .permitting()
            .filter_map(|t| t.latest(s.at).map(|e| (t, e)))
            .collect();
        let most_recent = |pick: &dyn Fn(&EventFacts) -> Option<Timestamp>| {
            latest.iter().filter_map(|(t, e)| pick(e).map(|x| (x, t.code.clone()))).max_by_key(|(x, _)| *x)
        };
        let withdrawn = most_recent(&|e| matches!(e.kind, EventKind::Withdrawn | EventKind::Revoked).then_some(e.event_time));
        let expired = most_recent(&|e| expiry_of(e.kind, e.event_time, e.validity_days).filter(|x| *x <= s.at));
        let refused = most_recent(&|e| (e.kind == EventKind::Refused).then_some(e.event_time));
        let expected = withdrawn
            .map(|w| ("withdrawn", Some(w.0)))
            .or(expired.map(|x| ("expired", Some(x.0))))
            .or(refused.map(|r| ("refused", Some(r.0))))
            .unwrap_or(("no_consent", None));

        let (cause, marketing_ok) = match s.decide() {
            Decision::Blocked { cause } if s.action.is_bulk() => (cause, None),
            Decision::NeedsJustification { cause, marketing_reasons_allowed } if !s.action.is_bulk() => {
                (cause, Some(marketing_reasons_allowed))
            }
            other => return Err(TestCaseError::fail(format!("rule 7 expected, got {other:?}"))),
        };
        if let Some(ok) = marketing_ok {
            prop_assert!(ok, "without an objection a marketing reason may justify a contact");
        }
        let (code, when) = match &cause {
            Cause::Withdrawn { code, at } | Cause::Expired { code, at } | Cause::Refused { code, at } => {
                (Some(code.clone()), Some(*at))
            }
            _ => (None, None),
        };
        prop_assert_eq!((cause.code(), when), expected);
        // With ties on the instant, any of the tied consents may be cited; it must be one of them.
        if let (Some(code), Some(when)) = (code, when) {
            let t = s.permitting().find(|t| t.code == code).expect("the cited type permits the action");
            let e = t.latest(s.at).expect("the cited consent has an event");
            let instant = if cause.code() == "expired" {
                expiry_of(e.kind, e.event_time, e.validity_days)
            } else {
                Some(e.event_time)
            };
            prop_assert_eq!(instant, Some(when));
        }
    }
}

#[test]
fn an_erased_contact_is_blocked_for_every_action_whatever_else_holds() {
    let contact = ContactStatus {
        erased_at: Some(days(100)),
        restricted_since: Some(days(90)),
        objected_since: Some(days(80)),
        email_suppressed: true,
        phone_suppressed: true,
        email_off_since: Some(days(70)),
        phone_off_since: Some(days(70)),
        sms_off_since: Some(days(70)),
    };
    let off = PrivacySettings {
        check_email_single: false,
        check_email_bulk: false,
        check_phone: false,
        check_sms: false,
    };
    let news = TypeHistory::new(0, EVERYTHING, None, &[(days(10), EventKind::Given)]);
    for &action in Action::ALL {
        for settings in [PrivacySettings::default(), off] {
            let s = Scenario {
                contact: contact.clone(),
                settings,
                types: vec![news.clone()],
                action,
                at: days(120),
            };
            assert_eq!(
                s.decide(),
                Decision::Blocked {
                    cause: Cause::Erased
                },
                "{action}"
            );
        }
    }
}

#[test]
fn a_restricted_contact_is_blocked_even_with_valid_consents_and_checks_disabled() {
    let news = TypeHistory::new(0, EVERYTHING, None, &[(days(10), EventKind::Given)]);
    for &action in Action::ALL {
        let s = Scenario {
            contact: ContactStatus {
                restricted_since: Some(days(50)),
                objected_since: Some(days(40)),
                ..ContactStatus::default()
            },
            settings: PrivacySettings {
                check_email_single: false,
                check_email_bulk: false,
                check_phone: false,
                check_sms: false,
            },
            types: vec![news.clone()],
            action,
            at: days(60),
        };
        let decision = s.decide();
        assert_eq!(
            decision,
            Decision::Blocked {
                cause: Cause::Restricted { since: days(50) }
            },
            "{action}"
        );
        assert!(decision.accept_reason(&reason(true, false)).is_err());
    }
}

#[test]
fn an_objection_blocks_bulk_and_leaves_single_contacts_to_non_marketing_reasons() {
    let news = TypeHistory::new(0, EVERYTHING, None, &[(days(10), EventKind::Given)]);
    for &action in Action::ALL {
        for settings in [
            PrivacySettings::default(),
            PrivacySettings {
                check_email_single: false,
                check_email_bulk: false,
                check_phone: false,
                check_sms: false,
            },
        ] {
            let s = Scenario {
                contact: ContactStatus {
                    objected_since: Some(days(30)),
                    email_suppressed: true,
                    phone_suppressed: true,
                    ..ContactStatus::default()
                },
                settings,
                types: vec![news.clone()],
                action,
                at: days(60),
            };
            let cause = Cause::Objected { since: days(30) };
            let expected = if action.is_bulk() {
                Decision::Blocked { cause }
            } else {
                Decision::NeedsJustification {
                    cause,
                    marketing_reasons_allowed: false,
                }
            };
            assert_eq!(s.decide(), expected, "{action}");
        }
    }
}

#[test]
fn a_suppressed_address_blocks_only_bulk_sending_on_its_own_channel() {
    let news = TypeHistory::new(0, EVERYTHING, None, &[(days(10), EventKind::Given)]);
    let cases = [
        (true, false, Action::EmailBulk),
        (false, true, Action::SmsBulk),
    ];
    for (email_suppressed, phone_suppressed, blocked_action) in cases {
        for &action in Action::ALL {
            for settings in [
                PrivacySettings::default(),
                PrivacySettings {
                    check_email_single: false,
                    check_email_bulk: false,
                    check_phone: false,
                    check_sms: false,
                },
            ] {
                let s = Scenario {
                    contact: ContactStatus {
                        email_suppressed,
                        phone_suppressed,
                        ..ContactStatus::default()
                    },
                    settings,
                    types: vec![news.clone()],
                    action,
                    at: days(60),
                };
                let decision = s.decide();
                if action == blocked_action {
                    assert_eq!(
                        decision,
                        Decision::Blocked {
                            cause: Cause::Suppressed
                        },
                        "{action}"
                    );
                } else {
                    assert!(decision.is_allowed(), "{action}: {decision:?}");
                }
            }
        }
    }
}

#[test]
fn a_disabled_check_allows_its_channel_without_a_consent_and_leaves_the_others_checked() {
    let withdrawn = TypeHistory::new(
        0,
        EVERYTHING,
        None,
        &[
            (days(10), EventKind::Given),
            (days(20), EventKind::Withdrawn),
        ],
    );
    /// A way to turn one check off, and the actions that check covers.
    type Switch = (fn(&mut PrivacySettings), &'static [Action]);
    let switches: [Switch; 4] = [
        (|s| s.check_email_single = false, &[Action::EmailSingle]),
        (|s| s.check_email_bulk = false, &[Action::EmailBulk]),
        (|s| s.check_phone = false, &[Action::PhoneCall]),
        (
            |s| s.check_sms = false,
            &[Action::SmsSingle, Action::SmsBulk],
        ),
    ];
    for (switch_off, unchecked) in switches {
        for types in [vec![], vec![withdrawn.clone()]] {
            for &action in Action::ALL {
                let mut s = Scenario::plain(types.clone(), action, days(60));
                switch_off(&mut s.settings);
                let decision = s.decide();
                if unchecked.contains(&action) {
                    assert_eq!(
                        decision,
                        Decision::Allowed {
                            allowed_by: AllowedBy::CheckDisabled
                        },
                        "{action}"
                    );
                } else {
                    assert!(!decision.is_allowed(), "{action}: {decision:?}");
                }
            }
        }
    }
}

#[test]
fn a_justification_refuses_an_inactive_reason() {
    let s = Scenario::plain(vec![], Action::PhoneCall, days(1));
    let decision = s.decide();
    assert_eq!(decision.outcome(), "needs_justification");
    let err = decision.accept_reason(&reason(false, false)).unwrap_err();
    assert_eq!(err.field(), "reason");
    assert_eq!(
        decision
            .accept_reason(&reason(false, true))
            .unwrap_err()
            .field(),
        "reason"
    );
}

#[test]
fn under_an_objection_a_marketing_reason_is_refused_and_a_non_marketing_one_accepted() {
    let mut s = Scenario::plain(vec![], Action::EmailSingle, days(1));
    s.contact.objected_since = Some(days(0));
    let decision = s.decide();
    assert_eq!(decision.outcome(), "needs_justification");
    assert_eq!(
        decision
            .accept_reason(&reason(true, true))
            .unwrap_err()
            .field(),
        "reason"
    );
    assert!(decision.accept_reason(&reason(true, false)).is_ok());
}

#[test]
fn without_an_objection_any_active_reason_justifies_a_single_contact() {
    let decision = Scenario::plain(vec![], Action::SmsSingle, days(1)).decide();
    assert!(decision.accept_reason(&reason(true, true)).is_ok());
    assert!(decision.accept_reason(&reason(true, false)).is_ok());
}

#[test]
fn a_blocked_contact_accepts_no_reason() {
    let decision = Scenario::plain(vec![], Action::EmailBulk, days(1)).decide();
    assert_eq!(
        decision,
        Decision::Blocked {
            cause: Cause::NoConsent
        }
    );
    assert!(decision.accept_reason(&reason(true, false)).is_err());
}

#[test]
fn a_consent_given_later_with_a_backdated_time_takes_its_place_by_event_time() {
    // Given on day 10, withdrawn on day 30, then an operator records a paper consent dated day 20:
    // the withdrawal is still the latest event.
    let news = TypeHistory::new(
        0,
        EVERYTHING,
        None,
        &[
            (days(10), EventKind::Given),
            (days(30), EventKind::Withdrawn),
            (days(20), EventKind::Given),
        ],
    );
    let latest = news.latest(days(40)).unwrap();
    assert_eq!((latest.kind, latest.seq), (EventKind::Withdrawn, 1));
    assert_eq!(news.latest(days(25)).unwrap().seq, 2);
    assert!(news.latest(days(5)).is_none());
    let decision = Scenario::plain(vec![news], Action::EmailBulk, days(40)).decide();
    assert_eq!(
        decision,
        Decision::Blocked {
            cause: Cause::Withdrawn {
                code: code("TYPE0"),
                at: days(30)
            }
        }
    );
}

#[test]
fn of_two_events_at_the_same_instant_the_one_recorded_last_counts() {
    let news = TypeHistory::new(
        0,
        EVERYTHING,
        None,
        &[
            (days(10), EventKind::Withdrawn),
            (days(10), EventKind::Given),
        ],
    );
    assert_eq!(news.latest(days(10)).unwrap().kind, EventKind::Given);
}

#[test]
fn only_a_given_or_renewed_event_has_an_expiry() {
    for &kind in EventKind::ALL {
        let expiry = expiry_of(kind, days(10), Some(30));
        assert_eq!(expiry, kind.grants().then(|| days(40)), "{kind}");
        assert_eq!(expiry_of(kind, days(10), None), None, "{kind}");
    }
}

#[test]
fn a_renewal_starts_the_validity_again() {
    let news = TypeHistory::new(
        0,
        EVERYTHING,
        Some(30),
        &[(days(0), EventKind::Given), (days(25), EventKind::Renewed)],
    );
    let decision = Scenario::plain(vec![news], Action::EmailBulk, days(40)).decide();
    assert_eq!(
        decision,
        Decision::Allowed {
            allowed_by: AllowedBy::Consent {
                code: code("TYPE0"),
                given_at: days(25),
                expires_at: Some(days(55)),
                marketing: true,
            }
        }
    );
}

#[test]
fn among_valid_consents_the_one_valid_longest_is_cited() {
    let short = TypeHistory::new(1, EVERYTHING, Some(30), &[(days(10), EventKind::Given)]);
    let long = TypeHistory::new(2, EVERYTHING, Some(300), &[(days(5), EventKind::Given)]);
    let forever = TypeHistory::new(3, EVERYTHING, None, &[(days(1), EventKind::Given)]);
    let cited =
        |types: Vec<TypeHistory>| match Scenario::plain(types, Action::EmailSingle, days(20))
            .decide()
        {
            Decision::Allowed {
                allowed_by: AllowedBy::Consent { code, .. },
            } => code,
            other => panic!("expected an allowing consent, got {other:?}"),
        };
    assert_eq!(cited(vec![short.clone(), long.clone()]), code("TYPE2"));
    assert_eq!(cited(vec![long.clone(), short.clone()]), code("TYPE2"));
    assert_eq!(cited(vec![short, forever, long]), code("TYPE3"));
}

#[test]
fn a_consent_that_does_not_permit_the_action_does_not_allow_it() {
    let calls_only = Permissions {
        phone_call: true,
        ..Permissions::default()
    };
    let calls = TypeHistory::new(0, calls_only, None, &[(days(1), EventKind::Given)]);
    let s = |action| Scenario::plain(vec![calls.clone()], action, days(2)).decide();
    assert!(s(Action::PhoneCall).is_allowed());
    assert_eq!(
        s(Action::SmsBulk),
        Decision::Blocked {
            cause: Cause::NoConsent
        }
    );
    assert_eq!(
        s(Action::EmailSingle),
        Decision::NeedsJustification {
            cause: Cause::NoConsent,
            marketing_reasons_allowed: true
        }
    );
}

#[test]
fn a_withdrawal_is_cited_before_an_expiry_and_an_expiry_before_a_refusal() {
    let refused = TypeHistory::new(0, EVERYTHING, None, &[(days(50), EventKind::Refused)]);
    let expired = TypeHistory::new(1, EVERYTHING, Some(10), &[(days(5), EventKind::Given)]);
    let revoked = TypeHistory::new(2, EVERYTHING, None, &[(days(3), EventKind::Revoked)]);
    let cause = |types: Vec<TypeHistory>| match Scenario::plain(types, Action::EmailBulk, days(60))
        .decide()
    {
        Decision::Blocked { cause } => cause,
        other => panic!("expected blocked, got {other:?}"),
    };
    assert_eq!(
        cause(vec![refused.clone(), expired.clone(), revoked]),
        Cause::Withdrawn {
            code: code("TYPE2"),
            at: days(3)
        }
    );
    assert_eq!(
        cause(vec![refused.clone(), expired]),
        Cause::Expired {
            code: code("TYPE1"),
            at: days(15)
        }
    );
    assert_eq!(
        cause(vec![refused]),
        Cause::Refused {
            code: code("TYPE0"),
            at: days(50)
        }
    );
}

#[test]
fn of_equally_recent_causes_the_same_consent_is_cited_whatever_their_order() {
    let cited = |kind: EventKind, validity: Option<u32>, time: Timestamp| {
        let a = TypeHistory::new(4, EVERYTHING, validity, &[(time, kind)]);
        let b = TypeHistory::new(2, EVERYTHING, validity, &[(time, kind)]);
        let c = TypeHistory::new(7, EVERYTHING, validity, &[(time, kind)]);
        let orders = [
            vec![a.clone(), b.clone(), c.clone()],
            vec![c.clone(), b.clone(), a.clone()],
            vec![b, c, a],
        ];
        let decisions: Vec<_> = orders
            .into_iter()
            .map(|types| Scenario::plain(types, Action::EmailBulk, days(60)).decide())
            .collect();
        assert!(decisions.windows(2).all(|w| w[0] == w[1]), "{decisions:?}");
        decisions[0].clone()
    };
    // An unsubscribe from everything at one instant, an expiry on the same day, a refusal.
    let withdrawn = cited(EventKind::Withdrawn, None, days(3));
    let expired = cited(EventKind::Given, Some(10), days(3));
    let refused = cited(EventKind::Refused, None, days(3));
    for (decision, cause) in [
        (
            withdrawn,
            Cause::Withdrawn {
                code: code("TYPE2"),
                at: days(3),
            },
        ),
        (
            expired,
            Cause::Expired {
                code: code("TYPE2"),
                at: days(13),
            },
        ),
        (
            refused,
            Cause::Refused {
                code: code("TYPE2"),
                at: days(3),
            },
        ),
    ] {
        assert_eq!(decision, Decision::Blocked { cause });
    }
}

#[test]
fn a_folded_name_ignores_case_and_latin_accents() {
    use consento_domain::fold_for_search;
    assert_eq!(fold_for_search("NICOLÒ"), "nicolo");
    assert_eq!(fold_for_search("Nicolò D'Angelo"), "nicolo d'angelo");
    assert_eq!(
        fold_for_search("Müller Łukasz Çelik"),
        "muller lukasz celik"
    );
    assert_eq!(fold_for_search("straße"), "straße");
}

#[test]
fn a_person_who_switched_email_off_gets_no_newsletter_and_a_single_email_needs_a_service_reason_while_calls_go_on()
 {
    let contact = ContactStatus {
        email_off_since: Some(days(5)),
        ..ContactStatus::default()
    };
    let news = TypeHistory::new(0, EVERYTHING, None, &[(days(10), EventKind::Given)]);
    let at = days(20);
    let consents: Vec<ConsentState> = news.state_at(at).into_iter().collect();
    let bulk = decide(
        &contact,
        &PrivacySettings::default(),
        &consents,
        Action::EmailBulk,
        at,
    );
    assert_eq!(
        bulk,
        Decision::Blocked {
            cause: Cause::ChannelOff {
                channel: Channel::Email,
                since: days(5)
            }
        }
    );
    let single = decide(
        &contact,
        &PrivacySettings::default(),
        &consents,
        Action::EmailSingle,
        at,
    );
    assert!(matches!(
        single,
        Decision::NeedsJustification {
            marketing_reasons_allowed: false,
            ..
        }
    ));
    let call = decide(
        &contact,
        &PrivacySettings::default(),
        &consents,
        Action::PhoneCall,
        at,
    );
    assert!(call.is_allowed(), "{call:?}");
}
