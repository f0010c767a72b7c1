//! Publish and PublishBatch, and delivery to each subscription.
//!
//! SQS, Lambda and Firehose are called through `services.call` before
//! Publish returns (SQS: in the queue's own account and region). HTTP/HTTPS
//! POSTs run as scheduled tasks (`deliver-http`), so a slow endpoint does
//! not hold Publish; a failed POST is retried three times, a second apart.
//! email, email-json, sms and application deliveries are recorded (see
//! `inspect`).

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, hash, http, ids, tasks, time};
use serde_json::{Map, Value, json};

use crate::filter::{self, Attribute};
use crate::inspect::{self, Delivery};
use crate::mobile;
use crate::model::*;

/// Largest message, attributes included (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// FIFO deduplication interval.
pub const DEDUP_SECONDS: f64 = 300.0;
pub const DELIVER_HTTP: &str = "deliver-http";
const HTTP_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    topic_arn: Option<String>,
    target_arn: Option<String>,
    phone_number: Option<String>,
    message: String,
    subject: Option<String>,
    message_structure: Option<String>,
    #[serde(default)]
    message_attributes: BTreeMap<String, MessageAttributeValue>,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishOutput {
    message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

fn value_error(message: impl Into<String>) -> AwsError {
    AwsError::new("ParameterValueInvalid", message)
}

/// Checks message attributes as SNS does (ParameterValueInvalid).
pub fn check_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<(), AwsError> {
    if attributes.len() > 10 {
        return Err(value_error(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attributes.len()
        )));
    }
    for (name, v) in attributes {
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..");
        if !name_ok {
            return Err(value_error(format!(
                "Invalid attribute name {name}: attribute names can only contain alphanumeric characters, hyphens, underscores and periods"
            )));
        }
        let base = v.data_type.split('.').next().unwrap_or("");
        if !matches!(base, "String" | "Number" | "Binary") || v.data_type.len() > 256 {
            return Err(value_error(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        match base {
            "Binary" => {
                if v.binary_value.as_deref().is_none_or(str::is_empty) {
                    return Err(value_error(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
                        v.data_type
                    )));
                }
            }
            _ => {
                let Some(s) = v.string_value.as_deref().filter(|s| !s.is_empty()) else {
                    return Err(value_error(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
                        v.data_type
                    )));
                };
                if base == "Number"
                    && s.trim()
                        .parse::<f64>()
                        .map(|n| !n.is_finite())
                        .unwrap_or(true)
                {
                    return Err(value_error(format!(
                        "Could not cast message attribute '{name}' value to number."
                    )));
                }
                if v.data_type == "String.Array"
                    && !matches!(serde_json::from_str::<Value>(s), Ok(Value::Array(_)))
                {
                    return Err(value_error(format!(
                        "Invalid value for message attribute '{name}' of type String.Array: must be a JSON array"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn attributes_size(attributes: &BTreeMap<String, MessageAttributeValue>) -> usize {
    attributes
        .iter()
        .map(|(k, v)| {
            k.len()
                + v.data_type.len()
                + v.string_value.as_ref().map_or(0, String::len)
                + v.binary_value
                    .as_ref()
                    .and_then(|b| encoding::base64_decode(b))
                    .map_or(0, |b| b.len())
        })
        .sum()
}

/// Checks the parts of a message every target shares; returns the
/// per-protocol messages for MessageStructure=json.
pub fn check_message(
    message: &str,
    subject: Option<&str>,
    structure: Option<&str>,
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<Option<Map<String, Value>>, AwsError> {
    if message.is_empty() {
        return Err(invalid("Invalid parameter: Empty message"));
    }
    if message.len() + attributes_size(attributes) > MAX_MESSAGE_BYTES {
        return Err(invalid("Invalid parameter: Message too long"));
    }
    if let Some(s) = subject {
        let ok = !s.trim().is_empty()
            && s.chars().count() <= 100
            && s.chars()
                .all(|c| !c.is_control() && (c.is_ascii() || c.is_alphanumeric()));
        if !ok {
            return Err(invalid("Invalid parameter: Subject"));
        }
    }
    check_attributes(attributes)?;
    match structure {
        None => Ok(None),
        Some("json") => {
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(message) else {
                return Err(invalid(
                    "Invalid parameter: Message Structure - JSON message body failed to parse",
                ));
            };
            if !map.get("default").is_some_and(Value::is_string) {
                return Err(invalid(
                    "Invalid parameter: Message Structure - No default entry in JSON message body",
                ));
            }
            Ok(Some(map))
        }
        Some(other) => Err(invalid(format!(
            "Invalid parameter: MessageStructure Reason: {other} is not a valid value"
        ))),
    }
}

/// A message ready for fan-out.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub message_id: String,
    pub message: String,
    pub per_protocol: Option<Map<String, Value>>,
    pub subject: Option<String>,
    pub attributes: BTreeMap<String, MessageAttributeValue>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
    pub timestamp: f64,
    /// A FIFO duplicate inside the deduplication interval: not delivered.
    pub duplicate: bool,
}

impl Outgoing {
    /// The message a protocol gets (MessageStructure=json picks its key).
    pub fn message_for(&self, protocol: &str) -> String {
        match &self.per_protocol {
            None => self.message.clone(),
            Some(map) => map
                .get(protocol)
                .or_else(|| map.get("default"))
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default(),
        }
    }
}

/// Validates one message for `topic` and assigns its id, FIFO sequence
/// number and deduplication (writes the topic's sequence and dedup rows).
pub fn prepare(topic: &mut Topic, input: &PublishInput) -> Result<Outgoing, AwsError> {
    let per_protocol = check_message(
        &input.message,
        input.subject.as_deref(),
        input.message_structure.as_deref(),
        &input.message_attributes,
    )?;
    let mut out = Outgoing {
        message_id: ids::uuid(),
        message: input.message.clone(),
        per_protocol,
        subject: input.subject.clone(),
        attributes: input.message_attributes.clone(),
        group_id: input.message_group_id.clone(),
        timestamp: time::now(),
        ..Default::default()
    };
    if !topic.fifo() {
        if input.message_deduplication_id.is_some() {
            return Err(invalid(
                "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        return Ok(out);
    }
    let Some(group) = input.message_group_id.as_deref() else {
        return Err(invalid(
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
        ));
    };
    check_fifo_id("MessageGroupId", group)?;
    let dedup_id = match input.message_deduplication_id.as_deref() {
        Some(id) => {
            check_fifo_id("MessageDeduplicationId", id)?;
            id.to_string()
        }
        None if topic.content_based_dedup() => hash::sha256_hex(input.message.as_bytes()),
        None => {
            return Err(invalid(
                "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    };
    out.dedup_id = Some(dedup_id.clone());
    let key = keys::join(&[&topic.name, &dedup_id]);
    if let Some(seen) = DEDUP.get(&key)?
        && out.timestamp - seen.at < DEDUP_SECONDS
    {
        out.message_id = seen.message_id;
        out.sequence_number = Some(seen.sequence_number);
        out.duplicate = true;
        return Ok(out);
    }
    topic.sequence += 1;
    let sequence = format!("{:020}", 10_000_000_000_000_000_000u64 + topic.sequence);
    out.sequence_number = Some(sequence.clone());
    DEDUP.put(
        &key,
        &Dedup {
            message_id: out.message_id.clone(),
            sequence_number: sequence,
            at: out.timestamp,
        },
    )?;
    Ok(out)
}

fn check_fifo_id(name: &str, value: &str) -> Result<(), AwsError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid parameter: {name} Reason: {name} can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

pub fn publish(ctx: &Context, input: PublishInput) -> Result<PublishOutput, AwsError> {
    let targets = [&input.topic_arn, &input.target_arn, &input.phone_number]
        .iter()
        .filter(|t| t.as_deref().is_some_and(|s| !s.is_empty()))
        .count();
    if targets == 0 {
        return Err(invalid(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
        ));
    }
    if targets > 1 {
        return Err(invalid(
            "Invalid parameter: TopicArn Reason: Only one of TopicArn, TargetArn or PhoneNumber may be set",
        ));
    }
    if let Some(phone) = input.phone_number.as_deref().filter(|s| !s.is_empty()) {
        check_message(
            &input.message,
            input.subject.as_deref(),
            None,
            &input.message_attributes,
        )?;
        return crate::sms::publish_sms(ctx, phone, &input.message).map(|message_id| {
            PublishOutput {
                message_id,
                sequence_number: None,
            }
        });
    }
    let arn = input
        .topic_arn
        .clone()
        .or_else(|| input.target_arn.clone())
        .unwrap_or_default();
    if input.target_arn.is_some()
        && Arn::parse(&arn).is_some_and(|a| a.resource.starts_with("endpoint/"))
    {
        let per_protocol = check_message(
            &input.message,
            input.subject.as_deref(),
            input.message_structure.as_deref(),
            &input.message_attributes,
        )?;
        let out = Outgoing {
            message_id: ids::uuid(),
            message: input.message.clone(),
            per_protocol,
            subject: input.subject.clone(),
            attributes: input.message_attributes.clone(),
            timestamp: time::now(),
            ..Default::default()
        };
        mobile::publish_to_endpoint(ctx, &arn, &out, None)?;
        return Ok(PublishOutput {
            message_id: out.message_id,
            sequence_number: None,
        });
    }
    let name = topic_name(ctx, &arn)?;
    let mut topic = TOPICS.get(&name)?.ok_or_else(|| not_found("Topic"))?;
    let out = prepare(&mut topic, &input)?;
    if topic.fifo() {
        // The sequence number moved (standard topics are not rewritten, so
        // concurrent publishes do not conflict on the topic row).
        TOPICS.put(&name, &topic)?;
    }
    if !out.duplicate {
        fan_out(ctx, &topic, &out)?;
    }
    Ok(PublishOutput {
        message_id: out.message_id,
        sequence_number: out.sequence_number,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchEntry {
    id: String,
    message: String,
    subject: Option<String>,
    message_structure: Option<String>,
    #[serde(default)]
    message_attributes: BTreeMap<String, MessageAttributeValue>,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchInput {
    topic_arn: String,
    publish_batch_request_entries: Vec<BatchEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSuccess {
    id: String,
    message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailure {
    id: String,
    code: String,
    message: String,
    sender_fault: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchOutput {
    successful: Vec<BatchSuccess>,
    failed: Vec<BatchFailure>,
}

pub fn publish_batch(
    ctx: &Context,
    input: PublishBatchInput,
) -> Result<PublishBatchOutput, AwsError> {
    let name = topic_name(ctx, &input.topic_arn)?;
    let mut topic = TOPICS.get(&name)?.ok_or_else(|| not_found("Topic"))?;
    let entries = input.publish_batch_request_entries;
    if entries.is_empty() {
        return Err(AwsError::new(
            "EmptyBatchRequest",
            "The batch request doesn't contain any entries",
        ));
    }
    if entries.len() > 10 {
        return Err(AwsError::new(
            "TooManyEntriesInBatchRequest",
            "The batch request contains more entries than permissible",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in &entries {
        let id_ok = !e.id.is_empty()
            && e.id.len() <= 80
            && e.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(AwsError::new(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(e.id.clone()) {
            return Err(AwsError::new(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id",
            ));
        }
    }
    let total: usize = entries
        .iter()
        .map(|e| e.message.len() + attributes_size(&e.message_attributes))
        .sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(AwsError::new(
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit.",
        ));
    }
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    let mut ready = Vec::new();
    for e in entries {
        let single = PublishInput {
            topic_arn: Some(input.topic_arn.clone()),
            message: e.message,
            subject: e.subject,
            message_structure: e.message_structure,
            message_attributes: e.message_attributes,
            message_deduplication_id: e.message_deduplication_id,
            message_group_id: e.message_group_id,
            ..Default::default()
        };
        match prepare(&mut topic, &single) {
            Ok(out) => {
                successful.push(BatchSuccess {
                    id: e.id,
                    message_id: out.message_id.clone(),
                    sequence_number: out.sequence_number.clone(),
                });
                if !out.duplicate {
                    ready.push(out);
                }
            }
            Err(err) => failed.push(BatchFailure {
                id: e.id,
                code: err.code,
                message: err.message,
                sender_fault: true,
            }),
        }
    }
    if topic.fifo() {
        TOPICS.put(&name, &topic)?;
    }
    for out in &ready {
        fan_out(ctx, &topic, out)?;
    }
    Ok(PublishBatchOutput { successful, failed })
}

/// The attributes a filter policy sees.
fn filter_attributes(out: &Outgoing) -> BTreeMap<String, Attribute> {
    out.attributes
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Attribute {
                    data_type: v.data_type.clone(),
                    value: v
                        .string_value
                        .clone()
                        .or_else(|| v.binary_value.clone())
                        .unwrap_or_default(),
                },
            )
        })
        .collect()
}

/// Whether the subscription's filter policy lets the message through.
pub fn passes_filter(sub: &Subscription, out: &Outgoing) -> bool {
    let Some(policy) = sub.attributes.get("FilterPolicy").filter(|p| !p.is_empty()) else {
        return true;
    };
    let body_scope =
        sub.attributes.get("FilterPolicyScope").map(String::as_str) == Some("MessageBody");
    match filter::parse(policy, body_scope) {
        Ok(p) if body_scope => p.matches_body(&out.message_for(&sub.protocol)),
        Ok(p) => p.matches_attributes(&filter_attributes(out)),
        Err(_) => false,
    }
}

/// Delivers to every confirmed subscription whose filter matches.
pub fn fan_out(ctx: &Context, topic: &Topic, out: &Outgoing) -> Result<(), AwsError> {
    let subs = SUBSCRIPTIONS.values(&keys::prefix(&[&topic.name]))?;
    for sub in subs.iter().filter(|s| !s.pending) {
        if !passes_filter(sub, out) {
            continue;
        }
        if let Err(e) = deliver(ctx, topic, sub, out) {
            ministack_sdk::warn!(
                "delivery of {} to {} ({}) failed: {}: {}",
                out.message_id,
                sub.endpoint,
                sub.protocol,
                e.code,
                e.message
            );
        }
    }
    Ok(())
}

pub fn fake_signature() -> String {
    encoding::base64_encode(&ministack_sdk::rand::bytes(256))
}

pub fn signing_cert_url(ctx: &Context) -> String {
    format!(
        "https://sns.{}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        ctx.region
    )
}

pub fn unsubscribe_url(ctx: &Context, subscription_arn: &str) -> String {
    format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={}",
        ctx.endpoint.trim_end_matches('/'),
        inspect::url_encode(subscription_arn)
    )
}

fn envelope_attributes(out: &Outgoing) -> Map<String, Value> {
    out.attributes
        .iter()
        .map(|(k, v)| {
            let value = v
                .string_value
                .clone()
                .or_else(|| v.binary_value.clone())
                .unwrap_or_default();
            (k.clone(), json!({"Type": v.data_type, "Value": value}))
        })
        .collect()
}

/// The JSON notification SNS sends to SQS (not raw), HTTP and email-json.
pub fn envelope(ctx: &Context, topic: &Topic, sub: &Subscription, out: &Outgoing) -> Value {
    let mut e = Map::new();
    e.insert("Type".into(), json!("Notification"));
    e.insert("MessageId".into(), json!(out.message_id));
    if let Some(seq) = &out.sequence_number {
        e.insert("SequenceNumber".into(), json!(seq));
    }
    e.insert("TopicArn".into(), json!(topic.arn));
    if let Some(subject) = &out.subject {
        e.insert("Subject".into(), json!(subject));
    }
    e.insert("Message".into(), json!(out.message_for(&sub.protocol)));
    e.insert(
        "Timestamp".into(),
        json!(time::iso8601_millis(out.timestamp)),
    );
    e.insert(
        "SignatureVersion".into(),
        json!(
            topic
                .attributes
                .get("SignatureVersion")
                .cloned()
                .unwrap_or_else(|| "1".into())
        ),
    );
    e.insert("Signature".into(), json!(fake_signature()));
    e.insert("SigningCertURL".into(), json!(signing_cert_url(ctx)));
    e.insert(
        "UnsubscribeURL".into(),
        json!(unsubscribe_url(ctx, &sub.arn)),
    );
    let attrs = envelope_attributes(out);
    if !attrs.is_empty() {
        e.insert("MessageAttributes".into(), Value::Object(attrs));
    }
    Value::Object(e)
}

/// The event a Lambda function receives from SNS.
pub fn lambda_event(ctx: &Context, topic: &Topic, sub: &Subscription, out: &Outgoing) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub.arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": out.message_id,
            "TopicArn": topic.arn,
            "Subject": out.subject,
            "Message": out.message_for("lambda"),
            "Timestamp": time::iso8601_millis(out.timestamp),
            "SignatureVersion": "1",
            "Signature": fake_signature(),
            "SigningCertUrl": signing_cert_url(ctx),
            "UnsubscribeUrl": unsubscribe_url(ctx, &sub.arn),
            "MessageAttributes": envelope_attributes(out),
        }
    }]})
}

fn raw(sub: &Subscription) -> bool {
    sub.attributes.get("RawMessageDelivery").map(String::as_str) == Some("true")
}

fn deliver(
    ctx: &Context,
    topic: &Topic,
    sub: &Subscription,
    out: &Outgoing,
) -> Result<(), AwsError> {
    match sub.protocol.as_str() {
        "sqs" => {
            let result = send_to_queue(ctx, topic, sub, out, &sub.endpoint);
            if let Err(e) = &result
                && let Some(dlq) = sub
                    .attributes
                    .get("RedrivePolicy")
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
                    .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string))
            {
                ministack_sdk::warn!(
                    "delivery to {} failed ({}); sending to the DLQ {dlq}",
                    sub.endpoint,
                    e.message
                );
                return send_to_queue(ctx, topic, sub, out, &dlq);
            }
            result
        }
        "lambda" => {
            let function = Arn::parse(&sub.endpoint).ok_or_else(|| invalid("bad lambda ARN"))?;
            let event = lambda_event(ctx, topic, sub, out);
            let input = json!({
                "FunctionName": sub.endpoint,
                "InvocationType": "Event",
                "Payload": encoding::base64_encode(event.to_string().as_bytes()),
            });
            services::call_from(
                &topic_source(topic),
                &Target::at("lambda", &function.account, &function.region),
                "Invoke",
                &input.to_string(),
            )
            .map(|_| ())
        }
        "http" | "https" => {
            let body = if raw(sub) {
                out.message_for(&sub.protocol)
            } else {
                envelope(ctx, topic, sub, out).to_string()
            };
            schedule_http(
                &sub.endpoint,
                "Notification",
                &out.message_id,
                &topic.arn,
                Some(&sub.arn),
                body,
                raw(sub),
            )
        }
        "firehose" => {
            let stream = Arn::parse(&sub.endpoint).ok_or_else(|| invalid("bad firehose ARN"))?;
            let data = if raw(sub) {
                out.message_for("firehose")
            } else {
                envelope(ctx, topic, sub, out).to_string()
            };
            record(sub, topic, out, data.clone())?;
            let input = json!({
                "DeliveryStreamName": stream.resource_name(),
                "Record": {"Data": encoding::base64_encode(data.as_bytes())},
            });
            // SNS writes to Firehose as the subscription's role.
            services::call_from(
                &topic_source(topic).with_role(
                    sub.attributes
                        .get("SubscriptionRoleArn")
                        .map(String::as_str),
                ),
                &Target::at("firehose", &stream.account, &stream.region),
                "PutRecord",
                &input.to_string(),
            )
            .map(|_| ())
        }
        "email-json" => record(sub, topic, out, envelope(ctx, topic, sub, out).to_string()),
        "application" => mobile::publish_to_endpoint(ctx, &sub.endpoint, out, Some(sub)),
        _ => record(sub, topic, out, out.message_for(&sub.protocol)),
    }
}

fn record(
    sub: &Subscription,
    topic: &Topic,
    out: &Outgoing,
    message: String,
) -> Result<(), AwsError> {
    inspect::record(&Delivery {
        protocol: sub.protocol.clone(),
        endpoint: sub.endpoint.clone(),
        subscription_arn: sub.arn.clone(),
        topic_arn: topic.arn.clone(),
        message_id: out.message_id.clone(),
        kind: "Notification".into(),
        subject: out.subject.clone(),
        message,
        message_attributes: envelope_attributes(out),
        ..Default::default()
    })
}

/// What SNS delivers for: under ENFORCE_IAM the target's policy must allow
/// `sns.amazonaws.com` (conditions on `aws:SourceArn` name the topic).
fn topic_source(topic: &Topic) -> services::Source {
    services::Source::resource(&topic.arn, &topic.owner)
}

/// SendMessage into the queue named by an SQS ARN, in its own account and region.
fn send_to_queue(
    ctx: &Context,
    topic: &Topic,
    sub: &Subscription,
    out: &Outgoing,
    queue_arn: &str,
) -> Result<(), AwsError> {
    let queue = Arn::parse(queue_arn)
        .filter(|a| a.service == "sqs")
        .ok_or_else(|| invalid("Invalid parameter: SQS endpoint ARN"))?;
    let queue_url = format!(
        "{}/{}/{}",
        ctx.endpoint.trim_end_matches('/'),
        queue.account,
        queue.resource
    );
    let mut input = Map::new();
    input.insert("QueueUrl".into(), json!(queue_url));
    if raw(sub) {
        input.insert("MessageBody".into(), json!(out.message_for("sqs")));
        if !out.attributes.is_empty() {
            input.insert(
                "MessageAttributes".into(),
                serde_json::to_value(&out.attributes).unwrap_or_default(),
            );
        }
    } else {
        input.insert(
            "MessageBody".into(),
            json!(envelope(ctx, topic, sub, out).to_string()),
        );
    }
    if queue.resource.ends_with(".fifo") {
        let group = out.group_id.clone().unwrap_or_else(|| topic.name.clone());
        input.insert("MessageGroupId".into(), json!(group));
        let dedup = out
            .dedup_id
            .clone()
            .unwrap_or_else(|| out.message_id.clone());
        input.insert("MessageDeduplicationId".into(), json!(dedup));
    }
    services::call_from(
        &topic_source(topic),
        &Target::at("sqs", &queue.account, &queue.region),
        "SendMessage",
        &Value::Object(input).to_string(),
    )
    .map(|_| ())
}

/// One HTTP POST to make (the task's payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpDelivery {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub attempt: u32,
}

/// Schedules an HTTP/HTTPS POST with the x-amz-sns-* headers.
pub fn schedule_http(
    url: &str,
    kind: &str,
    message_id: &str,
    topic_arn: &str,
    subscription_arn: Option<&str>,
    body: String,
    raw: bool,
) -> Result<(), AwsError> {
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "text/plain; charset=UTF-8".to_string(),
        ),
        (
            "User-Agent".to_string(),
            "Amazon Simple Notification Service Agent".to_string(),
        ),
        ("x-amz-sns-message-type".to_string(), kind.to_string()),
        ("x-amz-sns-message-id".to_string(), message_id.to_string()),
        ("x-amz-sns-topic-arn".to_string(), topic_arn.to_string()),
    ];
    if let Some(arn) = subscription_arn {
        headers.push(("x-amz-sns-subscription-arn".to_string(), arn.to_string()));
    }
    if raw {
        headers.push(("x-amz-sns-rawdelivery".to_string(), "true".to_string()));
    }
    tasks::schedule(
        Duration::ZERO,
        DELIVER_HTTP,
        &HttpDelivery {
            url: url.to_string(),
            headers,
            body,
            attempt: 1,
        },
    )?;
    Ok(())
}

/// The `deliver-http` task: one POST; retried a few times on failure.
pub fn deliver_http_task(_ctx: &Context, d: HttpDelivery) -> Result<(), AwsError> {
    let (url, basic) = split_userinfo(&d.url);
    let mut request =
        http::Request::post(&url, d.body.clone().into_bytes()).timeout(Duration::from_secs(15));
    request.headers = d.headers.clone();
    // SNS authenticates to an endpoint whose URL carries credentials
    // (`https://user:password@host/path`) with HTTP Basic auth.
    if let Some(credentials) = basic {
        request.headers.push((
            "Authorization".to_string(),
            format!(
                "Basic {}",
                ministack_sdk::encoding::base64_encode(credentials.as_bytes())
            ),
        ));
    }
    let failure = match http::send(&request) {
        Ok(r) if r.is_success() => return Ok(()),
        Ok(r) => format!("status {}", r.status),
        Err(e) => e,
    };
    if d.attempt < HTTP_ATTEMPTS {
        ministack_sdk::info!("HTTP delivery to {} failed ({failure}); retrying", d.url);
        tasks::schedule(
            Duration::from_secs(1),
            DELIVER_HTTP,
            &HttpDelivery {
                attempt: d.attempt + 1,
                ..d
            },
        )?;
    } else {
        ministack_sdk::warn!("HTTP delivery to {} failed ({failure}); giving up", d.url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(t: &str, v: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: t.into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    #[test]
    fn messages_are_checked() {
        let none = BTreeMap::new();
        assert_eq!(
            check_message("", None, None, &none).unwrap_err().message,
            "Invalid parameter: Empty message"
        );
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(
            check_message(&big, None, None, &none).unwrap_err().message,
            "Invalid parameter: Message too long"
        );
        assert!(check_message(&"x".repeat(MAX_MESSAGE_BYTES), None, None, &none).is_ok());
        assert!(check_message("m", Some("line\nbreak"), None, &none).is_err());
        assert!(check_message("m", Some(&"s".repeat(101)), None, &none).is_err());
        assert!(check_message("m", Some("Hello"), None, &none).is_ok());
        let e = check_message("{\"sqs\": \"x\"}", None, Some("json"), &none).unwrap_err();
        assert!(e.message.contains("No default entry"), "{}", e.message);
        let e = check_message("nope", None, Some("json"), &none).unwrap_err();
        assert!(e.message.contains("failed to parse"), "{}", e.message);
        let map = check_message(
            "{\"default\": \"d\", \"sqs\": \"q\"}",
            None,
            Some("json"),
            &none,
        )
        .unwrap()
        .unwrap();
        let out = Outgoing {
            per_protocol: Some(map),
            ..Default::default()
        };
        assert_eq!(out.message_for("sqs"), "q");
        assert_eq!(out.message_for("email"), "d");
    }

    #[test]
    fn message_attributes_are_checked() {
        let ok: BTreeMap<_, _> = [
            ("a".to_string(), attr("String", "x")),
            ("n".to_string(), attr("Number", "1.5")),
            ("l".to_string(), attr("String.Array", "[\"a\"]")),
            ("c".to_string(), attr("String.custom", "x")),
        ]
        .into();
        assert!(check_attributes(&ok).is_ok());
        for (t, v) in [
            ("Bogus", "x"),
            ("Number", "abc"),
            ("String", ""),
            ("String.Array", "x"),
        ] {
            let one: BTreeMap<_, _> = [("k".to_string(), attr(t, v))].into();
            let e = check_attributes(&one).unwrap_err();
            assert_eq!(e.code, "ParameterValueInvalid", "{t} {v}");
        }
        let many: BTreeMap<_, _> = (0..11)
            .map(|i| (format!("a{i}"), attr("String", "x")))
            .collect();
        assert!(check_attributes(&many).is_err());
    }
}

/// `http://user:pass@host/p` → (`http://host/p`, `Some("user:pass")`), the
/// credentials percent-decoded.
fn split_userinfo(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    (
        format!("{scheme}://{host}{tail}"),
        Some(percent_decode(userinfo)),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod userinfo_tests {
    use super::split_userinfo;

    #[test]
    fn credentials_leave_the_url() {
        assert_eq!(
            split_userinfo("https://u:p%40ss@h.example:8443/hook?x=1"),
            (
                "https://h.example:8443/hook?x=1".into(),
                Some("u:p@ss".into())
            )
        );
        assert_eq!(split_userinfo("http://h/p"), ("http://h/p".into(), None));
    }
}
