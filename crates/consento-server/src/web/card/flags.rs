//! The card's switches: the restriction of processing (GDPR Art. 18), the objection to direct
//! marketing (Art. 21) and the forms of communication switched off, each set by whoever edits
//! contacts and lifted only by the DPO or an administrator.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use consento_domain::{Channel, CollectionMethod, Permission};
use consento_store::{ContactFlag, ContactRef};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::web::contacts::path_contact;
use crate::web::page::{PageError, see_other};
use crate::web::session::Staff;

/// A switch of the card: `on=1` sets it, anything else lifts it.
#[derive(Debug, Default, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    on: String,
}

/// `POST /contacts/{id}/restriction`: restricts processing (GDPR Art. 18) or lifts it.
pub async fn restriction(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(s): Form<SwitchForm>,
) -> Result<Response, PageError> {
    set_flag(&staff, &state, &id, s.on == "1", ContactFlag::Restriction).await
}

/// `POST /contacts/{id}/objection`: records the objection to direct marketing (GDPR Art. 21) or
/// its withdrawal.
pub async fn objection(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(s): Form<SwitchForm>,
) -> Result<Response, PageError> {
    set_flag(&staff, &state, &id, s.on == "1", ContactFlag::Objection).await
}

/// The channel switch's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    off: String,
}

/// `POST /contacts/{id}/channel`: records that the person switched a form of communication off
/// (told an operator "no more calls"), or, for the DPO or an administrator, back on: like an
/// objection, switching back on is not for the operator who wants to call.
pub async fn channel(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ChannelForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let off = f.off == "1";
    if !off {
        staff.require(Permission::LiftRights)?;
    }
    let channel = Channel::parse(&f.channel).map_err(|_| PageError::NotFound)?;
    let id = path_contact(&id)?;
    let r = ContactRef::Id(id);
    let before = state.store.contact(&r).await?;
    if before.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    // Off since the moment it is switched off (the store's clock, read just before it
    // writes), or since before when it already was.
    let was = before.off_since(channel);
    let will_be = if off {
        was.or(Some(state.store.now()))
    } else {
        None
    };
    staff
        .audited(
            &state.app,
            "contact.channel",
            Some(("contact", id.to_string())),
            json!({ "channel": channel.code(), "before": was, "after": will_be }),
            state.store.set_channel(
                &r,
                channel,
                off,
                // The console's own action: an operator switched the channel.
                CollectionMethod::Operator,
                &staff.actor(),
                None,
            ),
        )
        .await?;
    let done = if off { "channel-off" } else { "channel-on" };
    Ok(see_other(&format!("/contacts/{id}?done={done}")))
}

/// Sets or lifts a flag, audited with its date before and after; an erased contact has nothing
/// left to flag.
async fn set_flag(
    staff: &Staff,
    state: &AppState,
    id: &str,
    on: bool,
    flag: ContactFlag,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    // Anyone who edits contacts may record a restriction or an objection a person asks for;
    // lifting one is for the DPO or an administrator (else: lift, call, set it again).
    if !on {
        staff.require(Permission::LiftRights)?;
    }
    let id = path_contact(id)?;
    let r = ContactRef::Id(id);
    let before = state.store.contact(&r).await?;
    if before.erased_at.is_some() {
        return Err(PageError::NotFound);
    }
    // Audited by the app, in the change's transaction.
    state
        .app
        .change_flag(&staff.who(), &r, flag, on, staff.actor(), None)
        .await?;
    let name = flag.code();
    let done = format!("{name}-{}", if on { "set" } else { "lifted" });
    Ok(see_other(&format!("/contacts/{id}?done={done}")))
}
