//! How results are shown: aligned plain-text tables and short value formats for people, pretty
//! JSON for scripts; and, under all of them, standard output with control characters escaped.

use std::io::Write;

use consento_domain::{Action, Permissions, Timestamp};
use serde::Serialize;

/// Standard output with every control character escaped but line feed and tab: stored text
/// printed by a command (a name typed on the public subscribe form, a note, evidence) reaches a
/// terminal, and ESC or a C1 control in it would be read as a command (ECMA-48 §5: colours,
/// cursor moves, a changed window title, a hyperlink), and a carriage return would let one line
/// print over another. Text entered today cannot hold them ([`consento_domain::text`]); data
/// stored before that rule, or written around Consento, still can. Escaped as Rust writes them
/// (`\u{1b}`), visible and unambiguous. JSON output holds none (serde_json escapes them), and
/// files written with `--output` are data, written as they are.
pub struct Escaping<'a> {
    inner: &'a mut dyn Write,
    /// The first byte (0xC2) of a two-byte UTF-8 character, held back until the next byte tells
    /// whether it is a C1 control (U+0080–U+009F).
    pending: bool,
}

impl<'a> Escaping<'a> {
    /// Escapes what is written to `inner`.
    pub fn new(inner: &'a mut dyn Write) -> Self {
        Self {
            inner,
            pending: false,
        }
    }
}

fn needs_escape(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F
}

impl Write for Escaping<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if !self.pending && !buf.iter().any(|&b| needs_escape(b) || b == 0xC2) {
            return self.inner.write_all(buf);
        }
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in buf {
            if std::mem::take(&mut self.pending) {
                if (0x80..=0x9F).contains(&b) {
                    // U+0080–U+009F are encoded C2 80 – C2 9F: the code point is the second byte.
                    write!(out, "\\u{{{b:x}}}")?;
                    continue;
                }
                out.push(0xC2);
            }
            if b == 0xC2 {
                self.pending = true;
            } else if needs_escape(b) {
                out.extend(char::from(b).escape_default().to_string().bytes());
            } else {
                out.push(b);
            }
        }
        self.inner.write_all(&out)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if std::mem::take(&mut self.pending) {
            self.inner.write_all(&[0xC2])?;
        }
        self.inner.flush()
    }
}

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

/// Creates (or empties) the file at `path` for a command's output, readable by its owner only:
/// what commands write holds personal data (GDPR Art. 32(1)).
pub fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// An instant as the office reads it: `2026-12-28 09:00 CET`.
pub fn local_time(zone: &consento_domain::Zone, t: Timestamp) -> String {
    zone.local(t).map_or_else(
        || t.to_rfc3339(),
        |l| {
            format!(
                "{} {:02}:{:02} {}",
                l.date, l.hour, l.minute, l.abbreviation
            )
        },
    )
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
    fn control_characters_are_escaped_but_lines_tabs_and_accents_are_not() {
        let mut out = Vec::new();
        let mut w = Escaping::new(&mut out);
        writeln!(w, "Mario \u{1b}[31mRossi\u{1b}]0;pwned\u{7}").unwrap();
        writeln!(w, "a\tb\rc\u{0}d \u{9b}2J Nicolò «x»").unwrap();
        // A C1 control split across two writes is still caught.
        w.write_all(&[0xC2]).unwrap();
        w.write_all(&[0x9B, b'\n']).unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Mario \\u{1b}[31mRossi\\u{1b}]0;pwned\\u{7}\na\tb\\rc\\u{0}d \\u{9b}2J Nicolò «x»\n\\u{9b}\n"
        );
    }

    #[test]
    fn long_text_is_clipped_with_a_mark() {
        assert_eq!(clip("modulo cartaceo", 7), "modulo…");
        assert_eq!(clip("breve", 7), "breve");
    }
}
