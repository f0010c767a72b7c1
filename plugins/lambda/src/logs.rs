//! Each invoke's log text goes to CloudWatch Logs, as AWS's runtime does:
//! group `/aws/lambda/<function>` (or the function's LoggingConfig group),
//! stream `YYYY/MM/DD/[<version>]<id>`. Shipped from a task after the
//! invoke's unit commits (through `services.call` to the `logs` plugin), so
//! an invoke never waits for it; without a `logs` plugin the text is dropped
//! with a warning.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{tasks, time};
use serde_json::json;

pub const TASK: &str = "ship-logs";

#[derive(Serialize, Deserialize)]
pub struct Shipment {
    group: String,
    stream: String,
    text: String,
    at_ms: i64,
}

/// Schedules the shipment of one invoke's log text (errors only logged: the
/// invoke itself succeeded).
pub fn ship(group: &str, stream: &str, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    let s = Shipment {
        group: group.to_string(),
        stream: stream.to_string(),
        text: text.to_string(),
        at_ms: time::now_millis() as i64,
    };
    if let Err(e) = tasks::schedule(Duration::ZERO, TASK, &s) {
        ministack_sdk::warn!("cannot schedule log shipment: {}", e.message);
    }
}

pub fn run(ctx: &Context, s: Shipment) -> Result<(), AwsError> {
    let logs = Target::new("logs", ctx);
    let events: Vec<_> = s
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(10_000)
        .map(|l| json!({"timestamp": s.at_ms, "message": l}))
        .collect();
    let put = json!({"logGroupName": s.group, "logStreamName": s.stream, "logEvents": events});
    let mut result = services::call_json(&logs, "PutLogEvents", &put.to_string());
    if result
        .as_ref()
        .is_err_and(|e| e.code == "ResourceNotFoundException")
    {
        // First invoke of this function (or of this worker): create both.
        let group = json!({"logGroupName": s.group}).to_string();
        let stream = json!({"logGroupName": s.group, "logStreamName": s.stream}).to_string();
        for (op, body) in [("CreateLogGroup", group), ("CreateLogStream", stream)] {
            if let Err(e) = services::call_json(&logs, op, &body)
                && e.code != "ResourceAlreadyExistsException"
            {
                ministack_sdk::warn!("{op} {} failed: {} {}", s.group, e.code, e.message);
            }
        }
        result = services::call_json(&logs, "PutLogEvents", &put.to_string());
    }
    if let Err(e) = result {
        ministack_sdk::warn!(
            "invoke logs for {} not written: {} {}",
            s.group,
            e.code,
            e.message
        );
    }
    Ok(())
}
