//! Bucket lifecycle: create, head, delete, list, location.

use ministack_sdk::prelude::*;
use ministack_sdk::store::ParseCache;
use ministack_sdk::time;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::{no_such_bucket, owner, s3_error, util};

/// Every bucket of every account, by name.
pub const BUCKETS: Table<Bucket> = Table::global("buckets");

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Bucket {
    pub name: String,
    pub account: String,
    pub region: String,
    pub created: u64,
    /// Stored subresource configurations (`tagging`, `cors`, `versioning`...).
    #[serde(default)]
    pub config: BTreeMap<String, Value>,
}

thread_local! {
    /// Most requests name the bucket the previous one did, and parsing its
    /// record (its configurations are JSON trees) was a tenth of a
    /// GetObject's plugin time.
    static LOADED: ParseCache<Bucket> = const { ParseCache::new() };
}

/// The caller's bucket (any account may use any bucket until policies are
/// enforced), read in this request's unit; the parse is reused only when the
/// stored bytes are the same ([`ParseCache`]). Callers that change it clone
/// it (`Rc::unwrap_or_clone`).
pub fn bucket(name: &str) -> Result<Rc<Bucket>, AwsError> {
    let b = BUCKETS
        .get_cached(name, &LOADED)?
        .ok_or_else(|| no_such_bucket(name))?;
    crate::request_metrics::saw(&b);
    Ok(b)
}

use crate::util::s;

pub fn create_bucket(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Bucket").unwrap_or_default();
    if !util::valid_bucket_name(&name) {
        return Err(s3_error(
            "InvalidBucketName",
            "The specified bucket is not valid.",
            400,
        )
        .with_member("BucketName", &name));
    }
    let location = input
        .pointer("/CreateBucketConfiguration/LocationConstraint")
        .and_then(Value::as_str)
        .map(str::to_string);
    let region = match location.as_deref() {
        None | Some("") => ctx.region.clone(),
        Some("EU") => "eu-west-1".to_string(),
        Some(l) => l.to_string(),
    };
    if location.as_deref() == Some("us-east-1") {
        return Err(s3_error(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            400,
        )
        .with_member("LocationConstraint", "us-east-1"));
    }
    if location.is_some() && region != ctx.region && ctx.region != "us-east-1" {
        return Err(s3_error(
            "IllegalLocationConstraintException",
            format!(
                "The {region} location constraint is incompatible for the region specific endpoint this request was sent to."
            ),
            400,
        ));
    }
    if location.is_none() && ctx.region != "us-east-1" {
        // AWS asks for an explicit constraint outside us-east-1; SDKs send it.
    }
    let tags = input
        .pointer("/CreateBucketConfiguration/Tags")
        .and_then(Value::as_array)
        .cloned();
    if let Some(tags) = &tags {
        check_tags(tags)?;
    }
    if let Some(existing) = BUCKETS.get(&name)? {
        // us-east-1 keeps S3's original answer to re-creating your own bucket: 200.
        if existing.account == ctx.account
            && existing.region == "us-east-1"
            && region == "us-east-1"
        {
            return Ok(json!({"Location": format!("/{name}")}));
        }
        if existing.account == ctx.account {
            return Err(s3_error(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                409,
            )
            .with_member("BucketName", &name));
        }
        return Err(s3_error(
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            409,
        )
        .with_member("BucketName", &name));
    }
    let mut config = BTreeMap::new();
    if input.get("ObjectLockEnabledForBucket") == Some(&Value::Bool(true)) {
        config.insert("versioning".into(), json!({"Status": "Enabled"}));
        config.insert(
            "object-lock".into(),
            json!({"ObjectLockEnabled": "Enabled"}),
        );
    }
    // New buckets disable ACLs unless they ask for another ownership.
    let ownership = s(&input, "ObjectOwnership").unwrap_or_else(|| "BucketOwnerEnforced".into());
    config.insert(
        "ownership".into(),
        json!({"Rules": [{"ObjectOwnership": ownership}]}),
    );
    if let Some(grants) = crate::acl::for_new_bucket(&input, &ctx.account, &ownership)? {
        config.insert("grants".into(), json!(grants));
    }
    if let Some(tags) = tags {
        config.insert("tagging".into(), json!({ "TagSet": tags }));
    }
    BUCKETS.put(
        &name,
        &Bucket {
            name: name.clone(),
            account: ctx.account.clone(),
            region,
            created: time::now_secs(),
            config,
        },
    )?;
    Ok(json!({"Location": format!("/{name}")}))
}

/// S3's rules for a bucket's tag set (`InvalidTag`, 400).
pub fn check_tags(tags: &[Value]) -> Result<(), AwsError> {
    let invalid = |m: &str| s3_error("InvalidTag", m, 400);
    if tags.len() > 50 {
        return Err(invalid("Bucket tag count cannot be greater than 50"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in tags {
        let key = t["Key"].as_str().unwrap_or_default();
        let value = t["Value"].as_str().unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(invalid("The TagKey you have provided is invalid"));
        }
        if value.chars().count() > 256 {
            return Err(invalid("The TagValue you have provided is invalid"));
        }
        if key.starts_with("aws:") {
            return Err(invalid("Your TagKey cannot be prefixed with aws:"));
        }
        if !seen.insert(key) {
            return Err(invalid("Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(())
}

pub fn head_bucket(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Bucket").unwrap_or_default();
    let b = bucket(&name)?;
    Ok(json!({"BucketRegion": b.region, "AccessPointAlias": false}))
}

pub fn delete_bucket(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Bucket").unwrap_or_default();
    let b = bucket(&name)?;
    if b.account != ctx.account {
        return Err(s3_error("AccessDenied", "Access Denied", 403));
    }
    let prefix = keys::prefix(&[&name]);
    if !crate::objects::OBJECTS
        .scan(&Scan::prefix(prefix.clone()).limit(1))?
        .is_empty()
        || !crate::objects::VERSIONS
            .scan(&Scan::prefix(prefix).limit(1))?
            .is_empty()
    {
        return Err(s3_error(
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty",
            409,
        )
        .with_member("BucketName", &name));
    }
    crate::multipart::COMPLETED.delete_range(&Scan::prefix(keys::prefix(&[&name])));
    BUCKETS.delete(&name);
    Ok(json!({}))
}

pub fn list_buckets(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let region = s(&input, "BucketRegion");
    let max = input
        .get("MaxBuckets")
        .and_then(Value::as_u64)
        .unwrap_or(10_000) as usize;
    let after = s(&input, "ContinuationToken").and_then(|t| ministack_sdk::pagination::decode(&t));
    let mut scan = Scan::prefix(prefix.clone());
    if let Some(a) = after {
        scan = scan.start_after(a);
    }
    let mut out = Vec::new();
    let mut token = None;
    for (name, b) in BUCKETS.scan(&scan)? {
        if b.account != ctx.account || region.as_ref().is_some_and(|r| *r != b.region) {
            continue;
        }
        if out.len() == max {
            token = out
                .last()
                .and_then(|v: &Value| v["Name"].as_str())
                .map(ministack_sdk::pagination::encode);
            break;
        }
        out.push(json!({"Name": name, "CreationDate": b.created, "BucketRegion": b.region}));
    }
    let mut res = Map::new();
    res.insert("Buckets".into(), Value::Array(out));
    res.insert("Owner".into(), owner(&ctx.account));
    if !prefix.is_empty() {
        res.insert("Prefix".into(), json!(prefix));
    }
    if let Some(t) = token {
        res.insert("ContinuationToken".into(), json!(t));
    }
    Ok(Value::Object(res))
}

pub fn get_bucket_location(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    if b.region == "us-east-1" {
        Ok(json!({}))
    } else {
        Ok(json!({"LocationConstraint": b.region}))
    }
}
