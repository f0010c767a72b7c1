//! awsJson output written straight from the plugin's JSON text, without
//! building a `serde_json::Value` of it first (the response path is hot: a
//! DynamoDB Query of 100 items is thousands of small maps and strings).
//!
//! The contract is byte equality: when [`write_wire_text`] succeeds, what
//! it wrote is exactly what parsing the text (`serde_json::from_str`) and
//! [`write_wire`] on the value would write. It walks the text with the same
//! deserializer the parse uses (so it fails on every text the parse fails
//! on: syntax, numbers out of range, nesting depth, trailing characters)
//! and only handles the cases whose result it can state in one pass:
//! structures, lists and maps in the shape the model says, and scalars.
//! Anything else in a subtree (a value of another kind than its shape's) is
//! parsed into a `Value` and given to [`write_wire`] itself. It gives up
//! ([`Fallback`]) where one pass cannot know the parse's result: a key
//! repeated in an object (the parse keeps the first place and the last
//! value), serde_json's reserved raw-value key, a structure of more than
//! [`MAX_MEMBERS`] members; the caller then parses and encodes as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::json::write_wire;
use crate::model::{Kind, Model, ShapeId, TsFormat};
use crate::scalar::short_eq;

/// The text path cannot promise the parse's bytes (or the text is not
/// JSON): parse it and encode the value.
#[derive(Debug)]
pub(crate) struct Fallback;

/// Structures with more members than this are left to the value path (the
/// repeated-key check is a fixed bitset).
const MAX_MEMBERS: usize = 256;

/// The key serde_json's `Value` gives a meaning of its own (`raw_value`).
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Writes the wire JSON of our JSON `text` in shape `id` (see the module
/// docs). `out` holds a partial write when this fails.
pub(crate) fn write_wire_text(
    out: &mut Vec<u8>,
    m: &Model,
    id: ShapeId,
    text: &str,
) -> Result<(), Fallback> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut keys = Vec::new();
    let wrote = Wire {
        out: &mut *out,
        keys: &mut keys,
        m,
        id,
        ts: None,
    }
    .deserialize(&mut de)
    .map_err(|_| Fallback)?;
    de.end().map_err(|_| Fallback)?;
    // A null output is encoded as `{}` (crate::encode_response).
    if !wrote {
        write_wire(out, m, id, None, &Value::Object(Default::default()));
    }
    Ok(())
}

/// Checks that `text` is what `serde_json::from_str::<Value>` accepts,
/// without keeping anything.
pub(crate) fn check_text(text: &str) -> Result<(), Fallback> {
    let mut de = serde_json::Deserializer::from_str(text);
    Skip.deserialize(&mut de).map_err(|_| Fallback)?;
    de.end().map_err(|_| Fallback)
}

/// Writes one value in shape `id`; yields whether it wrote anything (a
/// null is left to the container: dropped from a structure, `null` in a
/// list or map).
struct Wire<'a, 'm> {
    out: &'a mut Vec<u8>,
    /// Key hashes of the maps being written, innermost last.
    keys: &'a mut Vec<u64>,
    m: &'m Model,
    id: ShapeId,
    ts: Option<TsFormat>,
}

impl<'m> Wire<'_, 'm> {
    /// The writer of a member's (or an element's) value, into the same text.
    fn child(&mut self, id: ShapeId, ts: Option<TsFormat>) -> Wire<'_, 'm> {
        Wire {
            out: &mut *self.out,
            keys: &mut *self.keys,
            m: self.m,
            id,
            ts,
        }
    }

    fn kind(&self) -> Kind {
        self.m.shape(self.id).kind
    }

    /// A scalar, as [`write_wire`] writes it.
    fn scalar(self, v: Value) -> bool {
        write_wire(self.out, self.m, self.id, self.ts, &v);
        true
    }

    fn string(self, s: &str) -> bool {
        match self.kind() {
            // Converted (crate::json::to_wire): the value path's own code.
            Kind::Timestamp | Kind::Float | Kind::Double | Kind::BigDecimal => {
                self.scalar(Value::from(s))
            }
            _ => {
                let _ = serde_json::to_writer(&mut *self.out, s);
                true
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Wire<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Wire<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
        Ok(self.scalar(Value::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
        Ok(self.scalar(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
        Ok(self.scalar(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
        Ok(self.scalar(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(self.string(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<bool, E> {
        match self.kind() {
            Kind::Timestamp | Kind::Float | Kind::Double | Kind::BigDecimal => Ok(self.string(v)),
            _ => {
                write_verbatim(self.out, v);
                Ok(true)
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<bool, A::Error> {
        let shape = self.m.shape(self.id);
        if shape.kind != Kind::List {
            let v = <Value as serde::Deserialize>::deserialize(
                de::value::SeqAccessDeserializer::new(seq),
            )?;
            return Ok(self.scalar(v));
        }
        let member = shape.member.as_deref().expect("resolved list");
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = self.child(member.shape, member.timestamp_format);
            match seq.next_element_seed(item)? {
                None => {
                    self.out.truncate(mark);
                    break;
                }
                Some(false) => self.out.extend_from_slice(b"null"),
                Some(true) => {}
            }
            first = false;
        }
        self.out.push(b']');
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        let shape = self.m.shape(self.id);
        match shape.kind {
            Kind::Structure => {
                if shape.members.len() > MAX_MEMBERS {
                    return Err(de::Error::custom("too many members"));
                }
                let mut seen = [0u64; MAX_MEMBERS / 64];
                self.out.push(b'{');
                let mut first = true;
                while let Some(key) = map.next_key_seed(Key)? {
                    let Some(i) = shape
                        .members
                        .iter()
                        .position(|mm| short_eq(mm.name.as_bytes(), key.as_bytes()))
                    else {
                        map.next_value_seed(Skip)?;
                        continue;
                    };
                    let (word, bit) = (i / 64, 1u64 << (i % 64));
                    if seen[word] & bit != 0 {
                        return Err(de::Error::custom("repeated key"));
                    }
                    seen[word] |= bit;
                    let member = &shape.members[i];
                    if !member.location.in_output_body() {
                        map.next_value_seed(Skip)?;
                        continue;
                    }
                    let mark = self.out.len();
                    if !first {
                        self.out.push(b',');
                    }
                    let _ = serde_json::to_writer(&mut *self.out, member.wire_name());
                    self.out.push(b':');
                    let value = self.child(member.shape, member.timestamp_format);
                    if map.next_value_seed(value)? {
                        first = false;
                    } else {
                        self.out.truncate(mark);
                    }
                }
                self.out.push(b'}');
                Ok(true)
            }
            Kind::Map => {
                let value = shape.value.as_deref().expect("resolved map");
                let base = self.keys.len();
                self.out.push(b'{');
                let mut first = true;
                while let Some(key) = map.next_key_seed(Key)? {
                    self.keys.push(key_hash(&key));
                    if !first {
                        self.out.push(b',');
                    }
                    first = false;
                    match &key {
                        Cow::Borrowed(k) => write_verbatim(self.out, k),
                        Cow::Owned(k) => {
                            let _ = serde_json::to_writer(&mut *self.out, k);
                        }
                    }
                    self.out.push(b':');
                    let item = self.child(value.shape, value.timestamp_format);
                    if !map.next_value_seed(item)? {
                        self.out.extend_from_slice(b"null");
                    }
                }
                // A repeated key (or two keys of one hash: rare, and
                // only costs the value path).
                let own = &mut self.keys[base..];
                own.sort_unstable();
                let repeated = own.windows(2).any(|w| w[0] == w[1]);
                self.keys.truncate(base);
                if repeated {
                    return Err(de::Error::custom("repeated key"));
                }
                self.out.push(b'}');
                Ok(true)
            }
            _ => {
                let v = <Value as serde::Deserialize>::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(self.scalar(v))
            }
        }
    }
}

/// An object key, borrowed from the text when it has no escapes. The
/// raw-value key gives up (the value path reads its value as JSON text).
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v == RAW_VALUE_KEY {
            return Err(E::custom("raw value key"));
        }
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == RAW_VALUE_KEY {
            return Err(E::custom("raw value key"));
        }
        Ok(Cow::Owned(v.to_string()))
    }
}

/// A value read and dropped, failing where the parse into a `Value` fails
/// (numbers are read as numbers: `1e999` is out of range for both).
pub(crate) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Key)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// A string the deserializer borrowed from the text: it had no escape
/// sequence, and JSON text holds no unescaped `"`, `\\` or control
/// character, which are all serde_json's writer escapes; so its quoted
/// text is what that writer would write.
pub(crate) fn write_verbatim(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// FNV-1a of a map key (equal keys, equal hashes; a collision only sends
/// the text to the value path).
pub(crate) fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceModel;
    use crate::test_support::JSON_SHAPES;

    /// The value path's bytes: parse, then write_wire (null → `{}`).
    fn by_value(m: &Model, id: ShapeId, text: &str) -> Option<Vec<u8>> {
        let v: Value = serde_json::from_str(text).ok()?;
        let v = if v.is_null() {
            Value::Object(Default::default())
        } else {
            v
        };
        let mut out = Vec::new();
        write_wire(&mut out, m, id, None, &v);
        Some(out)
    }

    fn by_text(m: &Model, id: ShapeId, text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        write_wire_text(&mut out, m, id, text).ok()?;
        Some(out)
    }

    fn model() -> ServiceModel {
        let top = r#"{

  "metadata": {"protocol": "json", "jsonVersion": "1.0", "targetPrefix": "Svc", "apiVersion": "x", "endpointPrefix": "svc"},
  "operations": {"Get": {"name": "Get", "http": {"method": "POST", "requestUri": "/"}, "output": {"shape": "Out"}}},
  "shapes": {
    "Out": {"type": "structure", "members": {
      "Items": {"shape": "Items"},
      "Count": {"shape": "Int"},
      "Renamed": {"shape": "Str", "locationName": "wireName"},
      "When": {"shape": "Ts"},
      "WhenIso": {"shape": "Ts", "timestampFormat": "iso8601"},
      "Ratio": {"shape": "Dbl"},
      "Data": {"shape": "Blob"},
      "Doc": {"shape": "Doc"},
      "Header": {"shape": "Str", "location": "header", "locationName": "x-h"},
      "Nested": {"shape": "Out"},
      "Flag": {"shape": "Bool"}
    }},"#;
        ServiceModel::from_json(&[top, JSON_SHAPES, "\n  }\n}"].concat()).expect("model")
    }

    fn out_shape(sm: &ServiceModel) -> ShapeId {
        sm.operation("Get").unwrap().output.as_ref().unwrap().shape
    }

    /// Every text either goes through with the value path's bytes, or
    /// falls back; `expect_text` says which.
    fn check(text: &str, expect_text: bool) {
        let sm = model();
        let (m, id) = (&*sm.model, out_shape(&sm));
        let text_bytes = by_text(m, id, text);
        assert_eq!(
            text_bytes.is_some(),
            expect_text,
            "text path for {text}: {:?}",
            text_bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        );
        if let Some(bytes) = text_bytes {
            let value_bytes = by_value(m, id, text).expect("the value path accepts it");
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&value_bytes),
                "for {text}"
            );
        }
    }

    #[test]
    fn same_bytes_as_the_value_path() {
        for text in [
            "{}",
            "null",
            " {} ",
            r#"{"Count": 3, "Items": []}"#,
            r#"{"Items":[{"pk":{"S":"a"},"n":{"N":"1.50"},"l":{"L":[{"S":"x"},{"NULL":true}]},"m":{"M":{"k":{"BOOL":false}}}}],"Count":1}"#,
            r#"{"Renamed": "x", "Header": "dropped", "Unknown": {"deep": [1, 2, {"x": null}]}}"#,
            r#"{"When": 1700000000, "WhenIso": 1700000000.5, "Ratio": "NaN", "Count": null}"#,
            r#"{"When": "2024-01-02T03:04:05Z", "Ratio": 1.5e3, "Data": "AAEC"}"#,
            r#"{"Ratio": "Infinity", "Count": -7, "Flag": true}"#,
            r#"{"Ratio": 12345678901234567890123, "Count": 18446744073709551615}"#,
            r#"{"Doc": {"a": [1, null, {"b": "c"}], "d": null}}"#,
            r#"{"Nested": {"Nested": {"Count": 1, "Renamed": "\u00e9\n\"q\""}}}"#,
            // Strings with no escapes, written as they are: non-ASCII, DEL, `/`.
            "{\"Renamed\": \"é / \u{7f} 😀 '\", \"Items\": [{\"ké/\u{7f}\": {\"S\": \"x/y\"}}]}",
            r#"{"Items": [null, {"k": null}, {"\u006b": {"S": "\ud83d\ude00"}}]}"#,
            // Values of another kind than their shape's.
            r#"{"Items": {"not": "a list"}, "Count": "7", "Nested": [1, 2]}"#,
            r#"{"Items": [[1], "s", 2]}"#,
            r#"{"When": {"x": 1}, "WhenIso": [1]}"#,
            r#"{"Count": 1, "Unknown": 1, "Unknown": 2}"#,
            // A subtree of another kind goes through Value's own parse.
            r#"{"Count": {"$serde_json::private::RawValue": "1"}}"#,
        ] {
            check(text, true);
        }
    }

    #[test]
    fn gives_up_where_one_pass_cannot_promise_the_bytes() {
        for text in [
            // Not JSON, or not what the parse accepts.
            "",
            "{",
            "{} x",
            r#"{"Count": 1e999}"#,
            r#"{"Unknown": 1e999}"#,
            r#"{"Unknown": [1,]}"#,
            // Repeated keys: the parse keeps the first place, the last value.
            r#"{"Count": 1, "Count": null}"#,
            r#"{"Items": [{"a": {"S": "1"}, "a": {"S": "2"}}]}"#,
            // serde_json's raw-value key.
            r#"{"$serde_json::private::RawValue": "{}"}"#,
        ] {
            check(text, false);
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        check(&format!(r#"{{"Unknown": {deep}}}"#), false);
        check(&format!(r#"{{"Doc": {deep}}}"#), false);
    }

    #[test]
    fn check_text_accepts_what_the_parse_accepts() {
        for text in ["{}", "null", "[1, {\"a\": 2.5}]", " \"s\" "] {
            assert!(check_text(text).is_ok(), "{text}");
        }
        for text in ["", "{", "1e999", "{\"a\":1} x"] {
            assert!(check_text(text).is_err(), "{text}");
        }
    }
}
