//! Topics: create (standard and FIFO), delete, list, attributes, tags,
//! permissions and the data protection policy.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::model::*;

/// Attributes a caller may set (CreateTopic and SetTopicAttributes).
const SETTABLE: &[&str] = &[
    "Policy",
    "DisplayName",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "FifoThroughputScope",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ApplicationFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "LambdaFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SQSFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "FirehoseFailureFeedbackRoleArn",
];

/// Checks one attribute value; the error is an InvalidParameter message.
pub fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<(), String> {
    let bad = |reason: &str| format!("Invalid parameter: {name} Reason: {reason}");
    match name {
        "Policy" | "DeliveryPolicy" | "ArchivePolicy" => {
            if !value.is_empty() && !is_json_object(value) {
                return Err(bad("failed to parse JSON"));
            }
        }
        "DisplayName" => {
            if value.chars().count() > 100 {
                return Err(bad("DisplayName must be at most 100 characters"));
            }
        }
        "SignatureVersion" => {
            if value != "1" && value != "2" {
                return Err(bad("SignatureVersion must be 1 or 2"));
            }
        }
        "TracingConfig" => {
            if value != "PassThrough" && value != "Active" {
                return Err(bad("TracingConfig must be PassThrough or Active"));
            }
        }
        "ContentBasedDeduplication" => {
            if bool_attr(value).is_none() {
                return Err(bad("ContentBasedDeduplication must be true or false"));
            }
            if !fifo {
                return Err(
                    "Invalid parameter: Attributes Reason: Content-based deduplication can only be set for FIFO topics".into(),
                );
            }
        }
        "FifoThroughputScope" => {
            if !fifo {
                return Err("Invalid parameter: Attributes Reason: FifoThroughputScope can only be set for FIFO topics".into());
            }
            if value != "Topic" && value != "MessageGroup" {
                return Err(bad("FifoThroughputScope must be Topic or MessageGroup"));
            }
        }
        n if SETTABLE.contains(&n) => {}
        _ => return Err("Invalid parameter: AttributeName".into()),
    }
    Ok(())
}

/// AWS's rules for topic names.
pub fn check_topic_name(name: &str, fifo: bool) -> Result<(), String> {
    let base = if fifo {
        name.strip_suffix(".fifo")
            .ok_or("Invalid parameter: Topic Name")?
    } else {
        name
    };
    let ok = !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else if fifo {
        Err("Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.".into())
    } else {
        Err("Invalid parameter: Topic Name".into())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicInput {
    name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    tags: Vec<Tag>,
    data_protection_policy: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnOutput {
    topic_arn: String,
}

pub fn create_topic(ctx: &Context, input: CreateTopicInput) -> Result<TopicArnOutput, AwsError> {
    let mut attributes = input.attributes;
    let fifo = match attributes.get("FifoTopic") {
        None => false,
        Some(v) => bool_attr(v)
            .ok_or_else(|| invalid("Invalid parameter: FifoTopic Reason: must be true or false"))?,
    };
    if !fifo && input.name.ends_with(".fifo") {
        return Err(invalid(
            "Invalid parameter: Topic Name Reason: A topic name ending in .fifo needs the attribute FifoTopic set to true",
        ));
    }
    check_topic_name(&input.name, fifo).map_err(invalid)?;
    attributes.remove("FifoTopic");
    for (k, v) in &attributes {
        check_topic_attribute(k, v, fifo).map_err(invalid)?;
    }
    if fifo {
        attributes.insert("FifoTopic".into(), "true".into());
        attributes
            .entry("ContentBasedDeduplication".into())
            .or_insert_with(|| "false".into());
    }
    if let Some(ref p) = input.data_protection_policy
        && !p.is_empty()
        && !is_json_object(p)
    {
        return Err(invalid(
            "Invalid parameter: DataProtectionPolicy Reason: failed to parse JSON",
        ));
    }
    check_tags(&input.tags)?;
    let tags: BTreeMap<String, String> = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let arn = ctx.arn("sns", &input.name).to_string();
    if let Some(existing) = TOPICS.get(&input.name)? {
        // Idempotent when what was asked matches what exists.
        let differs = attributes
            .iter()
            .any(|(k, v)| existing.attributes.get(k) != Some(v))
            || existing.fifo() != fifo;
        if differs {
            return Err(invalid(
                "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
            ));
        }
        if !tags.is_empty() && tags != existing.tags {
            return Err(invalid(
                "Invalid parameter: Tags Reason: Topic already exists with different tags",
            ));
        }
        return Ok(TopicArnOutput {
            topic_arn: existing.arn,
        });
    }
    if TOPICS.count(&Scan::all()) >= 100_000 {
        return Err(AwsError::new("TopicLimitExceeded", "Topic limit exceeded"));
    }
    let topic = Topic {
        arn: arn.clone(),
        name: input.name.clone(),
        owner: ctx.account.clone(),
        attributes,
        tags,
        data_protection_policy: input.data_protection_policy.filter(|p| !p.is_empty()),
        deleted_subscriptions: 0,
        sequence: 0,
    };
    TOPICS.put(&input.name, &topic)?;
    Ok(TopicArnOutput { topic_arn: arn })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnInput {
    topic_arn: String,
}

pub fn delete_topic(ctx: &Context, input: TopicArnInput) -> Result<Empty, AwsError> {
    let name = topic_name(ctx, &input.topic_arn)?;
    // Deleting a topic that does not exist succeeds, as in AWS.
    if TOPICS.delete(&name) {
        SUBSCRIPTIONS.delete_range(&Scan::prefix(keys::prefix(&[&name])));
        DEDUP.delete_range(&Scan::prefix(keys::prefix(&[&name])));
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
/// The input of the List* operations that take only a page token.
pub struct ListInput {
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTopicsOutput {
    topics: Vec<TopicArnOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_topics(_ctx: &Context, input: ListInput) -> Result<ListTopicsOutput, AwsError> {
    let page = TOPICS
        .page(&Scan::all(), input.next_token.as_deref(), 100)
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListTopicsOutput {
        topics: page
            .items
            .into_iter()
            .map(|(_, t)| TopicArnOutput { topic_arn: t.arn })
            .collect(),
        next_token: page.next_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    pub attributes: BTreeMap<String, String>,
}

pub fn get_topic_attributes(
    ctx: &Context,
    input: TopicArnInput,
) -> Result<AttributesOutput, AwsError> {
    let topic = load_topic(ctx, &input.topic_arn)?;
    let subs = SUBSCRIPTIONS.values(&keys::prefix(&[&topic.name]))?;
    let pending = subs.iter().filter(|s| s.pending).count();
    let mut a = topic.attributes.clone();
    a.insert("TopicArn".into(), topic.arn.clone());
    a.insert("Owner".into(), topic.owner.clone());
    a.entry("Policy".into())
        .or_insert_with(|| default_policy(&topic.arn, &topic.owner));
    a.entry("DisplayName".into()).or_default();
    a.insert(
        "SubscriptionsConfirmed".into(),
        (subs.len() - pending).to_string(),
    );
    a.insert("SubscriptionsPending".into(), pending.to_string());
    a.insert(
        "SubscriptionsDeleted".into(),
        topic.deleted_subscriptions.to_string(),
    );
    a.insert(
        "EffectiveDeliveryPolicy".into(),
        topic
            .attributes
            .get("DeliveryPolicy")
            .cloned()
            .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_string()),
    );
    if topic.fifo() {
        a.entry("FifoThroughputScope".into())
            .or_insert_with(|| "Topic".into());
    }
    Ok(AttributesOutput { attributes: a })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAttributeInput {
    topic_arn: String,
    attribute_name: String,
    attribute_value: Option<String>,
}

pub fn set_topic_attributes(ctx: &Context, input: SetAttributeInput) -> Result<Empty, AwsError> {
    let mut topic = load_topic(ctx, &input.topic_arn)?;
    let value = input.attribute_value.unwrap_or_default();
    if input.attribute_name == "FifoTopic" {
        return Err(invalid("Invalid parameter: AttributeName"));
    }
    check_topic_attribute(&input.attribute_name, &value, topic.fifo()).map_err(invalid)?;
    if value.is_empty() && input.attribute_name != "DisplayName" {
        topic.attributes.remove(&input.attribute_name);
    } else {
        let value = if input.attribute_name == "ContentBasedDeduplication" {
            bool_attr(&value).unwrap_or(false).to_string()
        } else {
            value
        };
        topic.attributes.insert(input.attribute_name, value);
    }
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

// --- permissions ---

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionInput {
    topic_arn: String,
    label: String,
    #[serde(rename = "AWSAccountId")]
    aws_account_id: Vec<String>,
    action_name: Vec<String>,
}

fn policy_of(topic: &Topic) -> Value {
    let text = topic
        .attributes
        .get("Policy")
        .cloned()
        .unwrap_or_else(|| default_policy(&topic.arn, &topic.owner));
    serde_json::from_str(&text)
        .unwrap_or_else(|_| json!({"Version": "2008-10-17", "Statement": []}))
}

pub fn add_permission(ctx: &Context, input: AddPermissionInput) -> Result<Empty, AwsError> {
    let mut topic = load_topic(ctx, &input.topic_arn)?;
    if input.aws_account_id.is_empty() || input.action_name.is_empty() {
        return Err(invalid(
            "Invalid parameter: AWSAccountId and ActionName must not be empty",
        ));
    }
    let mut policy = policy_of(&topic);
    let statements = policy["Statement"]
        .as_array_mut()
        .ok_or_else(|| invalid("Invalid parameter: Policy"))?;
    if statements.iter().any(|s| s["Sid"] == input.label) {
        return Err(invalid("Invalid parameter: Statement already exists"));
    }
    let principals: Vec<String> = input
        .aws_account_id
        .iter()
        .map(|a| format!("arn:{}:iam::{a}:root", ctx.partition()))
        .collect();
    let actions: Vec<String> = input
        .action_name
        .iter()
        .map(|a| format!("SNS:{a}"))
        .collect();
    statements.push(json!({
        "Sid": input.label,
        "Effect": "Allow",
        "Principal": {"AWS": if principals.len() == 1 { json!(principals[0]) } else { json!(principals) }},
        "Action": if actions.len() == 1 { json!(actions[0]) } else { json!(actions) },
        "Resource": topic.arn,
    }));
    topic.attributes.insert("Policy".into(), policy.to_string());
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionInput {
    topic_arn: String,
    label: String,
}

pub fn remove_permission(ctx: &Context, input: RemovePermissionInput) -> Result<Empty, AwsError> {
    let mut topic = load_topic(ctx, &input.topic_arn)?;
    let mut policy = policy_of(&topic);
    if let Some(statements) = policy["Statement"].as_array_mut() {
        statements.retain(|s| s["Sid"] != input.label);
    }
    topic.attributes.insert("Policy".into(), policy.to_string());
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

// --- tags ---

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(invalid(
                "Invalid parameter: Tags Reason: tag key or value length out of bounds",
            ));
        }
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            "TagLimitExceeded",
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    Ok(())
}

fn tagged_topic(ctx: &Context, arn: &str) -> Result<Topic, AwsError> {
    let missing = || AwsError::new("ResourceNotFound", "Resource does not exist");
    // A malformed ARN is a bad parameter; a well-formed one that names no
    // topic here is a missing resource.
    if Arn::parse(arn).is_none() {
        return Err(invalid("Invalid parameter: ResourceArn"));
    }
    let name = topic_name(ctx, arn).map_err(|e| {
        if e.code == "AuthorizationError" {
            e
        } else {
            missing()
        }
    })?;
    TOPICS.get(&name)?.ok_or_else(missing)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

pub fn tag_resource(ctx: &Context, input: TagResourceInput) -> Result<Empty, AwsError> {
    let mut topic = tagged_topic(ctx, &input.resource_arn)?;
    check_tags(&input.tags)?;
    for t in input.tags {
        topic.tags.insert(t.key, t.value);
    }
    if topic.tags.len() > 50 {
        return Err(AwsError::new(
            "TagLimitExceeded",
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(ctx: &Context, input: UntagResourceInput) -> Result<Empty, AwsError> {
    let mut topic = tagged_topic(ctx, &input.resource_arn)?;
    for k in input.tag_keys {
        topic.tags.remove(&k);
    }
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArnInput {
    resource_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsOutput {
    tags: Vec<Tag>,
}

pub fn list_tags_for_resource(
    ctx: &Context,
    input: ResourceArnInput,
) -> Result<ListTagsOutput, AwsError> {
    let topic = tagged_topic(ctx, &input.resource_arn)?;
    Ok(ListTagsOutput {
        tags: topic
            .tags
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}

// --- data protection ---

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataProtectionOutput {
    data_protection_policy: String,
}

pub fn get_data_protection_policy(
    ctx: &Context,
    input: ResourceArnInput,
) -> Result<DataProtectionOutput, AwsError> {
    let topic = load_topic(ctx, &input.resource_arn)?;
    Ok(DataProtectionOutput {
        data_protection_policy: topic.data_protection_policy.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutDataProtectionInput {
    resource_arn: String,
    data_protection_policy: String,
}

pub fn put_data_protection_policy(
    ctx: &Context,
    input: PutDataProtectionInput,
) -> Result<Empty, AwsError> {
    let mut topic = load_topic(ctx, &input.resource_arn)?;
    if !is_json_object(&input.data_protection_policy) {
        return Err(invalid(
            "Invalid parameter: DataProtectionPolicy Reason: failed to parse JSON",
        ));
    }
    topic.data_protection_policy = Some(input.data_protection_policy);
    TOPICS.put(&topic.name.clone(), &topic)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(check_topic_name("orders_1-a", false).is_ok());
        assert!(check_topic_name("orders.fifo", true).is_ok());
        assert!(check_topic_name("orders", true).is_err());
        assert!(check_topic_name("bad name", false).is_err());
        assert!(check_topic_name("", false).is_err());
        assert!(check_topic_name(&"a".repeat(257), false).is_err());
    }

    #[test]
    fn topic_attributes() {
        assert!(check_topic_attribute("DisplayName", "x", false).is_ok());
        assert!(check_topic_attribute("Policy", "{", false).is_err());
        assert!(check_topic_attribute("SignatureVersion", "3", false).is_err());
        assert!(check_topic_attribute("TracingConfig", "Active", false).is_ok());
        assert!(check_topic_attribute("ContentBasedDeduplication", "true", false).is_err());
        assert!(check_topic_attribute("ContentBasedDeduplication", "true", true).is_ok());
        assert_eq!(
            check_topic_attribute("Nope", "1", false).unwrap_err(),
            "Invalid parameter: AttributeName"
        );
    }
}
