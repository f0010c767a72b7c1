//! Events to EventBridge: each successful write operation is published on
//! the account's default event bus as CloudTrail delivers it to EventBridge
//! (`source: aws.secretsmanager`, `detail-type: AWS API Call via
//! CloudTrail`). Secret values never appear in an event. Without an events
//! plugin nothing is sent.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{ids, time};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Members CloudTrail redacts from `requestParameters`.
const SECRET_MEMBERS: &[&str] = &["SecretString", "SecretBinary"];

fn publish(ctx: &Context, operation: &str, input: &Value, output: &Value) {
    let mut request = input.clone();
    if let Some(o) = request.as_object_mut() {
        for m in SECRET_MEMBERS {
            o.remove(*m);
        }
    }
    let caller = if ctx.caller_arn.is_empty() {
        format!("arn:aws:iam::{}:root", ctx.account)
    } else {
        ctx.caller_arn.clone()
    };
    let detail = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ctx.account, "arn": caller,
                          "accessKeyId": ctx.access_key_id},
        "eventTime": time::iso8601(time::now_secs()),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": operation,
        "awsRegion": ctx.region,
        "requestParameters": lower_keys(&request),
        "responseElements": lower_keys(&output_without_secrets(output)),
        "requestID": ctx.request_id,
        "eventID": ids::uuid(),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ctx.account,
        "eventCategory": "Management",
    });
    let resources: Vec<&str> = output
        .get("ARN")
        .and_then(Value::as_str)
        .into_iter()
        .collect();
    let entry = json!({
        "Source": "aws.secretsmanager",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": detail.to_string(),
        "Resources": resources,
        "EventBusName": "default",
    });
    // No events plugin, or a failed delivery, never fails the write.
    let _ = services::call::<_, Value>(
        &Target::new("events", ctx),
        "PutEvents",
        &json!({"Entries": [entry]}),
    );
}

fn output_without_secrets(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for m in SECRET_MEMBERS {
            o.remove(*m);
        }
    }
    v
}

/// CloudTrail writes members in lowerCamelCase (`secretId`).
fn lower_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) => f.to_lowercase().chain(c).collect(),
                        None => String::new(),
                    };
                    (key, lower_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

/// A write operation's handler that also publishes its event.
pub fn published<In, Out>(
    operation: &'static str,
    handler: fn(&Context, In) -> Result<Out, AwsError>,
) -> impl Fn(&Context, Value) -> Result<Value, AwsError> + Send + Sync + 'static
where
    In: DeserializeOwned + 'static,
    Out: Serialize + 'static,
{
    move |ctx: &Context, input: Value| {
        let typed: In = serde_json::from_value(input.clone())
            .map_err(|e| AwsError::validation(format!("Invalid input for {operation}: {e}")))?;
        let out = serde_json::to_value(handler(ctx, typed)?)
            .map_err(|e| AwsError::internal(e.to_string()))?;
        publish(ctx, operation, &input, &out);
        Ok(out)
    }
}
