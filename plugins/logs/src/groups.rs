//! Log groups, log streams, tags, retention, KMS association, resource
//! policies, destinations, metric filters and subscription filters.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, pagination, tasks, time};

use crate::shapes::*;
use crate::{exists, invalid, not_found, pattern};

/// A log group: the model's `LogGroup` plus its tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupRec {
    #[serde(flatten)]
    pub info: LogGroup,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The group's transformer (also in `transform::TRANSFORMERS`), here
    /// so PutLogEvents applies it without another read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformer: Option<Vec<Processor>>,
}

/// A log stream plus the sequence number of its next chunk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamRec {
    #[serde(flatten)]
    pub info: LogStream,
    #[serde(default)]
    pub seq: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DestinationRec {
    #[serde(flatten)]
    pub info: Destination,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

pub const GROUPS: Table<GroupRec> = Table::new("groups");
/// Key: group, stream.
pub const STREAMS: Table<StreamRec> = Table::new("streams");
/// Key: group, filter name.
pub const METRIC_FILTERS: Table<MetricFilter> = Table::new("metric-filters");
/// Key: group, filter name.
pub const SUBSCRIPTIONS: Table<SubscriptionFilter> = Table::new("subscriptions");
pub const DESTINATIONS: Table<DestinationRec> = Table::new("destinations");
pub const RESOURCE_POLICIES: Table<ResourcePolicy> = Table::new("resource-policies");

const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn group_arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{name}",
        ctx.partition(),
        ctx.region,
        ctx.account
    )
}

/// The group a request names by `logGroupName` or `logGroupIdentifier`
/// (a name or an ARN).
pub fn group_name_of(name: Option<&str>, identifier: Option<&str>) -> Result<String, AwsError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(n), None) => Ok(n.to_string()),
        (None, Some(id)) => Ok(name_from_identifier(id)),
        (None, None) => Err(invalid(
            "Should provide either a LogGroup name or a LogGroup ARN.",
        )),
    }
}

pub fn name_from_identifier(id: &str) -> String {
    match id.split_once(":log-group:") {
        Some((_, rest)) => rest.trim_end_matches(":*").to_string(),
        None => id.to_string(),
    }
}

pub fn load_group(name: &str) -> Result<GroupRec, AwsError> {
    GROUPS
        .get(name)?
        .ok_or_else(|| not_found("The specified log group does not exist."))
}

fn limit(l: Option<i32>, default: u32, max: u32) -> u32 {
    l.map(|l| l.clamp(1, max as i32) as u32).unwrap_or(default)
}

fn check_group_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

pub fn create_log_group(ctx: &Context, input: CreateLogGroupInput) -> Result<Empty, AwsError> {
    check_group_name(&input.log_group_name)?;
    if input.log_group_name.starts_with("aws/") {
        return Err(invalid("Log group names starting with aws/ are reserved."));
    }
    if GROUPS.contains(&input.log_group_name) {
        return Err(exists("The specified log group already exists"));
    }
    let arn = group_arn(ctx, &input.log_group_name);
    let rec = GroupRec {
        info: LogGroup {
            log_group_name: Some(input.log_group_name.clone()),
            creation_time: Some(time::now_millis() as i64),
            metric_filter_count: Some(0),
            arn: Some(format!("{arn}:*")),
            log_group_arn: Some(arn),
            stored_bytes: Some(0),
            kms_key_id: input.kms_key_id,
            log_group_class: Some(input.log_group_class.unwrap_or(LogGroupClass::Standard)),
            deletion_protection_enabled: input.deletion_protection_enabled,
            ..Default::default()
        },
        tags: input.tags.unwrap_or_default(),
        transformer: None,
    };
    GROUPS.put(&input.log_group_name, &rec)?;
    Ok(Empty {})
}

pub fn delete_log_group(_: &Context, input: DeleteLogGroupInput) -> Result<Empty, AwsError> {
    let g = load_group(&input.log_group_name)?;
    if g.info.deletion_protection_enabled == Some(true) {
        return Err(AwsError::new(
            "OperationAbortedException",
            "Log group deletion protection is enabled; disable it before deleting the log group.",
        )
        .with_status(400));
    }
    let name = &input.log_group_name;
    GROUPS.delete(name);
    let children = Scan::prefix(keys::prefix(&[name]));
    STREAMS.delete_range(&children);
    crate::events::CHUNKS.delete_range(&children);
    METRIC_FILTERS.delete_range(&children);
    SUBSCRIPTIONS.delete_range(&children);
    crate::transform::TRANSFORMERS.delete(name);
    crate::extras::INDEX_POLICIES.delete(name);
    Ok(Empty {})
}

fn group_out(g: &GroupRec) -> LogGroup {
    g.info.clone()
}

pub fn describe_log_groups(
    _: &Context,
    input: DescribeLogGroupsInput,
) -> Result<DescribeLogGroupsOutput, AwsError> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(invalid(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let scan = Scan::prefix(input.log_group_name_prefix.clone().unwrap_or_default());
    let max = limit(input.limit, 50, 50);
    let pattern = input
        .log_group_name_pattern
        .clone()
        .map(|p| p.to_lowercase());
    let ids: Option<Vec<String>> = input
        .log_group_identifiers
        .as_ref()
        .map(|v| v.iter().map(|i| name_from_identifier(i)).collect());
    let after = match &input.next_token {
        Some(t) => Some(pagination::decode(t).ok_or_else(AwsError::invalid_next_token)?),
        None => None,
    };
    let mut scan = scan;
    if let Some(a) = &after {
        scan = scan.start_after(a.clone());
    }
    let mut out = Vec::new();
    let mut next = None;
    for (k, g) in GROUPS.scan(&scan)? {
        if let Some(p) = &pattern
            && !k.to_lowercase().contains(p.as_str())
        {
            continue;
        }
        if let Some(ids) = &ids
            && !ids.contains(&k)
        {
            continue;
        }
        if let Some(c) = &input.log_group_class
            && g.info.log_group_class.as_ref() != Some(c)
        {
            continue;
        }
        if out.len() as u32 == max {
            next = Some(pagination::encode(&keys_before(&out)));
            break;
        }
        out.push((k, group_out(&g)));
    }
    Ok(DescribeLogGroupsOutput {
        log_groups: Some(out.into_iter().map(|(_, g)| g).collect()),
        next_token: next,
    })
}

fn keys_before<T>(out: &[(String, T)]) -> String {
    out.last().map(|(k, _)| k.clone()).unwrap_or_default()
}

pub fn list_log_groups(
    ctx: &Context,
    input: ListLogGroupsInput,
) -> Result<ListLogGroupsOutput, AwsError> {
    let d = describe_log_groups(
        ctx,
        DescribeLogGroupsInput {
            log_group_name_pattern: input.log_group_name_pattern,
            log_group_class: input.log_group_class,
            next_token: input.next_token,
            limit: Some(input.limit.unwrap_or(50).min(50)),
            ..Default::default()
        },
    )?;
    Ok(ListLogGroupsOutput {
        log_groups: Some(
            d.log_groups
                .unwrap_or_default()
                .into_iter()
                .map(|g| LogGroupSummary {
                    log_group_name: g.log_group_name,
                    log_group_arn: g.log_group_arn,
                    log_group_class: g.log_group_class,
                })
                .collect(),
        ),
        next_token: d.next_token,
    })
}

pub fn create_log_stream(ctx: &Context, input: CreateLogStreamInput) -> Result<Empty, AwsError> {
    load_group(&input.log_group_name)?;
    let name = &input.log_stream_name;
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        )));
    }
    let key = keys::join(&[&input.log_group_name, name]);
    if STREAMS.contains(&key) {
        return Err(exists("The specified log stream already exists"));
    }
    let rec = StreamRec {
        info: LogStream {
            log_stream_name: Some(name.clone()),
            creation_time: Some(time::now_millis() as i64),
            arn: Some(format!(
                "{}:log-stream:{name}",
                group_arn(ctx, &input.log_group_name)
            )),
            stored_bytes: Some(0),
            ..Default::default()
        },
        seq: 0,
    };
    STREAMS.put(&key, &rec)?;
    Ok(Empty {})
}

pub fn delete_log_stream(_: &Context, input: DeleteLogStreamInput) -> Result<Empty, AwsError> {
    load_group(&input.log_group_name)?;
    let key = keys::join(&[&input.log_group_name, &input.log_stream_name]);
    if !STREAMS.delete(&key) {
        return Err(not_found("The specified log stream does not exist."));
    }
    crate::events::CHUNKS.delete_range(&Scan::prefix(keys::prefix(&[
        &input.log_group_name,
        &input.log_stream_name,
    ])));
    Ok(Empty {})
}

pub fn describe_log_streams(
    _: &Context,
    input: DescribeLogStreamsInput,
) -> Result<DescribeLogStreamsOutput, AwsError> {
    let group = group_name_of(
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    load_group(&group)?;
    let by_time = input
        .order_by
        .as_ref()
        .is_some_and(|o| *o == "LastEventTime");
    if by_time && input.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let prefix = format!(
        "{}{}",
        keys::prefix(&[&group]),
        input.log_stream_name_prefix.as_deref().unwrap_or("")
    );
    let mut all: Vec<LogStream> = STREAMS
        .values(&prefix)?
        .into_iter()
        .map(|s| s.info)
        .collect();
    if by_time {
        all.sort_by_key(|s| {
            (
                s.last_event_timestamp.unwrap_or(0),
                s.log_stream_name.clone(),
            )
        });
    }
    if input.descending == Some(true) {
        all.reverse();
    }
    let start: usize = match &input.next_token {
        Some(t) => pagination::decode(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(AwsError::invalid_next_token)?,
        None => 0,
    };
    let max = limit(input.limit, 50, 50) as usize;
    let page: Vec<LogStream> = all.iter().skip(start).take(max).cloned().collect();
    let next = (start + max < all.len()).then(|| pagination::encode(&(start + max).to_string()));
    Ok(DescribeLogStreamsOutput {
        log_streams: Some(page),
        next_token: next,
    })
}

pub fn put_retention_policy(
    ctx: &Context,
    input: PutRetentionPolicyInput,
) -> Result<Empty, AwsError> {
    if !RETENTION_DAYS.contains(&input.retention_in_days) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {:?}",
            input.retention_in_days, RETENTION_DAYS
        )));
    }
    let mut g = load_group(&input.log_group_name)?;
    g.info.retention_in_days = Some(input.retention_in_days);
    GROUPS.put(&input.log_group_name, &g)?;
    // The sweep that deletes expired chunks (reads skip them already); one
    // per group (it schedules itself again while the policy is set).
    let payload = serde_json::to_string(&input.log_group_name).unwrap_or_default();
    let scheduled = tasks::list("expire")
        .iter()
        .any(|t| t.payload == payload && t.account == ctx.account && t.region == ctx.region);
    if !scheduled {
        tasks::schedule(Duration::from_secs(60), "expire", &input.log_group_name)?;
    }
    Ok(Empty {})
}

pub fn delete_retention_policy(
    _: &Context,
    input: DeleteRetentionPolicyInput,
) -> Result<Empty, AwsError> {
    let mut g = load_group(&input.log_group_name)?;
    g.info.retention_in_days = None;
    GROUPS.put(&input.log_group_name, &g)?;
    Ok(Empty {})
}

pub fn associate_kms_key(_: &Context, input: AssociateKmsKeyInput) -> Result<Empty, AwsError> {
    let name = group_for_kms(
        input.log_group_name.as_deref(),
        input.resource_identifier.as_deref(),
    )?;
    if !input.kms_key_id.starts_with("arn:") {
        return Err(invalid(format!(
            "Specified KMS key ARN is not valid: {}",
            input.kms_key_id
        )));
    }
    let mut g = load_group(&name)?;
    g.info.kms_key_id = Some(input.kms_key_id);
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

fn group_for_kms(name: Option<&str>, resource: Option<&str>) -> Result<String, AwsError> {
    match (name, resource) {
        (Some(n), _) => Ok(n.to_string()),
        (None, Some(r)) if r.contains(":log-group:") => Ok(name_from_identifier(r)),
        (None, Some(_)) => Err(AwsError::not_implemented(
            "KMS association with query results is not implemented",
        )),
        (None, None) => Err(invalid(
            "Either logGroupName or resourceIdentifier is required.",
        )),
    }
}

pub fn disassociate_kms_key(
    _: &Context,
    input: DisassociateKmsKeyInput,
) -> Result<Empty, AwsError> {
    let name = group_for_kms(
        input.log_group_name.as_deref(),
        input.resource_identifier.as_deref(),
    )?;
    let mut g = load_group(&name)?;
    g.info.kms_key_id = None;
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

pub fn put_deletion_protection(
    _: &Context,
    input: PutLogGroupDeletionProtectionInput,
) -> Result<Empty, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    g.info.deletion_protection_enabled = Some(input.deletion_protection_enabled);
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(invalid("A resource can have no more than 50 tags."));
    }
    Ok(())
}

pub fn tag_log_group(_: &Context, input: TagLogGroupInput) -> Result<Empty, AwsError> {
    let mut g = load_group(&input.log_group_name)?;
    g.tags.extend(input.tags);
    check_tags(&g.tags)?;
    GROUPS.put(&input.log_group_name, &g)?;
    Ok(Empty {})
}

pub fn untag_log_group(_: &Context, input: UntagLogGroupInput) -> Result<Empty, AwsError> {
    let mut g = load_group(&input.log_group_name)?;
    for k in &input.tags {
        g.tags.remove(k);
    }
    GROUPS.put(&input.log_group_name, &g)?;
    Ok(Empty {})
}

pub fn list_tags_log_group(
    _: &Context,
    input: ListTagsLogGroupInput,
) -> Result<ListTagsLogGroupOutput, AwsError> {
    let g = load_group(&input.log_group_name)?;
    Ok(ListTagsLogGroupOutput { tags: Some(g.tags) })
}

/// A taggable resource named by ARN: a log group or a destination.
enum Taggable {
    Group(String),
    Destination(String),
}

fn taggable(arn: &str) -> Result<Taggable, AwsError> {
    if arn.contains(":log-group:") {
        Ok(Taggable::Group(name_from_identifier(arn)))
    } else if let Some((_, name)) = arn.split_once(":destination:") {
        Ok(Taggable::Destination(name.to_string()))
    } else {
        Err(invalid(format!("Invalid resource ARN: {arn}")))
    }
}

fn update_tags(
    arn: &str,
    f: impl FnOnce(&mut BTreeMap<String, String>),
) -> Result<BTreeMap<String, String>, AwsError> {
    match taggable(arn)? {
        Taggable::Group(name) => {
            let mut g = load_group(&name)?;
            f(&mut g.tags);
            check_tags(&g.tags)?;
            GROUPS.put(&name, &g)?;
            Ok(g.tags)
        }
        Taggable::Destination(name) => {
            let mut d = DESTINATIONS
                .get(&name)?
                .ok_or_else(|| not_found("The specified destination does not exist."))?;
            f(&mut d.tags);
            check_tags(&d.tags)?;
            DESTINATIONS.put(&name, &d)?;
            Ok(d.tags)
        }
    }
}

pub fn tag_resource(_: &Context, input: TagResourceInput) -> Result<Empty, AwsError> {
    update_tags(&input.resource_arn, |t| t.extend(input.tags))?;
    Ok(Empty {})
}

pub fn untag_resource(_: &Context, input: UntagResourceInput) -> Result<Empty, AwsError> {
    update_tags(&input.resource_arn, |t| {
        for k in &input.tag_keys {
            t.remove(k);
        }
    })?;
    Ok(Empty {})
}

pub fn list_tags_for_resource(
    _: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    let tags = update_tags(&input.resource_arn, |_| {})?;
    Ok(ListTagsForResourceOutput { tags: Some(tags) })
}

pub fn put_resource_policy(
    _: &Context,
    input: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, AwsError> {
    let name = input
        .policy_name
        .clone()
        .or_else(|| input.resource_arn.clone())
        .ok_or_else(|| invalid("policyName is required."))?;
    let doc = input
        .policy_document
        .clone()
        .ok_or_else(|| invalid("policyDocument is required."))?;
    if serde_json::from_str::<serde_json::Value>(&doc).is_err() {
        return Err(invalid("Policy document is not valid JSON."));
    }
    let old = RESOURCE_POLICIES.get(&name)?;
    if let (Some(expected), Some(old)) = (&input.expected_revision_id, &old)
        && old.revision_id.as_ref() != Some(expected)
    {
        return Err(AwsError::new(
            "OperationAbortedException",
            "The expected revision id does not match the current revision id.",
        )
        .with_status(400));
    }
    if old.is_none() && RESOURCE_POLICIES.count(&Scan::all()) >= 10 {
        return Err(AwsError::limit_exceeded(
            "LimitExceededException",
            "Resource limit exceeded.",
        ));
    }
    let policy = ResourcePolicy {
        policy_name: input.policy_name.clone(),
        policy_document: Some(doc),
        last_updated_time: Some(time::now_millis() as i64),
        policy_scope: Some(if input.resource_arn.is_some() {
            PolicyScope::Resource
        } else {
            PolicyScope::Account
        }),
        resource_arn: input.resource_arn.clone(),
        revision_id: Some(ids::uuid()),
    };
    RESOURCE_POLICIES.put(&name, &policy)?;
    Ok(PutResourcePolicyOutput {
        revision_id: policy.revision_id.clone(),
        resource_policy: Some(policy),
    })
}

pub fn delete_resource_policy(
    _: &Context,
    input: DeleteResourcePolicyInput,
) -> Result<Empty, AwsError> {
    let name = input
        .policy_name
        .or(input.resource_arn)
        .ok_or_else(|| invalid("policyName is required."))?;
    if !RESOURCE_POLICIES.delete(&name) {
        return Err(not_found(&format!(
            "Policy with name [{name}] does not exist"
        )));
    }
    Ok(Empty {})
}

pub fn describe_resource_policies(
    _: &Context,
    input: DescribeResourcePoliciesInput,
) -> Result<DescribeResourcePoliciesOutput, AwsError> {
    let all: Vec<ResourcePolicy> = RESOURCE_POLICIES
        .values("")?
        .into_iter()
        .filter(|p| input.resource_arn.is_none() || p.resource_arn == input.resource_arn)
        .filter(|p| input.policy_scope.is_none() || p.policy_scope == input.policy_scope)
        .collect();
    Ok(DescribeResourcePoliciesOutput {
        resource_policies: Some(all),
        next_token: None,
    })
}

pub fn put_destination(
    ctx: &Context,
    input: PutDestinationInput,
) -> Result<PutDestinationOutput, AwsError> {
    let old = DESTINATIONS.get(&input.destination_name)?;
    let rec = DestinationRec {
        info: Destination {
            destination_name: Some(input.destination_name.clone()),
            target_arn: Some(input.target_arn),
            role_arn: Some(input.role_arn),
            access_policy: old.as_ref().and_then(|o| o.info.access_policy.clone()),
            arn: Some(format!(
                "arn:{}:logs:{}:{}:destination:{}",
                ctx.partition(),
                ctx.region,
                ctx.account,
                input.destination_name
            )),
            creation_time: Some(
                old.as_ref()
                    .and_then(|o| o.info.creation_time)
                    .unwrap_or(time::now_millis() as i64),
            ),
        },
        tags: match (old.as_ref(), input.tags) {
            (_, Some(t)) => t,
            (Some(o), None) => o.tags.clone(),
            (None, None) => BTreeMap::new(),
        },
    };
    DESTINATIONS.put(&input.destination_name, &rec)?;
    Ok(PutDestinationOutput {
        destination: Some(rec.info),
    })
}

pub fn put_destination_policy(
    _: &Context,
    input: PutDestinationPolicyInput,
) -> Result<Empty, AwsError> {
    let mut d = DESTINATIONS
        .get(&input.destination_name)?
        .ok_or_else(|| not_found("The specified destination does not exist."))?;
    d.info.access_policy = Some(input.access_policy);
    DESTINATIONS.put(&input.destination_name, &d)?;
    Ok(Empty {})
}

pub fn delete_destination(_: &Context, input: DeleteDestinationInput) -> Result<Empty, AwsError> {
    if !DESTINATIONS.delete(&input.destination_name) {
        return Err(not_found("The specified destination does not exist."));
    }
    Ok(Empty {})
}

pub fn describe_destinations(
    _: &Context,
    input: DescribeDestinationsInput,
) -> Result<DescribeDestinationsOutput, AwsError> {
    let page = DESTINATIONS.page(
        &Scan::prefix(input.destination_name_prefix.unwrap_or_default()),
        input.next_token.as_deref(),
        limit(input.limit, 50, 50),
    )?;
    Ok(DescribeDestinationsOutput {
        destinations: Some(page.items.into_iter().map(|(_, d)| d.info).collect()),
        next_token: page.next_token,
    })
}

fn check_pattern(p: &str) -> Result<pattern::Pattern, AwsError> {
    pattern::parse(p).map_err(|e| invalid(format!("Invalid metric filter pattern: {e}")))
}

pub fn put_metric_filter(_: &Context, input: PutMetricFilterInput) -> Result<Empty, AwsError> {
    let mut g = load_group(&input.log_group_name)?;
    check_pattern(&input.filter_pattern)?;
    if input.metric_transformations.len() != 1 {
        return Err(invalid("Exactly one metric transformation is required."));
    }
    let t = &input.metric_transformations[0];
    let v = t.metric_value.trim();
    if !(v.starts_with('$') || v.parse::<f64>().is_ok()) {
        return Err(invalid(format!(
            "Invalid metric value: {v}. It must be a number or a $field of the filter pattern."
        )));
    }
    if t.default_value.is_some() && t.dimensions.as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(invalid(
            "A metric transformation with dimensions cannot have a default value.",
        ));
    }
    let key = keys::join(&[&input.log_group_name, &input.filter_name]);
    let old = METRIC_FILTERS.get(&key)?;
    if old.is_none() {
        let n = METRIC_FILTERS.count(&Scan::prefix(keys::prefix(&[&input.log_group_name])));
        if n >= 100 {
            return Err(AwsError::limit_exceeded(
                "LimitExceededException",
                "Resource limit exceeded.",
            ));
        }
        g.info.metric_filter_count = Some(n as i32 + 1);
        GROUPS.put(&input.log_group_name, &g)?;
    }
    let f = MetricFilter {
        filter_name: Some(input.filter_name),
        filter_pattern: Some(input.filter_pattern),
        metric_transformations: Some(input.metric_transformations),
        creation_time: Some(
            old.and_then(|o| o.creation_time)
                .unwrap_or(time::now_millis() as i64),
        ),
        log_group_name: Some(input.log_group_name),
        apply_on_transformed_logs: input.apply_on_transformed_logs,
        field_selection_criteria: input.field_selection_criteria,
        emit_system_field_dimensions: input.emit_system_field_dimensions,
    };
    METRIC_FILTERS.put(&key, &f)?;
    Ok(Empty {})
}

pub fn delete_metric_filter(
    _: &Context,
    input: DeleteMetricFilterInput,
) -> Result<Empty, AwsError> {
    let mut g = load_group(&input.log_group_name)?;
    if !METRIC_FILTERS.delete(&keys::join(&[&input.log_group_name, &input.filter_name])) {
        return Err(not_found("The specified metric filter does not exist."));
    }
    g.info.metric_filter_count = Some(g.info.metric_filter_count.unwrap_or(1).max(1) - 1);
    GROUPS.put(&input.log_group_name, &g)?;
    Ok(Empty {})
}

pub fn describe_metric_filters(
    _: &Context,
    input: DescribeMetricFiltersInput,
) -> Result<DescribeMetricFiltersOutput, AwsError> {
    if input.filter_name_prefix.is_some() && input.log_group_name.is_none() {
        return Err(invalid("filterNamePrefix requires logGroupName."));
    }
    if input.metric_name.is_some() != input.metric_namespace.is_some() {
        return Err(invalid(
            "metricName and metricNamespace must be given together.",
        ));
    }
    let prefix = match &input.log_group_name {
        Some(g) => {
            load_group(g)?;
            format!(
                "{}{}",
                keys::prefix(&[g]),
                input.filter_name_prefix.as_deref().unwrap_or("")
            )
        }
        None => String::new(),
    };
    let all: Vec<MetricFilter> = METRIC_FILTERS
        .values(&prefix)?
        .into_iter()
        .filter(|f| {
            input.metric_name.as_ref().is_none_or(|n| {
                f.metric_transformations.iter().flatten().any(|t| {
                    &t.metric_name == n
                        && Some(&t.metric_namespace) == input.metric_namespace.as_ref()
                })
            })
        })
        .collect();
    let (page, next) = page_vec(all, input.next_token.as_deref(), limit(input.limit, 50, 50))?;
    Ok(DescribeMetricFiltersOutput {
        metric_filters: Some(page),
        next_token: next,
    })
}

/// Index-based pages over an already filtered list.
pub fn page_vec<T>(
    all: Vec<T>,
    token: Option<&str>,
    max: u32,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start: usize = match token {
        Some(t) => pagination::decode(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(AwsError::invalid_next_token)?,
        None => 0,
    };
    let total = all.len();
    let max = max as usize;
    let page: Vec<T> = all.into_iter().skip(start).take(max).collect();
    let next = (start + max < total).then(|| pagination::encode(&(start + max).to_string()));
    Ok((page, next))
}

pub fn test_metric_filter(
    _: &Context,
    input: TestMetricFilterInput,
) -> Result<TestMetricFilterOutput, AwsError> {
    let p = check_pattern(&input.filter_pattern)?;
    let matches = input
        .log_event_messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            p.matches(m).map(|ex| MetricFilterMatchRecord {
                event_number: Some(i as i64 + 1),
                event_message: Some(m.clone()),
                extracted_values: Some(ex),
            })
        })
        .collect();
    Ok(TestMetricFilterOutput {
        matches: Some(matches),
    })
}

pub fn put_subscription_filter(
    ctx: &Context,
    input: PutSubscriptionFilterInput,
) -> Result<Empty, AwsError> {
    load_group(&input.log_group_name)?;
    check_pattern(&input.filter_pattern)?;
    let arn = &input.destination_arn;
    let service = arn.split(':').nth(2).unwrap_or("");
    if !matches!(service, "lambda" | "kinesis" | "firehose" | "logs") {
        return Err(invalid(format!(
            "Could not deliver test message to specified destination. Unsupported destination ARN: {arn}"
        )));
    }
    if service == "logs"
        && arn.split(':').nth(4) == Some(ctx.account.as_str())
        && !DESTINATIONS.contains(arn.rsplit(':').next().unwrap_or(""))
    {
        return Err(not_found("The specified destination does not exist."));
    }
    let key = keys::join(&[&input.log_group_name, &input.filter_name]);
    let old = SUBSCRIPTIONS.get(&key)?;
    if old.is_none()
        && SUBSCRIPTIONS.count(&Scan::prefix(keys::prefix(&[&input.log_group_name]))) >= 2
    {
        return Err(AwsError::limit_exceeded(
            "LimitExceededException",
            "Resource limit exceeded.",
        ));
    }
    let f = SubscriptionFilter {
        filter_name: Some(input.filter_name),
        log_group_name: Some(input.log_group_name),
        filter_pattern: Some(input.filter_pattern),
        destination_arn: Some(input.destination_arn),
        role_arn: input.role_arn,
        distribution: Some(input.distribution.unwrap_or(Distribution::ByLogStream)),
        apply_on_transformed_logs: input.apply_on_transformed_logs,
        creation_time: Some(
            old.and_then(|o| o.creation_time)
                .unwrap_or(time::now_millis() as i64),
        ),
        field_selection_criteria: input.field_selection_criteria,
        emit_system_fields: input.emit_system_fields,
    };
    SUBSCRIPTIONS.put(&key, &f)?;
    Ok(Empty {})
}

pub fn delete_subscription_filter(
    _: &Context,
    input: DeleteSubscriptionFilterInput,
) -> Result<Empty, AwsError> {
    load_group(&input.log_group_name)?;
    if !SUBSCRIPTIONS.delete(&keys::join(&[&input.log_group_name, &input.filter_name])) {
        return Err(not_found(
            "The specified subscription filter does not exist.",
        ));
    }
    Ok(Empty {})
}

pub fn describe_subscription_filters(
    _: &Context,
    input: DescribeSubscriptionFiltersInput,
) -> Result<DescribeSubscriptionFiltersOutput, AwsError> {
    load_group(&input.log_group_name)?;
    let prefix = format!(
        "{}{}",
        keys::prefix(&[&input.log_group_name]),
        input.filter_name_prefix.as_deref().unwrap_or("")
    );
    let all = SUBSCRIPTIONS.values(&prefix)?;
    let (page, next) = page_vec(all, input.next_token.as_deref(), limit(input.limit, 50, 50))?;
    Ok(DescribeSubscriptionFiltersOutput {
        subscription_filters: Some(page),
        next_token: next,
    })
}
