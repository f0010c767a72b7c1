//! CloudFormation / Cloud Control resource types of SNS (see
//! docs/resources.md): AWS::SNS::Topic, AWS::SNS::Subscription and
//! AWS::SNS::TopicPolicy, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, tags, value_text,
};
use serde_json::{Map, Value, json};

use crate::Sns;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::SNS::Topic", topic_create, topic_delete)
            .primary_identifier(&["TopicArn"])
            .create_only(&["TopicName", "FifoTopic"])
            .read_only(&["TopicArn"])
            .attributes(&["TopicArn", "TopicName"])
            .update(topic_update)
            .list(topic_list),
        ResourceType::new("AWS::SNS::Subscription", sub_create, sub_delete)
            .primary_identifier(&["Arn"])
            .required(&["TopicArn", "Protocol"])
            .create_only(&["TopicArn", "Protocol", "Endpoint"])
            .attributes(&["Arn"])
            .update(sub_update),
        ResourceType::new("AWS::SNS::TopicPolicy", policy_create, policy_delete)
            .primary_identifier(&["Id"])
            .required(&["PolicyDocument", "Topics"])
            .update(policy_create),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Sns>(ctx, op, &input)
}

fn text_or_json(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => v.to_string(),
        other => value_text(other),
    }
}

const TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "KmsMasterKeyId",
    "FifoTopic",
    "ContentBasedDeduplication",
    "SignatureVersion",
    "TracingConfig",
    "ArchivePolicy",
    "DeliveryStatusLogging",
];

fn topic_event(arn: &str) -> ProgressEvent {
    let name = arn.rsplit(':').next().unwrap_or_default().to_string();
    ProgressEvent::success(arn)
        .attr("TopicArn", arn)
        .attr("TopicName", name)
}

fn topic_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let fifo = r
        .properties
        .get("FifoTopic")
        .is_some_and(|v| value_text(v) == "true");
    let name = match r.str("TopicName") {
        Some(n) => n.to_string(),
        None if fifo => format!("{}.fifo", r.generated_name(251)),
        None => r.generated_name(256),
    };
    let mut attrs = Map::new();
    for a in TOPIC_ATTRIBUTES {
        if let Some(v) = r
            .properties
            .get(*a)
            .filter(|_| *a != "DeliveryStatusLogging")
        {
            attrs.insert(a.to_string(), json!(text_or_json(v)));
        }
    }
    let mut input = json!({"Name": name, "Attributes": attrs});
    let tags: Vec<Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !tags.is_empty() {
        input["Tags"] = json!(tags);
    }
    let out = call(ctx, "CreateTopic", input)?;
    let arn = value_text(&out["TopicArn"]);
    for s in r
        .properties
        .get("Subscription")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        call(
            ctx,
            "Subscribe",
            json!({"TopicArn": arn, "Protocol": s["Protocol"], "Endpoint": s["Endpoint"]}),
        )?;
    }
    Ok(topic_event(&arn))
}

fn topic_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    for a in TOPIC_ATTRIBUTES {
        if matches!(*a, "FifoTopic" | "DeliveryStatusLogging") {
            continue;
        }
        let new = r.properties.get(*a);
        if new != r.previous_properties.get(*a) {
            call(
                ctx,
                "SetTopicAttributes",
                json!({"TopicArn": r.physical_id, "AttributeName": a, "AttributeValue": new.map(text_or_json).unwrap_or_default()}),
            )?;
        }
    }
    Ok(topic_event(&r.physical_id))
}

fn topic_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let out = call(ctx, "ListTopics", json!({}))?;
    let resources = out["Topics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let arn = value_text(&t["TopicArn"]);
            let mut props = Map::new();
            props.insert("TopicArn".into(), json!(arn));
            topic_event(&arn).with_properties(props)
        })
        .collect();
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}

fn topic_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteTopic", json!({"TopicArn": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

const SUB_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

fn sub_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut attrs = Map::new();
    for a in SUB_ATTRIBUTES {
        if let Some(v) = r.properties.get(*a) {
            attrs.insert(a.to_string(), json!(text_or_json(v)));
        }
    }
    let mut input = json!({
        "TopicArn": r.required_str("TopicArn")?,
        "Protocol": r.required_str("Protocol")?,
        "Attributes": attrs,
        "ReturnSubscriptionArn": true,
    });
    if let Some(e) = r.properties.get("Endpoint") {
        input["Endpoint"] = json!(value_text(e));
    }
    let out = call(ctx, "Subscribe", input)?;
    let arn = value_text(&out["SubscriptionArn"]);
    Ok(ProgressEvent::success(arn.clone()).attr("Arn", arn))
}

fn sub_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    for a in SUB_ATTRIBUTES {
        let new = r.properties.get(*a);
        if new != r.previous_properties.get(*a) {
            call(
                ctx,
                "SetSubscriptionAttributes",
                json!({"SubscriptionArn": r.physical_id, "AttributeName": a, "AttributeValue": new.map(text_or_json).unwrap_or_default()}),
            )?;
        }
    }
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Arn", r.physical_id.clone()))
}

fn sub_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "Unsubscribe",
        json!({"SubscriptionArn": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn topics(r: &ResourceRequest) -> Vec<String> {
    r.properties
        .get("Topics")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(value_text).collect())
        .unwrap_or_default()
}

fn policy_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let doc = text_or_json(&r.properties["PolicyDocument"]);
    for arn in topics(r) {
        call(
            ctx,
            "SetTopicAttributes",
            json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": doc}),
        )?;
    }
    let id = if r.physical_id.is_empty() {
        r.generated_name(128)
    } else {
        r.physical_id.clone()
    };
    Ok(ProgressEvent::success(id))
}

fn policy_delete(_: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    // AWS puts the default policy back; the topic's own default stays in place here.
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
