//! HTTP bindings shared by rest-json and rest-xml: URI labels, query string,
//! headers, prefix headers, status code and the payload member.

use http::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::model::{Kind, Location, Member, Model, Operation, Shape, ShapeId, TsFormat};
use crate::rest::{Labels, parse_query};
use crate::scalar::{b64_decode, b64_encode, parse_text, to_text};
use crate::{RequestHead, quirks};

fn ts(m: &Model, member: &Member, default: TsFormat) -> TsFormat {
    member
        .timestamp_format
        .or(m.shape(member.shape).timestamp_format)
        .unwrap_or(default)
}

/// Splits a header list value on commas outside double quotes, unquoting.
pub(crate) fn split_header_list(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = v.chars().peekable();
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' if !quoted => {
                out.push(if was_quoted {
                    cur.clone()
                } else {
                    cur.trim().to_string()
                });
                cur.clear();
                was_quoted = false;
            }
            c => {
                let after_quote = was_quoted && !quoted && c.is_whitespace();
                let leading_space = !quoted && cur.is_empty() && c == ' ';
                if !after_quote && !leading_space {
                    cur.push(c);
                }
            }
        }
    }
    out.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    out
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    let name = headers
        .keys()
        .find(|k| k.as_str().eq_ignore_ascii_case(name))?;
    header_value(headers, name)
}

/// The request's header members, found in one pass over its headers: an
/// operation binds dozens (S3 PutObject ~50) and a request carries a
/// handful, so each request header is looked up among the members (by
/// [`Shape::header_members`]), not each member among the headers. `[i]` is
/// member `i`'s header.
fn header_members<'h>(shape: &Shape, headers: &'h HeaderMap) -> Vec<Option<&'h HeaderName>> {
    let mut found = vec![None; shape.members.len()];
    for name in headers.keys() {
        for i in shape.header_members(name.as_str()) {
            found[i] = Some(name);
        }
    }
    found
}

/// A header's values joined as one (`a, b`); Latin-1 when not UTF-8.
fn header_value<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<String> {
    let mut all = headers.get_all(name).iter();
    // The common case, one value: no list to join.
    if let (Some(only), None) = (all.next(), all.next())
        && let Ok(v) = only.to_str()
    {
        return Some(v.to_string());
    }
    let vals: Vec<&'h str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if vals.is_empty() {
        // Non-UTF-8 header values are read as Latin-1, as HTTP allows.
        return headers
            .get(name)
            .map(|v| v.as_bytes().iter().map(|&b| b as char).collect());
    }
    Some(vals.join(", "))
}

fn parse_header(m: &Model, member: &Member, raw: &str) -> Result<Value, String> {
    let shape = m.shape(member.shape);
    match shape.kind {
        Kind::List => {
            let item = shape.member.as_deref().expect("resolved list");
            let kind = m.shape(item.shape).kind;
            let parts =
                if kind == Kind::Timestamp && ts(m, item, TsFormat::Rfc822) == TsFormat::Rfc822 {
                    // HTTP dates contain a comma: pair the pieces back up.
                    let pieces: Vec<&str> = raw.split(',').map(str::trim).collect();
                    pieces.chunks(2).map(|c| c.join(", ")).collect()
                } else {
                    split_header_list(raw)
                };
            parts
                .iter()
                .map(|p| {
                    parse_text(kind, ts(m, item, TsFormat::Rfc822), p).map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Kind::String if member.jsonvalue => {
            // The member is a string whose content is JSON text (Smithy's
            // `@mediaType("application/json")`); it stays that text, as a
            // jsonvalue member of a body does.
            let bytes = b64_decode(raw).ok_or("expected base64 JSON")?;
            let text = String::from_utf8(bytes).map_err(|_| "expected UTF-8 JSON")?;
            serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| e.to_string())?;
            Ok(Value::String(text))
        }
        Kind::Blob => Ok(Value::from(raw.trim())),
        kind => parse_text(kind, ts(m, member, TsFormat::Rfc822), raw.trim())
            .map_err(|e| format!("expected {e}")),
    }
}

/// Reads the non-body members of a REST input.
pub(crate) fn decode_bindings(
    m: &Model,
    op: &Operation,
    id: ShapeId,
    labels: &Labels,
    head: &RequestHead<'_>,
    named_keys_in_map: bool,
) -> Result<Map<String, Value>, String> {
    let shape = m.shape(id);
    let query = parse_query(head.query);
    let mut out = Map::new();
    let headers = header_members(shape, head.headers);
    // A query-string map takes every parameter except the template's
    // discriminators: restJson1 servers keep the ones bound to named members
    // too (Smithy's RestJsonServersPutAllQueryParamsInMap). restXml has no
    // server rule; its vectors leave those out of the map, as the client
    // that put them there did.
    let claimed = || {
        let mut keys: Vec<&str> = op.template.static_query_keys().collect();
        if !named_keys_in_map {
            keys.extend(
                shape
                    .members
                    .iter()
                    .filter(|mm| mm.location == Location::QueryString)
                    .filter(|mm| m.shape(mm.shape).kind != Kind::Map)
                    .map(|mm| mm.wire_name()),
            );
        }
        keys
    };
    for (member, header) in shape.members.iter().zip(headers) {
        // Most of an operation's members are absent: their shapes are
        // looked up only when there is something to parse.
        let target = || m.shape(member.shape);
        let err = |e: String| format!("{}: {e}", member.name);
        match member.location {
            Location::Uri => {
                if let Some((_, v)) = labels.iter().find(|(n, _)| n == member.wire_name()) {
                    let v = parse_text(target().kind, ts(m, member, TsFormat::Iso8601), v)
                        .map_err(|e| err(format!("expected {e}")))?;
                    out.insert(member.name.clone(), v);
                }
            }
            Location::QueryString => match target().kind {
                Kind::Map => {
                    let value = target().value.as_deref().expect("resolved map");
                    let is_list = m.shape(value.shape).kind == Kind::List;
                    let mut map = Map::new();
                    let claimed = claimed();
                    for (k, v) in query.iter().filter(|(k, _)| !claimed.contains(&k.as_str())) {
                        if is_list {
                            let e = map.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                            if let Value::Array(a) = e {
                                a.push(Value::from(v.clone()));
                            }
                        } else if !map.contains_key(k) {
                            map.insert(k.clone(), Value::from(v.clone()));
                        }
                    }
                    if !map.is_empty() {
                        out.insert(member.name.clone(), Value::Object(map));
                    }
                }
                Kind::List => {
                    let item = target().member.as_deref().expect("resolved list");
                    let kind = m.shape(item.shape).kind;
                    let vals: Vec<Value> = query
                        .iter()
                        .filter(|(k, _)| k == member.wire_name())
                        .map(|(_, v)| parse_text(kind, ts(m, item, TsFormat::Iso8601), v))
                        .collect::<Result<_, _>>()
                        .map_err(|e| err(format!("expected {e}")))?;
                    if !vals.is_empty() {
                        out.insert(member.name.clone(), Value::Array(vals));
                    }
                }
                kind => {
                    if let Some((_, v)) = query.iter().find(|(k, _)| k == member.wire_name()) {
                        if quirks::s3::skip_empty_query_value(kind, v) {
                            continue;
                        }
                        let v = parse_text(kind, ts(m, member, TsFormat::Iso8601), v)
                            .map_err(|e| err(format!("expected {e}")))?;
                        out.insert(member.name.clone(), v);
                    }
                }
            },
            Location::Header => {
                if let Some(raw) = header.and_then(|name| header_value(head.headers, name)) {
                    if raw.is_empty() && target().kind != Kind::String {
                        continue;
                    }
                    out.insert(
                        member.name.clone(),
                        parse_header(m, member, &raw).map_err(err)?,
                    );
                }
            }
            Location::Headers => {
                let prefix = member.wire_name().to_ascii_lowercase();
                let mut map = Map::new();
                for name in head.headers.keys() {
                    if let Some(rest) = name.as_str().strip_prefix(prefix.as_str())
                        && let Some(v) = header_str(head.headers, name.as_str())
                    {
                        map.insert(rest.to_string(), Value::from(v));
                    }
                }
                if !map.is_empty() {
                    out.insert(member.name.clone(), Value::Object(map));
                }
            }
            Location::StatusCode | Location::Body => {}
        }
    }
    Ok(out)
}

/// A header value for an output member.
fn header_text(m: &Model, member: &Member, v: &Value) -> Option<String> {
    let shape = m.shape(member.shape);
    match shape.kind {
        Kind::List => {
            let item = shape.member.as_deref().expect("resolved list");
            let kind = m.shape(item.shape).kind;
            let Value::Array(items) = v else { return None };
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| to_text(kind, ts(m, item, TsFormat::Rfc822), i))
                .map(|s| {
                    if kind == Kind::String && (s.contains(',') || s.contains('"')) {
                        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                    } else {
                        s
                    }
                })
                .collect();
            Some(parts.join(", "))
        }
        Kind::String if member.jsonvalue => Some(match v {
            Value::String(text) => b64_encode(text.as_bytes()),
            // A plugin may hand over the value itself rather than its text.
            other => b64_encode(serde_json::to_string(other).unwrap_or_default().as_bytes()),
        }),
        kind => to_text(kind, ts(m, member, TsFormat::Rfc822), v),
    }
}

/// What the non-body members of a REST output contribute.
pub(crate) struct OutputBindings {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
}

pub(crate) fn encode_bindings(m: &Model, id: ShapeId, v: &Value) -> OutputBindings {
    match v {
        Value::Object(obj) => encode_field_bindings(m, id, obj),
        _ => OutputBindings {
            status: None,
            headers: Vec::new(),
        },
    }
}

/// An output's top-level members by name: the parsed map (the value path),
/// or the pairs read from the plugin's text (rest_text.rs).
pub(crate) trait Fields {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl Fields for Map<String, Value> {
    fn field(&self, name: &str) -> Option<&Value> {
        crate::scalar::field(self, name)
    }
}

/// The pairs in the text's order; a repeated name's last value counts, as
/// in the parse into a map.
impl Fields for [(std::borrow::Cow<'_, str>, Value)] {
    fn field(&self, name: &str) -> Option<&Value> {
        let name = name.as_bytes();
        self.iter()
            .rev()
            .find(|(k, _)| crate::scalar::short_eq(k.as_bytes(), name))
            .map(|(_, v)| v)
    }
}

/// [`encode_bindings`] of an output's members.
pub(crate) fn encode_field_bindings<F: Fields + ?Sized>(
    m: &Model,
    id: ShapeId,
    obj: &F,
) -> OutputBindings {
    let shape = m.shape(id);
    let mut out = OutputBindings {
        status: None,
        // Room for a typical answer's headers (S3 GetObject's six) and the
        // few the encoder adds: no regrowth.
        headers: Vec::with_capacity(12),
    };
    for member in &shape.members {
        let Some(val) = obj.field(&member.name).filter(|v| !v.is_null()) else {
            continue;
        };
        match member.location {
            Location::Header => {
                if let Some(text) = header_text(m, member, val) {
                    out.headers.push((member.wire_name().to_string(), text));
                }
            }
            Location::Headers => {
                if let Value::Object(map) = val {
                    for (k, hv) in map {
                        let text = match hv {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        out.headers
                            .push((format!("{}{k}", member.wire_name()), text));
                    }
                }
            }
            Location::StatusCode => out.status = val.as_u64().and_then(|s| u16::try_from(s).ok()),
            _ => {}
        }
    }
    out
}

/// A REST output with no framed body: everything in the status and headers,
/// or a blob or string payload sent as the raw body (both REST protocols
/// encode these alike, from a parsed map or from the text's pairs). `None`
/// when the protocol writes a body of members (XML or JSON) or an event
/// stream.
pub(crate) fn encode_unframed<F: Fields + ?Sized>(
    model: &crate::ServiceModel,
    op: &Operation,
    out_id: ShapeId,
    output: &F,
) -> Option<Result<crate::HttpResponse, crate::AwsError>> {
    let m = &model.model;
    let payload = unframed_payload(m, out_id)?;
    let b = encode_field_bindings(m, out_id, output);
    let mut status = b.status.unwrap_or(op.response_code.unwrap_or(200));
    if quirks::s3::partial_content(model, &op.name, output) {
        status = 206;
    }
    let mut headers = b.headers;
    let body = match payload {
        Some(pm) => {
            let value = output.field(&pm.name).filter(|v| !v.is_null());
            match raw_payload_out(m, pm, value, &mut headers, "application/octet-stream") {
                Ok(body) => body,
                Err(e) => return Some(Err(e)),
            }
        }
        // Everything went to headers/status: no body, as AWS sends it.
        None => crate::ResponseBody::Bytes(Vec::new()),
    };
    Some(Ok(crate::HttpResponse {
        status,
        headers,
        body,
    }))
}

/// For an output with no framed body ([`encode_unframed`]), its raw payload
/// member if it has one; `None` for an output with a body of members.
pub(crate) fn unframed_payload(m: &Model, out_id: ShapeId) -> Option<Option<&Member>> {
    match payload_member(m, out_id) {
        Some(pm) if matches!(m.shape(pm.shape).kind, Kind::Blob | Kind::String) => Some(Some(pm)),
        Some(_) => None,
        None if has_output_body_members(m, out_id) => None,
        None => Some(None),
    }
}

/// Does the input structure have members that go in the body?
pub(crate) fn has_body_members(m: &Model, id: ShapeId) -> bool {
    m.shape(id)
        .members
        .iter()
        .any(|mm| mm.location == Location::Body)
}

/// Does the output structure have members that go in the body?
pub(crate) fn has_output_body_members(m: &Model, id: ShapeId) -> bool {
    m.shape(id)
        .members
        .iter()
        .any(|mm| mm.location.in_output_body())
}

/// The payload member of a shape, if it names one.
pub(crate) fn payload_member(m: &Model, id: ShapeId) -> Option<&Member> {
    let s = m.shape(id);
    s.payload.as_deref().and_then(|p| s.member(p))
}

/// A streamed request body: the blob-ref goes into the streaming payload member.
/// What both REST decoders do first: the members bound to the URI, query
/// string and headers, then either the finished input (no input shape, or a
/// body the host streamed into a blob) or the body bytes left to decode.
pub(crate) enum RestStart {
    Done(Value),
    Body {
        input: ShapeId,
        bound: Map<String, Value>,
        bytes: bytes::Bytes,
    },
}

pub(crate) fn start_rest_decode(
    model: &crate::ServiceModel,
    op: &Operation,
    labels: &Labels,
    head: &RequestHead<'_>,
    body: crate::RequestBody,
    protocol: crate::Protocol,
) -> Result<RestStart, crate::AwsError> {
    // What each protocol's services answer for a malformed binding.
    let binding_error_code = match protocol {
        crate::Protocol::RestXml => "InvalidArgument",
        _ => "SerializationException",
    };
    let m = &model.model;
    let Some(input) = &op.input else {
        return Ok(RestStart::Done(Value::Object(Map::new())));
    };
    let named_keys_in_map = protocol != crate::Protocol::RestXml;
    let mut bound = decode_bindings(m, op, input.shape, labels, head, named_keys_in_map)
        .map_err(|e| crate::AwsError::new(binding_error_code, e, 400))?;
    match body {
        crate::RequestBody::Bytes(bytes) => Ok(RestStart::Body {
            input: input.shape,
            bound,
            bytes,
        }),
        crate::RequestBody::Blob(v) => {
            insert_blob_ref(m, input.shape, &mut bound, v);
            Ok(RestStart::Done(Value::Object(bound)))
        }
    }
}

pub(crate) fn insert_blob_ref(m: &Model, id: ShapeId, out: &mut Map<String, Value>, blob: Value) {
    if let Some(pm) = payload_member(m, id) {
        out.insert(pm.name.clone(), blob);
    }
}

/// A blob or string payload from the raw body.
pub(crate) fn raw_payload(m: &Model, pm: &Member, bytes: &[u8]) -> Value {
    match m.shape(pm.shape).kind {
        Kind::String => Value::from(String::from_utf8_lossy(bytes).into_owned()),
        _ => Value::from(b64_encode(bytes)),
    }
}

pub(crate) fn default_content_type(headers: &mut Vec<(String, String)>, ct: &str) {
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), ct.into()));
    }
}

/// A blob or string payload to the raw body; a blob-ref object becomes a
/// streamed [`ResponseBody::Blob`].
pub(crate) fn raw_payload_out(
    m: &Model,
    pm: &Member,
    value: Option<&Value>,
    headers: &mut Vec<(String, String)>,
    blob_content_type: &str,
) -> Result<crate::ResponseBody, crate::AwsError> {
    use crate::ResponseBody;
    let kind = m.shape(pm.shape).kind;
    if value.is_some() {
        default_content_type(
            headers,
            if kind == Kind::String {
                "text/plain"
            } else {
                blob_content_type
            },
        );
    }
    Ok(match value {
        None => ResponseBody::Bytes(Vec::new()),
        Some(Value::String(s)) if kind == Kind::String => {
            ResponseBody::Bytes(s.clone().into_bytes())
        }
        Some(Value::String(s)) => ResponseBody::Bytes(b64_decode(s).ok_or_else(|| {
            crate::AwsError::new(
                "InternalFailure",
                format!("{}: invalid base64 blob", pm.name),
                500,
            )
        })?),
        Some(Value::Object(obj)) => {
            let range = obj.get("range").and_then(|r| {
                let a = r.as_array()?;
                Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?))
            });
            ResponseBody::Blob {
                blob: Value::Object(obj.clone()),
                range,
            }
        }
        Some(other) => ResponseBody::Bytes(other.to_string().into_bytes()),
    })
}

/// How event payloads of an event stream are written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EventBody {
    Json,
    Xml,
}

pub(crate) fn event_stream_out(
    m: &std::sync::Arc<Model>,
    pm: &Member,
    value: Option<&Value>,
    headers: &mut Vec<(String, String)>,
    format: EventBody,
) -> crate::ResponseBody {
    default_content_type(headers, "application/vnd.amazon.eventstream");
    if let Some(stream) = crate::EventStreamOut::of_value(m, value, pm.shape, format) {
        return crate::ResponseBody::EventStream {
            initial: Vec::new(),
            stream,
        };
    }
    let empty = Value::Array(vec![]);
    crate::ResponseBody::Bytes(crate::eventstream::encode_events(
        m,
        pm.shape,
        value.unwrap_or(&empty),
        format,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceModel;

    /// A rest-xml model of one operation `op` (`METHOD /`) whose `io`
    /// (input or output) is a structure of `members`.
    fn one_operation(op: &str, method: &str, io: &str, members: &str) -> ServiceModel {
        let text = r#"{
  "metadata": {"protocol": "rest-xml", "apiVersion": "2020-01-01", "endpointPrefix": "svc"},
  "operations": {"OP": {"name": "OP", "http": {"method": "METHOD", "requestUri": "/"},
                        "IO": {"shape": "Shape"}}},
  "shapes": {
    "Shape": {"type": "structure", "members": {MEMBERS}},
    "Meta": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
    "Str": {"type": "string"},
    "Int": {"type": "integer"},
    "Long": {"type": "long"}
  }
}"#;
        let text = text
            .replace("OP", op)
            .replace("METHOD", method)
            .replace("IO", io)
            .replace("MEMBERS", members);
        ServiceModel::from_json(&text).expect("model")
    }

    #[test]
    fn output_headers_come_in_the_models_order() {
        let sm = one_operation(
            "Get",
            "GET",
            "output",
            r#"
      "Zeta": {"shape": "Str", "location": "header", "locationName": "x-zeta"},
      "Alpha": {"shape": "Str", "location": "header", "locationName": "x-alpha"},
      "Status": {"shape": "Int", "location": "statusCode"},
      "Meta": {"shape": "Meta", "location": "headers", "locationName": "x-meta-"},
      "Size": {"shape": "Long", "location": "header", "locationName": "Content-Length"},
      "Body": {"shape": "Str"}"#,
        );
        let id = sm.operation("Get").unwrap().output.as_ref().unwrap().shape;
        let out = serde_json::json!({
            "Size": 5, "Unknown": "x", "Alpha": "a", "Body": "b", "Zeta": null,
            "Meta": {"k": "v"}, "Status": 206
        });
        let b = encode_bindings(&sm.model, id, &out);
        assert_eq!(b.status, Some(206));
        let names: Vec<&str> = b.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["x-alpha", "x-meta-k", "Content-Length"]);
        assert_eq!(b.headers[2].1, "5");
        // Not an object: nothing bound.
        let none = encode_bindings(&sm.model, id, &serde_json::json!([1]));
        assert!(none.headers.is_empty() && none.status.is_none());
    }

    #[test]
    fn request_headers_find_their_members_whatever_the_models_case() {
        let sm = one_operation(
            "Put",
            "PUT",
            "input",
            r#"
      "Md5": {"shape": "Str", "location": "header", "locationName": "Content-MD5"},
      "Meta": {"shape": "Meta", "location": "headers", "locationName": "x-meta-"},
      "Zeta": {"shape": "Str", "location": "header", "locationName": "x-zeta"},
      "Also": {"shape": "Str", "location": "header", "locationName": "X-Zeta"},
      "Name": {"shape": "Str", "location": "querystring", "locationName": "content-md5"},
      "Body": {"shape": "Str"}"#,
        );
        let id = sm.operation("Put").unwrap().input.as_ref().unwrap().shape;
        let shape = sm.model.shape(id);
        let mut headers = HeaderMap::new();
        headers.insert("content-md5", "abc".parse().unwrap());
        headers.insert("x-zeta", "z".parse().unwrap());
        headers.insert("x-meta-k", "v".parse().unwrap());
        headers.insert("x-unknown", "u".parse().unwrap());
        let found: Vec<Option<&str>> = header_members(shape, &headers)
            .iter()
            .map(|h| h.map(HeaderName::as_str))
            .collect();
        // Header members only (not the prefix map, not the query member);
        // two members on one name both get it.
        assert_eq!(
            found,
            [
                Some("content-md5"),
                None,
                Some("x-zeta"),
                Some("x-zeta"),
                None,
                None
            ]
        );
        assert_eq!(shape.header_members("x-missing").count(), 0);
    }
}
