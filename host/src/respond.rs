//! Turning results into HTTP responses: a plugin's encoded response or
//! error ([`Encoder`], which the gateway and s3edge share), and the
//! gateway's own plain JSON/XML answers.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode};
use ministack_protocol::{self as protocol, AwsError, HttpResponse, Protocol};
use serde_json::json;

use crate::body::{ReadError, ResponseBody};
use crate::capabilities::Shared;
use crate::plugins::Plugin;
use crate::service_index::AwsService;

/// Encodes a plugin's responses and errors; streams blob bodies from the
/// host's blob store.
#[derive(Clone)]
pub struct Encoder {
    shared: Arc<Shared>,
}

impl Encoder {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// An error in the plugin's protocol (`op` when the request decoded).
    pub fn error(
        &self,
        plugin: &Plugin,
        proto: Protocol,
        op: Option<&str>,
        e: &AwsError,
        request_id: &str,
    ) -> Response<ResponseBody> {
        let (e, headers) = s3_error_headers(plugin, e);
        let resp = protocol::encode_error(&plugin.model, proto, op, &e, request_id);
        let mut out = self.to_http(plugin, resp);
        for (k, v) in headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                out.headers_mut().insert(k, v);
            }
        }
        out
    }

    /// An error before the request decoded: in the plugin's first protocol.
    pub fn early_error(
        &self,
        plugin: &Plugin,
        e: &AwsError,
        request_id: &str,
    ) -> Response<ResponseBody> {
        self.error(plugin, protocol_of(plugin), None, e, request_id)
    }

    /// An error before the request decoded, in the protocol its headers
    /// choose among the plugin's (SQS answers a form request in XML and an
    /// `X-Amz-Target` request in JSON).
    pub fn request_error(
        &self,
        plugin: &Plugin,
        headers: &http::HeaderMap,
        e: &AwsError,
        request_id: &str,
    ) -> Response<ResponseBody> {
        let protocols = &plugin.model.metadata().protocols;
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let wanted = if header("smithy-protocol") == "rpc-v2-cbor" {
            Some(Protocol::RpcV2Cbor)
        } else if headers.contains_key("x-amz-target") {
            Some(Protocol::Json)
        } else if header("content-type").starts_with("application/x-www-form-urlencoded") {
            protocols
                .iter()
                .copied()
                .find(|p| matches!(p, Protocol::Query | Protocol::Ec2))
        } else {
            None
        };
        let proto = wanted
            .filter(|w| protocols.contains(w))
            .unwrap_or_else(|| protocol_of(plugin));
        self.error(plugin, proto, None, e, request_id)
    }

    pub fn to_http(&self, plugin: &Plugin, resp: HttpResponse) -> Response<ResponseBody> {
        let body = match resp.body {
            protocol::ResponseBody::Bytes(b) => ResponseBody::from_bytes(b),
            protocol::ResponseBody::Blob { blob, range } => {
                let id = blob
                    .get("blob-id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let size = self
                    .shared
                    .blobs
                    .stat(plugin.name(), &id)
                    .map_or(0, |i| i.size);
                let (start, end) = range.unwrap_or((0, size));
                ResponseBody::blob(
                    self.shared.clone(),
                    plugin.name().to_string(),
                    id,
                    start,
                    end.min(size),
                )
            }
            // The plugin feeds the events over time (crate::streams).
            protocol::ResponseBody::EventStream { initial, stream } => {
                ResponseBody::Events(crate::streams::pump(
                    crate::streams::registry(),
                    stream.stream_id.clone(),
                    initial,
                    move |events| stream.encode_events(events),
                    protocol::encode_stream_error,
                ))
            }
        };
        // A streamed blob's length is the host's to state, whatever the
        // plugin put in its output.
        let blob_len = match &body {
            ResponseBody::Stream { remaining, .. } => Some(*remaining),
            ResponseBody::Full(_) | ResponseBody::Events(_) => None,
        };
        let mut out = Response::new(body);
        *out.status_mut() =
            StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (k, v) in resp.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                out.headers_mut().append(k, v);
            }
        }
        if let Some(len) = blob_len {
            out.headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        out
    }
}

/// S3 answers a read of a delete marker with `x-amz-delete-marker` and
/// `x-amz-version-id` headers on the error; the plugin states them as the
/// error's `DeleteMarker` / `VersionId` members (its error shapes have no
/// header bindings for them).
fn s3_error_headers(plugin: &Plugin, e: &AwsError) -> (AwsError, Vec<(&'static str, String)>) {
    let mut e = e.clone();
    let mut headers = Vec::new();
    if plugin.model.metadata().endpoint_prefix != "s3" {
        return (e, headers);
    }
    if let Some(extra) = e.extra.as_mut()
        && extra.remove("DeleteMarker").and_then(|v| v.as_bool()) == Some(true)
    {
        headers.push(("x-amz-delete-marker", "true".to_string()));
        if let Some(v) = extra
            .remove("VersionId")
            .and_then(|v| v.as_str().map(str::to_string))
        {
            headers.push(("x-amz-version-id", v));
        }
    }
    (e, headers)
}

/// The protocol errors are encoded in before a request is decoded.
fn protocol_of(plugin: &Plugin) -> Protocol {
    plugin
        .model
        .metadata()
        .protocols
        .first()
        .copied()
        .unwrap_or(Protocol::RestXml)
}

pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::from_bytes(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
    let mut r = json_response(status, &json!({"__type": code, "message": message}));
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

pub fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escaped}</Message></Error></ErrorResponse>"
    );
    let mut r = Response::new(ResponseBody::from_bytes(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    r
}

/// No plugin claims the request: answer in the protocol its headers suggest.
pub fn unclaimed(headers: &http::HeaderMap, path: &str) -> Response<ResponseBody> {
    let message = format!(
        "No enabled service handles this request ({path}). See GET /_ministack/plugins for the services this gateway serves."
    );
    if wants_json(headers) {
        json_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &message,
        )
    } else {
        xml_error(StatusCode::BAD_REQUEST, "InvalidAction", &message)
    }
}

/// An error for a request no plugin was found for: JSON when its headers
/// say JSON, else the query protocol's XML.
pub fn protocol_error(
    headers: &http::HeaderMap,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<ResponseBody> {
    if wants_json(headers) {
        json_error(status, code, message)
    } else {
        xml_error(status, code, message)
    }
}

fn wants_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"))
        || headers.contains_key("x-amz-target")
}

/// A request for a botocore service with no plugin in the bundle: 501
/// `NotImplemented` in that service's protocol, chosen by the request's
/// shape when the service speaks several (docs/routing.md says why 501).
pub fn disabled(
    service: &AwsService,
    headers: &http::HeaderMap,
    request_id: &str,
) -> Response<ResponseBody> {
    let model = service.stub_model();
    let protocols = &model.metadata().protocols;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let wanted = if header("smithy-protocol") == "rpc-v2-cbor" {
        Some(Protocol::RpcV2Cbor)
    } else if headers.contains_key("x-amz-target") {
        Some(Protocol::Json)
    } else if header("content-type").starts_with("application/x-www-form-urlencoded") {
        Some(Protocol::Query)
    } else {
        None
    };
    let proto = wanted
        .filter(|w| protocols.contains(w))
        .or_else(|| {
            protocols
                .iter()
                .copied()
                .find(|p| *p != Protocol::RpcV2Cbor)
        })
        .unwrap_or(Protocol::Json);
    let message = format!(
        "Service '{}' is not enabled in this gateway (no plugin in the bundle). See GET /_ministack/plugins for the services it serves.",
        service.name
    );
    let e = AwsError::new("NotImplemented", message, 501);
    let resp = protocol::encode_error(&model, proto, None, &e, request_id);
    let mut out = Response::new(match resp.body {
        protocol::ResponseBody::Bytes(b) => ResponseBody::from_bytes(b),
        _ => ResponseBody::empty(),
    });
    *out.status_mut() = StatusCode::NOT_IMPLEMENTED;
    for (k, v) in resp.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

/// A request body that could not be read, as the service's error.
pub fn read_aws_error(e: ReadError) -> AwsError {
    match e {
        ReadError::TooLarge => AwsError::new(
            "RequestEntityTooLarge",
            "The request body is too large",
            413,
        ),
        ReadError::Io(m) => AwsError::new(
            "IncompleteBody",
            format!("Could not read the request body: {m}"),
            400,
        ),
    }
}

/// A request body that could not be read, before the service is known.
pub fn read_error(e: ReadError) -> Response<ResponseBody> {
    match e {
        ReadError::TooLarge => xml_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "The request body is too large",
        ),
        ReadError::Io(m) => xml_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            &format!("Could not read the request body: {m}"),
        ),
    }
}
