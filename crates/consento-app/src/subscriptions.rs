//! Double opt-in, shared by the public pages (`/subscribe`, `/confirm/{token}`) and the API
//! (`POST /v1/subscriptions`): a request records what was asked with its evidence and enqueues
//! the confirmation email; the consent is given only when the person confirms from the emailed
//! link, by a POST (a GET never confirms: link scanners prefetch them).
//!
//! The consents are `given` events with method `double_opt_in`, the person as actor, the privacy
//! notice version the confirmation page showed, and evidence carrying both proofs: the request
//! (when, how, from where) and the confirmation (when, from where), kept in the erasable evidence
//! store (GDPR Art. 7(1); no plain personal data in the ledger row, so that erasure can remove it, Art. 17). IP addresses
//! are only ever kept truncated.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine as _;
use consento_domain::{Actor, ActorKind, CollectionMethod, EventKind, Locale, Timestamp};
use consento_store::{
    ConsentEventInput, ConsentType, ContactRef, Notice, RecordedEvent, RequestLimits,
    RequestSource, StoreError, SubscriptionOutcome, SubscriptionRequest, SubscriptionRequestInput,
    token_sha256,
};
use serde_json::json;

use crate::mail::SUBSCRIPTION_CONFIRM;
use crate::{App, AppError};

/// A request as the form or the API received it.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The address.
    pub email: String,
    /// A name (used only for a new contact; never written into the email).
    pub name: Option<String>,
    /// Consent type codes.
    pub types: Vec<String>,
    /// The language of the email and the pages.
    pub locale: Locale,
    /// The form or the API.
    pub source: RequestSource,
    /// The API token's id, for the API.
    pub requested_by: Option<String>,
    /// The requester's user agent.
    pub user_agent: Option<String>,
    /// The requester's address (kept only truncated).
    pub ip: Option<IpAddr>,
}

/// The topics a person may subscribe to: the consent types the preference center shows.
pub async fn topics(app: &App) -> Result<Vec<ConsentType>, StoreError> {
    Ok(app
        .store
        .consent_types()
        .await?
        .into_iter()
        .filter(|t| t.spec.show_in_preference_center)
        .collect())
}

/// Records a request and enqueues its confirmation email (or, for a suppressed or too recently
/// mailed address, does nothing: the caller answers the same). The link's token is 256 random
/// bits; only its SHA-256 is stored.
pub async fn request(app: &App, ask: Ask) -> Result<SubscriptionOutcome, StoreError> {
    let config = &app.policy.subscriptions;
    let titles = topics(app).await?;
    let named = crate::controller::NamedController::merge(
        &app.policy,
        app.store.controller_details().await?,
    );
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(app.store.random_bytes::<32>()?);
    let now = app.store.now();
    let hours = i64::from(config.confirm_hours.max(1));
    let expires_at = Timestamp::from_micros(
        now.as_micros()
            .saturating_add(hours.saturating_mul(3_600_000_000)),
    );
    let link = app
        .policy
        .public_url(&format!("/confirm/{token}?lang={}", ask.locale.code()));
    let topics: Vec<&str> = ask
        .types
        .iter()
        .filter_map(|code| {
            titles
                .iter()
                .find(|t| t.spec.code.as_str() == code.trim())
                .map(|t| t.spec.title.as_str())
        })
        .collect();
    let input = SubscriptionRequestInput {
        email: ask.email,
        name: ask.name,
        type_codes: ask.types,
        locale: ask.locale.code().to_owned(),
        source: ask.source,
        requested_by: ask.requested_by,
        user_agent: ask.user_agent,
        ip_prefix: ask.ip.map(crate::links::truncated_ip),
        token_sha256: token_sha256(&token),
        expires_at,
        template: SUBSCRIPTION_CONFIRM.to_owned(),
        payload: json!({
            "link": link,
            "topics": topics,
            "expires_at": expires_at.as_micros(),
            // The controller the email names (GDPR Art. 13(1)(a)), as named when it is written.
            "controller": named.name_given.then_some(named.name),
        }),
        limits: RequestLimits {
            resend_after: Duration::from_secs(u64::from(config.resend_minutes) * 60),
            per_day: config.daily_limit,
        },
    };
    let outcome = app.store.request_subscription(input).await?;
    // The outcome is logged, never the address: the page says the same in every case.
    let what = match outcome {
        SubscriptionOutcome::Requested { .. } => "requested",
        SubscriptionOutcome::Throttled => "throttled",
        SubscriptionOutcome::Suppressed => "suppressed",
    };
    tracing::info!(
        outcome = what,
        source = ask.source.code(),
        "subscription request"
    );
    Ok(outcome)
}

/// The token of a link, if it has the shape of one (43 characters of base64url): anything
/// else is not looked up.
fn token_hash(token: &str) -> Option<[u8; 32]> {
    let ok = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| token_sha256(token))
}

/// The request a link's token opens, if any.
pub async fn find(app: &App, token: &str) -> Result<Option<SubscriptionRequest>, StoreError> {
    match token_hash(token) {
        Some(hash) => app.store.subscription_request(&hash).await,
        None => Ok(None),
    }
}

/// The privacy notice a page in `locale` shows: the latest version in that language, else the
/// latest of any.
pub async fn notice(app: &App, locale: Locale) -> Result<Option<Notice>, StoreError> {
    let notices = app.store.notices().await?;
    let in_language = notices
        .iter()
        .find(|n| Locale::parse(&n.language) == Some(locale))
        .cloned();
    Ok(in_language.or_else(|| notices.into_iter().next()))
}

/// What a confirmation did.
#[derive(Debug)]
pub enum Confirmed {
    /// The consents were recorded now (none, silently, for an address suppressed meanwhile).
    Recorded(Vec<RecordedEvent>),
    /// It had been confirmed before: nothing new.
    Already,
    /// The link ran out.
    Expired,
    /// No such link.
    Unknown,
}

/// Confirms the request of `token` from a person's POST: one `given` event per type asked for,
/// method double opt-in, actor the person, the notice `locale`'s page showed, and the evidence
/// of request and confirmation. Exactly once: a second confirmation records nothing.
pub async fn confirm(
    app: &App,
    token: &str,
    locale: Locale,
    user_agent: Option<String>,
    ip: Option<IpAddr>,
) -> Result<Confirmed, AppError> {
    use consento_store::Confirmation;
    let Some(hash) = token_hash(token) else {
        return Ok(Confirmed::Unknown);
    };
    let request = match app.store.confirm_subscription(&hash).await? {
        Confirmation::Claimed(r) => r,
        Confirmation::Suppressed(_) => {
            tracing::info!("subscription confirmed for a suppressed address: nothing recorded");
            return Ok(Confirmed::Recorded(Vec::new()));
        }
        Confirmation::AlreadyConfirmed(_) => return Ok(Confirmed::Already),
        Confirmation::Expired(_) => return Ok(Confirmed::Expired),
        Confirmation::Unknown => return Ok(Confirmed::Unknown),
    };
    let confirmed_at = request.confirmed_at.unwrap_or_else(|| app.store.now());
    let notice_version = notice(app, locale).await?.map(|n| n.version);
    let evidence = json!({
        "double_opt_in": {
            "request_id": request.id,
            "address": request.email,
            "request": {
                "at": request.requested_at,
                "source": request.source.code(),
                "requested_by": request.requested_by,
                "user_agent": request.user_agent,
                "ip": request.ip_prefix,
            },
            "confirmation": {
                "at": confirmed_at,
                "user_agent": user_agent.map(|u| u.chars().take(512).collect::<String>()),
                "ip": ip.map(crate::links::truncated_ip),
            },
        }
    })
    .to_string();
    let actor = Actor::new(ActorKind::Subject, "")?;
    let events = request
        .type_codes
        .iter()
        .map(|code| {
            (
                ConsentEventInput {
                    contact: ContactRef::Id(request.contact_id),
                    type_code: code.clone(),
                    kind: EventKind::Given,
                    event_time: Some(confirmed_at),
                    method: CollectionMethod::DoubleOptIn,
                    actor: actor.clone(),
                    notice_version: notice_version.clone(),
                    evidence: Some(evidence.clone()),
                },
                None,
            )
        })
        .collect();
    let recorded = match app
        .record_consents(&crate::audit::By::person(), events)
        .await
    {
        Ok(done) => done.into_iter().map(|(e, _)| e).collect(),
        Err(e) => {
            // Released, the person can confirm again; the error page asks them to.
            app.store
                .release_subscription_confirmation(request.id)
                .await?;
            return Err(e);
        }
    };
    tracing::info!(request = %request.id, contact = %request.contact_id, types = request.type_codes.len(), "subscription confirmed");
    Ok(Confirmed::Recorded(recorded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_the_right_shape_are_looked_up() {
        assert!(token_hash(&"a".repeat(43)).is_some());
        assert!(token_hash(&"a".repeat(42)).is_none());
        assert!(token_hash(&format!("{}=", "a".repeat(42))).is_none());
        assert!(token_hash("../../etc/passwd").is_none());
    }
}
