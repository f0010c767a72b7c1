//! `TemplateURL`: templates stored in S3, read through the S3 plugin.

use ministack_sdk::blobs::{self, StreamingBlob};
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

/// (bucket, key) of an S3 URL: path style (`http://host/bucket/key`) or
/// virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`).
pub fn bucket_and_key(url: &str) -> Option<(String, String)> {
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/')?;
        return Some((bucket.to_string(), key.to_string()));
    }
    let rest = url.split_once("://")?.1;
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next()?;
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 2 && labels[1].starts_with("s3") {
        return Some((labels[0].to_string(), path.to_string()));
    }
    let (bucket, key) = path.split_once('/')?;
    Some((bucket.to_string(), key.to_string()))
}

pub fn fetch(url: &str) -> Result<String, AwsError> {
    let invalid =
        || AwsError::validation_error(format!("TemplateURL must be a supported URL: {url}"));
    let (bucket, key) = bucket_and_key(url).ok_or_else(invalid)?;
    let key = key.split('?').next().unwrap_or_default().to_string();
    let ctx_target = Target {
        service: "s3".into(),
        account: String::new(),
        region: String::new(),
    };
    let out: Value = services::call(
        &ctx_target,
        "GetObject",
        &json!({"Bucket": bucket, "Key": key}),
    )
    .map_err(|e| {
        AwsError::validation_error(format!(
            "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
            e.code, e.message
        ))
    })?;
    // The body is a blob the host handed over (`{"blob-id", "range"}`, read
    // here with its real size), or base64 bytes.
    let body = &out["Body"];
    let bytes = match body.get("blob-id").and_then(Value::as_str) {
        Some(id) => {
            let size = blobs::stat(id).map(|b| b.size).unwrap_or(0);
            let (start, end) = match body.get("range").and_then(Value::as_array) {
                Some(r) if r.len() == 2 => {
                    (r[0].as_u64().unwrap_or(0), r[1].as_u64().unwrap_or(size))
                }
                _ => (0, size),
            };
            StreamingBlob::Out(BlobOut::range(id, start, end.saturating_sub(1))).bytes()?
        }
        None => serde_json::from_value::<StreamingBlob>(body.clone())
            .map_err(|_| AwsError::validation_error("Template in S3 has no body"))?
            .bytes()?,
    };
    String::from_utf8(bytes).map_err(|_| AwsError::validation_error("Template is not UTF-8"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls() {
        use super::bucket_and_key as b;
        assert_eq!(
            b("http://localhost:4566/bk/a/t.yaml"),
            Some(("bk".into(), "a/t.yaml".into()))
        );
        assert_eq!(
            b("https://bk.s3.us-east-1.amazonaws.com/t.json"),
            Some(("bk".into(), "t.json".into()))
        );
        assert_eq!(
            b("s3://bk/a/t.json"),
            Some(("bk".into(), "a/t.json".into()))
        );
        assert_eq!(
            b("https://s3.amazonaws.com/bk/t.json"),
            Some(("bk".into(), "t.json".into()))
        );
    }
}
