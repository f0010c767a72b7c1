//! Validation of decoded input against the model: required members, enum
//! values, min/max lengths and ranges. Unknown members never get this far
//! (the decoders drop them, as AWS does).

use serde_json::Value;

use crate::model::{Kind, Model, ShapeId};
use crate::scalar::{b64_decode, float_of};
use crate::{AwsError, Protocol};

fn missing(protocol: Protocol, path: &str) -> AwsError {
    match protocol {
        Protocol::Query | Protocol::Ec2 => AwsError::new(
            "MissingParameter",
            format!("The request must contain the parameter {path}"),
            400,
        ),
        _ => AwsError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
            ),
            400,
        ),
    }
}

fn invalid(protocol: Protocol, msg: String) -> AwsError {
    let code = match protocol {
        Protocol::Query => "ValidationError",
        Protocol::Ec2 => "InvalidParameterValue",
        _ => "ValidationException",
    };
    AwsError::new(code, format!("1 validation error detected: {msg}"), 400)
}

pub(crate) fn validate(
    m: &Model,
    id: ShapeId,
    v: &Value,
    protocol: Protocol,
) -> Result<(), AwsError> {
    walk(m, id, v, protocol, "")
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn walk(m: &Model, id: ShapeId, v: &Value, protocol: Protocol, path: &str) -> Result<(), AwsError> {
    let shape = m.shape(id);
    if v.is_null() {
        return Ok(());
    }
    let join = |name: &str| {
        if path.is_empty() {
            lower_first(name)
        } else {
            format!("{path}.{}", lower_first(name))
        }
    };
    let len_check = |len: usize, what: &str| -> Result<(), AwsError> {
        if let Some(min) = shape.min
            && (len as f64) < min
        {
            return Err(invalid(
                protocol,
                format!(
                    "Value at '{path}' failed to satisfy constraint: Member must have {what} greater than or equal to {min}"
                ),
            ));
        }
        if let Some(max) = shape.max
            && (len as f64) > max
        {
            return Err(invalid(
                protocol,
                format!(
                    "Value at '{path}' failed to satisfy constraint: Member must have {what} less than or equal to {max}"
                ),
            ));
        }
        Ok(())
    };
    match shape.kind {
        Kind::Structure => {
            let Value::Object(obj) = v else { return Ok(()) };
            for member in &shape.members {
                match obj.get(&member.name) {
                    None | Some(Value::Null) => {
                        // Idempotency tokens are filled in by clients; a
                        // streaming payload may be empty.
                        let streaming = member.streaming || m.shape(member.shape).streaming;
                        if member.required && !member.idempotency_token && !streaming {
                            return Err(missing(protocol, &member.name));
                        }
                    }
                    Some(val) => walk(m, member.shape, val, protocol, &join(&member.name))?,
                }
            }
        }
        Kind::List => {
            let Value::Array(items) = v else {
                return Ok(());
            };
            len_check(items.len(), "length")?;
            let member = shape.member.as_deref().expect("resolved list");
            for (i, item) in items.iter().enumerate() {
                walk(
                    m,
                    member.shape,
                    item,
                    protocol,
                    &format!("{path}.{}", i + 1),
                )?;
            }
        }
        Kind::Map => {
            let Value::Object(obj) = v else { return Ok(()) };
            len_check(obj.len(), "length")?;
            let value = shape.value.as_deref().expect("resolved map");
            for (k, item) in obj {
                walk(m, value.shape, item, protocol, &format!("{path}.{k}"))?;
            }
        }
        Kind::String => {
            let Some(s) = v.as_str() else { return Ok(()) };
            if let Some(values) = &shape.enum_values
                && !values.iter().any(|e| e == s)
            {
                return Err(invalid(
                    protocol,
                    format!(
                        "Value '{s}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    ),
                ));
            }
            len_check(s.chars().count(), "length")?;
        }
        Kind::Blob => {
            if let Some(s) = v.as_str()
                && let Some(bytes) = b64_decode(s)
            {
                len_check(bytes.len(), "length")?;
            }
        }
        k if k.is_integer() || k.is_float() => {
            let Some(f) = float_of(v) else { return Ok(()) };
            if let Some(min) = shape.min
                && f < min
            {
                return Err(invalid(
                    protocol,
                    format!(
                        "Value '{f}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
                    ),
                ));
            }
            if let Some(max) = shape.max
                && f > max
            {
                return Err(invalid(
                    protocol,
                    format!(
                        "Value '{f}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}"
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
