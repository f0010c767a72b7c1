//! CloudFormation / Cloud Control resource types of SQS (see
//! docs/resources.md): AWS::SQS::Queue and AWS::SQS::QueuePolicy, made
//! with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, tags, value_text,
};
use serde_json::{Map, Value, json};

use crate::Sqs;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::SQS::Queue", queue_create, queue_delete)
            .primary_identifier(&["QueueUrl"])
            .create_only(&["QueueName", "FifoQueue"])
            .read_only(&["Arn", "QueueUrl"])
            .attributes(&["Arn", "QueueName", "QueueUrl"])
            .update(queue_update)
            .read(queue_read)
            .list(queue_list),
        ResourceType::new("AWS::SQS::QueuePolicy", policy_create, policy_delete)
            .primary_identifier(&["Id"])
            .required(&["PolicyDocument", "Queues"])
            .update(policy_create),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Sqs>(ctx, op, &input)
}

/// Template properties → queue attributes (strings; policies as JSON text).
fn attributes(props: &Map<String, Value>) -> Map<String, Value> {
    const NAMES: &[&str] = &[
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "FifoQueue",
        "RedrivePolicy",
        "RedriveAllowPolicy",
    ];
    let mut out = Map::new();
    for name in NAMES {
        if let Some(v) = props.get(*name) {
            let text = match v {
                Value::Object(_) | Value::Array(_) => v.to_string(),
                other => value_text(other),
            };
            out.insert(name.to_string(), json!(text));
        }
    }
    out
}

fn arn_of(ctx: &Context, url: &str) -> String {
    let mut parts = url.rsplitn(3, '/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or(&ctx.account);
    format!(
        "arn:{}:sqs:{}:{account}:{name}",
        ctx.partition(),
        ctx.region
    )
}

fn event(ctx: &Context, url: &str) -> ProgressEvent {
    let name = url.rsplit('/').next().unwrap_or_default().to_string();
    ProgressEvent::success(url)
        .attr("Arn", arn_of(ctx, url))
        .attr("QueueName", name)
        .attr("QueueUrl", url)
}

fn queue_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let fifo = r
        .properties
        .get("FifoQueue")
        .is_some_and(|v| value_text(v) == "true");
    let name = match r.str("QueueName") {
        Some(n) => n.to_string(),
        None if fifo => format!("{}.fifo", r.generated_name(75)),
        None => r.generated_name(80),
    };
    let mut input = json!({"QueueName": name, "Attributes": attributes(&r.properties)});
    let tags: Map<String, Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    if !tags.is_empty() {
        input["tags"] = json!(tags);
    }
    let out = call(ctx, "CreateQueue", input)?;
    let url = value_text(&out["QueueUrl"]);
    Ok(event(ctx, &url))
}

fn queue_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut attrs = attributes(&r.properties);
    attrs.remove("FifoQueue");
    // Attributes the template no longer sets go back to their defaults.
    for (name, default) in [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("VisibilityTimeout", "30"),
        ("RedrivePolicy", ""),
    ] {
        if !attrs.contains_key(name) && r.previous_properties.contains_key(name) {
            attrs.insert(name.to_string(), json!(default));
        }
    }
    if !attrs.is_empty() {
        call(
            ctx,
            "SetQueueAttributes",
            json!({"QueueUrl": r.physical_id, "Attributes": attrs}),
        )?;
    }
    Ok(event(ctx, &r.physical_id))
}

fn queue_read(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let out = call(
        ctx,
        "GetQueueAttributes",
        json!({"QueueUrl": r.physical_id, "AttributeNames": ["All"]}),
    )?;
    let mut props = Map::new();
    if let Some(attrs) = out["Attributes"].as_object() {
        for (k, v) in attrs {
            if !matches!(
                k.as_str(),
                "QueueArn"
                    | "ApproximateNumberOfMessages"
                    | "ApproximateNumberOfMessagesNotVisible"
                    | "ApproximateNumberOfMessagesDelayed"
                    | "CreatedTimestamp"
                    | "LastModifiedTimestamp"
                    | "Policy"
            ) {
                props.insert(k.clone(), v.clone());
            }
        }
    }
    let e = event(ctx, &r.physical_id);
    props.insert("QueueName".into(), e.attributes["QueueName"].clone());
    props.insert("QueueUrl".into(), json!(r.physical_id));
    props.insert("Arn".into(), e.attributes["Arn"].clone());
    Ok(e.with_properties(props))
}

fn queue_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let out = call(ctx, "ListQueues", json!({}))?;
    let resources = out["QueueUrls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            let url = value_text(u);
            let e = event(ctx, &url);
            let mut props = Map::new();
            props.insert("QueueUrl".into(), json!(url));
            e.with_properties(props)
        })
        .collect();
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}

fn queue_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteQueue", json!({"QueueUrl": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn queues(r: &ResourceRequest) -> Vec<String> {
    r.properties
        .get("Queues")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(value_text).collect())
        .unwrap_or_default()
}

fn policy_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let doc = match &r.properties["PolicyDocument"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for url in queues(r) {
        call(
            ctx,
            "SetQueueAttributes",
            json!({"QueueUrl": url, "Attributes": {"Policy": doc}}),
        )?;
    }
    let id = if r.physical_id.is_empty() {
        r.generated_name(128)
    } else {
        r.physical_id.clone()
    };
    Ok(ProgressEvent::success(id))
}

fn policy_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    for url in queues(r) {
        // A queue deleted first leaves nothing to clear.
        let _ = call(
            ctx,
            "SetQueueAttributes",
            json!({"QueueUrl": url, "Attributes": {"Policy": ""}}),
        );
    }
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
