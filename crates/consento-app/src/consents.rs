//! Recording consent events (given, refused, withdrawn, renewed, revoked), the one way the API,
//! the console, the public pages and the command line write to the consent ledger, with the
//! rules every caller gets alike: never dated in the future nor before 1900 (checked by the
//! store), and never dated before the consent's last change. A date before it would enter the
//! ledger as history but leave the current state as it is, which is not what the person who
//! typed it meant. Only Consento's own flows record the collection methods that stand for them
//! (double opt-in, one-click unsubscribe, preference center, import, system).

use consento_domain::{ConsentCode, DomainError};
use consento_store::{ConsentEventInput, ContactRef, IdempotencyKey, RecordedEvent};

use serde_json::json;

use crate::audit::By;
use crate::{App, AppError};

/// The audit target of a consent's contact: its id when the caller named it by id; else the
/// store names it (never an address or a number in the trail).
fn contact_target(contact: &ContactRef) -> Option<(&'static str, String)> {
    match contact {
        ContactRef::Id(id) => Some(("contact", id.0.to_string())),
        _ => None,
    }
}

/// One event to record, with the idempotency key of the request that asked, if any.
pub type ConsentWrite = (ConsentEventInput, Option<IdempotencyKey>);

impl App {
    /// Records one consent event. With an idempotency key, a retry returns the first event and
    /// records nothing (`true`: replayed).
    pub async fn record_consent(
        &self,
        by: &By,
        event: ConsentEventInput,
        key: Option<IdempotencyKey>,
    ) -> Result<(RecordedEvent, bool), AppError> {
        let mut done = self.record_consents(by, vec![(event, key)]).await?;
        done.pop()
            .ok_or_else(|| AppError::Internal("the consent append returned nothing".to_owned()))
    }

    /// Records consent events in order, on a task of their own: if the caller goes away mid-way
    /// (a closed connection), the appends still finish, and with them the group commit one of
    /// them may be writing for other callers. Each event is its own proof and its own append;
    /// the first failure stops the rest and is returned (the events before it stay recorded).
    /// Each event's audit entry (`contact.consent`, by `by`) is written in its own transaction:
    /// a replayed event (an idempotency key seen before) records nothing, and no entry.
    pub async fn record_consents(
        &self,
        by: &By,
        events: Vec<ConsentWrite>,
    ) -> Result<Vec<(RecordedEvent, bool)>, AppError> {
        if !by.is_consento() {
            for (event, _) in &events {
                event.method.claimed()?;
            }
        }
        self.check_dates(&events).await?;
        let store = std::sync::Arc::clone(&self.store);
        let by = by.clone();
        let task = tokio::spawn(async move {
            let mut done = Vec::with_capacity(events.len());
            for (event, key) in events {
                let entry = by.entry(
                    "contact.consent",
                    contact_target(&event.contact),
                    json!({
                        "method": event.method.code(),
                        "events": [{
                            "type_code": event.type_code,
                            "kind": event.kind.code(),
                            "event_time": event.event_time,
                        }],
                    }),
                );
                let (recorded, _) = store
                    .audited(entry, async {
                        match key {
                            Some(key) => store.record_consent_once(event, key).await,
                            None => Ok((store.record_consent(event).await?, false)),
                        }
                    })
                    .await?;
                done.push(recorded);
            }
            Ok::<_, consento_store::StoreError>(done)
        });
        match task.await {
            Ok(done) => Ok(done?),
            Err(e) if e.is_panic() => Err(AppError::Internal("the consent append panicked".into())),
            Err(_) => Err(AppError::Internal(
                "the consent append was cancelled".into(),
            )),
        }
    }

    /// Refuses an event dated before the last change of its consent. Only dated events are
    /// checked: an event dated now cannot precede one already recorded (the store refuses
    /// future dates).
    async fn check_dates(&self, events: &[ConsentWrite]) -> Result<(), AppError> {
        // Events of one call are about one or a few contacts: a list is enough.
        let mut current: Vec<(ContactRef, Vec<consento_store::CurrentConsent>)> = Vec::new();
        for (event, _) in events {
            let Some(at) = event.event_time else {
                continue;
            };
            // A malformed code is the store's to refuse, with its own message.
            let Ok(code) = ConsentCode::parse(&event.type_code) else {
                continue;
            };
            if !current.iter().any(|(r, _)| *r == event.contact) {
                let consents = self.store.current_consents(&event.contact).await?;
                current.push((event.contact.clone(), consents));
            }
            let last = current
                .iter()
                .find(|(r, _)| *r == event.contact)
                .and_then(|(_, c)| c.iter().find(|c| c.code == code))
                .and_then(|c| c.event_time);
            if let Some(last) = last.filter(|last| at < *last) {
                return Err(DomainError::invalid(
                    "event_time",
                    format!(
                        "a consent cannot be dated before its last change ({})",
                        last.to_rfc3339()
                    ),
                )
                .into());
            }
        }
        Ok(())
    }
}
