//! The card's provenance fields (source, GDPR Art. 6(1) legal basis, purposes) and
//! `POST /contacts/{id}/provenance`, saved as the contact form saves them.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use consento_domain::Permission;
use consento_store::ContactRef;
use serde::Deserialize;

use super::page::{Overlay, card, card_response};
use crate::state::AppState;
use crate::web::contacts::{ContactFields, path_contact};
use crate::web::page::{PageError, see_other};
use crate::web::session::Staff;

/// The provenance fields of the card.
#[derive(Debug, Default, Deserialize)]
pub struct ProvenanceForm {
    #[serde(default)]
    source: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    purposes: String,
}

/// `POST /contacts/{id}/provenance`: source, legal basis and purposes.
pub async fn save_provenance(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(p): Form<ProvenanceForm>,
) -> Result<Response, PageError> {
    staff.require(Permission::EditContacts)?;
    let id = path_contact(&id)?;
    let before = state.store.contact(&ContactRef::Id(id)).await?;
    let f = ContactFields {
        source: p.source,
        legal_basis: p.legal_basis,
        purposes: p.purposes,
        ..ContactFields::of(&before)
    };
    match crate::web::contacts::save(&staff, &state, &before, &f).await? {
        Ok(_) => Ok(see_other(&format!("/contacts/{id}?done=contact-saved"))),
        Err((field, message)) => {
            let page = card(
                &staff,
                &state,
                id,
                Overlay {
                    provenance: Some((f, HashMap::from([(field, message)]))),
                    ..Overlay::default()
                },
            )
            .await?;
            card_response(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
