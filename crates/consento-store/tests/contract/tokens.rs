//! API tokens: found by their secret only while valid; the secret itself is not stored.

use super::*;

#[tokio::test]
async fn a_token_is_found_by_its_secret_only_while_valid_and_the_secret_is_not_stored() {
    on_every_backend!(env => {
        let (token, secret) = env.store
            .create_token("dialer", &["decide".into()], Some(Timestamp::from_micros(start().as_micros() + DAY)), None)
            .await.unwrap();
        assert!(secret.starts_with(consento_store::TOKEN_PREFIX));
        let found = env.store.token_by_digest(&consento_store::token_digest(&secret)).await.unwrap().unwrap();
        assert_eq!((found.id, found.scopes.clone()), (token.id, vec!["decide".to_owned()]));
        assert!(env.store.token_by_digest(&consento_store::token_digest("cns_wrong")).await.unwrap().is_none());
        let stored: Vec<String> = match &env.raw {
            Raw::Sqlite(url) => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::query_scalar("SELECT name || scopes || hex(token_hash) FROM api_tokens").fetch_all(&pool).await.unwrap()
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name || scopes || encode(token_hash, 'hex') FROM {schema}.api_tokens"))).fetch_all(&pool).await.unwrap()
            }
        };
        assert!(stored.iter().all(|row| !row.to_lowercase().contains(&secret[4..].to_lowercase())));
        // Expired after a day; a revoked one at once.
        env.clock.advance(DAY + 1);
        assert!(env.store.token_by_digest(&consento_store::token_digest(&secret)).await.unwrap().is_none());
        let (t2, s2) = env.store.create_token("crm", &["write".into()], None, None).await.unwrap();
        env.store.revoke_token(t2.id).await.unwrap();
        assert!(env.store.token_by_digest(&consento_store::token_digest(&s2)).await.unwrap().is_none());
        assert!(env.store.ready().await.unwrap());
    });
}
