//! Data-subject requests (GDPR Arts. 15–22): their kinds, the statuses a request moves through,
//! and the Art. 12(3) deadline — one month from receipt, extendable once by two further months —
//! computed on a holiday calendar (Italy's by default, with configurable extra days).
//!
//! Dates here are civil dates (`time::Date`): a deadline is a day, not an instant.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, Weekday};

use crate::consent::coded_enum;
use crate::error::DomainError;
use crate::time::Timestamp;
use crate::zone::Zone;

coded_enum!(
    /// What the person asks for, by the right they exercise.
    RequestKind, "kind" {
        /// Art. 15: a copy of their data and the information about its processing.
        Access = "access",
        /// Art. 16: correct inaccurate data.
        Rectification = "rectification",
        /// Art. 17: erase their data.
        Erasure = "erasure",
        /// Art. 18: restrict processing.
        Restriction = "restriction",
        /// Art. 20: their data in a machine-readable form.
        Portability = "portability",
        /// Art. 21: object to processing (absolute for direct marketing, Art. 21(3)).
        Objection = "objection",
        /// Art. 22(3): a human review of an automated decision.
        HumanReview = "human_review",
        /// Arts. 13–14: to be informed.
        Information = "information",
    }
);

coded_enum!(
    /// Where a request stands.
    RequestStatus, "to" {
        /// Logged; nothing done yet. The deadline runs from here.
        Received = "received",
        /// Waiting for the person to prove who they are (Art. 12(6): only on reasonable doubt).
        IdentityVerification = "identity_verification",
        /// Being worked on.
        InProgress = "in_progress",
        /// Answered and done.
        Completed = "completed",
        /// Refused, with the reason and the person's remedies (Art. 12(4)).
        Rejected = "rejected",
    }
);

coded_enum!(
    /// How the request reached us.
    RequestChannel, "channel" {
        /// By email.
        Email = "email",
        /// By letter.
        Letter = "letter",
        /// By phone.
        Phone = "phone",
        /// Through a web form.
        Form = "form",
        /// In person.
        InPerson = "in_person",
    }
);

/// The remedies a refusal must state (Art. 12(4)), used when the operator gives none of their own.
pub const DEFAULT_REMEDIES: &str = "You may lodge a complaint with the Garante per la protezione \
dei dati personali (garanteprivacy.it) and seek a judicial remedy before the courts (GDPR Arts. 77 and 79).";

impl RequestStatus {
    /// Whether the request still needs an answer.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Completed | Self::Rejected)
    }

    /// Whether a request may go from `self` to `to`. The identity check is optional (Art. 12(6)
    /// allows asking only on reasonable doubt), so a received request may start at once; any open
    /// request may be rejected; only work in progress may be completed; closed requests stay closed.
    pub fn can_move_to(self, to: Self) -> bool {
        use RequestStatus::*;
        matches!(
            (self, to),
            (Received, IdentityVerification)
                | (Received, InProgress)
                | (IdentityVerification, InProgress)
                | (InProgress, Completed)
                | (Received | IdentityVerification | InProgress, Rejected)
        )
    }
}

/// A move of a request to another status, checked: the new status, and for a refusal its reason
/// and the person's remedies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new status.
    pub to: RequestStatus,
    /// Why the request was refused (only for [`RequestStatus::Rejected`]).
    pub reason: Option<String>,
    /// The remedies the person is told about (only for [`RequestStatus::Rejected`]).
    pub remedies: Option<String>,
}

impl Transition {
    /// Checks moving from `from` to `to`. A refusal needs a reason and the remedies (Art. 12(4):
    /// "the reasons for not taking action and the possibility of lodging a complaint with a
    /// supervisory authority and seeking a judicial remedy").
    pub fn check(
        from: RequestStatus,
        to: RequestStatus,
        reason: Option<&str>,
        remedies: Option<&str>,
    ) -> Result<Self, DomainError> {
        if !from.can_move_to(to) {
            return Err(DomainError::invalid(
                "to",
                format!("a request that is {from} cannot become {to}"),
            ));
        }
        let clean = |t: Option<&str>| t.map(str::trim).filter(|t| !t.is_empty()).map(String::from);
        let (reason, remedies) = (clean(reason), clean(remedies));
        if to == RequestStatus::Rejected {
            if reason.is_none() {
                return Err(DomainError::invalid("reason", "a refusal needs its reason"));
            }
            if remedies.is_none() {
                return Err(DomainError::invalid(
                    "remedies",
                    "a refusal must tell the person their remedies (complaint to the Garante, judicial remedy)",
                ));
            }
            Ok(Self {
                to,
                reason,
                remedies,
            })
        } else {
            Ok(Self {
                to,
                reason: None,
                remedies: None,
            })
        }
    }
}

/// The days that are not working days besides Saturdays and Sundays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    /// Holidays on the same day every year.
    fixed: Vec<YearlyHoliday>,
    /// Whether Easter Monday is a holiday.
    easter_monday: bool,
    /// One-off or local days (e.g. a city's patron saint), by date.
    extra: BTreeSet<Date>,
    /// The zone whose local dates the office works in: a request received at 00:30 in Rome on
    /// 1 December was received on 1 December, whatever UTC says (Art. 12(3) counts from receipt).
    zone: Zone,
}

impl Default for HolidayCalendar {
    fn default() -> Self {
        Self::italy()
    }
}

impl HolidayCalendar {
    /// Italy's national holidays (L. 260/1949 and later amendments): 1 and 6 January, Easter
    /// Monday, 25 April, 1 May, 2 June, 15 August, 1 November, 8, 25 and 26 December; and
    /// 4 October (San Francesco d'Assisi), a national holiday again from 2026 (L. 151/2025), not
    /// before: a deadline of 4 October 2025 stays put, one of 4 October 2027 moves.
    pub fn italy() -> Self {
        use Month::*;
        let every_year = |month, day| YearlyHoliday {
            month,
            day,
            from_year: None,
        };
        Self {
            fixed: vec![
                every_year(January, 1),
                every_year(January, 6),
                every_year(April, 25),
                every_year(May, 1),
                every_year(June, 2),
                every_year(August, 15),
                YearlyHoliday {
                    month: October,
                    day: 4,
                    from_year: Some(2026),
                },
                every_year(November, 1),
                every_year(December, 8),
                every_year(December, 25),
                every_year(December, 26),
            ],
            easter_monday: true,
            extra: BTreeSet::new(),
            zone: Zone::rome(),
        }
    }

    /// Another country's calendar: its fixed yearly holidays (every year) and whether Easter
    /// Monday is one.
    pub fn custom(fixed: Vec<(Month, u8)>, easter_monday: bool) -> Self {
        Self {
            fixed: fixed
                .into_iter()
                .map(|(month, day)| YearlyHoliday {
                    month,
                    day,
                    from_year: None,
                })
                .collect(),
            easter_monday,
            extra: BTreeSet::new(),
            zone: Zone::rome(),
        }
    }

    /// This calendar plus `dates` (e.g. the local patron saint's day, `2025-06-24` in Turin).
    pub fn with_extra(mut self, dates: impl IntoIterator<Item = Date>) -> Self {
        self.extra.extend(dates);
        self
    }

    /// This calendar, kept in the local dates of `zone`.
    pub fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// The zone whose local dates the calendar is kept in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The local date of `at`: the day a request arriving then was received.
    pub fn date_of(&self, at: Timestamp) -> Option<Date> {
        self.zone.date_of(at)
    }

    /// Whether `date` is a public holiday.
    pub fn is_holiday(&self, date: Date) -> bool {
        self.extra.contains(&date)
            || self.fixed.iter().any(|h| h.falls_on(date))
            || (self.easter_monday
                && easter_sunday(date.year()).is_some_and(|e| e.next_day() == Some(date)))
    }

    /// Whether offices work on `date`: not a Saturday, Sunday or holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.is_holiday(date)
    }

    /// `date` if it is a working day, else the next one.
    pub fn next_working_day(&self, date: Date) -> Date {
        let mut d = date;
        // A year holds far fewer than 30 consecutive non-working days; the bound keeps this total.
        for _ in 0..30 {
            if self.is_working_day(d) {
                return d;
            }
            match d.next_day() {
                Some(n) => d = n,
                None => return d,
            }
        }
        d
    }
}

/// A holiday on the same day every year, possibly only from a given year on (a holiday
/// instituted, or reinstated, by a law that takes effect that year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct YearlyHoliday {
    month: Month,
    day: u8,
    /// The first year it is a holiday; `None`: every year.
    from_year: Option<i32>,
}

impl YearlyHoliday {
    fn falls_on(self, date: Date) -> bool {
        date.month() == self.month
            && date.day() == self.day
            && self.from_year.is_none_or(|from| date.year() >= from)
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (the "Anonymous Gregorian algorithm",
/// Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Option<Date> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// `date` plus `months` calendar months: the same day, or the month's last day when that day does
/// not exist (31 January + 1 month = 28 or 29 February).
pub fn add_months(date: Date, months: u8) -> Option<Date> {
    let index = i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let year = date.year() + index / 12;
    let month = Month::try_from(u8::try_from(index % 12 + 1).ok()?).ok()?;
    let last = month.length(year);
    Date::from_calendar_date(year, month, date.day().min(last)).ok()
}

/// The Art. 12(3) deadline for a request received on `received`: one month later, moved to the
/// next working day.
pub fn due_date(received: Date, calendar: &HolidayCalendar) -> Option<Date> {
    add_months(received, 1).map(|d| calendar.next_working_day(d))
}

/// The deadline once extended "by two further months" (Art. 12(3)): three months from receipt,
/// by the same rules.
pub fn extended_due_date(received: Date, calendar: &HolidayCalendar) -> Option<Date> {
    add_months(received, 3).map(|d| calendar.next_working_day(d))
}

/// Checks an extension asked on `today` for a request received on `received`, due on `due` and
/// currently `status`: only once, only while open, only within the first month (the person must
/// be told "within one month of receipt of the request"), and with its reason. Returns the new
/// due date and the trimmed reason.
pub fn check_extension(
    status: RequestStatus,
    received: Date,
    due: Date,
    already_extended: bool,
    today: Date,
    reason: &str,
    calendar: &HolidayCalendar,
) -> Result<(Date, String), DomainError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DomainError::invalid(
            "reason",
            "an extension needs its reason (Art. 12(3): the person is told why)",
        ));
    }
    if !status.is_open() {
        return Err(DomainError::invalid(
            "status",
            "the request is already closed",
        ));
    }
    if already_extended {
        return Err(DomainError::invalid(
            "reason",
            "the request was already extended",
        ));
    }
    if today > due {
        return Err(DomainError::invalid(
            "reason",
            "an extension is allowed only within the first month",
        ));
    }
    let extended = extended_due_date(received, calendar)
        .ok_or_else(|| DomainError::invalid("received_at", "the date is out of range"))?;
    Ok((extended, reason.to_owned()))
}

/// Parses a `YYYY-MM-DD` date (as the configuration and the database spell them).
pub fn parse_date(field: &'static str, text: &str) -> Result<Date, DomainError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format)
        .map_err(|_| DomainError::invalid(field, format!("`{text}` is not a date (YYYY-MM-DD)")))
}

/// A date as `YYYY-MM-DD`: text that sorts in date order, the same on every database.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// How many days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    (to - from).whole_days()
}

/// `date` plus `days` days.
pub fn plus_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(Duration::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Date {
        parse_date("d", text).unwrap()
    }

    fn due(text: &str) -> String {
        format_date(due_date(d(text), &HolidayCalendar::italy()).unwrap())
    }

    #[test]
    fn the_end_of_january_is_due_on_the_last_day_of_february() {
        assert_eq!(due("2025-01-31"), "2025-02-28");
    }

    #[test]
    fn in_a_leap_year_the_end_of_january_is_due_on_the_29th_of_february() {
        assert_eq!(due("2024-01-31"), "2024-02-29");
    }

    #[test]
    fn a_deadline_on_a_saturday_moves_to_monday() {
        assert_eq!(due("2025-01-01"), "2025-02-03");
    }

    #[test]
    fn a_deadline_on_the_republic_day_moves_to_the_next_day() {
        assert_eq!(due("2025-05-02"), "2025-06-03");
    }

    #[test]
    fn an_extension_runs_three_months_from_receipt() {
        let ext = extended_due_date(d("2025-01-01"), &HolidayCalendar::italy()).unwrap();
        assert_eq!(format_date(ext), "2025-04-01");
    }

    #[test]
    fn san_francesco_is_a_holiday_from_2026_and_not_before() {
        let cal = HolidayCalendar::italy();
        assert!(!cal.is_holiday(d("2025-10-04")));
        assert!(cal.is_holiday(d("2026-10-04")));
        assert!(cal.is_holiday(d("2027-10-04")));
        // 2025-09-04 + 1 month = Saturday 2025-10-04: the next working day is Monday the 6th
        // either way; 2027-09-04 + 1 month = Monday 2027-10-04, a holiday from 2026: Tuesday.
        assert_eq!(due("2027-09-04"), "2027-10-05");
        // 2024-09-04 + 1 month = Friday 2024-10-04, a working day before the law.
        assert_eq!(due("2024-09-04"), "2024-10-04");
    }

    #[test]
    fn easter_monday_is_computed() {
        let cal = HolidayCalendar::italy();
        assert!(cal.is_holiday(d("2025-04-21")));
        assert!(cal.is_holiday(d("2026-04-06")));
        assert!(!cal.is_holiday(d("2026-04-07")));
        assert_eq!(format_date(easter_sunday(2024).unwrap()), "2024-03-31");
    }

    #[test]
    fn extra_holidays_move_the_deadline_and_another_calendar_can_be_given() {
        // 2025-05-24 + 1 month = 2025-06-24 (a Tuesday), Turin's patron saint.
        let turin = HolidayCalendar::italy().with_extra([d("2025-06-24")]);
        assert_eq!(
            format_date(due_date(d("2025-05-24"), &turin).unwrap()),
            "2025-06-25"
        );
        let none = HolidayCalendar::custom(vec![], false);
        assert_eq!(
            format_date(due_date(d("2025-05-02"), &none).unwrap()),
            "2025-06-02"
        );
    }

    #[test]
    fn an_extension_is_allowed_only_within_the_first_month_with_a_reason_and_once() {
        use RequestStatus::*;
        let cal = HolidayCalendar::italy();
        let (r, due) = (d("2025-01-01"), d("2025-02-03"));
        let ok = check_extension(
            InProgress,
            r,
            due,
            false,
            d("2025-02-03"),
            " many records ",
            &cal,
        );
        assert_eq!(ok.unwrap(), (d("2025-04-01"), "many records".into()));
        let late = check_extension(InProgress, r, due, false, d("2025-02-04"), "x", &cal);
        assert!(late.is_err());
        assert_eq!(
            check_extension(InProgress, r, due, false, r, " ", &cal)
                .unwrap_err()
                .field(),
            "reason"
        );
        assert!(check_extension(InProgress, r, due, true, r, "x", &cal).is_err());
        assert!(check_extension(Completed, r, due, false, r, "x", &cal).is_err());
    }

    #[test]
    fn statuses_move_forward_and_closed_requests_stay_closed() {
        use RequestStatus::*;
        assert!(Transition::check(Received, IdentityVerification, None, None).is_ok());
        assert!(Transition::check(IdentityVerification, InProgress, None, None).is_ok());
        assert!(Transition::check(InProgress, Completed, None, None).is_ok());
        assert!(Transition::check(Received, Completed, None, None).is_err());
        assert!(Transition::check(Completed, InProgress, None, None).is_err());
        assert!(Transition::check(Rejected, Received, None, None).is_err());
    }

    #[test]
    fn a_refusal_needs_its_reason_and_the_remedies() {
        use RequestStatus::*;
        let e = Transition::check(InProgress, Rejected, None, Some("Garante")).unwrap_err();
        assert_eq!(e.field(), "reason");
        let e = Transition::check(
            InProgress,
            Rejected,
            Some("manifestly unfounded"),
            Some(" "),
        );
        assert_eq!(e.unwrap_err().field(), "remedies");
        let t = Transition::check(
            Received,
            Rejected,
            Some("unfounded"),
            Some(DEFAULT_REMEDIES),
        );
        assert_eq!(t.unwrap().reason.as_deref(), Some("unfounded"));
    }

    proptest! {
        #[test]
        fn every_deadline_is_a_working_day_at_least_28_days_after_receipt(days in 0i64..40_000) {
            let cal = HolidayCalendar::italy();
            let received = plus_days(d("2000-01-01"), days).unwrap();
            let due = due_date(received, &cal).unwrap();
            prop_assert!(days_between(received, due) >= 28);
            prop_assert!(cal.is_working_day(due));
            let ext = extended_due_date(received, &cal).unwrap();
            prop_assert!(cal.is_working_day(ext));
            prop_assert!(ext > due);
        }
    }
}
