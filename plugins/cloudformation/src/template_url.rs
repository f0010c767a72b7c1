//! `TemplateURL`: templates stored in S3, read through the S3 plugin.

use ministack_sdk::blobs::StreamingBlob;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

/// (bucket, key) of an S3 URL: path style (`http://host/bucket/key`) or
/// virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`).
pub fn bucket_and_key(url: &str) -> Option<(String, String)> {
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
    let body: StreamingBlob = serde_json::from_value(out["Body"].clone())
        .map_err(|_| AwsError::validation_error("Template in S3 has no body"))?;
    let bytes = body.bytes()?;
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
            b("https://s3.amazonaws.com/bk/t.json"),
            Some(("bk".into(), "t.json".into()))
        );
    }
}
