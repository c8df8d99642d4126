//! A serde deserializer wrapper that makes reading a JSON request body strict where serde_json
//! is lenient, at every depth of the document:
//!
//! - a struct is read only from a JSON object: serde_json also fills a struct from an array of
//!   its field values in declaration order (`["given", "NEWS"]`), a shape no client means to
//!   send and no document describes;
//! - every string (keys included) is refused when it holds a control character other than tab,
//!   line feed and carriage return ([`consento_domain::text`]): NUL cannot be stored by
//!   PostgreSQL, and escape sequences must not reach a terminal. Fields of one line refuse those
//!   three too, in the domain.
//!
//! It forwards everything else to the wrapped deserializer unchanged, so that
//! `serde_path_to_error` around it still names the path of the value at fault.

use consento_domain::text::{self, Lines};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// Whether an error's message is a refusal of this wrapper's text rule (a 422, not a 400).
pub fn is_text_refusal(message: &str) -> bool {
    message.starts_with(REFUSAL_PREFIX)
}

/// The start of every message [`text::refusal`] writes, and so of this wrapper's refusals.
const REFUSAL_PREFIX: &str = "contains a ";

fn check<E: de::Error>(value: &str) -> Result<(), E> {
    match text::first_refused(value, Lines::Many) {
        Some(c) => Err(E::custom(text::refusal(c, Lines::Many))),
        None => Ok(()),
    }
}

/// The strict deserializer around `D`.
pub struct Strict<D>(pub D);

/// The strict visitor around `V`: checks strings and wraps nested accesses.
struct V<T>(T);

/// The strict seed around `S`: reads the nested value through [`Strict`].
struct Seed<S>(S);

/// Nested accesses, each reading its values through [`Seed`].
struct Seq<A>(A);
struct Map<A>(A);
struct Enum<A>(A);
struct Variant<A>(A);

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<Vis: Visitor<'de>>(self, visitor: Vis) -> Result<Vis::Value, Self::Error> {
                self.0.$method(V(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    fn deserialize_unit_struct<Vis: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, V(visitor))
    }

    fn deserialize_newtype_struct<Vis: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, V(visitor))
    }

    fn deserialize_tuple<Vis: Visitor<'de>>(
        self,
        len: usize,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_tuple(len, V(visitor))
    }

    fn deserialize_tuple_struct<Vis: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, V(visitor))
    }

    /// A struct is read as a map: JSON's only way of naming its fields.
    fn deserialize_struct<Vis: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_map(V(visitor))
    }

    fn deserialize_enum<Vis: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, V(visitor))
    }

    fn deserialize_ignored_any<Vis: Visitor<'de>>(
        self,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! pass {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, T: Visitor<'de>> Visitor<'de> for V<T> {
    type Value = T::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    pass!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_f64: f64,
        visit_char: char,
        visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8],
        visit_byte_buf: Vec<u8>,
    );

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        check(v)?;
        self.0.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        check(v)?;
        self.0.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        check(&v)?;
        self.0.visit_string(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Map(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Enum(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), Self::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Variant(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<Vis: Visitor<'de>>(
        self,
        len: usize,
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        self.0.tuple_variant(len, V(visitor))
    }

    fn struct_variant<Vis: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: Vis,
    ) -> Result<Vis::Value, Self::Error> {
        // serde_json reads a struct variant's body with `deserialize_struct` semantics too
        // (an array fills it), and offers no map-only entry here: the visitor is wrapped, so
        // its strings are still checked.
        self.0.struct_variant(fields, V(visitor))
    }
}

/// Whether a raw query string could decode to a control character: a percent escape of C0
/// (`%00`–`%1F`), DEL (`%7F`) or the first byte of a UTF-8 C1 control (`%C2`), or such a byte
/// unescaped. One pass over the bytes without allocating: the decisions and the dialer ask on
/// every request, and almost no query holds one, so only a candidate is decoded and checked.
fn may_hold_controls(query: &str) -> bool {
    let b = query.as_bytes();
    b.iter().any(|&c| c < 0x20 || c == 0x7f || c == 0xc2)
        || b.windows(3).any(|w| {
            w[0] == b'%'
                && (matches!(w[1], b'0' | b'1')
                    || (w[1] == b'7' && w[2].eq_ignore_ascii_case(&b'f'))
                    || (w[1].eq_ignore_ascii_case(&b'c') && w[2] == b'2'))
        })
}

/// Refuses a query string holding a control character in a parameter's name or value once
/// percent-decoded (`?q=%00`): a 422 naming the parameter. Query parameters are single-line text,
/// so every control character is refused. Called by the query extractor
/// ([`super::params::ApiQuery`]), so only a route that reads its query string pays for it.
pub fn query_without_controls(query: &str) -> Result<(), super::error::ApiError> {
    if !may_hold_controls(query) {
        return Ok(());
    }
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query) else {
        // Not decodable as pairs: the extractor's own parse names the fault.
        return Ok(());
    };
    for (name, value) in &pairs {
        if let Some(c) = [name, value]
            .iter()
            .find_map(|t| text::first_refused(t, Lines::One))
        {
            let field = name.escape_debug().to_string();
            return Err(super::error::ApiError::unprocessable(
                field,
                text::refusal(c, Lines::One),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn only_a_query_that_could_hold_a_control_character_is_decoded() {
        for q in [
            "q=Anna%00",
            "q=a%0A",
            "q=%1b[31m",
            "q=%7f",
            "q=%7F",
            "q=%c2%85",
            "q=%C2%9B",
        ] {
            assert!(may_hold_controls(q), "{q}");
        }
        for q in [
            "phone=%2B393331234567",
            "q=Nicol%C3%B2",
            "q=a+b&c=d",
            "q=%20%41",
        ] {
            assert!(!may_hold_controls(q), "{q}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        kind: String,
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    fn read(json: &str) -> Result<Outer, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(Strict(&mut de))
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn objects_are_read_as_before() {
        let out =
            read(r#"{"kind": "a\nb", "inner": {"name": "x"}, "list": [{"name": "y"}]}"#).unwrap();
        assert_eq!(out.inner, Some(Inner { name: "x".into() }));
        assert_eq!(out.kind, "a\nb");
    }

    #[test]
    fn an_array_in_place_of_an_object_is_refused_at_any_depth() {
        assert!(
            read(r#"["a", null, []]"#)
                .unwrap_err()
                .contains("invalid type")
        );
        let nested = read(r#"{"kind": "a", "inner": ["x"]}"#).unwrap_err();
        assert!(nested.starts_with("inner:"), "{nested}");
        let listed = read(r#"{"kind": "a", "list": [["y"]]}"#).unwrap_err();
        assert!(listed.starts_with("list[0]:"), "{listed}");
    }

    #[test]
    fn a_control_character_is_refused_with_its_path() {
        let err = read(r#"{"kind": "a", "inner": {"name": "x\u0000"}}"#).unwrap_err();
        assert!(err.starts_with("inner.name: contains a NUL"), "{err}");
        let err = read(r#"{"kind": "\u001b[2J"}"#).unwrap_err();
        assert!(err.starts_with("kind: contains a control"), "{err}");
        assert!(is_text_refusal(&text::refusal('\0', Lines::Many)));
        assert!(is_text_refusal(&text::refusal('\u{7}', Lines::One)));
    }
}
