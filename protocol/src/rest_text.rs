//! A REST output with no framed body (headers, the status code, a raw blob
//! or string payload: S3's PutObject, GetObject, HeadObject...) encoded
//! from the plugin's JSON text. Its top-level members are read as (name,
//! value) pairs rather than into a map: the bindings look each member up by
//! name anyway, and a map costs a hashed insert and an owned key per member.
//!
//! The contract is equality with the value path
//! ([`bindings::encode_unframed`] over the parsed map): each name gives the
//! value the map would hold (a repeated name's last one). A text that is
//! neither an object nor `null`, one the parse refuses, an output with a
//! body of members or none at all, goes to the value path.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::bindings;
use crate::json_text::Key;
use crate::model::Operation;
use crate::{HttpResponse, ServiceModel};

/// The response of a REST operation whose output has no framed body, from
/// the plugin's text; `None` where the value path must answer.
pub(crate) fn encode_output_text(
    model: &ServiceModel,
    op: &Operation,
    text: &str,
) -> Option<HttpResponse> {
    let out_id = op.output.as_ref()?.shape;
    // Checked before the parse: a framed output is parsed once, by the
    // value path.
    bindings::unframed_payload(&model.model, out_id)?;
    let pairs = top_members(text)?;
    // An error (a payload that is not base64) is the value path's to report.
    bindings::encode_unframed(model, op, out_id, pairs.as_slice())?.ok()
}

/// The top-level members of an object (none for `null`).
fn top_members(text: &str) -> Option<Vec<(Cow<'_, str>, Value)>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let pairs = TopMembers.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(pairs)
}

struct TopMembers;

impl<'de> DeserializeSeed<'de> for TopMembers {
    type Value = Vec<(Cow<'de, str>, Value)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopMembers {
    type Value = Vec<(Cow<'de, str>, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    /// A `null` output is an empty one.
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key_seed(Key)? {
            pairs.push((key, map.next_value::<Value>()?));
        }
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Protocol, ResponseBody, encode_response, encode_response_text};

    const MODEL: &str = r#"{
  "metadata": {"protocol": "rest-xml", "apiVersion": "2006-03-01", "endpointPrefix": "s3"},
  "operations": {
    "GetObject": {"name": "GetObject", "http": {"method": "GET", "requestUri": "/{Key}"},
                  "output": {"shape": "Out"}},
    "List": {"name": "List", "http": {"method": "GET", "requestUri": "/"},
             "output": {"shape": "ListOut"}}},
  "shapes": {
    "Out": {"type": "structure", "payload": "Body", "members": {
      "ETag": {"shape": "Str", "location": "header", "locationName": "ETag"},
      "Size": {"shape": "Long", "location": "header", "locationName": "Content-Length"},
      "Range": {"shape": "Str", "location": "header", "locationName": "Content-Range"},
      "Meta": {"shape": "Meta", "location": "headers", "locationName": "x-amz-meta-"},
      "Body": {"shape": "Blob", "streaming": true}
    }},
    "ListOut": {"type": "structure", "members": {"Name": {"shape": "Str"}}},
    "Meta": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
    "Str": {"type": "string"},
    "Long": {"type": "long"},
    "Blob": {"type": "blob"}
  }
}"#;

    fn same(a: &HttpResponse, b: &HttpResponse) -> bool {
        let body = match (&a.body, &b.body) {
            (ResponseBody::Bytes(x), ResponseBody::Bytes(y)) => x == y,
            (
                ResponseBody::Blob { blob: x, range: rx },
                ResponseBody::Blob { blob: y, range: ry },
            ) => x == y && rx == ry,
            _ => false,
        };
        a.status == b.status && a.headers == b.headers && body
    }

    #[test]
    fn an_unframed_output_encodes_as_the_value_path_does() {
        let model = ServiceModel::from_json(MODEL).expect("model");
        for text in [
            r#"{"ETag": "\"e\"", "Size": 3, "Meta": {"a": "1", "b": "2"}, "Body": {"blob-id": "b1"}}"#,
            // Ranged (206 for S3's GetObject), a repeated name (its last value), an unknown member.
            r#"{"Range": "bytes 0-1/3", "ETag": "x", "Body": {"blob-id": "b1", "range": [0, 2]}, "ETag": "y", "Other": [1]}"#,
            // The payload as base64 text, and no payload at all.
            r#"{"Body": "aGk="}"#,
            r#"{"ETag": null}"#,
            "null",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let by_value =
                encode_response(&model, Protocol::RestXml, "GetObject", &value, "id").unwrap();
            let by_text = encode_response_text(&model, Protocol::RestXml, "GetObject", text, "id")
                .expect("unframed: the text path takes it");
            assert!(
                same(&by_text, &by_value),
                "{text}: {by_text:?} vs {by_value:?}"
            );
        }
        // A payload that is not base64, a text that is not an object, a body
        // of members: the value path answers.
        for (op, text) in [
            ("GetObject", r#"{"Body": "%%"}"#),
            ("GetObject", "[1]"),
            ("GetObject", r#"{"ETag": "#),
            ("List", r#"{"Name": "n"}"#),
        ] {
            assert!(encode_response_text(&model, Protocol::RestXml, op, text, "id").is_none());
        }
    }

    #[test]
    fn only_objects_and_null_are_read() {
        assert_eq!(top_members("null").map(|p| p.len()), Some(0));
        let pairs = top_members(r#"{"A": "x", "B": {"c": 1}, "A": "y"}"#).unwrap();
        assert_eq!(pairs.len(), 3);
        assert!(matches!(pairs[0].0, Cow::Borrowed("A")));
        assert!(top_members("[1]").is_none());
        assert!(top_members(r#"{"A": 1} x"#).is_none());
        assert!(top_members(r#"{"A": }"#).is_none());
    }
}
