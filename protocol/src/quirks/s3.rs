//! S3's departures from plain restXml.

use crate::model::Kind;
use crate::{Metadata, RequestHead, ServiceModel};

pub(crate) fn is_s3(meta: &Metadata) -> bool {
    meta.endpoint_prefix == "s3" || meta.service_id.as_deref() == Some("S3")
}

/// S3 has no `ValidationException`: a parameter that breaks the model's
/// constraints (an unknown enum value such as `encoding-type=base64`, a
/// missing member) is `InvalidArgument`, 400, except where S3 has its own
/// code (an unknown storage class is `InvalidStorageClass`).
pub(crate) fn validation_error(model: &ServiceModel, mut e: crate::AwsError) -> crate::AwsError {
    if is_s3(model.metadata())
        && matches!(e.code.as_str(), "ValidationException" | "MissingParameter")
    {
        let enum_member = e
            .message
            .split(" at '")
            .nth(1)
            .filter(|_| e.message.contains("Member must satisfy enum value set"))
            .and_then(|rest| rest.split('\'').next())
            .map(|path| path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase());
        match enum_member.as_deref() {
            Some("storageclass") => {
                e.code = "InvalidStorageClass".to_string();
                e.message = "The storage class you specified is not valid".to_string();
            }
            Some("serversideencryption") => {
                e.code = "InvalidArgument".to_string();
                e.message = "The encryption method specified is not supported".to_string();
            }
            _ => e.code = "InvalidArgument".to_string(),
        }
    }
    e
}

/// S3 errors are `<Error><Code>..</Code>..<RequestId>..</RequestId></Error>`,
/// without the `<ErrorResponse>` wrapper other restXml services use.
pub(crate) fn bare_error_envelope(model: &ServiceModel) -> bool {
    model.is_s3()
}

/// S3 answers with `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"` on
/// result documents whose shapes carry no namespace in the model.
pub(crate) fn default_namespace(model: &ServiceModel) -> Option<String> {
    if model.is_s3() {
        return Some("http://s3.amazonaws.com/doc/2006-03-01/".into());
    }
    model.metadata.xml_namespace.clone()
}

/// Virtual-hosted addressing: `bucket.localhost`, `bucket.s3.localhost`,
/// `bucket.s3.<region>.localhost` (and the same under `localhost.localstack.cloud`
/// or `amazonaws.com`) name the bucket in the Host header; the path is the key.
/// Returns the bucket when the host names one.
pub fn virtual_host_bucket(host: &str) -> Option<&str> {
    let host = host.split(':').next().unwrap_or(host);
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    const SUFFIXES: [&str; 3] = ["localhost.localstack.cloud", "amazonaws.com", "localhost"];
    for suffix in SUFFIXES {
        let Some(rest) = host.strip_suffix(suffix).and_then(|r| r.strip_suffix('.')) else {
            continue;
        };
        // rest = bucket | bucket.s3 | bucket.s3.<region> | s3 | s3.<region>
        // (bucket names may contain dots, so strip the s3 part from the right)
        let bucket = if let Some(i) = rest.rfind(".s3.") {
            &rest[..i]
        } else if let Some(b) = rest.strip_suffix(".s3") {
            b
        } else if let Some(i) = rest.rfind(".s3-") {
            &rest[..i]
        } else {
            rest
        };
        if bucket.is_empty()
            || bucket == "s3"
            || bucket.starts_with("s3.")
            || bucket.starts_with("s3-")
        {
            return None;
        }
        return Some(bucket);
    }
    None
}

/// The path to route on: `/bucket` + path for a virtual-hosted S3 request.
pub(crate) fn effective_path<'a>(
    model: &ServiceModel,
    head: &RequestHead<'a>,
) -> std::borrow::Cow<'a, str> {
    if model.is_s3()
        && let Some(host) = head.headers.get("host").and_then(|h| h.to_str().ok())
        && let Some(bucket) = virtual_host_bucket(host)
    {
        return std::borrow::Cow::Owned(format!("/{bucket}{}", head.path));
    }
    std::borrow::Cow::Borrowed(head.path)
}

/// S3 clients send `max-keys=` (empty) and expect it to mean "absent";
/// an empty value for a non-string query member is skipped.
pub(crate) fn skip_empty_query_value(kind: Kind, v: &str) -> bool {
    kind != Kind::String && v.is_empty()
}

/// Root elements of S3 result documents as S3 sends them (the model names
/// output shapes `ListObjectsV2Output` etc.; SDKs other than botocore and
/// people reading responses expect S3's names).
pub(crate) fn result_element(model: &ServiceModel, operation: &str) -> Option<&'static str> {
    if !model.is_s3() {
        return None;
    }
    Some(match operation {
        "ListObjects" | "ListObjectsV2" => "ListBucketResult",
        "ListBuckets" => "ListAllMyBucketsResult",
        "ListDirectoryBuckets" => "ListAllMyDirectoryBucketsResult",
        "ListObjectVersions" => "ListVersionsResult",
        "ListMultipartUploads" => "ListMultipartUploadsResult",
        "ListParts" => "ListPartsResult",
        "CreateMultipartUpload" => "InitiateMultipartUploadResult",
        "CompleteMultipartUpload" => "CompleteMultipartUploadResult",
        "DeleteObjects" => "DeleteResult",
        "GetBucketAcl" | "GetObjectAcl" => "AccessControlPolicy",
        "GetBucketTagging" | "GetObjectTagging" => "Tagging",
        "GetBucketVersioning" => "VersioningConfiguration",
        "GetBucketCors" => "CORSConfiguration",
        "GetBucketLifecycleConfiguration" => "LifecycleConfiguration",
        "GetBucketNotificationConfiguration" => "NotificationConfiguration",
        "GetBucketWebsite" => "WebsiteConfiguration",
        "GetBucketLogging" => "BucketLoggingStatus",
        "GetBucketAccelerateConfiguration" => "AccelerateConfiguration",
        "GetBucketRequestPayment" => "RequestPaymentConfiguration",
        "GetObjectAttributes" => "GetObjectAttributesResponse",
        _ => return None,
    })
}

/// GetBucketLocation answers `<LocationConstraint xmlns="...">eu-west-1</LocationConstraint>`:
/// the member's text is the whole document (botocore has a customization to
/// read exactly this).
pub(crate) fn bucket_location_body(
    model: &ServiceModel,
    operation: &str,
    output: &serde_json::Value,
) -> Option<Vec<u8>> {
    if !model.is_s3() || operation != "GetBucketLocation" {
        return None;
    }
    let mut w = crate::xml::Writer::default();
    w.start(
        "LocationConstraint",
        &[(
            "xmlns".into(),
            "http://s3.amazonaws.com/doc/2006-03-01/".into(),
        )],
    );
    if let Some(v) = output.get("LocationConstraint").and_then(|v| v.as_str()) {
        w.text(v);
    }
    w.end("LocationConstraint");
    Some(w.into_bytes())
}

/// A ranged GetObject answers 206 Partial Content (the model has no status
/// member for it); the plugin signals the range with `ContentRange`.
pub(crate) fn partial_content<F: crate::bindings::Fields + ?Sized>(
    model: &ServiceModel,
    operation: &str,
    output: &F,
) -> bool {
    model.is_s3()
        && operation == "GetObject"
        && output.field("ContentRange").is_some_and(|v| !v.is_null())
}

/// S3's 304 Not Modified has no body and carries only the validators
/// (`ETag`, `Last-Modified`), which the plugin states as the error's members.
pub(crate) fn not_modified(
    model: &ServiceModel,
    error: &crate::AwsError,
    status: u16,
) -> Option<crate::HttpResponse> {
    if !model.is_s3() || status != 304 {
        return None;
    }
    let mut headers = Vec::new();
    if let Some(extra) = &error.extra {
        if let Some(etag) = extra.get("ETag").and_then(|v| v.as_str()) {
            headers.push(("ETag".to_string(), etag.to_string()));
        }
        if let Some(t) = extra.get("LastModified").and_then(|v| v.as_f64()) {
            headers.push((
                "Last-Modified".to_string(),
                crate::timestamp::format_http_date(t),
            ));
        }
    }
    Some(crate::HttpResponse {
        status,
        headers,
        body: crate::ResponseBody::Bytes(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_errors_in_s3_words() {
        let model = ServiceModel::from_json(
            r#"{"metadata": {"endpointPrefix": "s3", "serviceId": "S3", "protocol": "rest-xml"},
                "operations": {}, "shapes": {}}"#,
        )
        .unwrap();
        let enum_error = |path: &str| {
            crate::AwsError::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value 'X' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"
                ),
                400,
            )
        };
        let e = validation_error(&model, enum_error("storageClass"));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "InvalidStorageClass",
                "The storage class you specified is not valid"
            )
        );
        assert_eq!(
            validation_error(&model, enum_error("encodingType")).code,
            "InvalidArgument"
        );
    }

    #[test]
    fn virtual_hosts() {
        assert_eq!(virtual_host_bucket("bucket.localhost"), Some("bucket"));
        assert_eq!(virtual_host_bucket("bucket.localhost:4566"), Some("bucket"));
        assert_eq!(virtual_host_bucket("bucket.s3.localhost"), Some("bucket"));
        assert_eq!(
            virtual_host_bucket("my.dotted.bucket.s3.us-east-1.localhost"),
            Some("my.dotted.bucket")
        );
        assert_eq!(
            virtual_host_bucket("b.s3.localhost.localstack.cloud:4566"),
            Some("b")
        );
        assert_eq!(virtual_host_bucket("localhost:4566"), None);
        assert_eq!(virtual_host_bucket("s3.localhost"), None);
        assert_eq!(virtual_host_bucket("s3.us-east-1.localhost"), None);
        assert_eq!(virtual_host_bucket("127.0.0.1:4566"), None);
    }
}
