//! Bucket subresources stored as given and returned in AWS's shapes:
//! tagging, policy, CORS, encryption, lifecycle, website, versioning,
//! accelerate, request payment, logging, notifications, public access block,
//! ownership controls, replication, object lock.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use std::rc::Rc;

use crate::buckets::{BUCKETS, bucket};
use crate::s3_error;

/// How a stored configuration comes back in the Get output.
#[derive(Clone, Copy)]
enum Shape {
    /// The configuration's members are the output's members.
    Spread,
    /// The output has one member (the payload) holding the configuration.
    Member(&'static str),
}

/// `None` as the missing error: the Get answers this default instead.
struct Sub {
    key: &'static str,
    put: &'static str,
    get: &'static str,
    delete: Option<&'static str>,
    member: &'static str,
    shape: Shape,
    missing: Result<(&'static str, &'static str), &'static str>,
}

const fn sub(
    key: &'static str,
    put: &'static str,
    get: &'static str,
    delete: Option<&'static str>,
    member: &'static str,
    shape: Shape,
    missing: Result<(&'static str, &'static str), &'static str>,
) -> Sub {
    Sub {
        key,
        put,
        get,
        delete,
        member,
        shape,
        missing,
    }
}

const SUBS: &[Sub] = &[
    sub(
        "tagging",
        "PutBucketTagging",
        "GetBucketTagging",
        Some("DeleteBucketTagging"),
        "Tagging",
        Shape::Spread,
        Ok(("NoSuchTagSet", "The TagSet does not exist")),
    ),
    sub(
        "policy",
        "PutBucketPolicy",
        "GetBucketPolicy",
        Some("DeleteBucketPolicy"),
        "Policy",
        Shape::Member("Policy"),
        Ok(("NoSuchBucketPolicy", "The bucket policy does not exist")),
    ),
    sub(
        "cors",
        "PutBucketCors",
        "GetBucketCors",
        Some("DeleteBucketCors"),
        "CORSConfiguration",
        Shape::Spread,
        Ok((
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist",
        )),
    ),
    sub(
        "encryption",
        "PutBucketEncryption",
        "GetBucketEncryption",
        Some("DeleteBucketEncryption"),
        "ServerSideEncryptionConfiguration",
        Shape::Member("ServerSideEncryptionConfiguration"),
        Err(
            r#"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":false}]}"#,
        ),
    ),
    sub(
        "lifecycle",
        "PutBucketLifecycleConfiguration",
        "GetBucketLifecycleConfiguration",
        Some("DeleteBucketLifecycle"),
        "LifecycleConfiguration",
        Shape::Spread,
        Ok((
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
        )),
    ),
    sub(
        "website",
        "PutBucketWebsite",
        "GetBucketWebsite",
        Some("DeleteBucketWebsite"),
        "WebsiteConfiguration",
        Shape::Spread,
        Ok((
            "NoSuchWebsiteConfiguration",
            "The specified bucket does not have a website configuration",
        )),
    ),
    sub(
        "versioning",
        "PutBucketVersioning",
        "GetBucketVersioning",
        None,
        "VersioningConfiguration",
        Shape::Spread,
        Err("{}"),
    ),
    sub(
        "accelerate",
        "PutBucketAccelerateConfiguration",
        "GetBucketAccelerateConfiguration",
        None,
        "AccelerateConfiguration",
        Shape::Spread,
        Err("{}"),
    ),
    sub(
        "request-payment",
        "PutBucketRequestPayment",
        "GetBucketRequestPayment",
        None,
        "RequestPaymentConfiguration",
        Shape::Spread,
        Err(r#"{"Payer":"BucketOwner"}"#),
    ),
    sub(
        "logging",
        "PutBucketLogging",
        "GetBucketLogging",
        None,
        "BucketLoggingStatus",
        Shape::Spread,
        Err("{}"),
    ),
    sub(
        "notification",
        "PutBucketNotificationConfiguration",
        "GetBucketNotificationConfiguration",
        None,
        "NotificationConfiguration",
        Shape::Spread,
        Err("{}"),
    ),
    sub(
        "public-access-block",
        "PutPublicAccessBlock",
        "GetPublicAccessBlock",
        Some("DeletePublicAccessBlock"),
        "PublicAccessBlockConfiguration",
        Shape::Member("PublicAccessBlockConfiguration"),
        Ok((
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
        )),
    ),
    sub(
        "ownership",
        "PutBucketOwnershipControls",
        "GetBucketOwnershipControls",
        Some("DeleteBucketOwnershipControls"),
        "OwnershipControls",
        Shape::Member("OwnershipControls"),
        Ok((
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
        )),
    ),
    sub(
        "replication",
        "PutBucketReplication",
        "GetBucketReplication",
        Some("DeleteBucketReplication"),
        "ReplicationConfiguration",
        Shape::Member("ReplicationConfiguration"),
        Ok((
            "ReplicationConfigurationNotFoundError",
            "The replication configuration was not found",
        )),
    ),
    sub(
        "object-lock",
        "PutObjectLockConfiguration",
        "GetObjectLockConfiguration",
        None,
        "ObjectLockConfiguration",
        Shape::Member("ObjectLockConfiguration"),
        Ok((
            "ObjectLockConfigurationNotFoundError",
            "Object Lock configuration does not exist for this bucket",
        )),
    ),
];

fn status_of(code: &str) -> u16 {
    let _ = code;
    404
}

fn name_of(input: &Value) -> String {
    input["Bucket"].as_str().unwrap_or_default().to_string()
}

/// Configurations kept by id: Put, Get, Delete, List operations, member, list member.
type ById = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const BY_ID: &[ById] = &[
    (
        "PutBucketAnalyticsConfiguration",
        "GetBucketAnalyticsConfiguration",
        "DeleteBucketAnalyticsConfiguration",
        "ListBucketAnalyticsConfigurations",
        "AnalyticsConfiguration",
        "AnalyticsConfigurationList",
    ),
    (
        "PutBucketMetricsConfiguration",
        "GetBucketMetricsConfiguration",
        "DeleteBucketMetricsConfiguration",
        "ListBucketMetricsConfigurations",
        "MetricsConfiguration",
        "MetricsConfigurationList",
    ),
    (
        "PutBucketInventoryConfiguration",
        "GetBucketInventoryConfiguration",
        "DeleteBucketInventoryConfiguration",
        "ListBucketInventoryConfigurations",
        "InventoryConfiguration",
        "InventoryConfigurationList",
    ),
    (
        "PutBucketIntelligentTieringConfiguration",
        "GetBucketIntelligentTieringConfiguration",
        "DeleteBucketIntelligentTieringConfiguration",
        "ListBucketIntelligentTieringConfigurations",
        "IntelligentTieringConfiguration",
        "IntelligentTieringConfigurationList",
    ),
];

fn no_such_configuration() -> AwsError {
    s3_error(
        "NoSuchConfiguration",
        "The specified configuration does not exist.",
        404,
    )
}

fn register_by_id(mut r: Router) -> Router {
    for &(put, get, del, lst, member, list) in BY_ID {
        r = r
            .op(
                put,
                move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                    let name = name_of(&input);
                    let mut b = Rc::unwrap_or_clone(bucket(&name)?);
                    let id = input["Id"].as_str().unwrap_or_default().to_string();
                    let mut value = input.get(member).cloned().unwrap_or(json!({}));
                    if value["Id"].as_str() != Some(id.as_str()) {
                        return Err(s3_error(
                            "InvalidArgument",
                            "Configuration ID mismatch",
                            400,
                        ));
                    }
                    value["Id"] = json!(id);
                    let entry = b.config.entry(member.to_string()).or_insert(json!({}));
                    entry[id] = value;
                    BUCKETS.put(&name, &b)?;
                    Ok(json!({}))
                },
            )
            .op(
                get,
                move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                    let b = bucket(&name_of(&input))?;
                    let id = input["Id"].as_str().unwrap_or_default();
                    b.config
                        .get(member)
                        .and_then(|m| m.get(id))
                        .map(|v| json!({ member: v }))
                        .ok_or_else(no_such_configuration)
                },
            )
            .op(
                del,
                move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                    let name = name_of(&input);
                    let mut b = Rc::unwrap_or_clone(bucket(&name)?);
                    let id = input["Id"].as_str().unwrap_or_default();
                    let removed = b
                        .config
                        .get_mut(member)
                        .and_then(Value::as_object_mut)
                        .and_then(|m| m.remove(id));
                    if removed.is_none() {
                        return Err(no_such_configuration());
                    }
                    BUCKETS.put(&name, &b)?;
                    Ok(json!({}))
                },
            )
            .op(
                lst,
                move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                    let b = bucket(&name_of(&input))?;
                    let mut items: Vec<Value> = b
                        .config
                        .get(member)
                        .and_then(Value::as_object)
                        .map(|m| m.values().cloned().collect())
                        .unwrap_or_default();
                    items.sort_by(|a, b| a["Id"].as_str().cmp(&b["Id"].as_str()));
                    let mut out = json!({"IsTruncated": false});
                    if !items.is_empty() {
                        out[list] = Value::Array(items);
                    }
                    Ok(out)
                },
            );
    }
    r
}

pub fn register(r: Router) -> Router {
    let mut r = register_by_id(r);
    for s in SUBS {
        let (key, member) = (s.key, s.member);
        r = r.op(s.put, move |ctx: &Context, input: Value| -> Result<Value, AwsError> {
            let name = name_of(&input);
            let mut b = Rc::unwrap_or_clone(bucket(&name)?);
            let value = input.get(member).cloned().unwrap_or(json!({}));
            if key == "versioning" {
                let st = value["Status"].as_str().unwrap_or("");
                if st != "Enabled" && st != "Suspended" {
                    return Err(s3_error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400));
                }
            }
            let versioning_enabled =
                b.config.get("versioning").and_then(|v| v["Status"].as_str()) == Some("Enabled");
            // Object Lock and replication need versioning, which Object Lock then pins.
            if key == "object-lock" && !versioning_enabled {
                return Err(s3_error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration", 409));
            }
            if key == "replication" && !versioning_enabled {
                return Err(s3_error("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration", 400));
            }
            if key == "versioning"
                && value["Status"] == "Suspended"
                && b.config.contains_key("object-lock")
            {
                return Err(s3_error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.", 409));
            }
            if key == "notification" {
                crate::events::validate_configuration(ctx, &b, &value)?;
            }
            if key == "tagging" {
                crate::buckets::check_tags(value["TagSet"].as_array().map(Vec::as_slice).unwrap_or_default())?;
            }
            if key == "policy"
                && serde_json::from_str::<Value>(value.as_str().unwrap_or("")).is_err()
            {
                return Err(s3_error("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'", 400));
            }
            b.config.insert(key.to_string(), value);
            BUCKETS.put(&name, &b)?;
            if key == "notification" {
                crate::events::test_event(ctx, &b);
            }
            Ok(json!({}))
        });
        let (shape, missing) = (s.shape, s.missing);
        r = r.op(
            s.get,
            move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                let name = name_of(&input);
                let b = bucket(&name)?;
                let value = match (b.config.get(key), missing) {
                    (Some(v), _) => v.clone(),
                    (None, Ok((code, msg))) => {
                        return Err(
                            s3_error(code, msg, status_of(code)).with_member("BucketName", &name)
                        );
                    }
                    (None, Err(default)) => serde_json::from_str(default).unwrap_or(json!({})),
                };
                Ok(match shape {
                    Shape::Spread => value,
                    Shape::Member(m) => json!({ m: value }),
                })
            },
        );
        if let Some(del) = s.delete {
            r = r.op(
                del,
                move |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
                    let name = name_of(&input);
                    let mut b = Rc::unwrap_or_clone(bucket(&name)?);
                    if b.config.remove(key).is_some() {
                        BUCKETS.put(&name, &b)?;
                    }
                    Ok(json!({}))
                },
            );
        }
    }
    r.op(
        "GetBucketPolicyStatus",
        |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
            let name = name_of(&input);
            let b = bucket(&name)?;
            let Some(policy) = b.config.get("policy") else {
                return Err(s3_error(
                    "NoSuchBucketPolicy",
                    "The bucket policy does not exist",
                    404,
                )
                .with_member("BucketName", &name));
            };
            let doc: Value =
                serde_json::from_str(policy.as_str().unwrap_or("{}")).unwrap_or(json!({}));
            let public = doc["Statement"].as_array().is_some_and(|st| {
                st.iter().any(|s| {
                    s["Effect"] == "Allow"
                        && (s["Principal"] == "*" || s["Principal"]["AWS"] == "*")
                })
            });
            Ok(json!({"PolicyStatus": {"IsPublic": public}}))
        },
    )
    .op(
        "GetBucketAcl",
        |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
            let b = bucket(&name_of(&input))?;
            let grants = b.config.get("grants").and_then(Value::as_array).cloned();
            Ok(crate::acl::policy(&b.account, grants.as_ref()))
        },
    )
    .op(
        "PutBucketAcl",
        |_ctx: &Context, input: Value| -> Result<Value, AwsError> {
            let name = name_of(&input);
            let mut b = Rc::unwrap_or_clone(bucket(&name)?);
            let account = b.account.clone();
            match crate::acl::for_write(&b, &input, &account)? {
                Some(grants) => b.config.insert("grants".into(), json!(grants)),
                None => b.config.remove("grants"),
            };
            BUCKETS.put(&name, &b)?;
            Ok(json!({}))
        },
    )
}
