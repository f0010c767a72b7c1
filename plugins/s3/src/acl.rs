//! Object Ownership and access control lists. New buckets are
//! `BucketOwnerEnforced` (S3's default since April 2023): ACLs are disabled,
//! only the bucket-owner-full-control ACL may be set, and reading ACLs answers
//! the owner's full control. With `ObjectWriter` / `BucketOwnerPreferred` (or
//! no ownership controls) ACL grants are stored and returned.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::buckets::Bucket;
use crate::util::s;
use crate::{canonical_id, owner, s3_error};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The grant headers of a request and the permission each gives.
const GRANT_HEADERS: &[(&str, &str)] = &[
    ("GrantFullControl", "FULL_CONTROL"),
    ("GrantRead", "READ"),
    ("GrantReadACP", "READ_ACP"),
    ("GrantWrite", "WRITE"),
    ("GrantWriteACP", "WRITE_ACP"),
];

pub fn ownership(b: &Bucket) -> Option<String> {
    b.config
        .get("ownership")
        .and_then(|o| o.pointer("/Rules/0/ObjectOwnership"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn enforced(b: &Bucket) -> bool {
    ownership(b).as_deref() == Some("BucketOwnerEnforced")
}

fn owner_grant(account: &str) -> Value {
    let o = owner(account);
    json!({"Grantee": {"Type": "CanonicalUser", "ID": o["ID"], "DisplayName": o["DisplayName"]},
           "Permission": "FULL_CONTROL"})
}

fn group(uri: &str, permission: &str) -> Value {
    json!({"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission})
}

/// The grants of a canned ACL for a resource owned by `account` in a bucket of `bucket_owner`.
fn canned(acl: &str, account: &str, bucket_owner: &str) -> Result<Vec<Value>, AwsError> {
    let mut g = vec![owner_grant(account)];
    match acl {
        "private" | "aws-exec-read" => {}
        "public-read" => g.push(group(ALL_USERS, "READ")),
        "public-read-write" => {
            g.push(group(ALL_USERS, "READ"));
            g.push(group(ALL_USERS, "WRITE"));
        }
        "authenticated-read" => g.push(group(AUTHENTICATED_USERS, "READ")),
        "log-delivery-write" => {
            g.push(group(LOG_DELIVERY, "WRITE"));
            g.push(group(LOG_DELIVERY, "READ_ACP"));
        }
        "bucket-owner-read" | "bucket-owner-full-control" if bucket_owner != account => {
            let mut bo = owner_grant(bucket_owner);
            if acl == "bucket-owner-read" {
                bo["Permission"] = json!("READ");
            }
            g.push(bo);
        }
        "bucket-owner-read" | "bucket-owner-full-control" => {}
        _ => {
            return Err(s3_error("InvalidArgument", "", 400)
                .with_member("ArgumentName", "x-amz-acl")
                .with_member("ArgumentValue", acl));
        }
    }
    Ok(g)
}

/// `id="..", uri="..", emailAddress=".."` (a grant header) as grantees.
fn grantees(header: &str) -> Result<Vec<Value>, AwsError> {
    header
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (kind, value) = p.split_once('=').unwrap_or((p, ""));
            let value = value.trim().trim_matches('"');
            match kind.trim().to_ascii_lowercase().as_str() {
                "id" => Ok(json!({"Type": "CanonicalUser", "ID": value})),
                "uri" => Ok(json!({"Type": "Group", "URI": value})),
                "emailaddress" => {
                    Ok(json!({"Type": "AmazonCustomerByEmail", "EmailAddress": value}))
                }
                _ => Err(
                    s3_error("InvalidArgument", "Argument format not recognized", 400)
                        .with_member("ArgumentName", kind),
                ),
            }
        })
        .collect()
}

/// The grants a request asks for (canned ACL, grant headers, or an
/// AccessControlPolicy body); `None` when it names no ACL.
fn requested<I: Members + ?Sized>(
    input: &I,
    account: &str,
    bucket_owner: &str,
) -> Result<Option<Vec<Value>>, AwsError> {
    if let Some(policy) = input.member("AccessControlPolicy") {
        let grants = policy["Grants"].as_array().cloned().unwrap_or_default();
        return Ok(Some(grants));
    }
    let mut grants = Vec::new();
    let mut any = false;
    for (member, permission) in GRANT_HEADERS {
        if let Some(h) = s(input, member) {
            any = true;
            for g in grantees(&h)? {
                grants.push(json!({"Grantee": g, "Permission": permission}));
            }
        }
    }
    if let Some(acl) = s(input, "ACL") {
        if any {
            return Err(s3_error(
                "InvalidRequest",
                "Specifying both Canned ACLs and Header Grants is not allowed",
                400,
            ));
        }
        return canned(&acl, account, bucket_owner).map(Some);
    }
    Ok(any.then_some(grants))
}

/// Whether `grants` give nothing but the bucket owner's full control
/// (the only ACL a `BucketOwnerEnforced` bucket accepts).
fn owner_full_control_only(grants: &[Value], bucket_owner: &str) -> bool {
    let id = canonical_id(bucket_owner);
    grants.iter().all(|g| {
        g["Permission"] == "FULL_CONTROL" && g["Grantee"]["ID"].as_str() == Some(id.as_str())
    })
}

fn not_supported() -> AwsError {
    s3_error(
        "AccessControlListNotSupported",
        "The bucket does not allow ACLs",
        400,
    )
}

/// The grants to store for a write into `b` by `account` (`None`: the
/// default, the writer's full control), refusing ACLs the bucket's
/// ownership disables.
pub fn for_write<I: Members + ?Sized>(
    b: &Bucket,
    input: &I,
    account: &str,
) -> Result<Option<Vec<Value>>, AwsError> {
    let Some(grants) = requested(input, account, &b.account)? else {
        return Ok(None);
    };
    if enforced(b) {
        if !owner_full_control_only(&grants, &b.account) {
            return Err(not_supported());
        }
        return Ok(None);
    }
    Ok(Some(grants))
}

/// The ACL of a new bucket: refused when its ownership disables ACLs, except
/// for the private ACL (the owner's full control, which is what it has).
pub fn for_new_bucket(
    input: &Value,
    account: &str,
    ownership: &str,
) -> Result<Option<Vec<Value>>, AwsError> {
    let Some(grants) = requested(input, account, account)? else {
        return Ok(None);
    };
    if ownership == "BucketOwnerEnforced" {
        if !owner_full_control_only(&grants, account) {
            return Err(s3_error(
                "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                400,
            ));
        }
        return Ok(None);
    }
    Ok(Some(grants))
}

/// The AccessControlPolicy output for a resource owned by `account`.
pub fn policy(account: &str, grants: Option<&Vec<Value>>) -> Value {
    let grants = grants
        .cloned()
        .unwrap_or_else(|| vec![owner_grant(account)]);
    json!({"Owner": owner(account), "Grants": grants})
}
