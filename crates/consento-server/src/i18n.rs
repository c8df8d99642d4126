//! The languages of the console's pages and of the emails: Italian and English messages from Fluent files (`locales/<lang>/`),
//! the language chosen per request (the person's choice, else their browser's Accept-Language,
//! else the configured default), and dates and numbers written the way each language writes them,
//! in the office's time zone.
//!
//! The message files are compiled into the binary; a test keeps the two languages' keys
//! identical and every file parsing, so a missing translation fails the build's tests rather
//! than showing a key to an operator.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

pub use consento_domain::Locale;
use consento_domain::{Timestamp, Zone};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// One area's message files, in both languages: a file missing in either fails the build.
macro_rules! area {
    ($name:literal) => {
        [
            (
                Locale::It,
                $name,
                include_str!(concat!("../locales/it/", $name, ".ftl")),
            ),
            (
                Locale::En,
                $name,
                include_str!(concat!("../locales/en/", $name, ".ftl")),
            ),
        ]
    };
}

/// Every message file: one area per line.
const AREAS: &[[(Locale, &str, &str); 2]] = &[
    area!("core"),
    area!("setup"),
    area!("contacts"),
    area!("newsletter"),
    area!("dashboard"),
    area!("audit"),
    area!("public"),
    area!("mail"),
    area!("subscribe"),
    area!("requests"),
    area!("flags"),
    area!("erasure"),
    area!("retention"),
    area!("rules"),
    area!("imports"),
    area!("fields"),
    area!("telemarketing"),
    area!("rpo"),
    area!("held"),
];

/// Every message file, per language.
fn files() -> impl Iterator<Item = &'static (Locale, &'static str, &'static str)> {
    AREAS.iter().flatten()
}

/// The parsed message files, and the keys each language has (for the parity test).
pub struct Catalog {
    bundles: HashMap<Locale, FluentBundle<FluentResource>>,
    /// Problems found while loading (a file that does not parse, a key defined twice).
    pub problems: Vec<String>,
}

impl Catalog {
    fn load() -> Self {
        let mut bundles = HashMap::new();
        let mut problems = Vec::new();
        for locale in Locale::ALL {
            let Ok(tag) = locale.code().parse() else {
                problems.push(format!("{}: not a language tag", locale.code()));
                continue;
            };
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // Unicode isolation marks around arguments would end up inside form values and URLs.
            bundle.set_use_isolating(false);
            for (_, name, text) in files().filter(|(l, _, _)| *l == locale) {
                let resource = match FluentResource::try_new((*text).to_owned()) {
                    Ok(r) => r,
                    Err((r, errors)) => {
                        problems.push(format!("{}/{name}.ftl: {errors:?}", locale.code()));
                        r
                    }
                };
                if let Err(errors) = bundle.add_resource(resource) {
                    problems.push(format!("{}/{name}.ftl: {errors:?}", locale.code()));
                }
            }
            bundles.insert(locale, bundle);
        }
        Self { bundles, problems }
    }

    /// The message keys of `locale`'s files, in file order.
    pub fn keys(locale: Locale) -> Vec<String> {
        files()
            .filter(|(l, _, _)| *l == locale)
            .flat_map(|(_, _, text)| {
                text.lines()
                    .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
                    .filter_map(|line| line.split_once('=').map(|(k, _)| k.trim().to_owned()))
            })
            .collect()
    }

    /// The literal text of every message of `locale`, cut where an argument or a plural's
    /// selector stands (`Consenso { $consent } dato il { $date }` gives `Consenso ` and
    /// ` dato il `; each variant of a plural is a piece of its own), trimmed, empty pieces left
    /// out. Tests look for one language's pieces on the other language's pages: a piece found
    /// there is a message that was not translated, or text built outside the catalog.
    pub fn literal_pieces(locale: Locale) -> Vec<String> {
        let mut pieces = Vec::new();
        for (_, _, text) in files().filter(|(l, _, _)| *l == locale) {
            let mut in_message = false;
            for line in text.lines() {
                let value = if line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    in_message = true;
                    line.split_once('=').map_or("", |(_, v)| v)
                } else if in_message && line.starts_with([' ', '\t']) {
                    line
                } else {
                    in_message = false;
                    continue;
                };
                pieces.extend(pieces_of_line(value));
            }
        }
        pieces
    }

    fn format<'a>(
        &'a self,
        locale: Locale,
        key: &'a str,
        args: Option<&FluentArgs>,
    ) -> Cow<'a, str> {
        let Some(bundle) = self.bundles.get(&locale) else {
            return Cow::Borrowed(key);
        };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, locale = locale.code(), "message missing");
            return Cow::Borrowed(key);
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, locale = locale.code(), "message arguments missing");
        }
        text
    }
}

/// The literal text of one line of a message's value: a plural's variant key (`*[other]`) is
/// dropped, and every placeable (`{ $date }`, `{ $count ->`, a closing `}`) cuts the line;
/// pieces are trimmed, empty ones left out.
fn pieces_of_line(line: &str) -> Vec<String> {
    let mut rest = line.trim_start();
    if let Some(variant) = rest.strip_prefix('*').unwrap_or(rest).strip_prefix('[')
        && let Some((_, after)) = variant.split_once(']')
    {
        rest = after;
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in rest.chars() {
        match c {
            '{' => {
                pieces.push(std::mem::take(&mut current));
                depth += 1;
            }
            '}' => {
                pieces.push(std::mem::take(&mut current));
                depth = depth.saturating_sub(1);
            }
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    pieces.push(current);
    pieces
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The messages, loaded once.
pub static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::load);

/// Messages, dates and numbers in one language, dates and times in the office's zone: what
/// every page and template is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    /// The language.
    pub locale: Locale,
    /// The zone instants are shown in.
    pub zone: &'static Zone,
}

impl Tr {
    /// A translator for `locale`, showing instants in `zone` (see [`interned`]).
    pub fn new(locale: Locale, zone: &'static Zone) -> Self {
        Self { locale, zone }
    }

    /// A translator for `locale` showing instants in Rome's time: for tests.
    #[cfg(test)]
    pub(crate) fn rome(locale: Locale) -> Self {
        Self::new(locale, interned(&Zone::rome()))
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        CATALOG.format(self.locale, key, None).into_owned()
    }

    /// The message `key` with arguments: numbers select plural forms, text is inserted as is
    /// (the template escapes it).
    pub fn args<'a>(&self, key: &str, args: &[(&'a str, Arg<'a>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Num(n) => {
                    fluent.set(*name, FluentValue::from(*n));
                    // Plural selection needs the bare number; the text needs the local digits.
                    fluent.set(format!("{name}_text"), FluentValue::from(self.num(*n)));
                }
                Arg::Text(s) => fluent.set(*name, FluentValue::from(s.as_ref())),
            }
        }
        CATALOG.format(self.locale, key, Some(&fluent)).into_owned()
    }

    /// The message `key` with one text argument.
    pub fn with(&self, key: &str, name: &str, value: &str) -> String {
        self.args(key, &[(name, Arg::Text(Cow::Borrowed(value)))])
    }

    /// The message `key` with one number argument `count` (also given as `count_text`,
    /// grouped the local way).
    pub fn count(&self, key: &str, count: i64) -> String {
        self.args(key, &[("count", Arg::Num(count))])
    }

    /// The message `key` with one number argument called `name` (and `name_text`).
    pub fn count_named(&self, key: &str, name: &str, n: i64) -> String {
        self.args(key, &[(name, Arg::Num(n))])
    }

    /// Whether the catalog has the message `key` (for keys that arrive in a query string).
    pub fn has(&self, key: &str) -> bool {
        CATALOG
            .bundles
            .get(&self.locale)
            .is_some_and(|b| b.has_message(key))
    }

    /// An integer with the language's digit grouping: `1.234.567` in Italian, `1,234,567` in
    /// English.
    pub fn num(&self, n: i64) -> String {
        let sep = match self.locale {
            Locale::It => '.',
            Locale::En => ',',
        };
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// A local date in words: `3 marzo 2026`, `1º dicembre 2026`, `3 March 2026`.
    pub fn date(&self, at: Timestamp) -> String {
        let Some(d) = self.zone.date_of(at) else {
            return at.to_rfc3339();
        };
        self.day_in_words(d)
    }

    /// A calendar date in words: `3 marzo 2026`; Italian writes the first of a month as an
    /// ordinal, `1º dicembre 2026`.
    pub fn day_in_words(&self, d: time::Date) -> String {
        let month = self.t(&format!("month-{}", u8::from(d.month())));
        match (self.locale, d.day()) {
            (Locale::It, 1) => format!("1º {month} {}", d.year()),
            (_, day) => format!("{day} {month} {}", d.year()),
        }
    }

    /// A local date in digits for tables and forms: `03/03/2026` in Italian, `2026-03-03` in
    /// English.
    pub fn date_short(&self, at: Timestamp) -> String {
        let Some(d) = self.zone.date_of(at) else {
            return at.to_rfc3339();
        };
        self.day_short(d)
    }

    /// A calendar date in digits: `03/03/2026` in Italian, `2026-03-03` in English.
    pub fn day_short(&self, d: time::Date) -> String {
        match self.locale {
            Locale::It => format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()),
            Locale::En => format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        }
    }

    /// A local date and time with the zone's abbreviation in force: `03/03/2026 14:05 CET`.
    pub fn datetime(&self, at: Timestamp) -> String {
        let Some(local) = self.zone.local(at) else {
            return at.to_rfc3339();
        };
        format!(
            "{} {:02}:{:02} {}",
            self.day_short(local.date),
            local.hour,
            local.minute,
            local.abbreviation
        )
    }

    /// The local date of `at` for an `<input type="date">` value (always `YYYY-MM-DD`, whatever
    /// the language).
    pub fn date_input(&self, at: Timestamp) -> String {
        self.zone
            .date_of(at)
            .map(|d| d.to_string())
            .unwrap_or_default()
    }

    /// The local date and time of `at` for an `<input type="datetime-local">` value
    /// (`YYYY-MM-DDTHH:MM`, whatever the language): the minute the local clock reads.
    pub fn datetime_input(&self, at: Timestamp) -> String {
        self.zone
            .local(at)
            .map(|l| format!("{}T{:02}:{:02}", l.date, l.hour, l.minute))
            .unwrap_or_default()
    }

    /// The zone's IANA name, shown on pages that list instants (`Europe/Rome`).
    pub fn zone_name(&self) -> &str {
        self.zone.name()
    }
}

/// `zone` as a `&'static` reference, so that a [`Tr`] stays a small `Copy` value handed to every
/// template. One copy per distinct zone name is kept for the life of the process: a server uses
/// one, a test process a handful, and the IANA database has a few hundred names at most.
pub fn interned(zone: &Zone) -> &'static Zone {
    static ZONES: std::sync::Mutex<Vec<&'static Zone>> = std::sync::Mutex::new(Vec::new());
    let mut zones = ZONES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(z) = zones.iter().find(|z| ***z == *zone) {
        return z;
    }
    let z: &'static Zone = Box::leak(Box::new(zone.clone()));
    zones.push(z);
    z
}

/// An argument of a message.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// A number (selects plural forms).
    Num(i64),
    /// Text.
    Text(Cow<'a, str>),
}

/// Why a message is held until someone gives a reason, in words: the decision's rule (`no_consent`
/// → `held-rule-no-consent`), else the rule named. The console's held emails and the notices to
/// their senders say it alike.
pub fn held_rule(tr: Tr, rule: &str) -> String {
    let key = format!("held-rule-{}", rule.replace('_', "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        tr.with("held-rule-other", "rule", rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_supported_language() {
        assert_eq!(
            Locale::from_accept_language("de-DE,de;q=0.9,it;q=0.8,en;q=0.7"),
            Some(Locale::It)
        );
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("it;q=0, en;q=0.1"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("fr"), None);
    }

    #[test]
    fn dates_are_written_in_the_offices_zone_and_language() {
        // 23:30 UTC on 30 November is 00:30 on 1 December in Rome.
        let t = Timestamp::parse("t", "2026-11-30T23:30:00Z").unwrap();
        let it = Tr::rome(Locale::It);
        assert_eq!(it.date(t), "1º dicembre 2026");
        assert_eq!(it.date_short(t), "01/12/2026");
        assert_eq!(it.datetime(t), "01/12/2026 00:30 CET");
        assert_eq!(it.date_input(t), "2026-12-01");
        assert_eq!(it.datetime_input(t), "2026-12-01T00:30");
        let en = Tr::rome(Locale::En);
        assert_eq!(en.date(t), "1 December 2026");
        let summer = Timestamp::parse("t", "2026-07-03T12:05:00Z").unwrap();
        assert_eq!(en.datetime(summer), "2026-07-03 14:05 CEST");
        let utc = Tr::new(Locale::It, interned(&Zone::utc()));
        assert_eq!(utc.date(t), "30 novembre 2026");
    }

    #[test]
    fn numbers_are_grouped_the_local_way() {
        assert_eq!(Tr::rome(Locale::It).num(1_234_567), "1.234.567");
        assert_eq!(Tr::rome(Locale::En).num(1_234_567), "1,234,567");
        assert_eq!(Tr::rome(Locale::En).num(-999), "-999");
        assert_eq!(Tr::rome(Locale::It).num(1000), "1.000");
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::*;

    #[test]
    fn italian_and_english_have_the_same_message_keys_and_every_file_parses() {
        assert!(CATALOG.problems.is_empty(), "{:?}", CATALOG.problems);
        let mut it = Catalog::keys(Locale::It);
        let mut en = Catalog::keys(Locale::En);
        assert!(!en.is_empty());
        it.sort();
        en.sort();
        let only_it: Vec<_> = it.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !it.contains(k)).collect();
        assert!(
            only_it.is_empty() && only_en.is_empty(),
            "only in Italian: {only_it:?}; only in English: {only_en:?}"
        );
        let mut dedup = en.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), en.len(), "a key is defined twice");
    }

    #[test]
    fn literal_pieces_are_the_text_between_a_messages_arguments() {
        assert_eq!(
            pieces_of_line(" Consenso { $consent } dato il { $date }."),
            ["Consenso", "dato il", "."]
        );
        assert_eq!(
            pieces_of_line("       *[other] { $minutes_text } minuti"),
            ["minuti"]
        );
        let it = Catalog::literal_pieces(Locale::It);
        assert!(it.iter().any(|p| p == "un minuto"), "a plural's variant");
        assert!(it.iter().any(|p| p == "Cruscotto"));
        assert!(it.iter().all(|p| !p.contains('{') && !p.is_empty()));
    }

    #[test]
    fn every_message_key_named_in_a_template_or_the_code_exists() {
        // Keys are written as string literals: "nav-…", page.t("…"), tr.t("…").
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let keys = Catalog::keys(Locale::En);
        let mut missing = Vec::new();
        let mut stack = vec![root.join("templates"), root.join("src/web")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for call in [
                    ".t(\"",
                    "tr.with(\"",
                    ".count(\"",
                    ".count_named(\"",
                    ".args(\"",
                ] {
                    for piece in text.split(call).skip(1) {
                        let key = piece.split('"').next().unwrap_or_default();
                        if key
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                            && !key.is_empty()
                            && !keys.iter().any(|k| k == key)
                        {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
    }
}
