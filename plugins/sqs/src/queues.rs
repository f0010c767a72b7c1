//! Queues: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, queue
//! attributes, tags, permissions and ListDeadLetterSourceQueues.

use std::collections::BTreeMap;
use std::rc::Rc;

use ministack_sdk::prelude::*;
use ministack_sdk::store::ParseCache;
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::checks::{int_in, parse_queue_url, valid_queue_name};
use crate::messages::{self, MESSAGES};

/// A queue, per account and region, keyed by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Queue {
    pub name: String,
    pub created: u64,
    pub modified: u64,
    /// Settable attributes, always complete (defaults filled in).
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Next FIFO sequence number.
    #[serde(default)]
    pub sequence: u64,
    /// The oldest `sent` of the messages moved in (dead-letter moves,
    /// redrives). Their row keys follow the move, not their age, so the
    /// first row is not always the oldest message: `counts` needs both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_sent_min: Option<f64>,
}

impl Queue {
    pub fn fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
    pub fn attr_i64(&self, name: &str, default: i64) -> i64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    pub fn arn(&self, ctx: &Context) -> String {
        ctx.arn("sqs", &self.name).to_string()
    }
    pub fn url(&self, ctx: &Context) -> String {
        queue_url(ctx, &ctx.account, &self.name)
    }
}

pub const QUEUES: Table<Queue> = Table::new("queues");

pub fn queue_url(ctx: &Context, account: &str, name: &str) -> String {
    format!(
        "{}/{}/{}",
        ctx.endpoint.trim_end_matches('/'),
        account,
        name
    )
}

pub fn no_queue() -> AwsError {
    AwsError::new(
        "QueueDoesNotExist",
        "The specified queue does not exist for this wsdl version.",
    )
}

thread_local! {
    /// Most requests name the queue the previous one did, and decoding its
    /// record was ~13 % of a SendMessage.
    static LOADED: ParseCache<Queue> = const { ParseCache::new() };
}

/// The queue a QueueUrl names (in the caller's account and region),
/// shared with the cache: a caller that changes it clones it
/// (`Rc::unwrap_or_clone`, `Rc::make_mut`).
pub fn load(url: &str) -> Result<Rc<Queue>, AwsError> {
    let (_, name) = parse_queue_url(url).ok_or_else(no_queue)?;
    QUEUES.get_cached(&name, &LOADED)?.ok_or_else(no_queue)
}

const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("VisibilityTimeout", "30"),
        ("SqsManagedSseEnabled", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if fifo {
        m.insert("FifoQueue".into(), "true".into());
        m.insert("ContentBasedDeduplication".into(), "false".into());
        m.insert("DeduplicationScope".into(), "queue".into());
        m.insert("FifoThroughputLimit".into(), "perQueue".into());
    }
    m
}

fn invalid_value(name: &str) -> AwsError {
    AwsError::new(
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}."),
    )
}

/// Validates and normalizes attributes a caller sets.
fn check_attributes(
    ctx: &Context,
    attrs: &BTreeMap<String, String>,
    fifo: bool,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    for (k, v) in attrs {
        if !SETTABLE.contains(&k.as_str()) {
            return Err(AwsError::new(
                "InvalidAttributeName",
                format!("Unknown Attribute {k}."),
            ));
        }
        let ok = match k.as_str() {
            "DelaySeconds" => int_in(v, 0, 900).is_some(),
            "MaximumMessageSize" => int_in(v, 1024, 1_048_576).is_some(),
            "MessageRetentionPeriod" => int_in(v, 60, 1_209_600).is_some(),
            "ReceiveMessageWaitTimeSeconds" => int_in(v, 0, 20).is_some(),
            "VisibilityTimeout" => int_in(v, 0, 43_200).is_some(),
            "KmsDataKeyReusePeriodSeconds" => int_in(v, 60, 86_400).is_some(),
            "SqsManagedSseEnabled" => v == "true" || v == "false",
            "FifoQueue" => (v == "true") == fifo && (v == "true" || v == "false"),
            "ContentBasedDeduplication" => fifo && (v == "true" || v == "false"),
            "DeduplicationScope" => fifo && (v == "queue" || v == "messageGroup"),
            "FifoThroughputLimit" => fifo && (v == "perQueue" || v == "perMessageGroupId"),
            "Policy" | "RedriveAllowPolicy" => {
                v.is_empty() || serde_json::from_str::<Value>(v).is_ok()
            }
            "RedrivePolicy" => {
                if !v.is_empty() {
                    check_redrive(ctx, v)?;
                }
                true
            }
            _ => true,
        };
        if !ok {
            return Err(invalid_value(k));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// A RedrivePolicy names a queue ARN of this region (and a receive count
/// from 1 to 1000).
fn check_redrive(ctx: &Context, v: &str) -> Result<(), AwsError> {
    let invalid = |why: &str| {
        AwsError::new(
            "InvalidParameterValue",
            format!("Value {v} for parameter RedrivePolicy is invalid. Reason: {why}"),
        )
    };
    let (arn, _) = parse_redrive(v).ok_or_else(|| {
        invalid(
            "Redrive policy is not a valid JSON map of deadLetterTargetArn and maxReceiveCount.",
        )
    })?;
    let target = Arn::parse(&arn)
        .filter(|a| a.service == "sqs" && !a.resource.is_empty() && !a.account.is_empty())
        .ok_or_else(|| invalid("Invalid value for deadLetterTargetArn."))?;
    if target.region != ctx.region {
        return Err(invalid(
            "Dead-letter target must be in the same region as the source queue.",
        ));
    }
    Ok(())
}

/// Tags with a null value are refused before any is applied.
fn check_tag_values(
    tags: BTreeMap<String, Option<String>>,
) -> Result<BTreeMap<String, String>, AwsError> {
    tags.into_iter()
        .map(|(k, v)| {
            v.map(|v| (k.clone(), v)).ok_or_else(|| {
                AwsError::new(
                    "InvalidParameterValue",
                    format!("Tag value for key '{k}' must not be null."),
                )
            })
        })
        .collect()
}

/// (deadLetterTargetArn, maxReceiveCount) of a RedrivePolicy.
pub fn parse_redrive(v: &str) -> Option<(String, i64)> {
    let p: Value = serde_json::from_str(v).ok()?;
    let arn = p.get("deadLetterTargetArn")?.as_str()?.to_string();
    let max = match p.get("maxReceiveCount")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    (1..=1000).contains(&max).then_some((arn, max))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueRequest {
    queue_name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default, rename = "tags")]
    tags: BTreeMap<String, Option<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlResult {
    queue_url: String,
}

pub fn create_queue(ctx: &Context, input: CreateQueueRequest) -> Result<QueueUrlResult, AwsError> {
    let name = input.queue_name;
    if !valid_queue_name(&name) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let fifo = name.ends_with(".fifo");
    if input.attributes.get("FifoQueue").map(String::as_str) == Some("true") && !fifo {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    let given = check_attributes(ctx, &input.attributes, fifo)?;
    let tags = check_tag_values(input.tags)?;
    let mut attributes = defaults(fifo);
    attributes.extend(given.clone());
    if let Some(existing) = QUEUES.get(&name)? {
        let same = given
            .iter()
            .all(|(k, v)| existing.attributes.get(k) == Some(v));
        if !same {
            return Err(AwsError::new(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for attribute(s)",
            ));
        }
        return Ok(QueueUrlResult {
            queue_url: existing.url(ctx),
        });
    }
    let now = time::now_secs();
    let queue = Queue {
        name: name.clone(),
        created: now,
        modified: now,
        attributes,
        tags,
        sequence: 0,
        moved_sent_min: None,
    };
    QUEUES.put(&name, &queue)?;
    Ok(QueueUrlResult {
        queue_url: queue.url(ctx),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlRequest {
    queue_name: String,
    #[serde(default, rename = "QueueOwnerAWSAccountId")]
    owner: Option<String>,
}

pub fn get_queue_url(ctx: &Context, input: GetQueueUrlRequest) -> Result<QueueUrlResult, AwsError> {
    if let Some(owner) = input.owner.filter(|o| *o != ctx.account) {
        // Ask the owner's account (queue policies are not evaluated).
        return ministack_sdk::services::call(
            &ministack_sdk::services::Target::at("sqs", &owner, &ctx.region),
            "GetQueueUrl",
            &serde_json::json!({"QueueName": input.queue_name}),
        )
        .map(|v: serde_json::Value| QueueUrlResult {
            queue_url: v["QueueUrl"].as_str().unwrap_or_default().to_string(),
        });
    }
    let q = QUEUES.get(&input.queue_name)?.ok_or_else(no_queue)?;
    Ok(QueueUrlResult {
        queue_url: q.url(ctx),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesRequest {
    queue_name_prefix: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_queues(ctx: &Context, input: ListQueuesRequest) -> Result<ListQueuesResult, AwsError> {
    let prefix = input.queue_name_prefix.unwrap_or_default();
    let scan = Scan::prefix(prefix.clone());
    let (items, next_token) = match input.max_results {
        Some(n) => {
            if !(1..=1000).contains(&n) {
                return Err(AwsError::new(
                    "InvalidParameterValue",
                    "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
                ));
            }
            let page = QUEUES.page(&scan, input.next_token.as_deref(), n as u32)?;
            (page.items, page.next_token)
        }
        None => (QUEUES.scan(&scan.limit(1000))?, None),
    };
    let urls: Vec<String> = items.iter().map(|(_, q)| q.url(ctx)).collect();
    Ok(ListQueuesResult {
        queue_urls: (!urls.is_empty()).then_some(urls),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlRequest {
    pub queue_url: String,
}

pub fn delete_queue(_ctx: &Context, input: QueueUrlRequest) -> Result<Empty, AwsError> {
    let q = load(&input.queue_url)?;
    QUEUES.delete(&q.name);
    MESSAGES.delete_range(&Scan::prefix(keys::prefix(&[&q.name])));
    messages::BY_VISIBILITY.delete_range(&Scan::prefix(keys::prefix(&[&q.name])));
    messages::DEDUP.delete_range(&Scan::prefix(keys::prefix(&[&q.name])));
    Ok(Empty::default())
}

pub fn purge_queue(_ctx: &Context, input: QueueUrlRequest) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    if q.moved_sent_min.take().is_some() {
        QUEUES.put(&q.name, &q)?;
    }
    MESSAGES.delete_range(&Scan::prefix(keys::prefix(&[&q.name])));
    messages::BY_VISIBILITY.delete_range(&Scan::prefix(keys::prefix(&[&q.name])));
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesRequest {
    queue_url: String,
    #[serde(default)]
    attribute_names: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

/// Counts of (visible, in flight, delayed) messages. While no message can
/// have outlived the retention period, they come from the visibility index:
/// the visible ones counted by the store without reading a row, and only
/// the rows not visible now read (in flight or delayed), so a deep backlog
/// costs no more than an empty queue. Otherwise every row is read, and the
/// expired ones are left out.
fn counts(q: &Queue) -> Result<(u64, u64, u64), AwsError> {
    let now = time::now();
    let retention = q.attr_i64("MessageRetentionPeriod", 345_600) as f64;
    let prefix = keys::prefix(&[&q.name]);
    // Rows are keyed in the order sent (time or FIFO sequence): the first
    // is the oldest, but for the ones moved in.
    let first = MESSAGES.scan(&Scan::prefix(prefix.clone()).limit(1))?;
    let oldest = first
        .first()
        .map(|(_, m)| m.sent)
        .into_iter()
        .chain(q.moved_sent_min)
        .fold(f64::INFINITY, f64::min);
    if oldest + retention <= now {
        return counts_by_rows(q, now, retention);
    }
    let hidden_from = messages::hidden_from(&q.name, now);
    let visible =
        messages::BY_VISIBILITY.count(&Scan::prefix(prefix.clone()).to(hidden_from.clone()));
    let (mut inflight, mut delayed) = (0, 0);
    let hidden = Scan::prefix(prefix).from(hidden_from);
    messages::BY_VISIBILITY.scan_pages(&hidden, 1_000, |page| {
        for (key, ()) in page {
            let Some(order) = keys::split(&key).get(2).copied() else {
                continue;
            };
            match MESSAGES.get(&keys::join(&[&q.name, order]))? {
                Some(m) if m.receive_count > 0 => inflight += 1,
                Some(_) => delayed += 1,
                None => {}
            }
        }
        Ok(true)
    })?;
    Ok((visible, inflight, delayed))
}

/// [`counts`] by reading every row: some messages may have expired (they
/// are dropped at the next receive, and not counted meanwhile).
fn counts_by_rows(q: &Queue, now: f64, retention: f64) -> Result<(u64, u64, u64), AwsError> {
    let (mut visible, mut inflight, mut delayed) = (0, 0, 0);
    // In pages: a deep queue (100k messages) read at once would not fit
    // the plugin's memory.
    MESSAGES.scan_pages(&Scan::prefix(keys::prefix(&[&q.name])), 1_000, |page| {
        for (_, m) in page {
            if m.sent + retention <= now {
                // Expired: dropped at the next receive.
            } else if m.visible_at <= now {
                visible += 1;
            } else if m.receive_count > 0 {
                inflight += 1;
            } else {
                delayed += 1;
            }
        }
        Ok(true)
    })?;
    Ok((visible, inflight, delayed))
}

pub fn get_queue_attributes(
    ctx: &Context,
    input: GetQueueAttributesRequest,
) -> Result<AttributesResult, AwsError> {
    let q = load(&input.queue_url)?;
    let all = input.attribute_names.iter().any(|n| n == "All");
    for n in &input.attribute_names {
        if n != "All" && !SETTABLE.contains(&n.as_str()) && !COMPUTED.contains(&n.as_str()) {
            return Err(AwsError::new(
                "InvalidAttributeName",
                format!("Unknown Attribute {n}."),
            ));
        }
    }
    let wanted = |n: &str| all || input.attribute_names.iter().any(|x| x == n);
    let mut out = BTreeMap::new();
    for (k, v) in &q.attributes {
        if wanted(k) && !(v.is_empty() && (k == "Policy" || k == "RedrivePolicy")) {
            out.insert(k.clone(), v.clone());
        }
    }
    if COMPUTED[..3].iter().any(|n| wanted(n)) {
        let (visible, inflight, delayed) = counts(&q)?;
        for (n, v) in COMPUTED[..3].iter().zip([visible, inflight, delayed]) {
            if wanted(n) {
                out.insert(n.to_string(), v.to_string());
            }
        }
    }
    if wanted("CreatedTimestamp") {
        out.insert("CreatedTimestamp".into(), q.created.to_string());
    }
    if wanted("LastModifiedTimestamp") {
        out.insert("LastModifiedTimestamp".into(), q.modified.to_string());
    }
    if wanted("QueueArn") {
        out.insert("QueueArn".into(), q.arn(ctx));
    }
    Ok(AttributesResult { attributes: out })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesRequest {
    queue_url: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

pub fn set_queue_attributes(
    ctx: &Context,
    input: SetQueueAttributesRequest,
) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    if input.attributes.contains_key("FifoQueue") {
        return Err(AwsError::new(
            "InvalidAttributeName",
            "Unknown Attribute FifoQueue.",
        ));
    }
    let given = check_attributes(ctx, &input.attributes, q.fifo())?;
    q.attributes.extend(given);
    q.modified = time::now_secs();
    QUEUES.put(&q.name, &q)?;
    Ok(Empty::default())
}

// ---- tags ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueRequest {
    queue_url: String,
    tags: BTreeMap<String, Option<String>>,
}

pub fn tag_queue(_ctx: &Context, input: TagQueueRequest) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    q.tags.extend(check_tag_values(input.tags)?);
    if q.tags.len() > 50 {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "Too many tags added for queue. Maximum tags per queue is 50.",
        ));
    }
    QUEUES.put(&q.name, &q)?;
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueRequest {
    queue_url: String,
    tag_keys: Vec<String>,
}

pub fn untag_queue(_ctx: &Context, input: UntagQueueRequest) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    for k in &input.tag_keys {
        q.tags.remove(k);
    }
    QUEUES.put(&q.name, &q)?;
    Ok(Empty::default())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

pub fn list_queue_tags(
    _ctx: &Context,
    input: QueueUrlRequest,
) -> Result<ListQueueTagsResult, AwsError> {
    let q = load(&input.queue_url)?;
    Ok(ListQueueTagsResult {
        tags: q.tags.clone(),
    })
}

// ---- permissions ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    queue_url: String,
    label: String,
    #[serde(rename = "AWSAccountIds")]
    aws_account_ids: Vec<String>,
    actions: Vec<String>,
}

fn policy_of(q: &Queue, ctx: &Context) -> Value {
    q.attributes
        .get("Policy")
        .filter(|p| !p.is_empty())
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| {
            json!({"Version": "2012-10-17", "Id": format!("{}/SQSDefaultPolicy", q.arn(ctx)), "Statement": []})
        })
}

pub fn add_permission(ctx: &Context, input: AddPermissionRequest) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    if input.aws_account_ids.is_empty() || input.actions.is_empty() {
        return Err(AwsError::new(
            "MissingParameter",
            "The request must contain the parameter Actions and AWSAccountIds.",
        ));
    }
    let mut policy = policy_of(&q, ctx);
    let statements = policy["Statement"]
        .as_array_mut()
        .ok_or_else(|| AwsError::new("InvalidParameterValue", "The queue policy is malformed."))?;
    if statements.iter().any(|s| s["Sid"] == input.label.as_str()) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            format!(
                "Value {} for parameter Label is invalid. Reason: Already exists.",
                input.label
            ),
        ));
    }
    let principals: Vec<String> = input
        .aws_account_ids
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:root"))
        .collect();
    let actions: Vec<String> = input.actions.iter().map(|a| format!("SQS:{a}")).collect();
    statements.push(json!({
        "Sid": input.label,
        "Effect": "Allow",
        "Principal": {"AWS": if principals.len() == 1 { json!(principals[0]) } else { json!(principals) }},
        "Action": if actions.len() == 1 { json!(actions[0]) } else { json!(actions) },
        "Resource": q.arn(ctx),
    }));
    q.attributes.insert("Policy".into(), policy.to_string());
    QUEUES.put(&q.name, &q)?;
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionRequest {
    queue_url: String,
    label: String,
}

pub fn remove_permission(ctx: &Context, input: RemovePermissionRequest) -> Result<Empty, AwsError> {
    let mut q = Rc::unwrap_or_clone(load(&input.queue_url)?);
    let mut policy = policy_of(&q, ctx);
    let statements = policy["Statement"].as_array_mut();
    let found = match statements {
        Some(s) => {
            let before = s.len();
            s.retain(|st| st["Sid"] != input.label.as_str());
            before != s.len()
        }
        None => false,
    };
    if !found {
        return Err(AwsError::new(
            "InvalidParameterValue",
            format!(
                "Value {} for parameter Label is invalid. Reason: can't find label on existing policy.",
                input.label
            ),
        ));
    }
    if policy["Statement"].as_array().is_some_and(|s| s.is_empty()) {
        q.attributes.remove("Policy");
    } else {
        q.attributes.insert("Policy".into(), policy.to_string());
    }
    QUEUES.put(&q.name, &q)?;
    Ok(Empty::default())
}

// ---- dead-letter sources ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesRequest {
    queue_url: String,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesResult {
    #[serde(rename = "queueUrls")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_dead_letter_source_queues(
    ctx: &Context,
    input: ListDeadLetterSourceQueuesRequest,
) -> Result<ListDeadLetterSourceQueuesResult, AwsError> {
    let dlq = load(&input.queue_url)?;
    let arn = dlq.arn(ctx);
    let limit = input.max_results.unwrap_or(1000).clamp(1, 1000) as usize;
    let after = input.next_token.unwrap_or_default();
    let mut urls = Vec::new();
    let mut next_token = None;
    for (name, q) in QUEUES.scan(&Scan::all())? {
        if !after.is_empty() && name <= after {
            continue;
        }
        let is_source = q
            .attributes
            .get("RedrivePolicy")
            .and_then(|p| parse_redrive(p))
            .is_some_and(|(target, _)| target == arn);
        if is_source {
            if urls.len() == limit {
                next_token = Some(urls_last_name(&urls));
                break;
            }
            urls.push(q.url(ctx));
        }
    }
    Ok(ListDeadLetterSourceQueuesResult {
        queue_urls: urls,
        next_token,
    })
}

fn urls_last_name(urls: &[String]) -> String {
    urls.last()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default()
        .to_string()
}
