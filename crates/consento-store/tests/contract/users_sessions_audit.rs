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
