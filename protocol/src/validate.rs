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
    invalid_all(protocol, vec![msg])
}

/// AWS reports every constraint a request breaks at once:
/// `3 validation errors detected: <a>; <b>; <c>`.
fn invalid_all(protocol: Protocol, messages: Vec<String>) -> AwsError {
    let code = match protocol {
        Protocol::Query => "ValidationError",
        Protocol::Ec2 => "InvalidParameterValue",
        _ => "ValidationException",
    };
    let n = messages.len();
    let plural = if n == 1 { "error" } else { "errors" };
    AwsError::new(
        code,
        format!("{n} validation {plural} detected: {}", messages.join("; ")),
        400,
    )
}

/// `open_enums`: string shapes whose enum the service checks itself, with
/// its own error (a quirk, e.g. SQS's attribute names).
pub(crate) fn validate(
    m: &Model,
    id: ShapeId,
    v: &Value,
    protocol: Protocol,
    open_enums: &[&str],
) -> Result<(), AwsError> {
    let walk = Walk {
        m,
        protocol,
        open_enums,
        found: std::cell::RefCell::new(Vec::new()),
    };
    walk.walk(id, v, Path::ROOT)?;
    let found = walk.found.into_inner();
    if found.is_empty() {
        Ok(())
    } else {
        Err(invalid_all(protocol, found))
    }
}

struct Walk<'a> {
    m: &'a Model,
    protocol: Protocol,
    open_enums: &'a [&'a str],
    /// Constraint violations found so far (JSON protocols report them all).
    found: std::cell::RefCell<Vec<String>>,
}

/// Where a value is in the input, rendered (`tags.1`, `item.name`) only
/// for a violation's message: most requests break no constraint.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    /// A structure member, by its model name (shown lower-camel).
    Member(&'a str),
    /// A list item (shown 1-based).
    Index(usize),
    /// A map entry.
    Key(&'a str),
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        step: Step::Root,
    };

    fn then(&'a self, step: Step<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            step,
        }
    }

    fn render(&self) -> String {
        let parent = self.parent.map(Path::render).unwrap_or_default();
        match self.step {
            Step::Root => String::new(),
            Step::Member(name) if parent.is_empty() => lower_first(name),
            Step::Member(name) => format!("{parent}.{}", lower_first(name)),
            Step::Index(i) => format!("{parent}.{}", i + 1),
            Step::Key(k) => format!("{parent}.{k}"),
        }
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A number as the request wrote it (`5`, not `5.0`).
fn number(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Walk<'_> {
    /// Records a violation: the query protocols stop at the first one, the
    /// JSON ones collect them all (AWS caps the list at ten).
    fn fail(&self, message: String) -> Result<(), AwsError> {
        if matches!(self.protocol, Protocol::Query | Protocol::Ec2) {
            return Err(invalid(self.protocol, message));
        }
        let mut found = self.found.borrow_mut();
        if found.len() < 10 {
            found.push(message);
        }
        Ok(())
    }

    fn walk(&self, id: ShapeId, v: &Value, path: Path<'_>) -> Result<(), AwsError> {
        let (m, protocol) = (self.m, self.protocol);
        let shape = m.shape(id);
        if v.is_null() {
            return Ok(());
        }
        // A string's value is quoted in the message, as AWS does.
        let shown = || match v {
            Value::String(s) => format!("'{s}' "),
            _ => String::new(),
        };
        let len_check = |len: usize, what: &str| -> Result<(), AwsError> {
            if let Some(min) = shape.min
                && (len as f64) < min
            {
                return self.fail(format!(
                    "Value {}at '{path}' failed to satisfy constraint: Member must have {what} greater than or equal to {min}",
                    shown()
                ));
            }
            if let Some(max) = shape.max
                && (len as f64) > max
            {
                return self.fail(format!(
                    "Value {}at '{path}' failed to satisfy constraint: Member must have {what} less than or equal to {max}",
                    shown()
                ));
            }
            Ok(())
        };
        match shape.kind {
            Kind::Structure => {
                let Value::Object(obj) = v else { return Ok(()) };
                // The members present, in the model's order (violations are
                // reported in it), found by name in the shape: a request
                // names a few of a structure's members, and looking each
                // member up in the input's map hashed every name.
                let mut present: Vec<(usize, &Value)> = obj
                    .iter()
                    .filter_map(|(k, v)| shape.member_index(k).map(|i| (i, v)))
                    .collect();
                present.sort_unstable_by_key(|&(i, _)| i);
                let mut present = present.into_iter().peekable();
                for (i, member) in shape.members.iter().enumerate() {
                    match present.next_if(|&(j, _)| j == i).map(|(_, v)| v) {
                        None | Some(Value::Null) => {
                            // Idempotency tokens are filled in by clients; a
                            // streaming payload may be empty. (Most members
                            // are optional: their shapes are not looked up.)
                            if member.required
                                && !member.idempotency_token
                                && !member.streaming
                                && !m.shape(member.shape).streaming
                            {
                                if matches!(protocol, Protocol::Query | Protocol::Ec2) {
                                    return Err(missing(protocol, &member.name));
                                }
                                self.fail(format!(
                                    "Value null at '{}' failed to satisfy constraint: Member must not be null",
                                    path.then(Step::Member(&member.name))
                                ))?;
                            }
                        }
                        Some(val) => {
                            self.walk(member.shape, val, path.then(Step::Member(&member.name)))?
                        }
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
                    self.walk(member.shape, item, path.then(Step::Index(i)))?;
                }
            }
            Kind::Map => {
                let Value::Object(obj) = v else { return Ok(()) };
                len_check(obj.len(), "length")?;
                let value = shape.value.as_deref().expect("resolved map");
                for (k, item) in obj {
                    self.walk(value.shape, item, path.then(Step::Key(k)))?;
                }
            }
            Kind::String => {
                let Some(s) = v.as_str() else { return Ok(()) };
                if let Some(values) = &shape.enum_values
                    && !values.iter().any(|e| e == s)
                    && !self.open_enums.contains(&shape.name.as_str())
                {
                    self.fail(format!(
                        "Value '{s}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    ))?;
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
                    return self.fail(format!(
                        "Value '{}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                        number(v)
                    ));
                }
                if let Some(max) = shape.max
                    && f > max
                {
                    return self.fail(format!(
                        "Value '{}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                        number(v)
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::http::{HeaderMap, HeaderValue, Method};
    use crate::{Protocol, RequestBody, RequestHead, ServiceModel, decode_request};

    const MODEL: &str = r#"{
      "metadata": {"apiVersion": "2020-01-01", "protocol": "json", "protocols": ["json", "query"],
                   "jsonVersion": "1.0", "targetPrefix": "Svc"},
      "operations": {"Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"},
                             "input": {"shape": "PutInput"}}},
      "shapes": {
        "PutInput": {"type": "structure", "required": ["Name"], "members": {
          "Name": {"shape": "Name"}, "Count": {"shape": "Count"}, "Mode": {"shape": "Mode"},
          "Tags": {"shape": "Tags"}, "Token": {"shape": "Name", "idempotencyToken": true}}},
        "Name": {"type": "string", "min": 1, "max": 5},
        "Count": {"type": "integer", "min": 1, "max": 10},
        "Mode": {"type": "string", "enum": ["A", "B"]},
        "Tags": {"type": "list", "member": {"shape": "Name"}, "max": 2}
      }
    }"#;

    fn json(body: &str) -> Result<serde_json::Value, (Protocol, crate::AwsError)> {
        let m = ServiceModel::from_json(MODEL).unwrap();
        crate::test_support::decode_json_put(&m, body)
    }

    fn query(body: &str) -> Result<serde_json::Value, (Protocol, crate::AwsError)> {
        let m = ServiceModel::from_json(MODEL).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let head = RequestHead {
            method: &Method::POST,
            path: "/",
            query: "",
            headers: &h,
        };
        decode_request(&m, &head, RequestBody::Bytes(body.to_string().into())).map(|d| d.input)
    }

    fn code(r: Result<serde_json::Value, (Protocol, crate::AwsError)>) -> String {
        r.unwrap_err().1.code
    }

    #[test]
    fn valid_input_passes_and_unknown_members_are_dropped() {
        let v = json(r#"{"Name":"ab","Count":3,"Mode":"A","Tags":["x"],"Bogus":1}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Name":"ab","Count":3,"Mode":"A","Tags":["x"]})
        );
    }

    #[test]
    fn json_errors() {
        assert_eq!(code(json(r#"{"Count":3}"#)), "ValidationException");
        assert_eq!(code(json(r#"{"Name":""}"#)), "ValidationException");
        assert_eq!(code(json(r#"{"Name":"toolong"}"#)), "ValidationException");
        assert_eq!(
            code(json(r#"{"Name":"a","Count":11}"#)),
            "ValidationException"
        );
        assert_eq!(
            code(json(r#"{"Name":"a","Mode":"C"}"#)),
            "ValidationException"
        );
        assert_eq!(
            code(json(r#"{"Name":"a","Tags":["x","y","z"]}"#)),
            "ValidationException"
        );
        assert_eq!(code(json(r#"{"Name":5}"#)), "SerializationException");
        assert_eq!(
            code(json(r#"{"Name":"a","Count":"3"}"#)),
            "SerializationException"
        );
        assert_eq!(code(json("[1,2")), "SerializationException");
        // The idempotency token is not required even though a client fills it in.
        assert!(json(r#"{"Name":"a"}"#).is_ok());
    }

    #[test]
    fn query_errors() {
        assert!(query("Action=Put&Name=ab&Tags.member.1=x").is_ok());
        assert_eq!(code(query("Action=Put&Count=2")), "MissingParameter");
        assert_eq!(
            code(query("Action=Put&Name=a&Count=x")),
            "InvalidParameterValue"
        );
        assert_eq!(code(query("Action=Put&Name=a&Mode=C")), "ValidationError");
        assert_eq!(code(query("Action=Nope")), "InvalidAction");
        assert_eq!(code(query("Name=a")), "MissingAction");
    }
}
