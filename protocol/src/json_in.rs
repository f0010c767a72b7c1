//! awsJson input read straight into our JSON: one pass over the request's
//! text, where the value path parses a wire `Value` and [`from_wire`] then
//! builds a second tree of it member by member (that rebuild was ~7 % of a
//! DynamoDB PutItem, the parse another ~6 %).
//!
//! The contract is equality: when [`read_ours`] gives a value, it is
//! exactly what `serde_json::from_slice::<Value>` then [`from_wire`] give
//! for the text. It walks the text with the same deserializer the parse
//! uses (so it fails on every text the parse fails on), converts each value
//! as `from_wire` would for its shape, and gives up (`None`) on anything
//! else, where the caller takes the value path for its result or its exact
//! error: a value of another kind than its shape's, a timestamp it cannot
//! read, serde_json's reserved raw-value key.
//!
//! [`from_wire`]: crate::json::from_wire

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

use crate::json_text::{Key, Skip, key_hash, write_verbatim};
use crate::model::{Kind, Location, Model, ShapeId};
use crate::scalar::{b64_decode, float_of, short_eq, timestamp_of};
use crate::timestamp;

/// Our JSON of the wire JSON `text` in shape `id`, or `None` where only the
/// value path can say (see the module docs). A `null` text reads as `Null`.
pub(crate) fn read_ours(m: &Model, id: ShapeId, text: &[u8]) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(whole_utf8(text)?);
    let v = Ours { m, id }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// The request's text checked as UTF-8 once, natively eight bytes a step
/// while it is ASCII: read from bytes, serde_json checked each string on
/// its own (~5 k instructions of a ten-entry PutEvents). Not UTF-8: the
/// value path says why (a string's bytes, or a syntax error elsewhere).
fn whole_utf8(text: &[u8]) -> Option<&str> {
    std::str::from_utf8(text).ok()
}

/// Reads one value of shape `id` (a `null` reads as `Null` whatever the
/// shape: the container decides, as `from_wire` does).
struct Ours<'m> {
    m: &'m Model,
    id: ShapeId,
}

fn give_up<E: de::Error>() -> E {
    E::custom("not for one pass")
}

impl Ours<'_> {
    fn kind(&self) -> Kind {
        self.m.shape(self.id).kind
    }

    /// A number, converted as `from_wire` converts the parsed one.
    fn number<E: de::Error>(self, v: Value) -> Result<Value, E> {
        match self.kind() {
            Kind::Document => Ok(v),
            k if k.is_float() => Ok(v),
            k if k.is_integer() => match &v {
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v),
                Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                    Ok(Value::from(n.as_f64().unwrap_or(0.0) as i64))
                }
                _ => Err(give_up()),
            },
            Kind::Timestamp => self.timestamp(&v),
            _ => Err(give_up()),
        }
    }

    /// Any format a timestamp's text may have, as `from_wire` reads it.
    fn timestamp<E: de::Error>(&self, v: &Value) -> Result<Value, E> {
        timestamp_of(v)
            .map(timestamp::epoch_number)
            .ok_or_else(give_up)
    }
}

impl<'de> DeserializeSeed<'de> for Ours<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Ours<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        match self.kind() {
            Kind::Boolean | Kind::Document => Ok(Value::Bool(v)),
            _ => Err(give_up()),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.number(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.number(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // The parse's own conversion (a non-finite number is `null`).
        self.number(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        match self.kind() {
            Kind::String | Kind::Blob | Kind::Document => Ok(Value::from(v)),
            k if k.is_float() && matches!(v, "NaN" | "Infinity" | "-Infinity") => {
                Ok(Value::from(v))
            }
            Kind::Timestamp => self.timestamp(&Value::from(v)),
            _ => Err(give_up()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let shape = self.m.shape(self.id);
        match shape.kind {
            Kind::List => {
                let member = shape.member.as_deref().expect("resolved list");
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element_seed(Ours {
                    m: self.m,
                    id: member.shape,
                })? {
                    out.push(item);
                }
                Ok(Value::Array(out))
            }
            Kind::Document => Value::deserialize(de::value::SeqAccessDeserializer::new(seq)),
            _ => Err(give_up()),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let shape = self.m.shape(self.id);
        match shape.kind {
            Kind::Structure => {
                // Members by their index in the model: `from_wire` writes
                // them in model order, the last of a repeated key winning.
                let mut members: Vec<(usize, Value)> = Vec::new();
                while let Some(key) = map.next_key_seed(Key)? {
                    let Some(i) = shape.members.iter().position(|mm| {
                        mm.location == Location::Body
                            && short_eq(mm.wire_name().as_bytes(), key.as_bytes())
                    }) else {
                        map.next_value_seed(Skip)?;
                        continue;
                    };
                    let member = &shape.members[i];
                    let v = map.next_value_seed(Ours {
                        m: self.m,
                        id: member.shape,
                    })?;
                    let at = members.iter().position(|(j, _)| *j == i);
                    match (at, v) {
                        (Some(at), Value::Null) => {
                            members.remove(at);
                        }
                        (Some(at), v) => members[at].1 = v,
                        (None, Value::Null) => {}
                        (None, v) => members.push((i, v)),
                    }
                }
                if !members.is_sorted_by_key(|(i, _)| *i) {
                    members.sort_unstable_by_key(|(i, _)| *i);
                }
                let mut out = Map::with_capacity(members.len());
                for (i, v) in members {
                    out.insert(shape.members[i].name.clone(), v);
                }
                Ok(Value::Object(out))
            }
            Kind::Map => {
                let value = shape.value.as_deref().expect("resolved map");
                let mut out = Map::new();
                while let Some(key) = map.next_key_seed(Key)? {
                    let v = map.next_value_seed(Ours {
                        m: self.m,
                        id: value.shape,
                    })?;
                    // A repeated key keeps its first place and its last
                    // value, as the parse's map does.
                    out.insert(key.into_owned(), v);
                }
                Ok(Value::Object(out))
            }
            Kind::Document => Value::deserialize(de::value::MapAccessDeserializer::new(map)),
            _ => Err(give_up()),
        }
    }
}

/// The text a plugin reads for the wire JSON `text` in shape `id`: what
/// [`read_ours`] then `serde_json::to_string` give, byte for byte, written
/// in the same one pass, when the input also meets every constraint
/// `validate` checks (`open_enums` as there). `None` sends the request to
/// the value path, for its text or its exact error: anything [`read_ours`]
/// gives up on, a constraint not met, a key repeated in an object (the
/// parse keeps one), a structure of more than [`MAX_MEMBERS`] members, a
/// `null` text.
pub(crate) fn write_ours(
    m: &Model,
    id: ShapeId,
    text: &[u8],
    open_enums: &[&str],
) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(whole_utf8(text)?);
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut keys = Vec::new();
    let wrote = Text {
        out: &mut out,
        keys: &mut keys,
        m,
        id,
        open_enums,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    // Everything written came from `&str`s and ASCII.
    wrote.then(|| String::from_utf8(out).ok()).flatten()
}

/// Structures with more members than this are left to the value path (the
/// present-member record is a fixed bitset).
const MAX_MEMBERS: usize = 256;

/// Writes one value of shape `id` as our JSON; yields whether it wrote
/// anything (a `null` is left to the container, as [`Ours`] leaves it).
struct Text<'a, 'm> {
    out: &'a mut Vec<u8>,
    /// Key hashes of the maps being written, innermost last.
    keys: &'a mut Vec<u64>,
    m: &'m Model,
    id: ShapeId,
    open_enums: &'a [&'a str],
}

impl<'m> Text<'_, 'm> {
    fn child(&mut self, id: ShapeId) -> Text<'_, 'm> {
        Text {
            out: &mut *self.out,
            keys: &mut *self.keys,
            m: self.m,
            id,
            open_enums: self.open_enums,
        }
    }

    fn ours(&self) -> Ours<'m> {
        Ours {
            m: self.m,
            id: self.id,
        }
    }

    /// A length within the shape's `min`/`max`.
    fn len_ok(&self, len: usize) -> bool {
        let shape = self.m.shape(self.id);
        shape.min.is_none_or(|min| len as f64 >= min)
            && shape.max.is_none_or(|max| len as f64 <= max)
    }

    /// A converted scalar, checked and written.
    fn scalar<E: de::Error>(self, v: Value) -> Result<bool, E> {
        let shape = self.m.shape(self.id);
        let ok = match shape.kind {
            // As `validate` compares (a NaN is within any range).
            k if k.is_integer() || k.is_float() => float_of(&v).is_none_or(|f| {
                let below = shape.min.is_some_and(|min| f < min);
                let above = shape.max.is_some_and(|max| f > max);
                !below && !above
            }),
            _ => true,
        };
        if !ok {
            return Err(give_up());
        }
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(true)
    }

    /// A string of a string, blob or document shape, checked; `verbatim`
    /// when the text held it without escapes.
    fn string<E: de::Error>(self, s: &str, verbatim: bool) -> Result<bool, E> {
        let shape = self.m.shape(self.id);
        match shape.kind {
            Kind::String => {
                if let Some(values) = &shape.enum_values
                    && !values.iter().any(|e| e == s)
                    && !self.open_enums.contains(&shape.name.as_str())
                {
                    return Err(give_up());
                }
                if (shape.min.is_some() || shape.max.is_some()) && !self.len_ok(s.chars().count()) {
                    return Err(give_up());
                }
            }
            Kind::Blob if shape.min.is_some() || shape.max.is_some() => {
                if let Some(bytes) = b64_decode(s)
                    && !self.len_ok(bytes.len())
                {
                    return Err(give_up());
                }
            }
            Kind::Blob | Kind::Document => {}
            // Converted (a timestamp, a float's `NaN`): as `Ours` does.
            _ => {
                let v = self.ours().visit_str(s)?;
                return self.scalar(v);
            }
        }
        if verbatim {
            write_verbatim(self.out, s);
        } else {
            let _ = serde_json::to_writer(&mut *self.out, s);
        }
        Ok(true)
    }
}

impl<'de> DeserializeSeed<'de> for Text<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        let v = self.ours().visit_bool(v)?;
        self.scalar(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        let v = self.ours().visit_i64(v)?;
        self.scalar(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        let v = self.ours().visit_u64(v)?;
        self.scalar(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        let v = self.ours().visit_f64(v)?;
        self.scalar(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.string(v, false)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<bool, E> {
        self.string(v, true)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<bool, A::Error> {
        let shape = self.m.shape(self.id);
        if shape.kind != Kind::List {
            let v = self.ours().visit_seq(seq)?;
            return self.scalar(v);
        }
        let member = shape.member.as_deref().expect("resolved list");
        self.out.push(b'[');
        let mut n = 0;
        loop {
            let mark = self.out.len();
            if n > 0 {
                self.out.push(b',');
            }
            match seq.next_element_seed(self.child(member.shape))? {
                None => {
                    self.out.truncate(mark);
                    break;
                }
                Some(false) => self.out.extend_from_slice(b"null"),
                Some(true) => {}
            }
            n += 1;
        }
        self.out.push(b']');
        if !self.len_ok(n) {
            return Err(give_up());
        }
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<bool, A::Error> {
        let shape = self.m.shape(self.id);
        match shape.kind {
            Kind::Structure => {
                if shape.members.len() > MAX_MEMBERS {
                    return Err(give_up());
                }
                let mut seen = [0u64; MAX_MEMBERS / 64];
                // Each member is written as `,"name":value`; the first
                // comma becomes the `{`. Where: (member index, start).
                let start = self.out.len();
                let mut written: Vec<(usize, usize)> = Vec::new();
                while let Some(key) = map.next_key_seed(Key)? {
                    let Some(i) = shape.members.iter().position(|mm| {
                        mm.location == Location::Body
                            && short_eq(mm.wire_name().as_bytes(), key.as_bytes())
                    }) else {
                        map.next_value_seed(Skip)?;
                        continue;
                    };
                    let (word, bit) = (i / 64, 1u64 << (i % 64));
                    if seen[word] & bit != 0 {
                        return Err(give_up());
                    }
                    seen[word] |= bit;
                    let member = &shape.members[i];
                    let mark = self.out.len();
                    self.out.extend_from_slice(b",\"");
                    // Member names are model identifiers: nothing to escape.
                    self.out.extend_from_slice(member.name.as_bytes());
                    self.out.extend_from_slice(b"\":");
                    if map.next_value_seed(self.child(member.shape))? {
                        written.push((i, mark));
                    } else {
                        self.out.truncate(mark);
                        seen[word] &= !bit;
                    }
                }
                // Every required member present (and not null).
                for (i, member) in shape.members.iter().enumerate() {
                    if member.required
                        && !member.idempotency_token
                        && !member.streaming
                        && !self.m.shape(member.shape).streaming
                        && seen[i / 64] & (1u64 << (i % 64)) == 0
                    {
                        return Err(give_up());
                    }
                }
                if written.is_empty() {
                    self.out.extend_from_slice(b"{}");
                    return Ok(true);
                }
                // In the model's order, as `from_wire` builds the object.
                if !written.is_sorted_by_key(|w| w.0) {
                    let region = self.out.split_off(start);
                    let mut by_member: Vec<(usize, &[u8])> = written
                        .iter()
                        .enumerate()
                        .map(|(n, &(i, at))| {
                            let end = written.get(n + 1).map_or(region.len(), |w| w.1 - start);
                            (i, &region[at - start..end])
                        })
                        .collect();
                    by_member.sort_unstable_by_key(|w| w.0);
                    for (_, piece) in by_member {
                        self.out.extend_from_slice(piece);
                    }
                }
                self.out[start] = b'{';
                self.out.push(b'}');
                Ok(true)
            }
            Kind::Map => {
                let value = shape.value.as_deref().expect("resolved map");
                let base = self.keys.len();
                self.out.push(b'{');
                let mut n = 0;
                while let Some(key) = map.next_key_seed(Key)? {
                    self.keys.push(key_hash(&key));
                    if n > 0 {
                        self.out.push(b',');
                    }
                    n += 1;
                    match &key {
                        Cow::Borrowed(k) => write_verbatim(self.out, k),
                        Cow::Owned(k) => {
                            let _ = serde_json::to_writer(&mut *self.out, k);
                        }
                    }
                    self.out.push(b':');
                    if !map.next_value_seed(self.child(value.shape))? {
                        self.out.extend_from_slice(b"null");
                    }
                }
                // A repeated key (or two keys of one hash: rare, and only
                // costs the value path) leaves the parse fewer entries.
                let own = &mut self.keys[base..];
                own.sort_unstable();
                let repeated = own.windows(2).any(|w| w[0] == w[1]);
                self.keys.truncate(base);
                if repeated || !self.len_ok(n) {
                    return Err(give_up());
                }
                self.out.push(b'}');
                Ok(true)
            }
            _ => {
                let v = self.ours().visit_map(map)?;
                self.scalar(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceModel;
    use crate::json::from_wire;
    use crate::test_support::JSON_SHAPES;

    /// The value path: parse, then `from_wire`.
    fn by_value(m: &Model, id: ShapeId, text: &str) -> Option<Value> {
        let v: Value = serde_json::from_str(text).ok()?;
        if v.is_null() {
            return Some(Value::Null);
        }
        from_wire(m, id, None, v, "input").ok()
    }

    fn model() -> ServiceModel {
        let top = r#"{
  "metadata": {"protocol": "json", "jsonVersion": "1.0", "targetPrefix": "Svc", "apiVersion": "x", "endpointPrefix": "svc"},
  "operations": {"Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "In"}}},
  "shapes": {
    "In": {"type": "structure", "members": {
      "Items": {"shape": "Items"},
      "Count": {"shape": "Int"},
      "Renamed": {"shape": "Str", "locationName": "wireName"},
      "When": {"shape": "Ts"},
      "Ratio": {"shape": "Dbl"},
      "Data": {"shape": "Blob"},
      "Doc": {"shape": "Doc"},
      "Header": {"shape": "Str", "location": "header", "locationName": "x-h"},
      "Nested": {"shape": "In"},
      "Flag": {"shape": "Bool"},
      "Tags": {"shape": "Tags"},
      "Checked": {"shape": "Checked"}
    }},
    "Checked": {"type": "structure", "required": ["Name", "Token"], "members": {
      "Name": {"shape": "Name"},
      "Token": {"shape": "Str", "idempotencyToken": true},
      "Mode": {"shape": "Mode"},
      "Open": {"shape": "OpenEnum"},
      "Few": {"shape": "Few"},
      "Small": {"shape": "Small"},
      "Bytes": {"shape": "TwoBytes"},
      "Labels": {"shape": "Labels"}
    }},
    "Name": {"type": "string", "min": 2, "max": 4},
    "Mode": {"type": "string", "enum": ["ON", "OFF"]},
    "OpenEnum": {"type": "string", "enum": ["A"]},
    "Few": {"type": "list", "member": {"shape": "Str"}, "max": 2},
    "Small": {"type": "integer", "min": 1, "max": 10},
    "TwoBytes": {"type": "blob", "max": 2},
    "Labels": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}, "min": 1},
    "Tags": {"type": "list", "member": {"shape": "Int"}},"#;
        ServiceModel::from_json(&[top, JSON_SHAPES, "\n  }\n}"].concat()).expect("model")
    }

    /// Every text either reads to the value path's value, text for text
    /// (key order included), or is left to that path; `expect_one_pass`
    /// says which.
    fn check(text: &str, expect_one_pass: bool) {
        let sm = model();
        let id = sm.operation("Put").unwrap().input.as_ref().unwrap().shape;
        let ours = read_ours(&sm.model, id, text.as_bytes());
        if let Some(v) = &ours {
            let want = by_value(&sm.model, id, text).expect("the value path reads it too");
            assert_eq!(
                serde_json::to_string(v).unwrap(),
                serde_json::to_string(&want).unwrap(),
                "{text}"
            );
        }
        assert_eq!(ours.is_some(), expect_one_pass, "{text}");
    }

    /// The value path's text: parse, `from_wire`, validate, print.
    fn text_by_value(m: &Model, id: ShapeId, text: &str) -> Option<String> {
        let v = by_value(m, id, text).filter(|v| !v.is_null())?;
        crate::validate::validate(m, id, &v, crate::Protocol::Json, OPEN).ok()?;
        Some(serde_json::to_string(&v).unwrap())
    }

    const OPEN: &[&str] = &["OpenEnum"];

    /// [`write_ours`] writes the value path's text, byte for byte, or
    /// leaves the text to it; `expect_one_pass` says which.
    fn check_text(text: &str, expect_one_pass: bool) {
        let sm = model();
        let id = sm.operation("Put").unwrap().input.as_ref().unwrap().shape;
        let ours = write_ours(&sm.model, id, text.as_bytes(), OPEN);
        if let Some(t) = &ours {
            assert_eq!(
                Some(t),
                text_by_value(&sm.model, id, text).as_ref(),
                "{text}"
            );
        }
        assert_eq!(ours.is_some(), expect_one_pass, "{text}");
    }

    const READ_IN_ONE_PASS: &[&str] = &[
        r#"{}"#,
        r#"{"Count": 3, "wireName": "x", "Flag": true, "Ratio": 1.5}"#,
        // Model order whatever the wire order; unknown members dropped.
        r#"{"Flag": false, "Unknown": {"a": [1, 2e3, null]}, "Count": 1}"#,
        r#"{"Tags": [1], "Nested": {"Flag": true, "Count": 2}, "Items": [], "Count": 0}"#,
        // A whole float for an integer; NaN for a double.
        r#"{"Count": 4.0, "Ratio": "NaN"}"#,
        // Timestamps as epoch numbers, ISO and HTTP dates.
        r#"{"When": 1700000000.5}"#,
        r#"{"When": "2024-01-02T03:04:05Z"}"#,
        // Nulls: dropped from a structure, kept in a list and a map.
        r#"{"Count": null, "Items": [null, {"a": null, "b": {"S": "x"}}]}"#,
        r#"{"Count": null, "Flag": true, "Count": 2}"#,
        // A non-body member's wire name is not a body member.
        r#"{"x-h": "no", "Header": "no"}"#,
        // Documents pass through.
        r#"{"Doc": {"z": 1, "a": [true, "s", 1.25, null, {"b": {}}]}}"#,
        r#"{"Nested": {"Nested": {"Items": [{"a": {"L": [{"M": {"x": {"BOOL": true}}}]}}]}}}"#,
        r#"{"Data": "aGVsbG8=", "wireName": "esc\"aped\u00e9\n\/"}"#,
        r#"{"Items": [{"k\u00e9y": {"S": "1"}}]}"#,
        r#"{"Tags": [1, 2, 3.0, null]}"#,
        "  {\"Count\": 1}  ",
        // Constraints met (the idempotency token may be left out).
        r#"{"Checked": {"Name": "abc", "Mode": "ON", "Open": "B", "Few": ["a", "b"], "Small": 10, "Bytes": "aGk=", "Labels": {"a": "b"}}}"#,
        r#"{"Checked": {"Name": "\u00e9\u00e9\u00e9\u00e9", "Token": "t"}}"#,
    ];

    #[test]
    fn the_same_text_as_the_value_path() {
        for text in READ_IN_ONE_PASS {
            check_text(text, true);
        }
        for text in [
            // Repeated keys: the parse keeps one.
            r#"{"Count": 1, "Flag": true, "Count": 2}"#,
            r#"{"Items": [{"k": {"S": "1"}, "k": {"S": "3"}}]}"#,
            // A null text, and errors of the value path.
            "null",
            r#"{"Count": "3"}"#,
            r#"{"Unknown": 1e999}"#,
            // Constraints not met: the value path words them.
            r#"{"Checked": {}}"#,
            r#"{"Checked": {"Name": null}}"#,
            r#"{"Checked": {"Name": "a"}}"#,
            r#"{"Checked": {"Name": "abcde"}}"#,
            r#"{"Checked": {"Name": "ab", "Mode": "MAYBE"}}"#,
            r#"{"Checked": {"Name": "ab", "Few": ["a", "b", "c"]}}"#,
            r#"{"Checked": {"Name": "ab", "Small": 0}}"#,
            r#"{"Checked": {"Name": "ab", "Small": 11.0}}"#,
            r#"{"Checked": {"Name": "ab", "Bytes": "aGV5"}}"#,
            r#"{"Checked": {"Name": "ab", "Labels": {}}}"#,
        ] {
            check_text(text, false);
        }
    }

    #[test]
    fn same_value_as_the_value_path() {
        for text in [
            r#"{}"#,
            "null",
            r#"{"Count": 3, "wireName": "x", "Flag": true, "Ratio": 1.5}"#,
            // Model order whatever the wire order; unknown members dropped.
            r#"{"Flag": false, "Unknown": {"a": [1, 2e3, null]}, "Count": 1}"#,
            // A whole float for an integer; NaN for a double.
            r#"{"Count": 4.0, "Ratio": "NaN"}"#,
            // Timestamps as epoch numbers, ISO and HTTP dates.
            r#"{"When": 1700000000.5}"#,
            r#"{"When": "2024-01-02T03:04:05Z"}"#,
            // Nulls: dropped from a structure, kept in a list and a map.
            r#"{"Count": null, "Items": [null, {"a": null, "b": {"S": "x"}}]}"#,
            // A repeated key: model order, last value; a last null drops it.
            r#"{"Count": 1, "Flag": true, "Count": 2}"#,
            r#"{"Count": 1, "Count": null}"#,
            r#"{"Items": [{"k": {"S": "1"}, "j": {"N": "2"}, "k": {"S": "3"}}]}"#,
            // A non-body member's wire name is not a body member.
            r#"{"x-h": "no", "Header": "no"}"#,
            // Documents pass through.
            r#"{"Doc": {"z": 1, "a": [true, "s", 1.25, null, {"b": {}}]}}"#,
            r#"{"Nested": {"Nested": {"Items": [{"a": {"L": [{"M": {"x": {"BOOL": true}}}]}}]}}}"#,
            r#"{"Data": "aGVsbG8=", "wireName": "esc\"aped\u00e9\n"}"#,
            r#"{"Tags": [1, 2, 3.0, null]}"#,
            "  {\"Count\": 1}  ",
        ] {
            check(text, true);
        }
    }

    #[test]
    fn a_text_not_utf8_is_left_to_the_value_path() {
        let sm = model();
        let id = sm.operation("Put").unwrap().input.as_ref().unwrap().shape;
        for body in [&b"{\"wireName\": \"caf\xe9\"}"[..], b"{\"Count\": 1}\xff"] {
            assert!(read_ours(&sm.model, id, body).is_none());
            assert!(write_ours(&sm.model, id, body, OPEN).is_none());
            // Where the value path says what is wrong.
            assert!(serde_json::from_slice::<Value>(body).is_err());
        }
        let ascii = br#"{"wireName": "caf\u00e9", "Count": 1}"#;
        assert!(write_ours(&sm.model, id, ascii, OPEN).is_some());
    }

    #[test]
    fn leaves_to_the_value_path_what_it_cannot_promise() {
        for text in [
            // Errors: the value path words them.
            r#"{"Count": "3"}"#,
            r#"{"Count": 1.5}"#,
            r#"{"Flag": 1}"#,
            r#"{"Items": {}}"#,
            r#"{"Tags": [true]}"#,
            r#"{"When": "yesterday"}"#,
            r#"{"Ratio": "1.5"}"#,
            r#"["not", "an", "object"]"#,
            // Not JSON, or not what the parse reads.
            r#"{"Count": 1"#,
            r#"{"Count": 1} x"#,
            r#"{"Unknown": 1e999}"#,
            r#"{"$serde_json::private::RawValue": "1"}"#,
        ] {
            check(text, false);
        }
    }
}
