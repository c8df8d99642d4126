//! The HTTP API: the router and the OpenAPI 3.1 document generated from the same code (each
//! handler carries its `#[utoipa::path]`; `routes!` registers route and documentation together,
//! so neither can exist without the other).
//!
//! Handlers are thin: extract (authentication first, the body last), call the app (or one store
//! read), map the result. Every error becomes a problem document in [`error`]. Every write is
//! audited as the calling token ([`auth::Auth::by`]) in the change's own transaction: by the use
//! case itself, or by `App::audited` around the store's write.

use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub(crate) mod audience;
pub mod auth;
mod calls;
pub(crate) mod consents;
mod contacts;
pub(crate) mod decisions;
pub(crate) mod erasure;
pub mod error;
mod export;
pub mod idempotency;
pub(crate) mod interactions;
pub mod json;
mod ledger;
mod links;
pub mod model;
mod notices;
mod ops;
mod params;
mod reasons;
mod receipts;
pub(crate) mod requests;
mod ring;
pub(crate) mod rpo;
mod rules;
mod settings;
mod strict;
mod subscriptions;
mod types;
mod webhooks;

/// The name of the security scheme in the OpenAPI document; each operation lists the scope it
/// needs under it.
pub const SECURITY_SCHEME: &str = "token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Consento API",
        description = "GDPR consent and privacy for CRMs, dialers and mail senders: ask before every contact whether it is allowed, record consents with their proof, and be told when they change.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerScheme),
    // Schemas named only by path or query parameters are not collected by `routes!`: listed here.
    components(schemas(
        error::Problem,
        audience::AudienceFormat,
        receipts::ReceiptFormat,
        export::ExportFormatName,
        model::ChannelName,
        requests::RequestStatusFilter,
        requests::RequestKindName,
        rpo::RpoNumberFormName,
    )),
    tags(
        (name = "decisions", description = "May I email, call or text this person now?"),
        (name = "contacts", description = "The people the CRM holds data about: create, change, find, list; restriction (GDPR Art. 18) and objection (Art. 21)."),
        (name = "consents", description = "A contact's consents: the current state, the history with its proof, and recording given, refused, withdrawn, renewed or revoked consents."),
        (name = "interactions", description = "Justified contacts: reaching someone without a valid consent, for a reason from the list."),
        (name = "audience", description = "The newsletter audience, streamed, and who is left out and why."),
        (name = "consent types", description = "The kinds of consent, what each permits and for how long (admin to change)."),
        (name = "reasons", description = "The reasons an operator may give for a justified contact (admin to change)."),
        (name = "notices", description = "Privacy-notice versions: what a person was shown when consenting (admin to publish)."),
        (name = "settings", description = "The privacy switches that turn each consent check on (admin to change)."),
        (name = "ledger", description = "Verifying the hash chain of the consent ledger."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
        (name = "webhooks", description = "Be told when consents and contacts change: Standard Webhooks, signed, retried."),
        (name = "subscriptions", description = "Double opt-in: a person's request to subscribe, confirmed from the link emailed to them."),
        (name = "retention", description = "Storage limitation (GDPR Art. 5(1)(e)): the contacts past the retention of their purposes, and their anonymisation."),
        (name = "requests", description = "Data-subject requests (GDPR Arts. 15-22) and their Art. 12(3) deadlines: log, list overdue and due soon, move, extend."),
        (name = "calls", description = "The dialer's call outcomes (a refusal of promotional calls is an objection at once, GDPR Art. 21(3)) and each campaign's silent-call rate."),
        (name = "rpo", description = "The Italian opt-out register (Registro pubblico delle opposizioni, L. 5/2018, DPR 26/2022): the numbers due for a check, the register's answers imported as checks (revoking the consents an enrolment annuls), and where the checks stand (admin)."),
        (name = "rules", description = "Bulk rules over provenance (source, legal basis, purposes): save, dry-run, apply in one audited transaction, revert a run (admin)."),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "An API token (`consento tokens create`). Scopes: `admin` ⊇ `write` ⊇ {`read`, `decide`}; `relay` (the SMTP relay's password) opens no route here."
                .to_owned(),
        );
        components.add_security_scheme(SECURITY_SCHEME, SecurityScheme::Http(http));
    }
}

/// The router of every API route, and the OpenAPI document describing exactly those routes.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(decisions::routes())
        .merge(contacts::routes())
        .merge(export::routes())
        .merge(consents::routes())
        .merge(interactions::routes())
        .merge(audience::routes())
        .merge(types::routes())
        .merge(reasons::routes())
        .merge(notices::routes())
        .merge(settings::routes())
        .merge(ledger::routes())
        .merge(ops::routes())
        .merge(webhooks::routes())
        .merge(links::routes())
        .merge(subscriptions::routes())
        .merge(requests::routes())
        .merge(receipts::routes())
        .merge(erasure::routes())
        .merge(rules::routes())
        .merge(calls::routes())
        .merge(ring::routes())
        .merge(rpo::routes())
        .split_for_parts();
    document_auth_failures(&mut doc);
    (router, doc)
}

/// The OpenAPI document alone (for `consento openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Adds the answers every operation of a kind gives alike, from one extractor, so they are
/// documented in one place too: 401 and 403 where a token is needed, 413 and 415 where a JSON
/// body is read, 422 where a body or a query string brings text in.
fn document_auth_failures(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            // `security(())` (public) is one empty requirement: nothing to add.
            let needs_token = op.security.as_ref().is_some_and(|reqs| {
                reqs.iter().any(|r| {
                    serde_json::to_value(r)
                        .is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                })
            });
            // Every JSON body is read by the same extractor, with the same two refusals.
            if op.request_body.is_some() {
                op.responses.responses.insert(
                    "413".to_owned(),
                    problem("The body is larger than the server accepts (`max_body_bytes`)").into(),
                );
                op.responses.responses.insert(
                    "415".to_owned(),
                    problem("The body is not declared `application/json`").into(),
                );
            }
            // A control character in any text of the body or the query string is refused by
            // the body's and the query's extractors (`strict`), naming it: a 422 wherever text
            // comes in.
            let reads_query = op.parameters.as_ref().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
            });
            if op.request_body.is_some() || reads_query {
                op.responses
                    .responses
                    .entry("422".to_owned())
                    .or_insert_with(|| {
                        problem("A value is refused, such as a text holding a control character (`field` names it)")
                            .into()
                    });
            }
            if needs_token {
                op.responses.responses.insert(
                    "401".to_owned(),
                    problem("No token, or a token that is unknown, revoked or expired").into(),
                );
                op.responses.responses.insert(
                    "403".to_owned(),
                    problem("The token lacks the scope this operation needs").into(),
                );
            }
        }
    }
}
