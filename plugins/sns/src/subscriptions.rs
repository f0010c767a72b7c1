//! Subscriptions: subscribe (with the confirmation flow for http, https and
//! email), confirm, unsubscribe, list, attributes.

use crate::topics::ListInput;
use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};

use crate::filter;
use crate::inspect::{self, Delivery};
use crate::model::*;
use crate::publish;
use crate::topics::AttributesOutput;

pub const PROTOCOLS: &[&str] = &[
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
];

const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

/// Whether the protocol waits for the endpoint owner to confirm. Email
/// subscriptions are confirmed at once (a local convenience: no mailbox
/// exists to click the link in).
pub fn needs_confirmation(protocol: &str) -> bool {
    matches!(protocol, "http" | "https")
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
fn is_function_arn(endpoint: &str) -> bool {
    let Some(arn) = Arn::parse(endpoint).filter(|a| a.service == "lambda") else {
        return false;
    };
    let mut parts = arn.resource.split(':');
    let (kind, name, qualifier, extra) = (parts.next(), parts.next(), parts.next(), parts.next());
    let name_ok = name.is_some_and(|n| {
        (1..=64).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    let qualifier_ok = qualifier.is_none_or(|q| {
        (1..=128).contains(&q.len())
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
    });
    kind == Some("function")
        && name_ok
        && qualifier_ok
        && extra.is_none()
        && ids::is_account_id(&arn.account)
        && !arn.region.is_empty()
}

/// Checks an endpoint for its protocol (InvalidParameter message).
pub fn check_endpoint(protocol: &str, endpoint: &str) -> Result<(), String> {
    let arn_of = |service: &str| Arn::parse(endpoint).filter(|a| a.service == service);
    let ok = match protocol {
        "http" => endpoint.starts_with("http://") && endpoint.len() > 7,
        "https" => endpoint.starts_with("https://") && endpoint.len() > 8,
        "email" | "email-json" => {
            let (local, domain) = endpoint.split_once('@').unwrap_or(("", ""));
            !local.is_empty() && domain.contains('.')
        }
        "sms" => {
            let digits = endpoint.trim_start_matches('+');
            !digits.is_empty()
                && digits.len() <= 15
                && digits.chars().all(|c| c.is_ascii_digit() || c == '-')
        }
        "sqs" => {
            return arn_of("sqs")
                .map(|_| ())
                .ok_or_else(|| "Invalid parameter: SQS endpoint ARN".into());
        }
        "lambda" => {
            return if is_function_arn(endpoint) {
                Ok(())
            } else {
                Err("Invalid parameter: Lambda endpoint ARN".into())
            };
        }
        "firehose" => {
            return arn_of("firehose")
                .map(|_| ())
                .ok_or_else(|| "Invalid parameter: Firehose endpoint ARN".into());
        }
        "application" => arn_of("sns").is_some_and(|a| a.resource.starts_with("endpoint/")),
        other => {
            return Err(format!(
                "Invalid parameter: Amazon SNS does not support this protocol string: {other}"
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(
            "Invalid parameter: Endpoint Reason: An endpoint must match the specified protocol"
                .into(),
        )
    }
}

/// Checks one subscription attribute (InvalidParameter message).
pub fn check_subscription_attribute(
    name: &str,
    value: &str,
    protocol: &str,
    scope_is_body: bool,
) -> Result<(), String> {
    let reason = |r: String| format!("Invalid parameter: Attributes Reason: {r}");
    match name {
        "RawMessageDelivery" => {
            if bool_attr(value).is_none() {
                return Err(reason(format!(
                    "RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )));
            }
            if !matches!(protocol, "sqs" | "http" | "https" | "firehose") {
                return Err(reason(format!(
                    "Delivery protocol [{protocol}] does not support raw message delivery."
                )));
            }
        }
        "FilterPolicyScope" => {
            if value != "MessageAttributes" && value != "MessageBody" {
                return Err(reason(format!(
                    "FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                )));
            }
        }
        "FilterPolicy" => {
            if !value.is_empty() {
                filter::parse(value, scope_is_body)?;
            }
        }
        "DeliveryPolicy" | "RedrivePolicy" | "ReplayPolicy" => {
            if !value.is_empty() && !is_json_object(value) {
                return Err(format!("Invalid parameter: {name}: failed to parse JSON"));
            }
            if name == "RedrivePolicy" && !value.is_empty() {
                let v: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
                let target = v["deadLetterTargetArn"].as_str().unwrap_or("");
                if Arn::parse(target).is_none_or(|a| a.service != "sqs") {
                    return Err(format!(
                        "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn: {target}"
                    ));
                }
            }
        }
        "SubscriptionRoleArn" => {}
        _ => return Err("Invalid parameter: AttributeName".into()),
    }
    Ok(())
}

fn check_attributes(attributes: &BTreeMap<String, String>, protocol: &str) -> Result<(), AwsError> {
    let body = attributes.get("FilterPolicyScope").map(String::as_str) == Some("MessageBody");
    for (k, v) in attributes {
        if !SETTABLE.contains(&k.as_str()) {
            return Err(invalid(format!(
                "Invalid parameter: Attributes Reason: Unknown attribute {k}"
            )));
        }
        check_subscription_attribute(k, v, protocol, body).map_err(invalid)?;
    }
    if protocol == "firehose" && !attributes.contains_key("SubscriptionRoleArn") {
        return Err(invalid(
            "Invalid parameter: Invalid parameter: SubscriptionRoleArn Reason: A firehose subscription needs a SubscriptionRoleArn",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeInput {
    topic_arn: String,
    protocol: String,
    endpoint: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    return_subscription_arn: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnOutput {
    subscription_arn: String,
}

pub fn subscribe(ctx: &Context, input: SubscribeInput) -> Result<SubscriptionArnOutput, AwsError> {
    let topic = load_topic(ctx, &input.topic_arn)?;
    let protocol = input.protocol.to_ascii_lowercase();
    if !PROTOCOLS.contains(&protocol.as_str()) {
        return Err(invalid(format!(
            "Invalid parameter: Amazon SNS does not support this protocol string: {}",
            input.protocol
        )));
    }
    let endpoint = input.endpoint.unwrap_or_default();
    check_endpoint(&protocol, &endpoint).map_err(invalid)?;
    if topic.fifo() && !matches!(protocol.as_str(), "sqs" | "firehose") {
        return Err(invalid(format!(
            "Invalid parameter: Invalid protocol type: {protocol}. FIFO topics support only Amazon SQS and Amazon Data Firehose endpoints"
        )));
    }
    check_attributes(&input.attributes, &protocol)?;
    let show = |sub: &Subscription| {
        if sub.pending && !input.return_subscription_arn.unwrap_or(false) {
            "pending confirmation".to_string()
        } else {
            sub.arn.clone()
        }
    };
    let existing = SUBSCRIPTIONS
        .values(&keys::prefix(&[&topic.name]))?
        .into_iter()
        .find(|s| s.protocol == protocol && s.endpoint == endpoint);
    if let Some(sub) = existing {
        let differs = input
            .attributes
            .iter()
            .any(|(k, v)| sub.attributes.get(k) != Some(v));
        if differs {
            return Err(invalid(
                "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
            ));
        }
        if sub.pending {
            send_confirmation(ctx, &topic, &sub)?;
        }
        return Ok(SubscriptionArnOutput {
            subscription_arn: show(&sub),
        });
    }
    let id = ids::uuid();
    let sub = Subscription {
        arn: format!("{}:{id}", topic.arn),
        topic_arn: topic.arn.clone(),
        protocol: protocol.clone(),
        endpoint,
        owner: ctx.account.clone(),
        pending: needs_confirmation(&protocol),
        token: ids::hex(128),
        attributes: input.attributes,
    };
    SUBSCRIPTIONS.put(&keys::join(&[&topic.name, &id]), &sub)?;
    if sub.pending {
        send_confirmation(ctx, &topic, &sub)?;
    }
    Ok(SubscriptionArnOutput {
        subscription_arn: show(&sub),
    })
}

/// The gateway URL that confirms a subscription when fetched.
pub fn subscribe_url(ctx: &Context, topic_arn: &str, token: &str) -> String {
    format!(
        "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
        ctx.endpoint.trim_end_matches('/'),
        inspect::url_encode(topic_arn),
        token
    )
}

/// POSTs (http/https) or records (email) the SubscriptionConfirmation.
fn send_confirmation(ctx: &Context, topic: &Topic, sub: &Subscription) -> Result<(), AwsError> {
    let url = subscribe_url(ctx, &topic.arn, &sub.token);
    let message = format!(
        "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        topic.arn
    );
    let message_id = ids::uuid();
    let body = serde_json::json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": sub.token,
        "TopicArn": topic.arn,
        "Message": message,
        "SubscribeURL": url,
        "Timestamp": time::iso8601_millis(time::now()),
        "SignatureVersion": topic.attributes.get("SignatureVersion").cloned().unwrap_or_else(|| "1".into()),
        "Signature": publish::fake_signature(),
        "SigningCertURL": publish::signing_cert_url(ctx),
    });
    match sub.protocol.as_str() {
        "http" | "https" => publish::schedule_http(
            &sub.endpoint,
            "SubscriptionConfirmation",
            &message_id,
            &topic.arn,
            None,
            body.to_string(),
            false,
        ),
        _ => inspect::record(&Delivery {
            protocol: sub.protocol.clone(),
            endpoint: sub.endpoint.clone(),
            subscription_arn: sub.arn.clone(),
            topic_arn: topic.arn.clone(),
            message_id,
            kind: "SubscriptionConfirmation".into(),
            subject: Some("AWS Notification - Subscription Confirmation".into()),
            message: if sub.protocol == "email-json" {
                body.to_string()
            } else {
                format!("{message}\n{url}")
            },
            ..Default::default()
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmInput {
    topic_arn: String,
    token: String,
    #[allow(dead_code)]
    authenticate_on_unsubscribe: Option<String>,
}

pub fn confirm_subscription(
    ctx: &Context,
    input: ConfirmInput,
) -> Result<SubscriptionArnOutput, AwsError> {
    let topic = load_topic(ctx, &input.topic_arn)?;
    let found = SUBSCRIPTIONS
        .scan(&Scan::prefix(keys::prefix(&[&topic.name])))?
        .into_iter()
        .find(|(_, s)| s.token == input.token);
    let Some((key, mut sub)) = found else {
        return Err(invalid("Invalid token"));
    };
    if sub.pending {
        sub.pending = false;
        SUBSCRIPTIONS.put(&key, &sub)?;
    }
    Ok(SubscriptionArnOutput {
        subscription_arn: sub.arn,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnInput {
    subscription_arn: String,
}

pub fn unsubscribe(ctx: &Context, input: SubscriptionArnInput) -> Result<Empty, AwsError> {
    let (key, sub) = load_subscription(ctx, &input.subscription_arn)?;
    SUBSCRIPTIONS.delete(&key);
    if let Some((topic_name, _)) = split_subscription_arn(&sub.arn) {
        TOPICS.update(&topic_name, |t| {
            let mut t = t.ok_or_else(|| not_found("Topic"))?;
            t.deleted_subscriptions += 1;
            Ok(t)
        })?;
    }
    if matches!(sub.protocol.as_str(), "http" | "https") && !sub.pending {
        let message_id = ids::uuid();
        let body = serde_json::json!({
            "Type": "UnsubscribeConfirmation",
            "MessageId": message_id,
            "Token": sub.token,
            "TopicArn": sub.topic_arn,
            "Message": format!("You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.", sub.arn),
            "SubscribeURL": subscribe_url(ctx, &sub.topic_arn, &sub.token),
            "Timestamp": time::iso8601_millis(time::now()),
            "SignatureVersion": "1",
            "Signature": publish::fake_signature(),
            "SigningCertURL": publish::signing_cert_url(ctx),
        });
        publish::schedule_http(
            &sub.endpoint,
            "UnsubscribeConfirmation",
            &message_id,
            &sub.topic_arn,
            None,
            body.to_string(),
            false,
        )?;
    }
    Ok(Empty {})
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionView {
    subscription_arn: String,
    owner: String,
    protocol: String,
    endpoint: String,
    topic_arn: String,
}

fn view(s: Subscription) -> SubscriptionView {
    SubscriptionView {
        subscription_arn: if s.pending {
            "PendingConfirmation".into()
        } else {
            s.arn
        },
        owner: s.owner,
        protocol: s.protocol,
        endpoint: s.endpoint,
        topic_arn: s.topic_arn,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsOutput {
    subscriptions: Vec<SubscriptionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_subscriptions(
    _ctx: &Context,
    input: ListInput,
) -> Result<ListSubscriptionsOutput, AwsError> {
    let page = SUBSCRIPTIONS
        .page(&Scan::all(), input.next_token.as_deref(), 100)
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListSubscriptionsOutput {
        subscriptions: page.items.into_iter().map(|(_, s)| view(s)).collect(),
        next_token: page.next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListByTopicInput {
    topic_arn: String,
    next_token: Option<String>,
}

pub fn list_subscriptions_by_topic(
    ctx: &Context,
    input: ListByTopicInput,
) -> Result<ListSubscriptionsOutput, AwsError> {
    let topic = load_topic(ctx, &input.topic_arn)?;
    let page = SUBSCRIPTIONS
        .page(
            &Scan::prefix(keys::prefix(&[&topic.name])),
            input.next_token.as_deref(),
            100,
        )
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListSubscriptionsOutput {
        subscriptions: page.items.into_iter().map(|(_, s)| view(s)).collect(),
        next_token: page.next_token,
    })
}

pub fn get_subscription_attributes(
    ctx: &Context,
    input: SubscriptionArnInput,
) -> Result<AttributesOutput, AwsError> {
    let (_, sub) = load_subscription(ctx, &input.subscription_arn)?;
    let mut a = sub.attributes.clone();
    a.insert("SubscriptionArn".into(), sub.arn.clone());
    a.insert("TopicArn".into(), sub.topic_arn.clone());
    a.insert("Owner".into(), sub.owner.clone());
    a.insert("Protocol".into(), sub.protocol.clone());
    a.insert("Endpoint".into(), sub.endpoint.clone());
    a.insert("PendingConfirmation".into(), sub.pending.to_string());
    a.insert(
        "ConfirmationWasAuthenticated".into(),
        (!sub.pending).to_string(),
    );
    a.insert(
        "SubscriptionPrincipal".into(),
        format!("arn:{}:iam::{}:root", ctx.partition(), sub.owner),
    );
    a.entry("RawMessageDelivery".into())
        .or_insert_with(|| "false".into());
    if a.contains_key("FilterPolicy") {
        a.entry("FilterPolicyScope".into())
            .or_insert_with(|| "MessageAttributes".into());
    }
    if matches!(sub.protocol.as_str(), "http" | "https") {
        a.insert(
            "EffectiveDeliveryPolicy".into(),
            sub.attributes
                .get("DeliveryPolicy")
                .cloned()
                .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_string()),
        );
    }
    Ok(AttributesOutput { attributes: a })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubscriptionAttributeInput {
    subscription_arn: String,
    attribute_name: String,
    attribute_value: Option<String>,
}

pub fn set_subscription_attributes(
    ctx: &Context,
    input: SetSubscriptionAttributeInput,
) -> Result<Empty, AwsError> {
    let (key, mut sub) = load_subscription(ctx, &input.subscription_arn)?;
    let value = input.attribute_value.unwrap_or_default();
    let name = input.attribute_name;
    if !SETTABLE.contains(&name.as_str()) {
        return Err(invalid("Invalid parameter: AttributeName"));
    }
    let scope_body = if name == "FilterPolicyScope" {
        value == "MessageBody"
    } else {
        sub.attributes.get("FilterPolicyScope").map(String::as_str) == Some("MessageBody")
    };
    check_subscription_attribute(&name, &value, &sub.protocol, scope_body).map_err(invalid)?;
    // A scope change must keep the current policy valid.
    if name == "FilterPolicyScope"
        && let Some(policy) = sub.attributes.get("FilterPolicy")
    {
        filter::parse(policy, scope_body).map_err(invalid)?;
    }
    if value.is_empty() {
        sub.attributes.remove(&name);
        if name == "FilterPolicy" {
            sub.attributes.remove("FilterPolicyScope");
        }
    } else {
        let value = if name == "RawMessageDelivery" {
            bool_attr(&value).unwrap_or(false).to_string()
        } else {
            value
        };
        sub.attributes.insert(name, value);
    }
    SUBSCRIPTIONS.put(&key, &sub)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_per_protocol() {
        assert!(check_endpoint("http", "http://example.com/x").is_ok());
        assert!(check_endpoint("http", "https://example.com/x").is_err());
        assert!(check_endpoint("https", "https://example.com/x").is_ok());
        assert!(check_endpoint("email", "a@b.com").is_ok());
        assert!(check_endpoint("email", "nope").is_err());
        assert!(check_endpoint("sms", "+15555550100").is_ok());
        assert!(check_endpoint("sms", "call me").is_err());
        assert!(check_endpoint("sqs", "arn:aws:sqs:us-east-1:000000000000:q").is_ok());
        assert_eq!(
            check_endpoint("sqs", "q").unwrap_err(),
            "Invalid parameter: SQS endpoint ARN"
        );
        assert!(
            check_endpoint("lambda", "arn:aws:lambda:us-east-1:000000000000:function:f").is_ok()
        );
        assert!(
            check_endpoint("carrier-pigeon", "x")
                .unwrap_err()
                .contains("does not support this protocol")
        );
    }

    #[test]
    fn subscription_attributes() {
        assert!(check_subscription_attribute("RawMessageDelivery", "true", "sqs", false).is_ok());
        assert!(check_subscription_attribute("RawMessageDelivery", "yes", "sqs", false).is_err());
        assert!(
            check_subscription_attribute("RawMessageDelivery", "true", "email", false).is_err()
        );
        assert!(
            check_subscription_attribute("FilterPolicyScope", "MessageBody", "sqs", false).is_ok()
        );
        assert!(check_subscription_attribute("FilterPolicyScope", "Body", "sqs", false).is_err());
        assert!(check_subscription_attribute("FilterPolicy", "{\"a\": [1]}", "sqs", false).is_ok());
        assert!(check_subscription_attribute("FilterPolicy", "{\"a\": 1}", "sqs", false).is_err());
        assert!(
            check_subscription_attribute(
                "RedrivePolicy",
                "{\"deadLetterTargetArn\": \"arn:aws:sqs:us-east-1:000000000000:dlq\"}",
                "sqs",
                false
            )
            .is_ok()
        );
        assert!(
            check_subscription_attribute(
                "RedrivePolicy",
                "{\"deadLetterTargetArn\": \"x\"}",
                "sqs",
                false
            )
            .is_err()
        );
        assert!(check_subscription_attribute("Color", "x", "sqs", false).is_err());
    }
}
