//! POST object: the browser form upload (`POST /<bucket>`, multipart/form-data).
//! The policy (base64 JSON: expiration and conditions) is checked, its SigV4
//! (`x-amz-signature`) or SigV2 (`signature`) signature verified with the
//! same secrets as presigned URLs, the file streamed into a blob (never into
//! wasm memory) and stored with the plugin's `PutObject`.

// AwsError is the error of every check here, as in the rest of the host.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use crate::body::WireBody;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Method, Response, StatusCode};
use ministack_protocol::{AwsError, Protocol};
use serde_json::{Map, Value, json};

use super::call;
use crate::auth::{self, sigv4};
use crate::body::ResponseBody;
use crate::dispatch::{Caller, Dispatcher, OwnedBlobs};
use crate::plugins::Plugin;
use crate::respond::Encoder;

/// The key in a POST's `Location`: percent-encoded as S3 does, RFC 3986's
/// unreserved characters left as they are (`/` is encoded).
const LOCATION_KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Text fields larger than this are refused (AWS: 20 KB of form fields).
const MAX_FIELD: usize = 1 << 20;

pub fn is_post_object(method: &Method, headers: &http::HeaderMap) -> bool {
    method == Method::POST
        && headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn err(code: &str, message: &str, status: u16) -> AwsError {
    AwsError::new(code, message, status)
}

fn policy_failed(condition: &Value) -> AwsError {
    err(
        "AccessDenied",
        &format!("Invalid according to Policy: Policy Condition failed: {condition}"),
        403,
    )
}

/// The form's fields, names lowercased (AWS matches them case-insensitively).
pub struct Form {
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `2026-01-01T00:00:00Z` or `2026-01-01T00:00:00.000Z` → epoch seconds.
pub fn parse_expiration(s: &str) -> Option<u64> {
    let (date, time) = s.trim().trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    let days = sigv4::days_from_civil(y, m, day);
    (days >= 0).then(|| days as u64 * 86400 + hh * 3600 + mm * 60 + ss)
}

/// Checks the policy's expiration and conditions against the form (all
/// but content-length-range, which `check_length` applies once the file is
/// read). `bucket` stands for the `bucket` field.
pub fn check_policy(policy: &Value, form: &Form, bucket: &str, now: u64) -> Result<(), AwsError> {
    let expiration = policy
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            err(
                "InvalidPolicyDocument",
                "Invalid Policy: Policy missing expiration.",
                400,
            )
        })?;
    let expires = parse_expiration(expiration).ok_or_else(|| {
        err(
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid 'expiration' value.",
            400,
        )
    })?;
    if now > expires {
        return Err(err(
            "AccessDenied",
            "Invalid according to Policy: Policy expired.",
            403,
        ));
    }
    let conditions = policy
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                "InvalidPolicyDocument",
                "Invalid Policy: Policy missing conditions.",
                400,
            )
        })?;
    let value_of = |field: &str| -> String {
        let field = field.trim_start_matches('$').to_ascii_lowercase();
        if field == "bucket" {
            return bucket.to_string();
        }
        form.get(&field).unwrap_or("").to_string()
    };
    for c in conditions {
        match c {
            Value::Object(m) => {
                for (k, v) in m {
                    if value_of(k) != v.as_str().unwrap_or_default() {
                        return Err(policy_failed(&json!(["eq", format!("${k}"), v])));
                    }
                }
            }
            Value::Array(a) => {
                let op = a
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let field = a.get(1).and_then(Value::as_str).unwrap_or("");
                let expected = a.get(2).and_then(Value::as_str).unwrap_or("");
                let ok = match op.as_str() {
                    "eq" => value_of(field) == expected,
                    "starts-with" => {
                        let actual = value_of(field);
                        if field.eq_ignore_ascii_case("$content-type") && expected.is_empty() {
                            true
                        } else {
                            actual.split(',').all(|v| v.trim().starts_with(expected))
                        }
                    }
                    "content-length-range" => true,
                    _ => {
                        return Err(err(
                            "InvalidPolicyDocument",
                            &format!("Invalid Policy: Invalid Condition: unknown operation {op}"),
                            400,
                        ));
                    }
                };
                if !ok {
                    return Err(policy_failed(c));
                }
            }
            _ => {
                return Err(err(
                    "InvalidPolicyDocument",
                    "Invalid Policy: Invalid Condition.",
                    400,
                ));
            }
        }
    }
    Ok(())
}

/// content-length-range conditions against the file's size.
pub fn check_length(policy: &Value, size: u64) -> Result<(), AwsError> {
    for c in policy
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(a) = c.as_array() else { continue };
        if !a
            .first()
            .and_then(Value::as_str)
            .is_some_and(|o| o.eq_ignore_ascii_case("content-length-range"))
        {
            continue;
        }
        let num = |v: Option<&Value>| {
            v.and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(0)
        };
        let (min, max) = (num(a.get(1)), num(a.get(2)));
        if size < min {
            return Err(err(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                400,
            ));
        }
        if size > max {
            return Err(err(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                400,
            ));
        }
    }
    Ok(())
}

/// Verifies the policy's signature; returns the access key that signed it
/// and its credential scope's region.
pub fn check_signature(
    form: &Form,
    policy_b64: &str,
    secret_for: &dyn Fn(&str) -> String,
) -> Result<(String, Option<String>), AwsError> {
    let mismatch = || {
        err(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            403,
        )
    };
    if let Some(algorithm) = form.get("x-amz-algorithm") {
        if algorithm != "AWS4-HMAC-SHA256" {
            return Err(err(
                "InvalidArgument",
                "Invalid Policy: x-amz-algorithm must be AWS4-HMAC-SHA256",
                400,
            ));
        }
        let (Some(credential), Some(signature)) =
            (form.get("x-amz-credential"), form.get("x-amz-signature"))
        else {
            return Err(err(
                "InvalidArgument",
                "Bucket POST must contain fields named 'x-amz-credential' and 'x-amz-signature'",
                400,
            ));
        };
        let (akid, scope) = credential.split_once('/').ok_or_else(|| {
            err(
                "InvalidArgument",
                "Error parsing the X-Amz-Credential parameter",
                400,
            )
        })?;
        let mut key = format!("AWS4{}", secret_for(akid)).into_bytes();
        for part in scope.split('/') {
            key = hmac256(&key, part.as_bytes());
        }
        if hex::encode(hmac256(&key, policy_b64.as_bytes())) != signature.to_ascii_lowercase() {
            return Err(mismatch());
        }
        let region = scope.split('/').nth(1).map(str::to_string);
        return Ok((akid.to_string(), region));
    }
    let (Some(akid), Some(signature)) = (form.get("awsaccesskeyid"), form.get("signature")) else {
        return Err(err(
            "InvalidArgument",
            "Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please check the order of the fields.",
            400,
        ));
    };
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret_for(akid).as_bytes()).expect("any key length");
    mac.update(policy_b64.as_bytes());
    if base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) != signature {
        return Err(mismatch());
    }
    Ok((akid.to_string(), None))
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...` → `k=v&...`
pub fn tagging_query(xml: &str) -> String {
    let text = |s: &str, tag: &str| -> Option<String> {
        let start = s.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = s[start..].find(&format!("</{tag}>"))? + start;
        Some(s[start..end].to_string())
    };
    xml.split("<Tag>")
        .skip(1)
        .filter_map(|t| Some((text(t, "Key")?, text(t, "Value").unwrap_or_default())))
        .map(|(k, v)| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair(&k, &v)
                .finish()
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub async fn handle(
    dispatcher: &Dispatcher,
    encoder: &Encoder,
    plugin: Arc<Plugin>,
    parts: http::request::Parts,
    body: WireBody,
    host: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    match upload(dispatcher, &plugin, &parts, body, host, request_id).await {
        Ok(r) => r,
        Err(e) => encoder.error(&plugin, Protocol::RestXml, None, &e, request_id),
    }
}

async fn upload(
    dispatcher: &Dispatcher,
    plugin: &Arc<Plugin>,
    parts: &http::request::Parts,
    body: WireBody,
    host: &str,
    request_id: &str,
) -> Result<Response<ResponseBody>, AwsError> {
    let shared = dispatcher.shared();
    let Some((bucket, key_in_path)) = super::bucket_and_key(host, parts.uri.path()) else {
        return Err(err(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            405,
        ));
    };
    if !key_in_path.is_empty() {
        return Err(err(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            405,
        ));
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        err(
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
            400,
        )
    })?;
    let stream = http_body_util::BodyDataStream::new(body);
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed = |e: multer::Error| {
        err(
            "MalformedPOSTRequest",
            &format!("The body of your POST request is not well-formed multipart/form-data: {e}"),
            400,
        )
    };
    let mut form = Form { fields: Vec::new() };
    let mut file: Option<(multer::Field<'_>, Option<String>, Option<String>)> = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        if name == "file" {
            let filename = field.file_name().map(str::to_string);
            let ctype = field.content_type().map(|m| m.to_string());
            file = Some((field, filename, ctype));
            break; // AWS ignores fields after the file
        }
        let value: Bytes = field.bytes().await.map_err(malformed)?;
        if value.len() > MAX_FIELD {
            return Err(err(
                "MaxPostPreDataLengthExceeded",
                "Your POST request fields preceeding the upload file was too large.",
                400,
            ));
        }
        form.fields
            .push((name, String::from_utf8_lossy(&value).into_owned()));
    }
    let Some((mut field, filename, _file_type)) = file else {
        let mut e = err(
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            400,
        );
        let mut extra = Map::new();
        extra.insert("ArgumentName".into(), "file".into());
        extra.insert("ArgumentValue".into(), "0".into());
        e.extra = Some(extra);
        return Err(e);
    };
    let Some(key_template) = form.get("key").map(str::to_string) else {
        return Err(err(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
            400,
        ));
    };
    let key = key_template.replace("${filename}", filename.as_deref().unwrap_or(""));

    // The policy and its signature.
    let identity = &shared.identity;
    let default_secret = &shared.config.default_secret;
    let secret_for = |akid: &str| {
        identity
            .lookup(akid)
            .map_or_else(|| default_secret.clone(), |c| c.secret_access_key)
    };
    let mut signer = None;
    let policy = match form.get("policy") {
        Some(b64) => {
            let doc = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .ok_or_else(|| {
                    err(
                        "InvalidPolicyDocument",
                        "Invalid Policy: Invalid JSON.",
                        400,
                    )
                })?;
            signer = Some(check_signature(&form, b64.trim(), &secret_for)?);
            check_policy(&doc, &form, &bucket, now())?;
            Some(doc)
        }
        None => None,
    };

    // The file, streamed into a blob.
    let mut writer = shared
        .blobs
        .writer(plugin.name())
        .map_err(|e| err("InternalError", &e.to_string(), 500))?;
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        writer
            .write(&chunk)
            .await
            .map_err(|e| err("InternalError", &e.to_string(), 500))?;
    }
    let info = writer
        .finish()
        .await
        .map_err(|e| err("InternalError", &e.to_string(), 500))?;
    // The file's blob is released if anything below fails.
    let file = OwnedBlobs::new(shared, plugin.name(), vec![info.id.clone()]);
    if let Some(p) = &policy {
        check_length(p, info.size)?;
    }

    // PutObject with the form's headers.
    let mut input = json!({
        "Bucket": bucket,
        "Key": key,
        "Body": {
            "blob-id": info.id,
            "size": info.size,
            "md5-hex": info.md5_hex,
            "checksums": info.checksums.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        },
    });
    let mut metadata = Map::new();
    for (name, value) in &form.fields {
        let member = match name.as_str() {
            "content-type" => "ContentType",
            "cache-control" => "CacheControl",
            "content-disposition" => "ContentDisposition",
            "content-encoding" => "ContentEncoding",
            "expires" => "Expires",
            "acl" => "ACL",
            "x-amz-storage-class" => "StorageClass",
            "x-amz-server-side-encryption" => "ServerSideEncryption",
            "x-amz-website-redirect-location" => "WebsiteRedirectLocation",
            "tagging" => {
                input["Tagging"] = tagging_query(value).into();
                continue;
            }
            n => {
                if let Some(m) = n.strip_prefix("x-amz-meta-") {
                    metadata.insert(m.to_string(), value.clone().into());
                }
                continue;
            }
        };
        input[member] = value.clone().into();
    }
    if let Some(exp) = input
        .get("Expires")
        .and_then(Value::as_str)
        .and_then(|s| httpdate::parse_http_date(s).ok())
    {
        let secs = exp
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        input["Expires"] = secs.into();
    }
    if !metadata.is_empty() {
        input["Metadata"] = Value::Object(metadata);
    }
    let caller = auth::resolve(
        signer.map(|(akid, region)| auth::Signature {
            access_key_id: akid,
            region,
            service: Some("s3".into()),
        }),
        &shared.identity,
        &shared.config.default_account,
        &shared.config.default_region,
    );
    let out = call(
        dispatcher,
        plugin,
        Caller::Client(caller),
        request_id,
        "PutObject",
        &input,
        file,
    )
    .await?;
    let etag = out
        .get("ETag")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let location = format!(
        "http://{host}/{}/{}",
        bucket,
        percent_encoding::utf8_percent_encode(&key, LOCATION_KEY)
    );

    let mut resp = if let Some(redirect) = form
        .get("success_action_redirect")
        .or_else(|| form.get("redirect"))
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
    {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("bucket", &bucket)
            .append_pair("key", &key)
            .append_pair("etag", &etag)
            .finish();
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let mut r = Response::new(ResponseBody::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(&format!("{redirect}{sep}{query}")) {
            r.headers_mut().insert(http::header::LOCATION, v);
        }
        r
    } else {
        match form.get("success_action_status") {
            Some("201") => {
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    xml_escape(&location),
                    xml_escape(&bucket),
                    xml_escape(&key),
                    xml_escape(&etag)
                );
                let mut r = Response::new(ResponseBody::from_bytes(body));
                *r.status_mut() = StatusCode::CREATED;
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                r
            }
            Some("200") => Response::new(ResponseBody::empty()),
            _ => {
                let mut r = Response::new(ResponseBody::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                r
            }
        }
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("etag", etag.as_str()),
        ("location", location.as_str()),
        (
            "x-amz-version-id",
            out.get("VersionId").and_then(Value::as_str).unwrap_or(""),
        ),
    ] {
        if !value.is_empty()
            && !h.contains_key(name)
            && let Ok(v) = HeaderValue::from_str(value)
        {
            h.insert(name, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Form {
        Form {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn policy_conditions() {
        let policy = json!({"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
            {"bucket": "b"}, ["starts-with", "$key", "uploads/"], ["eq", "$Content-Type", "text/plain"],
            ["content-length-range", 1, 10]
        ]});
        let ok = form(&[
            ("key", "uploads/${filename}"),
            ("content-type", "text/plain"),
        ]);
        assert!(check_policy(&policy, &ok, "b", 0).is_ok());
        assert_eq!(
            check_policy(&policy, &ok, "other", 0).unwrap_err().code,
            "AccessDenied"
        );
        let bad_key = form(&[("key", "elsewhere/x"), ("content-type", "text/plain")]);
        let e = check_policy(&policy, &bad_key, "b", 0).unwrap_err();
        assert!(e.message.contains("starts-with"), "{}", e.message);
        let e = check_policy(
            &policy,
            &ok,
            "b",
            parse_expiration("2030-01-01T00:00:01Z").unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.message, "Invalid according to Policy: Policy expired.");
        assert!(check_length(&policy, 5).is_ok());
        assert_eq!(check_length(&policy, 0).unwrap_err().code, "EntityTooSmall");
        assert_eq!(
            check_length(&policy, 11).unwrap_err().code,
            "EntityTooLarge"
        );
    }

    #[test]
    fn tagging_document_to_query() {
        assert_eq!(
            tagging_query(
                "<Tagging><TagSet><Tag><Key>a b</Key><Value>1</Value></Tag><Tag><Key>c</Key><Value>2</Value></Tag></TagSet></Tagging>"
            ),
            "a+b=1&c=2"
        );
    }

    #[test]
    fn expiration_formats() {
        assert_eq!(parse_expiration("1970-01-02T00:00:00Z"), Some(86400));
        assert_eq!(parse_expiration("1970-01-01T00:01:00.500Z"), Some(60));
        assert_eq!(parse_expiration("soon"), None);
    }
}
