//! The rule every text field obeys, whichever way it arrives (API, console, command line, CSV
//! import, public forms): no control characters.
//!
//! A control character (Unicode general category Cc: U+0000–U+001F, U+007F–U+009F) is never
//! part of a name, a code, an address or a note a person typed. NUL cannot be stored at all by
//! PostgreSQL's `text` and `jsonb`, so accepting it would make the same value storable on one
//! backend and not on the other; ESC and the C1 controls (CSI, OSC…) are how a value smuggles
//! terminal escape sequences into whoever prints it (ECMA-48 §5). So they are refused, with the
//! field named, before anything is stored.
//!
//! Line breaks are a matter of the field: a single-line field (a name, a title, a label, a code,
//! an identifier, an address) refuses every control character, tab and line feed included,
//! because each is shown on one line of a list or a table; a multi-line field (a description, a
//! note, evidence, a notice's text, a free attribute) keeps tab, line feed and carriage return
//! (a browser's textarea sends lines as CR LF, WHATWG HTML §4.10.11) and refuses the rest.

use crate::DomainError;

/// Whether a field holds one line or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: every control character is refused.
    One,
    /// Several lines: tab, line feed and carriage return are kept; other controls are refused.
    Many,
}

/// Whether `c` may appear in a field of `lines`.
pub fn allowed(c: char, lines: Lines) -> bool {
    !c.is_control() || (lines == Lines::Many && matches!(c, '\t' | '\n' | '\r'))
}

/// The first character of `value` a field of `lines` refuses, if any.
pub fn first_refused(value: &str, lines: Lines) -> Option<char> {
    value.chars().find(|c| !allowed(*c, lines))
}

/// Refuses `value` when it holds a control character `lines` does not allow, naming `field`
/// and the character (as `U+0000`, the only way to show it).
pub fn check(field: &'static str, value: &str, lines: Lines) -> Result<(), DomainError> {
    match first_refused(value, lines) {
        None => Ok(()),
        Some(c) => Err(DomainError::invalid(field, refusal(c, lines))),
    }
}

/// Why a character is refused, in words (without the field).
pub fn refusal(c: char, lines: Lines) -> String {
    let kind = if c == '\0' {
        "a NUL character"
    } else {
        "a control character"
    };
    let hint = match lines {
        Lines::One if matches!(c, '\t' | '\n' | '\r') => " (this field is a single line)",
        _ => "",
    };
    format!("contains {kind} (U+{:04X}){hint}", u32::from(c))
}

/// A trimmed, optional text field: `None` when absent or blank; refused when it is longer than
/// `max` characters or holds a control character `lines` does not allow.
pub fn optional(
    field: &'static str,
    value: Option<&str>,
    max: usize,
    lines: Lines,
) -> Result<Option<String>, DomainError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check(field, value, lines)?;
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A trimmed, required text field of 1 to `max` characters, without the control characters
/// `lines` does not allow.
pub fn required(
    field: &'static str,
    value: &str,
    max: usize,
    lines: Lines,
) -> Result<String, DomainError> {
    optional(field, Some(value), max, lines)?
        .ok_or_else(|| DomainError::invalid(field, format!("must be 1 to {max} characters")))
}

/// Refuses a free JSON value (a contact's attributes) whose keys or strings, at any depth, hold
/// control characters: keys are single lines, strings may have several. The field named is
/// `field.key` for the attribute at fault.
pub fn check_json(field: &'static str, value: &serde_json::Value) -> Result<(), DomainError> {
    /// Why `value` is refused, if it is.
    fn refused(value: &serde_json::Value) -> Option<String> {
        match value {
            serde_json::Value::String(s) => {
                first_refused(s, Lines::Many).map(|c| refusal(c, Lines::Many))
            }
            serde_json::Value::Array(items) => items.iter().find_map(refused),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                first_refused(k, Lines::One)
                    .map(|c| format!("has a key that {}", refusal(c, Lines::One)))
                    .or_else(|| refused(v))
            }),
            _ => None,
        }
    }
    let why = match value {
        // The attribute at fault is named by its key; the key's own characters are escaped.
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            first_refused(k, Lines::One)
                .map(|c| format!("a key {}", refusal(c, Lines::One)))
                .or_else(|| refused(v).map(|why| format!("`{}` {why}", k.escape_debug())))
        }),
        other => refused(other),
    };
    why.map_or(Ok(()), |why| Err(DomainError::invalid(field, why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_refused_in_every_kind_of_field() {
        for lines in [Lines::One, Lines::Many] {
            let err = check("name", "Mario\0Rossi", lines).unwrap_err();
            assert_eq!(err.field(), "name");
            assert!(err.to_string().contains("NUL"), "{err}");
        }
    }

    #[test]
    fn escape_and_c1_controls_are_refused_even_in_notes() {
        assert!(check("note", "red \u{1b}[31m", Lines::Many).is_err());
        assert!(check("note", "csi \u{9b}31m", Lines::Many).is_err());
        assert!(check("note", "del \u{7f}", Lines::Many).is_err());
    }

    #[test]
    fn a_note_keeps_its_lines_and_a_name_does_not() {
        assert!(check("note", "first line\r\nsecond\tline", Lines::Many).is_ok());
        let err = check("name", "Mario\nRossi", Lines::One).unwrap_err();
        assert!(err.to_string().contains("single line"), "{err}");
    }

    #[test]
    fn accents_and_other_scripts_are_not_controls() {
        assert!(check("name", "Nicolò Ðorđević 山田", Lines::One).is_ok());
    }

    #[test]
    fn optional_text_is_trimmed_bounded_and_blank_is_none() {
        assert_eq!(
            optional("source", Some("  "), 10, Lines::One).unwrap(),
            None
        );
        assert_eq!(
            optional("source", Some(" fiera "), 10, Lines::One).unwrap(),
            Some("fiera".to_owned())
        );
        assert!(optional("source", Some("12345678901"), 10, Lines::One).is_err());
        assert_eq!(
            required("title", " ", 10, Lines::One).unwrap_err().field(),
            "title"
        );
    }

    #[test]
    fn json_attributes_are_checked_at_every_depth() {
        let ok = serde_json::json!({"address": "Via Roma 1\nMilano", "n": 3});
        assert!(check_json("attributes", &ok).is_ok());
        let nested = serde_json::json!({"tags": ["a", {"b": "x\u{0}y"}]});
        let err = check_json("attributes", &nested).unwrap_err();
        assert_eq!(err.field(), "attributes");
        assert!(err.to_string().contains("tags"), "{err}");
        let key = serde_json::json!({"a\u{1b}b": 1});
        assert!(check_json("attributes", &key).is_err());
    }
}
