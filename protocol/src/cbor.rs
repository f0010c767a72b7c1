//! smithy-rpc-v2-cbor: `POST /service/{Service}/operation/{Operation}` with a
//! CBOR map body (ciborium), `smithy-protocol: rpc-v2-cbor` on both sides.

use ciborium::value::{Integer, Value as Cbor};
use serde_json::{Map, Value};

use crate::json::{error_type_name, query_error_header};
use crate::model::{Kind, Model, Operation, ShapeId};
use crate::scalar::{b64_decode, b64_encode, float_of, float_value, timestamp_of};
use crate::timestamp;
use crate::{AwsError, ErrorContext, HttpResponse, RequestHead, ResponseBody, ServiceModel};

fn serialization_error(msg: impl Into<String>) -> AwsError {
    AwsError::new("SerializationException", msg, 400)
}

fn int_value(i: Integer) -> Value {
    let i = i128::from(i);
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        float_value(i as f64)
    }
}

/// Any CBOR value → JSON (for documents and untyped data).
fn generic(v: Cbor) -> Value {
    match v {
        Cbor::Integer(i) => int_value(i),
        Cbor::Bytes(b) => Value::from(b64_encode(&b)),
        Cbor::Float(f) => float_value(f),
        Cbor::Text(s) => Value::from(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Null => Value::Null,
        Cbor::Tag(_, inner) => generic(*inner),
        Cbor::Array(a) => Value::Array(a.into_iter().map(generic).collect()),
        Cbor::Map(m) => Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| match k {
                    Cbor::Text(k) => Some((k, generic(v))),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

pub(crate) fn from_wire(m: &Model, id: ShapeId, v: Cbor, path: &str) -> Result<Value, String> {
    let shape = m.shape(id);
    let bad = |what: &str| Err(format!("{path}: expected {what}"));
    // Timestamps are tag 1; other tags are transparent.
    let v = match v {
        Cbor::Tag(_, inner) if shape.kind != Kind::Timestamp => *inner,
        other => other,
    };
    match shape.kind {
        Kind::Structure => {
            let Cbor::Map(entries) = v else {
                return bad("a map");
            };
            let mut out = Map::new();
            for (k, val) in entries {
                let Cbor::Text(k) = k else { continue };
                let Some(member) = shape
                    .members
                    .iter()
                    .find(|mm| mm.name == k || mm.location_name.as_deref() == Some(&k))
                else {
                    continue;
                };
                if val.is_null() {
                    continue;
                }
                let conv = from_wire(m, member.shape, val, &format!("{path}.{k}"))?;
                out.insert(member.name.clone(), conv);
            }
            Ok(Value::Object(out))
        }
        Kind::List => {
            let Cbor::Array(items) = v else {
                return bad("a list");
            };
            let member = shape.member.as_deref().expect("resolved list");
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    if item.is_null() {
                        Ok(Value::Null)
                    } else {
                        from_wire(m, member.shape, item, &format!("{path}[{i}]"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Kind::Map => {
            let Cbor::Map(entries) = v else {
                return bad("a map");
            };
            let value = shape.value.as_deref().expect("resolved map");
            let mut out = Map::new();
            for (k, item) in entries {
                let Cbor::Text(k) = k else {
                    return bad("text map keys");
                };
                let conv = if item.is_null() {
                    Value::Null
                } else {
                    from_wire(m, value.shape, item, &format!("{path}.{k}"))?
                };
                out.insert(k, conv);
            }
            Ok(Value::Object(out))
        }
        Kind::String => match v {
            Cbor::Text(s) => Ok(Value::from(s)),
            _ => bad("a string"),
        },
        Kind::Boolean => match v {
            Cbor::Bool(b) => Ok(Value::Bool(b)),
            _ => bad("a boolean"),
        },
        k if k.is_integer() => match v {
            Cbor::Integer(i) => Ok(int_value(i)),
            Cbor::Float(f) if f.fract() == 0.0 => Ok(Value::from(f as i64)),
            _ => bad("an integer"),
        },
        k if k.is_float() => match v {
            Cbor::Float(f) => Ok(float_value(f)),
            Cbor::Integer(i) => Ok(int_value(i)),
            _ => bad("a number"),
        },
        Kind::Blob => match v {
            Cbor::Bytes(b) => Ok(Value::from(b64_encode(&b))),
            Cbor::Text(s) => Ok(Value::from(b64_encode(s.as_bytes()))),
            _ => bad("a byte string"),
        },
        Kind::Timestamp => {
            let inner = match v {
                Cbor::Tag(_, inner) => *inner,
                other => other,
            };
            match inner {
                Cbor::Integer(i) => Ok(int_value(i)),
                Cbor::Float(f) if f.is_finite() => Ok(timestamp::epoch_number(f)),
                _ => bad("a timestamp"),
            }
        }
        _ => Ok(generic(v)),
    }
}

pub(crate) fn to_wire(m: &Model, id: ShapeId, v: &Value) -> Cbor {
    let shape = m.shape(id);
    match (shape.kind, v) {
        (Kind::Structure, Value::Object(obj)) => {
            let mut out = Vec::new();
            for member in &shape.members {
                if let Some(val) = obj.get(&member.name).filter(|v| !v.is_null()) {
                    out.push((
                        Cbor::Text(member.name.clone()),
                        to_wire(m, member.shape, val),
                    ));
                }
            }
            Cbor::Map(out)
        }
        (Kind::List, Value::Array(items)) => {
            let member = shape.member.as_deref().expect("resolved list");
            Cbor::Array(
                items
                    .iter()
                    .map(|i| {
                        if i.is_null() {
                            Cbor::Null
                        } else {
                            to_wire(m, member.shape, i)
                        }
                    })
                    .collect(),
            )
        }
        (Kind::Map, Value::Object(obj)) => {
            let value = shape.value.as_deref().expect("resolved map");
            Cbor::Map(
                obj.iter()
                    .map(|(k, i)| {
                        let w = if i.is_null() {
                            Cbor::Null
                        } else {
                            to_wire(m, value.shape, i)
                        };
                        (Cbor::Text(k.clone()), w)
                    })
                    .collect(),
            )
        }
        (Kind::Blob, Value::String(s)) => {
            Cbor::Bytes(b64_decode(s).unwrap_or_else(|| s.as_bytes().to_vec()))
        }
        (Kind::Timestamp, v) => match timestamp_of(v) {
            Some(secs) => Cbor::Tag(
                1,
                Box::new(if secs.fract() == 0.0 {
                    Cbor::Integer((secs as i64).into())
                } else {
                    Cbor::Float(secs)
                }),
            ),
            None => Cbor::Null,
        },
        (k, v) if k.is_float() => match (v, float_of(v)) {
            (Value::Number(n), _) if n.is_i64() => Cbor::Integer(n.as_i64().unwrap_or(0).into()),
            (_, Some(f)) => Cbor::Float(f),
            _ => Cbor::Null,
        },
        (_, v) => generic_to_cbor(v),
    }
}

pub(crate) fn generic_to_cbor(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cbor::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Cbor::Integer(u.into())
            } else {
                Cbor::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(generic_to_cbor).collect()),
        Value::Object(o) => Cbor::Map(
            o.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), generic_to_cbor(v)))
                .collect(),
        ),
    }
}

pub(crate) fn to_bytes(v: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ciborium::into_writer(v, &mut out);
    out
}

pub(crate) fn decode<'m>(
    model: &'m ServiceModel,
    head: &RequestHead<'_>,
    bytes: &[u8],
) -> Result<(&'m Operation, Value), AwsError> {
    let name = head
        .path
        .trim_end_matches('/')
        .rsplit_once("/operation/")
        .map(|(_, op)| op)
        .unwrap_or("");
    let op = model.operation(name).ok_or_else(|| {
        AwsError::new(
            "UnknownOperationException",
            format!("Unknown operation {}", head.path),
            404,
        )
    })?;
    let Some(input) = &op.input else {
        return Ok((op, Value::Object(Map::new())));
    };
    if bytes.is_empty() {
        return Ok((op, Value::Object(Map::new())));
    }
    let wire: Cbor = ciborium::from_reader(bytes)
        .map_err(|e| serialization_error(format!("Malformed CBOR body: {e}")))?;
    let v = from_wire(&model.model, input.shape, wire, "input").map_err(serialization_error)?;
    Ok((op, v))
}

fn headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/cbor".into()),
        ("smithy-protocol".into(), "rpc-v2-cbor".into()),
    ]
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
) -> Result<HttpResponse, AwsError> {
    let body = match &op.output {
        Some(r) => to_wire(&model.model, r.shape, output),
        None => Cbor::Map(vec![]),
    };
    Ok(HttpResponse {
        status: 200,
        headers: headers(),
        body: ResponseBody::Bytes(to_bytes(&body)),
    })
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let type_name = error_type_name(model, error, ctx);
    let mut entries = vec![(Cbor::Text("__type".into()), Cbor::Text(type_name))];
    if let (Some(id), Some(extra)) = (ctx.shape, &error.extra)
        && let Cbor::Map(more) = to_wire(&model.model, id, &Value::Object(extra.clone()))
    {
        entries.extend(more);
    } else if let Some(extra) = &error.extra {
        for (k, v) in extra {
            entries.push((Cbor::Text(k.clone()), generic_to_cbor(v)));
        }
    }
    let message_key = ctx
        .shape
        .and_then(|id| {
            model
                .model
                .shape(id)
                .members
                .iter()
                .find(|mm| mm.name.eq_ignore_ascii_case("message"))
                .map(|mm| mm.name.clone())
        })
        .unwrap_or_else(|| "message".into());
    entries.retain(|(k, _)| !matches!(k, Cbor::Text(t) if *t == message_key));
    entries.push((Cbor::Text(message_key), Cbor::Text(error.message.clone())));
    let mut headers = headers();
    headers.extend(query_error_header(model, error, ctx));
    HttpResponse {
        status: ctx.status,
        headers,
        body: ResponseBody::Bytes(to_bytes(&Cbor::Map(entries))),
    }
}
