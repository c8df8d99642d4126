//! How results are shown: aligned plain-text tables and short value formats for people, pretty
//! JSON for scripts.

use std::io::Write;

use consento_domain::{Action, Permissions, Timestamp};
use serde::Serialize;

/// Writes `value` as JSON, followed by a newline.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A table printed with aligned columns; the last column is not padded.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as headers).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the headers and rows, indented by `indent` spaces.
    pub fn write(&self, out: &mut dyn Write, indent: usize) -> anyhow::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let last = cells.len().saturating_sub(1);
            let mut s = " ".repeat(indent);
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i == last {
                    s.push_str(cell);
                } else {
                    s.push_str(&format!("{cell:<w$}  "));
                }
            }
            s.trim_end().to_owned()
        };
        writeln!(out, "{}", line(self.headers.clone()))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
        Ok(())
    }
}

/// The local date of an instant in the office's zone, `YYYY-MM-DD`: what an operator enters and
/// reads.
pub fn day(zone: &consento_domain::Zone, t: Timestamp) -> String {
    zone.date_of(t)
        .map_or_else(|| t.to_rfc3339(), |d| d.to_string())
}

/// An optional value, or `-`.
pub fn or_dash(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The actions a consent type permits, e.g. `email.bulk, sms.bulk`, or `none`.
pub fn permits(p: Permissions) -> String {
    let codes: Vec<&str> = Action::ALL
        .iter()
        .filter(|a| p.permits(**a))
        .map(|a| a.code())
        .collect();
    if codes.is_empty() {
        "none".into()
    } else {
        codes.join(", ")
    }
}

/// `on` or `off`.
pub fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Shortens text for a table cell to `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_to_the_widest_cell() {
        let mut t = Table::new(&["CODE", "TITLE"]);
        t.row(vec!["NEWSLETTER".into(), "Newsletter".into()]);
        t.row(vec!["SMS".into(), "SMS promozionali".into()]);
        let mut out = Vec::new();
        t.write(&mut out, 0).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "CODE        TITLE\nNEWSLETTER  Newsletter\nSMS         SMS promozionali\n"
        );
    }

    #[test]
    fn long_text_is_clipped_with_a_mark() {
        assert_eq!(clip("modulo cartaceo", 7), "modulo…");
        assert_eq!(clip("breve", 7), "breve");
    }
}
