//! The time zone people live in: the configured IANA zone (default `Europe/Rome`) in which every
//! date a person reads or types is meant, and every rule that depends on a day ("today", a
//! consent's date, a request's day of receipt, calling hours) is reckoned. Instants stay UTC
//! microseconds ([`Timestamp`]); only reading and writing them for people goes through a [`Zone`].
//!
//! The IANA database is compiled into the binary, so the answer does not depend on the host's
//! `/usr/share/zoneinfo`, and summer time changes (Art. 1 of Directive 2000/84/EC: last Sunday of
//! March and of October at 01:00 UTC) come from the database, not from hand-made offsets.

use jiff::civil;
use jiff::tz::{AmbiguousOffset, TimeZone};
use time::{Date, Month};

use crate::DomainError;
use crate::time::Timestamp;

/// The zone an office works in. Cheap to clone (the zone's rules are shared).
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Default for Zone {
    fn default() -> Self {
        Self::rome()
    }
}

/// An instant as a person in the zone reads it on a clock and a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    /// The local calendar date.
    pub date: Date,
    /// The hour on the local clock, 0–23.
    pub hour: u8,
    /// The minute, 0–59.
    pub minute: u8,
    /// The zone's abbreviation in force at that instant (`CET`, `CEST`, `UTC`).
    pub abbreviation: String,
}

impl Zone {
    /// The default: Italy (`Europe/Rome`).
    pub fn rome() -> Self {
        // The bundled database always holds Europe/Rome; UTC keeps this total if it ever did not.
        Self::parse("Europe/Rome").unwrap_or_else(|_| Self::utc())
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::UTC,
            name: "UTC".to_owned(),
        }
    }

    /// The zone with the IANA name `name` (`Europe/Rome`, `UTC`), or an error naming
    /// `time_zone`.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let name = name.trim();
        let tz = TimeZone::get(name).map_err(|_| {
            DomainError::invalid(
                "time_zone",
                format!("`{name}` is not an IANA time zone name (e.g. Europe/Rome)"),
            )
        })?;
        // The canonical spelling (`europe/rome` is found, `Europe/Rome` is shown).
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Self { tz, name })
    }

    /// The IANA name, e.g. `Europe/Rome`.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn zoned(&self, at: Timestamp) -> Option<jiff::ZonedDateTime> {
        jiff::Timestamp::from_microsecond(at.as_micros())
            .ok()
            .map(|ts| ts.to_zoned_datetime(self.tz.clone()))
    }

    /// The local calendar date of `at`: the day a person in this zone would write on a form.
    pub fn date_of(&self, at: Timestamp) -> Option<Date> {
        self.zoned(at).and_then(|z| to_time_date(z.date()))
    }

    /// Today's local date, as of `now`.
    pub fn today(&self, now: Timestamp) -> Option<Date> {
        self.date_of(now)
    }

    /// `at` as a local clock and calendar read it.
    pub fn local(&self, at: Timestamp) -> Option<LocalTime> {
        let z = self.zoned(at)?;
        let abbreviation = self
            .tz
            .to_offset_info(z.timestamp())
            .abbreviation()
            .to_owned();
        Some(LocalTime {
            date: to_time_date(z.date())?,
            hour: u8::try_from(z.hour()).ok()?,
            minute: u8::try_from(z.minute()).ok()?,
            abbreviation,
        })
    }

    /// The first instant of the local day `date` (midnight, or the first instant after a
    /// summer-time gap where a zone skips midnight).
    pub fn start_of(&self, date: Date) -> Option<Timestamp> {
        let civil = to_civil_date(date)?;
        let start = civil
            .to_zoned_datetime(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .ok()?;
        Some(Timestamp::from_micros(start.timestamp().as_microsecond()))
    }

    /// The instant at which the local clock first reads `hour:minute` on `date` (`hour` 0–23,
    /// `minute` 0–59; `None` outside those or the zone's range). A summer-time change makes two
    /// cases: a time in the hour the clocks skip (02:30 on the last Sunday of March in Rome) maps
    /// to the first instant after the gap (03:00 summer time), when the clock first shows a later
    /// time; a time the clocks show twice (02:30 on the last Sunday of October) maps to the
    /// earlier of the two. Either way the answer is the first instant from which the local time
    /// of day is at least `hour:minute`, so windows built on it never open early.
    pub fn instant_at(&self, date: Date, hour: u8, minute: u8) -> Option<Timestamp> {
        let time =
            civil::Time::new(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, 0, 0).ok()?;
        let dt = civil::DateTime::from_parts(to_civil_date(date)?, time);
        let instant = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok()?,
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok()?,
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, the time falls before the change; the change itself
                // is the next transition from there.
                let before_gap = after.to_timestamp(dt).ok()?;
                self.tz.following(before_gap).next()?.timestamp()
            }
        };
        Some(Timestamp::from_micros(instant.as_microsecond()))
    }

    /// The first instant of the local day after `date`: `[start_of(date), end_of(date))` is the
    /// whole local day, 23, 24 or 25 hours long.
    pub fn end_of(&self, date: Date) -> Option<Timestamp> {
        self.start_of(date.next_day()?)
    }

    /// Reads what a person or an integration types, as this zone means it:
    /// - an RFC 3339 instant with its offset (`2025-03-01T09:30:00+01:00`, `…Z`): as given;
    /// - a local date and time without offset (`2025-03-01T09:30`, what an HTML
    ///   `datetime-local` field sends): that time on the local clock;
    /// - a plain date (`2025-03-01`): the start of that local day.
    ///
    /// The error names `field`.
    pub fn parse_instant(&self, field: &'static str, text: &str) -> Result<Timestamp, DomainError> {
        let text = text.trim();
        if let Ok(t) = Timestamp::parse_rfc3339(field, text) {
            return Ok(t);
        }
        if let Ok(date) = parse_plain_date(text) {
            return self
                .start_of(date)
                .ok_or_else(|| DomainError::invalid(field, "the date is out of range"));
        }
        if let Ok(dt) = text.parse::<civil::DateTime>() {
            return self
                .tz
                .to_ambiguous_timestamp(dt)
                .compatible()
                .ok()
                .map(|ts| Timestamp::from_micros(ts.as_microsecond()))
                .ok_or_else(|| DomainError::invalid(field, "the instant is out of range"));
        }
        Err(DomainError::invalid(
            field,
            format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 instant"),
        ))
    }

    /// Reads a plain local date (`YYYY-MM-DD`) and gives the local day it names as
    /// `[start, end)` instants. The error names `field`.
    pub fn parse_day(
        &self,
        field: &'static str,
        text: &str,
    ) -> Result<(Date, Timestamp, Timestamp), DomainError> {
        let text = text.trim();
        let date = parse_plain_date(text).map_err(|_| {
            DomainError::invalid(field, format!("`{text}` is not a date (YYYY-MM-DD)"))
        })?;
        match (self.start_of(date), self.end_of(date)) {
            (Some(start), Some(end)) => Ok((date, start, end)),
            _ => Err(DomainError::invalid(field, "the date is out of range")),
        }
    }
}

fn parse_plain_date(text: &str) -> Result<Date, time::error::Parse> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
}

fn to_time_date(d: civil::Date) -> Option<Date> {
    let month = Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

fn to_civil_date(d: Date) -> Option<civil::Date> {
    let year = i16::try_from(d.year()).ok()?;
    let month = i8::try_from(u8::from(d.month())).ok()?;
    let day = i8::try_from(d.day()).ok()?;
    civil::Date::new(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", text).unwrap()
    }

    #[test]
    fn half_past_midnight_in_rome_is_already_the_next_day() {
        let rome = Zone::rome();
        // 23:30 UTC on 30 November is 00:30 on 1 December in Rome (CET, UTC+1).
        let now = at("2026-11-30T23:30:00Z");
        assert_eq!(rome.today(now).unwrap().to_string(), "2026-12-01");
        assert_eq!(Zone::utc().today(now).unwrap().to_string(), "2026-11-30");
    }

    #[test]
    fn a_plain_date_is_the_start_of_that_local_day() {
        let rome = Zone::rome();
        let winter = rome.parse_instant("date", "2026-12-01").unwrap();
        assert_eq!(winter.to_rfc3339(), "2026-11-30T23:00:00Z");
        let summer = rome.parse_instant("date", "2026-07-01").unwrap();
        assert_eq!(summer.to_rfc3339(), "2026-06-30T22:00:00Z");
    }

    #[test]
    fn an_instant_with_an_offset_is_taken_as_given() {
        let rome = Zone::rome();
        let t = rome
            .parse_instant("date", "2026-12-01T00:30:00+01:00")
            .unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T23:30:00Z");
        let z = rome.parse_instant("date", "2026-12-01T10:00:00Z").unwrap();
        assert_eq!(z.to_rfc3339(), "2026-12-01T10:00:00Z");
    }

    #[test]
    fn a_local_time_without_offset_is_read_on_the_local_clock() {
        let t = Zone::rome()
            .parse_instant("date", "2026-07-01T09:30")
            .unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T07:30:00Z");
    }

    #[test]
    fn days_around_the_summer_time_changes_have_23_and_25_hours() {
        let rome = Zone::rome();
        let hours = |d: &str| {
            let (_, start, end) = rome.parse_day("d", d).unwrap();
            (end.as_micros() - start.as_micros()) / 3_600_000_000
        };
        assert_eq!(hours("2026-03-29"), 23);
        assert_eq!(hours("2026-10-25"), 25);
        assert_eq!(hours("2026-12-01"), 24);
    }

    #[test]
    fn the_local_clock_names_the_zone_in_force() {
        let rome = Zone::rome();
        let winter = rome.local(at("2026-12-01T13:05:00Z")).unwrap();
        assert_eq!((winter.hour, winter.minute), (14, 5));
        assert_eq!(winter.abbreviation, "CET");
        let summer = rome.local(at("2026-07-01T13:05:00Z")).unwrap();
        assert_eq!((summer.hour, summer.abbreviation.as_str()), (15, "CEST"));
    }

    #[test]
    fn a_local_time_in_the_skipped_hour_is_the_first_instant_after_the_gap() {
        let rome = Zone::rome();
        let day = parse_plain_date("2026-03-29").unwrap();
        // Clocks jump from 02:00 CET to 03:00 CEST at 01:00 UTC: 02:30 is never shown.
        let t = rome.instant_at(day, 2, 30).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:00:00Z");
        assert_eq!(rome.local(t).unwrap().hour, 3);
        assert_eq!(
            rome.instant_at(day, 1, 59).unwrap().to_rfc3339(),
            "2026-03-29T00:59:00Z"
        );
        assert_eq!(
            rome.instant_at(day, 3, 0).unwrap().to_rfc3339(),
            "2026-03-29T01:00:00Z"
        );
    }

    #[test]
    fn a_local_time_shown_twice_is_its_first_showing() {
        let rome = Zone::rome();
        let day = parse_plain_date("2026-10-25").unwrap();
        // 02:30 is shown first in summer time (00:30 UTC), then again in winter time (01:30 UTC).
        let t = rome.instant_at(day, 2, 30).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-25T00:30:00Z");
        assert_eq!(rome.local(t).unwrap().abbreviation, "CEST");
    }

    #[test]
    fn a_clock_time_outside_a_day_has_no_instant() {
        let day = parse_plain_date("2026-12-01").unwrap();
        assert_eq!(Zone::rome().instant_at(day, 24, 0), None);
        assert_eq!(Zone::rome().instant_at(day, 9, 60), None);
        assert_eq!(
            Zone::rome().instant_at(day, 9, 0).unwrap().to_rfc3339(),
            "2026-12-01T08:00:00Z"
        );
    }

    #[test]
    fn an_unknown_zone_names_the_setting() {
        let err = Zone::parse("Europe/Atlantis").unwrap_err();
        assert_eq!(err.field(), "time_zone");
        assert_eq!(Zone::parse("europe/rome").unwrap().name(), "Europe/Rome");
    }

    #[test]
    fn garbage_names_the_field() {
        let err = Zone::rome()
            .parse_instant("event_time", "yesterday")
            .unwrap_err();
        assert_eq!(err.field(), "event_time");
    }
}
