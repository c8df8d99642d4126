//! `GET /v1/contacts/{id}/links`: a contact's personal links for one email (unsubscribe,
//! preference center) and the `List-Unsubscribe` and `List-Unsubscribe-Post` header values a
//! mail sender adds to it verbatim (RFC 2369 §3.2, RFC 8058 §3.1). Needs `read`.

use axum::Json;
use axum::extract::State;
use consento_store::{ContactRef, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, WriteScope};
use super::error::{ApiError, Problem};
use super::params::{ApiQuery, PathParam, contact_id};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(links))
}

/// Which unsubscribe link.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinksParams {
    /// The consent type the email is sent under: its unsubscribe link withdraws that consent
    /// only. Without it, the link withdraws every consent of the contact that permits bulk email
    /// ("all newsletters").
    #[serde(rename = "type", default)]
    #[param(rename = "type", example = "newsletter")]
    pub type_code: Option<String>,
}

/// A contact's links for one email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "contact_id": "0190a000-0000-7000-8000-000000000001", "type_code": "newsletter",
    "unsubscribe_url": "https://privacy.example.com/u/AAAAAX…",
    "preferences_url": "https://privacy.example.com/p/AAAAAX…",
    "list_unsubscribe": "<https://privacy.example.com/u/AAAAAX…>",
    "list_unsubscribe_post": "List-Unsubscribe=One-Click"
}))]
pub struct LinksOut {
    /// The contact.
    pub contact_id: uuid::Uuid,
    /// The consent type the unsubscribe link is for; `null`: every newsletter.
    pub type_code: Option<String>,
    /// The unsubscribe page: opening it changes nothing (link scanners open links); its button,
    /// or a mailbox provider's one-click POST, unsubscribes.
    pub unsubscribe_url: String,
    /// The preference center: the contact's topics, each switchable, and withdrawing everything.
    pub preferences_url: String,
    /// The `List-Unsubscribe` header's value, to add verbatim: one HTTPS URI in angle brackets.
    pub list_unsubscribe: String,
    /// The `List-Unsubscribe-Post` header's value, to add verbatim: `List-Unsubscribe=One-Click`.
    pub list_unsubscribe_post: String,
}

/// The links a mail sender puts in one email to a contact: the unsubscribe URL, the preference
/// center's URL, and the exact `List-Unsubscribe` and `List-Unsubscribe-Post` header values (RFC
/// 8058 one-click unsubscribe, which Gmail and Yahoo require of bulk senders). Each link is
/// personal and unguessable, carries no personal data in clear, and keeps working after a key
/// rotation; ask for fresh links per send. Scope `write`: the preference center's link lets its
/// holder record the person's consents, so reading alone does not hand it out.
#[utoipa::path(
    get, path = "/v1/contacts/{id}/links", tag = "contacts", operation_id = "getContactLinks",
    params(("id" = uuid::Uuid, Path, description = "Our id of the contact"), LinksParams),
    responses(
        (status = 200, description = "The links and header values", body = LinksOut),
        (status = 400, description = "An unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact was erased (`field`: `id`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No consent type has this code (`field`: `type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("token" = ["write"]))
)]
async fn links(
    _auth: Auth<WriteScope>,
    PathParam(id): PathParam,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LinksParams>,
) -> Result<Json<LinksOut>, ApiError> {
    let id = contact_id(&id)?;
    let contact = state.store.contact(&ContactRef::Id(id)).await?;
    if contact.erased_at.is_some() {
        return Err(ApiError::Conflict {
            field: "id".to_owned(),
            message: "the contact was erased".to_owned(),
        });
    }
    let ty = match params.type_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(state.store.consent_type(code).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                ApiError::unprocessable("type", "no consent type has this code")
            }
            other => other.into(),
        })?),
    };
    let links = consento_app::links::mail_links(
        &state.store,
        &state.app.policy().public_base_url,
        id,
        ty.as_ref().map(|t| t.id),
    )
    .await?;
    Ok(Json(LinksOut {
        contact_id: id.0,
        type_code: ty.map(|t| t.spec.code.as_str().to_owned()),
        unsubscribe_url: links.unsubscribe_url,
        preferences_url: links.preferences_url,
        list_unsubscribe: links.list_unsubscribe,
        list_unsubscribe_post: links.list_unsubscribe_post.to_owned(),
    }))
}
