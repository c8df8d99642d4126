//! The baselines the benchmarks compare Consento against, on the same database in the same run:
//! a bare indexed point lookup of one consent row, a raw single-row durable insert, the bare
//! SQL filter of a mailing list, and a raw COPY of ledger rows (PostgreSQL). They live here
//! because all SQL does.

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

    /// Baseline (PostgreSQL; `None` on SQLite): the time of one raw `COPY` of `rows` ledger
    /// rows, chained like an import's, into a scratch copy of `consent_events` with its indexes
    /// and CHECK constraints (no triggers, no foreign keys), committed. Only the COPY is timed;
    /// the table is dropped afterwards.
    pub async fn bench_raw_copy(
        &self,
        rows: u64,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(None);
        };
        let now = self.now();
        let mut ids = crate::fastimport::AscendingIds::new(now, self.entropy.as_ref())?;
        let n = usize::try_from(rows).map_err(|_| StoreError::Corrupt("row count"))?;
        let mut copy = crate::pgcopy::CopyRows::new();
        // Two events a contact, as in the import's file.
        let contacts = crate::fastimport::AscendingIds::new(now, self.entropy.as_ref())?
            .take(n.div_ceil(2), self.entropy.as_ref())?;
        let ty = self
            .new_uuids(now, 1)?
            .into_iter()
            .next()
            .ok_or(StoreError::Entropy)?;
        let mut prev = [0u8; 32];
        let mut random = vec![0u8; 32];
        for (i, id) in ids.take(n, self.entropy.as_ref())?.into_iter().enumerate() {
            self.entropy.fill(&mut random)?;
            let record = consento_domain::ledger::EventRecord {
                seq: i64::try_from(i).unwrap_or(i64::MAX) + 1,
                id: consento_domain::EventId(id),
                contact_id: ContactId(contacts.get(i / 2).copied().unwrap_or(ty)),
                consent_type_id: ConsentTypeId(ty),
                type_code: "bench-1".to_owned(),
                kind: consento_domain::EventKind::Given,
                event_time: now,
                recorded_at: now,
                method: consento_domain::CollectionMethod::Import,
                actor_kind: consento_domain::ActorKind::System,
                actor_id: String::new(),
                notice_id: None,
                validity_days: Some(730),
                evidence_digest: crate::row::hash32(random.clone()).ok(),
                prev_hash: prev,
            };
            prev = record.hash();
            copy.event(&record, &prev);
        }
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql("DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy (LIKE consent_events INCLUDING ALL)")
            .execute(&mut *conn)
            .await?;
        let started = std::time::Instant::now();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        copy.copy(
            &mut tx,
            &crate::pgcopy::COPY_EVENTS.replacen("consent_events", "bench_raw_copy", 1),
        )
        .await?;
        tx.commit().await?;
        let took = started.elapsed();
        sqlx::raw_sql("DROP TABLE bench_raw_copy")
            .execute(&mut *conn)
            .await?;
        Ok(Some(took))
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
