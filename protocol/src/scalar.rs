//! Scalars between wire text (query strings, headers, XML text, form values)
//! and our JSON conventions (docs/json-conventions.md).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

use crate::model::{Kind, TsFormat};
use crate::timestamp;

/// A float in our JSON: a number, or "NaN" / "Infinity" / "-Infinity".
pub(crate) fn float_value(f: f64) -> Value {
    if f.is_nan() {
        Value::from("NaN")
    } else if f.is_infinite() {
        Value::from(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Reads a float from our JSON (numbers and the three special strings).
pub(crate) fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => s.parse().ok(),
        },
        _ => None,
    }
}

/// Reads a timestamp (epoch seconds) from our JSON; strings in any AWS format
/// are accepted too, so a plugin may return ISO 8601 text.
pub(crate) fn timestamp_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => timestamp::parse_any(s),
        _ => None,
    }
}

pub(crate) fn format_timestamp(secs: f64, format: TsFormat) -> String {
    match format {
        TsFormat::Iso8601 => timestamp::format_iso8601(secs),
        TsFormat::Rfc822 => timestamp::format_http_date(secs),
        TsFormat::UnixTimestamp => timestamp::format_epoch(secs),
    }
}

pub(crate) fn parse_timestamp(text: &str, format: TsFormat) -> Option<f64> {
    let t = text.trim();
    match format {
        TsFormat::Iso8601 => timestamp::parse_iso8601(t).or_else(|| timestamp::parse_any(t)),
        TsFormat::Rfc822 => timestamp::parse_http_date(t).or_else(|| timestamp::parse_any(t)),
        TsFormat::UnixTimestamp => t.parse().ok().or_else(|| timestamp::parse_any(t)),
    }
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    B64.decode(s.trim()).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s.trim().trim_end_matches('='))
            .ok()
    })
}

/// Wire text → our JSON, for a scalar of `kind`. `Err` names the expected type.
pub(crate) fn parse_text(kind: Kind, ts: TsFormat, text: &str) -> Result<Value, &'static str> {
    Ok(match kind {
        Kind::String => Value::from(text),
        Kind::Boolean => match text.trim() {
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            _ => return Err("boolean"),
        },
        Kind::Integer | Kind::Long | Kind::Short | Kind::Byte | Kind::BigInteger => {
            let t = text.trim();
            if let Ok(i) = t.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = t.parse::<u64>() {
                Value::from(u)
            } else if kind == Kind::BigInteger {
                t.parse::<f64>().map(float_value).map_err(|_| "integer")?
            } else {
                return Err("integer");
            }
        }
        Kind::Float | Kind::Double | Kind::BigDecimal => {
            let t = text.trim();
            match t {
                "NaN" | "Infinity" | "-Infinity" => Value::from(t),
                _ => float_value(t.parse::<f64>().map_err(|_| "number")?),
            }
        }
        Kind::Blob => Value::from(text.trim()),
        Kind::Timestamp => timestamp::epoch_number(parse_timestamp(text, ts).ok_or("timestamp")?),
        Kind::Document => serde_json::from_str(text).unwrap_or_else(|_| Value::from(text)),
        Kind::Structure | Kind::List | Kind::Map => return Err("scalar"),
    })
}

/// Our JSON → wire text for a scalar (None when the value has the wrong type).
pub(crate) fn to_text(kind: Kind, ts: TsFormat, v: &Value) -> Option<String> {
    Some(match (kind, v) {
        (Kind::Timestamp, v) => format_timestamp(timestamp_of(v)?, ts),
        (Kind::Float | Kind::Double | Kind::BigDecimal, v) => {
            let f = float_of(v)?;
            if f.is_nan() {
                "NaN".into()
            } else if f.is_infinite() {
                if f > 0.0 {
                    "Infinity".into()
                } else {
                    "-Infinity".into()
                }
            } else if let Value::Number(n) = v {
                n.to_string()
            } else {
                f.to_string()
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (Kind::Document, other) => other.to_string(),
        _ => return None,
    })
}

/// `obj.get(name)` for the small objects of the response path: a linear
/// scan with memcmp beats hashing the key (SipHash) below a few dozen keys.
/// Byte equality for the short keys of JSON objects, inline: length and
/// first byte reject most keys, then 8-byte words (no `memcmp` call).
#[inline]
pub(crate) fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.first() != b.first() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        if u64::from_ne_bytes(x.try_into().unwrap_or_default())
            != u64::from_ne_bytes(y.try_into().unwrap_or_default())
        {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

pub(crate) fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() <= 24 {
        // Length and first byte first: most keys differ there, which saves
        // a memcmp call per comparison.
        let name = name.as_bytes();
        obj.iter()
            .find(|(k, _)| short_eq(k.as_bytes(), name))
            .map(|(_, v)| v)
    } else {
        obj.get(name)
    }
}
