//! One request's path: internal endpoints → identify → route → decode →
//! dispatch → encode. Every response carries request ids and CORS headers.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use ministack_protocol::{
    self as protocol, AwsError, HttpResponse, Protocol, RequestBody, RequestHead,
};
use serde_json::json;

use crate::auth;
use crate::body::{self, ReadError, ResponseBody};
use crate::capabilities::CallContext;
use crate::internal;
use crate::plugins::{self, Plugin, Runtime};
use crate::router::{Route, RouteInput};
use crate::s3edge;

pub struct Gateway {
    pub runtime: Arc<Runtime>,
}

const CORS_ALLOW_METHODS: &str = "GET, PUT, POST, DELETE, HEAD, OPTIONS, PATCH";

impl Gateway {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<ResponseBody> {
        let request_id = uuid::Uuid::new_v4().to_string();
        // Set when a bucket's CORS rules decided the CORS headers.
        let mut cors_decided = false;
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut resp = if let Some(bucket) = s3edge::website::bucket(&host) {
            s3edge::website::serve(&self, req, &bucket, &request_id).await
        } else if req.method() == Method::OPTIONS {
            let (resp, decided) = self.options(&req, &request_id).await;
            cors_decided = decided;
            resp
        } else {
            let origin = header_string(req.headers(), "origin");
            let target = origin.as_ref().and_then(|_| {
                s3edge::target(&self.runtime, req.method(), req.uri(), req.headers())
            });
            let method = req.method().clone();
            let mut resp = self.dispatch(req, &request_id).await;
            if let (Some(origin), Some(target)) = (origin, target)
                && let Ok(Some(rules)) =
                    s3edge::bucket_cors(&self.runtime, &target, &request_id).await
            {
                cors_decided = true;
                for (k, v) in s3edge::cors::evaluate(&rules, &origin, method.as_str(), None)
                    .unwrap_or_default()
                {
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        resp.headers_mut().insert(k, v);
                    }
                }
            }
            resp
        };
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-amzn-requestid", v.clone());
            h.insert("x-amz-request-id", v);
        }
        if !cors_decided {
            h.entry("access-control-allow-origin")
                .or_insert(HeaderValue::from_static("*"));
            h.entry("access-control-expose-headers")
                .or_insert(HeaderValue::from_static("*"));
        }
        resp
    }

    /// A CORS preflight. On an S3 bucket with a CORS configuration the
    /// bucket's rules answer (AWS's 403 when none allows the request, or
    /// when the bucket has no configuration); anything else gets the
    /// permissive answer MiniStack gives. Returns whether the bucket decided.
    async fn options(
        &self,
        req: &Request<Incoming>,
        request_id: &str,
    ) -> (Response<ResponseBody>, bool) {
        let headers = req.headers();
        let requested = header_string(headers, "access-control-request-method");
        let method = requested
            .as_deref()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let Some(target) = s3edge::target(&self.runtime, &method, req.uri(), headers) else {
            return (preflight(), false);
        };
        let rules = match s3edge::bucket_cors(&self.runtime, &target, request_id).await {
            Ok(rules) => rules,
            Err(e) if e.code == "NoSuchBucket" => return (preflight(), false),
            Err(e) => {
                let resp =
                    self.encode_error(&target.plugin, Protocol::RestXml, None, &e, request_id);
                return (resp, true);
            }
        };
        let bad_request = |m: &str| AwsError::new("BadRequest", m, 400);
        let (Some(origin), Some(requested)) = (header_string(headers, "origin"), requested) else {
            let e = bad_request("Insufficient information. Origin request header needed.");
            let resp = self.encode_error(&target.plugin, Protocol::RestXml, None, &e, request_id);
            return (resp, true);
        };
        let allowed = rules.and_then(|r| {
            s3edge::cors::evaluate(
                &r,
                &origin,
                &requested,
                Some(&header_string(headers, "access-control-request-headers").unwrap_or_default()),
            )
        });
        let resp = match allowed {
            Some(cors_headers) => {
                let mut r = Response::new(ResponseBody::empty());
                for (k, v) in cors_headers {
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        r.headers_mut().insert(k, v);
                    }
                }
                r
            }
            None => {
                let e = s3edge::cors_forbidden(&requested, &target.key);
                self.encode_error(&target.plugin, Protocol::RestXml, None, &e, request_id)
            }
        };
        (resp, true)
    }

    async fn dispatch(&self, req: Request<Incoming>, request_id: &str) -> Response<ResponseBody> {
        let (parts, body) = req.into_parts();
        if let Some(endpoint) = internal::Endpoint::matching(&parts) {
            let bytes = body::collect(body).await.unwrap_or_default();
            return internal::handle(
                &self.runtime,
                endpoint,
                parts.uri.query().unwrap_or(""),
                &bytes,
            )
            .await;
        }
        let runtime = &self.runtime;
        let uri = parts.uri.clone();
        let path = uri.path();
        let query = uri.query().unwrap_or("");
        let caller = auth::resolve(
            auth::signature(&parts.headers, query),
            &runtime.identity,
            &runtime.config.default_account,
            &runtime.config.default_region,
        );
        let head = RequestHead {
            method: &parts.method,
            path,
            query,
            headers: &parts.headers,
        };
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        let router = &runtime.registry().router;
        let input = RouteInput {
            head,
            host,
            signing_service: caller.signing_service.as_deref(),
            form_body: None,
        };
        let mut body = Some(body);
        let mut buffered: Option<Bytes> = None;
        let mut route = router.route(&input);
        // Headers as they are after a gzip body read for routing was inflated.
        let mut inflated_headers = None;
        if let Route::NeedBody = route {
            let mut headers = parts.headers.clone();
            match body::collect(body.take().expect("body unread"))
                .await
                .and_then(|b| body::decompress(&mut headers, b))
            {
                Ok(b) => buffered = Some(b),
                Err(e) => return read_error(e),
            }
            inflated_headers = Some(headers);
            route = router.route(&RouteInput {
                form_body: buffered.as_deref(),
                ..input
            });
        }
        let head = RequestHead {
            method: &parts.method,
            path,
            query,
            headers: &parts.headers,
        };
        let plugin = match route {
            Route::Service(p) => p,
            Route::Raw(p) => {
                let bytes = match buffered {
                    Some(b) => b,
                    None => match body::collect(body.take().expect("body unread")).await {
                        Ok(b) => b,
                        Err(e) => return read_error(e),
                    },
                };
                return self.raw(&p, &parts, caller, request_id, bytes).await;
            }
            Route::None | Route::NeedBody => return unclaimed(&parts.headers, path),
        };
        if let Err(e) = self.check_presigned(&plugin, &parts, host) {
            return self.encode_error(&plugin, protocol_of(&plugin), None, &e, request_id);
        }
        if buffered.is_none()
            && plugin.model.metadata().endpoint_prefix == "s3"
            && s3edge::post::is_post_object(&parts.method, &parts.headers)
        {
            let host = host.to_string();
            let body = body.take().expect("body unread");
            return s3edge::post::handle(self, plugin, parts, body, &host, request_id).await;
        }

        // The body: streamed into a blob for streaming members, else buffered.
        let streaming =
            buffered.is_none() && protocol::streaming_input(&plugin.model, &head).is_some();
        let mut body_blob = None;
        let mut parts = parts;
        if let Some(h) = inflated_headers {
            parts.headers = h;
        }
        let request_body = if let Some(b) = buffered {
            RequestBody::Bytes(b)
        } else if streaming {
            let body = body.take().expect("body unread");
            match body::into_blob(runtime, plugin.name(), &mut parts.headers, body).await {
                Ok(info) => {
                    let blob = json!({
                        "blob-id": info.id,
                        "size": info.size,
                        "md5-hex": info.md5_hex,
                        "checksums": info.checksums.iter()
                            .map(|(k, v)| (k.clone(), json!(v)))
                            .collect::<serde_json::Map<_, _>>(),
                    });
                    body_blob = Some(info.id);
                    RequestBody::Blob(blob)
                }
                Err(e) => {
                    return self.encode_error(&plugin, protocol_of(&plugin), None, &e, request_id);
                }
            }
        } else {
            // S3 keeps Content-Encoding as object metadata; everywhere else
            // a gzip body is the client's request compression.
            let s3 = plugin.model.metadata().endpoint_prefix == "s3";
            match body::collect(body.take().expect("body unread"))
                .await
                .and_then(|b| {
                    if s3 {
                        Ok(b)
                    } else {
                        body::decompress(&mut parts.headers, b)
                    }
                }) {
                Ok(b) => RequestBody::Bytes(b),
                Err(e) => return read_error(e),
            }
        };
        let head = RequestHead {
            method: &parts.method,
            path,
            query,
            headers: &parts.headers,
        };

        let decoded = match protocol::decode_request(&plugin.model, &head, request_body) {
            Ok(d) => d,
            Err((proto, e)) => {
                if let Some(id) = &body_blob {
                    runtime.blobs.release(plugin.name(), id);
                }
                return self.encode_error(&plugin, proto, None, &e, request_id);
            }
        };
        if !plugin.description.implemented.contains(&decoded.operation) {
            if let Some(id) = &body_blob {
                runtime.blobs.release(plugin.name(), id);
            }
            let e = plugins::not_implemented(&plugin, &decoded.operation);
            return self.encode_error(
                &plugin,
                decoded.protocol,
                Some(&decoded.operation),
                &e,
                request_id,
            );
        }
        let ctx = call_context(caller, request_id);
        let input_json = decoded.input.to_string();
        let result = runtime
            .call(
                &plugin,
                ctx,
                &decoded.operation,
                &input_json,
                body_blob.as_deref(),
            )
            .await;
        let op = decoded.operation.as_str();
        let output = match result {
            Ok(out) => out,
            Err(e) => {
                return self.encode_error(&plugin, decoded.protocol, Some(op), &e, request_id);
            }
        };
        let value: serde_json::Value = match serde_json::from_str(&output) {
            Ok(v) => v,
            Err(e) => {
                let e = plugins::internal_failure(format!(
                    "plugin {} returned invalid JSON: {e}",
                    plugin.name()
                ));
                return self.encode_error(&plugin, decoded.protocol, Some(op), &e, request_id);
            }
        };
        match protocol::encode_response(&plugin.model, decoded.protocol, op, &value, request_id) {
            Ok(resp) => self.to_http(&plugin, resp),
            Err(e) => self.encode_error(&plugin, decoded.protocol, Some(op), &e, request_id),
        }
    }

    /// A presigned URL must carry a valid, unexpired signature. The secret:
    /// the one the gateway issued for the key (STS, IAM), else the
    /// configured default.
    #[allow(clippy::result_large_err)]
    fn check_presigned(
        &self,
        plugin: &Plugin,
        parts: &http::request::Parts,
        host: &str,
    ) -> Result<(), AwsError> {
        let query = parts.uri.query().unwrap_or("");
        if query.is_empty() {
            return Ok(());
        }
        let s3 = plugin.model.metadata().endpoint_prefix == "s3";
        let req = auth::PresignedRequest {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            query,
            headers: &parts.headers,
            s3,
            virtual_host_bucket: if s3 {
                protocol::s3_virtual_host_bucket(host)
            } else {
                None
            },
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let identity = &self.runtime.identity;
        let default_secret = &self.runtime.config.default_secret;
        let secret_for = |akid: &str| {
            identity
                .lookup(akid)
                .map_or_else(|| default_secret.clone(), |c| c.secret_access_key)
        };
        auth::verify_presigned(&req, now, &secret_for).map_err(|e| e.to_aws_error())
    }

    /// A raw route: the plugin answers the HTTP request itself.
    async fn raw(
        &self,
        plugin: &Arc<Plugin>,
        parts: &http::request::Parts,
        caller: auth::Caller,
        request_id: &str,
        body: Bytes,
    ) -> Response<ResponseBody> {
        let request = plugins::RawRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: body.to_vec(),
        };
        let ctx = call_context(caller, request_id);
        match self.runtime.call_http(plugin, ctx, &request).await {
            Ok(r) => {
                let mut out = Response::new(ResponseBody::from_bytes(r.body));
                *out.status_mut() =
                    StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                for (k, v) in r.headers {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(&v),
                    ) {
                        out.headers_mut().append(k, v);
                    }
                }
                out
            }
            Err(e) => {
                let status = StatusCode::from_u16(e.status.unwrap_or(500))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                json_error(status, &e.code, &e.message)
            }
        }
    }

    pub(crate) fn encode_error(
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

    pub(crate) fn to_http(&self, plugin: &Plugin, resp: HttpResponse) -> Response<ResponseBody> {
        let body = match resp.body {
            protocol::ResponseBody::Bytes(b) => ResponseBody::from_bytes(b),
            protocol::ResponseBody::Blob { blob, range } => {
                let id = blob
                    .get("blob-id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let size = self
                    .runtime
                    .blobs
                    .stat(plugin.name(), &id)
                    .map_or(0, |i| i.size);
                let (start, end) = range.unwrap_or((0, size));
                ResponseBody::blob(
                    self.runtime.clone(),
                    plugin.name().to_string(),
                    id,
                    start,
                    end.min(size),
                )
            }
            protocol::ResponseBody::EventStream { initial, stream } => {
                let plugin = self.runtime.registry().by_name.get(plugin.name()).cloned();
                ResponseBody::Events(event_stream_body(plugin, initial, stream))
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

/// The body of a streamed event-stream response: the frames of the events
/// the plugin sends to the stream, as they come (crate::streams).
fn event_stream_body(
    plugin: Option<Arc<Plugin>>,
    initial: Vec<u8>,
    stream: protocol::EventStreamOut,
) -> tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let id = stream.stream_id.clone();
    let encode = move |events: &[serde_json::Value]| match &plugin {
        Some(p) => protocol::encode_stream_events(&p.model, &stream, events),
        None => Vec::new(),
    };
    let registry = crate::streams::registry();
    crate::streams::pump(registry, id, initial, encode, protocol::encode_stream_error)
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

fn call_context(caller: auth::Caller, request_id: &str) -> CallContext {
    CallContext {
        account: caller.account,
        region: caller.region,
        request_id: request_id.to_string(),
        access_key_id: caller.access_key_id,
        caller_arn: caller.arn,
        depth: 0,
    }
}

fn header_string(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn preflight() -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::empty());
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static(CORS_ALLOW_METHODS),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("*"),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    r
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

fn json_error(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
    let mut r = json_response(status, &json!({"__type": code, "message": message}));
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<ResponseBody> {
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
fn unclaimed(headers: &http::HeaderMap, path: &str) -> Response<ResponseBody> {
    let message = format!(
        "No enabled service handles this request ({path}). See GET /_ministack/plugins for the services this gateway serves."
    );
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"))
        || headers.contains_key("x-amz-target");
    if json {
        json_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &message,
        )
    } else {
        xml_error(StatusCode::BAD_REQUEST, "InvalidAction", &message)
    }
}

fn read_error(e: ReadError) -> Response<ResponseBody> {
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
