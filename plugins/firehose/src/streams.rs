//! Delivery streams: create, describe, list, update, delete, tags and
//! server-side encryption.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{tasks, time};
use serde_json::{Map, Value, json};

use crate::shapes::*;
use crate::{BUFFER, INFLIGHT, STREAMS, Stream, invalid, kind, load};

/// The one destination a stream has (AWS supports one per stream).
pub const DESTINATION_ID: &str = "destinationId-000000000001";

/// Destination configuration members of CreateDeliveryStream → kind.
const DESTINATIONS: &[(&str, &str)] = &[
    ("S3DestinationConfiguration", "S3"),
    ("ExtendedS3DestinationConfiguration", kind::S3),
    ("RedshiftDestinationConfiguration", "Redshift"),
    ("ElasticsearchDestinationConfiguration", "Elasticsearch"),
    (
        "AmazonopensearchserviceDestinationConfiguration",
        "Amazonopensearchservice",
    ),
    ("SplunkDestinationConfiguration", "Splunk"),
    ("HttpEndpointDestinationConfiguration", kind::HTTP),
    (
        "AmazonOpenSearchServerlessDestinationConfiguration",
        "AmazonOpenSearchServerless",
    ),
    ("SnowflakeDestinationConfiguration", "Snowflake"),
    ("IcebergDestinationConfiguration", "Iceberg"),
];

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn validate_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )))
    }
}

/// Checks an S3 (or extended S3) destination configuration.
fn check_s3(c: &Value) -> Result<(), AwsError> {
    let bucket = c["BucketARN"].as_str().unwrap_or("");
    if !bucket.starts_with("arn:") || !bucket.contains(":s3:::") {
        return Err(invalid(format!(
            "BucketARN {bucket} is not a valid S3 bucket ARN."
        )));
    }
    let prefix = c["Prefix"].as_str().unwrap_or("");
    if prefix.contains("!{") && c["ErrorOutputPrefix"].as_str().unwrap_or("").is_empty() {
        return Err(invalid(
            "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions",
        ));
    }
    crate::prefix::check(prefix)?;
    if let Some(e) = c["ErrorOutputPrefix"].as_str() {
        crate::prefix::check(e)?;
    }
    if let Some(h) = c.get("BufferingHints") {
        let size = h["SizeInMBs"].as_i64().unwrap_or(5);
        let interval = h["IntervalInSeconds"].as_i64().unwrap_or(300);
        if !(1..=128).contains(&size) || !(0..=900).contains(&interval) {
            return Err(invalid(
                "BufferingHints: SizeInMBs must be 1..128 and IntervalInSeconds 0..900.",
            ));
        }
    }
    Ok(())
}

fn check_destination(kind_name: &str, c: &Value) -> Result<(), AwsError> {
    match kind_name {
        kind::S3 => {
            check_s3(c)?;
            if let Some(b) = c.get("S3BackupConfiguration") {
                check_s3(b)?;
            }
            if c["S3BackupMode"] == "Enabled" && c.get("S3BackupConfiguration").is_none() {
                return Err(invalid(
                    "S3BackupConfiguration is required when S3BackupMode is Enabled.",
                ));
            }
            if let Some(f) = c["DataFormatConversionConfiguration"].get("Enabled")
                && f != false
            {
                return Err(invalid(
                    "Record format conversion (Parquet/ORC) is not available in ministack.",
                ));
            }
        }
        kind::HTTP => {
            let url = c["EndpointConfiguration"]["Url"].as_str().unwrap_or("");
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(format!(
                    "EndpointConfiguration.Url {url} must be an https:// URL."
                )));
            }
            check_s3(&c["S3Configuration"])?;
        }
        _ => {
            if let Some(s3) = c.get("S3Configuration") {
                check_s3(s3)?;
            }
        }
    }
    Ok(())
}

pub fn create_delivery_stream(
    ctx: &Context,
    input: CreateDeliveryStreamInput,
) -> Result<CreateDeliveryStreamOutput, AwsError> {
    let name = input.delivery_stream_name.clone();
    validate_name(&name)?;
    let raw = to_value(&input);
    let configured: Vec<(&str, &str)> = DESTINATIONS
        .iter()
        .copied()
        .filter(|(member, _)| raw.get(*member).is_some())
        .collect();
    let [(member, dest_kind)] = configured.as_slice() else {
        return Err(invalid(
            "Exactly one destination configuration must be specified.",
        ));
    };
    let stream_type = input
        .delivery_stream_type
        .as_ref()
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| "DirectPut".to_string());
    let now = time::now();
    let mut source = None;
    match stream_type.as_str() {
        "DirectPut" => {
            if input.kinesis_stream_source_configuration.is_some() {
                return Err(invalid(
                    "KinesisSourceStreamConfig is only allowed for KinesisStreamAsSource DeliveryStreamType.",
                ));
            }
            if let Some(d) = &input.direct_put_source_configuration {
                source = Some(json!({"DirectPutSourceDescription": to_value(d)}));
            }
        }
        "KinesisStreamAsSource" => {
            let Some(k) = &input.kinesis_stream_source_configuration else {
                return Err(invalid(
                    "KinesisSourceStreamConfig is required for KinesisStreamAsSource DeliveryStreamType.",
                ));
            };
            if input
                .delivery_stream_encryption_configuration_input
                .is_some()
            {
                return Err(invalid(
                    "Server side encryption cannot be enabled for a delivery stream whose source is a Kinesis data stream.",
                ));
            }
            source = Some(json!({"KinesisStreamSourceDescription": {
                "KinesisStreamARN": k.kinesis_stream_arn,
                "RoleARN": k.role_arn,
                "DeliveryStartTimestamp": now,
            }}));
        }
        other => {
            return Err(invalid(format!(
                "DeliveryStreamType {other} is not available in ministack (DirectPut and KinesisStreamAsSource are)."
            )));
        }
    }
    let mut dest = raw[*member].clone();
    let legacy_s3 = *dest_kind == "S3";
    let dest_kind = if legacy_s3 { kind::S3 } else { dest_kind };
    check_destination(dest_kind, &dest)?;
    if dest_kind == kind::S3 && dest.get("S3BackupMode").is_none() {
        dest["S3BackupMode"] = json!("Disabled");
    }
    let tags: Vec<(String, String)> = input
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect();
    if tags.len() > 50 {
        return Err(limit_exceeded_tags());
    }
    let encryption = input
        .delivery_stream_encryption_configuration_input
        .map(|e| encryption_enabled(&e))
        .transpose()?;
    if STREAMS.contains(&name) {
        return Err(ResourceInUseException::new(format!(
            "Firehose {name} under accountId {} already exists",
            ctx.account
        ))
        .into());
    }
    let arn = ctx
        .arn("firehose", &format!("deliverystream/{name}"))
        .to_string();
    let stream = Stream {
        name: name.clone(),
        arn: arn.clone(),
        stream_type: stream_type.clone(),
        version: 1,
        created: now,
        updated: now,
        source,
        encryption,
        dest_kind: dest_kind.to_string(),
        dest,
        legacy_s3,
        tags,
        ..Stream::default()
    };
    STREAMS.put(&name, &stream)?;
    if stream_type == "KinesisStreamAsSource" {
        tasks::schedule(Duration::ZERO, "kinesis-poll", &name)?;
    }
    Ok(CreateDeliveryStreamOutput {
        delivery_stream_arn: Some(arn),
    })
}

fn limit_exceeded_tags() -> AwsError {
    LimitExceededException::new("A delivery stream cannot have more than 50 tags.").into()
}

fn encryption_enabled(e: &DeliveryStreamEncryptionConfigurationInput) -> Result<Value, AwsError> {
    let key_type = e.key_type.as_str().to_string();
    let mut v = json!({"KeyType": key_type, "Status": "ENABLED"});
    match (key_type.as_str(), &e.key_arn) {
        ("CUSTOMER_MANAGED_CMK", None) => {
            return Err(invalid(
                "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.",
            ));
        }
        ("AWS_OWNED_CMK", Some(_)) => {
            return Err(invalid(
                "KeyARN is not allowed when KeyType is AWS_OWNED_CMK.",
            ));
        }
        (_, Some(arn)) => v["KeyARN"] = json!(arn),
        _ => {}
    }
    Ok(v)
}

/// The status AWS would report: CREATING for `FIREHOSE_CREATING_SECONDS`
/// after the create (default 0: ACTIVE at once), then ACTIVE.
pub fn status(ctx: &Context, s: &Stream) -> &'static str {
    let delay = crate::setting_u64(ctx, "FIREHOSE_CREATING_SECONDS", 0) as f64;
    if time::now() < s.created + delay {
        "CREATING"
    } else {
        "ACTIVE"
    }
}

/// Fills the defaults AWS reports for an S3 destination.
fn s3_defaults(c: &Value) -> Value {
    let mut c = c.clone();
    let m = c.as_object_mut().expect("configuration is an object");
    let hints = m
        .entry("BufferingHints")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("hints");
    hints.entry("SizeInMBs").or_insert(json!(5));
    hints.entry("IntervalInSeconds").or_insert(json!(300));
    m.entry("CompressionFormat")
        .or_insert(json!("UNCOMPRESSED"));
    m.entry("EncryptionConfiguration")
        .or_insert(json!({"NoEncryptionConfig": "NoEncryption"}));
    m.entry("Prefix").or_insert(json!(""));
    c
}

/// The `S3DestinationDescription` members of an extended configuration.
fn s3_subset(c: &Value) -> Value {
    let c = s3_defaults(c);
    let mut out = Map::new();
    for k in [
        "RoleARN",
        "BucketARN",
        "Prefix",
        "ErrorOutputPrefix",
        "BufferingHints",
        "CompressionFormat",
        "EncryptionConfiguration",
        "CloudWatchLoggingOptions",
    ] {
        if let Some(v) = c.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// A destination configuration as its description: nested S3
/// configurations renamed, secrets left out.
fn describe_destination(s: &Stream) -> Value {
    let mut d = json!({"DestinationId": DESTINATION_ID});
    match s.dest_kind.as_str() {
        kind::S3 => {
            let mut ext = s3_defaults(&s.dest);
            if let Some(b) = ext
                .as_object_mut()
                .and_then(|m| m.remove("S3BackupConfiguration"))
            {
                ext["S3BackupDescription"] = s3_subset(&b);
            }
            d["S3DestinationDescription"] = s3_subset(&s.dest);
            d["ExtendedS3DestinationDescription"] = ext;
        }
        other => {
            let mut c = s.dest.clone();
            if let Some(m) = c.as_object_mut() {
                if let Some(s3) = m.remove("S3Configuration") {
                    m.insert("S3DestinationDescription".into(), s3_subset(&s3));
                }
                if let Some(s3) = m.remove("S3BackupConfiguration") {
                    m.insert("S3BackupDescription".into(), s3_subset(&s3));
                }
                for secret in ["Password", "PrivateKey", "KeyPassphrase", "HECToken"] {
                    m.remove(secret);
                }
                if let Some(e) = m
                    .get_mut("EndpointConfiguration")
                    .and_then(Value::as_object_mut)
                {
                    e.remove("AccessKey");
                }
                if other == kind::HTTP {
                    m.entry("BufferingHints")
                        .or_insert(json!({"SizeInMBs": 5, "IntervalInSeconds": 300}));
                    m.entry("RetryOptions")
                        .or_insert(json!({"DurationInSeconds": 300}));
                    m.entry("S3BackupMode").or_insert(json!("FailedDataOnly"));
                    m.entry("RequestConfiguration")
                        .or_insert(json!({"ContentEncoding": "NONE"}));
                }
            }
            d[format!("{other}DestinationDescription")] = c;
        }
    }
    d
}

pub fn description(ctx: &Context, s: &Stream) -> Value {
    let mut d = json!({
        "DeliveryStreamName": s.name,
        "DeliveryStreamARN": s.arn,
        "DeliveryStreamStatus": status(ctx, s),
        "DeliveryStreamType": s.stream_type,
        "VersionId": s.version.to_string(),
        "CreateTimestamp": s.created,
        "Destinations": [describe_destination(s)],
        "HasMoreDestinations": false,
        "DeliveryStreamEncryptionConfiguration":
            s.encryption.clone().unwrap_or_else(|| json!({"Status": "DISABLED"})),
    });
    if s.version > 1 {
        d["LastUpdateTimestamp"] = json!(s.updated);
    }
    if let Some(src) = &s.source {
        d["Source"] = src.clone();
    }
    d
}

pub fn describe_delivery_stream(
    ctx: &Context,
    input: DescribeDeliveryStreamInput,
) -> Result<DescribeDeliveryStreamOutput, AwsError> {
    let s = load(ctx, &input.delivery_stream_name)?;
    let d = json!({"DeliveryStreamDescription": description(ctx, &s)});
    serde_json::from_value(d)
        .map_err(|e| AwsError::internal(format!("stored stream does not describe: {e}")))
}

pub fn list_delivery_streams(
    _ctx: &Context,
    input: ListDeliveryStreamsInput,
) -> Result<ListDeliveryStreamsOutput, AwsError> {
    let limit = input.limit.unwrap_or(10).clamp(1, 10000) as usize;
    let mut scan = Scan::all();
    if let Some(start) = &input.exclusive_start_delivery_stream_name {
        scan = scan.start_after(start.clone());
    }
    let wanted = input.delivery_stream_type.map(|t| t.as_str().to_string());
    let mut names = Vec::new();
    let mut more = false;
    for (name, s) in STREAMS.scan(&scan)? {
        if wanted.as_ref().is_some_and(|t| *t != s.stream_type) {
            continue;
        }
        if names.len() == limit {
            more = true;
            break;
        }
        names.push(name);
    }
    Ok(ListDeliveryStreamsOutput {
        delivery_stream_names: names,
        has_more_delivery_streams: more,
    })
}

pub fn delete_delivery_stream(
    ctx: &Context,
    input: DeleteDeliveryStreamInput,
) -> Result<DeleteDeliveryStreamOutput, AwsError> {
    let name = input.delivery_stream_name;
    load(ctx, &name)?;
    // AWS drops what is still buffered when a stream is deleted.
    STREAMS.delete(&name);
    let children = Scan::prefix(keys::prefix(&[&name]));
    BUFFER.delete_range(&children);
    INFLIGHT.delete_range(&children);
    Ok(DeleteDeliveryStreamOutput {})
}

/// Member-wise merge of an update into a configuration (nested structures
/// merge too, as UpdateDestination documents).
fn merge(into: &mut Value, update: &Value) {
    match (into.as_object_mut(), update.as_object()) {
        (Some(dst), Some(src)) => {
            for (k, v) in src {
                let target_key = match k.as_str() {
                    "S3Update" => "S3Configuration",
                    "S3BackupUpdate" => "S3BackupConfiguration",
                    other => other,
                };
                match dst.get_mut(target_key) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        dst.insert(target_key.to_string(), v.clone());
                    }
                }
            }
        }
        _ => *into = update.clone(),
    }
}

pub fn update_destination(
    ctx: &Context,
    input: UpdateDestinationInput,
) -> Result<UpdateDestinationOutput, AwsError> {
    let name = input.delivery_stream_name.clone();
    let mut s = load(ctx, &name)?;
    if input.current_delivery_stream_version_id != s.version.to_string() {
        return Err(ConcurrentModificationException::new(format!(
            "Cannot update firehose: {name} since the current version id: {} and specified version id: {} do not match",
            s.version, input.current_delivery_stream_version_id
        ))
        .into());
    }
    if input.destination_id != DESTINATION_ID {
        return Err(invalid(format!(
            "Destination Id {} not found in delivery stream {name}.",
            input.destination_id
        )));
    }
    let raw = to_value(&input);
    let updates: Vec<(String, String)> = raw
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| {
            k.strip_suffix("DestinationUpdate")
                .map(|n| (k.clone(), n.to_string()))
        })
        .collect();
    let [(member, update_kind)] = updates.as_slice() else {
        return Err(invalid("Exactly one destination update must be specified."));
    };
    let update_kind = if update_kind == "S3" || update_kind == "ExtendedS3" {
        kind::S3
    } else {
        update_kind.as_str()
    };
    let mut dest = if update_kind == s.dest_kind {
        s.dest.clone()
    } else {
        json!({})
    };
    merge(&mut dest, &raw[member]);
    check_destination(update_kind, &dest)?;
    s.dest_kind = update_kind.to_string();
    s.dest = dest;
    s.version += 1;
    s.updated = time::now();
    STREAMS.put(&name, &s)?;
    Ok(UpdateDestinationOutput {})
}

pub fn tag_delivery_stream(
    ctx: &Context,
    input: TagDeliveryStreamInput,
) -> Result<TagDeliveryStreamOutput, AwsError> {
    let mut s = load(ctx, &input.delivery_stream_name)?;
    for t in input.tags {
        let value = t.value.unwrap_or_default();
        match s.tags.iter_mut().find(|(k, _)| *k == t.key) {
            Some(slot) => slot.1 = value,
            None => s.tags.push((t.key, value)),
        }
    }
    if s.tags.len() > 50 {
        return Err(limit_exceeded_tags());
    }
    STREAMS.put(&s.name.clone(), &s)?;
    Ok(TagDeliveryStreamOutput {})
}

pub fn untag_delivery_stream(
    ctx: &Context,
    input: UntagDeliveryStreamInput,
) -> Result<UntagDeliveryStreamOutput, AwsError> {
    let mut s = load(ctx, &input.delivery_stream_name)?;
    s.tags.retain(|(k, _)| !input.tag_keys.contains(k));
    STREAMS.put(&s.name.clone(), &s)?;
    Ok(UntagDeliveryStreamOutput {})
}

pub fn list_tags_for_delivery_stream(
    ctx: &Context,
    input: ListTagsForDeliveryStreamInput,
) -> Result<ListTagsForDeliveryStreamOutput, AwsError> {
    let s = load(ctx, &input.delivery_stream_name)?;
    let limit = input.limit.unwrap_or(50).clamp(1, 50) as usize;
    let mut tags: Vec<&(String, String)> = s.tags.iter().collect();
    tags.sort();
    let start = match &input.exclusive_start_tag_key {
        Some(k) => tags.iter().position(|(t, _)| t > k).unwrap_or(tags.len()),
        None => 0,
    };
    let rest = &tags[start..];
    Ok(ListTagsForDeliveryStreamOutput {
        tags: rest
            .iter()
            .take(limit)
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: Some(v.clone()),
            })
            .collect(),
        has_more_tags: rest.len() > limit,
    })
}

pub fn start_delivery_stream_encryption(
    ctx: &Context,
    input: StartDeliveryStreamEncryptionInput,
) -> Result<StartDeliveryStreamEncryptionOutput, AwsError> {
    let mut s = load(ctx, &input.delivery_stream_name)?;
    if s.stream_type == "KinesisStreamAsSource" {
        return Err(invalid(format!(
            "Encryption is not supported for delivery stream {} with source type KinesisStreamAsSource.",
            s.name
        )));
    }
    let e = input
        .delivery_stream_encryption_configuration_input
        .unwrap_or(DeliveryStreamEncryptionConfigurationInput {
            key_arn: None,
            key_type: KeyType::from("AWS_OWNED_CMK"),
        });
    s.encryption = Some(encryption_enabled(&e)?);
    STREAMS.put(&s.name.clone(), &s)?;
    Ok(StartDeliveryStreamEncryptionOutput {})
}

pub fn stop_delivery_stream_encryption(
    ctx: &Context,
    input: StopDeliveryStreamEncryptionInput,
) -> Result<StopDeliveryStreamEncryptionOutput, AwsError> {
    let mut s = load(ctx, &input.delivery_stream_name)?;
    if s.stream_type == "KinesisStreamAsSource" {
        return Err(invalid(format!(
            "Encryption is not supported for delivery stream {} with source type KinesisStreamAsSource.",
            s.name
        )));
    }
    let mut e = s.encryption.take().unwrap_or_else(|| json!({}));
    e["Status"] = json!("DISABLED");
    s.encryption = Some(e);
    STREAMS.put(&s.name.clone(), &s)?;
    Ok(StopDeliveryStreamEncryptionOutput {})
}
