//! Rectification (GDPR Art. 16) and bulk rules over provenance (src/rules.rs).

use consento_domain::LegalBasis;
use consento_domain::rules::{
    AttributeChange, ConsentFilter, ConsentStateFilter, PurposesChange, RuleChanges, RuleFilter,
    RuleSpec, SourceFilter,
};
use consento_store::{AuditActor, AuditFilter};

use super::*;

fn provenance(email: &str, source: Option<&str>, purposes: &[&str]) -> ContactInput {
    ContactInput {
        source: source.map(str::to_owned),
        purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        ..contact(email)
    }
}

fn fair_rule() -> RuleSpec {
    RuleSpec {
        name: "Fiera 2024".into(),
        filter: RuleFilter {
            source: Some(SourceFilter::Equals("fiera".into())),
            ..RuleFilter::default()
        },
        changes: RuleChanges {
            legal_basis: Some(LegalBasis::LegitimateInterests),
            purposes: Some(PurposesChange::Add(vec!["marketing".into()])),
            attribute: Some(AttributeChange::Set {
                key: "lista".into(),
                value: "fiera24".into(),
            }),
            ..RuleChanges::default()
        },
    }
}

async fn entries(env: &Env, action: &str) -> Vec<consento_store::AuditEntry> {
    env.store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test]
async fn a_rectification_audits_exactly_the_changed_fields_with_its_actor_and_an_unchanged_save_nothing()
 {
    on_every_backend!(env => {
        let (token, _) = env.store.create_token("crm", &["write".to_owned()], None, None).await.unwrap();
        let c = env.store.create_contact(provenance("rett@example.it", Some("web"), &["a"])).await.unwrap();
        let input = ContactInput {
            name: Some("Maria Rossi".into()),
            purposes: vec!["a".into(), "b".into()],
            ..provenance("rett@example.it", Some("web"), &[])
        };
        let (after, changes) = env.store.rectify_contact(&ContactRef::Id(c.id), input.clone(), AuditActor::Token(token.id)).await.unwrap();
        assert_eq!(after.name.as_deref(), Some("Maria Rossi"));
        assert_eq!(changes.keys().collect::<Vec<_>>(), ["name", "purposes"]);
        assert_eq!(changes["name"], serde_json::json!({"before": "Mario Rossi", "after": "Maria Rossi"}));
        assert_eq!(changes["purposes"], serde_json::json!({"before": ["a"], "after": ["a", "b"]}));
        let audited = entries(env, "contact.update").await;
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].token_id, Some(token.id));
        assert_eq!(audited[0].token_name.as_deref(), Some("crm"));
        assert_eq!(audited[0].user_id, None);
        assert_eq!(audited[0].target_id, Some(c.id.to_string()));
        assert_eq!(audited[0].detail, serde_json::json!({ "changes": changes }));
        // The same values again: no change, no entry.
        let (_, none) = env.store.rectify_contact(&ContactRef::Id(c.id), input, AuditActor::Token(token.id)).await.unwrap();
        assert!(none.is_empty());
        assert_eq!(entries(env, "contact.update").await.len(), 1);
        // The token column of the trail is fixed like the others.
        let rewrite = env.raw_sql("UPDATE audit_events SET token_id = NULL").await.unwrap_err();
        assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
    });
}

#[tokio::test]
async fn a_dry_run_counts_and_lists_exactly_the_contacts_it_would_change_and_writes_nothing() {
    on_every_backend!(env => {
        let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
        // Already holding every new value: not counted.
        let mut done = provenance("b@example.it", Some("fiera"), &["x", "marketing"]);
        done.legal_basis = Some("legitimate_interests".into());
        done.attributes.insert("lista".into(), serde_json::json!("fiera24"));
        env.store.create_contact(done).await.unwrap();
        env.store.create_contact(provenance("c@example.it", Some("web"), &[])).await.unwrap();
        env.store.create_contact(provenance("d@example.it", Some("fiera"), &[])).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'd@example.it'").await.unwrap();
        let e = env.store.create_contact(provenance("e@example.it", Some("fiera"), &["marketing"])).await.unwrap();
        let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();

        let dry = env.store.dry_run(rule.id, 10).await.unwrap();
        assert_eq!(dry.count, 2);
        let mut ids: Vec<_> = vec![a.id, e.id];
        ids.sort();
        assert_eq!(dry.sample.iter().map(|s| s.contact_id).collect::<Vec<_>>(), ids);
        let first = dry.sample.iter().find(|s| s.contact_id == a.id).unwrap();
        assert_eq!(first.before.purposes, serde_json::json!(["x"]));
        assert_eq!(first.after.purposes, serde_json::json!(["x", "marketing"]));
        assert_eq!(first.after.legal_basis.as_deref(), Some("legitimate_interests"));
        assert_eq!(first.after.attributes, serde_json::json!({"lista": "fiera24"}));
        let second = dry.sample.iter().find(|s| s.contact_id == e.id).unwrap();
        assert_eq!(second.after.purposes, serde_json::json!(["marketing"]), "added once");
        assert_eq!(env.store.dry_run(rule.id, 1).await.unwrap().sample.len(), 1);
        // Nothing was written.
        assert_eq!(env.store.contact(&ContactRef::Id(a.id)).await.unwrap().legal_basis, None);
        assert!(env.store.rule_runs(10).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn applying_a_rule_changes_exactly_those_contacts_is_audited_and_a_revert_restores_them() {
    on_every_backend!(env => {
        let u = env.store.create_user(staff("dpo1", consento_domain::Role::Dpo)).await.unwrap();
        let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
        let b = env.store.create_contact(provenance("b@example.it", Some("fiera"), &[])).await.unwrap();
        let c = env.store.create_contact(provenance("c@example.it", Some("web"), &[])).await.unwrap();
        env.store.create_contact(provenance("d@example.it", Some("fiera"), &[])).await.unwrap();
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE email = 'd@example.it'").await.unwrap();
        let rule = env.store.create_rule(fair_rule(), AuditActor::User(u.id)).await.unwrap();
        let before_a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();

        env.clock.advance(1_000_000);
        let run = env.store.apply_rule(rule.id, AuditActor::User(u.id)).await.unwrap();
        assert_eq!(run.changed, 2);
        let after_a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
        assert_eq!(after_a.legal_basis, Some(LegalBasis::LegitimateInterests));
        assert_eq!(after_a.purposes, vec!["x", "marketing"]);
        assert_eq!(after_a.attributes["lista"], "fiera24");
        assert_eq!(after_a.name, before_a.name, "nothing else moves");
        assert_eq!(env.store.contact(&ContactRef::Id(c.id)).await.unwrap().legal_basis, None, "not matched");
        let erased = env.store.contact(&ContactRef::Email("d@example.it".into())).await.unwrap();
        assert_eq!(erased.legal_basis, None, "erased contacts are never touched");
        assert_eq!(env.store.rule_run_changes(run.id, 10).await.unwrap().len(), 2);
        let applied = entries(env, "rule_run.apply").await;
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].user_id, Some(u.id));
        assert_eq!(applied[0].detail["changed"], 2);
        assert_eq!(applied[0].detail["run"], run.id.to_string());
        assert_eq!(applied[0].detail["rule"], rule.id.to_string());
        // A second run finds nothing left to change.
        assert_eq!(env.store.dry_run(rule.id, 10).await.unwrap().count, 0);

        // b is rectified since: the revert leaves it alone and says so.
        let mut input = provenance("b@example.it", Some("fiera"), &["altro"]);
        input.legal_basis = Some("contract".into());
        env.store.update_contact(&ContactRef::Id(b.id), input).await.unwrap();
        let report = env.store.revert_run(run.id, AuditActor::User(u.id)).await.unwrap();
        assert_eq!(report.restored, 1);
        assert_eq!(report.skipped, vec![b.id]);
        assert_eq!(report.run.restored, Some(1));
        assert_eq!(report.run.skipped, Some(1));
        assert!(report.run.reverted_at.is_some());
        let restored = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
        assert_eq!((restored.source, restored.legal_basis, restored.purposes, restored.attributes),
            (before_a.source, before_a.legal_basis, before_a.purposes, before_a.attributes));
        assert_eq!(env.store.contact(&ContactRef::Id(b.id)).await.unwrap().purposes, vec!["altro"]);
        assert_eq!(entries(env, "rule_run.revert").await.len(), 1);
        let again = env.store.revert_run(run.id, AuditActor::User(u.id)).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
    });
}

#[tokio::test]
async fn a_rule_that_fails_midway_writes_nothing() {
    on_every_backend!(env => {
        env.store.create_contact(provenance("a@example.it", Some("fiera"), &[])).await.unwrap();
        env.store.create_contact(provenance("z@example.it", Some("fiera"), &[])).await.unwrap();
        let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
        // The database refuses the change of one of the two contacts.
        let trigger = if env.is_postgres() {
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$; \
             CREATE TRIGGER boom BEFORE UPDATE ON contacts FOR EACH ROW WHEN (NEW.email = 'z@example.it') EXECUTE FUNCTION boom();"
        } else {
            "CREATE TRIGGER boom BEFORE UPDATE ON contacts WHEN NEW.email = 'z@example.it' BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        };
        env.raw_sql(trigger).await.unwrap();
        env.store.apply_rule(rule.id, AuditActor::System).await.unwrap_err();
        assert!(env.store.rule_runs(10).await.unwrap().is_empty());
        assert_eq!(env.store.contact(&ContactRef::Email("a@example.it".into())).await.unwrap().legal_basis, None);
        assert!(entries(env, "rule_run.apply").await.is_empty());
        assert_eq!(env.store.dry_run(rule.id, 10).await.unwrap().count, 2);
    });
}

#[tokio::test]
async fn rule_filters_select_by_consent_state_purpose_attribute_basis_and_dates() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(30), newsletter())).await.unwrap();
        let mut with_attr = provenance("g@example.it", None, &["p"]);
        with_attr.attributes.insert("lista".into(), serde_json::json!("vip"));
        with_attr.legal_basis = Some("contract".into());
        let g = env.store.create_contact(with_attr).await.unwrap();
        let w = env.store.create_contact(provenance("w@example.it", Some("web"), &[])).await.unwrap();
        env.clock.advance(DAY);
        let x = env.store.create_contact(provenance("x@example.it", None, &[])).await.unwrap();
        let n = env.store.create_contact(provenance("n@example.it", None, &[])).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(g.id), "NEWS", EventKind::Given, None)).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Given, None)).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(w.id), "NEWS", EventKind::Withdrawn, None)).await.unwrap();
        env.store.record_consent(event(&ContactRef::Id(x.id), "NEWS", EventKind::Given, Some(days_before(env.store.now(), 40)))).await.unwrap();
        let set = RuleChanges { source: Some("bonifica".into()), ..RuleChanges::default() };
        let mut k = 0;
        let mut matched = |filter: RuleFilter| {
            k += 1;
            let store = &env.store;
            let set = set.clone();
            async move {
                let rule = store.create_rule(RuleSpec { name: format!("r{k}"), filter, changes: set }, AuditActor::System).await.unwrap();
                let mut ids: Vec<_> = store.dry_run(rule.id, 100).await.unwrap().sample.into_iter().map(|s| s.contact_id).collect();
                ids.sort();
                ids
            }
        };
        let consent = |state: Option<ConsentStateFilter>| RuleFilter {
            consent: Some(ConsentFilter { type_code: "NEWS".into(), state, given_before: None, given_after: None }),
            ..RuleFilter::default()
        };
        assert_eq!(matched(consent(Some(ConsentStateFilter::Granted))).await, vec![g.id]);
        assert_eq!(matched(consent(Some(ConsentStateFilter::Withdrawn))).await, vec![w.id]);
        assert_eq!(matched(consent(Some(ConsentStateFilter::Expired))).await, vec![x.id]);
        assert_eq!(matched(consent(Some(ConsentStateFilter::None))).await, vec![n.id]);
        let mut given_early = consent(None);
        given_early.consent.as_mut().unwrap().given_before = Some(days_before(env.store.now(), 1));
        assert_eq!(matched(given_early).await, vec![x.id]);
        assert_eq!(matched(RuleFilter { source: Some(SourceFilter::Empty), legal_basis: Some(LegalBasis::Contract), ..RuleFilter::default() }).await, vec![g.id]);
        assert_eq!(matched(RuleFilter { purpose: Some("p".into()), ..RuleFilter::default() }).await, vec![g.id]);
        assert_eq!(matched(RuleFilter { attribute: Some(consento_domain::rules::AttributeFilter { key: "lista".into(), value: "vip".into() }), ..RuleFilter::default() }).await, vec![g.id]);
        let mut early = vec![g.id, w.id];
        early.sort();
        assert_eq!(matched(RuleFilter { created_before: Some(Timestamp::from_micros(start().as_micros() + DAY)), ..RuleFilter::default() }).await, early);
        // A consent type that does not exist is refused at the field.
        let err = env.store.create_rule(RuleSpec { name: "bad".into(), filter: RuleFilter { consent: Some(ConsentFilter { type_code: "NOPE".into(), state: None, given_before: None, given_after: None }), ..RuleFilter::default() }, changes: RuleChanges { source: Some("s".into()), ..RuleChanges::default() } }, AuditActor::System).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(ref e) if e.field() == "filter.consent.type_code"), "{err:?}");
    });
}

#[tokio::test]
async fn rules_are_saved_listed_renamed_and_deleted_with_unique_names_and_purposes_removed_or_replaced()
 {
    on_every_backend!(env => {
        let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
        let dup = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap_err();
        assert!(matches!(dup, StoreError::Conflict { field: "name", .. }), "{dup:?}");
        let mut other = fair_rule();
        other.name = "Pulizia".into();
        other.changes = RuleChanges { purposes: Some(PurposesChange::Remove(vec!["x".into()])), attribute: Some(AttributeChange::Remove { key: "lista".into() }), ..RuleChanges::default() };
        let updated = env.store.update_rule(rule.id, other.clone(), AuditActor::System).await.unwrap();
        assert_eq!(updated.spec, other);
        assert_eq!(env.store.rules().await.unwrap().len(), 1);
        let mut with = provenance("a@example.it", Some("fiera"), &["x", "y"]);
        with.attributes.insert("lista".into(), serde_json::json!("old"));
        let a = env.store.create_contact(with).await.unwrap();
        env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
        let a = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
        assert_eq!(a.purposes, vec!["y"]);
        assert!(a.attributes.is_empty());
        let mut replace = other;
        replace.changes = RuleChanges { purposes: Some(PurposesChange::Replace(vec!["z".into()])), ..RuleChanges::default() };
        env.store.update_rule(rule.id, replace, AuditActor::System).await.unwrap();
        env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
        assert_eq!(env.store.contact(&ContactRef::Id(a.id)).await.unwrap().purposes, vec!["z"]);
        env.store.delete_rule(rule.id, AuditActor::System).await.unwrap();
        assert!(env.store.rules().await.unwrap().is_empty());
        assert_eq!(env.store.rule_runs(10).await.unwrap().len(), 2, "runs outlive their rule");
        assert_eq!(entries(env, "bulk_rule.delete").await.len(), 1);
    });
}

#[tokio::test]
async fn the_new_values_a_rule_computes_in_sql_are_those_the_domain_specifies() {
    use consento_domain::rules::Provenance;
    on_every_backend!(env => {
        type Shape<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
        let shapes: [Shape; 4] = [
            (&[], &[]),
            (&["b", "a"], &[("k", "old")]),
            (&["a", "c", "b"], &[("z", "1"), ("k", "x")]),
            (&["c"], &[("m", "2")]),
        ];
        for (i, (purposes, attributes)) in shapes.iter().enumerate() {
            let mut input = provenance(&format!("s{i}@example.it"), Some("eq"), purposes);
            for (k, v) in attributes.iter() {
                input.attributes.insert((*k).to_owned(), serde_json::json!(v));
            }
            env.store.create_contact(input).await.unwrap();
        }
        let changes = [
            RuleChanges { purposes: Some(PurposesChange::Add(vec!["a".into(), "d".into(), "b".into()])), ..RuleChanges::default() },
            RuleChanges { purposes: Some(PurposesChange::Remove(vec!["b".into(), "c".into()])), ..RuleChanges::default() },
            RuleChanges { purposes: Some(PurposesChange::Replace(vec!["x".into()])), source: Some("new".into()), ..RuleChanges::default() },
            RuleChanges { attribute: Some(AttributeChange::Set { key: "k".into(), value: "new".into() }), legal_basis: Some(LegalBasis::Consent), ..RuleChanges::default() },
            RuleChanges { attribute: Some(AttributeChange::Remove { key: "k".into() }), ..RuleChanges::default() },
        ];
        let as_domain = |v: &consento_store::ProvenanceValues| {
            let mut attributes: Vec<(String, String)> = v.attributes.as_object().unwrap().iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
            attributes.sort();
            Provenance {
                source: v.source.clone(),
                legal_basis: v.legal_basis.as_deref().map(|b| LegalBasis::parse(b).unwrap()),
                purposes: v.purposes.as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect(),
                attributes,
            }
        };
        for (n, ch) in changes.into_iter().enumerate() {
            let spec = RuleSpec { name: format!("eq{n}"), filter: RuleFilter { source: Some(SourceFilter::Equals("eq".into())), ..RuleFilter::default() }, changes: ch.clone() };
            let rule = env.store.create_rule(spec, AuditActor::System).await.unwrap();
            let dry = env.store.dry_run(rule.id, 100).await.unwrap();
            assert!(dry.count > 0, "rule {n} changes someone");
            for s in &dry.sample {
                let mut expected = ch.apply(&as_domain(&s.before));
                expected.attributes.sort();
                assert_eq!(as_domain(&s.after), expected, "rule {n}");
                assert_ne!(as_domain(&s.before), as_domain(&s.after), "rule {n}: only real changes are counted");
            }
        }
    });
}

#[tokio::test]
async fn erasing_a_contact_removes_the_values_a_rule_run_kept_and_its_revert_leaves_it_alone() {
    on_every_backend!(env => {
        let a = env.store.create_contact(provenance("a@example.it", Some("fiera"), &["x"])).await.unwrap();
        let b = env.store.create_contact(provenance("b@example.it", Some("fiera"), &[])).await.unwrap();
        let rule = env.store.create_rule(fair_rule(), AuditActor::System).await.unwrap();
        let run = env.store.apply_rule(rule.id, AuditActor::System).await.unwrap();
        assert_eq!(run.changed, 2);
        let erasure = consento_store::ErasureInput {
            reason: consento_domain::erasure::ErasureReason::Request,
            actor: operator(),
            by: consento_store::AuditActor::System,
            request_id: None,
        };
        env.store.erase_contact(a.id, &erasure).await.unwrap();
        let kept = env.store.rule_run_changes(run.id, 10).await.unwrap();
        assert_eq!(kept.iter().map(|c| c.contact_id).collect::<Vec<_>>(), vec![b.id], "nothing of the erased person stays");
        let report = env.store.revert_run(run.id, AuditActor::System).await.unwrap();
        assert_eq!((report.restored, report.run.skipped), (1, Some(1)));
        let erased = env.store.contact(&ContactRef::Id(a.id)).await.unwrap();
        assert!(erased.erased_at.is_some() && erased.source.is_none());
    });
}
