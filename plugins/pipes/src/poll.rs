//! A running pipe's poller: one batch per `poll` task, then the next poll,
//! or a sleep on the source's topic when the source is empty.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, tasks, time};
use serde_json::{Value, json};

use crate::shapes::*;
use crate::targets::{self, Delivery, Failure};
use crate::{PIPES, Source, Stored, pattern, render, source_of, view};

pub const POLL: &str = "poll";

/// Idle time between polls of a source that announces nothing (Kinesis,
/// or a source in another account or region).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Longest sleep on an SQS queue's topic (delays and visibility timeouts
/// ending are not announced).
const SQS_WAIT: Duration = Duration::from_secs(1);
/// Longest sleep on a DynamoDB stream's topic (every record is announced).
const STREAM_WAIT: Duration = Duration::from_secs(10);

#[derive(Serialize, Deserialize)]
pub struct Poll {
    pub name: String,
    pub generation: u64,
}

impl Poll {
    pub fn of(s: &Stored) -> Poll {
        Poll {
            name: s.pipe.name.clone().unwrap_or_default(),
            generation: s.generation,
        }
    }
}

pub fn streams_call(arn: &Arn, op: &str, input: Value) -> Result<Value, AwsError> {
    services::call(
        &Target::at("dynamodbstreams", &arn.account, &arn.region),
        op,
        &input,
    )
}

pub fn kinesis_call(arn: &Arn, op: &str, input: Value) -> Result<Value, AwsError> {
    services::call(
        &Target::at("kinesis", &arn.account, &arn.region),
        op,
        &input,
    )
}

/// A stream source about to run for the first time with `LATEST`: its
/// positions start at the stream's current end.
pub fn start(s: &mut Stored) -> Result<(), AwsError> {
    let source = s.pipe.source.clone().unwrap_or_default();
    let params = s.pipe.source_parameters.clone().unwrap_or_default();
    let latest = match source_of(&source) {
        Some(Source::DynamoDb) => params
            .dynamo_db_stream_parameters
            .is_some_and(|p| p.starting_position == "LATEST"),
        Some(Source::Kinesis) => params
            .kinesis_stream_parameters
            .is_some_and(|p| p.starting_position == "LATEST"),
        _ => false,
    };
    if latest && s.positions.is_empty() {
        s.positions = stream_ends(&source).unwrap_or_default();
        // An empty stream: a marker, so LATEST is not looked up again.
        s.positions.entry(String::new()).or_default();
    }
    Ok(())
}

/// The `poll` task.
pub fn poll(ctx: &Context, p: Poll) -> Result<(), AwsError> {
    let Some(s) = PIPES.get(&p.name)? else {
        return Ok(());
    };
    if s.generation != p.generation
        || s.pipe
            .current_state
            .as_ref()
            .is_none_or(|c| *c != "RUNNING")
    {
        return Ok(());
    }
    let source = s.pipe.source.clone().unwrap_or_default();
    let topic = source_topic(ctx, &source)
        .and_then(|(svc, t, d)| Some((svc, tasks::topic_generation(svc, &t).ok()?, t, d)));
    let busy = match source_of(&source) {
        Some(Source::Sqs) => poll_sqs(ctx, &s, &source),
        Some(Source::DynamoDb | Source::Kinesis) => poll_stream(ctx, &p, &source),
        None => Ok(false),
    }
    .unwrap_or_else(|e| {
        ministack_sdk::warn!("pipe {} poll failed: {} {}", p.name, e.code, e.message);
        false
    });
    let mut delay = if busy { Duration::ZERO } else { IDLE_POLL };
    if !busy
        && let Some((svc, seen, t, timeout)) = topic
        && tasks::wait_on(svc, &t, seen, timeout).is_ok()
    {
        delay = Duration::ZERO;
    }
    if let Some(s) = PIPES.get(&p.name)?
        && s.generation == p.generation
    {
        tasks::schedule(delay, POLL, &p)?;
    }
    Ok(())
}

fn source_topic(ctx: &Context, arn: &str) -> Option<(&'static str, String, Duration)> {
    let a = Arn::parse(arn)?;
    if a.account != ctx.account || a.region != ctx.region {
        return None;
    }
    match source_of(arn)? {
        Source::Sqs => Some(("sqs", format!("queue:{}", a.resource), SQS_WAIT)),
        Source::DynamoDb => Some(("dynamodb", format!("stream:{arn}"), STREAM_WAIT)),
        Source::Kinesis => None,
    }
}

/// Filters, enriches and delivers one batch of records.
fn process(ctx: &Context, pipe: &DescribePipeResponse, records: Vec<Value>) -> Result<(), Failure> {
    let patterns: Vec<Value> = pipe
        .source_parameters
        .as_ref()
        .and_then(|p| p.filter_criteria.as_ref())
        .and_then(|f| f.filters.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| pattern::parse(f.pattern.as_deref()?).ok())
        .collect();
    let events: Vec<Value> = records
        .into_iter()
        .filter(|r| patterns.is_empty() || patterns.iter().any(|p| pattern::matches(p, &view(r))))
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    let events = match pipe.enrichment.as_deref() {
        Some(arn) => enrich(ctx, pipe, arn, &events)?,
        None => events,
    };
    if events.is_empty() {
        return Ok(());
    }
    deliver(ctx, pipe, &events)
}

fn failed(code: &str, message: String) -> Failure {
    Failure {
        code: code.into(),
        message,
        retryable: true,
    }
}

/// Calls the enrichment with the batch (a JSON array); its answer is the new
/// batch (an array's elements, or one event).
fn enrich(
    _ctx: &Context,
    pipe: &DescribePipeResponse,
    arn: &str,
    events: &[Value],
) -> Result<Vec<Value>, Failure> {
    let a = Arn::parse(arn).ok_or_else(|| failed("InvalidArn", format!("{arn} is not valid")))?;
    let template = pipe
        .enrichment_parameters
        .as_ref()
        .and_then(|p| p.input_template.as_deref());
    let batch: Vec<Value> = events
        .iter()
        .map(|e| {
            let text = render(template, e, pipe);
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        })
        .collect();
    let input = Value::Array(batch).to_string();
    let output: Value = match a.service.as_str() {
        "lambda" => {
            let out: Value = services::call(
                &Target::at("lambda", &a.account, &a.region),
                "Invoke",
                &json!({
                    "FunctionName": arn,
                    "InvocationType": "RequestResponse",
                    "Payload": encoding::base64_encode(input.as_bytes()),
                }),
            )
            .map_err(|e| failed(&e.code, e.message))?;
            let bytes = out["Payload"]
                .as_str()
                .and_then(encoding::base64_decode)
                .unwrap_or_default();
            if let Some(kind) = out.get("FunctionError").and_then(Value::as_str) {
                return Err(failed(
                    "Lambda.FunctionError",
                    format!(
                        "The enrichment {arn} failed ({kind}): {}",
                        String::from_utf8_lossy(&bytes)
                    ),
                ));
            }
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        }
        "states" => {
            let out: Value = services::call(
                &Target::at("stepfunctions", &a.account, &a.region),
                "StartSyncExecution",
                &json!({"stateMachineArn": arn, "input": input}),
            )
            .map_err(|e| failed(&e.code, e.message))?;
            if out["status"] != "SUCCEEDED" {
                return Err(failed(
                    "States.ExecutionFailed",
                    format!("The enrichment {arn} ended {}.", out["status"]),
                ));
            }
            out["output"]
                .as_str()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null)
        }
        "events" => {
            let http = pipe
                .enrichment_parameters
                .as_ref()
                .and_then(|p| p.http_parameters.as_ref())
                .and_then(|h| serde_json::to_value(h).ok());
            let text = invoke_api_destination(&a, arn, http, input)?;
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        other => {
            return Err(Failure {
                code: "NotAvailable".into(),
                message: format!("Enrichments of service {other} are not available."),
                retryable: false,
            });
        }
    };
    Ok(match output {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        one => vec![one],
    })
}

/// Lambda and Step Functions targets take the batch in one invocation;
/// the others one event at a time.
fn deliver(ctx: &Context, pipe: &DescribePipeResponse, events: &[Value]) -> Result<(), Failure> {
    let target = pipe.target.clone().unwrap_or_default();
    let a = Arn::parse(&target)
        .ok_or_else(|| failed("InvalidArn", format!("{target} is not valid")))?;
    let params = pipe.target_parameters.clone().unwrap_or_default();
    let template = params.input_template.as_deref();
    let name = pipe.name.clone().unwrap_or_default();
    let base = Delivery {
        arn: target.clone(),
        endpoint: ctx.endpoint.clone(),
        log_stream: params
            .cloud_watch_logs_parameters
            .as_ref()
            .and_then(|p| p.log_stream_name.clone())
            .unwrap_or_else(|| name.clone()),
        // Pipes call targets as the pipe's execution role.
        source: Some(
            services::Source::resource(pipe.arn.as_deref().unwrap_or_default(), &ctx.account)
                .with_role(pipe.role_arn.as_deref()),
        ),
        ..Default::default()
    };
    if matches!(a.service.as_str(), "lambda" | "states") {
        let batch: Vec<Value> = events
            .iter()
            .map(|e| {
                let text = render(template, e, pipe);
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            })
            .collect();
        let invocation = if a.service == "lambda" {
            params
                .lambda_function_parameters
                .as_ref()
                .and_then(|p| p.invocation_type.as_ref())
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "REQUEST_RESPONSE".into())
        } else {
            params
                .step_function_state_machine_parameters
                .as_ref()
                .and_then(|p| p.invocation_type.as_ref())
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "FIRE_AND_FORGET".into())
        };
        return targets::send(&Delivery {
            body: Value::Array(batch).to_string(),
            synchronous: invocation == "REQUEST_RESPONSE",
            ..base
        });
    }
    if crate::is_api_destination(&a) {
        let http = params
            .http_parameters
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok());
        for e in events {
            invoke_api_destination(&a, &target, http.clone(), render(template, e, pipe))?;
        }
        return Ok(());
    }
    for e in events {
        let v = view(e);
        let body = render(template, e, pipe);
        let id = e["messageId"]
            .as_str()
            .or(e["eventID"].as_str())
            .unwrap_or_default()
            .to_string();
        let pick = |s: Option<&String>| -> Option<String> {
            let s = s?;
            Some(if s.starts_with("$.") {
                transform_text(&v, s)
            } else {
                s.clone()
            })
        };
        let sqs = params.sqs_queue_parameters.as_ref();
        let bus = params.event_bridge_event_bus_parameters.as_ref();
        let d = Delivery {
            body: body.clone(),
            message_group_id: pick(sqs.and_then(|q| q.message_group_id.as_ref())),
            deduplication_id: pick(sqs.and_then(|q| q.message_deduplication_id.as_ref()))
                .unwrap_or_else(|| id.clone()),
            partition_key: pick(
                params
                    .kinesis_stream_parameters
                    .as_ref()
                    .map(|k| &k.partition_key),
            )
            .unwrap_or_else(|| id.clone()),
            bus_entry: Some(json!({
                "Source": bus.and_then(|b| b.source.clone()).unwrap_or_else(|| format!("Pipe {name}")),
                "DetailType": bus.and_then(|b| b.detail_type.clone()).unwrap_or_else(|| "Event from aws:pipes".into()),
                "Detail": if serde_json::from_str::<Value>(&body).is_ok_and(|v| v.is_object()) { body.clone() } else { json!({"value": body}).to_string() },
                "Resources": bus.and_then(|b| b.resources.clone()).unwrap_or_default(),
            })),
            arn: base.arn.clone(),
            endpoint: base.endpoint.clone(),
            log_stream: base.log_stream.clone(),
            synchronous: false,
            source: base.source.clone(),
        };
        targets::send(&d)?;
    }
    Ok(())
}

/// An API destination call through the events plugin (which holds the
/// destination and its connection's credentials); answers the response text.
fn invoke_api_destination(
    a: &Arn,
    arn: &str,
    http: Option<Value>,
    body: String,
) -> Result<String, Failure> {
    let out: Value = services::call(
        &Target::at("events", &a.account, &a.region),
        "MinistackInternalInvokeApiDestination",
        &json!({"ApiDestinationArn": arn, "HttpParameters": http, "Body": body}),
    )
    .map_err(|e| failed(&e.code, e.message))?;
    Ok(out["Body"].as_str().unwrap_or_default().to_string())
}

fn transform_text(event: &Value, path: &str) -> String {
    match crate::transform::at_path(event, path) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

// ---- SQS ----

fn poll_sqs(ctx: &Context, s: &Stored, arn: &str) -> Result<bool, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| AwsError::validation("bad queue ARN"))?;
    let target = Target::at("sqs", &a.account, &a.region);
    let url = targets::queue_url(&ctx.endpoint, &a);
    let params = s
        .pipe
        .source_parameters
        .as_ref()
        .and_then(|p| p.sqs_queue_parameters.clone())
        .unwrap_or_default();
    let batch = params.batch_size.unwrap_or(10).max(1) as usize;
    let window = params.maximum_batching_window_in_seconds.unwrap_or(0) as f64;
    let started = time::now();
    let mut messages: Vec<Value> = Vec::new();
    loop {
        let want = (batch - messages.len()).min(10);
        let out: Value = services::call(
            &target,
            "ReceiveMessage",
            &json!({
                "QueueUrl": url,
                "MaxNumberOfMessages": want,
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
                "WaitTimeSeconds": 0,
            }),
        )?;
        let got = out["Messages"].as_array().cloned().unwrap_or_default();
        let empty = got.is_empty();
        messages.extend(got);
        if messages.len() >= batch
            || (empty && (messages.is_empty() || time::now() - started >= window))
        {
            break;
        }
        if empty {
            tasks::wait("pipes-batching-window", Duration::from_millis(100));
        }
    }
    if messages.is_empty() {
        return Ok(false);
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| sqs_record(m, arn, &a.region))
        .collect();
    match process(ctx, &s.pipe, records) {
        Ok(()) => delete_messages(&target, &url, &messages)?,
        // The messages come back after their visibility timeout (and go to
        // the queue's own dead-letter queue after maxReceiveCount).
        Err(f) => ministack_sdk::warn!(
            "pipe {} delivery failed ({}: {}); the messages return to the queue",
            s.pipe.name.as_deref().unwrap_or_default(),
            f.code,
            f.message
        ),
    }
    Ok(true)
}

/// An SQS message as a pipe's event (Lambda's SQS record shape).
fn sqs_record(msg: &Value, arn: &str, region: &str) -> Value {
    let attributes = msg["Attributes"].clone();
    let message_attributes: serde_json::Map<String, Value> = msg["MessageAttributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({
                            "stringValue": v["StringValue"],
                            "binaryValue": v["BinaryValue"],
                            "stringListValues": [],
                            "binaryListValues": [],
                            "dataType": v["DataType"],
                        }),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": msg["MessageId"],
        "receiptHandle": msg["ReceiptHandle"],
        "body": msg["Body"],
        "attributes": if attributes.is_null() { json!({}) } else { attributes },
        "messageAttributes": message_attributes,
        "md5OfBody": msg["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    })
}

fn delete_messages(target: &Target, url: &str, messages: &[Value]) -> Result<(), AwsError> {
    for chunk in messages.chunks(10) {
        let entries: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"]}))
            .collect();
        services::call_json(
            target,
            "DeleteMessageBatch",
            &json!({"QueueUrl": url, "Entries": entries}).to_string(),
        )?;
    }
    Ok(())
}

// ---- DynamoDB Streams and Kinesis ----

fn is_kinesis(a: &Arn) -> bool {
    a.service == "kinesis"
}

fn shards(arn: &str) -> Result<Vec<String>, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| AwsError::validation("bad stream ARN"))?;
    let list = if is_kinesis(&a) {
        kinesis_call(&a, "ListShards", json!({"StreamARN": arn}))?["Shards"].clone()
    } else {
        streams_call(&a, "DescribeStream", json!({"StreamArn": arn}))?["StreamDescription"]
            ["Shards"]
            .clone()
    };
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["ShardId"].as_str().map(str::to_string))
        .collect())
}

fn iterator(
    a: &Arn,
    arn: &str,
    shard: &str,
    kind: &str,
    seq: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let mut input = if is_kinesis(a) {
        json!({"StreamARN": arn, "ShardId": shard, "ShardIteratorType": kind})
    } else {
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind})
    };
    if let Some(seq) = seq {
        input["StartingSequenceNumber"] = json!(seq);
        input["SequenceNumber"] = json!(seq);
    }
    let out = if is_kinesis(a) {
        kinesis_call(a, "GetShardIterator", input)?
    } else {
        streams_call(a, "GetShardIterator", input)?
    };
    Ok(out["ShardIterator"].as_str().map(str::to_string))
}

fn get_records(a: &Arn, arn: &str, it: &str, limit: u64) -> Result<Value, AwsError> {
    if is_kinesis(a) {
        kinesis_call(
            a,
            "GetRecords",
            json!({"ShardIterator": it, "Limit": limit, "StreamARN": arn}),
        )
    } else {
        streams_call(
            a,
            "GetRecords",
            json!({"ShardIterator": it, "Limit": limit}),
        )
    }
}

fn sequence_of(record: &Value) -> Option<&str> {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .or(record["SequenceNumber"].as_str())
        .or(record["sequenceNumber"].as_str())
}

/// The newest sequence number of each shard (where LATEST starts).
fn stream_ends(arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| AwsError::validation("bad stream ARN"))?;
    let mut out = BTreeMap::new();
    for shard in shards(arn)? {
        let mut it = iterator(&a, arn, &shard, "TRIM_HORIZON", None)?;
        let mut last = None;
        while let Some(i) = it {
            let r = get_records(&a, arn, &i, 1000)?;
            let recs = r["Records"].as_array().cloned().unwrap_or_default();
            if recs.is_empty() {
                break;
            }
            last = recs.last().and_then(sequence_of).map(str::to_string);
            it = r["NextShardIterator"].as_str().map(str::to_string);
        }
        if let Some(l) = last {
            out.insert(shard, l);
        }
    }
    Ok(out)
}

/// A Kinesis record as a pipe's event (Lambda's Kinesis record shape).
fn kinesis_record(r: &Value, arn: &str, region: &str, shard: &str) -> Value {
    let seq = r["SequenceNumber"].as_str().unwrap_or_default();
    json!({
        "kinesisSchemaVersion": "1.0",
        "partitionKey": r["PartitionKey"],
        "sequenceNumber": seq,
        "data": r["Data"],
        "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"],
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{shard}:{seq}"),
        "eventName": "aws:kinesis:record",
        "awsRegion": region,
        "eventSourceARN": arn,
    })
}

fn poll_stream(ctx: &Context, p: &Poll, arn: &str) -> Result<bool, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| AwsError::validation("bad stream ARN"))?;
    let mut busy = false;
    for shard in shards(arn)? {
        let Some(s) = PIPES.get(&p.name)? else {
            return Ok(false);
        };
        if s.generation != p.generation {
            return Ok(false);
        }
        let params = s.pipe.source_parameters.clone().unwrap_or_default();
        let (batch, start, max_retries, max_age, dlq) = match (
            params.dynamo_db_stream_parameters,
            params.kinesis_stream_parameters,
        ) {
            (Some(d), _) => (
                d.batch_size,
                d.starting_position.as_str().to_string(),
                d.maximum_retry_attempts,
                d.maximum_record_age_in_seconds,
                d.dead_letter_config.and_then(|c| c.arn),
            ),
            (_, Some(k)) => (
                k.batch_size,
                k.starting_position.as_str().to_string(),
                k.maximum_retry_attempts,
                k.maximum_record_age_in_seconds,
                k.dead_letter_config.and_then(|c| c.arn),
            ),
            _ => (None, "TRIM_HORIZON".into(), None, None, None),
        };
        let it = match s.positions.get(&shard) {
            Some(seq) => iterator(&a, arn, &shard, "AFTER_SEQUENCE_NUMBER", Some(seq))?,
            // A shard that appeared after a LATEST start is read whole.
            None if start == "LATEST" && s.positions.is_empty() => continue,
            None => iterator(&a, arn, &shard, "TRIM_HORIZON", None)?,
        };
        let Some(it) = it else { continue };
        let limit = batch.unwrap_or(100).clamp(1, 1000) as u64;
        let r = get_records(&a, arn, &it, limit)?;
        let raw: Vec<Value> = r["Records"].as_array().cloned().unwrap_or_default();
        if raw.is_empty() {
            continue;
        }
        busy = true;
        let last_seq = raw
            .last()
            .and_then(sequence_of)
            .unwrap_or_default()
            .to_string();
        let now = time::now();
        let records: Vec<Value> = raw
            .iter()
            .filter(|r| {
                let created = r["dynamodb"]["ApproximateCreationDateTime"]
                    .as_f64()
                    .or(r["ApproximateArrivalTimestamp"].as_f64())
                    .unwrap_or(now);
                max_age.is_none_or(|m| m < 0 || now - created <= m as f64)
            })
            .map(|r| {
                if is_kinesis(&a) {
                    kinesis_record(r, arn, &a.region, &shard)
                } else {
                    let mut r = r.clone();
                    r["eventSourceARN"] = json!(arn);
                    r
                }
            })
            .collect();
        let outcome = process(ctx, &s.pipe, records.clone());
        let Some(mut s) = PIPES.get(&p.name)? else {
            return Ok(false);
        };
        match outcome {
            Ok(()) => {
                s.positions.insert(shard.clone(), last_seq);
                s.attempts = 0;
            }
            Err(f) => {
                s.attempts += 1;
                let limit = max_retries.unwrap_or(-1);
                ministack_sdk::warn!(
                    "pipe {} delivery failed ({}: {}), attempt {}",
                    p.name,
                    f.code,
                    f.message,
                    s.attempts
                );
                if !f.retryable || (limit >= 0 && i64::from(s.attempts) > i64::from(limit)) {
                    if let Some(dlq) = dlq.as_deref() {
                        dead_letter(ctx, dlq, &s, &shard, arn, &records, &f);
                    }
                    s.positions.insert(shard.clone(), last_seq);
                    s.attempts = 0;
                }
            }
        }
        PIPES.put(&p.name, &s)?;
    }
    Ok(busy)
}

/// A batch that ran out of retries: its description goes to the SQS DLQ.
fn dead_letter(
    ctx: &Context,
    dlq: &str,
    s: &Stored,
    shard: &str,
    arn: &str,
    records: &[Value],
    f: &Failure,
) {
    let Some(q) = Arn::parse(dlq) else { return };
    let first = records.first().and_then(sequence_of).unwrap_or_default();
    let last = records.last().and_then(sequence_of).unwrap_or_default();
    let info = json!({
        "context": {
            "pipeArn": s.pipe.arn,
            "condition": "RetryAttemptsExhausted",
            "errorCode": f.code,
            "errorMessage": f.message,
            "approximateInvokeCount": s.attempts,
            "timestamp": time::iso8601_millis(time::now()),
        },
        "streamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "batchSize": records.len(),
            "streamArn": arn,
        },
    });
    let r = services::call_json(
        &Target::at("sqs", &q.account, &q.region),
        "SendMessage",
        &json!({"QueueUrl": targets::queue_url(&ctx.endpoint, &q), "MessageBody": info.to_string()})
            .to_string(),
    );
    if let Err(e) = r {
        ministack_sdk::warn!("pipe DLQ {dlq} failed: {}", e.message);
    }
}
