//! Delivery to a target ARN through `services.call`, in the ARN's own
//! account and region: the target types EventBridge rules and EventBridge
//! Pipes share (Pipes compiles this file in with `#[path]`, as the
//! scheduler does `schedule.rs`). API destinations are the caller's (they
//! live in the events plugin's tables).

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, time};
use serde_json::{Value, json};

/// A delivery failure: AWS error code and message, and whether retrying
/// can help (a service missing from the bundle cannot).
pub struct Failure {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// One delivery: the target, the text it gets, and the per-type parameters.
#[derive(Default)]
pub struct Delivery {
    pub arn: String,
    pub body: String,
    /// The gateway's URL (SQS queue URLs are built from it).
    pub endpoint: String,
    /// FIFO queues: message group (required) and deduplication id.
    pub message_group_id: Option<String>,
    pub deduplication_id: String,
    /// Kinesis partition key.
    pub partition_key: String,
    /// Lambda and Step Functions: wait for the outcome (`REQUEST_RESPONSE`)
    /// instead of the asynchronous `Event` / `StartExecution`.
    pub synchronous: bool,
    /// CloudWatch Logs stream (created when missing).
    pub log_stream: String,
    /// Event bus targets: the PutEvents entry (Source, DetailType, Detail,
    /// Resources); `EventBusName` is added.
    pub bus_entry: Option<Value>,
    /// The rule, pipe or schedule delivering (and the target's role): under
    /// ENFORCE_IAM the target must allow it (services.call-from).
    pub source: Option<services::Source>,
}

/// The services this module delivers to (by ARN service name).
pub fn delivers_to(service: &str, resource: &str) -> bool {
    matches!(
        service,
        "sqs" | "sns" | "lambda" | "states" | "kinesis" | "firehose" | "logs"
    ) || (service == "events" && resource.starts_with("event-bus/"))
}

pub fn queue_url(endpoint: &str, queue: &Arn) -> String {
    format!(
        "{}/{}/{}",
        endpoint.trim_end_matches('/'),
        queue.account,
        queue.resource
    )
}

pub fn failure(e: AwsError) -> Failure {
    // A target that does not allow the delivery fails at once, without
    // retries (AWS's NO_PERMISSIONS).
    if e.code.starts_with("AccessDenied") {
        return Failure {
            code: "NO_PERMISSIONS".into(),
            message: e.message,
            retryable: false,
        };
    }
    Failure {
        retryable: !e.message.contains("is not enabled in this gateway"),
        code: e.code,
        message: e.message,
    }
}

fn call(d: &Delivery, service: &str, arn: &Arn, op: &str, input: Value) -> Result<Value, Failure> {
    call_text(d, service, arn, op, &input.to_string())
}

fn call_text(
    d: &Delivery,
    service: &str,
    arn: &Arn,
    op: &str,
    input: &str,
) -> Result<Value, Failure> {
    let target = Target::at(service, &arn.account, &arn.region);
    let out = match &d.source {
        Some(source) => services::call_from(source, &target, op, input),
        None => services::call_json(&target, op, input),
    }
    .map_err(failure)?;
    Ok(serde_json::from_str(&out).unwrap_or(Value::Null))
}

/// Appends an SQS body member: the body attached to the call as it is
/// (`services::Input`), neither escaped into a JSON string here nor
/// unescaped there (docs/services/sqs.md).
pub fn push_sqs_body(input: &mut services::Input, body: &str) {
    input.json.push_str("\"MessageBodyAttached\":");
    input.attach(body);
}

/// Sends `d.body` to `d.arn`.
pub fn send(d: &Delivery) -> Result<(), Failure> {
    let arn = Arn::parse(&d.arn).ok_or_else(|| Failure {
        code: "InvalidArn".into(),
        message: format!("Target ARN {} is not valid.", d.arn),
        retryable: false,
    })?;
    let body = d.body.as_str();
    match arn.service.as_str() {
        "sqs" => {
            let mut input = json!({"QueueUrl": queue_url(&d.endpoint, &arn)});
            if arn.resource.ends_with(".fifo") {
                input["MessageGroupId"] = json!(d.message_group_id.clone().unwrap_or_default());
                input["MessageDeduplicationId"] = json!(d.deduplication_id);
            }
            let mut text = services::Input::new();
            text.json = input.to_string();
            text.json.pop();
            text.json.push(',');
            push_sqs_body(&mut text, body);
            text.json.push('}');
            call_text(d, "sqs", &arn, "SendMessage", &text.into_text()).map(|_| ())
        }
        "sns" => call(
            d,
            "sns",
            &arn,
            "Publish",
            json!({"TopicArn": d.arn, "Message": body}),
        )
        .map(|_| ()),
        "lambda" => {
            let out = call(
                d,
                "lambda",
                &arn,
                "Invoke",
                json!({
                    "FunctionName": d.arn,
                    "InvocationType": if d.synchronous { "RequestResponse" } else { "Event" },
                    "Payload": encoding::base64_encode(body.as_bytes()),
                }),
            )?;
            match out.get("FunctionError").and_then(Value::as_str) {
                Some(kind) => Err(Failure {
                    code: "Lambda.FunctionError".into(),
                    message: format!("The function failed ({kind})."),
                    retryable: true,
                }),
                None => Ok(()),
            }
        }
        "states" => {
            let op = if d.synchronous {
                "StartSyncExecution"
            } else {
                "StartExecution"
            };
            let out = call(
                d,
                "stepfunctions",
                &arn,
                op,
                json!({"stateMachineArn": d.arn, "input": body}),
            )?;
            match out.get("status").and_then(Value::as_str) {
                Some("FAILED" | "TIMED_OUT" | "ABORTED") => Err(Failure {
                    code: "States.ExecutionFailed".into(),
                    message: format!(
                        "The execution ended {}.",
                        out["status"].as_str().unwrap_or_default()
                    ),
                    retryable: true,
                }),
                _ => Ok(()),
            }
        }
        "kinesis" => call(
            d,
            "kinesis",
            &arn,
            "PutRecord",
            json!({
                "StreamARN": d.arn,
                "Data": encoding::base64_encode(body.as_bytes()),
                "PartitionKey": d.partition_key,
            }),
        )
        .map(|_| ()),
        "firehose" => call(
            d,
            "firehose",
            &arn,
            "PutRecord",
            json!({
                "DeliveryStreamName": arn.resource_name(),
                "Record": {"Data": encoding::base64_encode(body.as_bytes())},
            }),
        )
        .map(|_| ()),
        "logs" => {
            let group = arn
                .resource
                .strip_prefix("log-group:")
                .unwrap_or(&arn.resource)
                .trim_end_matches(":*")
                .to_string();
            // An existing stream is fine.
            let _ = call(
                d,
                "logs",
                &arn,
                "CreateLogStream",
                json!({"logGroupName": group, "logStreamName": d.log_stream}),
            );
            call(
                d,
                "logs",
                &arn,
                "PutLogEvents",
                json!({
                    "logGroupName": group,
                    "logStreamName": d.log_stream,
                    "logEvents": [{"timestamp": time::now_millis(), "message": body}],
                }),
            )
            .map(|_| ())
        }
        "events" if arn.resource.starts_with("event-bus/") => {
            let mut entry = d.bus_entry.clone().unwrap_or_else(|| json!({}));
            entry["EventBusName"] = json!(d.arn);
            let out =
                call(d, "events", &arn, "PutEvents", json!({"Entries": [entry]})).map_err(|f| {
                    Failure {
                        retryable: true,
                        ..f
                    }
                })?;
            match out["Entries"][0].get("ErrorCode").and_then(Value::as_str) {
                Some(code) => Err(Failure {
                    code: code.to_string(),
                    message: out["Entries"][0]["ErrorMessage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    retryable: false,
                }),
                None => Ok(()),
            }
        }
        other => Err(Failure {
            code: "NotAvailable".into(),
            message: format!("Targets of service {other} are not available in this gateway."),
            retryable: false,
        }),
    }
}
