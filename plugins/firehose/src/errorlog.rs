//! Error logging to CloudWatch Logs, as `CloudWatchLoggingOptions` asks:
//! each failed delivery attempt and each record a processor fails becomes
//! one JSON event (`deliveryStreamARN`, `destination`,
//! `deliveryStreamVersionId`, `message`, `errorCode`, and `processor` for
//! a Lambda failure) in the configured group and stream. Shipped by a task
//! after the delivery's unit commits (through `services.call` to the
//! `logs` plugin), so delivery never waits on it. AWS drops events whose
//! group or stream does not exist; here a missing stream of an existing
//! group is created (a local convenience, docs/services/firehose.md), and
//! without a `logs` plugin the events are dropped with a warning.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{tasks, time};
use serde_json::{Value, json};

use crate::Stream;

pub const TASK: &str = "log-errors";

#[derive(Serialize, Deserialize)]
pub struct Shipment {
    group: String,
    stream: String,
    messages: Vec<String>,
    at_ms: i64,
}

/// The logging options of the destination configuration `conf`, when on.
fn target(conf: &Value) -> Option<(String, String)> {
    let o = &conf["CloudWatchLoggingOptions"];
    if o["Enabled"] != true {
        return None;
    }
    Some((
        o["LogGroupName"].as_str()?.to_string(),
        o["LogStreamName"].as_str()?.to_string(),
    ))
}

/// Where the records were going, as AWS names it in the event.
fn destination(s: &Stream, conf: &Value) -> Value {
    match (
        conf["BucketARN"].as_str(),
        conf["EndpointConfiguration"]["Url"].as_str(),
    ) {
        (Some(bucket), _) => json!(bucket),
        (_, Some(url)) => json!(url),
        _ => json!(s.dest_kind),
    }
}

/// Schedules one event per `(code, message, processor)` (errors only
/// logged: the delivery goes on whatever happens to its log).
pub fn report(s: &Stream, conf: &Value, errors: &[(&str, &str, Option<&str>)]) {
    let Some((group, stream)) = target(conf) else {
        return;
    };
    let messages = errors
        .iter()
        .map(|(code, message, processor)| {
            let mut event = json!({
                "deliveryStreamARN": s.arn,
                "destination": destination(s, conf),
                "deliveryStreamVersionId": s.version,
                "message": message,
                "errorCode": code,
            });
            if let Some(p) = processor {
                event["processor"] = json!(p);
            }
            event.to_string()
        })
        .collect();
    let shipment = Shipment {
        group,
        stream,
        messages,
        at_ms: time::now_millis() as i64,
    };
    if let Err(e) = tasks::schedule(Duration::ZERO, TASK, &shipment) {
        ministack_sdk::warn!("cannot schedule firehose error log: {}", e.message);
    }
}

pub fn run(ctx: &Context, s: Shipment) -> Result<(), AwsError> {
    let logs = Target::new("logs", ctx);
    let events: Vec<_> = s
        .messages
        .iter()
        .map(|m| json!({"timestamp": s.at_ms, "message": m}))
        .collect();
    let put = json!({"logGroupName": s.group, "logStreamName": s.stream, "logEvents": events})
        .to_string();
    let mut result = services::call_json(&logs, "PutLogEvents", &put);
    if result
        .as_ref()
        .is_err_and(|e| e.code == "ResourceNotFoundException")
    {
        let create = json!({"logGroupName": s.group, "logStreamName": s.stream}).to_string();
        if services::call_json(&logs, "CreateLogStream", &create).is_ok() {
            result = services::call_json(&logs, "PutLogEvents", &put);
        }
    }
    if let Err(e) = result {
        ministack_sdk::warn!(
            "firehose error log to {}/{} not written: {} {}",
            s.group,
            s.stream,
            e.code,
            e.message
        );
    }
    Ok(())
}
