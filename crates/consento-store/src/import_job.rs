//! What an import run shares between its reader, its two writers (PostgreSQL's in import.rs,
//! SQLite's in fastimport.rs) and whoever shows its progress: the spec it writes with, the chunks
//! the reader sends, the progress counters, and the maker of its consent events, so both writers
//! chain the same records.

use std::sync::atomic::{AtomicU64, Ordering};

use consento_domain::import::ImportRow;
use consento_domain::ledger::EventRecord;
use consento_domain::{
    Actor, CollectionMethod, ConsentTypeId, ContactId, DomainError, EventId, Timestamp,
};
use serde::Serialize;

use crate::StoreError;
use crate::row::hex;

/// What an import writes with: the source (the contacts' provenance, GDPR Art. 14(2)(f)), the
/// file (its name and SHA-256 go into every event's evidence), the consent types of the mapping
/// in its order, and who runs it.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    /// The source name (`crm-x`).
    pub source: String,
    /// The file's name as given.
    pub file_name: String,
    /// SHA-256 of the file's bytes.
    pub file_sha256: [u8; 32],
    /// Consent type codes, indexed by [`consento_domain::import::ImportedConsent::type_index`].
    pub codes: Vec<String>,
    /// The actor recorded on each event.
    pub actor: Actor,
    /// The run the rows belong to (its row records what each committed part wrote).
    pub run_id: uuid::Uuid,
    /// Whether the whole file was read and found free of bad lines: no part of it may commit
    /// before that is known.
    pub check: std::sync::Arc<FileCheck>,
}

/// The outcome of reading a whole file for bad lines before any of it is committed: a writer
/// that may commit in parts (SQLite, to keep its WAL bounded) waits for it, so that a bad line
/// anywhere in the file still means nothing is written.
#[derive(Debug, Default)]
pub struct FileCheck {
    clean: std::sync::Mutex<Option<bool>>,
    known: std::sync::Condvar,
}

impl FileCheck {
    /// A check already passed: for rows that were checked before they were sent.
    pub fn passed() -> std::sync::Arc<Self> {
        let check = Self::default();
        check.finish(true);
        std::sync::Arc::new(check)
    }

    /// Records the outcome (the first one stays) and wakes whoever waits for it.
    pub fn finish(&self, clean: bool) {
        if let Ok(mut state) = self.clean.lock() {
            state.get_or_insert(clean);
        }
        self.known.notify_all();
    }

    /// The outcome when it is known.
    pub fn outcome(&self) -> Option<bool> {
        self.clean.lock().ok().and_then(|s| *s)
    }

    /// Waits for the outcome: `true` when the file is clean. Blocking: for writer threads.
    pub fn wait(&self) -> bool {
        let Ok(mut state) = self.clean.lock() else {
            return false;
        };
        loop {
            if let Some(clean) = *state {
                return clean;
            }
            state = match self.known.wait(state) {
                Ok(s) => s,
                Err(_) => return false,
            };
        }
    }
}

/// What the reader of a file sends to [`Store::import_rows`](crate::Store::import_rows).
#[derive(Debug)]
pub enum ImportChunk {
    /// The next rows, in file order.
    Rows(Vec<ImportRow>),
    /// The file was read to its end without a bad line: commit. Without it (the sender dropped)
    /// nothing more is written: only parts a long file committed once its check had passed stay
    /// (SQLite; see `fastimport::run`).
    Commit,
}

/// Counters of a run, shared between the reader, the writer and whoever shows progress.
#[derive(Debug, Default)]
pub struct ImportProgress {
    /// Bytes of the file read so far.
    pub bytes_read: AtomicU64,
    /// Data lines read (the header excluded).
    pub rows_read: AtomicU64,
    /// Lines written (a new or a matched contact).
    pub rows_written: AtomicU64,
    /// Contacts created.
    pub contacts_created: AtomicU64,
    /// Lines that matched a known contact (or an earlier line of the file).
    pub contacts_matched: AtomicU64,
    /// Consent events appended.
    pub events_written: AtomicU64,
    /// Lines skipped: the person is on the suppression list or was erased.
    pub skipped_suppressed: AtomicU64,
    /// Bad lines.
    pub error_count: AtomicU64,
    /// The counters as of the last part committed, when the run commits in parts: what stays
    /// written should the run stop before its end.
    pub committed: std::sync::Mutex<Option<ImportCounts>>,
}

impl ImportProgress {
    /// The counters as of the last part committed (`None` when no part has).
    pub fn committed(&self) -> Option<ImportCounts> {
        self.committed.lock().ok().and_then(|c| *c)
    }

    /// The counters now.
    pub fn snapshot(&self) -> ImportCounts {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ImportCounts {
            bytes_read: r(&self.bytes_read),
            rows_read: r(&self.rows_read),
            rows_written: r(&self.rows_written),
            contacts_created: r(&self.contacts_created),
            contacts_matched: r(&self.contacts_matched),
            events_written: r(&self.events_written),
            skipped_suppressed: r(&self.skipped_suppressed),
            error_count: r(&self.error_count),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A copy of [`ImportProgress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Bytes of the file read.
    pub bytes_read: u64,
    /// Data lines read.
    pub rows_read: u64,
    /// Lines written.
    pub rows_written: u64,
    /// Contacts created.
    pub contacts_created: u64,
    /// Lines matching a known contact.
    pub contacts_matched: u64,
    /// Consent events appended.
    pub events_written: u64,
    /// Lines skipped as suppressed or erased.
    pub skipped_suppressed: u64,
    /// Bad lines.
    pub error_count: u64,
}

/// What every event of an import has in common, and how one is made from a line: shared by
/// the PostgreSQL writer and the SQLite one (fastimport.rs), so both chain the same records.
pub(crate) struct EventMaker {
    /// The mapping's consent types (id, validity, code), by `type_index`.
    pub(crate) types: Vec<(ConsentTypeId, Option<u32>, String)>,
    /// The import's source: new contacts get it unless a column gives one.
    pub(crate) source: String,
    /// The instant of the import (recorded time of every event and row).
    pub(crate) now: Timestamp,
    source_json: String,
    file_json: String,
    sha: String,
    pub(crate) actor: Actor,
}

impl EventMaker {
    pub(crate) fn new(
        spec: &ImportSpec,
        types: Vec<(ConsentTypeId, Option<u32>, String)>,
        now: Timestamp,
    ) -> Result<Self, StoreError> {
        let source = source_name(&spec.source)?;
        Ok(Self {
            types,
            source_json: serde_json::Value::String(source.clone()).to_string(),
            source,
            now,
            file_json: serde_json::Value::String(spec.file_name.clone()).to_string(),
            sha: hex(&spec.file_sha256),
            actor: spec.actor.clone(),
        })
    }

    /// The evidence of the events of line `line`: the source, the file, its SHA-256, the line.
    pub(crate) fn evidence(&self, line: u64) -> String {
        format!(
            "{{\"import\":{{\"source\":{},\"file\":{},\"sha256\":\"{}\",\"line\":{line}}}}}",
            self.source_json, self.file_json, self.sha
        )
    }

    /// The event of consent `c` for `contact`, at `seq` after `prev`; `None` for a type index
    /// the mapping does not have.
    pub(crate) fn record(
        &self,
        seq: i64,
        id: EventId,
        contact_id: ContactId,
        c: &consento_domain::import::ImportedConsent,
        evidence_digest: [u8; 32],
        prev_hash: [u8; 32],
    ) -> Option<EventRecord> {
        let (type_id, validity, code) = self.types.get(c.type_index)?;
        Some(EventRecord {
            seq,
            id,
            contact_id,
            consent_type_id: *type_id,
            type_code: code.clone(),
            kind: c.kind,
            event_time: c.event_time,
            recorded_at: self.now,
            method: CollectionMethod::Import,
            actor_kind: self.actor.kind,
            actor_id: self.actor.id.clone(),
            notice_id: None,
            validity_days: *validity,
            evidence_digest: Some(evidence_digest),
            prev_hash,
        })
    }
}

/// A source name: trimmed, 1 to 200 characters.
pub(crate) fn source_name(source: &str) -> Result<String, DomainError> {
    let s = source.trim();
    consento_domain::text::check("source", s, consento_domain::text::Lines::One)?;
    if s.is_empty() || s.chars().count() > 200 {
        return Err(DomainError::invalid(
            "source",
            "must be 1 to 200 characters",
        ));
    }
    Ok(s.to_owned())
}
