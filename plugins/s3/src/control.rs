//! The S3 Control tagging API for general purpose buckets
//! (`/v20180820/tags/{resourceArn}`, on `{account}.s3-control.` hosts or plain
//! paths): TagResource, UntagResource, ListTagsForResource. S3 Control is a
//! separate model (restXml, signing name `s3`) that this plugin does not
//! carry, so these three routes are claimed raw and answered here; the tags
//! are the bucket's tag set (the one Get/PutBucketTagging see).

use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::buckets::{BUCKETS, check_tags};
use crate::util;

pub const PREFIX: &str = "/v20180820/tags/";
const NAMESPACE: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn error(status: u16, code: &str, message: &str, request_id: &str) -> HttpResponse {
    HttpResponse::new(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            escape(message)
        ),
    )
}

/// The text of every `<name>` element of `xml`, in order.
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// The bucket a general purpose bucket ARN names (`arn:aws:s3:::name`, or the
/// regional `arn:aws:s3:<region>:<account>:bucket/name`).
fn bucket_of(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "s3" {
        return None;
    }
    let resource = parts[5];
    let name = resource.strip_prefix("bucket/").unwrap_or(resource);
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// `ministack:authz-raw`, the gateway's question under ENFORCE_IAM: the
/// tagging routes are S3 Control's `s3:TagResource`, `s3:UntagResource` and
/// `s3:ListTagsForResource` on the bucket.
pub fn authz_raw(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let path = input["Path"].as_str().unwrap_or_default();
    let Some(arn) = path.strip_prefix(PREFIX).map(util::url_decode) else {
        return Ok(json!({}));
    };
    let operation = match input["Method"].as_str().unwrap_or_default() {
        "POST" => "TagResource",
        "DELETE" => "UntagResource",
        _ => "ListTagsForResource",
    };
    Ok(match bucket_of(&arn) {
        Some(bucket) => json!({ "Operation": operation, "Input": { "Bucket": bucket } }),
        None => json!({ "Operation": operation }),
    })
}

pub fn serve(ctx: &Context, req: HttpRequest) -> HttpResponse {
    let rid = ctx.request_id.as_str();
    let arn = util::url_decode(req.path.strip_prefix(PREFIX).unwrap_or_default());
    let Some(name) = bucket_of(&arn) else {
        return error(400, "InvalidRequest", "Invalid resource ARN", rid);
    };
    if req.header("x-amz-account-id").is_none() {
        return error(
            400,
            "InvalidRequest",
            "Missing required header for this request: x-amz-account-id",
            rid,
        );
    }
    let mut b = match BUCKETS.get(name) {
        Ok(Some(b)) if b.account == ctx.account => b,
        Ok(_) => {
            return error(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
                rid,
            );
        }
        Err(e) => return error(500, "InternalError", &e.message, rid),
    };
    let mut tags: Vec<Value> = b
        .config
        .get("tagging")
        .and_then(|t| t["TagSet"].as_array())
        .cloned()
        .unwrap_or_default();
    match req.method.as_str() {
        "GET" => {
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListTagsForResourceResult xmlns=\"{NAMESPACE}\"><Tags>"
            );
            for t in &tags {
                xml.push_str(&format!(
                    "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                    escape(t["Key"].as_str().unwrap_or_default()),
                    escape(t["Value"].as_str().unwrap_or_default())
                ));
            }
            xml.push_str("</Tags></ListTagsForResourceResult>");
            return HttpResponse::new(200, "application/xml", xml);
        }
        "POST" => {
            let body = String::from_utf8_lossy(&req.body);
            for tag in elements(&body, "Tag") {
                let key = unescape(elements(tag, "Key").first().copied().unwrap_or_default());
                let value = unescape(elements(tag, "Value").first().copied().unwrap_or_default());
                tags.retain(|t| t["Key"].as_str() != Some(key.as_str()));
                tags.push(json!({"Key": key, "Value": value}));
            }
        }
        "DELETE" => {
            let keys: Vec<String> = req
                .query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .filter(|(k, _)| *k == "tagKeys")
                .map(|(_, v)| util::url_decode(&v.replace('+', " ")))
                .collect();
            tags.retain(|t| !keys.iter().any(|k| t["Key"].as_str() == Some(k.as_str())));
        }
        _ => {
            return error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                rid,
            );
        }
    }
    if let Err(e) = check_tags(&tags) {
        return error(400, &e.code, &e.message, rid);
    }
    if tags.is_empty() {
        b.config.remove("tagging");
    } else {
        b.config.insert("tagging".into(), json!({ "TagSet": tags }));
    }
    if let Err(e) = BUCKETS.put(name, &b) {
        return error(500, "InternalError", &e.message, rid);
    }
    HttpResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    }
}
