//! Per-object subresources: ACL, attributes, retention, legal hold, restore.

use std::rc::Rc;

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Map, Value, json};

use crate::buckets::{Bucket, bucket};
use crate::objects::{self, Object};
use crate::s3_error;
use crate::util::s;

fn target(input: &Value) -> Result<(Rc<Bucket>, Object), AwsError> {
    let b = bucket(&s(input, "Bucket").unwrap_or_default())?;
    let o = objects::find(
        &b,
        &s(input, "Key").unwrap_or_default(),
        s(input, "VersionId").as_deref(),
    )?;
    Ok((b, o))
}

pub fn get_object_acl(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, o) = target(&input)?;
    Ok(crate::acl::policy(&b.account, o.acl.as_ref()))
}

pub fn put_object_acl(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, _) = target(&input)?;
    let grants = crate::acl::for_write(&b, &input, &b.account)?;
    let o = objects::update_object(&input, |o| o.acl = grants.clone())?;
    Ok(objects::version_member(&o))
}

pub fn get_object_attributes(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, o) = target(&input)?;
    let wanted: Vec<String> = input["ObjectAttributes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let want = |a: &str| wanted.iter().any(|w| w == a);
    let mut out = Map::new();
    out.insert("LastModified".into(), json!(o.last_modified));
    if let Some(v) = &o.version_id {
        out.insert("VersionId".into(), json!(v));
    }
    if want("ETag") {
        out.insert("ETag".into(), json!(o.etag.trim_matches('"')));
    }
    if want("ObjectSize") {
        out.insert("ObjectSize".into(), json!(o.size));
    }
    // S3 names the storage class of every object but STANDARD ones.
    if want("StorageClass")
        && let Some(c) = &o.storage_class
    {
        out.insert("StorageClass".into(), json!(c));
    }
    if want("Checksum") && !o.checksums.is_empty() {
        let mut c = Map::new();
        for (alg, v) in &o.checksums {
            c.insert(format!("Checksum{alg}"), json!(v));
        }
        if let Some(t) = &o.checksum_type {
            c.insert("ChecksumType".into(), json!(t));
        }
        out.insert("Checksum".into(), Value::Object(c));
    }
    if want("ObjectParts")
        && let Some(n) = o.parts_count
    {
        out.insert("ObjectParts".into(), json!({"TotalPartsCount": n}));
    }
    Ok(Value::Object(out))
}

fn require_object_lock(b: &Bucket) -> Result<(), AwsError> {
    if b.config.contains_key("object-lock") {
        Ok(())
    } else {
        Err(s3_error(
            "InvalidRequest",
            "Bucket is missing Object Lock Configuration",
            400,
        ))
    }
}

pub fn put_object_retention(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, _) = target(&input)?;
    require_object_lock(&b)?;
    let mode = input.pointer("/Retention/Mode").cloned();
    let until = input.pointer("/Retention/RetainUntilDate").cloned();
    objects::update_object(&input, |o| {
        match &mode {
            Some(m) => o.headers.insert("ObjectLockMode".into(), m.clone()),
            None => o.headers.remove("ObjectLockMode"),
        };
        match &until {
            Some(u) => o
                .headers
                .insert("ObjectLockRetainUntilDate".into(), u.clone()),
            None => o.headers.remove("ObjectLockRetainUntilDate"),
        };
    })?;
    Ok(json!({}))
}

pub fn get_object_retention(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, o) = target(&input)?;
    require_object_lock(&b)?;
    match o.headers.get("ObjectLockMode") {
        Some(m) => Ok(json!({"Retention": {
            "Mode": m,
            "RetainUntilDate": o.headers.get("ObjectLockRetainUntilDate").cloned().unwrap_or(Value::Null),
        }})),
        None => Err(s3_error(
            "NoSuchObjectLockConfiguration",
            "The specified object does not have a ObjectLock configuration",
            404,
        )),
    }
}

pub fn put_object_legal_hold(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, _) = target(&input)?;
    require_object_lock(&b)?;
    let status = input
        .pointer("/LegalHold/Status")
        .cloned()
        .unwrap_or(json!("OFF"));
    objects::update_object(&input, |o| {
        o.headers
            .insert("ObjectLockLegalHoldStatus".into(), status.clone());
    })?;
    Ok(json!({}))
}

pub fn get_object_legal_hold(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (b, o) = target(&input)?;
    require_object_lock(&b)?;
    match o.headers.get("ObjectLockLegalHoldStatus") {
        Some(st) => Ok(json!({"LegalHold": {"Status": st}})),
        None => Err(s3_error(
            "NoSuchObjectLockConfiguration",
            "The specified object does not have a ObjectLock configuration",
            404,
        )),
    }
}

/// Archived objects are readable in ministack; a restore just records its expiry.
pub fn restore_object(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, o) = target(&input)?;
    let archived = matches!(
        o.storage_class.as_deref(),
        Some("GLACIER") | Some("DEEP_ARCHIVE")
    );
    if !archived {
        return Err(s3_error(
            "InvalidObjectState",
            "Restore is not allowed for the object's current storage class",
            403,
        )
        .with_member(
            "StorageClass",
            o.storage_class.unwrap_or_else(|| "STANDARD".into()),
        ));
    }
    let days = input
        .pointer("/RestoreRequest/Days")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let expiry = time::http_date(time::now_secs() + days * 86_400);
    objects::update_object(&input, |o| {
        o.headers.insert(
            "Restore".into(),
            json!(format!(
                "ongoing-request=\"false\", expiry-date=\"{expiry}\""
            )),
        );
    })?;
    Ok(json!({}))
}
