//! awsJson 1.0 / 1.1 (and the awsQueryCompatible variant), plus the JSON
//! shape walking that rest-json shares.

use serde_json::{Map, Value};

use crate::model::{Kind, Location, Model, Operation, ShapeId, TsFormat};
use crate::scalar::{float_of, float_value, short_eq, timestamp_of};
use crate::timestamp;
use crate::{AwsError, ErrorContext, HttpResponse, RequestHead, ResponseBody, ServiceModel};

pub(crate) fn serialization_error(msg: impl Into<String>) -> AwsError {
    AwsError::new("SerializationException", msg, 400)
}

/// JSON wire value → our JSON (wire names → member names, timestamps → epoch).
pub(crate) fn from_wire(
    m: &Model,
    id: ShapeId,
    ts: Option<TsFormat>,
    v: Value,
    path: &str,
) -> Result<Value, String> {
    from_wire_at(m, id, ts, v, WirePath::Root(path))
}

/// Where a wire value is (`input.Items[0].name`), rendered only for an error.
#[derive(Clone, Copy)]
enum WirePath<'a> {
    Root(&'a str),
    Member(&'a WirePath<'a>, &'a str),
    Index(&'a WirePath<'a>, usize),
    Key(&'a WirePath<'a>, &'a str),
}

impl std::fmt::Display for WirePath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WirePath::Root(p) => f.write_str(p),
            WirePath::Member(p, name) => write!(f, "{p}.{name}"),
            WirePath::Index(p, i) => write!(f, "{p}[{i}]"),
            WirePath::Key(p, k) => write!(f, "{p}.{k}"),
        }
    }
}

fn from_wire_at(
    m: &Model,
    id: ShapeId,
    ts: Option<TsFormat>,
    v: Value,
    path: WirePath<'_>,
) -> Result<Value, String> {
    let shape = m.shape(id);
    let bad = |what: &str| Err(format!("{path}: expected {what}"));
    match shape.kind {
        Kind::Structure => {
            let Value::Object(obj) = v else {
                return bad("an object");
            };
            let mut obj = obj;
            let mut out = Map::new();
            for member in &shape.members {
                if member.location != Location::Body {
                    continue;
                }
                let Some(val) = obj.remove(member.wire_name()) else {
                    continue;
                };
                if val.is_null() {
                    continue;
                }
                let p = WirePath::Member(&path, &member.name);
                let conv = from_wire_at(m, member.shape, member.timestamp_format, val, p)?;
                out.insert(member.name.clone(), conv);
            }
            Ok(Value::Object(out))
        }
        Kind::List => {
            let Value::Array(items) = v else {
                return bad("a list");
            };
            let member = shape.member.as_deref().expect("resolved list");
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                if item.is_null() {
                    out.push(Value::Null);
                    continue;
                }
                out.push(from_wire_at(
                    m,
                    member.shape,
                    member.timestamp_format,
                    item,
                    WirePath::Index(&path, i),
                )?);
            }
            Ok(Value::Array(out))
        }
        Kind::Map => {
            let Value::Object(obj) = v else {
                return bad("a map");
            };
            let value = shape.value.as_deref().expect("resolved map");
            let mut out = Map::new();
            for (k, item) in obj {
                let conv = if item.is_null() {
                    Value::Null
                } else {
                    from_wire_at(
                        m,
                        value.shape,
                        value.timestamp_format,
                        item,
                        WirePath::Key(&path, &k),
                    )?
                };
                out.insert(k, conv);
            }
            Ok(Value::Object(out))
        }
        Kind::String => match v {
            Value::String(_) => Ok(v),
            _ => bad("a string"),
        },
        Kind::Boolean => match v {
            Value::Bool(_) => Ok(v),
            _ => bad("a boolean"),
        },
        k if k.is_integer() => match &v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Ok(Value::from(n.as_f64().unwrap_or(0.0) as i64))
            }
            _ => bad("an integer"),
        },
        k if k.is_float() => match &v {
            Value::Number(_) => Ok(v),
            Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => Ok(v),
            _ => bad("a number"),
        },
        Kind::Blob => match v {
            Value::String(_) => Ok(v),
            _ => bad("a base64 string"),
        },
        Kind::Timestamp => {
            let _ = ts;
            match timestamp_of(&v) {
                Some(secs) => Ok(timestamp::epoch_number(secs)),
                None => bad("a timestamp"),
            }
        }
        _ => Ok(v),
    }
}

/// Our JSON → JSON wire value. With `body_only`, non-body members of the
/// top structure are left out (rest-json puts them in headers/URI).
pub(crate) fn to_wire(m: &Model, id: ShapeId, ts: Option<TsFormat>, v: &Value) -> Value {
    let shape = m.shape(id);
    match shape.kind {
        Kind::Structure => {
            let Value::Object(obj) = v else {
                return v.clone();
            };
            let mut out = Map::new();
            for member in &shape.members {
                let Some(val) = obj.get(&member.name) else {
                    continue;
                };
                if val.is_null() || !member.location.in_output_body() {
                    continue;
                }
                out.insert(
                    member.wire_name().to_string(),
                    to_wire(m, member.shape, member.timestamp_format, val),
                );
            }
            Value::Object(out)
        }
        Kind::List => {
            let member = shape.member.as_deref().expect("resolved list");
            match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|i| {
                            if i.is_null() {
                                Value::Null
                            } else {
                                to_wire(m, member.shape, member.timestamp_format, i)
                            }
                        })
                        .collect(),
                ),
                _ => v.clone(),
            }
        }
        Kind::Map => {
            let value = shape.value.as_deref().expect("resolved map");
            match v {
                Value::Object(obj) => Value::Object(
                    obj.iter()
                        .map(|(k, i)| {
                            let w = if i.is_null() {
                                Value::Null
                            } else {
                                to_wire(m, value.shape, value.timestamp_format, i)
                            };
                            (k.clone(), w)
                        })
                        .collect(),
                ),
                _ => v.clone(),
            }
        }
        Kind::Timestamp => {
            let Some(secs) = timestamp_of(v) else {
                return v.clone();
            };
            match ts.or(shape.timestamp_format) {
                Some(TsFormat::Iso8601) => Value::from(timestamp::format_iso8601(secs)),
                Some(TsFormat::Rfc822) => Value::from(timestamp::format_http_date(secs)),
                _ => timestamp::epoch_number(secs),
            }
        }
        k if k.is_float() => match float_of(v) {
            Some(f) if matches!(v, Value::String(_)) => float_value(f),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

fn json_content_type(model: &ServiceModel) -> String {
    format!(
        "application/x-amz-json-{}",
        model.metadata.json_version.as_deref().unwrap_or("1.0")
    )
}

/// Parses a JSON body (empty = `{}`) and converts it to our JSON: in one
/// pass where it can (json_in.rs), else through a wire `Value`, which also
/// words every error.
pub(crate) fn decode_body(m: &Model, id: ShapeId, bytes: &[u8]) -> Result<Value, AwsError> {
    let trimmed = bytes.trim_ascii();
    if !trimmed.is_empty()
        && let Some(v) = crate::json_in::read_ours(m, id, trimmed)
        // A `null` body reads as `{}`, which only a structure accepts.
        && !v.is_null()
    {
        return Ok(v);
    }
    let wire: Value = if trimmed.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(trimmed)
            .map_err(|e| serialization_error(format!("Malformed JSON body: {e}")))?
    };
    let wire = if wire.is_null() {
        Value::Object(Map::new())
    } else {
        wire
    };
    from_wire(m, id, None, wire, "input").map_err(serialization_error)
}

pub(crate) fn decode<'m>(
    model: &'m ServiceModel,
    head: &RequestHead<'_>,
    bytes: &[u8],
) -> Result<(&'m Operation, Value), AwsError> {
    let target = head
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target.is_empty() {
        // Without a target, an operation with an endpoint `hostPrefix` may
        // still be named by the Host header (`foo.{label}.example.com`).
        if let Some(found) = by_host_prefix(model, head, bytes) {
            return Ok(found);
        }
        return Err(AwsError::new(
            "UnknownOperationException",
            "Missing X-Amz-Target header",
            400,
        ));
    }
    let name = target.rsplit('.').next().unwrap_or(target);
    let op = model.operation(name).ok_or_else(|| {
        AwsError::new(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
            400,
        )
    })?;
    let input = match &op.input {
        Some(r) => decode_body(&model.model, r.shape, bytes)?,
        None => Value::Object(Map::new()),
    };
    Ok((op, input))
}

/// An awsJson request's operation and input text, read and checked in one
/// pass (json_in.rs); `None` leaves it to [`decode`] and the validation
/// after it, for the same text or the exact error.
pub(crate) fn decode_text<'m>(
    model: &'m ServiceModel,
    head: &RequestHead<'_>,
    bytes: &[u8],
) -> Option<(&'m Operation, String)> {
    let target = head.headers.get("x-amz-target")?.to_str().ok()?;
    let op = model.operation(target.rsplit('.').next().unwrap_or(target))?;
    let input = op.input.as_ref()?;
    let open_enums = crate::quirks::sqs::open_enums(&model.metadata);
    let text = crate::json_in::write_ours(&model.model, input.shape, bytes, open_enums)?;
    Some((op, text))
}

/// The operation whose `hostPrefix` the Host header starts with, its host
/// labels agreeing with the same members in the body (a label is also
/// serialized in the body). The longest matching prefix wins.
fn by_host_prefix<'m>(
    model: &'m ServiceModel,
    head: &RequestHead<'_>,
    bytes: &[u8],
) -> Option<(&'m Operation, Value)> {
    let host = head.headers.get("host")?.to_str().ok()?;
    let mut best: Option<(usize, &Operation, Value)> = None;
    for op in model.model.operations() {
        let Some(prefix) = op.host_prefix.as_deref() else {
            continue;
        };
        let Some(labels) = match_host_prefix(prefix, host) else {
            continue;
        };
        let input = match &op.input {
            Some(r) => match decode_body(&model.model, r.shape, bytes) {
                Ok(v) => v,
                Err(_) => continue,
            },
            None => Value::Object(Map::new()),
        };
        if labels
            .iter()
            .any(|(name, value)| input.get(name).and_then(Value::as_str) != Some(value))
        {
            continue;
        }
        if best.as_ref().is_none_or(|(len, ..)| prefix.len() > *len) {
            best = Some((prefix.len(), op, input));
        }
    }
    best.map(|(_, op, input)| (op, input))
}

/// Matches `foo.{label}.` against the start of `host`: literal text, and a
/// label for one non-empty DNS label. Returns the labels.
fn match_host_prefix(prefix: &str, host: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = host;
    let mut pattern = prefix;
    while !pattern.is_empty() {
        if let Some(after) = pattern.strip_prefix('{') {
            let (name, tail) = after.split_once('}')?;
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))?;
            if end == 0 {
                return None;
            }
            labels.push((name.to_string(), rest[..end].to_string()));
            rest = &rest[end..];
            pattern = tail;
        } else {
            let lit_end = pattern.find('{').unwrap_or(pattern.len());
            rest = rest.strip_prefix(&pattern[..lit_end])?;
            pattern = &pattern[lit_end..];
        }
    }
    // The prefix sits in front of the service's own host name.
    (!rest.is_empty()).then_some(labels)
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
) -> Result<HttpResponse, AwsError> {
    let mut body = Vec::with_capacity(256);
    let m = &model.model;
    if let Some(r) = &op.output
        && let Some(stream) = m
            .shape(r.shape)
            .members
            .iter()
            .find(|mm| m.shape(mm.shape).eventstream)
    {
        // An event-stream output (Logs StartLiveTail): the body is the
        // stream, opened by an initial-response event with the other members.
        let mut rest = output.as_object().cloned().unwrap_or_default();
        let events = rest.remove(&stream.name).unwrap_or(Value::Array(vec![]));
        write_wire(&mut body, m, r.shape, None, &Value::Object(rest));
        let mut frames = crate::eventstream::initial_response(body);
        let format = crate::bindings::EventBody::Json;
        let body = match crate::EventStreamOut::of_value(m, Some(&events), stream.shape, format) {
            // Fed over time: the initial response goes out first.
            Some(stream) => ResponseBody::EventStream {
                initial: frames,
                stream,
            },
            None => {
                frames.extend(crate::eventstream::encode_events(
                    m,
                    stream.shape,
                    &events,
                    format,
                ));
                ResponseBody::Bytes(frames)
            }
        };
        return Ok(HttpResponse {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/vnd.amazon.eventstream".into(),
            )],
            body,
        });
    }
    match &op.output {
        Some(r) => write_wire(&mut body, m, r.shape, None, output),
        None => body.extend_from_slice(b"{}"),
    }
    Ok(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), json_content_type(model))],
        body: ResponseBody::Bytes(body),
    })
}

/// [`encode_output`] of the output's JSON text, without parsing it into a
/// `Value` (json_text.rs): the same response, or `None` when the text path
/// cannot promise it (an event-stream output, or see
/// [`crate::json_text::write_wire_text`]).
pub(crate) fn encode_output_text(
    model: &ServiceModel,
    op: &Operation,
    text: &str,
) -> Option<HttpResponse> {
    let m = &model.model;
    let mut body = Vec::with_capacity(text.len() + 64);
    match &op.output {
        Some(r) => {
            if m.shape(r.shape)
                .members
                .iter()
                .any(|mm| m.shape(mm.shape).eventstream)
            {
                return None;
            }
            crate::json_text::write_wire_text(&mut body, m, r.shape, text).ok()?;
        }
        None => {
            crate::json_text::check_text(text).ok()?;
            body.extend_from_slice(b"{}");
        }
    }
    Some(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), json_content_type(model))],
        body: ResponseBody::Bytes(body),
    })
}

/// The JSON body of an error: `__type`, the message, the extra members.
pub(crate) fn error_body(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
    type_name: &str,
) -> Map<String, Value> {
    let m = &model.model;
    let mut body = Map::new();
    body.insert("__type".into(), Value::from(type_name));
    let mut message_key = "message".to_string();
    if let Some(id) = ctx.shape {
        let shape = m.shape(id);
        if let Some(mm) = shape
            .members
            .iter()
            .find(|mm| mm.name.eq_ignore_ascii_case("message"))
        {
            message_key = mm.wire_name().to_string();
        }
        if let Some(extra) = &error.extra {
            if let Value::Object(w) = to_wire(m, id, None, &Value::Object(extra.clone())) {
                body.extend(w);
            }
            // Unmodelled extras go through as given.
            for (k, v) in extra.iter().filter(|(k, _)| shape.member(k).is_none()) {
                body.insert(k.clone(), v.clone());
            }
        }
    } else if let Some(extra) = &error.extra {
        body.extend(extra.clone());
    }
    body.insert(message_key, Value::from(error.message.clone()));
    body
}

/// The query-compatible error header `x-amzn-query-error: Code;Sender`.
pub(crate) fn query_error_header(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> Option<(String, String)> {
    if !model.metadata.aws_query_compatible {
        return None;
    }
    let code = ctx
        .shape
        .and_then(|id| model.model.shape(id).error_code.clone())
        .unwrap_or_else(|| error.code.clone());
    let side = if ctx.sender { "Sender" } else { "Receiver" };
    Some(("x-amzn-query-error".into(), format!("{code};{side}")))
}

/// The `__type` of an error: the shape name when modelled (query-compatible
/// services raise the query code, but JSON clients expect the shape name).
pub(crate) fn error_type_name(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> String {
    ctx.shape
        .map(|id| model.model.shape(id).name.clone())
        .unwrap_or_else(|| error.code.clone())
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let type_name = error_type_name(model, error, ctx);
    let body = error_body(model, error, ctx, &type_name);
    let mut headers = vec![
        ("Content-Type".into(), json_content_type(model)),
        ("x-amzn-errortype".into(), type_name),
    ];
    headers.extend(query_error_header(model, error, ctx));
    HttpResponse {
        status: ctx.status,
        headers,
        body: ResponseBody::Bytes(serde_json::to_vec(&Value::Object(body)).unwrap_or_default()),
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Our JSON → JSON wire bytes, written straight out (no intermediate
/// `Value`: the response path is hot). Same mapping as [`to_wire`].
pub(crate) fn write_wire(
    out: &mut Vec<u8>,
    m: &Model,
    id: ShapeId,
    ts: Option<TsFormat>,
    v: &Value,
) {
    let shape = m.shape(id);
    match (shape.kind, v) {
        (Kind::Structure, Value::Object(obj)) => {
            out.push(b'{');
            let mut first = true;
            for (k, val) in obj {
                if val.is_null() {
                    continue;
                }
                let Some(member) = shape
                    .members
                    .iter()
                    .find(|mm| short_eq(mm.name.as_bytes(), k.as_bytes()))
                else {
                    continue;
                };
                if !member.location.in_output_body() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(out, member.wire_name());
                out.push(b':');
                write_wire(out, m, member.shape, member.timestamp_format, val);
            }
            out.push(b'}');
        }
        (Kind::List, Value::Array(items)) => {
            let member = shape.member.as_deref().expect("resolved list");
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if item.is_null() {
                    out.extend_from_slice(b"null");
                } else {
                    write_wire(out, m, member.shape, member.timestamp_format, item);
                }
            }
            out.push(b']');
        }
        (Kind::Map, Value::Object(obj)) => {
            let value = shape.value.as_deref().expect("resolved map");
            out.push(b'{');
            for (i, (k, item)) in obj.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                if item.is_null() {
                    out.extend_from_slice(b"null");
                } else {
                    write_wire(out, m, value.shape, value.timestamp_format, item);
                }
            }
            out.push(b'}');
        }
        (Kind::Timestamp, _)
        | (Kind::Float | Kind::Double | Kind::BigDecimal, Value::String(_)) => {
            let _ = serde_json::to_writer(&mut *out, &to_wire(m, id, ts, v));
        }
        _ => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}
