//! One request's path: internal endpoints → identify → route → decode →
//! dispatch → encode. Every response carries request ids and CORS headers.

use std::sync::Arc;

use crate::body::WireBody;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use ministack_protocol::{self as protocol, AwsError, Protocol, RequestBody, RequestHead};
use serde_json::json;

use crate::auth;
use crate::body::{self, ResponseBody};
use crate::dispatch::{Call, Caller, Dispatcher, OwnedBlobs, Registry, Target, TextReply};
use crate::internal;
use crate::plugins::{self, Plugin};
use crate::respond::{self, Encoder, json_error, read_error, unclaimed};
use crate::router::{Route, RouteInput};
use crate::s3edge;

pub struct Gateway {
    dispatcher: Arc<Dispatcher>,
    encoder: Encoder,
}

/// A request routed to a service plugin, its body not decoded yet.
struct Routed {
    plugin: Arc<Plugin>,
    parts: http::request::Parts,
    body: Unread,
    /// The headers after a gzip body read for routing was inflated.
    inflated_headers: Option<HeaderMap>,
}

/// A request body: still on the wire, or read for routing.
enum Unread {
    Wire(WireBody),
    Buffered(Bytes),
}

const CORS_ALLOW_METHODS: &str = "GET, PUT, POST, DELETE, HEAD, OPTIONS, PATCH";
// Names every response carries, parsed once (a `&str` name is parsed and
// hashed on each insert).
const X_AMZN_REQUESTID: http::HeaderName = http::HeaderName::from_static("x-amzn-requestid");
const X_AMZ_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amz-request-id");

impl Gateway {
    /// The server's limits (read by the listener).
    pub fn limits(&self) -> &crate::config::ServerLimits {
        &self.dispatcher.config().limits
    }

    pub fn new(dispatcher: Arc<Dispatcher>) -> Self {
        crate::enforcement::register(&dispatcher);
        let encoder = Encoder::new(dispatcher.shared().clone());
        Self {
            dispatcher,
            encoder,
        }
    }

    pub async fn handle(self: Arc<Self>, req: Request<WireBody>) -> Response<ResponseBody> {
        // Built in its box: hyper moves the future it gets from the
        // service a few times before polling it (crate::boxed).
        crate::boxed::in_place(|| self.serve(req)).await
    }

    async fn serve(self: Arc<Self>, req: Request<WireBody>) -> Response<ResponseBody> {
        let request_id = uuid::Uuid::new_v4().to_string();
        // Set when a bucket's CORS rules decided the CORS headers.
        let mut cors_decided = false;
        let website = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(s3edge::website::bucket);
        let mut resp = if let Some(bucket) = website {
            // Rare branches are boxed, so they do not size every request's
            // future (docs/performance.md, eleventh sitting).
            Box::pin(s3edge::website::serve(
                &self.dispatcher,
                &self.encoder,
                req,
                &bucket,
                &request_id,
            ))
            .await
        } else if req.method() == Method::OPTIONS {
            let (resp, decided) = Box::pin(self.options(&req, &request_id)).await;
            cors_decided = decided;
            resp
        } else {
            let origin = header_string(req.headers(), http::header::ORIGIN);
            let target = origin.as_ref().and_then(|_| {
                let registry = self.dispatcher.registry();
                s3edge::target(&registry, req.method(), req.uri(), req.headers())
            });
            let method = req.method().clone();
            let mut resp = self.dispatch(req, &request_id).await;
            if let (Some(origin), Some(target)) = (origin, target)
                && let Ok(Some(rules)) =
                    Box::pin(s3edge::bucket_cors(&self.dispatcher, &target, &request_id)).await
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
            h.insert(X_AMZN_REQUESTID, v.clone());
            h.insert(X_AMZ_REQUEST_ID, v);
        }
        if !cors_decided {
            h.entry(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .or_insert(HeaderValue::from_static("*"));
            h.entry(http::header::ACCESS_CONTROL_EXPOSE_HEADERS)
                .or_insert(HeaderValue::from_static("*"));
        }
        resp
    }

    /// The answer that replaces hyper's own bare 400/414/431 (crate::wire):
    /// the error in the protocol of the service the head names, as far as
    /// it was read.
    pub fn wire_error(&self, status: u16, raw_head: &[u8]) -> Vec<u8> {
        let head = crate::wire::parse_partial_head(raw_head);
        let (code, message) = crate::wire::reason(status, &head, raw_head);
        let request_id = uuid::Uuid::new_v4().to_string();
        let caller = auth::signature(&head.headers, &head.query);
        let registry = self.dispatcher.registry();
        let host = head
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let input = RouteInput {
            head: RequestHead {
                method: &head.method,
                path: &head.path,
                query: &head.query,
                headers: &head.headers,
            },
            host,
            signing_service: caller.as_ref().and_then(|c| c.service.as_deref()),
            form_body: None,
        };
        let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        // The gateway's own endpoints answer JSON.
        let route = if head.path.starts_with("/_ministack/") {
            None
        } else {
            Some(registry.router.route(&input))
        };
        let resp = match route {
            None => json_error(status_code, code, &message),
            Some(route) => self.wire_error_for(route, &head, status, code, message, &request_id),
        };
        let (mut parts, body) = resp.into_parts();
        let body = match body {
            ResponseBody::Full(b) => b.unwrap_or_default(),
            _ => Bytes::new(),
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            parts.headers.insert("x-amzn-requestid", v.clone());
            parts.headers.insert("x-amz-request-id", v);
        }
        crate::wire::serialize(Response::from_parts(parts, body))
    }

    fn wire_error_for(
        &self,
        route: Route,
        head: &crate::wire::PartialHead,
        status: u16,
        code: &str,
        message: String,
        request_id: &str,
    ) -> Response<ResponseBody> {
        let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        match route {
            Route::Service(plugin) => {
                // S3 states an oversized head as a 400 (its error list).
                let s3 = plugin.model.metadata().endpoint_prefix == "s3";
                let status = if s3 && status == 431 { 400 } else { status };
                let e = AwsError::new(code, message, status);
                self.encoder
                    .request_error(&plugin, &head.headers, &e, request_id)
            }
            Route::Raw(_) => json_error(status_code, code, &message),
            Route::NeedBody => respond::xml_error(status_code, code, &message),
            Route::Disabled(_) | Route::None => {
                respond::protocol_error(&head.headers, status_code, code, &message)
            }
        }
    }

    /// A CORS preflight. On an S3 bucket with a CORS configuration the
    /// bucket's rules answer (AWS's 403 when none allows the request, or
    /// when the bucket has no configuration); anything else gets the
    /// permissive answer MiniStack gives. Returns whether the bucket decided.
    async fn options(
        &self,
        req: &Request<WireBody>,
        request_id: &str,
    ) -> (Response<ResponseBody>, bool) {
        let headers = req.headers();
        let requested = header_string(headers, http::header::ACCESS_CONTROL_REQUEST_METHOD);
        let method = requested
            .as_deref()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let registry = self.dispatcher.registry();
        let Some(target) = s3edge::target(&registry, &method, req.uri(), headers) else {
            return (preflight(), false);
        };
        let rules = match s3edge::bucket_cors(&self.dispatcher, &target, request_id).await {
            Ok(rules) => rules,
            Err(e) if e.code == "NoSuchBucket" => return (preflight(), false),
            Err(e) => {
                let resp =
                    self.encoder
                        .error(&target.plugin, Protocol::RestXml, None, &e, request_id);
                return (resp, true);
            }
        };
        let bad_request = |m: &str| AwsError::new("BadRequest", m, 400);
        let (Some(origin), Some(requested)) =
            (header_string(headers, http::header::ORIGIN), requested)
        else {
            let e = bad_request("Insufficient information. Origin request header needed.");
            let resp = self
                .encoder
                .error(&target.plugin, Protocol::RestXml, None, &e, request_id);
            return (resp, true);
        };
        let allowed = rules.and_then(|r| {
            s3edge::cors::evaluate(
                &r,
                &origin,
                &requested,
                Some(
                    &header_string(headers, http::header::ACCESS_CONTROL_REQUEST_HEADERS)
                        .unwrap_or_default(),
                ),
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
                self.encoder
                    .error(&target.plugin, Protocol::RestXml, None, &e, request_id)
            }
        };
        (resp, true)
    }

    /// identify → route → body → decode → dispatch → encode.
    async fn dispatch(&self, req: Request<WireBody>, request_id: &str) -> Response<ResponseBody> {
        let (mut parts, body) = req.into_parts();
        body::join_repeated_headers(&mut parts.headers);
        if let Some(endpoint) = internal::Endpoint::matching(&parts) {
            let bytes = body::collect(body).await.unwrap_or_default();
            let query = parts.uri.query().unwrap_or("");
            return Box::pin(internal::handle(&self.dispatcher, endpoint, query, &bytes)).await;
        }
        let caller = self.identify(&parts);
        let registry = self.dispatcher.registry();
        let routed = match self
            .route(&registry, parts, body, &caller, request_id)
            .await
        {
            Ok(Ok(routed)) => routed,
            Ok(Err((plugin, parts, bytes))) => {
                return Box::pin(self.raw(&plugin, &parts, caller, request_id, bytes)).await;
            }
            Err(resp) => return resp,
        };
        let plugin = routed.plugin.clone();
        let host = host_of(&routed.parts).to_string();
        if plugin.model.metadata().endpoint_prefix == "s3" && !utf8_uri(&routed.parts.uri) {
            // Decoded lossily, `%FF` and `%FE` would both name U+FFFD's key.
            let e = AwsError::new("InvalidURI", "Couldn't parse the specified URI.", 400);
            return self.encoder.early_error(&plugin, &e, request_id);
        }
        if let Err(e) = self.check_presigned(&plugin, &routed.parts, &host) {
            let headers = &routed.parts.headers;
            return self.encoder.request_error(&plugin, headers, &e, request_id);
        }
        if let Unread::Wire(_) = routed.body
            && plugin.model.metadata().endpoint_prefix == "s3"
            && s3edge::post::is_post_object(&routed.parts.method, &routed.parts.headers)
        {
            let Unread::Wire(body) = routed.body else {
                unreachable!()
            };
            let (d, enc) = (&self.dispatcher, &self.encoder);
            return Box::pin(s3edge::post::handle(
                d,
                enc,
                plugin,
                routed.parts,
                body,
                &host,
                request_id,
            ))
            .await;
        }
        let enforcing = self.dispatcher.config().enforcement.enabled;
        let s3 = plugin.model.metadata().endpoint_prefix == "s3";
        // S3 signs its payload's hash in a header: checked before the body
        // is read. (A browser form upload above carries its own signed policy.)
        if enforcing && s3 {
            let buffered = match &routed.body {
                Unread::Buffered(b) => Some(&b[..]),
                Unread::Wire(_) => None,
            };
            if let Err(e) =
                self.authenticate(&plugin, &routed.parts, &host, (buffered, None), &caller)
            {
                return self.encoder.early_error(&plugin, &e, request_id);
            }
        }
        let (parts, request_body, blobs, matched) =
            match self.read_body(routed, &caller, request_id).await {
                Ok(read) => read,
                Err(resp) => return resp,
            };
        if enforcing && !s3 {
            let (buffered, stored_sha256) = match &request_body {
                RequestBody::Bytes(b) => (Some(&b[..]), None),
                RequestBody::Blob(blob) => (None, blob_sha256_hex(blob)),
            };
            let body = (buffered, stored_sha256.as_deref());
            if let Err(e) = self.authenticate(&plugin, &parts, &host, body, &caller) {
                return self.encoder.early_error(&plugin, &e, request_id);
            }
        }
        let head = RequestHead {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
        };
        let decoded =
            match protocol::decode_request_text(&plugin.model, &head, request_body, matched) {
                Ok(d) => d,
                Err((proto, e)) => return self.encoder.error(&plugin, proto, None, &e, request_id),
            };
        if enforcing {
            // The policy reads the input as a value: the text read back
            // (only under ENFORCE_IAM, where evaluating policies costs more).
            let input = serde_json::from_str(&decoded.input_json).unwrap_or_default();
            let conditions = crate::enforcement::Conditions::of(&parts);
            if let Err(e) = Box::pin(crate::enforcement::authorize(
                &self.dispatcher,
                &plugin,
                &decoded.operation,
                &input,
                &caller,
                &conditions,
                request_id,
            ))
            .await
            {
                let op = Some(decoded.operation.as_str());
                return self
                    .encoder
                    .error(&plugin, decoded.protocol, op, &e, request_id);
            }
        }
        let protocol::DecodedText {
            operation,
            protocol: proto,
            input_json,
        } = decoded;
        let result = self
            .dispatcher
            .call_text(Call {
                target: Target::Plugin(&plugin),
                caller: Caller::Client(caller),
                request_id,
                operation: &operation,
                input_json: input_json.into(),
                blobs,
            })
            .await;
        self.encode(&plugin, proto, &operation, result, request_id)
    }

    /// Who signed the request (the defaults when nobody did).
    fn identify(&self, parts: &http::request::Parts) -> auth::Caller {
        s3edge::caller(
            &self.dispatcher,
            &parts.headers,
            parts.uri.query().unwrap_or(""),
        )
    }

    /// The plugin a request is for; a query-protocol request may need its
    /// form body to tell. A raw route comes back as its plugin and body.
    #[allow(clippy::type_complexity)]
    async fn route(
        &self,
        registry: &Registry,
        parts: http::request::Parts,
        body: WireBody,
        caller: &auth::Caller,
        request_id: &str,
    ) -> Result<Result<Routed, (Arc<Plugin>, http::request::Parts, Bytes)>, Response<ResponseBody>>
    {
        let host = host_of(&parts);
        let input = RouteInput {
            head: RequestHead {
                method: &parts.method,
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &parts.headers,
            },
            host,
            signing_service: caller.signing_service.as_deref(),
            form_body: None,
        };
        let mut body = Unread::Wire(body);
        let mut inflated_headers = None;
        let mut route = registry.router.route(&input);
        if let Route::NeedBody = route {
            let Unread::Wire(wire) = body else {
                unreachable!()
            };
            let mut headers = parts.headers.clone();
            let bytes = body::collect(wire)
                .await
                .and_then(|b| body::decompress(&mut headers, b))
                .map_err(read_error)?;
            route = registry.router.route(&RouteInput {
                form_body: Some(&bytes),
                ..input
            });
            body = Unread::Buffered(bytes);
            inflated_headers = Some(headers);
        }
        match route {
            Route::Service(plugin) => Ok(Ok(Routed {
                plugin,
                parts,
                body,
                inflated_headers,
            })),
            Route::Raw(plugin) => {
                let bytes = match body {
                    Unread::Buffered(b) => b,
                    Unread::Wire(wire) => body::collect(wire).await.map_err(read_error)?,
                };
                Ok(Err((plugin, parts, bytes)))
            }
            Route::Disabled(service) => Err(respond::disabled(service, &parts.headers, request_id)),
            Route::None | Route::NeedBody => Err(unclaimed(&parts.headers, parts.uri.path())),
        }
    }

    /// The body: streamed into a blob for a streaming member, else
    /// buffered (and inflated, except for S3, which keeps Content-Encoding
    /// as object metadata).
    async fn read_body(
        &self,
        routed: Routed,
        caller: &auth::Caller,
        request_id: &str,
    ) -> Result<
        (
            http::request::Parts,
            RequestBody,
            OwnedBlobs,
            Option<protocol::RestMatch>,
        ),
        Response<ResponseBody>,
    > {
        let Routed {
            plugin,
            mut parts,
            body,
            inflated_headers,
        } = routed;
        let wire = match body {
            Unread::Buffered(b) => {
                if let Some(h) = inflated_headers {
                    parts.headers = h;
                }
                return Ok((parts, RequestBody::Bytes(b), OwnedBlobs::none(), None));
            }
            Unread::Wire(wire) => wire,
        };
        let head = RequestHead {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
        };
        let prefix = plugin.model.metadata().endpoint_prefix.as_str();
        let s3 = prefix == "s3";
        let limit = body::limit_for(prefix);
        // A large blob payload that is not modelled as streaming (Lambda
        // Invoke's 6 MB) is stored like a streamed one: buffered, it was
        // held as bytes, base64 text, the tree, the plugin's copy and its
        // parse at once.
        // The operation is matched once: the decode reuses the match when
        // the headers it read are unchanged (`reusable` below).
        let matched = plugin.model.match_rest_request(&head);
        let large_blob = || {
            body::declared_length(&parts.headers)
                .is_some_and(|n| n > body::BLOB_PAYLOAD_AT && n <= limit.bytes as u64)
                && matched
                    .as_ref()
                    .is_some_and(|m| m.blob_payload_input(&plugin.model).is_some())
        };
        let streaming = matched
            .as_ref()
            .is_some_and(|m| m.streaming_input(&plugin.model).is_some());
        if streaming || large_blob() {
            // into_blob rewrites the headers of an aws-chunked body only
            // (its trailers added, Content-Encoding trimmed): a trailer may
            // name a header the match weighs, so such a request is matched
            // again.
            let matched = matched.filter(|_| !body::is_aws_chunked(&parts.headers));
            if s3
                && let Err(e) =
                    Box::pin(self.bucket_exists(&plugin, &parts, caller, request_id)).await
            {
                return Err(self.encoder.early_error(&plugin, &e, request_id));
            }
            let chain = self.chunk_chain(&parts, s3);
            let shared = self.dispatcher.shared();
            // S3 keeps the checksums it reports; other services' bodies need
            // SHA256 for their signature check (`blob_sha256_hex`).
            let algorithms = if s3 {
                body::upload_checksums(&parts.headers)
            } else {
                ministack_state::checksum::Algorithms::ALL
            };
            let stored = body::into_blob(
                shared,
                plugin.name(),
                &mut parts.headers,
                wire,
                chain,
                algorithms,
            );
            return match stored.await {
                Ok(info) => {
                    let blob = json!({
                        "blob-id": info.id,
                        "size": info.size,
                        "md5-hex": info.md5_hex,
                        "checksums": info.checksums.iter()
                            .map(|(k, v)| (k.clone(), json!(v)))
                            .collect::<serde_json::Map<_, _>>(),
                    });
                    let owned = OwnedBlobs::new(shared, plugin.name(), vec![info.id]);
                    Ok((parts, RequestBody::Blob(blob), owned, matched))
                }
                Err(e) => Err(self.encoder.early_error(&plugin, &e, request_id)),
            };
        }
        // Refused before a byte is buffered when the declared length says
        // so; a chunked body is cut at the limit.
        if body::declared_length(&parts.headers).is_some_and(|n| n > limit.bytes as u64) {
            // A client that waits for 100-continue sends nothing: answer now.
            if !parts.headers.contains_key(http::header::EXPECT) {
                body::discard(wire).await;
            }
            return Err(self.encoder.request_error(
                &plugin,
                &parts.headers,
                &limit.error(),
                request_id,
            ));
        }
        let bytes = body::collect_at_most(wire, limit.bytes)
            .await
            .and_then(|b| {
                if s3 {
                    Ok(b)
                } else {
                    body::decompress_at_most(&mut parts.headers, b, limit.bytes)
                }
            })
            .map_err(|e| match e {
                body::ReadError::TooLarge => {
                    self.encoder
                        .request_error(&plugin, &parts.headers, &limit.error(), request_id)
                }
                e => self.encoder.request_error(
                    &plugin,
                    &parts.headers,
                    &respond::read_aws_error(e),
                    request_id,
                ),
            })?;
        if s3
            && let Some(claimed) = parts
                .headers
                .get("x-amz-content-sha256")
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.len() == 64)
            && let Err(e) = body::content_sha256_matches(claimed, &auth::sigv4::sha256_hex(&bytes))
        {
            return Err(self.encoder.early_error(&plugin, &e, request_id));
        }
        // S3 bodies are not inflated: its headers are as matched.
        let matched = matched.filter(|_| s3);
        Ok((
            parts,
            RequestBody::Bytes(bytes),
            OwnedBlobs::none(),
            matched,
        ))
    }

    /// An upload to a bucket that does not exist is refused before its
    /// body is written anywhere (S3 checks the bucket first too). Small
    /// bodies skip the extra call: buffering them costs little.
    async fn bucket_exists(
        &self,
        plugin: &Arc<Plugin>,
        parts: &http::request::Parts,
        caller: &auth::Caller,
        request_id: &str,
    ) -> Result<(), AwsError> {
        if body::declared_length(&parts.headers).is_some_and(|n| n <= 1 << 20) {
            return Ok(());
        }
        let Some((bucket, _)) = s3edge::bucket_and_key(host_of(parts), parts.uri.path()) else {
            return Ok(());
        };
        let input = json!({ "Bucket": bucket });
        let caller = Caller::Client(caller.clone());
        match s3edge::call(
            &self.dispatcher,
            plugin,
            caller,
            request_id,
            "HeadBucket",
            &input,
            OwnedBlobs::none(),
        )
        .await
        {
            Err(e) if e.code == "NoSuchBucket" || e.status == Some(404) => {
                let mut e =
                    AwsError::new("NoSuchBucket", "The specified bucket does not exist", 404);
                let mut extra = serde_json::Map::new();
                extra.insert("BucketName".into(), bucket.into());
                e.extra = Some(extra);
                Err(e)
            }
            _ => Ok(()),
        }
    }

    /// The chunk-signature chain of a signed streaming upload, when its seed
    /// signature verifies with the secret the gateway knows for its key
    /// (the identity registry's, else AWS_SECRET_ACCESS_KEY). A seed that
    /// does not verify means the gateway does not know the client's secret
    /// (any credentials are accepted unless enforcement is on), so its
    /// chunks cannot be checked either.
    fn chunk_chain(
        &self,
        parts: &http::request::Parts,
        s3: bool,
    ) -> Option<ministack_state::chunked::ChunkChain> {
        let mode = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())?;
        if !mode.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
            return None;
        }
        let req = auth::sigv4::HeaderSigned {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            s3,
        };
        let identity = &self.dispatcher.shared().identity;
        let default_secret = &self.dispatcher.config().default_secret;
        let secret_for = |akid: &str| {
            identity
                .lookup(akid)
                .map_or_else(|| default_secret.clone(), |c| c.secret_access_key)
        };
        let seed = auth::sigv4::verify_authorization(&req, &secret_for)?.ok()?;
        Some(ministack_state::chunked::ChunkChain::new(
            seed.signing_key,
            &seed.date,
            &seed.scope,
            &seed.signature,
            mode.ends_with("-TRAILER"),
        ))
    }

    /// The operation's output (or error) in the request's protocol.
    fn encode(
        &self,
        plugin: &Plugin,
        proto: Protocol,
        op: &str,
        result: Result<TextReply, AwsError>,
        request_id: &str,
    ) -> Response<ResponseBody> {
        // awsJson and query write the plugin's text without a tree of it,
        // when that gives the same bytes; else the text is parsed.
        let encoded = match result {
            Ok(reply) => {
                let model = &plugin.model;
                match protocol::encode_response_text(model, proto, op, &reply.text, request_id) {
                    Some(resp) => Ok(resp),
                    None => match reply.parse() {
                        Ok(output) => {
                            protocol::encode_response(&plugin.model, proto, op, &output, request_id)
                        }
                        Err(e) => Err(e),
                    },
                }
            }
            Err(e) => Err(e),
        };
        match encoded {
            Ok(resp) => self.encoder.to_http(plugin, resp),
            Err(e) => self.encoder.error(plugin, proto, Some(op), &e, request_id),
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
        let identity = &self.dispatcher.shared().identity;
        let default_secret = &self.dispatcher.config().default_secret;
        let secret_for = |akid: &str| {
            identity
                .lookup(akid)
                .map_or_else(|| default_secret.clone(), |c| c.secret_access_key)
        };
        auth::verify_presigned(&req, now, &secret_for).map_err(|e| e.to_aws_error())
    }

    /// ENFORCE_IAM: the request's signature (crate::enforcement::authenticate).
    #[allow(clippy::result_large_err)]
    fn authenticate(
        &self,
        plugin: &Plugin,
        parts: &http::request::Parts,
        host: &str,
        (body, body_sha256): (Option<&[u8]>, Option<&str>),
        caller: &auth::Caller,
    ) -> Result<(), AwsError> {
        let req = enforce_request(plugin, parts, Some(host), body, body_sha256);
        crate::enforcement::authenticate(&self.dispatcher, plugin, &req, &caller.access_key_id)
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
        if self.dispatcher.config().enforcement.enabled {
            if let Err(e) = self.check_presigned(plugin, parts, host_of(parts)) {
                return self.encoder.early_error(plugin, &e, request_id);
            }
            let req = enforce_request(plugin, parts, None, Some(&body), None);
            let d = &self.dispatcher;
            if let Err(e) =
                crate::enforcement::authorize_raw(d, plugin, parts, &req, &caller, request_id).await
            {
                return self.encoder.early_error(plugin, &e, request_id);
            }
        }
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
        match self
            .dispatcher
            .call_http(plugin, caller, request_id, &request)
            .await
        {
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
}

/// The SHA-256 (hex) of a body stored in a blob, from the digests taken
/// while it was written (a signed non-S3 body's hash is in its signature).
fn blob_sha256_hex(blob: &serde_json::Value) -> Option<String> {
    use base64::Engine as _;
    let b64 = blob.get("checksums")?.get("SHA256")?.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(hex::encode(raw))
}

/// The path and query decode to UTF-8 (S3 keys and prefixes are UTF-8).
fn utf8_uri(uri: &http::Uri) -> bool {
    let decodes = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .is_ok()
    };
    decodes(uri.path()) && decodes(uri.query().unwrap_or(""))
}

/// What ENFORCE_IAM checks a signature against; `host` names the bucket of
/// a virtual-hosted S3 request (raw routes have none).
fn enforce_request<'a>(
    plugin: &Plugin,
    parts: &'a http::request::Parts,
    host: Option<&'a str>,
    body: Option<&'a [u8]>,
    body_sha256: Option<&'a str>,
) -> auth::enforce::Request<'a> {
    let s3 = plugin.model.metadata().endpoint_prefix == "s3";
    auth::enforce::Request {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        s3,
        virtual_host_bucket: host
            .filter(|_| s3)
            .and_then(protocol::s3_virtual_host_bucket),
        body,
        body_sha256,
    }
}

fn host_of(parts: &http::request::Parts) -> &str {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

fn header_string(headers: &http::HeaderMap, name: http::HeaderName) -> Option<String> {
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
