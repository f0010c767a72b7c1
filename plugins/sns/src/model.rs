//! Records, tables and the checks several operations share.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;

/// Topics by name, per account and region.
pub const TOPICS: Table<Topic> = Table::new("topics");
/// Subscriptions keyed by `join(topic name, subscription id)`.
pub const SUBSCRIPTIONS: Table<Subscription> = Table::new("subscriptions");
/// FIFO deduplication: `join(topic name, dedup id)` → message.
pub const DEDUP: Table<Dedup> = Table::new("dedup");

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Topic {
    pub arn: String,
    pub name: String,
    pub owner: String,
    /// Attributes set by the caller (Policy, DisplayName, FifoTopic, ...).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub data_protection_policy: Option<String>,
    pub deleted_subscriptions: u64,
    /// FIFO: last sequence number given.
    pub sequence: u64,
}

impl Topic {
    pub fn fifo(&self) -> bool {
        self.attributes.get("FifoTopic").map(String::as_str) == Some("true")
    }
    pub fn content_based_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .map(String::as_str)
            == Some("true")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub owner: String,
    pub pending: bool,
    pub token: String,
    /// Set by the caller (FilterPolicy, RawMessageDelivery, ...).
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dedup {
    pub message_id: String,
    pub sequence_number: String,
    pub at: f64,
}

pub fn not_found(what: &str) -> AwsError {
    AwsError::new("NotFound", format!("{what} does not exist"))
}

pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameter", message)
}

/// The topic a TopicArn names in the caller's account and region. An empty
/// account field means the caller's account (Terraform's
/// `skip_requesting_account_id`); another region's topic is not served by
/// this regional endpoint (`InvalidParameter`), another account's is not
/// authorized.
pub fn topic_name(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let parsed = Arn::parse(arn)
        .filter(|a| a.service == "sns" && !a.resource.contains([':', '/']))
        .ok_or_else(|| invalid("Invalid parameter: TopicArn"))?;
    check_scope(ctx, &parsed, arn, "TopicArn")?;
    Ok(parsed.resource)
}

/// The region and account of an SNS ARN against the caller's.
pub fn check_scope(ctx: &Context, arn: &Arn, raw: &str, member: &str) -> Result<(), AwsError> {
    if arn.region != ctx.region {
        return Err(invalid(format!("Invalid parameter: {member}")));
    }
    if !arn.account.is_empty() && arn.account != ctx.account {
        let caller = if ctx.caller_arn.is_empty() {
            format!("arn:aws:iam::{}:root", ctx.account)
        } else {
            ctx.caller_arn.clone()
        };
        return Err(AwsError::new(
            "AuthorizationError",
            format!("User: {caller} is not authorized to access this resource: {raw}"),
        )
        .with_status(403));
    }
    Ok(())
}

pub fn load_topic(ctx: &Context, arn: &str) -> Result<Topic, AwsError> {
    let name = topic_name(ctx, arn)?;
    TOPICS.get(&name)?.ok_or_else(|| not_found("Topic"))
}

/// `arn:aws:sns:r:a:topic:uuid` → (topic name, uuid).
pub fn split_subscription_arn(arn: &str) -> Option<(String, String)> {
    let parsed = Arn::parse(arn).filter(|a| a.service == "sns")?;
    let (topic, id) = parsed.resource.split_once(':')?;
    (!topic.is_empty() && !id.is_empty()).then(|| (topic.to_string(), id.to_string()))
}

pub fn load_subscription(ctx: &Context, arn: &str) -> Result<(String, Subscription), AwsError> {
    let (topic, id) = split_subscription_arn(arn)
        .ok_or_else(|| invalid("Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1"))?;
    if let Some(parsed) = Arn::parse(arn) {
        check_scope(ctx, &parsed, arn, "SubscriptionArn")?;
    }
    let key = keys::join(&[&topic, &id]);
    let sub = SUBSCRIPTIONS
        .get(&key)?
        .filter(|s| s.arn == arn || s.arn == arn.replacen("::", &format!(":{}:", ctx.account), 1))
        .ok_or_else(|| not_found("Subscription"))?;
    Ok((key, sub))
}

/// The policy AWS writes for a new topic.
pub fn default_policy(topic_arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes",
                "SNS:SetTopicAttributes",
                "SNS:AddPermission",
                "SNS:RemovePermission",
                "SNS:DeleteTopic",
                "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// The delivery policy AWS reports as EffectiveDeliveryPolicy.
pub const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

pub fn is_json_object(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_))
    )
}

pub fn bool_attr(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}
