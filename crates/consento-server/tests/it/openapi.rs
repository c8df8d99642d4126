//! The OpenAPI document as standard tools read it (OpenAPI 3.1; validators such as
//! openapi-spec-validator, client generators such as openapi-python-client): every operation
//! named once, every path parameter in its template, every object and enum a named schema, every
//! reference resolved, and every answer that is not JSON declared with the media type the server
//! really sends. CI also validates the served document and drives a generated client; these
//! tests hold the same facts without Python.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

fn document() -> Value {
    serde_json::to_value(consento_server::api::openapi()).unwrap()
}

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn every_operation_has_its_own_camel_case_operation_id() {
    let doc = document();
    let mut seen = BTreeMap::new();
    let ops = operations(&doc);
    assert!(ops.len() > 60, "only {} operations", ops.len());
    for (method, path, op) in ops {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        // camelCase: a generator turns it into a function name in any language.
        assert!(
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {path}: operationId `{id}` is not camelCase"
        );
        if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
            panic!("operationId `{id}` names both {other} and {method} {path}");
        }
    }
    // The names integrations read in their generated clients.
    for (id, route) in [
        ("createContact", "post /v1/contacts"),
        ("decide", "post /v1/decisions"),
        ("decideBatch", "post /v1/decisions/batch"),
        ("exportContact", "get /v1/contacts/{id}/export"),
        ("getConsentReceipt", "get /v1/consent-events/{id}/receipt"),
    ] {
        assert_eq!(seen.get(id).map(String::as_str), Some(route), "{id}");
    }
}

#[test]
fn every_path_parameter_is_in_its_template_and_every_template_name_is_a_path_parameter() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut declared = BTreeSet::new();
        let mut names = BTreeSet::new();
        for p in &params {
            let name = p["name"].as_str().unwrap().to_owned();
            let place = p["in"].as_str().unwrap();
            assert!(
                names.insert((name.clone(), place.to_owned())),
                "{method} {path}: `{name}` declared twice in {place}"
            );
            if place == "path" {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameter `{name}` must be required"
                );
                declared.insert(name);
            }
        }
        assert_eq!(
            declared, template,
            "{method} {path}: the path parameters are not the template's names"
        );
    }
    // The dry run's sample size is a query parameter, bounded as the server bounds it.
    let dry = &doc["paths"]["/v1/rules/{id}/dry-run"]["post"]["parameters"];
    let sample = dry
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sample")
        .unwrap();
    assert_eq!(sample["in"], "query");
    assert_eq!(sample["schema"]["maximum"], 1000);
}

/// Where a schema sits in the document: objects and enums only as a component of their own (or
/// as a part of one's `allOf`), never inline, where generators invent names (`…Type1`).
fn anonymous_schemas(node: &Value, at: &str, named: bool, found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                return;
            }
            let types: Vec<&str> = match map.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let is_object = types.contains(&"object")
                || map.contains_key("properties")
                || map
                    .get("additionalProperties")
                    .is_some_and(Value::is_object);
            if !named && is_object {
                found.push(format!("an inline object at {at}"));
            }
            if !named && map.contains_key("enum") {
                found.push(format!("an inline enum at {at}"));
            }
            for key in ["oneOf", "anyOf"] {
                for (i, member) in map
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if member.get("$ref").is_none() && member["type"] != "null" {
                        found.push(format!("an unnamed {key} member at {at}/{key}/{i}"));
                    }
                }
            }
            for (key, value) in map {
                match key.as_str() {
                    "example" | "examples" | "default" | "enum" => {}
                    // The parts of an `allOf` are merged into the named schema they belong to.
                    "allOf" => {
                        for (i, part) in value.as_array().into_iter().flatten().enumerate() {
                            anonymous_schemas(part, &format!("{at}/allOf/{i}"), named, found);
                        }
                    }
                    "properties" => {
                        for (name, prop) in value.as_object().into_iter().flatten() {
                            anonymous_schemas(
                                prop,
                                &format!("{at}/properties/{name}"),
                                false,
                                found,
                            );
                        }
                    }
                    _ => anonymous_schemas(value, &format!("{at}/{key}"), false, found),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                anonymous_schemas(item, &format!("{at}/{i}"), false, found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_object_and_enum_is_a_named_schema_and_every_reference_resolves() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    for (name, schema) in schemas {
        anonymous_schemas(
            schema,
            &format!("#/components/schemas/{name}"),
            true,
            &mut found,
        );
    }
    anonymous_schemas(&doc["paths"], "#/paths", false, &mut found);
    assert!(found.is_empty(), "{}", found.join("\n"));

    fn refs(node: &Value, out: &mut BTreeSet<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.insert(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(schemas.contains_key(name), "`{r}` names no schema");
    }
    // The forms of a rule's changes are named, not numbered.
    assert_eq!(
        doc["components"]["schemas"]["PurposesBody"]["oneOf"][0]["$ref"],
        "#/components/schemas/PurposesAdd"
    );
    assert_eq!(
        doc["components"]["schemas"]["BatchItem"]["oneOf"][1]["$ref"],
        "#/components/schemas/RecipientError"
    );
}

fn codes(doc: &Value, schema: &str) -> Vec<String> {
    doc["components"]["schemas"][schema]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} is not an enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn all<T: Copy>(values: &[T], code: impl Fn(T) -> &'static str) -> Vec<String> {
    values.iter().map(|v| code(*v).to_owned()).collect()
}

#[test]
fn the_documented_enums_are_the_codes_the_domain_writes_and_reads() {
    use consento_domain::erasure::{ErasedCategory, ErasureReason, KeepGround, KeptCategory};
    use consento_domain::requests::{RequestChannel, RequestKind, RequestStatus};
    use consento_domain::{Action, ActorKind, Cause, Channel, EventKind, LegalBasis, Locale};
    let doc = document();
    assert_eq!(codes(&doc, "ActionName"), all(Action::ALL, Action::code));
    assert_eq!(
        codes(&doc, "EventKindName"),
        all(EventKind::ALL, EventKind::code)
    );
    assert_eq!(codes(&doc, "ChannelName"), all(Channel::ALL, Channel::code));
    assert_eq!(
        codes(&doc, "ActorKindName"),
        all(ActorKind::ALL, ActorKind::code)
    );
    assert_eq!(
        codes(&doc, "LegalBasisName"),
        all(&LegalBasis::ALL, LegalBasis::code)
    );
    assert_eq!(codes(&doc, "LocaleName"), all(&Locale::ALL, Locale::code));
    assert_eq!(
        codes(&doc, "ErasureReasonName"),
        all(ErasureReason::ALL, ErasureReason::code)
    );
    assert_eq!(
        codes(&doc, "ErasedCategoryName"),
        all(ErasedCategory::ALL, ErasedCategory::code)
    );
    assert_eq!(
        codes(&doc, "KeptCategoryName"),
        all(KeptCategory::ALL, KeptCategory::code)
    );
    assert_eq!(
        codes(&doc, "KeepGroundName"),
        all(KeepGround::ALL, KeepGround::code)
    );
    assert_eq!(
        codes(&doc, "RequestKindName"),
        all(RequestKind::ALL, RequestKind::code)
    );
    assert_eq!(
        codes(&doc, "RequestStatusName"),
        all(RequestStatus::ALL, RequestStatus::code)
    );
    assert_eq!(
        codes(&doc, "RequestChannelName"),
        all(RequestChannel::ALL, RequestChannel::code)
    );
    assert_eq!(
        codes(&doc, "CallOutcomeName"),
        all(
            consento_domain::calls::CallOutcome::ALL,
            consento_domain::calls::CallOutcome::code
        )
    );
    let mut filter = vec!["open".to_owned()];
    filter.extend(all(RequestStatus::ALL, RequestStatus::code));
    assert_eq!(codes(&doc, "RequestStatusFilter"), filter);
    // Every cause of the decision, once: the match fails to compile when a cause is added.
    let since = consento_domain::Timestamp::from_micros(0);
    let code = || consento_domain::ConsentCode::parse("news").unwrap();
    let every_cause = [
        Cause::Erased,
        Cause::Restricted { since },
        Cause::Objected { since },
        Cause::ChannelOff {
            channel: Channel::Email,
            since,
        },
        Cause::Suppressed,
        Cause::NoConsent,
        Cause::Refused {
            code: code(),
            at: since,
        },
        Cause::Withdrawn {
            code: code(),
            at: since,
        },
        Cause::Expired {
            code: code(),
            at: since,
        },
        Cause::OutsideCallingHours {
            day: None,
            next_allowed_at: Some(since),
        },
        Cause::SilentCallCooldown { until: since },
        Cause::RpoEnrolled { found_at: since },
        Cause::RpoCheckMissing,
        Cause::RpoCheckExpired { expired_at: since },
    ];
    for cause in &every_cause {
        match cause {
            Cause::Erased
            | Cause::Restricted { .. }
            | Cause::Objected { .. }
            | Cause::ChannelOff { .. }
            | Cause::Suppressed
            | Cause::NoConsent
            | Cause::Refused { .. }
            | Cause::Withdrawn { .. }
            | Cause::Expired { .. }
            | Cause::OutsideCallingHours { .. }
            | Cause::SilentCallCooldown { .. }
            | Cause::RpoEnrolled { .. }
            | Cause::RpoCheckMissing
            | Cause::RpoCheckExpired { .. } => {}
        }
    }
    let causes = codes(&doc, "CauseName");
    assert_eq!(
        causes,
        every_cause
            .iter()
            .map(|c| c.code().to_owned())
            .collect::<Vec<_>>()
    );
    // A decision's rule is `check_disabled`, `consent`, or the cause's code.
    let mut rules = vec!["check_disabled".to_owned(), "consent".to_owned()];
    rules.extend(causes.iter().cloned());
    assert_eq!(codes(&doc, "DecisionRuleName"), rules);
    // The audience's exclusions are the causes, and `no_email`.
    let excluded: BTreeSet<String> = doc["components"]["schemas"]["ExcludedCounts"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // The rules of telemarketing never exclude anyone from an email audience.
    let mut expected: BTreeSet<String> = causes
        .into_iter()
        .filter(|c| {
            c != "outside_calling_hours" && c != "silent_call_cooldown" && !c.starts_with("rpo_")
        })
        .collect();
    expected.insert("no_email".to_owned());
    assert_eq!(excluded, expected);
}

/// The media type of an answer, without its parameters.
fn media_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// GETs `path` and checks the answer's media type is one the document declares for that
/// operation and status; returns the media type and the body.
async fn documented_get(
    app: &TestApp,
    doc: &Value,
    template: &str,
    path: &str,
) -> (String, Vec<u8>) {
    let response = app
        .request(reqwest::Method::GET, path, "admin")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16().to_string();
    let media = media_type(&response);
    let body = response.bytes().await.unwrap().to_vec();
    let declared = &doc["paths"][template]["get"]["responses"][&status]["content"];
    assert!(
        declared.get(&media).is_some(),
        "GET {path} answered {status} {media}; the document declares {declared}"
    );
    (media, body)
}

#[tokio::test]
async fn every_answer_that_is_not_json_is_declared_with_the_media_type_the_server_sends() {
    let app = spawn_app().await;
    let (_, doc) = app.get("/openapi.json", "admin").await;
    let (status, _) = app
        .post(
            "/v1/consent-types",
            "admin",
            &json!({ "code": "newsletter", "title": "Newsletter", "permits": ["email.bulk"] }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, contact) = app
        .post(
            "/v1/contacts",
            "write",
            &json!({ "name": "Anna Rossi", "emails": ["anna.rossi@example.it"] }),
        )
        .await;
    assert_eq!(status, 201, "{contact}");
    let id = contact["id"].as_str().unwrap();
    let (status, event) = app
        .post(
            &format!("/v1/contacts/{id}/consents"),
            "write",
            &json!({ "kind": "given", "type_code": "newsletter", "method": "form" }),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let event = event["event_id"].as_str().unwrap();

    let export = "/v1/contacts/{id}/export";
    let (media, zip) = documented_get(
        &app,
        &doc,
        export,
        &format!("/v1/contacts/{id}/export?format=csv"),
    )
    .await;
    assert_eq!(media, "application/zip");
    assert!(zip.starts_with(b"PK\x03\x04"), "not a zip");
    let (media, _) = documented_get(&app, &doc, export, &format!("/v1/contacts/{id}/export")).await;
    assert_eq!(media, "application/json");

    let receipt = "/v1/consent-events/{id}/receipt";
    let (media, jws) = documented_get(
        &app,
        &doc,
        receipt,
        &format!("/v1/consent-events/{event}/receipt?format=jws"),
    )
    .await;
    assert_eq!(media, "application/jose");
    assert_eq!(String::from_utf8(jws).unwrap().split('.').count(), 3);
    let (media, _) = documented_get(
        &app,
        &doc,
        receipt,
        &format!("/v1/consent-events/{event}/receipt"),
    )
    .await;
    assert_eq!(media, "application/json");

    let audience = "/v1/audience";
    for (format, expected) in [("csv", "text/csv"), ("ndjson", "application/x-ndjson")] {
        let (media, _) = documented_get(
            &app,
            &doc,
            audience,
            &format!("/v1/audience?type=newsletter&format={format}"),
        )
        .await;
        assert_eq!(media, expected);
    }
    let (media, _) = documented_get(&app, &doc, "/metrics", "/metrics").await;
    assert_eq!(media, "text/plain");
    let (media, _) = documented_get(
        &app,
        &doc,
        "/.well-known/jwks.json",
        "/.well-known/jwks.json",
    )
    .await;
    assert_eq!(media, "application/jwk-set+json");

    // A download's schema says what it is: bytes for the zip, a compact JWS for the receipt.
    let schemas = &doc["components"]["schemas"];
    let content = &doc["paths"][export]["get"]["responses"]["200"]["content"];
    assert_eq!(
        content["application/zip"]["schema"]["$ref"],
        "#/components/schemas/ExportArchive"
    );
    assert_eq!(schemas["ExportArchive"]["format"], "binary");
    let content = &doc["paths"][receipt]["get"]["responses"]["200"]["content"];
    assert_eq!(
        content["application/jose"]["schema"]["$ref"],
        "#/components/schemas/CompactJws"
    );
    app.shutdown().await;
}

#[test]
fn where_an_answer_offers_json_beside_another_form_json_comes_last() {
    // Generators that read one media type per answer (openapi-python-client takes the first it
    // knows) then hand a client the bytes or the text of either form, and never parse a zip or
    // a JWS as JSON. The order is the served document's: read it from the document itself, not
    // from a JSON value (whose keys are sorted).
    use utoipa::openapi::RefOr;
    let doc = consento_server::api::openapi();
    let mut mixed = 0;
    for (path, item) in &doc.paths.paths {
        let ops = [&item.get, &item.put, &item.post, &item.patch, &item.delete];
        for op in ops.into_iter().flatten() {
            for (status, response) in &op.responses.responses {
                let RefOr::T(response) = response else {
                    continue;
                };
                let types: Vec<&String> = response.content.keys().collect();
                let json = |t: &str| t == "application/json" || t.ends_with("+json");
                if types.len() > 1 && types.iter().any(|t| json(t)) {
                    mixed += 1;
                    let first_json = types.iter().position(|t| json(t)).unwrap();
                    assert!(
                        types[first_json..].iter().all(|t| json(t)),
                        "{path} {status}: JSON is listed before another form: {types:?}"
                    );
                }
            }
        }
    }
    assert!(
        mixed >= 2,
        "the export and the receipt offer two forms each"
    );
}
