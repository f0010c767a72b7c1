//! An XML output's members written from the plugin's JSON text, without a
//! `Value` of the whole output (the query protocol; json_text.rs does the
//! same for awsJson).
//!
//! The contract is equality: when [`write_members_text`] writes, the bytes
//! are what `serde_json::from_str::<Value>` then [`write_members`] give.
//! Only the top structure is streamed: its members arrive in the model's
//! order (plugins serialize them so), a string leaf is written from the
//! text itself, and any other member's value is read into a `Value` and
//! written by the value path's own code ([`write_member`]). It gives up
//! ([`Fallback`]) where one pass cannot promise the value path's bytes: a
//! member out of the model's order or repeated (the value path writes in
//! the model's order; the parse keeps a repeated key's first place and
//! last value), a top value that is neither an object nor `null`, a text
//! the parse refuses, serde_json's reserved raw-value key.
//!
//! [`write_members`]: crate::xml::write_members

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::json_text::{Fallback, Key, Skip};
use crate::model::{Kind, Member, Model, Shape, ShapeId};
use crate::scalar::short_eq;
use crate::xml::{Writer, member_element_name, write_member, write_string_leaf};

/// Writes the members of the structure `id` held in `text`, as
/// [`crate::xml::write_members`] writes them from the parsed value (see the
/// module docs). `w` holds a partial write when this fails.
pub(crate) fn write_members_text(
    w: &mut Writer,
    m: &Model,
    id: ShapeId,
    text: &str,
) -> Result<(), Fallback> {
    let shape = m.shape(id);
    // Attributes come from values the text has not given yet.
    if shape.kind != Kind::Structure || shape.has_xml_attributes {
        return Err(Fallback);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    Members { w, m, shape }
        .deserialize(&mut de)
        .map_err(|_| Fallback)?;
    de.end().map_err(|_| Fallback)
}

/// The top structure: its members in order, each to its element.
struct Members<'a, 'm> {
    w: &'a mut Writer,
    m: &'m Model,
    shape: &'m Shape,
}

impl<'de> DeserializeSeed<'de> for Members<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Members<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    /// A `null` output is an empty one.
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let members = &self.shape.members;
        // The first member a key may still name.
        let mut next = 0;
        while let Some(key) = map.next_key_seed(Key)? {
            let found = members
                .iter()
                .position(|mm| short_eq(mm.name.as_bytes(), key.as_bytes()));
            match found {
                None => map.next_value_seed(Skip)?,
                Some(i) if i < next => return Err(de::Error::custom("member out of order")),
                Some(i) => {
                    next = i + 1;
                    let member = &members[i];
                    let target = self.m.shape(member.shape);
                    map.next_value_seed(Element {
                        w: &mut *self.w,
                        m: self.m,
                        member,
                        target,
                        name: member_element_name(target, member),
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// One member's value, written as its element (nothing for `null`).
struct Element<'a, 'm> {
    w: &'a mut Writer,
    m: &'m Model,
    member: &'m Member,
    target: &'m Shape,
    name: &'m str,
}

impl Element<'_, '_> {
    fn value(self, v: Value) {
        if !v.is_null() {
            write_member(self.w, self.m, self.member, self.target, self.name, &v);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Element<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.value(Value::from(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.value(Value::from(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.value(Value::from(v));
        Ok(())
    }

    /// As the parse reads it: a float no `Number` holds is `null`.
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.value(Value::from(v));
        Ok(())
    }

    /// A plain string leaf from the text (the value path's own writer);
    /// any other shape through the value path's code.
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        if !write_string_leaf(self.w, self.member, self.target, self.name, v) {
            self.value(Value::from(v));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.value(v);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.value(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::ServiceModel;
    use crate::query::{encode_output, encode_output_text};
    use crate::{HttpResponse, ResponseBody};
    use serde_json::Value;

    /// A query model: strings (one namespaced), an integer, a timestamp, a
    /// nested structure, lists (wrapped and flattened), a map, a boolean,
    /// a double; `Attr` has an XML attribute.
    fn model() -> ServiceModel {
        ServiceModel::from_json(
            r#"{
  "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "endpointPrefix": "svc",
               "xmlNamespace": "https://svc.amazonaws.com/doc/2020-01-01/"},
  "operations": {
    "Get": {"name": "Get", "http": {"method": "POST", "requestUri": "/"},
            "output": {"shape": "Out", "resultWrapper": "GetResult"}},
    "Attr": {"name": "Attr", "http": {"method": "POST", "requestUri": "/"},
             "output": {"shape": "WithAttr"}},
    "Nothing": {"name": "Nothing", "http": {"method": "POST", "requestUri": "/"}}
  },
  "shapes": {
    "Out": {"type": "structure", "members": {
      "Name": {"shape": "Str"},
      "Count": {"shape": "Int"},
      "When": {"shape": "Ts"},
      "Ns": {"shape": "Str", "xmlNamespace": {"uri": "urn:x"}},
      "Inner": {"shape": "Inner"},
      "Items": {"shape": "StrList"},
      "Flat": {"shape": "StrList", "flattened": true},
      "Tags": {"shape": "Tags"},
      "Renamed": {"shape": "Str", "locationName": "Other"},
      "Flag": {"shape": "Bool"},
      "Ratio": {"shape": "Dbl"}
    }},
    "WithAttr": {"type": "structure", "members": {
      "Id": {"shape": "Str", "xmlAttribute": true, "locationName": "id"},
      "Name": {"shape": "Str"}
    }},
    "Inner": {"type": "structure", "members": {"Arn": {"shape": "Str"}}},
    "StrList": {"type": "list", "member": {"shape": "Str"}},
    "Tags": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
    "Str": {"type": "string"},
    "Int": {"type": "integer"},
    "Bool": {"type": "boolean"},
    "Dbl": {"type": "double"},
    "Ts": {"type": "timestamp"}
  }
}"#,
        )
        .expect("model")
    }

    fn body(r: HttpResponse) -> String {
        match r.body {
            ResponseBody::Bytes(b) => String::from_utf8(b).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    /// The value path's response: parse, then encode (`null` as `{}`).
    fn by_value(sm: &ServiceModel, op: &str, text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        let v = if v.is_null() {
            Value::Object(Default::default())
        } else {
            v
        };
        let op = sm.operation(op).unwrap();
        body(encode_output(sm, op, &v, "req-1").unwrap())
    }

    fn by_text(sm: &ServiceModel, op: &str, text: &str) -> Option<String> {
        let op = sm.operation(op).unwrap();
        encode_output_text(sm, op, text, "req-1").map(body)
    }

    #[test]
    fn the_same_bytes_as_the_value_path() {
        let sm = model();
        for text in [
            r#"{"Name": "a<b&c", "Count": 3, "When": 1700000000.5}"#,
            r#"{"Name": "\u0041\n\"q\"", "Ns": "x", "Inner": {"Arn": "arn:aws:x"}}"#,
            r#"{"Items": ["a", null, "b"], "Flat": ["c", "d"], "Tags": {"k": "v", "k2": null}}"#,
            r#"{"Name": null, "Count": -1, "Renamed": "r", "Flag": true, "Ratio": 0.25}"#,
            r#"{"Extra": 1, "Name": "n", "Another": [1, {"x": 2}], "Tags": {}}"#,
            r#"{"Count": 1.0, "When": "2024-01-02T03:04:05Z", "Flag": "yes", "Ratio": 1e3}"#,
            r#"{"Name": 7, "Inner": "not a structure", "Items": {"a": 1}}"#,
            r#"{"Count": 18446744073709551615, "Ratio": 12345678901234567890123}"#,
            r#"{"Inner": {"Arn": "a", "Arn": "b"}, "Unknown": 1, "Unknown": 2}"#,
            "{\"Name\": \"é / \u{7f} 😀 '\"}",
            "{}",
            " null ",
        ] {
            assert_eq!(
                by_text(&sm, "Get", text),
                Some(by_value(&sm, "Get", text)),
                "{text}"
            );
        }
        // No output shape: the document alone, for any text that parses.
        for text in ["{}", "null", r#"{"Ignored": [1]}"#] {
            let want = by_value(&sm, "Nothing", text);
            assert_eq!(by_text(&sm, "Nothing", text), Some(want), "{text}");
        }
    }

    #[test]
    fn gives_up_where_one_pass_cannot_promise_the_bytes() {
        let sm = model();
        for (op, text) in [
            // Out of the model's order, and a repeated member.
            ("Get", r#"{"Count": 1, "Name": "a"}"#),
            ("Get", r#"{"Name": "a", "Name": "b"}"#),
            // Not an object, not JSON, or serde_json's reserved key.
            ("Get", r#"["Name"]"#),
            ("Get", r#""text""#),
            ("Get", r#"{"Name": "a"} x"#),
            ("Get", r#"{"Name": "a""#),
            ("Get", r#"{"Count": 1e999}"#),
            ("Get", r#"{"$serde_json::private::RawValue": "1"}"#),
            // Attributes of the wrapper come from values.
            ("Attr", r#"{"Id": "1", "Name": "a"}"#),
            // No output shape, and a text the parse refuses.
            ("Nothing", r#"{"a": "#),
            ("Nothing", "{} x"),
        ] {
            assert_eq!(by_text(&sm, op, text), None, "{text}");
        }
    }
}
