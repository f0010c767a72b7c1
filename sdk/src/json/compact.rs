//! One JSON value's text, compacted: what parsing it into a `Value` and
//! writing that back gives, without building the `Value`.
//!
//! An EventBridge event's `Detail` is such a text: PutEvents checks it is
//! an object and writes it into the event compacted. A `Value` of even
//! `{"i": 0}` is an ordered map, a hashed key and three allocations
//! (~2.5 k instructions in wasm, most of an entry's envelope); here the
//! parser's tokens go straight to the writer.
//!
//! The one way the two could differ is a key repeated in an object, which
//! a `Value` keeps once (the first key's place, the last value's). On a
//! repeat this goes the `Value` way, so the text is the same for every
//! input.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Result, Writer, write_f64, write_str};

/// Appends the one JSON value of `text`, compacted, to `out`. On an error
/// (not one valid JSON value) `out` is as it was.
pub fn compact_into(out: &mut String, text: &str) -> Result<()> {
    let start = out.len();
    let repeated = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let copied = Copy {
        out: &mut *out,
        repeated: &repeated,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match copied {
        Ok(()) => Ok(()),
        Err(_) if repeated.get() => {
            out.truncate(start);
            let value: serde_json::Value = serde_json::from_str(text)?;
            value.serialize(&mut Writer { out })
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Writes the value the parser reads next; `repeated` is set when an
/// object repeats a key (the copy then stops with an error).
struct Copy<'o, 'r> {
    out: &'o mut String,
    repeated: &'r Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Copy<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Copy<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<(), E> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<(), E> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<(), E> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<(), E> {
        write_f64(self.out, v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<(), E> {
        write_str(self.out, v);
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.out.push_str("null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.out.push('[');
        let mut first = true;
        loop {
            let at = self.out.len();
            if !first {
                self.out.push(',');
            }
            let next = Copy {
                out: &mut *self.out,
                repeated: self.repeated,
            };
            if seq.next_element_seed(next)?.is_none() {
                self.out.truncate(at);
                break;
            }
            first = false;
        }
        self.out.push(']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        self.out.push('{');
        let mut keys = Keys::default();
        let mut first = true;
        while let Some(Key(key)) = map.next_key()? {
            if !keys.insert(key.clone()) {
                self.repeated.set(true);
                return Err(de::Error::custom("a repeated key"));
            }
            if !first {
                self.out.push(',');
            }
            first = false;
            write_str(self.out, &key);
            self.out.push(':');
            map.next_value_seed(Copy {
                out: &mut *self.out,
                repeated: self.repeated,
            })?;
        }
        self.out.push('}');
        Ok(())
    }
}

/// An object's keys so far: compared one by one while there are few,
/// hashed past that.
#[derive(Default)]
struct Keys<'de> {
    few: Vec<Cow<'de, str>>,
    many: HashSet<Cow<'de, str>>,
}

impl<'de> Keys<'de> {
    const FEW: usize = 16;

    /// Whether `key` is new.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if self.few.len() < Self::FEW {
            if self.few.contains(&key) {
                return false;
            }
            self.few.push(key);
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.iter().cloned());
        }
        self.many.insert(key)
    }
}

/// A key borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parse into a `Value` and writing it back gives.
    fn through_value(text: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(serde_json::to_string(&v).unwrap())
    }

    fn compact(text: &str) -> Option<String> {
        let mut out = String::from("kept");
        match compact_into(&mut out, text) {
            Ok(()) => Some(out["kept".len()..].to_string()),
            Err(_) => {
                assert_eq!(out, "kept", "an error leaves the text as it was");
                None
            }
        }
    }

    #[test]
    fn the_same_text_as_through_a_value() {
        let many_keys = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\": {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let many_keys_repeated =
            format!("{}, \"k3\": \"again\"}}", &many_keys[..many_keys.len() - 1]);
        for text in [
            r#"{"i": 0}"#,
            " { \"a\" : [ 1 , 2.50, -3, 1e3, -0, 0.1, 18446744073709551615, 18446744073709551616 ] } ",
            r#"{"s": "quote \" backslash \\ tab \t nl \n \u0001 \u00e9 \u2028 \ud834\udd1e"}"#,
            r#"{"n": null, "t": true, "f": false, "o": {}, "e": [], "deep": {"x": [{"y": [null]}]}}"#,
            r#"{"ke\u0079": 1, "k\"q": 2}"#,
            r#"{"a": 1, "b": 2, "a": 3}"#,
            r#"{"a": {"x": 1, "x": {"y": 2}}, "b": [ {"z": 1, "z": 2} ]}"#,
            r#"{"key": 1, "ke\u0079": 2}"#,
            &many_keys,
            &many_keys_repeated,
            r#"[1, "two", {"three": 3}]"#,
            r#""just a string""#,
            "12",
            "-1.5e-7",
            "null",
            "",
            "{",
            r#"{"a": 1} x"#,
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            "[1, 2",
            "nul",
            r#"{"a": 01}"#,
        ] {
            assert_eq!(compact(text), through_value(text), "{text:?}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_parser_allows_is_an_error() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(compact(&deep), None);
        assert_eq!(through_value(&deep), None);
    }
}
