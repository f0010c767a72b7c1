//! What filters produce, delivered after the request that put the events
//! commits: metric data to CloudWatch (`monitoring` PutMetricData) and the
//! gzip'd `awslogs` payload of subscription filters to Lambda (Invoke,
//! asynchronous), Kinesis (PutRecord), Firehose (PutRecordBatch) or a Logs
//! destination (its target).

use std::collections::BTreeMap;
use std::io::Write;

use ministack_sdk::encoding::base64_encode;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::groups::DESTINATIONS;
use crate::pattern::Pattern;
use crate::shapes::MetricTransformation;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsJob {
    pub namespace: String,
    pub data: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryEvent {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extracted_fields: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub owner: String,
    pub log_group: String,
    pub log_stream: String,
    pub filter_name: String,
    pub destination_arn: String,
    pub events: Vec<DeliveryEvent>,
}

/// The metric data one transformation makes of a batch: one datum per
/// matching event, or the default value once when none matched.
pub fn metric_data(p: &Pattern, t: &MetricTransformation, events: &[(i64, String)]) -> Vec<Value> {
    let mut out = Vec::new();
    let lookup = |spec: &str, ex: &BTreeMap<String, String>| -> Option<String> {
        if spec.starts_with('$') {
            ex.get(spec).cloned()
        } else {
            Some(spec.to_string())
        }
    };
    for (ts, msg) in events {
        let Some(ex) = p.matches(msg) else { continue };
        let Some(value) = lookup(t.metric_value.trim(), &ex).and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        let mut dims = Vec::new();
        for (name, spec) in t.dimensions.iter().flatten() {
            if let Some(v) = lookup(spec, &ex) {
                dims.push(json!({"Name": name, "Value": v}));
            }
        }
        out.push(datum(t, value, *ts, dims));
    }
    if out.is_empty()
        && let Some(d) = t.default_value
        && let Some((ts, _)) = events.last()
    {
        out.push(datum(t, d, *ts, Vec::new()));
    }
    out
}

fn datum(t: &MetricTransformation, value: f64, ts: i64, dims: Vec<Value>) -> Value {
    let mut d = json!({
        "MetricName": t.metric_name,
        "Value": value,
        "Timestamp": ts as f64 / 1000.0,
    });
    if let Some(u) = &t.unit {
        d["Unit"] = json!(u.as_str());
    }
    if !dims.is_empty() {
        d["Dimensions"] = json!(dims);
    }
    d
}

pub fn emit_metrics(ctx: &Context, job: MetricsJob) -> Result<(), AwsError> {
    let input = json!({"Namespace": job.namespace, "MetricData": job.data}).to_string();
    // The CloudWatch plugin's name in the bundle ("cloudwatch"), or its
    // signing name, for a bundle that names it so.
    let mut result = services::call_json(&Target::new("cloudwatch", ctx), "PutMetricData", &input);
    if result.is_err() {
        result = services::call_json(&Target::new("monitoring", ctx), "PutMetricData", &input)
            .or(result);
    }
    if let Err(e) = result {
        // No monitoring plugin loaded (or it refused): the metric is lost,
        // as it would be for a filter whose metric cannot be published.
        ministack_sdk::warn!(
            "metric filter data for {} not published: {} {}",
            job.namespace,
            e.code,
            e.message
        );
    }
    Ok(())
}

/// The `awslogs` message of a delivery, gzip'd.
pub fn payload(job: &DeliveryJob) -> Vec<u8> {
    let msg = json!({
        "messageType": "DATA_MESSAGE",
        "owner": job.owner,
        "logGroup": job.log_group,
        "logStream": job.log_stream,
        "subscriptionFilters": [job.filter_name],
        "logEvents": job.events,
    });
    gzip(msg.to_string().as_bytes())
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

pub fn deliver(ctx: &Context, job: DeliveryJob) -> Result<(), AwsError> {
    let data = payload(&job);
    if let Err(e) = send(ctx, &job.destination_arn, &data, &job.log_stream, 0) {
        ministack_sdk::warn!(
            "subscription filter {} of {} could not deliver to {}: {} {}",
            job.filter_name,
            job.log_group,
            job.destination_arn,
            e.code,
            e.message
        );
    }
    Ok(())
}

fn send(ctx: &Context, arn: &str, data: &[u8], key: &str, depth: u32) -> Result<(), AwsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (service, account, region, resource) = match parts.as_slice() {
        [_, _, s, r, a, res] => (*s, *a, *r, *res),
        _ => return Err(AwsError::validation(format!("bad destination ARN {arn}"))),
    };
    let account = if account.is_empty() {
        &ctx.account
    } else {
        account
    };
    let target = Target::at(service, account, region);
    match service {
        "lambda" => {
            let event = json!({"awslogs": {"data": base64_encode(data)}});
            services::call_json(
                &target,
                "Invoke",
                &json!({
                    "FunctionName": arn,
                    "InvocationType": "Event",
                    "Payload": base64_encode(event.to_string().as_bytes()),
                })
                .to_string(),
            )?;
        }
        "kinesis" => {
            let name = resource.strip_prefix("stream/").unwrap_or(resource);
            services::call_json(
                &target,
                "PutRecord",
                &json!({"StreamName": name, "Data": base64_encode(data), "PartitionKey": key})
                    .to_string(),
            )?;
        }
        "firehose" => {
            let name = resource.strip_prefix("deliverystream/").unwrap_or(resource);
            services::call_json(
                &target,
                "PutRecordBatch",
                &json!({"DeliveryStreamName": name, "Records": [{"Data": base64_encode(data)}]})
                    .to_string(),
            )?;
        }
        "logs" if depth == 0 => {
            let name = resource.strip_prefix("destination:").unwrap_or(resource);
            if account != ctx.account {
                return Err(AwsError::not_implemented(
                    "delivery to a destination of another account",
                ));
            }
            let d = DESTINATIONS
                .get(name)?
                .ok_or_else(|| crate::not_found("The specified destination does not exist."))?;
            let target_arn = d.info.target_arn.unwrap_or_default();
            return send(ctx, &target_arn, data, key, depth + 1);
        }
        other => {
            return Err(AwsError::validation(format!(
                "unsupported destination service {other}"
            )));
        }
    }
    Ok(())
}
