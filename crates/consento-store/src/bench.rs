//! The baselines the benchmarks compare Consento against, on the same database in the same run:
//! a bare indexed point lookup of one consent row, a raw single-row durable insert, and the bare
//! SQL filter of a mailing list. They live here because all SQL does.

use consento_domain::{ConsentTypeId, ContactId, Timestamp};
use futures_util::TryStreamExt;

use crate::row::Cols;
use crate::{Db, Store, StoreError, on_read_pool};

impl Store {
    /// Up to `limit` (contact, consent type) pairs that have a consent state, from position
    /// `offset` in key order, for sampling.
    pub async fn bench_sample_pairs(
        &self,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(ContactId, ConsentTypeId)>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query("SELECT contact_id, consent_type_id FROM consent_state ORDER BY contact_id, consent_type_id LIMIT $1 OFFSET $2")
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((ContactId(r.uuid("contact_id")?), ConsentTypeId(r.uuid("consent_type_id")?))))
                .collect()
        })
    }

    /// Baseline: one indexed point lookup of a consent row.
    pub async fn bench_point_lookup(
        &self,
        contact: ContactId,
        consent_type: ConsentTypeId,
    ) -> Result<bool, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query("SELECT kind, valid_until FROM consent_state WHERE contact_id = $1 AND consent_type_id = $2")
                .bind(contact.0)
                .bind(consent_type.0)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    /// Prepares the scratch table of [`Store::bench_raw_insert`], empty.
    pub async fn bench_prepare_raw_inserts(&self) -> Result<(), StoreError> {
        let ddl = "CREATE TABLE IF NOT EXISTS bench_raw_inserts (id BIGINT PRIMARY KEY, contact_id BIGINT NOT NULL, payload TEXT NOT NULL, at BIGINT NOT NULL)";
        match &self.db {
            Db::Sqlite { write, .. } => {
                sqlx::raw_sql(ddl).execute(write).await?;
                sqlx::query("DELETE FROM bench_raw_inserts")
                    .execute(write)
                    .await?;
            }
            Db::Postgres(pool) => {
                sqlx::raw_sql(ddl).execute(pool).await?;
                sqlx::query("DELETE FROM bench_raw_inserts")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Baseline: one durable single-row insert, committed on its own, through the same pool as
    /// Consento's writes.
    pub async fn bench_raw_insert(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO bench_raw_inserts (id, contact_id, payload, at) VALUES ($1, $2, $3, $4)";
        match &self.db {
            Db::Sqlite { write, .. } => {
                sqlx::query(sql)
                    .bind(id)
                    .bind(id)
                    .bind("given")
                    .bind(at.as_micros())
                    .execute(write)
                    .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(id)
                    .bind(id)
                    .bind("given")
                    .bind(at.as_micros())
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Baseline: the bare SQL filter of a mailing list (contacts holding a valid consent of one
    /// type, with their address), ignoring every other rule. Returns the rows streamed.
    pub async fn bench_bare_filter(
        &self,
        consent_type: ConsentTypeId,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        on_read_pool!(self, pool => {
            let mut rows = sqlx::query("SELECT c.id, c.email FROM consent_state s JOIN contacts c ON c.id = s.contact_id WHERE s.consent_type_id = $1 AND s.granted AND s.valid_until > $2")
                .bind(consent_type.0)
                .bind(at.as_micros())
                .fetch(pool);
            let mut n = 0u64;
            while let Some(row) = rows.try_next().await? {
                let _email: Option<String> = row.opt_text("email")?;
                n += 1;
            }
            Ok(n)
        })
    }
}
