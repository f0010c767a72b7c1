//! Tags, resource policies, encryption, enhanced monitoring, limits and
//! account settings.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{services, time};

use crate::consumers::{CONSUMERS, find_consumer};
use crate::shapes::{
    AddTagsToStreamInput, AddTagsToStreamOutput, DeleteResourcePolicyInput,
    DeleteResourcePolicyOutput, DescribeAccountSettingsOutput, DescribeLimitsOutput,
    DisableEnhancedMonitoringInput, DisableEnhancedMonitoringOutput, EnableEnhancedMonitoringInput,
    EnableEnhancedMonitoringOutput, GetResourcePolicyInput, GetResourcePolicyOutput,
    ListTagsForResourceInput, ListTagsForResourceOutput, ListTagsForStreamInput,
    ListTagsForStreamOutput, MetricsName, MinimumThroughputBillingCommitmentOutput,
    MinimumThroughputBillingCommitmentOutputStatus, PutResourcePolicyInput,
    PutResourcePolicyOutput, RemoveTagsFromStreamInput, RemoveTagsFromStreamOutput,
    StartStreamEncryptionInput, StartStreamEncryptionOutput, StopStreamEncryptionInput,
    StopStreamEncryptionOutput, Tag, TagResourceInput, TagResourceOutput, UntagResourceInput,
    UntagResourceOutput, UpdateAccountSettingsInput, UpdateAccountSettingsOutput,
    UpdateMaxRecordSizeInput, UpdateMaxRecordSizeOutput, UpdateStreamWarmThroughputInput,
    UpdateStreamWarmThroughputOutput, WarmThroughputObject,
};
use crate::streams::{ON_DEMAND_STREAM_LIMIT, SHARD_LIMIT, STREAMS, Stream, find};
use crate::{invalid_argument, not_found};

/// Resource policies by stream or consumer ARN.
pub const POLICIES: Table<String> = Table::new("policies");
/// The account's minimum throughput billing commitment.
const ACCOUNT: Table<MinimumThroughputBillingCommitmentOutput> = Table::new("account-settings");

const MAX_TAGS: usize = 50;

pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
            return Err(invalid_argument(format!(
                "Invalid tag {k}: keys are 1 to 128 characters and may not start with aws:, values up to 256."
            )));
        }
    }
    Ok(())
}

fn merge_tags(
    into: &mut BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    check_tags(tags)?;
    into.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    if into.len() > MAX_TAGS {
        return Err(invalid_argument(format!(
            "A resource may have at most {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect()
}

pub fn add_tags_to_stream(
    ctx: &Context,
    input: AddTagsToStreamInput,
) -> Result<AddTagsToStreamOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    merge_tags(&mut stream.tags, &input.tags)?;
    STREAMS.put(&stream.name, &stream)?;
    Ok(AddTagsToStreamOutput::default())
}

pub fn remove_tags_from_stream(
    ctx: &Context,
    input: RemoveTagsFromStreamInput,
) -> Result<RemoveTagsFromStreamOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    for k in &input.tag_keys {
        stream.tags.remove(k);
    }
    STREAMS.put(&stream.name, &stream)?;
    Ok(RemoveTagsFromStreamOutput::default())
}

pub fn list_tags_for_stream(
    ctx: &Context,
    input: ListTagsForStreamInput,
) -> Result<ListTagsForStreamOutput, AwsError> {
    let stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let limit = input.limit.unwrap_or(50).clamp(1, 50) as usize;
    let after = input.exclusive_start_tag_key.as_deref();
    let rest: Vec<Tag> = tag_list(&stream.tags)
        .into_iter()
        .filter(|t| after.is_none_or(|a| t.key.as_str() > a))
        .collect();
    Ok(ListTagsForStreamOutput {
        has_more_tags: rest.len() > limit,
        tags: rest.into_iter().take(limit).collect(),
    })
}

/// A stream or a consumer, named by ARN.
enum Resource {
    Stream(Stream),
    Consumer(String, crate::consumers::ConsumerRecord),
}

fn resource(ctx: &Context, arn: &str) -> Result<Resource, AwsError> {
    if arn.contains("/consumer/") {
        let (key, c) = find_consumer(ctx, None, None, Some(arn))?;
        Ok(Resource::Consumer(key, c))
    } else {
        Ok(Resource::Stream(find(ctx, None, Some(arn))?))
    }
}

pub fn tag_resource(ctx: &Context, input: TagResourceInput) -> Result<TagResourceOutput, AwsError> {
    match resource(ctx, &input.resource_arn)? {
        Resource::Stream(mut s) => {
            merge_tags(&mut s.tags, &input.tags)?;
            STREAMS.put(&s.name, &s)?;
        }
        Resource::Consumer(key, mut c) => {
            merge_tags(&mut c.tags, &input.tags)?;
            CONSUMERS.put(&key, &c)?;
        }
    }
    Ok(TagResourceOutput::default())
}

pub fn untag_resource(
    ctx: &Context,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, AwsError> {
    match resource(ctx, &input.resource_arn)? {
        Resource::Stream(mut s) => {
            for k in &input.tag_keys {
                s.tags.remove(k);
            }
            STREAMS.put(&s.name, &s)?;
        }
        Resource::Consumer(key, mut c) => {
            for k in &input.tag_keys {
                c.tags.remove(k);
            }
            CONSUMERS.put(&key, &c)?;
        }
    }
    Ok(UntagResourceOutput::default())
}

pub fn list_tags_for_resource(
    ctx: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    let tags = match resource(ctx, &input.resource_arn)? {
        Resource::Stream(s) => s.tags,
        Resource::Consumer(_, c) => c.tags,
    };
    Ok(ListTagsForResourceOutput {
        tags: Some(tag_list(&tags)),
    })
}

pub fn put_resource_policy(
    ctx: &Context,
    input: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, AwsError> {
    resource(ctx, &input.resource_arn)?;
    let doc: serde_json::Value = serde_json::from_str(&input.policy)
        .map_err(|e| invalid_argument(format!("Policy is not valid JSON: {e}")))?;
    if doc.get("Statement").is_none() {
        return Err(invalid_argument("Policy has no Statement."));
    }
    POLICIES.put(&input.resource_arn, &input.policy)?;
    Ok(PutResourcePolicyOutput::default())
}

pub fn get_resource_policy(
    ctx: &Context,
    input: GetResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, AwsError> {
    resource(ctx, &input.resource_arn)?;
    Ok(GetResourcePolicyOutput {
        policy: POLICIES
            .get(&input.resource_arn)?
            .unwrap_or_else(|| "{}".to_string()),
    })
}

pub fn delete_resource_policy(
    ctx: &Context,
    input: DeleteResourcePolicyInput,
) -> Result<DeleteResourcePolicyOutput, AwsError> {
    resource(ctx, &input.resource_arn)?;
    if !POLICIES.delete(&input.resource_arn) {
        return Err(not_found(format!(
            "No resource policy found for resource ARN {}.",
            input.resource_arn
        )));
    }
    Ok(DeleteResourcePolicyOutput::default())
}

pub fn start_stream_encryption(
    ctx: &Context,
    input: StartStreamEncryptionInput,
) -> Result<StartStreamEncryptionOutput, AwsError> {
    find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    if input.encryption_type.as_str() != "KMS" {
        return Err(invalid_argument(format!(
            "EncryptionType {} is not supported: use KMS.",
            input.encryption_type
        )));
    }
    check_key(ctx, &input.key_id)?;
    // `services.call` above ended the unit: read the stream after it.
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    // The key is recorded, not used: records are stored as put.
    stream.encryption = Some("KMS".into());
    stream.key_id = Some(input.key_id);
    STREAMS.put(&stream.name, &stream)?;
    Ok(StartStreamEncryptionOutput::default())
}

/// The key must exist and be enabled in KMS, as AWS checks when
/// encryption starts (`KMSNotFoundException`, `KMSDisabledException`).
/// The AWS managed `alias/aws/kinesis` always exists; without a `kms`
/// plugin loaded nothing can be checked and the key is taken as given.
fn check_key(ctx: &Context, key_id: &str) -> Result<(), AwsError> {
    if key_id == "alias/aws/kinesis" || key_id.ends_with(":alias/aws/kinesis") {
        return Ok(());
    }
    let kms = services::Target::new("kms", ctx);
    let input = serde_json::json!({"KeyId": key_id}).to_string();
    match services::call_json(&kms, "DescribeKey", &input) {
        Ok(out) => {
            let out: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            match out["KeyMetadata"]["KeyState"].as_str() {
                Some("Disabled") => Err(AwsError::new(
                    "KMSDisabledException",
                    format!("The KMS key {key_id} is disabled."),
                )),
                Some("PendingDeletion" | "PendingImport" | "Unavailable") => Err(AwsError::new(
                    "KMSInvalidStateException",
                    format!("The KMS key {key_id} is not in a usable state."),
                )),
                _ => Ok(()),
            }
        }
        Err(e) if e.code == "NotFoundException" => Err(AwsError::new(
            "KMSNotFoundException",
            format!("The KMS key {key_id} was not found."),
        )),
        Err(_) => Ok(()),
    }
}

pub fn stop_stream_encryption(
    ctx: &Context,
    input: StopStreamEncryptionInput,
) -> Result<StopStreamEncryptionOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    stream.encryption = None;
    stream.key_id = None;
    STREAMS.put(&stream.name, &stream)?;
    Ok(StopStreamEncryptionOutput::default())
}

const ALL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

fn metric_names(metrics: &[MetricsName]) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    for m in metrics {
        match m.as_str() {
            "ALL" => out.extend(ALL_METRICS.iter().map(|s| s.to_string())),
            name if ALL_METRICS.contains(&name) => out.push(name.to_string()),
            other => return Err(invalid_argument(format!("Unknown metric {other}."))),
        }
    }
    Ok(out)
}

fn monitoring(
    ctx: &Context,
    name: Option<&str>,
    arn: Option<&str>,
    metrics: &[MetricsName],
    enable: bool,
) -> Result<EnableEnhancedMonitoringOutput, AwsError> {
    let mut stream = find(ctx, name, arn)?;
    let before = stream.metrics.clone();
    let names = metric_names(metrics)?;
    if enable {
        for n in names {
            if !stream.metrics.contains(&n) {
                stream.metrics.push(n);
            }
        }
    } else {
        stream.metrics.retain(|m| !names.contains(m));
    }
    // Model order, as AWS lists them.
    stream
        .metrics
        .sort_by_key(|m| ALL_METRICS.iter().position(|a| a == m));
    STREAMS.put(&stream.name, &stream)?;
    let list = |v: &[String]| Some(v.iter().map(|m| MetricsName::from(m.as_str())).collect());
    Ok(EnableEnhancedMonitoringOutput {
        stream_name: Some(stream.name.clone()),
        current_shard_level_metrics: list(&before),
        desired_shard_level_metrics: list(&stream.metrics),
        stream_arn: Some(stream.arn.clone()),
    })
}

pub fn enable_enhanced_monitoring(
    ctx: &Context,
    input: EnableEnhancedMonitoringInput,
) -> Result<EnableEnhancedMonitoringOutput, AwsError> {
    monitoring(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        &input.shard_level_metrics,
        true,
    )
}

pub fn disable_enhanced_monitoring(
    ctx: &Context,
    input: DisableEnhancedMonitoringInput,
) -> Result<DisableEnhancedMonitoringOutput, AwsError> {
    monitoring(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        &input.shard_level_metrics,
        false,
    )
}

pub fn describe_limits(_ctx: &Context, _: Empty) -> Result<DescribeLimitsOutput, AwsError> {
    let streams = STREAMS.values("")?;
    Ok(DescribeLimitsOutput {
        shard_limit: SHARD_LIMIT,
        open_shard_count: streams.iter().map(|s| s.open_shards().count() as i32).sum(),
        on_demand_stream_count: streams.iter().filter(|s| s.mode == "ON_DEMAND").count() as i32,
        on_demand_stream_count_limit: ON_DEMAND_STREAM_LIMIT,
    })
}

pub fn describe_account_settings(
    _ctx: &Context,
    _: Empty,
) -> Result<DescribeAccountSettingsOutput, AwsError> {
    Ok(DescribeAccountSettingsOutput {
        minimum_throughput_billing_commitment: ACCOUNT.get("commitment")?,
    })
}

pub fn update_account_settings(
    _ctx: &Context,
    input: UpdateAccountSettingsInput,
) -> Result<UpdateAccountSettingsOutput, AwsError> {
    let now = time::now();
    let status = input
        .minimum_throughput_billing_commitment
        .status
        .as_str()
        .to_string();
    let setting = ACCOUNT.update("commitment", |old| {
        Ok(match status.as_str() {
            "ENABLED" => MinimumThroughputBillingCommitmentOutput {
                status: MinimumThroughputBillingCommitmentOutputStatus::Enabled,
                started_at: Some(now),
                ended_at: None,
                // AWS: a commitment lasts at least 24 hours.
                earliest_allowed_end_at: Some(now + 86_400.0),
            },
            _ => {
                let old = old.unwrap_or_default();
                MinimumThroughputBillingCommitmentOutput {
                    status: MinimumThroughputBillingCommitmentOutputStatus::Disabled,
                    started_at: old.started_at,
                    ended_at: Some(now),
                    earliest_allowed_end_at: None,
                }
            }
        })
    })?;
    Ok(UpdateAccountSettingsOutput {
        minimum_throughput_billing_commitment: Some(setting),
    })
}

pub fn update_max_record_size(
    ctx: &Context,
    input: UpdateMaxRecordSizeInput,
) -> Result<UpdateMaxRecordSizeOutput, AwsError> {
    let mut stream = find(ctx, None, input.stream_arn.as_deref())?;
    stream.max_record_kib = Some(input.max_record_size_in_ki_b);
    STREAMS.put(&stream.name, &stream)?;
    Ok(UpdateMaxRecordSizeOutput::default())
}

pub fn update_stream_warm_throughput(
    ctx: &Context,
    input: UpdateStreamWarmThroughputInput,
) -> Result<UpdateStreamWarmThroughputOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    if stream.mode != "ON_DEMAND" {
        return Err(invalid_argument(
            "Warm throughput can only be set on ON_DEMAND streams.",
        ));
    }
    stream.warm_mibps = Some(input.warm_throughput_mi_bps);
    STREAMS.put(&stream.name, &stream)?;
    Ok(UpdateStreamWarmThroughputOutput {
        stream_arn: Some(stream.arn.clone()),
        stream_name: Some(stream.name.clone()),
        warm_throughput: Some(WarmThroughputObject {
            target_mi_bps: Some(input.warm_throughput_mi_bps),
            current_mi_bps: Some(input.warm_throughput_mi_bps),
        }),
    })
}
