//! The cells of the CSV files Consento writes (the newsletter audience, a person's export): how a
//! value that a spreadsheet would run as a formula is written as text instead (OWASP, "CSV
//! Injection"). One rule for every writer, so that the console's download, the API's audience,
//! the command line's and the export zip defuse the same cells the same way.

use std::borrow::Cow;

/// How the cells of a CSV file are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cells {
    /// Defused for spreadsheets (see [`spreadsheet_safe`]): the default of every CSV Consento
    /// writes, since any of them may end up opened in Excel or LibreOffice.
    #[default]
    ForSpreadsheets,
    /// As stored, for a program that reads the file and asked for the values unchanged.
    AsStored,
}

impl Cells {
    /// `raw`: the caller asked for the values as stored.
    pub fn raw(raw: bool) -> Self {
        if raw {
            Self::AsStored
        } else {
            Self::ForSpreadsheets
        }
    }

    /// The cell to write for `value`.
    pub fn cell(self, value: &str) -> Cow<'_, str> {
        match self {
            Self::ForSpreadsheets => spreadsheet_safe(value),
            Self::AsStored => Cow::Borrowed(value),
        }
    }
}

/// `value` as a cell a spreadsheet shows as text. OWASP's CSV Injection guidance: a cell that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return may be evaluated as a formula
/// (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3+cmd|' /C calc'!A0`), so it gets a single quote in front,
/// which spreadsheets take as "this is text". The CSV quoting itself (RFC 4180) is the writer's.
///
/// One exception, on purpose: international phone numbers, a `+` followed only by digits and
/// spaces (`+39 333 1234567`), or several of them separated by `;` as an export lists a
/// person's numbers (`+393331234567; +39061234567`), are left alone. Such a cell cannot do
/// anything as a formula: without a letter there is no function and no cell reference, without
/// `|` or `!` no DDE call, without quotes no text; at worst a spreadsheet shows it as a number.
/// Prefixing it would alter every phone number of an export for no protection.
pub fn spreadsheet_safe(value: &str) -> Cow<'_, str> {
    if !value.starts_with(['=', '+', '-', '@', '\t', '\r']) || is_phone_like(value) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(format!("'{value}"))
}

/// `+`, then digits and spaces only, with at least one digit; or several such, separated by `;`.
fn is_phone_like(value: &str) -> bool {
    value.split(';').enumerate().all(|(i, number)| {
        let number = if i == 0 { number } else { number.trim_start() };
        number.strip_prefix('+').is_some_and(|rest| {
            rest.bytes().any(|b| b.is_ascii_digit())
                && rest.bytes().all(|b| b.is_ascii_digit() || b == b' ')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_start_owasp_lists_gets_a_quote() {
        for v in [
            "=HYPERLINK(\"http://evil.example\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A2)",
            "\tTAB",
            "\rCR",
            "+",
            "+ ",
        ] {
            assert_eq!(spreadsheet_safe(v), format!("'{v}"), "{v:?}");
        }
    }

    #[test]
    fn ordinary_values_and_phone_numbers_are_left_alone() {
        for v in [
            "Anna Rossi",
            "anna@example.it",
            "",
            "'=already text",
            " =starts with a space",
            "+39 333 1234567",
            "+393331234567",
            "+393331234567; +39061234567",
        ] {
            assert!(matches!(spreadsheet_safe(v), Cow::Borrowed(_)), "{v:?}");
        }
    }

    #[test]
    fn a_plus_followed_by_anything_but_digits_and_spaces_is_defused() {
        for v in [
            "+39 333 123A1",
            "+39-333",
            "+1 (555) 0100",
            "+39|333",
            "+39; =cmd",
            "+39;",
        ] {
            assert_eq!(spreadsheet_safe(v), format!("'{v}"), "{v:?}");
        }
    }

    #[test]
    fn values_as_stored_are_written_unchanged() {
        assert_eq!(Cells::AsStored.cell("=1+1"), "=1+1");
        assert_eq!(Cells::raw(false).cell("=1+1"), "'=1+1");
    }
}
