//! Calls into other services through the host's dispatcher (the same path as
//! HTTP, without the wire). A call ends the current store unit: what the
//! handler wrote so far commits, and later writes form a new unit.

use std::cell::RefCell;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

use crate::generated::ministack::plugin::services as wit;
use crate::{AwsError, Context};

/// Which service, in which account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Plugin name, e.g. `"sqs"`.
    pub service: String,
    pub account: String,
    pub region: String,
}

impl Target {
    /// `service` in the caller's account and region.
    pub fn new(service: &str, ctx: &Context) -> Self {
        Target {
            service: service.to_string(),
            account: ctx.account.clone(),
            region: ctx.region.clone(),
        }
    }

    /// `service` in another account or region (e.g. from a resource ARN).
    pub fn at(service: &str, account: &str, region: &str) -> Self {
        Target {
            service: service.to_string(),
            account: account.to_string(),
            region: region.to_string(),
        }
    }
}

/// Calls `operation` with typed input and output.
///
/// ```text
/// let role: GetRoleResponse = services::call(&Target::new("iam", ctx), "GetRole", &GetRole { role_name })?;
/// ```
pub fn call<In: Serialize, Out: DeserializeOwned>(
    target: &Target,
    operation: &str,
    input: &In,
) -> Result<Out, AwsError> {
    let input_json = crate::json::to_string(input)
        .map_err(|e| AwsError::internal(format!("cannot encode input of {operation}: {e}")))?;
    let output = call_json(target, operation, &input_json)?;
    serde_json::from_str(&output).map_err(|e| {
        AwsError::internal(format!(
            "unexpected output of {}:{operation}: {e}",
            target.service
        ))
    })
}

/// Calls `operation` with JSON input; JSON output.
pub fn call_json(target: &Target, operation: &str, input_json: &str) -> Result<String, AwsError> {
    wit::call(&wit_target(target), operation, input_json).map_err(Into::into)
}

/// The resource a delivery is made for (an SNS topic, a bucket, an
/// EventBridge rule): under ENFORCE_IAM=1 the host authorizes
/// [`call_from`] as AWS does, as the calling service's principal
/// (`sns.amazonaws.com`) with `aws:SourceArn` / `aws:SourceAccount`, or as
/// `role_arn` when AWS assumes a role for the call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    pub arn: String,
    pub account: String,
    pub role_arn: Option<String>,
}

impl Source {
    /// The service principal acting for resource `arn` of `account`.
    pub fn resource(arn: &str, account: &str) -> Self {
        Source {
            arn: arn.to_string(),
            account: account.to_string(),
            role_arn: None,
        }
    }

    /// The same source, acting as `role_arn` when there is one.
    pub fn with_role(mut self, role_arn: Option<&str>) -> Self {
        self.role_arn = role_arn.filter(|r| !r.is_empty()).map(str::to_string);
        self
    }

    fn wit(&self) -> wit::Source {
        wit::Source {
            arn: self.arn.clone(),
            account: self.account.clone(),
            role_arn: self.role_arn.clone(),
        }
    }
}

fn wit_target(target: &Target) -> wit::Target {
    wit::Target {
        service: target.service.clone(),
        account: target.account.clone(),
        region: target.region.clone(),
    }
}

/// [`call_json`] made for `source` (a delivery): refused with AWS's
/// AccessDenied under ENFORCE_IAM=1 when the target does not allow it.
pub fn call_from(
    source: &Source,
    target: &Target,
    operation: &str,
    input_json: &str,
) -> Result<String, AwsError> {
    wit::call_from(&source.wit(), &wit_target(target), operation, input_json).map_err(Into::into)
}

/// Would [`call_from`] be allowed? Always `Ok` without ENFORCE_IAM=1. Does
/// not make the call (S3 validates notification destinations this way).
pub fn authorize_from(
    source: &Source,
    target: &Target,
    operation: &str,
    input_json: &str,
) -> Result<(), AwsError> {
    wit::authorize_from(&source.wit(), &wit_target(target), operation, input_json)
        .map_err(Into::into)
}

/// A call's input with text attached: JSON that names each attachment by
/// `[offset, length]` ([`Attached`] on the callee's side), and the
/// attachments after it. A caller hands over text that is JSON already (an
/// EventBridge event as an SQS body) as it is: written as a JSON string,
/// each of its quotes would be escaped here and unescaped there, and as a
/// JSON value the callee would scan it token by token to capture it (a
/// tenth of a PutEvents → SQS, in wasm). The callee slices it out.
///
/// On the wire (one string, as `services.call` takes): a NUL byte, the
/// JSON's length in decimal, a NUL byte, the JSON, the attachments. A JSON
/// text never begins with NUL, so text without attachments is plain JSON;
/// the host reads the JSON part of either (docs/dispatch.md, "Text
/// attached to a call").
#[derive(Debug, Default)]
pub struct Input {
    /// The JSON text, written by the caller.
    pub json: String,
    attachments: String,
}

impl Input {
    pub fn new() -> Self {
        Input::default()
    }

    /// Attaches `text` and writes its `[offset,length]` into the JSON.
    pub fn attach(&mut self, text: &str) {
        self.json.push('[');
        push_decimal(&mut self.json, self.attachments.len());
        self.json.push(',');
        push_decimal(&mut self.json, text.len());
        self.json.push(']');
        self.attachments.push_str(text);
    }

    /// The text to pass as a call's input.
    pub fn into_text(self) -> String {
        if self.attachments.is_empty() {
            return self.json;
        }
        join_input(&self.json, &self.attachments)
    }
}

fn push_decimal(out: &mut String, n: usize) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// An input's text of `json` and `attachments` (see [`Input`]).
fn join_input(json: &str, attachments: &str) -> String {
    let mut digits = itoa::Buffer::new();
    let len = digits.format(json.len());
    let mut text = String::with_capacity(len.len() + 2 + json.len() + attachments.len());
    text.push('\0');
    text.push_str(len);
    text.push('\0');
    text.push_str(json);
    text.push_str(attachments);
    text
}

/// An input's text split into its JSON and its attachments (empty when it
/// has none, or when its header is not one [`Input`] writes: the JSON parse
/// then fails on the NUL and says so).
pub(crate) fn split_input(text: String) -> (String, String) {
    let Some(rest) = text.strip_prefix('\0') else {
        return (text, String::new());
    };
    let Some((len, body)) = rest.split_once('\0') else {
        return (text, String::new());
    };
    match len.parse::<usize>() {
        Ok(n) if body.is_char_boundary(n) => (body[..n].to_string(), body[n..].to_string()),
        _ => (text, String::new()),
    }
}

thread_local! {
    /// The attachments of the call being handled ([`Attached`] reads them).
    static ATTACHMENTS: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` with `attachments` as the current call's.
pub(crate) fn with_attachments<R>(attachments: String, f: impl FnOnce() -> R) -> R {
    if attachments.is_empty() && ATTACHMENTS.with_borrow(String::is_empty) {
        return f();
    }
    let outer = ATTACHMENTS.replace(attachments);
    let r = f();
    ATTACHMENTS.set(outer);
    r
}

/// `json` with the current call's attachments, as it was given: what a
/// handler forwarding its input to another place passes on.
pub(crate) fn with_current_attachments(json: &str) -> std::borrow::Cow<'_, str> {
    ATTACHMENTS.with_borrow(|a| {
        if a.is_empty() {
            std::borrow::Cow::Borrowed(json)
        } else {
            std::borrow::Cow::Owned(join_input(json, a))
        }
    })
}

/// A member given as an attachment of the call's input ([`Input::attach`]),
/// read as its text. Only other plugins send one: the host passes clients'
/// requests as plain JSON, without members the model does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached(pub String);

impl<'de> Deserialize<'de> for Attached {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (at, len) = <(usize, usize)>::deserialize(d)?;
        ATTACHMENTS
            .with_borrow(|all| {
                at.checked_add(len)
                    .and_then(|end| all.get(at..end))
                    .map(|s| Attached(s.to_string()))
            })
            .ok_or_else(|| D::Error::custom("an attachment out of the input's range"))
    }
}

/// One call of [`call_all`].
pub struct Call {
    pub target: Target,
    pub operation: String,
    pub input_json: String,
}

/// Runs several calls concurrently (the host runs each as a task of its
/// own); one result per call, in order. Like [`call_json`] it ends the
/// current store unit first and begins a new one when all have returned.
/// Needs a host with `services.call-all` (ministack:plugin@0.1, minor).
pub fn call_all(calls: &[Call]) -> Vec<Result<String, AwsError>> {
    if calls.is_empty() {
        return Vec::new();
    }
    let list: Vec<(wit::Target, String, String)> = calls
        .iter()
        .map(|c| {
            (
                wit::Target {
                    service: c.target.service.clone(),
                    account: c.target.account.clone(),
                    region: c.target.region.clone(),
                },
                c.operation.clone(),
                c.input_json.clone(),
            )
        })
        .collect();
    wit::call_all(&list)
        .into_iter()
        .map(|r| r.map_err(Into::into))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "Body")]
        body: Attached,
        #[serde(rename = "Id")]
        id: String,
    }

    fn parse(text: String) -> Result<Vec<Entry>, serde_json::Error> {
        let (json, attachments) = split_input(text);
        with_attachments(attachments, || serde_json::from_str(&json))
    }

    #[test]
    fn attachments_come_back_as_given() {
        let bodies = ["{\"a\":\"\\\"q\"}", "", "é\u{1F600}\0x", "plain"];
        let mut input = Input::new();
        input.json.push('[');
        for (i, b) in bodies.iter().enumerate() {
            if i > 0 {
                input.json.push(',');
            }
            input.json.push_str(&format!("{{\"Id\":\"{i}\",\"Body\":"));
            input.attach(b);
            input.json.push('}');
        }
        input.json.push(']');
        let text = input.into_text();
        assert!(text.starts_with('\0'));
        let got = parse(text).unwrap();
        assert_eq!(got.len(), bodies.len());
        for (i, (e, b)) in got.iter().zip(bodies).enumerate() {
            assert_eq!(
                (e.id.as_str(), e.body.0.as_str()),
                (i.to_string().as_str(), b)
            );
        }
        // Nothing leaks into the next call.
        assert!(ATTACHMENTS.with_borrow(String::is_empty));
    }

    #[test]
    fn plain_json_stays_plain() {
        let mut input = Input::new();
        input.json.push_str("{\"x\":1}");
        assert_eq!(input.into_text(), "{\"x\":1}");
        let (json, attachments) = split_input("{\"x\":1}".to_string());
        assert_eq!((json.as_str(), attachments.as_str()), ("{\"x\":1}", ""));
    }

    #[test]
    fn bad_references_and_headers_are_errors_not_panics() {
        for text in [
            "\u{0}9\u{0}[{\"Id\":\"0\",\"Body\":[0,5]}]abc",
            "[{\"Id\":\"0\",\"Body\":[0,0]}]",
            "\u{0}x\u{0}[]",
            "\u{0}999\u{0}[]",
            "\u{0}",
        ] {
            let (json, attachments) = split_input(text.to_string());
            let r: Result<Vec<Entry>, _> =
                with_attachments(attachments, || serde_json::from_str(&json));
            if text.starts_with("[{") {
                // No attachments at all: an empty slice at 0 is the only one.
                assert_eq!(r.unwrap()[0].body.0, "");
            } else {
                assert!(r.is_err(), "{text:?}");
            }
        }
        // A reference past the end, its end overflowing.
        let json = "[{\"Id\":\"0\",\"Body\":[18446744073709551615,2]}]";
        assert!(parse(format!("\0{}\0{json}x", json.len())).is_err());
        // A reference cutting a character in two.
        let json = "[{\"Id\":\"0\",\"Body\":[0,1]}]";
        let text = format!("\0{}\0{json}é", json.len());
        assert!(parse(text).is_err());
    }

    #[test]
    fn forwarding_keeps_the_attachments() {
        let mut input = Input::new();
        input.json.push_str("{\"Body\":");
        input.attach("hello");
        input.json.push_str(",\"Id\":\"1\"}");
        let text = input.into_text();
        let (json, attachments) = split_input(text.clone());
        let again = with_attachments(attachments, || with_current_attachments(&json).into_owned());
        assert_eq!(again, text);
        assert_eq!(with_current_attachments(&json), json);
    }
}
