//! Instants as integer microseconds since the Unix epoch (UTC), and the injected [`Clock`].
//!
//! Integers, not calendar types, are what the database stores and what the ledger hashes: the
//! same value on SQLite and PostgreSQL, and no time-zone or precision drift between them.

use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::DomainError;

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An instant, in microseconds since 1970-01-01T00:00:00Z. In JSON it is RFC 3339 text in UTC
/// (`2025-03-01T09:30:00Z`), which scripts and people read without conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339("timestamp", &text).map_err(serde::de::Error::custom)
    }
}

impl Timestamp {
    /// The latest representable instant; used as "never expires" where an ordered value is needed.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From microseconds since the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// This instant plus `days` days of 24 hours, saturating at [`Timestamp::MAX`].
    pub fn plus_days(self, days: u32) -> Self {
        Self(
            self.0
                .saturating_add(i64::from(days).saturating_mul(MICROS_PER_DAY)),
        )
    }

    /// The civil date of this instant in UTC. For machine formats only: the day a person means
    /// is [`crate::Zone::date_of`].
    pub fn utc_date(self) -> Option<Date> {
        self.to_offset_date_time().map(|t| t.date())
    }

    fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).ok()
    }

    /// RFC 3339 text in UTC, e.g. `2025-03-01T09:30:00Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_offset_date_time()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    /// Parses an RFC 3339 instant (`2025-03-01T09:30:00+01:00`, `…Z`), the machine format; the
    /// error names `field`.
    pub fn parse_rfc3339(field: &'static str, text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            DomainError::invalid(field, format!("`{text}` is not an RFC 3339 instant"))
        })?;
        let micros = t.unix_timestamp_nanos() / 1_000;
        i64::try_from(micros)
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "the instant is out of range"))
    }

    /// Parses an RFC 3339 instant, or a plain date read as midnight **UTC**: for fixtures and
    /// machine formats. What a person or an integration types is read by
    /// [`crate::Zone::parse_instant`], where a plain date is the start of the local day.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        let parsed = if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
            Some(t)
        } else {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            Date::parse(text, &format)
                .ok()
                .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(UtcOffset::UTC))
        };
        let t = parsed.ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 instant"),
            )
        })?;
        let micros = t.unix_timestamp_nanos() / 1_000;
        i64::try_from(micros)
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "the instant is out of range"))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The source of "now". Injected everywhere so that expiry and deadlines are testable.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// A clock that only moves when told to: for tests and for reproducible data generation.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(AtomicI64::new(at.as_micros()))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.as_micros(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `micros`.
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_date_reads_as_midnight_utc() {
        let t = Timestamp::parse("event_time", "2025-03-01").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-03-01T00:00:00Z");
    }

    #[test]
    fn an_offset_instant_is_converted_to_utc() {
        let t = Timestamp::parse("event_time", "2025-03-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-03-01T09:00:00Z");
    }

    #[test]
    fn garbage_names_the_field() {
        let err = Timestamp::parse("event_time", "yesterday").unwrap_err();
        assert_eq!(err.field(), "event_time");
    }

    #[test]
    fn json_carries_rfc3339_text_and_reads_it_back() {
        let t = Timestamp::parse("t", "2025-03-01T09:30:00.25Z").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2025-03-01T09:30:00.25Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn adding_days_counts_whole_days() {
        let t = Timestamp::parse("t", "2025-01-31").unwrap().plus_days(30);
        assert_eq!(t.to_rfc3339(), "2025-03-02T00:00:00Z");
    }
}
