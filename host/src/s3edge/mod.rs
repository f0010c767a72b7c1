//! S3's browser-facing features, served by the gateway on the s3 plugin's
//! behalf and decided by the plugin's own operations (docs/decisions.md,
//! "S3 browser features in the gateway"):
//!
//! - CORS: a preflight (`OPTIONS`) or a cross-origin request on a bucket is
//!   answered from the bucket's rules, read with `GetBucketCors`;
//! - the website endpoint (`<bucket>.s3-website[-.]<region>.localhost`) reads
//!   `GetBucketWebsite` and serves objects with `GetObject`/`HeadObject`;
//! - POST object (browser form upload) checks the policy and its signature
//!   here, streams the file into a blob and stores it with `PutObject`.
//!
//! The plugin keeps the business rules and the state; this module keeps the
//! wire: HTML error pages, redirects, multipart forms, CORS headers.

pub mod cors;
pub mod post;
pub mod website;

use std::sync::Arc;

use http::{HeaderMap, Method, Uri};
use ministack_protocol::AwsError;
use serde_json::Value;

use crate::auth;
use crate::dispatch::{Call, Caller, Dispatcher, OwnedBlobs, Registry, Target as CallTarget};
use crate::plugins::Plugin;
use crate::router::{Route, RouteInput};

/// The bucket (and key) a request addresses when it is for the s3 plugin.
pub struct Target {
    pub plugin: Arc<Plugin>,
    pub bucket: String,
    pub key: String,
}

fn host_of<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> &'a str {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Bucket and key of an S3 request: the Host names the bucket
/// (virtual-hosted) or the first path segment does.
pub fn bucket_and_key(host: &str, path: &str) -> Option<(String, String)> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if let Some(bucket) = ministack_protocol::s3_virtual_host_bucket(host) {
        return Some((bucket.to_string(), decode(path)));
    }
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    (!bucket.is_empty()).then(|| (decode(bucket), decode(key)))
}

/// The S3 bucket a request is for, routing it as if its method were
/// `method` (a preflight routes as the request it announces).
pub fn target(
    registry: &Registry,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Target> {
    let query = uri.query().unwrap_or("");
    let signature = auth::signature(headers, query);
    let host = host_of(headers, uri);
    let input = RouteInput {
        head: ministack_protocol::RequestHead {
            method,
            path: uri.path(),
            query,
            headers,
        },
        host,
        signing_service: signature.as_ref().and_then(|s| s.service.as_deref()),
        form_body: None,
    };
    let plugin = match registry.router.route(&input) {
        Route::Service(p) if p.model.metadata().endpoint_prefix == "s3" => p,
        _ => return None,
    };
    let (bucket, key) = bucket_and_key(host, uri.path())?;
    Some(Target {
        plugin,
        bucket,
        key,
    })
}

/// The request's caller, from its signature.
pub fn caller(dispatcher: &Dispatcher, headers: &HeaderMap, query: &str) -> auth::Caller {
    let config = dispatcher.config();
    let mut caller = auth::resolve(
        auth::signature(headers, query),
        &dispatcher.shared().identity,
        &config.default_account,
        &config.default_region,
    );
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    caller.endpoint = Some(config.endpoint_for(host));
    caller
}

/// Calls one operation of the s3 plugin with a JSON input, through the
/// dispatcher; `blobs` are the call's to own (a POST object's file).
pub async fn call(
    dispatcher: &Dispatcher,
    plugin: &Arc<Plugin>,
    caller: Caller<'_>,
    request_id: &str,
    operation: &str,
    input: &Value,
    blobs: OwnedBlobs,
) -> Result<Value, AwsError> {
    let input_json = input.to_string();
    let reply = dispatcher
        .call(Call {
            target: CallTarget::Plugin(plugin),
            caller,
            request_id,
            operation,
            input_json: input_json.into(),
            blobs,
        })
        .await?;
    Ok(reply.output)
}

/// The bucket's CORS rules; `None` when it has no CORS configuration.
pub async fn bucket_cors(
    dispatcher: &Dispatcher,
    target: &Target,
    request_id: &str,
) -> Result<Option<Vec<cors::Rule>>, AwsError> {
    match call(
        dispatcher,
        &target.plugin,
        Caller::Gateway,
        request_id,
        "GetBucketCors",
        &serde_json::json!({"Bucket": target.bucket}),
        OwnedBlobs::none(),
    )
    .await
    {
        Ok(out) => Ok(Some(cors::rules(&out))),
        Err(e) if e.code == "NoSuchCORSConfiguration" => Ok(None),
        Err(e) => Err(e),
    }
}

/// S3's refusal of a cross-origin request no rule allows.
pub fn cors_forbidden(method: &str, key: &str) -> AwsError {
    let mut e = AwsError::new(
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        403,
    );
    let mut extra = serde_json::Map::new();
    extra.insert("Method".into(), method.into());
    extra.insert(
        "ResourceType".into(),
        if key.is_empty() { "BUCKET" } else { "OBJECT" }.into(),
    );
    e.extra = Some(extra);
    e
}
