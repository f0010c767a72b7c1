//! Code bundles: a zip sent inline, fetched from S3, or an image URI; the
//! host checks and unpacks zips (functions.prepare).

use ministack_sdk::blobs;
use ministack_sdk::encoding;
use ministack_sdk::hash;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::common::invalid;
use crate::exec;

/// Largest zip accepted in a request (AWS: 50 MB direct upload).
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;

/// A code bundle that passed the host's checks.
#[derive(Debug, Clone)]
pub struct Code {
    /// Blob of the zip ("" for an image).
    pub blob: String,
    pub sha256: String,
    pub size: u64,
    pub image_uri: Option<String>,
}

/// Reads `ZipFile` / `S3Bucket`+`S3Key` / `ImageUri` from a FunctionCode
/// (or layer Content) object.
pub fn load(ctx: &Context, code: &Value) -> Result<Code, AwsError> {
    if let Some(zip) = code["ZipFile"].as_str() {
        let bytes = encoding::base64_decode(zip).ok_or_else(|| {
            invalid(
                "Could not unzip uploaded file. Please check your file, then try to upload again.",
            )
        })?;
        if bytes.len() > MAX_ZIP_BYTES {
            return Err(AwsError::new(
                "RequestEntityTooLargeException",
                format!("Zipped size must be smaller than {MAX_ZIP_BYTES} bytes"),
            )
            .with_status(413));
        }
        let blob = blobs::create(&bytes);
        return prepared(blob.id);
    }
    if let (Some(bucket), Some(key)) = (code["S3Bucket"].as_str(), code["S3Key"].as_str()) {
        let mut input = json!({"Bucket": bucket, "Key": key});
        if let Some(v) = code["S3ObjectVersion"].as_str() {
            input["VersionId"] = json!(v);
        }
        let out: Value =
            services::call(&Target::new("s3", ctx), "GetObject", &input).map_err(|e| {
                invalid(format!(
                    "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
                    e.code, e.message
                ))
            })?;
        // The body is a blob reference (`{"blob-id", "range"?}`).
        let id = out["Body"]["blob-id"]
            .as_str()
            .ok_or_else(|| invalid("Error occurred while GetObject: the object has no body."))?;
        let (first, len) = match out["Body"]["range"].as_array() {
            Some(r) if r.len() == 2 => {
                let (a, b) = (r[0].as_u64().unwrap_or(0), r[1].as_u64().unwrap_or(0));
                (a, b.saturating_sub(a))
            }
            _ => (0, blobs::stat(id).map(|b| b.size).unwrap_or(0)),
        };
        // Our own copy: the object may be overwritten or deleted later.
        let copy = blobs::concat(&[(id.to_string(), first, len)])?;
        return prepared(copy.id);
    }
    if let Some(uri) = code["ImageUri"].as_str() {
        return Ok(Code {
            blob: String::new(),
            sha256: hash::sha256_hex(uri.as_bytes()),
            size: 0,
            image_uri: Some(uri.to_string()),
        });
    }
    Err(invalid(
        "Please provide a source for function code (ZipFile, S3Bucket and S3Key, or ImageUri).",
    ))
}

fn prepared(blob: String) -> Result<Code, AwsError> {
    let info = exec::prepare(&blob)?;
    Ok(Code {
        blob,
        sha256: info.sha256_base64,
        size: info.size,
        image_uri: None,
    })
}
