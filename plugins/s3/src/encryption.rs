//! Server-side encryption as S3 reports it. Every object is encrypted since
//! January 2023: SSE-S3 (`AES256`) unless the request or the bucket's default
//! configuration says otherwise. SSE-C keys are never stored: the object
//! keeps the key's MD5 and every read must present a key with that MD5.

use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::hash::{md5, sha256_hex};
use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::buckets::Bucket;
use crate::objects::Headers;
use crate::request::Answer;
use crate::s3_error;
use crate::util::s;

/// The encryption members an object stores and echoes on writes and reads.
pub const MEMBERS: &[&str] = &[
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "BucketKeyEnabled",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
];

fn invalid_argument(message: &str, argument: &str) -> AwsError {
    s3_error("InvalidArgument", message, 400).with_member("ArgumentName", argument)
}

/// The MD5 (base64) of a customer key given with `prefix` (`SSECustomer` or
/// `CopySourceSSECustomer`) after S3's checks; `None` when no key is given.
pub fn customer_key<I: Members + ?Sized>(
    input: &I,
    prefix: &str,
) -> Result<Option<String>, AwsError> {
    let header = if prefix.starts_with("CopySource") {
        "x-amz-copy-source-server-side-encryption-customer"
    } else {
        "x-amz-server-side-encryption-customer"
    };
    // The three members' names without a `format!` each (every read and
    // write asks, and almost none carries a key).
    let [alg, key, given_md5] = if prefix == "SSECustomer" {
        [
            "SSECustomerAlgorithm",
            "SSECustomerKey",
            "SSECustomerKeyMD5",
        ]
    } else if prefix == "CopySourceSSECustomer" {
        [
            "CopySourceSSECustomerAlgorithm",
            "CopySourceSSECustomerKey",
            "CopySourceSSECustomerKeyMD5",
        ]
    } else {
        return customer_key_named(
            input,
            header,
            &format!("{prefix}Algorithm"),
            &format!("{prefix}Key"),
            &format!("{prefix}KeyMD5"),
        );
    };
    customer_key_named(input, header, alg, key, given_md5)
}

fn customer_key_named<I: Members + ?Sized>(
    input: &I,
    header: &str,
    alg: &str,
    key: &str,
    given_md5: &str,
) -> Result<Option<String>, AwsError> {
    let (alg, key, given_md5) = (s(input, alg), s(input, key), s(input, given_md5));
    if alg.is_none() && key.is_none() && given_md5.is_none() {
        return Ok(None);
    }
    let Some(alg) = alg else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            &format!("{header}-algorithm"),
        ));
    };
    if alg != "AES256" {
        return Err(s3_error(
            "InvalidEncryptionAlgorithmError",
            "The encryption request you specified is not valid. The valid value is AES256.",
            400,
        )
        .with_member("ArgumentName", format!("{header}-algorithm"))
        .with_member("ArgumentValue", alg));
    }
    let Some(key) = key else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
            &format!("{header}-key"),
        ));
    };
    let raw = base64_decode(&key)
        .filter(|k| k.len() == 32)
        .ok_or_else(|| {
            invalid_argument(
                "The secret key was invalid for the specified algorithm.",
                &format!("{header}-key"),
            )
        })?;
    let actual = base64_encode(&md5(&raw));
    if given_md5.is_some_and(|m| m != actual) {
        return Err(invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            &format!("{header}-key-MD5"),
        ));
    }
    Ok(Some(actual))
}

/// A read of an object (or a copy from it) must present the SSE-C key the
/// object was written with, and only then.
pub fn check_read<I: Members + ?Sized>(
    headers: &Headers,
    input: &I,
    prefix: &str,
) -> Result<(), AwsError> {
    let given = customer_key(input, prefix)?;
    match (
        headers.get("SSECustomerKeyMD5").and_then(Value::as_str),
        given,
    ) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(s3_error(
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
            400,
        )),
        (Some(stored), Some(given)) if stored == given => Ok(()),
        (Some(_), Some(_)) => Err(s3_error("AccessDenied", "Access Denied", 403)),
        (None, Some(_)) => Err(s3_error(
            "InvalidRequest",
            "The encryption parameters are not applicable to this object.",
            400,
        )),
    }
}

/// The AWS managed key (`aws/s3`) of an account and region, as an ARN.
fn managed_key_arn(b: &Bucket) -> String {
    let h = sha256_hex(format!("aws/s3:{}:{}", b.account, b.region).as_bytes());
    format!(
        "arn:aws:kms:{}:{}:key/{}-{}-{}-{}-{}",
        b.region,
        b.account,
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The bucket's default encryption rule (SSE-S3 when none is configured).
fn bucket_default(b: &Bucket) -> (String, Option<String>, bool) {
    let rule = b
        .config
        .get("encryption")
        .and_then(|c| c.pointer("/Rules/0"))
        .unwrap_or(&Value::Null);
    let by_default = &rule["ApplyServerSideEncryptionByDefault"];
    (
        by_default["SSEAlgorithm"]
            .as_str()
            .unwrap_or("AES256")
            .to_string(),
        by_default["KMSMasterKeyID"].as_str().map(str::to_string),
        rule["BucketKeyEnabled"].as_bool().unwrap_or(false),
    )
}

/// Sets the encryption members of a new object (or upload) written into `b`
/// from the request's headers, else from the bucket's default encryption.
pub fn apply<I: Members + ?Sized>(
    b: &Bucket,
    input: &I,
    headers: &mut Headers,
) -> Result<(), AwsError> {
    for k in MEMBERS {
        headers.remove(k);
    }
    let requested = s(input, "ServerSideEncryption");
    if let Some(md5) = customer_key(input, "SSECustomer")? {
        if requested.is_some() || input.member("SSEKMSKeyId").is_some() {
            return Err(s3_error(
                "InvalidArgument",
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
                400,
            )
            .with_member("ArgumentName", "x-amz-server-side-encryption")
            .with_member("ArgumentValue", requested.unwrap_or_default()));
        }
        headers.insert("SSECustomerAlgorithm".into(), json!("AES256"));
        headers.insert("SSECustomerKeyMD5".into(), json!(md5));
        return Ok(());
    }
    let (default_alg, default_key, default_bucket_key) = bucket_default(b);
    let alg = requested.clone().unwrap_or(default_alg.clone());
    if alg.starts_with("aws:kms") {
        let key = s(input, "SSEKMSKeyId")
            .or_else(|| default_key.filter(|_| default_alg == alg))
            .unwrap_or_else(|| managed_key_arn(b));
        headers.insert("SSEKMSKeyId".into(), json!(key));
        let bucket_key = match input.member("BucketKeyEnabled").and_then(Value::as_bool) {
            Some(v) => v,
            None => requested.is_none() && default_bucket_key,
        };
        if bucket_key {
            headers.insert("BucketKeyEnabled".into(), json!(true));
        }
    } else if input.member("SSEKMSKeyId").is_some() {
        return Err(s3_error(
            "InvalidArgument",
            "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            400,
        ));
    }
    headers.insert("ServerSideEncryption".into(), json!(alg));
    Ok(())
}

/// Copies the encryption members of `headers` into an operation's output.
pub fn echo(headers: &Headers, out: &mut impl Answer) {
    for k in MEMBERS {
        if let Some(v) = headers.member(k) {
            out.set(k, v.clone());
        }
    }
}
