//! Staff accounts, sessions and the audit trail: usernames unique whatever their case, lockout
//! after failed logins, the ways a session ends, and an audit trail filtered and never rewritten.

use super::*;

#[tokio::test]
async fn a_username_is_unique_whatever_its_case() {
    on_every_backend!(env => {
        let first = env.store.create_user(staff("Anna", consento_domain::Role::Operator)).await.unwrap();
        assert_eq!(first.username, "anna");
        assert_eq!(first.display_name, "anna");
        let again = env.store.create_user(staff("ANNA", consento_domain::Role::Admin)).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict { field: "username", .. }), "{again:?}");
        assert_eq!(env.store.user_count().await.unwrap(), 1);
    });
}

#[tokio::test]
async fn failed_logins_lock_an_account_and_a_session_resets_the_count() {
    on_every_backend!(env => {
        let u = env.store.create_user(staff("bruno", consento_domain::Role::Operator)).await.unwrap();
        let until = env.store.now().plus_days(1);
        for n in 1..=2 {
            let f = env.store.record_login_failure(u.id, 3, env.store.now(), until).await.unwrap();
            assert_eq!((f.failures, f.locked_until), (n, None));
        }
        let third = env.store.record_login_failure(u.id, 3, env.store.now(), until).await.unwrap();
        assert_eq!(third.locked_until, Some(until));
        // Once the lock has run out, a wrong password counts from one again: it does not lock.
        let later = until.plus_days(1);
        let after = env.store.record_login_failure(u.id, 3, later, later.plus_days(1)).await.unwrap();
        assert_eq!((after.failures, after.locked_until), (1, None));
        let (seen, _) = env.store.user_for_login(&consento_domain::Username::parse("bruno").unwrap()).await.unwrap().unwrap();
        assert_eq!(seen.locked_until, None);
        for _ in 0..2 {
            env.store.record_login_failure(u.id, 3, later, later.plus_days(1)).await.unwrap();
        }
        let (seen, _) = env.store.user_for_login(&consento_domain::Username::parse("bruno").unwrap()).await.unwrap().unwrap();
        assert_eq!(seen.locked_until, Some(later.plus_days(1)), "three in a row lock it again");
        env.store.start_session(u.id, &[7; 32], env.store.now().plus_days(1)).await.unwrap();
        let user = env.store.user(u.id).await.unwrap();
        assert_eq!((user.failed_logins, user.locked_until), (0, None));
    });
}

#[tokio::test]
async fn a_session_ends_when_it_expires_idles_logs_out_or_its_account_is_disabled() {
    on_every_backend!(env => {
        let u = env.store.create_user(staff("carla", consento_domain::Role::Dpo)).await.unwrap();
        let t0 = env.store.now();
        env.store.start_session(u.id, &[1; 32], t0.plus_days(1)).await.unwrap();
        env.store.start_session(u.id, &[2; 32], t0.plus_days(1)).await.unwrap();
        assert!(env.store.session(&[1; 32], t0).await.unwrap().is_none(), "idle since before now");
        let idle_since = Timestamp::from_micros(t0.as_micros() - 1);
        assert_eq!(env.store.session(&[1; 32], idle_since).await.unwrap().unwrap().user.id, u.id);
        assert!(env.store.session(&[9; 32], idle_since).await.unwrap().is_none());
        env.store.end_session(&[1; 32]).await.unwrap();
        assert!(env.store.session(&[1; 32], idle_since).await.unwrap().is_none());
        // Changing the password keeps only the session that changed it.
        env.store.start_session(u.id, &[3; 32], t0.plus_days(1)).await.unwrap();
        env.store.set_password(u.id, "$argon2id$new", false, Some(&[3; 32])).await.unwrap();
        assert!(env.store.session(&[2; 32], idle_since).await.unwrap().is_none());
        assert!(env.store.session(&[3; 32], idle_since).await.unwrap().is_some());
        env.store.update_user(u.id, consento_domain::Role::Dpo, "Carla", true).await.unwrap();
        assert!(env.store.session(&[3; 32], idle_since).await.unwrap().is_none());
        env.clock.advance(2 * DAY);
        assert_eq!(env.store.purge_sessions(env.store.now()).await.unwrap(), 0, "already gone");
    });
}

#[tokio::test]
async fn the_audit_trail_is_filtered_by_person_date_and_record_and_cannot_be_rewritten() {
    on_every_backend!(env => {
        let a = env.store.create_user(staff("dario", consento_domain::Role::Admin)).await.unwrap();
        let b = env.store.create_user(staff("elena", consento_domain::Role::Operator)).await.unwrap();
        let entry = |user: uuid::Uuid, action: &str, target: &str| consento_store::AuditInput {
            user_id: Some(user),
            token_id: None,
            action: action.to_owned(),
            target_kind: Some("contact".to_owned()),
            target_id: Some(target.to_owned()),
            detail: serde_json::json!({"n": 1}),
        };
        env.store.audit(entry(a.id, "contact.update", "c1")).await.unwrap();
        env.clock.advance(DAY);
        let day2 = env.store.now();
        env.store.audit(entry(b.id, "contact.consent", "c1")).await.unwrap();
        env.store.audit(entry(b.id, "contact.consent", "c2")).await.unwrap();
        let all = env.store.audit_entries(&consento_store::AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(all.iter().map(|e| e.target_id.clone().unwrap()).collect::<Vec<_>>(), ["c2", "c1", "c1"], "newest first");
        assert_eq!(all[0].username.as_deref(), Some("elena"));
        let by_b = env.store.audit_entries(&consento_store::AuditFilter { user_id: Some(b.id), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(by_b.len(), 2);
        let before = env.store.audit_entries(&consento_store::AuditFilter { until: Some(day2), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].action, "contact.update");
        let on_c1 = env.store.audit_entries(&consento_store::AuditFilter { target: Some(("contact".into(), "c1".into())), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(on_c1.len(), 2);
        let page2 = env.store.audit_entries(&consento_store::AuditFilter { before: Some(all[0].seq), limit: 1, ..Default::default() }).await.unwrap();
        assert_eq!(page2[0].id, all[1].id);
        let delete = env.raw_sql("DELETE FROM audit_events").await.unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        let rewrite = env.raw_sql("UPDATE audit_events SET action = 'nothing'").await.unwrap_err();
        assert!(rewrite.to_string().contains("append-only"), "{rewrite}");
        // Erasure may still blank a detail.
        env.raw_sql("UPDATE audit_events SET detail = '{}'").await.unwrap();
    });
}

/// Makes every insert into the audit trail fail, as a full disk or a broken trigger would.
async fn refuse_audit_rows(env: &Env) {
    let sql = if env.is_postgres() {
        "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER no_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION no_audit();"
    } else {
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
    };
    env.raw_sql(sql).await.unwrap();
}

fn entry(action: &str) -> consento_store::AuditInput {
    consento_store::AuditActor::System.entry(action, None, serde_json::json!({ "why": "test" }))
}

#[tokio::test]
async fn an_audited_change_is_written_with_its_audit_row_and_a_created_record_is_its_target() {
    on_every_backend!(env => {
        let (reason, written) = env.store
            .audited(entry("reason.create"), env.store.create_reason("Richiesta del cliente", false))
            .await
            .unwrap();
        assert!(written);
        let trail = env.store.audit_entries(&consento_store::AuditFilter { limit: 10, ..consento_store::AuditFilter::default() }).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, "reason.create");
        assert_eq!(trail[0].target_kind.as_deref(), Some("reason"));
        assert_eq!(trail[0].target_id, Some(reason.id.0.to_string()));
        // One entry per scope: a second write in the same scope does not repeat it.
        env.store
            .audited(entry("reason.update"), async {
                env.store.update_reason(reason.id, Some("Richiamata"), None, None).await?;
                env.store.update_reason(reason.id, None, None, Some(true)).await
            })
            .await
            .unwrap();
        let trail = env.store.audit_entries(&consento_store::AuditFilter { limit: 10, ..consento_store::AuditFilter::default() }).await.unwrap();
        assert_eq!(trail.iter().filter(|e| e.action == "reason.update").count(), 1);
    });
}

#[tokio::test]
async fn a_change_whose_audit_row_cannot_be_written_is_rolled_back() {
    on_every_backend!(env => {
        refuse_audit_rows(env).await;
        let failed = env.store
            .audited(entry("reason.create"), env.store.create_reason("Richiesta del cliente", false))
            .await;
        assert!(failed.is_err(), "{failed:?}");
        assert!(env.store.reasons().await.unwrap().is_empty(), "the change went with its audit row");
        // The same for a consent event, which a group commit writes.
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let c = env.store.create_contact(contact("audit@example.it")).await.unwrap();
        let r = ContactRef::Id(c.id);
        let refused = env.store
            .audited(entry("contact.consent"), env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)))
            .await;
        assert!(refused.is_err(), "{refused:?}");
        assert!(env.store.consent_history(&r).await.unwrap().is_empty());
        // Unaudited writes (no scope) are untouched by the refusal.
        env.store.record_consent(event(&r, "NEWS", EventKind::Given, None)).await.unwrap();
        assert_eq!(env.store.consent_history(&r).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn consent_events_appended_together_each_carry_their_own_audit_row() {
    on_every_backend!(env => {
        env.store.create_consent_type(spec("NEWS", Some(365), newsletter())).await.unwrap();
        let mut contacts = Vec::new();
        for i in 0..8 {
            contacts.push(env.store.create_contact(contact(&format!("group{i}@example.it"))).await.unwrap().id);
        }
        // Appends arriving together share a group commit; each keeps its own entry.
        let appends = contacts.iter().map(|id| {
            let r = ContactRef::Id(*id);
            let store = &env.store;
            async move {
                store.audited(entry("contact.consent"), store.record_consent(event(&r, "NEWS", EventKind::Given, None))).await
            }
        });
        for done in futures_util::future::join_all(appends).await {
            assert!(done.unwrap().1);
        }
        let trail = env.store.audit_entries(&consento_store::AuditFilter { limit: 50, ..consento_store::AuditFilter::default() }).await.unwrap();
        let mut targets: Vec<String> = trail.iter().filter_map(|e| e.target_id.clone()).collect();
        targets.sort();
        let mut expected: Vec<String> = contacts.iter().map(|c| c.0.to_string()).collect();
        expected.sort();
        assert_eq!(targets, expected, "one entry per event, naming its contact");
    });
}
