//! Contacts: found by every key in any common format, listed with their restriction, objection
//! and erasure dates, searched by name page by page and whatever the case and accents, and the
//! conflicts and invalid fields a write is refused for.

use super::*;

#[tokio::test]
async fn a_contact_is_found_by_id_external_id_email_and_phone_in_any_common_format() {
    on_every_backend!(env => {
        let input = ContactInput {
            external_id: Some("CRM-42".into()),
            name: Some("Giulia Bianchi".into()),
            emails: vec!["Giulia.Bianchi@Example.IT".into(), "gb@example.com".into()],
            phones: vec!["+39 333 123 4567".into()],
            legal_basis: Some("f".into()),
            purposes: vec!["marketing".into()],
            source: Some("fiera 2025".into()),
            ..ContactInput::default()
        };
        let c = env.store.create_contact(input).await.unwrap();
        assert_eq!(c.emails[0].as_str(), "giulia.bianchi@example.it");
        assert_eq!(c.phones[0].as_str(), "+393331234567");
        for r in [
            ContactRef::Id(c.id),
            ContactRef::External("CRM-42".into()),
            ContactRef::Email("GIULIA.BIANCHI@example.it".into()),
            ContactRef::Email("gb@example.com".into()),
            ContactRef::Phone("0039 333-1234567".into()),
            ContactRef::Phone("333 1234567".into()),
        ] {
            assert_eq!(env.store.resolve_contact(&r).await.unwrap(), c.id, "{r:?}");
        }
        let found = env.store.search_contacts("bianchi", 10).await.unwrap();
        assert_eq!(found.len(), 1);
        let missing = env.store.resolve_contact(&ContactRef::Email("nobody@example.it".into())).await.unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { entity: "contact" }));
    });
}

#[tokio::test]
async fn every_contact_list_carries_the_restriction_objection_and_erasure_dates() {
    on_every_backend!(env => {
        let c = env.store.create_contact(ContactInput {
            name: Some("Carla Flag".into()),
            emails: vec!["carla@example.it".into()],
            ..ContactInput::default()
        }).await.unwrap();
        let plain = env.store.list_contacts(None, 10).await.unwrap();
        assert_eq!((plain[0].restricted_at, plain[0].objected_at, plain[0].erased_at), (None, None, None));
        env.store.set_restricted(&ContactRef::Id(c.id), true).await.unwrap();
        env.clock.advance(DAY);
        env.store.set_objected(&ContactRef::Id(c.id), true).await.unwrap();
        let restricted = Some(start());
        let objected = Some(Timestamp::from_micros(start().as_micros() + DAY));
        for page in [
            env.store.list_contacts(None, 10).await.unwrap(),
            env.store.search_contacts_page("carla", None, 10).await.unwrap(),
            env.store.search_contacts("carla", 10).await.unwrap(),
            env.store.contact_summaries(ContactRef::Email("carla@example.it".into())).await.unwrap(),
        ] {
            assert_eq!(page.len(), 1);
            assert_eq!((page[0].restricted_at, page[0].objected_at, page[0].erased_at), (restricted, objected, None));
        }
        env.raw_sql("UPDATE contacts SET erased_at = 5 WHERE name = 'Carla Flag'").await.unwrap();
        let erased = env.store.list_contacts(None, 10).await.unwrap();
        assert_eq!(erased[0].erased_at, Some(Timestamp::from_micros(5)));
    });
}

#[tokio::test]
async fn a_paged_name_search_walks_every_match_once_in_id_order() {
    on_every_backend!(env => {
        let mut expected = Vec::new();
        for i in 0..7 {
            let c = env.store.create_contact(ContactInput {
                name: Some(format!("Anna Verdi {i}")),
                external_id: Some(format!("V-{i}")),
                ..ContactInput::default()
            }).await.unwrap();
            expected.push(c.id);
            env.clock.advance(1_000);
        }
        env.store.create_contact(ContactInput { name: Some("Bruno Neri".into()), ..ContactInput::default() }).await.unwrap();
        let percent = env.store.create_contact(ContactInput { name: Some("100% Verdi".into()), ..ContactInput::default() }).await.unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = env.store.search_contacts_page("ANNA verdi", after, 3).await.unwrap();
            assert!(page.len() <= 3);
            if page.is_empty() {
                break;
            }
            after = page.last().map(|s| s.id);
            seen.extend(page.iter().map(|s| s.id));
        }
        assert_eq!(seen, expected);
        // The external id matches exactly; LIKE wildcards in the query match literally.
        let by_ext = env.store.search_contacts_page("V-3", None, 10).await.unwrap();
        assert_eq!(by_ext.iter().map(|s| s.id).collect::<Vec<_>>(), vec![expected[3]]);
        let literal = env.store.search_contacts_page("0%", None, 10).await.unwrap();
        assert_eq!(literal.iter().map(|s| s.id).collect::<Vec<_>>(), vec![percent.id]);
        // Erased contacts are left out.
        assert_eq!(env.store.search_contacts_page("Bruno", None, 10).await.unwrap().len(), 1);
        env.raw_sql("UPDATE contacts SET erased_at = 1 WHERE name = 'Bruno Neri'").await.unwrap();
        assert!(env.store.search_contacts_page("Bruno", None, 10).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_naming_the_field_and_writes_nothing() {
    on_every_backend!(env => {
        env.store.create_contact(contact("dup@example.it")).await.unwrap();
        let mut second = contact("dup@example.it");
        second.external_id = Some("X-2".into());
        let err = env.store.create_contact(second).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { field: "email", .. }), "{err:?}");
        // The contact row of the failed creation was rolled back with its addresses.
        let err = env.store.resolve_contact(&ContactRef::External("X-2".into())).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
    });
}

#[tokio::test]
async fn an_invalid_field_is_refused_with_its_name() {
    on_every_backend!(env => {
        let err = env.store.create_contact(contact("not-an-email")).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "email"), "{err:?}");
        let bad_phone = ContactInput { phones: vec!["call me".into()], ..ContactInput::default() };
        let err = env.store.create_contact(bad_phone).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.field() == "phone"), "{err:?}");
    });
}

#[tokio::test]
async fn a_name_search_ignores_case_and_accents_on_both_backends_and_old_rows_are_folded_at_start()
{
    on_every_backend!(env => {
        let mut nicolo = contact("nicolo@example.it");
        nicolo.name = Some("NICOLÒ Lucà".into());
        let nicolo = env.store.create_contact(nicolo).await.unwrap();
        let mut bulk = contact("bulk@example.it");
        bulk.name = Some("Niccolò Ferrè".into());
        env.store.bulk_load(vec![consento_store::BulkContact { input: bulk, events: vec![] }]).await.unwrap();
        for q in ["nicolò", "Nicolo", "NICOLÒ", "luca", "LUCÀ"] {
            let found = env.store.search_contacts(q, 10).await.unwrap();
            assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![nicolo.id], "{q}");
            let page = env.store.search_contacts_page(q, None, 10).await.unwrap();
            assert_eq!(page.len(), 1, "{q}");
        }
        assert_eq!(env.store.search_contacts("ferre", 10).await.unwrap().len(), 1);
        // A row written before the folded name existed is folded when a store opens.
        let clear = "UPDATE contacts SET name_folded = NULL";
        match &env.raw {
            Raw::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{path}")).await.unwrap();
                sqlx::query(clear).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {schema}.contacts SET name_folded = NULL"))).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
        assert!(env.store.search_contacts("nicolo", 10).await.unwrap().is_empty());
        let reopened = env.second_store().await;
        assert_eq!(reopened.search_contacts("nicolo", 10).await.unwrap().len(), 1);
        reopened.close().await;
    });
}
