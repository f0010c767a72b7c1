//! Model-driven codecs for the AWS wire protocols.
//!
//! The host decodes every request into `(operation, JSON input)` and encodes
//! every JSON output or [`AwsError`] back to the wire, driven only by the
//! service's botocore model. Plugins never see the wire.
//!
//! PUBLIC API CONTRACT (used by the host; keep these signatures):
//! - [`ServiceModel::from_json`], [`ServiceModel::metadata`], [`ServiceModel::has_operation`],
//!   [`ServiceModel::operation_names`], [`ServiceModel::match_rest`]
//! - [`decode_request`], [`streaming_input`], [`encode_response`], [`encode_error`]

use std::collections::BTreeMap;

pub use http;

/// The wire protocol of one request/response exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Query,
    Ec2,
    /// awsJson 1.0 / 1.1 (the version comes from the model's jsonVersion).
    Json,
    RestJson,
    RestXml,
    RpcV2Cbor,
}

/// Service-level facts the router needs.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub api_version: String,
    /// Protocols the service speaks, preferred first (`protocols` or `protocol`).
    pub protocols: Vec<Protocol>,
    pub json_version: Option<String>,
    pub target_prefix: Option<String>,
    pub signing_name: Option<String>,
    pub endpoint_prefix: String,
    pub service_id: Option<String>,
    pub aws_query_compatible: bool,
    /// xmlNamespace uri for query/rest-xml responses.
    pub xml_namespace: Option<String>,
}

/// An AWS error as a plugin or the host raises it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    /// HTTP status; when `None` the encoder takes it from the model's error
    /// shape (`error.httpStatusCode`), else 400 for sender faults, 500 otherwise.
    pub status: Option<u16>,
    pub sender_fault: bool,
    /// Additional members of the error shape.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AwsError {
    pub fn new(code: impl Into<String>, message: impl Into<String>, status: u16) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: Some(status),
            sender_fault: status < 500,
            extra: None,
        }
    }
}

/// The head of an HTTP request, as the host received it.
pub struct RequestHead<'a> {
    pub method: &'a http::Method,
    /// Path as sent (percent-encoded), without the query string.
    pub path: &'a str,
    /// Raw query string without the leading `?` ("" when none).
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
}

/// A request body as the decoder receives it.
pub enum RequestBody {
    Bytes(bytes::Bytes),
    /// The body of a streaming input member was streamed into a host blob;
    /// this is the blob-ref JSON object to put in that member.
    Blob(serde_json::Value),
}

/// The result of decoding a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub operation: String,
    pub protocol: Protocol,
    /// JSON in the shape of the operation's input.
    pub input: serde_json::Value,
}

/// An encoded response, ready for the server to write.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
}

#[derive(Debug)]
pub enum ResponseBody {
    Bytes(Vec<u8>),
    /// A streaming output member named a host blob: the server streams it,
    /// serving `range` (inclusive start, exclusive end) when set.
    Blob { blob: serde_json::Value, range: Option<(u64, u64)> },
}

/// A parsed botocore service model.
pub struct ServiceModel {
    metadata: Metadata,
    operations: BTreeMap<String, ()>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid service model: {0}")]
pub struct ModelError(pub String);

impl ServiceModel {
    /// Parses a botocore `service-2.json`.
    pub fn from_json(_json: &str) -> Result<Self, ModelError> {
        todo!("protocol helper")
    }
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn has_operation(&self, name: &str) -> bool {
        self.operations.contains_key(name)
    }
    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }
    /// For REST protocols: the operation whose method + URI template + required
    /// query keys match, most specific first. None when nothing matches.
    pub fn match_rest(&self, _head: &RequestHead<'_>) -> Option<&str> {
        todo!("protocol helper")
    }
}

/// Decodes a request into operation name + JSON input, validating it against
/// the model. Errors are AWS-shaped (e.g. `ValidationException`,
/// `InvalidAction`, `MissingParameter`, `SerializationException`), ready for
/// [`encode_error`].
pub fn decode_request(
    _model: &ServiceModel,
    _head: &RequestHead<'_>,
    _body: RequestBody,
) -> Result<Decoded, (Protocol, AwsError)> {
    todo!("protocol helper")
}

/// For REST requests whose operation has a streaming blob input payload
/// (S3 PutObject, UploadPart, Lambda Invoke...): the member name, so the host
/// can stream the body into a blob instead of buffering it.
pub fn streaming_input(_model: &ServiceModel, _head: &RequestHead<'_>) -> Option<String> {
    todo!("protocol helper")
}

/// Encodes an operation's JSON output in the request's protocol.
pub fn encode_response(
    _model: &ServiceModel,
    _protocol: Protocol,
    _operation: &str,
    _output: &serde_json::Value,
    _request_id: &str,
) -> Result<HttpResponse, AwsError> {
    todo!("protocol helper")
}

/// Encodes an AWS error in the protocol's envelope.
pub fn encode_error(
    _model: &ServiceModel,
    _protocol: Protocol,
    _operation: Option<&str>,
    _error: &AwsError,
    _request_id: &str,
) -> HttpResponse {
    todo!("protocol helper")
}
