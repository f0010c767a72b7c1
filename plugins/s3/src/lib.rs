//! Amazon S3 as a ministack plugin.
//!
//! Buckets are global (names unique across accounts); objects, uploads and
//! parts are keyed by bucket so a bucket's contents are one contiguous,
//! UTF-8-binary-ordered range. Object bytes never enter the plugin: bodies
//! arrive as host blobs, GET answers with a blob (or a range of one) that the
//! host streams, multipart completion concatenates part blobs in the host.

use ministack_sdk::prelude::*;
use request_metrics::{Kind, metered};

mod acl;
mod buckets;
mod control;
mod encryption;
mod events;
mod multipart;
mod objectmeta;
mod objects;
mod request;
mod request_metrics;
mod resources;
mod select;
mod subresources;
pub mod util;

/// Small blocks from free lists, not dlmalloc each time (see
/// `ministack_sdk::alloc`; docs/performance.md, "Plugin code").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();

pub struct S3;

impl Service for S3 {
    const NAME: &'static str = "s3";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        let r = Router::new()
            .resources(resources::types())
            .op("CreateBucket", buckets::create_bucket)
            .op("HeadBucket", metered(Kind::Head, buckets::head_bucket))
            .op("DeleteBucket", buckets::delete_bucket)
            .op("ListBuckets", buckets::list_buckets)
            .op("GetBucketLocation", buckets::get_bucket_location)
            .op("PutObject", metered(Kind::Put, objects::put_object))
            .op("GetObject", metered(Kind::Get, objects::get_object))
            .op("HeadObject", metered(Kind::Head, objects::head_object))
            .op(
                "DeleteObject",
                metered(Kind::Delete, objects::delete_object),
            )
            .op(
                "DeleteObjects",
                metered(Kind::Delete, objects::delete_objects),
            )
            .op("CopyObject", metered(Kind::Put, objects::copy_object))
            .op("ListObjects", metered(Kind::List, objects::list_objects))
            .op(
                "ListObjectsV2",
                metered(Kind::List, objects::list_objects_v2),
            )
            .op(
                "ListObjectVersions",
                metered(Kind::List, objects::list_object_versions),
            )
            .op(
                "PutObjectTagging",
                metered(Kind::Put, objects::put_object_tagging),
            )
            .op(
                "GetObjectTagging",
                metered(Kind::Get, objects::get_object_tagging),
            )
            .op(
                "DeleteObjectTagging",
                metered(Kind::Delete, objects::delete_object_tagging),
            )
            .op("GetObjectAcl", objectmeta::get_object_acl)
            .op("PutObjectAcl", objectmeta::put_object_acl)
            .op(
                "GetObjectAttributes",
                metered(Kind::Get, objectmeta::get_object_attributes),
            )
            .op("PutObjectRetention", objectmeta::put_object_retention)
            .op("GetObjectRetention", objectmeta::get_object_retention)
            .op("PutObjectLegalHold", objectmeta::put_object_legal_hold)
            .op("GetObjectLegalHold", objectmeta::get_object_legal_hold)
            .op("RestoreObject", objectmeta::restore_object)
            .op(
                "CreateMultipartUpload",
                metered(Kind::Post, multipart::create_multipart_upload),
            )
            .op("UploadPart", metered(Kind::Put, multipart::upload_part))
            .op(
                "UploadPartCopy",
                metered(Kind::Put, multipart::upload_part_copy),
            )
            .op(
                "CompleteMultipartUpload",
                metered(Kind::Post, multipart::complete_multipart_upload),
            )
            .op(
                "AbortMultipartUpload",
                metered(Kind::Delete, multipart::abort_multipart_upload),
            )
            .op("ListParts", metered(Kind::Other, multipart::list_parts))
            .op("ListMultipartUploads", multipart::list_multipart_uploads)
            .op(
                "SelectObjectContent",
                metered(Kind::Select, select::select_object_content),
            )
            .op("ministack:authz-raw", control::authz_raw)
            .http(control::serve);
        subresources::register(r)
    }

    /// S3 Control's tagging API (a model this plugin does not carry).
    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        vec![ministack_sdk::RawRoute {
            host_suffix: String::new(),
            path_prefix: control::PREFIX.into(),
        }]
    }
}

export_plugin!(S3);

/// An S3 error with its HTTP status (the model's error shapes mostly carry none).
pub(crate) fn s3_error(code: &str, message: impl Into<String>, status: u16) -> AwsError {
    AwsError::new(code, message).with_status(status)
}

pub(crate) fn no_such_bucket(bucket: &str) -> AwsError {
    s3_error("NoSuchBucket", "The specified bucket does not exist", 404)
        .with_member("BucketName", bucket)
}

/// The canonical user id S3 shows for an account.
pub(crate) fn canonical_id(account: &str) -> String {
    ministack_sdk::hash::sha256_hex(format!("ministack-canonical-{account}").as_bytes())
}

pub(crate) fn owner(account: &str) -> serde_json::Value {
    serde_json::json!({"ID": canonical_id(account), "DisplayName": "webfile"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_operations_exist_in_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<S3>().unknown,
            Vec::<String>::new()
        );
    }
}
