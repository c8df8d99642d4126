//! Importing contacts with their consents from a CRM export: the column mapping (which CSV column
//! holds which field, and for each consent type the column of its date and optionally of its
//! state), the delimiter of a file (`,` as RFC 4180 writes it, `;` as Italian Excel does), and
//! parsing one line into a contact and its consent events, with every fault of the line named.
//! Pure: the reading of the file and the writing of the rows belong to the server and the store.

use serde::{Deserialize, Serialize};
use time::{Date, PrimitiveDateTime};

use crate::text::{self, Lines};
use crate::{DomainError, Email, EventKind, LegalBasis, Phone, Timestamp, Zone};

/// Which column of the file holds what. Column names are matched against the header row,
/// ignoring case and surrounding spaces. Saved per source, so that the next import of the same
/// CRM needs only the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The CRM's id of the person (matched first against known contacts).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email columns; the first non-empty one is the primary address.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone columns; the first non-empty one is the primary number.
    #[serde(default)]
    pub phones: Vec<String>,
    /// A column naming where the CRM got the data (GDPR Art. 14(2)(f)); without it the source is
    /// the import's source name.
    #[serde(default)]
    pub source: Option<String>,
    /// A column with the Art. 6(1) legal basis (`consent`, `contract`, … or `a`–`f`).
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// A column of purposes, separated by `|`.
    #[serde(default)]
    pub purposes: Option<String>,
    /// Columns copied as they are into the contact's attributes, keyed by the column name.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// One entry per consent type the file records.
    #[serde(default)]
    pub consents: Vec<ConsentColumns>,
}

/// Where a consent type's event is in each line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentColumns {
    /// The consent type's code.
    pub code: String,
    /// The column with the date the person gave (or withdrew, or refused) it: an empty cell
    /// means no event for this type on that line.
    pub date: String,
    /// Optionally, a column with the state (`given`, `withdrawn`, `refused`, or the Italian
    /// `dato`, `revocato`, `negato`); without it, a date means given.
    #[serde(default)]
    pub state: Option<String>,
}

/// A fault of the file at one line (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The line number in the file, counting from 1 (the header).
    pub line: u64,
    /// The column (or `line` for the line as a whole).
    pub column: String,
    /// Why, in plain words.
    pub reason: String,
    /// The kind of fault, for those a page words in the reader's language (the reason is the
    /// English text the command line prints); absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<LineProblem>,
}

/// Faults a page words in the reader's language: those of a file's form, and those of the lines
/// of the opt-out register's files (the list sent and the register's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineProblem {
    /// Two columns of the header have the same name (the error's column): which one a mapping
    /// means cannot be told.
    DuplicateColumn,
    /// A cell is larger than the limit.
    CellTooLarge {
        /// The limit, in KiB.
        max_kib: u64,
    },
    /// The line is not text in the file's encoding.
    NotDecodable {
        /// The encoding the file was read in (`UTF-8`, `UTF-16LE`, …).
        encoding: String,
    },
    /// The line's number is not a phone number.
    NotAPhoneNumber,
    /// The line's number is not Italian: the opt-out register holds none of other countries.
    NotItalian,
    /// The line's number was not in the list sent: the answer answers another list.
    NotInListSent,
    /// The line's outcome is not one the register's answers use.
    NotAnOutcome,
    /// The line answers its number otherwise than an earlier line.
    Contradicts {
        /// The earlier line.
        line: u64,
    },
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.column, self.reason)
    }
}

/// One consent event read from a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedConsent {
    /// Index of the consent type in [`Mapping::consents`].
    pub type_index: usize,
    /// What happened.
    pub kind: EventKind,
    /// When the person did it, as the file says (backdated: the recorded time is the import's).
    pub event_time: Timestamp,
}

/// A line of the file, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line number (for the evidence and for errors found later).
    pub line: u64,
    /// The CRM's id.
    pub external_id: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// Normalised addresses, primary first, without repeats.
    pub emails: Vec<Email>,
    /// E.164 numbers, primary first, without repeats.
    pub phones: Vec<Phone>,
    /// Where the data came from, when the file says.
    pub source: Option<String>,
    /// The legal basis, when the file says.
    pub legal_basis: Option<LegalBasis>,
    /// Purposes, without repeats.
    pub purposes: Vec<String>,
    /// (column name, value) of the attribute columns that are not empty.
    pub attributes: Vec<(String, String)>,
    /// The consent events of the line.
    pub consents: Vec<ImportedConsent>,
}

/// A [`Mapping`] bound to a file's header: column positions instead of names.
#[derive(Debug, Clone)]
pub struct Plan {
    columns: usize,
    external_id: Option<usize>,
    name: Option<usize>,
    emails: Vec<usize>,
    phones: Vec<usize>,
    source: Option<usize>,
    legal_basis: Option<usize>,
    purposes: Option<usize>,
    attributes: Vec<(String, usize)>,
    consents: Vec<(usize, Option<usize>)>,
    header: Vec<String>,
}

/// The longest external id, name and source kept (as for contacts entered by hand).
const MAX_EXTERNAL_ID: usize = 128;
const MAX_TEXT: usize = 200;

/// The delimiter of a file from its first line: whichever of `,`, `;` and tab occurs most
/// outside quotes (Excel in an Italian locale writes `;`, since `,` is the decimal separator);
/// `,` when none does.
pub fn detect_delimiter(first_line: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first_line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts
        .iter()
        .copied()
        .max_by_key(|&(d, n)| (n, d == b','))
        .filter(|&(_, n)| n > 0)
        .map_or(b',', |(d, _)| d)
}

/// Reads a date as CRMs export it: `YYYY-MM-DD`, RFC 3339, `YYYY-MM-DD HH:MM[:SS]`, or the
/// Italian `DD/MM/YYYY` (also with `-` or `.`). A date or a time without an offset is meant in
/// `zone` (the office's local time: a plain date is the start of that local day); an RFC 3339
/// instant carries its own offset.
pub fn parse_date(text: &str, zone: &Zone) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = zone.parse_instant("date", t) {
        return Ok(ts);
    }
    let local = |dt: PrimitiveDateTime| {
        let d = dt.date();
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        zone.parse_instant("date", &text).ok()
    };
    let formats = [
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ];
    for f in formats {
        if let Some(ts) = PrimitiveDateTime::parse(t, &f).ok().and_then(local) {
            return Ok(ts);
        }
    }
    let day_first = [
        time::macros::format_description!("[day padding:none]/[month padding:none]/[year]"),
        time::macros::format_description!("[day padding:none]-[month padding:none]-[year]"),
        time::macros::format_description!("[day padding:none].[month padding:none].[year]"),
    ];
    for f in day_first {
        if let Some(ts) = Date::parse(t, &f).ok().and_then(|d| zone.start_of(d)) {
            return Ok(ts);
        }
    }
    Err(format!(
        "`{t}` is not a date (YYYY-MM-DD, DD/MM/YYYY or an RFC 3339 instant)"
    ))
}

/// Reads a consent state cell: English codes and their usual Italian words.
fn parse_state(text: &str) -> Result<EventKind, String> {
    match text.trim().to_lowercase().as_str() {
        "given" | "dato" | "concesso" | "si" | "sì" | "yes" | "y" | "true" | "1" | "x" => {
            Ok(EventKind::Given)
        }
        "withdrawn" | "revocato" | "ritirato" => Ok(EventKind::Withdrawn),
        "refused" | "negato" | "rifiutato" | "no" | "n" | "false" | "0" => Ok(EventKind::Refused),
        other => Err(format!(
            "`{other}` is not a consent state (given, withdrawn, refused)"
        )),
    }
}

impl Mapping {
    /// Binds the mapping to a file's header. Faults are reported at line 1: a mapped column the
    /// header lacks, a consent type `known` does not know, a column mapped without a name, a
    /// name two columns share (columns are found by name, case aside, so `Email;EMAIL` leaves
    /// the mapping ambiguous; columns without a name, as a trailing `;` makes, are never looked
    /// up and may repeat).
    pub fn plan(
        &self,
        header: &[&str],
        known: impl Fn(&str) -> bool,
    ) -> Result<Plan, Vec<LineError>> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    h
                };
                h.trim().to_owned()
            })
            .collect();
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut reported = std::collections::HashSet::new();
        for n in names.iter().filter(|n| !n.is_empty()) {
            let folded = n.to_lowercase();
            if !seen.insert(folded.clone()) && reported.insert(folded) {
                errors.push(LineError {
                    line: 1,
                    column: n.clone(),
                    reason: format!(
                        "the header names the column `{n}` more than once: give each column its own name"
                    ),
                    problem: Some(LineProblem::DuplicateColumn),
                });
            }
        }
        let mut find = |field: &str, column: &str| -> Option<usize> {
            let found = names.iter().position(|n| {
                n.eq_ignore_ascii_case(column.trim())
                    || n.to_lowercase() == column.trim().to_lowercase()
            });
            if found.is_none() {
                errors.push(LineError {
                    line: 1,
                    column: column.to_owned(),
                    reason: format!("the header has no column `{column}` (mapped as {field})"),
                    problem: None,
                });
            }
            found
        };
        let mut one = |field: &str, c: &Option<String>| c.as_ref().and_then(|c| find(field, c));
        let external_id = one("external_id", &self.external_id);
        let name = one("name", &self.name);
        let source = one("source", &self.source);
        let legal_basis = one("legal_basis", &self.legal_basis);
        let purposes = one("purposes", &self.purposes);
        let emails = self
            .emails
            .iter()
            .filter_map(|c| find("emails", c))
            .collect();
        let phones = self
            .phones
            .iter()
            .filter_map(|c| find("phones", c))
            .collect();
        let attributes = self
            .attributes
            .iter()
            .filter_map(|c| find("attributes", c).map(|i| (c.trim().to_owned(), i)))
            .collect();
        let mut consents = Vec::new();
        for c in &self.consents {
            let date = find("a consent date", &c.date);
            let state = c.state.as_ref().and_then(|s| find("a consent state", s));
            if let Some(date) = date {
                consents.push((date, state));
            }
        }
        for c in &self.consents {
            if !known(c.code.trim()) {
                errors.push(LineError {
                    line: 1,
                    column: c.date.clone(),
                    reason: format!("unknown consent type `{}`", c.code.trim()),
                    problem: None,
                });
            }
        }
        if self.external_id.is_none() && self.emails.is_empty() && self.phones.is_empty() {
            errors.push(LineError {
                line: 1,
                column: "mapping".to_owned(),
                reason:
                    "map at least one of external_id, emails, phones: a contact must be found again"
                        .to_owned(),
                problem: None,
            });
        }
        if errors.is_empty() {
            Ok(Plan {
                columns: names.len(),
                external_id,
                name,
                emails,
                phones,
                source,
                legal_basis,
                purposes,
                attributes,
                consents,
                header: names,
            })
        } else {
            Err(errors)
        }
    }

    /// The consent type codes, in mapping order ([`ImportedConsent::type_index`]).
    pub fn codes(&self) -> Vec<String> {
        self.consents
            .iter()
            .map(|c| c.code.trim().to_owned())
            .collect()
    }
}

impl Plan {
    /// The name of column `index` (counting from 0) as the header gives it.
    pub fn column_name(&self, index: usize) -> Option<&str> {
        self.header.get(index).map(String::as_str)
    }

    /// Parses line `line` of the file. Every fault of the line is reported, each naming its
    /// column: a wrong number of columns, a bad email or phone, a bad or future date (a consent
    /// cannot be given in the future), an unknown state or legal basis, a line naming nobody.
    pub fn parse(
        &self,
        line: u64,
        fields: &[&str],
        now: Timestamp,
        zone: &Zone,
        country_code: &str,
    ) -> Result<ImportRow, Vec<LineError>> {
        let mut errors = Vec::new();
        let mut fault = |column: &str, reason: String| {
            errors.push(LineError {
                line,
                column: column.to_owned(),
                reason,
                problem: None,
            });
        };
        if fields.len() != self.columns {
            fault(
                "line",
                format!(
                    "{} columns where the header has {}",
                    fields.len(),
                    self.columns
                ),
            );
            return Err(errors);
        }
        let cell = |i: usize| fields.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
        let col = |i: usize| self.header.get(i).map_or("", String::as_str);
        let text = |i: Option<usize>, max: usize, fault: &mut dyn FnMut(&str, String)| {
            let i = i?;
            let v = cell(i)?;
            if let Some(c) = text::first_refused(v, Lines::One) {
                fault(col(i), text::refusal(c, Lines::One));
                return None;
            }
            if v.chars().count() > max {
                fault(col(i), format!("must be at most {max} characters"));
                return None;
            }
            Some(v.to_owned())
        };
        let external_id = text(self.external_id, MAX_EXTERNAL_ID, &mut fault);
        let name = text(self.name, MAX_TEXT, &mut fault);
        let source = text(self.source, MAX_TEXT, &mut fault);
        let mut emails: Vec<Email> = Vec::new();
        for &i in &self.emails {
            if let Some(v) = cell(i) {
                match Email::parse(v) {
                    Ok(e) if !emails.contains(&e) => emails.push(e),
                    Ok(_) => {}
                    Err(e) => fault(col(i), reason(e)),
                }
            }
        }
        let mut phones: Vec<Phone> = Vec::new();
        for &i in &self.phones {
            if let Some(v) = cell(i) {
                match Phone::parse(v, country_code) {
                    Ok(p) if !phones.contains(&p) => phones.push(p),
                    Ok(_) => {}
                    Err(e) => fault(col(i), reason(e)),
                }
            }
        }
        let legal_basis = match self.legal_basis.and_then(cell) {
            Some(v) => LegalBasis::parse(v)
                .map_err(|e| self.legal_basis.map(|i| fault(col(i), reason(e))))
                .ok(),
            None => None,
        };
        let mut purposes: Vec<String> = Vec::new();
        if let Some(v) = self.purposes.and_then(cell) {
            for p in v.split('|').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(c) = text::first_refused(p, Lines::One) {
                    if let Some(i) = self.purposes {
                        fault(
                            col(i),
                            format!("a purpose {}", text::refusal(c, Lines::One)),
                        );
                    }
                } else if p.chars().count() > MAX_TEXT {
                    if let Some(i) = self.purposes {
                        fault(
                            col(i),
                            format!("a purpose must be at most {MAX_TEXT} characters"),
                        );
                    }
                } else if !purposes.iter().any(|q| q == p) {
                    purposes.push(p.to_owned());
                }
            }
        }
        // An attribute may span lines (a quoted CSV cell can hold line breaks, RFC 4180 §2.6).
        let mut attributes = Vec::new();
        for (name, i) in &self.attributes {
            if let Some(v) = cell(*i) {
                match text::first_refused(v, Lines::Many) {
                    Some(c) => fault(col(*i), text::refusal(c, Lines::Many)),
                    None => attributes.push((name.clone(), v.to_owned())),
                }
            }
        }
        let mut consents = Vec::new();
        for (type_index, &(date, state)) in self.consents.iter().enumerate() {
            let state_text = state.and_then(cell);
            let Some(d) = cell(date) else {
                if let (Some(_), Some(s)) = (state_text, state) {
                    fault(col(s), "a consent state needs its date".to_owned());
                }
                continue;
            };
            let kind = match state_text.map(parse_state).transpose() {
                Ok(k) => Some(k.unwrap_or(EventKind::Given)),
                Err(why) => {
                    if let Some(s) = state {
                        fault(col(s), why);
                    }
                    None
                }
            };
            match (parse_date(d, zone), kind) {
                (Ok(t), _) if t > now => fault(
                    col(date),
                    format!("`{d}` is in the future: a consent cannot be dated after today"),
                ),
                (Ok(t), _) if t < crate::consent::EARLIEST_EVENT_TIME => fault(
                    col(date),
                    format!("`{d}` is before 1900: a consent cannot be dated before 1900"),
                ),
                (Ok(event_time), Some(kind)) => consents.push(ImportedConsent {
                    type_index,
                    kind,
                    event_time,
                }),
                (Ok(_), None) => {}
                (Err(why), _) => fault(col(date), why),
            }
        }
        if errors.is_empty() && external_id.is_none() && emails.is_empty() && phones.is_empty() {
            errors.push(LineError {
                line,
                column: "line".to_owned(),
                reason: "no external id, email or phone: the person cannot be identified"
                    .to_owned(),
                problem: None,
            });
        }
        if errors.is_empty() {
            Ok(ImportRow {
                line,
                external_id,
                name,
                emails,
                phones,
                source,
                legal_basis,
                purposes,
                attributes,
                consents,
            })
        } else {
            Err(errors)
        }
    }
}

/// The reason of a domain error, without the field name (the column names it instead) and
/// without the value itself: a malformed address or number is still personal data, and the
/// report of a run is kept and shown (the line and column say where to look in the file).
fn reason(e: DomainError) -> String {
    match e {
        DomainError::Invalid { reason, .. } => match reason.strip_prefix('`') {
            Some(rest) => rest
                .split_once("` ")
                .map_or_else(|| reason.clone(), |(_, why)| format!("the value {why}")),
            None => reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_address_is_reported_without_repeating_it() {
        let e = Email::parse("mario.rossi@").unwrap_err();
        let why = reason(e);
        assert!(!why.contains("mario"), "{why}");
        assert!(why.starts_with("the value "), "{why}");
        let e = Phone::parse("12ab", "39").unwrap_err();
        assert!(!reason(e).contains("12ab"));
    }

    fn mapping() -> Mapping {
        Mapping {
            external_id: Some("Codice".into()),
            name: Some("Nome".into()),
            emails: vec!["Email".into()],
            phones: vec!["Cellulare".into()],
            consents: vec![ConsentColumns {
                code: "newsletter".into(),
                date: "Data newsletter".into(),
                state: Some("Stato".into()),
            }],
            ..Mapping::default()
        }
    }

    const HEADER: [&str; 6] = [
        "Codice",
        "Nome",
        "Email",
        "Cellulare",
        "Data newsletter",
        "Stato",
    ];

    #[test]
    fn italian_excel_files_are_read_with_semicolons() {
        assert_eq!(detect_delimiter("Codice;Nome;\"a,b\";Email"), b';');
        assert_eq!(detect_delimiter("id,name,email"), b',');
        assert_eq!(detect_delimiter("id\tname"), b'\t');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn a_line_becomes_a_contact_with_its_backdated_consent() {
        let plan = mapping().plan(&HEADER, |c| c == "newsletter").unwrap();
        let now = Timestamp::parse("now", "2025-06-01").unwrap();
        let row = plan
            .parse(
                2,
                &[
                    "C1",
                    "Anna",
                    "Anna@Example.it",
                    "333 123 4567",
                    "15/03/2024",
                    "revocato",
                ],
                now,
                &Zone::rome(),
                "39",
            )
            .unwrap();
        assert_eq!(row.emails[0].as_str(), "anna@example.it");
        assert_eq!(row.phones[0].as_str(), "+393331234567");
        assert_eq!(row.consents[0].kind, EventKind::Withdrawn);
        // 15 March 2024 in Rome starts at 23:00 UTC the day before (CET).
        assert_eq!(
            row.consents[0].event_time,
            Timestamp::parse("d", "2024-03-14T23:00:00Z").unwrap()
        );
    }

    #[test]
    fn dates_without_an_offset_are_local_and_instants_keep_theirs() {
        let rome = Zone::rome();
        let at = |t: &str| parse_date(t, &rome).unwrap().to_rfc3339();
        assert_eq!(at("01/12/2026"), "2026-11-30T23:00:00Z");
        assert_eq!(at("2026-12-01"), "2026-11-30T23:00:00Z");
        assert_eq!(at("2026-07-01 09:30"), "2026-07-01T07:30:00Z");
        assert_eq!(at("2026-12-01T00:30:00Z"), "2026-12-01T00:30:00Z");
    }

    #[test]
    fn every_fault_of_a_line_is_named() {
        let plan = mapping().plan(&HEADER, |c| c == "newsletter").unwrap();
        let now = Timestamp::parse("now", "2025-06-01").unwrap();
        let errors = plan
            .parse(
                7,
                &["C1", "Anna", "not-an-email", "", "2030-01-01", ""],
                now,
                &Zone::rome(),
                "39",
            )
            .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.line == 7));
        assert_eq!(errors[0].column, "Email");
        assert!(errors[1].reason.contains("future"));
        let short = plan
            .parse(8, &["C1"], now, &Zone::rome(), "39")
            .unwrap_err();
        assert!(short[0].reason.contains("1 columns where the header has 6"));
    }

    #[test]
    fn a_nul_in_a_name_and_a_date_before_1900_are_named_by_their_columns() {
        let plan = mapping().plan(&HEADER, |c| c == "newsletter").unwrap();
        let now = Timestamp::parse("now", "2025-06-01").unwrap();
        let errors = plan
            .parse(
                3,
                &["C1", "Anna\u{0}", "anna@example.it", "", "31/12/1899", ""],
                now,
                &Zone::rome(),
                "39",
            )
            .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].column, "Nome");
        assert!(errors[0].reason.contains("NUL"), "{errors:?}");
        assert_eq!(errors[1].column, "Data newsletter");
        assert!(errors[1].reason.contains("1900"), "{errors:?}");
    }

    #[test]
    fn a_mapping_naming_missing_columns_or_unknown_types_fails_at_the_header() {
        let errors = mapping().plan(&["Codice", "Email"], |_| false).unwrap_err();
        assert!(errors.iter().all(|e| e.line == 1));
        assert!(
            errors
                .iter()
                .any(|e| e.reason.contains("unknown consent type `newsletter`"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.reason.contains("no column `Cellulare`"))
        );
    }

    #[test]
    fn a_header_naming_a_column_twice_is_refused_naming_it_once() {
        let header = [
            "Codice",
            "Email",
            "EMAIL",
            "email",
            "Cellulare",
            "",
            "",
            "Data",
        ];
        let m = Mapping {
            external_id: Some("Codice".into()),
            ..Mapping::default()
        };
        let errors = m.plan(&header, |_| true).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[0].column, "EMAIL");
        assert_eq!(errors[0].problem, Some(LineProblem::DuplicateColumn));
        // Columns without a name (a trailing `;;`) may repeat.
        assert!(m.plan(&["Codice", "", ""], |_| true).is_ok());
    }

    #[test]
    fn a_mapping_reads_from_toml_shaped_data() {
        let m: Mapping = serde_json::from_str(
            r#"{"external_id":"id","emails":["mail"],"consents":[{"code":"newsletter","date":"d"}]}"#,
        )
        .unwrap();
        assert_eq!(m.codes(), vec!["newsletter".to_owned()]);
    }
}
