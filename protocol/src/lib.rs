//! Model-driven codecs for the AWS wire protocols.
//!
//! The host decodes every request into `(operation, JSON input)` and encodes
//! every JSON output or [`AwsError`] back to the wire, driven only by the
//! service's botocore model. Plugins never see the wire.
//!
//! PUBLIC API CONTRACT (used by the host; keep these signatures):
//! - [`ServiceModel::from_json`], [`ServiceModel::from_json_reloadable`], [`ServiceModel::metadata`], [`ServiceModel::has_operation`],
//!   [`ServiceModel::operation_names`], [`ServiceModel::match_rest`]
//! - [`decode_request`], [`decode_request_matched`], [`ServiceModel::match_rest_request`], [`streaming_input`], [`encode_response`], [`encode_response_text`], [`encode_error`]
//! - [`EventStreamOut::encode_events`], [`encode_stream_error`] (a [`ResponseBody::EventStream`]'s frames)

// The API contract returns `AwsError` by value (the host matches on it);
// it is only built on the error path, so its size does not matter.
#![allow(clippy::result_large_err)]

pub use http;
/// The bucket a virtual-hosted S3 Host header names (`b.localhost`, `b.s3.<region>.localhost`, ...).
pub use quirks::s3::virtual_host_bucket as s3_virtual_host_bucket;

mod bindings;
mod cbor;
pub mod compression;
mod ec2;
mod eventstream;
mod json;
mod json_cbor;
mod json_in;
mod json_text;
mod model;
mod query;
mod quirks;
mod rest;
mod rest_json;
mod rest_text;
mod rest_xml;
mod scalar;
mod timestamp;
mod validate;
mod xml;
mod xml_text;

#[cfg(test)]
mod test_support;

pub use model::{FastMap, NameMap, ShapeLoader};
use model::{Model, Operation, ShapeId};

/// The wire protocol of one request/response exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    Query,
    Ec2,
    /// awsJson 1.0 / 1.1 (the version comes from the model's jsonVersion).
    Json,
    /// awsJson 1.1 with CBOR bodies (`application/x-amz-cbor-1.1`), as the
    /// Java SDK and the KCL send to Kinesis (json_cbor.rs).
    JsonCbor,
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

impl RequestBody {
    /// The buffered body; a streamed one has none.
    fn bytes(&self) -> &[u8] {
        match self {
            RequestBody::Bytes(b) => b,
            RequestBody::Blob(_) => &[],
        }
    }
}

/// The result of decoding a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub operation: String,
    pub protocol: Protocol,
    /// JSON in the shape of the operation's input.
    pub input: serde_json::Value,
}

/// A decoded request as a plugin reads it: the input as JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedText {
    pub operation: String,
    pub protocol: Protocol,
    /// `serde_json::to_string` of [`Decoded::input`].
    pub input_json: String,
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
    Blob {
        blob: serde_json::Value,
        range: Option<(u64, u64)>,
    },
    /// The output's event-stream member named a stream the plugin feeds
    /// over time (`{"stream-id": ".."}`): the server writes `initial` (an
    /// awsJson `initial-response` frame, else nothing), then the frames of
    /// the events as they come ([`EventStreamOut::encode_events`]).
    EventStream {
        initial: Vec<u8>,
        stream: EventStreamOut,
    },
}

/// An event stream a response leaves open: which stream, and what its
/// events are written with (it holds the model, so it can outlive the call
/// that encoded the response).
#[derive(Clone)]
pub struct EventStreamOut {
    /// The id the plugin's `streams.open` returned.
    pub stream_id: String,
    model: std::sync::Arc<Model>,
    shape: ShapeId,
    format: bindings::EventBody,
}

impl std::fmt::Debug for EventStreamOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStreamOut")
            .field("stream_id", &self.stream_id)
            .field("shape", &self.shape)
            .finish()
    }
}

impl EventStreamOut {
    /// `Some` when an event-stream member's value names a live stream.
    pub(crate) fn of_value(
        model: &std::sync::Arc<Model>,
        value: Option<&serde_json::Value>,
        shape: ShapeId,
        format: bindings::EventBody,
    ) -> Option<Self> {
        let id = value?.as_object()?.get("stream-id")?.as_str()?;
        Some(EventStreamOut {
            stream_id: id.to_string(),
            model: model.clone(),
            shape,
            format,
        })
    }

    /// The frames of events sent to the stream: each event a JSON object
    /// with one key, the event member's name (unknown names are skipped).
    pub fn encode_events(&self, events: &[serde_json::Value]) -> Vec<u8> {
        eventstream::encode_events(
            &self.model,
            self.shape,
            &serde_json::Value::Array(events.to_vec()),
            self.format,
        )
    }
}

/// The frame that ends a stream on an unmodelled failure
/// (`:message-type error`, which SDKs raise as an error with this code).
pub fn encode_stream_error(code: &str, message: &str) -> Vec<u8> {
    eventstream::error_frame(code, message)
}

/// A parsed botocore service model.
pub struct ServiceModel {
    metadata: Metadata,
    /// Shared with the event streams a response leaves open ([`EventStreamOut`]).
    model: std::sync::Arc<Model>,
    /// The model as the query codec reads it, when a quirk adds query names
    /// (SQS); built on the first query request.
    query_view: std::sync::OnceLock<Option<Model>>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid service model: {0}")]
pub struct ModelError(pub String);

impl ServiceModel {
    /// Parses a botocore `service-2.json`.
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        Self::parsed(model::parse(json, None)?)
    }

    /// Parses what routing needs of a botocore `service-2.json` (metadata,
    /// operations) and keeps none of its text: the shapes are parsed from
    /// `reload()` on first use, which must give the same text (the host
    /// reads the cached model file again). A reloaded text whose shapes
    /// differ, or none, leaves every shape a document.
    pub fn from_json_reloadable(json: &str, reload: ShapeLoader) -> Result<Self, ModelError> {
        Self::parsed(model::parse(json, Some(reload))?)
    }

    fn parsed((metadata, model): (Metadata, Model)) -> Result<Self, ModelError> {
        Ok(ServiceModel {
            metadata,
            model: std::sync::Arc::new(model),
            query_view: std::sync::OnceLock::new(),
        })
    }
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn has_operation(&self, name: &str) -> bool {
        self.model.operation(name).is_some()
    }
    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.model.operations().map(|op| op.name.as_str())
    }
    /// For REST protocols: the operation whose method + URI template + required
    /// query keys match, most specific first. None when nothing matches.
    pub fn match_rest(&self, head: &RequestHead<'_>) -> Option<&str> {
        self.match_rest_op(head).map(|(op, _)| op.name.as_str())
    }

    /// A REST service's request matched to its operation, once
    /// ([`RestMatch`]); `None` for a service with no REST protocol, or when
    /// nothing matches.
    pub fn match_rest_request(&self, head: &RequestHead<'_>) -> Option<RestMatch> {
        if !self
            .metadata
            .protocols
            .iter()
            .any(|p| matches!(p, Protocol::RestJson | Protocol::RestXml))
        {
            return None;
        }
        let (op, labels) = self.match_rest_op(head)?;
        Some(RestMatch {
            model: std::sync::Arc::as_ptr(&self.model) as usize,
            operation: op.name.clone(),
            labels,
        })
    }

    /// The matched operation and its URI labels.
    fn match_rest_op(&self, head: &RequestHead<'_>) -> Option<(&Operation, rest::Labels)> {
        let path = quirks::s3::effective_path(self, head);
        let query = rest::parse_query(head.query);
        // Several operations may share a template (S3: PutObject, CopyObject,
        // UploadPart, UploadPartCopy are all `PUT /{Bucket}/{Key+}`); among
        // the most specific matches, the one whose required header and query
        // members are all present, and most of them, wins.
        let mut best: Option<(&Operation, (usize, usize))> = None;
        for op in self.model.rest_ops(head.method.as_str()) {
            if let Some((b, _)) = &best
                && b.template.specificity() != op.template.specificity()
            {
                break;
            }
            // Most of S3's templates are told apart by a query key
            // (`?tagging`, `?acl`, ...): no call to rule those out.
            if query.is_empty() && op.template.needs_query() {
                continue;
            }
            if op.template.is_match(&path, &query) {
                let score = self.bound_members_score(op, head, &query);
                let better = match &best {
                    None => true,
                    Some((_, s)) => score.0 < s.0 || (score.0 == s.0 && score.1 > s.1),
                };
                if better {
                    best = Some((op, score));
                }
            }
        }
        // Labels are decoded for the winner only.
        let (op, _) = best?;
        Some((op, op.template.matches(&path, &query)?))
    }

    /// (required header/query members missing, required ones present).
    fn bound_members_score(
        &self,
        op: &Operation,
        head: &RequestHead<'_>,
        query: &[(String, String)],
    ) -> (usize, usize) {
        let Some(input) = &op.input else {
            return (0, 0);
        };
        let (mut missing, mut present) = (0, 0);
        for m in &self.model.shape(input.shape).members {
            if !m.required {
                continue;
            }
            let found = match m.location {
                model::Location::Header => head.headers.contains_key(m.wire_name()),
                model::Location::QueryString => query.iter().any(|(k, _)| k == m.wire_name()),
                _ => continue,
            };
            if found {
                present += 1;
            } else {
                missing += 1;
            }
        }
        (missing, present)
    }

    /// The model the query codec reads: SQS's json model with its query-era
    /// names put back (quirks/sqs.rs), else the model itself.
    pub(crate) fn query_model(&self) -> &Model {
        self.query_view
            .get_or_init(|| {
                (self.metadata.aws_query_compatible && quirks::sqs::is_sqs(&self.metadata))
                    .then(|| self.model.view(quirks::sqs::query_traits))
            })
            .as_ref()
            .unwrap_or(&self.model)
    }

    fn is_s3(&self) -> bool {
        quirks::s3::is_s3(&self.metadata)
    }

    fn operation(&self, name: &str) -> Option<&Operation> {
        self.model.operation(name)
    }
}

/// Which of the service's protocols this request speaks.
pub fn detect_protocol(model: &ServiceModel, head: &RequestHead<'_>, body: &[u8]) -> Protocol {
    let protocols = &model.metadata.protocols;
    let header = |n: &str| {
        head.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let content_type = header("content-type").to_ascii_lowercase();
    let speaks = |p: Protocol| protocols.contains(&p);
    if speaks(Protocol::RpcV2Cbor)
        && (header("smithy-protocol") == "rpc-v2-cbor" || head.path.contains("/operation/"))
        && head.path.starts_with("/service/")
    {
        return Protocol::RpcV2Cbor;
    }
    if speaks(Protocol::Json) && json_cbor::is_cbor(&content_type) {
        return Protocol::JsonCbor;
    }
    if speaks(Protocol::Json)
        && (content_type.starts_with("application/x-amz-json")
            || !header("x-amz-target").is_empty())
    {
        return Protocol::Json;
    }
    let query_proto = if speaks(Protocol::Ec2) {
        Some(Protocol::Ec2)
    } else if speaks(Protocol::Query) {
        Some(Protocol::Query)
    } else {
        None
    };
    if let Some(q) = query_proto {
        let form = content_type.starts_with("application/x-www-form-urlencoded");
        let has_action =
            |s: &[u8]| s.starts_with(b"Action=") || s.windows(8).any(|w| w == b"&Action=");
        if form || has_action(head.query.as_bytes()) || has_action(body) {
            return q;
        }
    }
    protocols
        .iter()
        .copied()
        .find(|p| matches!(p, Protocol::RestJson | Protocol::RestXml))
        .unwrap_or(protocols[0])
}

fn unknown_operation(protocol: Protocol, what: &str) -> AwsError {
    match protocol {
        Protocol::Query | Protocol::Ec2 => AwsError::new(
            "InvalidAction",
            format!("The action {what} is not valid for this web service."),
            400,
        ),
        Protocol::RestJson | Protocol::RestXml => AwsError::new(
            "UnknownOperationException",
            format!("No operation matches {what}"),
            404,
        ),
        _ => AwsError::new(
            "UnknownOperationException",
            format!("Unknown operation {what}"),
            400,
        ),
    }
}

/// Decodes a request into operation name + JSON input, validating it against
/// the model. Errors are AWS-shaped (e.g. `ValidationException`,
/// `InvalidAction`, `MissingParameter`, `SerializationException`), ready for
/// [`encode_error`].
pub fn decode_request(
    model: &ServiceModel,
    head: &RequestHead<'_>,
    body: RequestBody,
) -> Result<Decoded, (Protocol, AwsError)> {
    decode_request_matched(model, head, body, None)
}

/// [`decode_request`] of a REST request whose operation was already
/// matched ([`ServiceModel::match_rest_request`]) on this same head: the
/// match is not run again. The caller vouches that nothing the match reads
/// (method, path, query, Host, the headers) changed since; a match of
/// another model, or a request that is not REST after all, is matched anew.
pub fn decode_request_matched(
    model: &ServiceModel,
    head: &RequestHead<'_>,
    body: RequestBody,
    matched: Option<RestMatch>,
) -> Result<Decoded, (Protocol, AwsError)> {
    let protocol = detect_protocol(model, head, body.bytes());
    decode_detected(model, protocol, head, body, matched)
}

/// [`decode_request_matched`] once the protocol is known.
fn decode_detected(
    model: &ServiceModel,
    protocol: Protocol,
    head: &RequestHead<'_>,
    body: RequestBody,
    matched: Option<RestMatch>,
) -> Result<Decoded, (Protocol, AwsError)> {
    let bytes = body.bytes();
    let fail = |e: AwsError| (protocol, e);
    if let Some(m) = matched
        && matches!(protocol, Protocol::RestJson | Protocol::RestXml)
        && m.model == std::sync::Arc::as_ptr(&model.model) as usize
        && let Some(op) = model.operation(&m.operation)
    {
        let input = decode_rest(model, protocol, op, m.labels, head, body).map_err(fail)?;
        return validated(model, protocol, op, input);
    }
    let (op, input) = match protocol {
        Protocol::Json => json::decode(model, head, bytes).map_err(fail)?,
        Protocol::JsonCbor => json_cbor::decode(model, head, bytes).map_err(fail)?,
        Protocol::RpcV2Cbor => cbor::decode(model, head, bytes).map_err(fail)?,
        Protocol::Query | Protocol::Ec2 => {
            query::decode(model, protocol, head, bytes).map_err(fail)?
        }
        Protocol::RestJson | Protocol::RestXml => {
            let (op, labels) = model.match_rest_op(head).ok_or_else(|| {
                fail(unknown_operation(
                    protocol,
                    &format!("{} {}", head.method, head.path),
                ))
            })?;
            let input = decode_rest(model, protocol, op, labels, head, body).map_err(fail)?;
            (op, input)
        }
    };
    validated(model, protocol, op, input)
}

/// [`decode_request_matched`], giving the input as the text a plugin
/// reads. An awsJson body is read, converted and checked in one pass where
/// that pass can promise the same text (json_in.rs); everything else,
/// errors included, goes through the value and is printed from it.
pub fn decode_request_text(
    model: &ServiceModel,
    head: &RequestHead<'_>,
    body: RequestBody,
    matched: Option<RestMatch>,
) -> Result<DecodedText, (Protocol, AwsError)> {
    let bytes = body.bytes();
    let protocol = detect_protocol(model, head, bytes);
    if protocol == Protocol::Json
        && let Some((op, input_json)) = json::decode_text(model, head, bytes)
    {
        return Ok(DecodedText {
            operation: op.name.clone(),
            protocol,
            input_json,
        });
    }
    let d = decode_detected(model, protocol, head, body, matched)?;
    Ok(DecodedText {
        // serde_json's writer, not `Display` (same text, without fmt's layers).
        input_json: serde_json::to_string(&d.input).unwrap_or_default(),
        operation: d.operation,
        protocol: d.protocol,
    })
}

fn decode_rest(
    model: &ServiceModel,
    protocol: Protocol,
    op: &Operation,
    labels: rest::Labels,
    head: &RequestHead<'_>,
    body: RequestBody,
) -> Result<serde_json::Value, AwsError> {
    if protocol == Protocol::RestJson {
        rest_json::decode(model, op, labels, head, body)
    } else {
        rest_xml::decode(model, op, labels, head, body)
    }
}

/// The decoded input, checked against the operation's input shape.
fn validated(
    model: &ServiceModel,
    protocol: Protocol,
    op: &Operation,
    input: serde_json::Value,
) -> Result<Decoded, (Protocol, AwsError)> {
    let fail = |e: AwsError| (protocol, e);
    if let Some(input_ref) = &op.input {
        validate::validate(
            &model.model,
            input_ref.shape,
            &input,
            protocol,
            quirks::sqs::open_enums(&model.metadata),
        )
        .map_err(|e| quirks::s3::validation_error(model, e))
        .map_err(fail)?;
    }
    Ok(Decoded {
        operation: op.name.clone(),
        protocol,
        input,
    })
}

/// For REST requests whose operation has a streaming blob input payload
/// (S3 PutObject, UploadPart, Lambda Invoke...): the member name, so the host
/// can stream the body into a blob instead of buffering it.
pub fn streaming_input(model: &ServiceModel, head: &RequestHead<'_>) -> Option<String> {
    model.match_rest_request(head)?.streaming_input(model)
}

/// For REST requests whose operation's input payload is a blob, streaming or
/// not (Lambda Invoke's `Payload`): the member name. The host may store a
/// large one in a blob rather than buffer it; the member then arrives as a
/// blob ref, which the SDK's `StreamingBlob` reads.
pub fn blob_payload_input(model: &ServiceModel, head: &RequestHead<'_>) -> Option<String> {
    model.match_rest_request(head)?.blob_payload_input(model)
}

/// A REST request's operation, matched once
/// ([`ServiceModel::match_rest_request`]): what [`streaming_input`] and
/// [`blob_payload_input`] say of the request, and what
/// [`decode_request_matched`] decodes it with (S3's template match is a
/// good part of a small PutObject's decode).
#[derive(Clone, Debug)]
pub struct RestMatch {
    /// The address of the model matched against (only compared).
    model: usize,
    operation: String,
    labels: rest::Labels,
}

impl RestMatch {
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The streaming blob payload member, as [`streaming_input`].
    pub fn streaming_input(&self, model: &ServiceModel) -> Option<String> {
        self.blob_payload(model)
            .filter(|(_, streaming)| *streaming)
            .map(|(name, _)| name)
    }

    /// The blob payload member, as [`blob_payload_input`].
    pub fn blob_payload_input(&self, model: &ServiceModel) -> Option<String> {
        self.blob_payload(model).map(|(name, _)| name)
    }

    /// The blob payload member of the operation: (name, streaming).
    fn blob_payload(&self, model: &ServiceModel) -> Option<(String, bool)> {
        let op = model.operation(&self.operation)?;
        let input = model.model.shape(op.input.as_ref()?.shape);
        let member = input.member(input.payload.as_deref()?)?;
        let target = model.model.shape(member.shape);
        (target.kind == model::Kind::Blob)
            .then(|| (member.name.clone(), target.streaming || member.streaming))
    }
}

/// Encodes an operation's JSON output in the request's protocol.
pub fn encode_response(
    model: &ServiceModel,
    protocol: Protocol,
    operation: &str,
    output: &serde_json::Value,
    request_id: &str,
) -> Result<HttpResponse, AwsError> {
    let op = model
        .operation(operation)
        .ok_or_else(|| unknown_operation(protocol, operation))?;
    let empty = serde_json::Value::Object(Default::default());
    let output = if output.is_null() { &empty } else { output };
    match protocol {
        Protocol::Json => json::encode_output(model, op, output),
        Protocol::JsonCbor => json_cbor::encode_output(model, op, output),
        Protocol::RpcV2Cbor => cbor::encode_output(model, op, output),
        Protocol::Query => query::encode_output(model, op, output, request_id),
        Protocol::Ec2 => ec2::encode_output(model, op, output, request_id),
        Protocol::RestJson => rest_json::encode_output(model, op, output),
        Protocol::RestXml => rest_xml::encode_output(model, op, output),
    }
}

/// [`encode_response`] of an output still in the plugin's JSON text, when
/// the protocol can write it without parsing it into a `Value` (awsJson,
/// json_text.rs; query, xml_text.rs; a REST output with no framed body,
/// rest_text.rs): the same response, byte for byte. `None` when it cannot
/// promise that (another protocol, an event-stream output, a text that is
/// not JSON...): parse the text and call [`encode_response`].
pub fn encode_response_text(
    model: &ServiceModel,
    protocol: Protocol,
    operation: &str,
    text: &str,
    request_id: &str,
) -> Option<HttpResponse> {
    let op = model.operation(operation)?;
    match protocol {
        Protocol::Json => json::encode_output_text(model, op, text),
        Protocol::Query => query::encode_output_text(model, op, text, request_id),
        Protocol::RestJson | Protocol::RestXml => rest_text::encode_output_text(model, op, text),
        _ => None,
    }
}

/// Finds the modelled error shape for a code (operation errors first).
fn error_shape(model: &ServiceModel, operation: Option<&str>, code: &str) -> Option<ShapeId> {
    if let Some(op) = operation.and_then(|o| model.operation(o)) {
        for &id in &op.errors {
            let s = model.model.shape(id);
            if s.name == code || s.error_code.as_deref() == Some(code) {
                return Some(id);
            }
        }
    }
    model.model.error_by_code(code)
}

/// The status and the fault side of an error, from the error or its shape.
fn error_status(model: &ServiceModel, shape: Option<ShapeId>, error: &AwsError) -> (u16, bool) {
    let s = shape.map(|id| model.model.shape(id));
    let sender = s
        .map(|s| s.error_sender_fault.unwrap_or(!s.fault))
        .unwrap_or(error.sender_fault);
    let status = error
        .status
        .or_else(|| s.and_then(|s| s.error_status))
        .unwrap_or(if error.sender_fault || (s.is_some() && sender) {
            400
        } else {
            500
        });
    let sender = if error.status.is_some() {
        error.sender_fault
    } else {
        sender || error.sender_fault
    };
    (status, sender)
}

/// Encodes an AWS error in the protocol's envelope.
pub fn encode_error(
    model: &ServiceModel,
    protocol: Protocol,
    operation: Option<&str>,
    error: &AwsError,
    request_id: &str,
) -> HttpResponse {
    let shape = error_shape(model, operation, &error.code);
    let (status, sender) = error_status(model, shape, error);
    let ctx = ErrorContext {
        shape,
        status,
        sender,
        request_id,
    };
    match protocol {
        Protocol::Json => json::encode_error(model, error, &ctx),
        Protocol::JsonCbor => json_cbor::encode_error(model, error, &ctx),
        Protocol::RpcV2Cbor => cbor::encode_error(model, error, &ctx),
        Protocol::Query => query::encode_error(model, error, &ctx),
        Protocol::Ec2 => ec2::encode_error(model, error, &ctx),
        Protocol::RestJson => rest_json::encode_error(model, error, &ctx),
        Protocol::RestXml => rest_xml::encode_error(model, error, &ctx),
    }
}

/// What every error encoder needs beyond the error itself.
pub(crate) struct ErrorContext<'a> {
    pub shape: Option<ShapeId>,
    pub status: u16,
    pub sender: bool,
    pub request_id: &'a str,
}
