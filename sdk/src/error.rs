//! AWS errors as a plugin returns them.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::generated::ministack::plugin::types::AwsError as WitAwsError;

/// An AWS error: a code and a message, written by the host in the envelope of
/// the service's protocol.
///
/// When `status` is `None` the host takes the HTTP status from the model's error
/// shape with this code (and 400 for a sender fault it does not know, 500
/// otherwise). The generic constructors below set the status AWS uses for
/// codes that are usually not in a service's model.
///
/// Codes differ by protocol family: query services (STS, IAM, SNS, SQS-query,
/// EC2...) say `ValidationError` / `AccessDenied` / `InvalidAction`; JSON
/// services say `ValidationException` / `AccessDeniedException` /
/// `UnknownOperationException`. Use the constructor that matches the service.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    /// True when the caller is at fault (`Sender` in query errors, 4xx).
    pub sender_fault: bool,
    /// Additional members of the error shape (e.g. `{"Resource": ...}`).
    /// Boxed to keep `Result<_, AwsError>` small.
    pub extra: Option<Box<Map<String, Value>>>,
}

impl AwsError {
    /// A caller-fault error with this code; the status comes from the model.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            status: None,
            sender_fault: true,
            extra: None,
        }
    }

    /// A service-fault error with this code (HTTP 500 unless set otherwise).
    pub fn server(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError {
            status: Some(500),
            sender_fault: false,
            ..AwsError::new(code, message)
        }
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Marks the error as the caller's fault or the service's.
    pub fn sender_fault(mut self, sender_fault: bool) -> Self {
        self.sender_fault = sender_fault;
        self
    }

    /// Adds a member of the error shape (serialized as JSON).
    pub fn with_member(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extra
            .get_or_insert_with(Default::default)
            .insert(name.to_string(), value);
        self
    }

    // --- validation ---

    /// `ValidationException` (400): JSON and rest-json services.
    pub fn validation(message: impl Into<String>) -> Self {
        AwsError::new("ValidationException", message).with_status(400)
    }

    /// `ValidationError` (400): query-protocol services (STS, IAM, SNS, CloudFormation...).
    pub fn validation_error(message: impl Into<String>) -> Self {
        AwsError::new("ValidationError", message).with_status(400)
    }

    /// `InvalidParameterValue` (400).
    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        AwsError::new("InvalidParameterValue", message).with_status(400)
    }

    /// `InvalidParameterCombination` (400).
    pub fn invalid_parameter_combination(message: impl Into<String>) -> Self {
        AwsError::new("InvalidParameterCombination", message).with_status(400)
    }

    /// `MissingParameter` (400).
    pub fn missing_parameter(message: impl Into<String>) -> Self {
        AwsError::new("MissingParameter", message).with_status(400)
    }

    /// `InvalidNextToken` (400): a pagination token we did not issue.
    pub fn invalid_next_token() -> Self {
        AwsError::new("InvalidNextToken", "The specified NextToken is not valid.").with_status(400)
    }

    // --- resources ---

    /// A missing resource with the service's own code (`NoSuchEntity`,
    /// `QueueDoesNotExist`, `ResourceNotFoundException`...). The status comes
    /// from the model (usually 404 or 400).
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError::new(code, message)
    }

    /// `ResourceNotFoundException`.
    pub fn resource_not_found(message: impl Into<String>) -> Self {
        AwsError::new("ResourceNotFoundException", message)
    }

    /// A resource that exists already, with the service's own code
    /// (`EntityAlreadyExists`, `ResourceInUseException`, `BucketAlreadyExists`...).
    pub fn already_exists(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError::new(code, message)
    }

    /// A quota, with the service's own code (`LimitExceeded`, `LimitExceededException`...).
    pub fn limit_exceeded(code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError::new(code, message)
    }

    // --- permissions ---

    /// `AccessDenied` (403): query and XML services (STS, IAM, S3).
    pub fn access_denied(message: impl Into<String>) -> Self {
        AwsError::new("AccessDenied", message).with_status(403)
    }

    /// `AccessDeniedException` (403): JSON services.
    pub fn access_denied_exception(message: impl Into<String>) -> Self {
        AwsError::new("AccessDeniedException", message).with_status(403)
    }

    // --- operations ---

    /// `InvalidAction` (400): an operation a query service does not know.
    pub fn invalid_action(operation: &str) -> Self {
        AwsError::new(
            "InvalidAction",
            format!("The action {operation} is not valid for this web service."),
        )
        .with_status(400)
    }

    /// `UnknownOperationException` (400): an operation a JSON service does not know.
    pub fn unknown_operation(operation: &str) -> Self {
        AwsError::new(
            "UnknownOperationException",
            format!("Operation {operation} is not supported."),
        )
        .with_status(400)
    }

    /// `NotImplemented` (501): modelled, known, and not emulated.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        AwsError::new("NotImplemented", message)
            .with_status(501)
            .sender_fault(false)
    }

    /// `ThrottlingException` (400).
    pub fn throttling(message: impl Into<String>) -> Self {
        AwsError::new("ThrottlingException", message).with_status(400)
    }

    /// `InternalFailure` (500): a bug or a host failure, never the caller's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        AwsError::server("InternalFailure", message)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

impl From<AwsError> for WitAwsError {
    fn from(e: AwsError) -> Self {
        WitAwsError {
            code: e.code,
            message: e.message,
            status: e.status,
            sender_fault: e.sender_fault,
            extra_json: e.extra.map(|m| Value::Object(*m).to_string()),
        }
    }
}

impl From<WitAwsError> for AwsError {
    fn from(e: WitAwsError) -> Self {
        AwsError {
            code: e.code,
            message: e.message,
            status: e.status,
            sender_fault: e.sender_fault,
            extra: e
                .extra_json
                .and_then(|s| serde_json::from_str::<Map<String, Value>>(&s).ok())
                .map(Box::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_wit_with_extra_members() {
        let e = AwsError::not_found("NoSuchEntity", "gone").with_member("Resource", "r1");
        let w: WitAwsError = e.into();
        assert_eq!(w.code, "NoSuchEntity");
        assert!(w.sender_fault);
        assert_eq!(w.status, None);
        assert_eq!(w.extra_json.as_deref(), Some(r#"{"Resource":"r1"}"#));
        let back: AwsError = w.into();
        assert_eq!(back.extra.unwrap()["Resource"], "r1");
    }

    #[test]
    fn internal_is_a_server_fault() {
        let e = AwsError::internal("boom");
        assert!(!e.sender_fault);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.to_string(), "InternalFailure: boom");
    }
}
