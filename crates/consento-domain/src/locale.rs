//! The languages Consento speaks to people (Italian and English): the tag of each, and how a
//! browser's `Accept-Language` picks one (RFC 9110 §12.5.4). The messages themselves are the
//! server's; the language is part of the domain because emails queued by a use case carry it.

/// A language Consento speaks: the console, the public pages, the emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// Italian.
    It,
    /// English.
    En,
}

impl Locale {
    /// Every language, in the order the language switch lists them.
    pub const ALL: [Locale; 2] = [Locale::It, Locale::En];

    /// The language tag (BCP 47).
    pub fn code(self) -> &'static str {
        match self {
            Locale::It => "it",
            Locale::En => "en",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::It => "Italiano",
            Locale::En => "English",
        }
    }

    /// Parses a language tag's primary subtag (`it`, `it-IT`, `EN-gb`).
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "it" => Some(Locale::It),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The best of our languages for an Accept-Language header (RFC 9110 §12.5.4): the
    /// supported tag with the highest weight; `q=0` means "not this one".
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(u16, Locale)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(locale) = parts.next().and_then(Locale::parse) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, |q| {
                    q.trim()
                        .parse::<f32>()
                        .map_or(0, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                });
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, locale));
            }
        }
        best.map(|(_, locale)| locale)
    }
}
