//! Calling hours: the local times of day at which a promotional phone call may be placed, for each
//! kind of day (ordinary weekday, Saturday, day before a public holiday, Sunday, public holiday),
//! and the answer to "may we call now, and if not, from when?".
//!
//! The default windows are those of the Italian code of conduct for telemarketing and
//! teleselling approved by the Garante per la protezione dei dati personali (in force since
//! 2024), as reported: Monday to Friday 09:00–20:00; Saturdays and
//! days before a public holiday ("prefestivi") 10:00–19:00; no calls on Sundays and public
//! holidays. The code binds the operators who adhere to it, and an office may keep stricter hours,
//! so every window is configurable, per kind of day, as `HH:MM-HH:MM` or `none`.
//!
//! Days are local days in the zone of the [`HolidayCalendar`] (Europe/Rome by default), the same
//! calendar that dates data-subject requests: a call at 23:30 UTC on a Friday is a call at 00:30
//! on Saturday in Rome, and is judged by Saturday's window. Window ends are exclusive: with
//! 09:00–20:00, 19:59:59 may be called and 20:00:00 may not.

use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

use crate::consent::coded_enum;
use crate::error::DomainError;
use crate::requests::HolidayCalendar;
use crate::time::Timestamp;

/// How many days after the day of the instant asked about [`CallingWindows::check`] looks for
/// the next open window. The default windows never close for more than three days in a row
/// (Christmas on a Friday: the 25th, the 26th and the Sunday), so two weeks finds it for any
/// sensible configuration; a configuration closed for longer has no next instant.
pub const SEARCH_DAYS: u32 = 14;

/// Minutes in a day: a window may end at `24:00`, the end of the local day.
const MINUTES_PER_DAY: u16 = 24 * 60;

coded_enum!(
    /// The kind of a local day, for calling hours. A day can be of two kinds at once (a Saturday
    /// before a public holiday, a public holiday on a Sunday); [`DayKind::of`] names the more
    /// specific one, and [`CallingWindows::window_on`] applies the stricter window.
    DayKind, "day_kind" {
        /// Monday to Friday, neither a public holiday nor the day before one.
        Weekday = "weekday",
        /// A Saturday that is not a public holiday.
        Saturday = "saturday",
        /// The day before a public holiday ("prefestivo"), when it is not itself a Sunday or a
        /// public holiday.
        PreHoliday = "pre_holiday",
        /// A Sunday that is not a public holiday.
        Sunday = "sunday",
        /// A public holiday of the calendar, whatever day of the week it falls on.
        Holiday = "holiday",
    }
);

impl DayKind {
    /// The kind of the local day `date` in `calendar`: a public holiday first, then a Sunday,
    /// then the day before a public holiday, then a Saturday, else an ordinary weekday.
    pub fn of(calendar: &HolidayCalendar, date: Date) -> Self {
        kinds_of(calendar, date)
            .first()
            .copied()
            .unwrap_or(Self::Weekday)
    }

    /// The configuration field that holds this kind's window, as errors name it
    /// (`calling_hours.saturday`).
    pub fn field(self) -> &'static str {
        match self {
            Self::Weekday => "calling_hours.weekday",
            Self::Saturday => "calling_hours.saturday",
            Self::PreHoliday => "calling_hours.pre_holiday",
            Self::Sunday => "calling_hours.sunday",
            Self::Holiday => "calling_hours.holiday",
        }
    }
}

/// Every kind `date` belongs to, the most specific first; never empty. A Saturday before a public
/// holiday is both [`DayKind::PreHoliday`] and [`DayKind::Saturday`], a holiday on a Sunday both
/// [`DayKind::Holiday`] and [`DayKind::Sunday`]; an ordinary weekday is only
/// [`DayKind::Weekday`], the rule the others restrict.
fn kinds_of(calendar: &HolidayCalendar, date: Date) -> Vec<DayKind> {
    let mut kinds = Vec::with_capacity(2);
    let holiday = calendar.is_holiday(date);
    let weekday = date.weekday();
    if holiday {
        kinds.push(DayKind::Holiday);
    }
    if weekday == Weekday::Sunday {
        kinds.push(DayKind::Sunday);
    } else if !holiday && date.next_day().is_some_and(|d| calendar.is_holiday(d)) {
        kinds.push(DayKind::PreHoliday);
    }
    if weekday == Weekday::Saturday {
        kinds.push(DayKind::Saturday);
    }
    if kinds.is_empty() {
        kinds.push(DayKind::Weekday);
    }
    kinds
}

/// A window of local clock times, `[start, end)`, within one local day. Always valid: the start
/// is before the end, and both are times of day (the end may be `24:00`, the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes after local midnight, 0–1439.
    start: u16,
    /// Minutes after local midnight, 1–1440; exclusive.
    end: u16,
}

impl Window {
    /// The window from `start` to `end` (each `(hour, minute)`, the end exclusive). Refused,
    /// naming `field`, unless `start` is a time of day (00:00–23:59), `end` a time of day or
    /// `24:00`, and `start` comes before `end`.
    pub fn new(field: &'static str, start: (u8, u8), end: (u8, u8)) -> Result<Self, DomainError> {
        let start_minutes = minutes(start)
            .filter(|m| *m < MINUTES_PER_DAY)
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    format!(
                        "the window starts at `{}`, not a time of day (00:00 to 23:59)",
                        clock(start)
                    ),
                )
            })?;
        let end_minutes = minutes(end).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!(
                    "the window ends at `{}`, not a time of day (00:00 to 24:00)",
                    clock(end)
                ),
            )
        })?;
        if start_minutes >= end_minutes {
            return Err(DomainError::invalid(
                field,
                format!(
                    "the window must end after it starts (`{}-{}`); a closed day is `none`",
                    clock(start),
                    clock(end)
                ),
            ));
        }
        Ok(Self {
            start: start_minutes,
            end: end_minutes,
        })
    }

    /// For the constants: `start` and `end` are known to be valid.
    const fn fixed(start_hour: u16, end_hour: u16) -> Self {
        Self {
            start: start_hour * 60,
            end: end_hour * 60,
        }
    }

    /// The opening time, `(hour, minute)`.
    pub fn start(self) -> (u8, u8) {
        split(self.start)
    }

    /// The closing time, `(hour, minute)`, exclusive; `(24, 0)` is the end of the day.
    pub fn end(self) -> (u8, u8) {
        split(self.end)
    }

    /// The part of the day both windows allow, if any.
    fn intersect(self, other: Self) -> Option<Self> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(Self { start, end })
    }

    /// The instants `[open, close)` this window covers on the local day `date` in the
    /// calendar's zone; `None` if a summer-time change swallows it (a window inside the skipped
    /// hour) or the date is out of range.
    fn bounds(self, calendar: &HolidayCalendar, date: Date) -> Option<(Timestamp, Timestamp)> {
        let zone = calendar.zone();
        let at = |m: u16| {
            if m >= MINUTES_PER_DAY {
                zone.end_of(date)
            } else {
                let (hour, minute) = split(m);
                zone.instant_at(date, hour, minute)
            }
        };
        let open = at(self.start)?;
        let close = at(self.end)?;
        (open < close).then_some((open, close))
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", clock(self.start()), clock(self.end()))
    }
}

/// `(hour, minute)` as minutes after midnight, if it is a time of day or `24:00`.
fn minutes((hour, minute): (u8, u8)) -> Option<u16> {
    let m = u16::from(hour) * 60 + u16::from(minute);
    (minute < 60 && m <= MINUTES_PER_DAY).then_some(m)
}

fn split(minutes: u16) -> (u8, u8) {
    (
        u8::try_from(minutes / 60).unwrap_or(24),
        u8::try_from(minutes % 60).unwrap_or(0),
    )
}

fn clock((hour, minute): (u8, u8)) -> String {
    format!("{hour:02}:{minute:02}")
}

/// Reads one day's setting as a configuration file writes it: `HH:MM-HH:MM` (`09:00-20:00`,
/// end exclusive, `24:00` for the end of the day) or `none` for a day without calls. The error
/// names `field`.
pub fn parse_window(field: &'static str, text: &str) -> Result<Option<Window>, DomainError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        DomainError::invalid(
            field,
            format!("`{text}` is not a window (HH:MM-HH:MM, e.g. 09:00-20:00) or `none`"),
        )
    };
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start = parse_clock(start).ok_or_else(bad)?;
    let end = parse_clock(end).ok_or_else(bad)?;
    Window::new(field, start, end).map(Some)
}

/// `H:MM` or `HH:MM`, digits only.
fn parse_clock(text: &str) -> Option<(u8, u8)> {
    let (hour, minute) = text.trim().split_once(':')?;
    let digits = |s: &str, lengths: &[usize]| {
        (lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u8>().ok())
            .flatten()
    };
    Some((digits(hour, &[1, 2])?, digits(minute, &[2])?))
}

/// One day's setting as [`parse_window`] reads it: `09:00-20:00` or `none`.
pub fn format_window(window: Option<Window>) -> String {
    window.map_or_else(|| "none".to_owned(), |w| w.to_string())
}

/// The calling window of each kind of day; `None` is a day without calls. In a configuration
/// file each kind is a key holding `HH:MM-HH:MM` or `none`:
///
/// ```json
/// {"weekday": "09:00-20:00", "saturday": "10:00-19:00", "pre_holiday": "10:00-19:00",
///  "sunday": "none", "holiday": "none"}
/// ```
///
/// A key left out keeps the code of conduct's window for that kind; an unknown key is refused
/// (a misspelt `saturdays` would otherwise be silently ignored).
///
/// When a day is of two kinds at once, the stricter applies: the part of the day both windows
/// allow. A Saturday before a public holiday gets `saturday` ∩ `pre_holiday` (the same window by
/// default); a holiday that falls on a Saturday or a Sunday gets `holiday` ∩ that day's window. An
/// ordinary `weekday` window never mixes with another: on Monday to Friday, `pre_holiday` and
/// `holiday` replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowsText", into = "WindowsText")]
pub struct CallingWindows {
    /// Monday to Friday.
    pub weekday: Option<Window>,
    /// Saturdays.
    pub saturday: Option<Window>,
    /// The day before a public holiday, unless it is a Sunday or a holiday itself.
    pub pre_holiday: Option<Window>,
    /// Sundays.
    pub sunday: Option<Window>,
    /// Public holidays of the calendar.
    pub holiday: Option<Window>,
}

impl CallingWindows {
    /// The code of conduct's windows: Monday–Friday 09:00–20:00, Saturdays and days before a
    /// public holiday 10:00–19:00, no calls on Sundays and public holidays.
    pub const CODE_OF_CONDUCT: Self = Self {
        weekday: Some(Window::fixed(9, 20)),
        saturday: Some(Window::fixed(10, 19)),
        pre_holiday: Some(Window::fixed(10, 19)),
        sunday: None,
        holiday: None,
    };

    /// The window configured for `kind`.
    pub fn window(&self, kind: DayKind) -> Option<Window> {
        match kind {
            DayKind::Weekday => self.weekday,
            DayKind::Saturday => self.saturday,
            DayKind::PreHoliday => self.pre_holiday,
            DayKind::Sunday => self.sunday,
            DayKind::Holiday => self.holiday,
        }
    }

    /// These windows with `kind`'s replaced by `window`.
    pub fn with(mut self, kind: DayKind, window: Option<Window>) -> Self {
        let slot = match kind {
            DayKind::Weekday => &mut self.weekday,
            DayKind::Saturday => &mut self.saturday,
            DayKind::PreHoliday => &mut self.pre_holiday,
            DayKind::Sunday => &mut self.sunday,
            DayKind::Holiday => &mut self.holiday,
        };
        *slot = window;
        self
    }

    /// These windows with `kind`'s read from `text` (`HH:MM-HH:MM` or `none`); the error names
    /// the kind's field (`calling_hours.saturday`).
    pub fn with_text(self, kind: DayKind, text: &str) -> Result<Self, DomainError> {
        Ok(self.with(kind, parse_window(kind.field(), text)?))
    }

    /// The window that applies on the local day `date`: the intersection of the windows of every
    /// kind the day is of (see [`CallingWindows`]); `None` if no call may be placed that day.
    pub fn window_on(&self, calendar: &HolidayCalendar, date: Date) -> Option<Window> {
        let mut kinds = kinds_of(calendar, date).into_iter();
        let first = self.window(kinds.next()?)?;
        kinds.try_fold(first, |w, kind| w.intersect(self.window(kind)?))
    }

    /// Whether a call may be placed at `at`, judged on its local day in the calendar's zone.
    /// `Ok` with the kind of day when `at` is inside that day's window; otherwise the kind of day
    /// and the first instant, within [`SEARCH_DAYS`] days after that day, at which a window
    /// opens (`None` if none does).
    pub fn check(&self, calendar: &HolidayCalendar, at: Timestamp) -> Result<DayKind, Closed> {
        let Some(today) = calendar.date_of(at) else {
            return Err(Closed {
                day: None,
                next_allowed: None,
            });
        };
        let day = DayKind::of(calendar, today);
        let mut date = today;
        for _ in 0..=SEARCH_DAYS {
            if let Some((open, close)) = self
                .window_on(calendar, date)
                .and_then(|w| w.bounds(calendar, date))
            {
                if open <= at && at < close {
                    return Ok(day);
                }
                if at < open {
                    return Err(Closed {
                        day: Some(day),
                        next_allowed: Some(open),
                    });
                }
            }
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }
        Err(Closed {
            day: Some(day),
            next_allowed: None,
        })
    }

    /// `at` itself if a call may be placed then, else the next instant one may (see
    /// [`CallingWindows::check`]).
    pub fn next_allowed(&self, calendar: &HolidayCalendar, at: Timestamp) -> Option<Timestamp> {
        match self.check(calendar, at) {
            Ok(_) => Some(at),
            Err(closed) => closed.next_allowed,
        }
    }
}

impl Default for CallingWindows {
    /// [`CallingWindows::CODE_OF_CONDUCT`].
    fn default() -> Self {
        Self::CODE_OF_CONDUCT
    }
}

/// Why a call may not be placed now, and from when it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Closed {
    /// The kind of the local day of the instant asked about; `None` only for an instant outside
    /// the calendar's range (beyond the year 9999), which is never callable.
    pub day: Option<DayKind>,
    /// The first instant a call may be placed, if a window opens within [`SEARCH_DAYS`] days.
    pub next_allowed: Option<Timestamp>,
}

/// [`CallingWindows`] as a configuration file writes it: one text per kind of day.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weekday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saturday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pre_holiday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sunday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holiday: Option<String>,
}

impl TryFrom<WindowsText> for CallingWindows {
    type Error = DomainError;

    fn try_from(text: WindowsText) -> Result<Self, DomainError> {
        let settings = [
            (DayKind::Weekday, text.weekday),
            (DayKind::Saturday, text.saturday),
            (DayKind::PreHoliday, text.pre_holiday),
            (DayKind::Sunday, text.sunday),
            (DayKind::Holiday, text.holiday),
        ];
        settings
            .into_iter()
            .try_fold(Self::default(), |windows, (kind, text)| match text {
                Some(text) => windows.with_text(kind, &text),
                None => Ok(windows),
            })
    }
}

impl From<CallingWindows> for WindowsText {
    fn from(w: CallingWindows) -> Self {
        let text = |window| Some(format_window(window));
        Self {
            weekday: text(w.weekday),
            saturday: text(w.saturday),
            pre_holiday: text(w.pre_holiday),
            sunday: text(w.sunday),
            holiday: text(w.holiday),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Zone;

    fn italy() -> HolidayCalendar {
        HolidayCalendar::italy()
    }

    /// A local date and time in Rome (`2026-12-24T19:30`, seconds optional).
    fn rome(text: &str) -> Timestamp {
        Zone::rome().parse_instant("t", text).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", text).unwrap()
    }

    fn date(text: &str) -> Date {
        crate::requests::parse_date("d", text).unwrap()
    }

    /// Asserts `at` is closed on a `day`, reopening at `next` (a local time in Rome).
    fn assert_closed(windows: &CallingWindows, at: Timestamp, day: DayKind, next: &str) {
        assert_eq!(
            windows.check(&italy(), at),
            Err(Closed {
                day: Some(day),
                next_allowed: Some(rome(next)),
            }),
            "at {at}"
        );
    }

    fn assert_open(windows: &CallingWindows, at: Timestamp, day: DayKind) {
        assert_eq!(windows.check(&italy(), at), Ok(day), "at {at}");
    }

    #[test]
    fn the_default_windows_are_the_code_of_conducts() {
        let w = CallingWindows::default();
        assert_eq!(format_window(w.weekday), "09:00-20:00");
        assert_eq!(format_window(w.saturday), "10:00-19:00");
        assert_eq!(format_window(w.pre_holiday), "10:00-19:00");
        assert_eq!(format_window(w.sunday), "none");
        assert_eq!(format_window(w.holiday), "none");
    }

    #[test]
    fn christmas_eve_at_half_past_seven_waits_until_the_monday_after_christmas() {
        // 24 December 2026 is a Thursday before Christmas (10–19); 25 and 26 are holidays,
        // 27 is a Sunday; Monday 28 opens at 09:00 (08:00 UTC, winter time).
        let closed = CallingWindows::default()
            .check(&italy(), rome("2026-12-24T19:30"))
            .unwrap_err();
        assert_eq!(closed.day, Some(DayKind::PreHoliday));
        assert_eq!(closed.next_allowed, Some(utc("2026-12-28T08:00:00Z")));
    }

    #[test]
    fn christmas_eve_is_a_pre_holiday_open_from_ten_to_seven() {
        let w = CallingWindows::default();
        assert_closed(
            &w,
            rome("2026-12-24T09:30"),
            DayKind::PreHoliday,
            "2026-12-24T10:00",
        );
        assert_open(&w, rome("2026-12-24T10:00"), DayKind::PreHoliday);
        assert_open(&w, rome("2026-12-24T18:59:59"), DayKind::PreHoliday);
        assert_closed(
            &w,
            rome("2026-12-24T19:00"),
            DayKind::PreHoliday,
            "2026-12-28T09:00",
        );
    }

    #[test]
    fn a_saturday_opens_at_ten_and_closes_at_seven() {
        let w = CallingWindows::default();
        // Saturday 14 November 2026.
        assert_closed(
            &w,
            rome("2026-11-14T09:59"),
            DayKind::Saturday,
            "2026-11-14T10:00",
        );
        assert_open(&w, rome("2026-11-14T10:00"), DayKind::Saturday);
        assert_open(&w, rome("2026-11-14T18:59:59"), DayKind::Saturday);
        assert_closed(
            &w,
            rome("2026-11-14T19:00"),
            DayKind::Saturday,
            "2026-11-16T09:00",
        );
    }

    #[test]
    fn a_weekday_opens_at_nine_and_closes_at_eight_to_the_second() {
        let w = CallingWindows::default();
        // Tuesday 17 November 2026.
        assert_closed(
            &w,
            rome("2026-11-17T08:59:59"),
            DayKind::Weekday,
            "2026-11-17T09:00",
        );
        assert_open(&w, rome("2026-11-17T09:00"), DayKind::Weekday);
        assert_open(&w, rome("2026-11-17T19:59:59"), DayKind::Weekday);
        assert_closed(
            &w,
            rome("2026-11-17T20:00"),
            DayKind::Weekday,
            "2026-11-18T09:00",
        );
    }

    #[test]
    fn a_sunday_is_closed_until_monday_morning() {
        assert_closed(
            &CallingWindows::default(),
            rome("2026-11-15T12:00"),
            DayKind::Sunday,
            "2026-11-16T09:00",
        );
    }

    #[test]
    fn republic_day_is_closed_and_the_day_before_is_a_pre_holiday() {
        let w = CallingWindows::default();
        // Tuesday 2 June 2026 is Republic Day; Monday 1 June is the day before it.
        assert_closed(
            &w,
            rome("2026-06-02T11:00"),
            DayKind::Holiday,
            "2026-06-03T09:00",
        );
        assert_closed(
            &w,
            rome("2026-06-01T09:30"),
            DayKind::PreHoliday,
            "2026-06-01T10:00",
        );
        assert_closed(
            &w,
            rome("2026-06-01T19:30"),
            DayKind::PreHoliday,
            "2026-06-03T09:00",
        );
    }

    #[test]
    fn the_day_before_labour_day_closes_at_seven_and_reopens_on_saturday_at_ten() {
        let w = CallingWindows::default();
        // Thursday 30 April 2026; Friday 1 May is a holiday, then Saturday 2 May.
        assert_eq!(
            DayKind::of(&italy(), date("2026-04-30")),
            DayKind::PreHoliday
        );
        assert_open(&w, rome("2026-04-30T18:00"), DayKind::PreHoliday);
        assert_closed(
            &w,
            rome("2026-04-30T19:00"),
            DayKind::PreHoliday,
            "2026-05-02T10:00",
        );
    }

    #[test]
    fn saturday_evening_before_summer_time_reopens_monday_at_nine_summer_time() {
        // Clocks go forward on Sunday 29 March 2026: Saturday is UTC+1, Monday UTC+2.
        let closed = CallingWindows::default()
            .check(&italy(), utc("2026-03-28T18:30:00Z"))
            .unwrap_err();
        assert_eq!(closed.day, Some(DayKind::Saturday));
        assert_eq!(closed.next_allowed, Some(utc("2026-03-30T07:00:00Z")));
    }

    #[test]
    fn saturday_evening_before_winter_time_reopens_monday_at_nine_winter_time() {
        // Clocks go back on Sunday 25 October 2026: Saturday is UTC+2, Monday UTC+1.
        let closed = CallingWindows::default()
            .check(&italy(), utc("2026-10-24T17:30:00Z"))
            .unwrap_err();
        assert_eq!(closed.day, Some(DayKind::Saturday));
        assert_eq!(closed.next_allowed, Some(utc("2026-10-26T08:00:00Z")));
    }

    #[test]
    fn late_friday_evening_in_utc_is_already_saturday_in_rome() {
        // 23:30 UTC on Friday 4 December 2026 is 00:30 on Saturday in Rome: Saturday's window,
        // opening at 10:00 local, 09:00 UTC.
        let closed = CallingWindows::default()
            .check(&italy(), utc("2026-12-04T23:30:00Z"))
            .unwrap_err();
        assert_eq!(closed.day, Some(DayKind::Saturday));
        assert_eq!(closed.next_allowed, Some(utc("2026-12-05T09:00:00Z")));
    }

    #[test]
    fn a_summer_evening_in_utc_is_already_past_eight_in_rome() {
        let w = CallingWindows::default();
        // Friday 3 July 2026, summer time (UTC+2).
        assert_open(&w, utc("2026-07-03T17:59:59Z"), DayKind::Weekday);
        assert_closed(
            &w,
            utc("2026-07-03T18:00:00Z"),
            DayKind::Weekday,
            "2026-07-04T10:00",
        );
    }

    #[test]
    fn the_day_of_the_week_and_the_calendar_give_the_kind_of_day() {
        let cal = italy();
        let kind = |d| DayKind::of(&cal, date(d));
        assert_eq!(kind("2026-11-17"), DayKind::Weekday);
        assert_eq!(kind("2026-11-14"), DayKind::Saturday);
        assert_eq!(kind("2026-11-15"), DayKind::Sunday);
        // Christmas Eve is the day before a holiday; Christmas, before Boxing Day, is a holiday.
        assert_eq!(kind("2026-12-24"), DayKind::PreHoliday);
        assert_eq!(kind("2026-12-25"), DayKind::Holiday);
        // Saturday 3 October 2026 comes before San Francesco (4 October, a Sunday, a holiday
        // again from 2026); a Sunday before Easter Monday stays a Sunday.
        assert_eq!(kind("2026-10-03"), DayKind::PreHoliday);
        assert_eq!(kind("2026-10-04"), DayKind::Holiday);
        assert_eq!(kind("2026-04-05"), DayKind::Sunday);
        // In 2025, before the holiday was reinstated, 3 October was an ordinary Friday.
        assert_eq!(kind("2025-10-03"), DayKind::Weekday);
    }

    #[test]
    fn a_saturday_before_a_holiday_keeps_the_stricter_of_the_two_windows() {
        let w = CallingWindows::default()
            .with_text(DayKind::Saturday, "09:00-13:00")
            .unwrap()
            .with_text(DayKind::PreHoliday, "10:00-19:00")
            .unwrap();
        // Saturday 3 October 2026, before the holiday of 4 October: 10:00–13:00.
        assert_eq!(
            format_window(w.window_on(&italy(), date("2026-10-03"))),
            "10:00-13:00"
        );
        assert_closed(
            &w,
            rome("2026-10-03T09:30"),
            DayKind::PreHoliday,
            "2026-10-03T10:00",
        );
        assert_open(&w, rome("2026-10-03T12:59"), DayKind::PreHoliday);
        assert_closed(
            &w,
            rome("2026-10-03T13:00"),
            DayKind::PreHoliday,
            "2026-10-05T09:00",
        );
        // An ordinary Saturday keeps its own window.
        assert_open(&w, rome("2026-10-10T09:30"), DayKind::Saturday);
    }

    #[test]
    fn a_holiday_on_a_sunday_stays_closed_when_sundays_are_opened() {
        let w = CallingWindows::default()
            .with_text(DayKind::Sunday, "10:00-13:00")
            .unwrap();
        assert_open(&w, rome("2026-10-11T11:00"), DayKind::Sunday);
        // Sunday 4 October 2026 is a holiday.
        assert_closed(
            &w,
            rome("2026-10-04T11:00"),
            DayKind::Holiday,
            "2026-10-05T09:00",
        );
    }

    #[test]
    fn a_week_without_any_window_has_no_next_allowed_instant() {
        let w = DayKind::ALL
            .iter()
            .fold(CallingWindows::default(), |w, kind| w.with(*kind, None));
        assert_eq!(
            w.check(&italy(), rome("2026-11-17T10:00")),
            Err(Closed {
                day: Some(DayKind::Weekday),
                next_allowed: None,
            })
        );
        assert_eq!(w.next_allowed(&italy(), rome("2026-11-17T10:00")), None);
    }

    #[test]
    fn the_next_allowed_instant_of_an_open_moment_is_itself() {
        let w = CallingWindows::default();
        let now = rome("2026-11-17T10:00");
        assert_eq!(w.next_allowed(&italy(), now), Some(now));
        assert_eq!(
            w.next_allowed(&italy(), rome("2026-11-17T07:00")),
            Some(rome("2026-11-17T09:00"))
        );
    }

    #[test]
    fn custom_windows_are_read_from_text_per_kind_of_day() {
        let w = CallingWindows::default()
            .with_text(DayKind::Weekday, " 9:30 - 18:00 ")
            .unwrap()
            .with_text(DayKind::Saturday, "NONE")
            .unwrap();
        assert_eq!(format_window(w.weekday), "09:30-18:00");
        assert_eq!(w.weekday.unwrap().start(), (9, 30));
        assert_eq!(w.weekday.unwrap().end(), (18, 0));
        assert_closed(
            &w,
            rome("2026-11-17T09:15"),
            DayKind::Weekday,
            "2026-11-17T09:30",
        );
        assert_closed(
            &w,
            rome("2026-11-17T18:00"),
            DayKind::Weekday,
            "2026-11-18T09:30",
        );
        // Saturday now closed: Friday evening waits for Monday.
        assert_closed(
            &w,
            rome("2026-11-13T18:30"),
            DayKind::Weekday,
            "2026-11-16T09:30",
        );
    }

    #[test]
    fn a_window_may_run_to_the_end_of_the_day() {
        let w = CallingWindows::default()
            .with_text(DayKind::Weekday, "00:00-24:00")
            .unwrap();
        assert_open(&w, rome("2026-11-17T00:00"), DayKind::Weekday);
        assert_open(&w, rome("2026-11-17T23:59:59"), DayKind::Weekday);
        assert_eq!(format_window(w.weekday), "00:00-24:00");
    }

    #[test]
    fn a_window_opening_in_the_skipped_hour_opens_when_summer_time_begins() {
        let w = CallingWindows::default()
            .with_text(DayKind::Sunday, "02:30-04:00")
            .unwrap();
        // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
        let closed = w.check(&italy(), utc("2026-03-29T00:59:59Z")).unwrap_err();
        assert_eq!(closed.next_allowed, Some(utc("2026-03-29T01:00:00Z")));
        assert_eq!(
            w.check(&italy(), utc("2026-03-29T01:00:00Z")),
            Ok(DayKind::Sunday)
        );
        // 04:00 CEST is 02:00 UTC.
        assert!(w.check(&italy(), utc("2026-03-29T02:00:00Z")).is_err());
    }

    #[test]
    fn windows_are_judged_in_the_calendars_zone() {
        // The same instant, 23:30 UTC on Friday 4 December 2026, is still Friday in UTC.
        let in_utc = italy().in_zone(Zone::utc());
        let closed = CallingWindows::default()
            .check(&in_utc, utc("2026-12-04T23:30:00Z"))
            .unwrap_err();
        assert_eq!(closed.day, Some(DayKind::Weekday));
        assert_eq!(closed.next_allowed, Some(utc("2026-12-05T10:00:00Z")));
    }

    #[test]
    fn bad_window_text_is_refused_naming_the_kind_of_day() {
        let w = CallingWindows::default();
        for (kind, text) in [
            (DayKind::Weekday, "20:00-09:00"),
            (DayKind::Weekday, "09:00-09:00"),
            (DayKind::Saturday, "9-19"),
            (DayKind::Saturday, "10:00"),
            (DayKind::PreHoliday, "25:00-26:00"),
            (DayKind::PreHoliday, "10:60-19:00"),
            (DayKind::Sunday, "24:00-24:30"),
            (DayKind::Sunday, "10:00-24:01"),
            (DayKind::Holiday, "closed"),
            (DayKind::Holiday, ""),
            (DayKind::Holiday, "+9:00-10:00"),
        ] {
            let err = w.with_text(kind, text).unwrap_err();
            assert_eq!(err.field(), kind.field(), "{text}");
        }
        let err = w.with_text(DayKind::Weekday, "20:00-09:00").unwrap_err();
        assert_eq!(
            err.to_string(),
            "calling_hours.weekday: the window must end after it starts (`20:00-09:00`); \
             a closed day is `none`"
        );
    }

    #[test]
    fn a_window_built_in_code_is_checked_like_text() {
        assert!(Window::new("w", (9, 0), (20, 0)).is_ok());
        assert_eq!(Window::new("w", (20, 0), (9, 0)).unwrap_err().field(), "w");
        assert!(Window::new("w", (24, 0), (24, 0)).is_err());
        assert!(Window::new("w", (9, 75), (20, 0)).is_err());
    }

    #[test]
    fn a_configuration_file_holds_one_text_per_kind_of_day_and_reads_back() {
        let json = serde_json::to_value(CallingWindows::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "weekday": "09:00-20:00",
                "saturday": "10:00-19:00",
                "pre_holiday": "10:00-19:00",
                "sunday": "none",
                "holiday": "none",
            })
        );
        let back: CallingWindows = serde_json::from_value(json).unwrap();
        assert_eq!(back, CallingWindows::default());
    }

    #[test]
    fn a_configuration_naming_some_kinds_keeps_the_default_for_the_others() {
        let w: CallingWindows =
            serde_json::from_str(r#"{"saturday": "none", "weekday": "09:00-18:00"}"#).unwrap();
        assert_eq!(format_window(w.weekday), "09:00-18:00");
        assert_eq!(w.saturday, None);
        assert_eq!(w.pre_holiday, CallingWindows::default().pre_holiday);
    }

    #[test]
    fn a_configuration_with_a_bad_window_names_its_key() {
        let err = serde_json::from_str::<CallingWindows>(r#"{"saturday": "19:00-10:00"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("calling_hours.saturday"), "{err}");
        let err = serde_json::from_str::<CallingWindows>(r#"{"saturdays": "none"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("saturdays"), "{err}");
    }

    #[test]
    fn kinds_of_day_have_stable_codes() {
        let codes: Vec<&str> = DayKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(
            codes,
            ["weekday", "saturday", "pre_holiday", "sunday", "holiday"]
        );
        assert_eq!(DayKind::parse("pre_holiday").unwrap(), DayKind::PreHoliday);
        assert_eq!(DayKind::parse("friday").unwrap_err().field(), "day_kind");
    }
}
