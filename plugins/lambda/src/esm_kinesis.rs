//! Kinesis event source mappings: the `esm-poll` loop (esm.rs) calls
//! [`poll`] for a Kinesis stream source. Each shard is read through the
//! kinesis plugin (`services.call` GetShardIterator / GetRecords) from the
//! mapping's checkpoint (`Mapping::positions`: shard id → last sequence
//! number processed), a batch of up to `BatchSize` records is invoked
//! synchronously, and the checkpoint moves on success.
//!
//! - Order: a child shard is read only after its parents were read to their
//!   end (AWS's resharding guarantee); a finished shard is checkpointed as
//!   [`FINISHED`].
//! - Failures: the same batch is retried; `BisectBatchOnFunctionError`
//!   halves it; after `MaximumRetryAttempts` the batch's description goes to
//!   the `DestinationConfig.OnFailure` destination (SQS or SNS) and the
//!   checkpoint moves past it. `ReportBatchItemFailures` checkpoints before
//!   the lowest failed sequence number and retries from there.
//! - `MaximumRecordAgeInSeconds`: older records are skipped.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, ids, tasks, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::esm::{
    MAPPINGS, Mapping, batch_event, close_window, invoke_batch, keep_state, send_failure,
};
use crate::filter;

/// Checkpoint of a shard read to its end (closed by a reshard).
pub const FINISHED: &str = "SHARD_END";

fn call(arn: &Arn, op: &str, input: Value) -> Result<Value, AwsError> {
    services::call(
        &Target::at("kinesis", &arn.account, &arn.region),
        op,
        &input,
    )
}

fn stream_name(arn: &Arn) -> String {
    arn.resource.trim_start_matches("stream/").to_string()
}

fn list_shards(a: &Arn) -> Result<Vec<Value>, AwsError> {
    let mut shards = Vec::new();
    let mut input = json!({"StreamName": stream_name(a)});
    loop {
        let out = call(a, "ListShards", input)?;
        shards.extend(out["Shards"].as_array().cloned().unwrap_or_default());
        match out["NextToken"].as_str() {
            Some(t) => input = json!({"NextToken": t}),
            None => return Ok(shards),
        }
    }
}

/// The newest sequence number of each shard: where a LATEST mapping starts
/// (read when the mapping is created, so records put after it are seen).
pub fn latest_positions(arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad stream ARN"))?;
    let mut out = BTreeMap::new();
    for shard in list_shards(&a)? {
        let id = shard["ShardId"].as_str().unwrap_or_default().to_string();
        // The shard's range ends at its last record only once closed; an
        // open shard's newest record is found by reading it.
        let it = call(
            &a,
            "GetShardIterator",
            json!({"StreamName": stream_name(&a), "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
        )?;
        let mut iterator = it["ShardIterator"].as_str().map(str::to_string);
        let mut last = None;
        while let Some(i) = iterator {
            let r = call(
                &a,
                "GetRecords",
                json!({"ShardIterator": i, "Limit": 10000}),
            )?;
            let recs = r["Records"].as_array().cloned().unwrap_or_default();
            if let Some(l) = recs.last() {
                last = l["SequenceNumber"].as_str().map(str::to_string);
            }
            if recs.is_empty() || r["MillisBehindLatest"].as_i64() == Some(0) {
                break;
            }
            iterator = r["NextShardIterator"].as_str().map(str::to_string);
        }
        if let Some(l) = last {
            out.insert(id, l);
        }
    }
    Ok(out)
}

/// A Kinesis record as Lambda hands it to a function.
pub fn lambda_record(r: &Value, shard: &str, arn: &str, region: &str) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r["PartitionKey"],
            "sequenceNumber": r["SequenceNumber"],
            "data": r["Data"],
            "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"],
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{shard}:{}", r["SequenceNumber"].as_str().unwrap_or_default()),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": format!("arn:aws:iam::{}:role/lambda-role", Arn::parse(arn).map(|a| a.account).unwrap_or_default()),
        "awsRegion": region,
        "eventSourceARN": arn,
    })
}

/// What filters match: `data` as JSON when it decodes to JSON.
fn filter_view(record: &Value) -> Value {
    let mut v = record.clone();
    if let Some(data) = record["kinesis"]["data"].as_str()
        && let Some(bytes) = encoding::base64_decode(data)
        && let Ok(parsed) = serde_json::from_slice::<Value>(&bytes)
    {
        v["data"] = parsed;
    }
    v
}

/// The parents of a shard that still have records to hand over.
fn waits_for_parents(shard: &Value, m: &Mapping, ids: &[String]) -> bool {
    ["ParentShardId", "AdjacentParentShardId"].iter().any(|k| {
        shard[*k].as_str().is_some_and(|p| {
            ids.iter().any(|i| i == p) && m.positions.get(p).map(String::as_str) != Some(FINISHED)
        })
    })
}

/// How long an idle poll waits for the stream's put notification (the
/// `stream:<StreamARN>` topic of the kinesis plugin, granted by
/// plugins.toml `listens = ["kinesis"]`) before the poll loop goes on.
const WAIT_FOR_PUTS: Duration = Duration::from_secs(2);

/// One poll of every shard; true when a batch was handled, or when records
/// were put while it waited.
pub fn poll(ctx: &Context, uuid: &str, arn: &str) -> Result<bool, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad stream ARN"))?;
    // Read before looking, so a put between the look and the wait is not
    // missed (docs/tasks.md). Without the grant, the loop polls on its own
    // interval.
    let topic = format!("stream:{arn}");
    let seen = tasks::topic_generation("kinesis", &topic).ok();
    let shards = list_shards(&a)?;
    let ids: Vec<String> = shards
        .iter()
        .filter_map(|s| s["ShardId"].as_str().map(str::to_string))
        .collect();
    let mut busy = false;
    for shard in &shards {
        let Some(m) = MAPPINGS.get(uuid)? else {
            return Ok(false);
        };
        let id = shard["ShardId"].as_str().unwrap_or_default().to_string();
        let position = m.positions.get(&id).cloned();
        if position.as_deref() == Some(FINISHED) || waits_for_parents(shard, &m, &ids) {
            continue;
        }
        busy |= poll_shard(ctx, uuid, m, &a, arn, &id, position)?;
    }
    if !busy && let Some(seen) = seen {
        let now = tasks::wait_on("kinesis", &topic, seen, WAIT_FOR_PUTS)?;
        return Ok(now != seen);
    }
    Ok(busy)
}

fn poll_shard(
    ctx: &Context,
    uuid: &str,
    m: Mapping,
    a: &Arn,
    arn: &str,
    shard: &str,
    position: Option<String>,
) -> Result<bool, AwsError> {
    if close_window(ctx, uuid, &m, shard, arn)? {
        return Ok(true);
    }
    let mut it_input = json!({"StreamName": stream_name(a), "ShardId": shard});
    match (&position, m.config["StartingPosition"].as_str()) {
        (Some(seq), _) => {
            it_input["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
            it_input["StartingSequenceNumber"] = json!(seq);
        }
        (None, Some("AT_TIMESTAMP")) => {
            it_input["ShardIteratorType"] = json!("AT_TIMESTAMP");
            it_input["Timestamp"] = m.config["StartingPositionTimestamp"].clone();
        }
        // LATEST mappings hold the newest sequence numbers of the shards
        // that had records when they were created; a shard without one was
        // empty then (or is a child born later): read it from the start.
        (None, _) => it_input["ShardIteratorType"] = json!("TRIM_HORIZON"),
    }
    let it = call(a, "GetShardIterator", it_input)?;
    let Some(iterator) = it["ShardIterator"].as_str() else {
        return Ok(false);
    };
    let limit = if m.batch_limit > 0 {
        m.batch_limit as u64
    } else {
        m.config["BatchSize"].as_u64().unwrap_or(100)
    };
    let r = call(
        a,
        "GetRecords",
        json!({"ShardIterator": iterator, "Limit": limit.clamp(1, 10000)}),
    )?;
    let records: Vec<Value> = r["Records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        if r["NextShardIterator"].is_null() {
            // A closed shard read to its end: its children may start.
            let mut m = m;
            m.positions.insert(shard.to_string(), FINISHED.to_string());
            MAPPINGS.put(uuid, &m)?;
            return Ok(true);
        }
        return Ok(false);
    }
    let last_seq = records
        .last()
        .and_then(|x| x["SequenceNumber"].as_str())
        .unwrap_or_default()
        .to_string();
    let max_age = m.config["MaximumRecordAgeInSeconds"].as_i64().unwrap_or(-1);
    let now = time::now();
    let patterns = filter::parse(&m.config["FilterCriteria"]).unwrap_or_default();
    let batch: Vec<Value> = records
        .iter()
        .filter(|r| {
            max_age < 0
                || now - r["ApproximateArrivalTimestamp"].as_f64().unwrap_or(now) <= max_age as f64
        })
        .map(|r| lambda_record(r, shard, arn, &a.region))
        .filter(|r| filter::passes(&patterns, &filter_view(r)))
        .collect();
    let (event, window_start) = batch_event(&m, shard, arn, batch.clone());
    let outcome = if batch.is_empty() {
        Ok(Value::Null)
    } else {
        invoke_batch(ctx, &m, &event)?
    };
    let Some(mut m) = MAPPINGS.get(uuid)? else {
        return Ok(false);
    };
    let report = m.config["FunctionResponseTypes"]
        .as_array()
        .is_some_and(|l| l.iter().any(|t| t == "ReportBatchItemFailures"));
    // ReportBatchItemFailures: the lowest failed sequence number of the batch.
    let first_failed = match &outcome {
        Ok(resp) if report => {
            let seqs: Vec<String> = batch
                .iter()
                .filter_map(|r| r["kinesis"]["sequenceNumber"].as_str().map(str::to_string))
                .collect();
            match crate::esm::batch_item_failures(resp, &seqs) {
                Some(failed) => failed.into_iter().min(),
                None => seqs.first().cloned(),
            }
        }
        _ => None,
    };
    match (&outcome, first_failed) {
        (Ok(resp), None) => {
            if !batch.is_empty() {
                keep_state(&mut m, shard, window_start, resp);
            }
            m.positions.insert(shard.to_string(), last_seq);
            m.attempts = 0;
            m.batch_limit = 0;
            m.config["LastProcessingResult"] = json!("OK");
        }
        (Ok(_), Some(failed)) => {
            // Checkpoint the records before the failed one; retry from it.
            if let Some(before) = records
                .iter()
                .filter_map(|r| r["SequenceNumber"].as_str())
                .filter(|s| *s < failed.as_str())
                .max()
            {
                m.positions.insert(shard.to_string(), before.to_string());
            }
            fail(&mut m, shard, arn, &records, &last_seq, None);
        }
        (Err(_), _) => fail(&mut m, shard, arn, &records, &last_seq, Some(records.len())),
    }
    MAPPINGS.put(uuid, &m)?;
    Ok(true)
}

/// A failed batch: count the attempt, maybe bisect, and after the last
/// retry hand the batch to the on-failure destination and move past it.
fn fail(
    m: &mut Mapping,
    shard: &str,
    arn: &str,
    records: &[Value],
    last_seq: &str,
    bisect_from: Option<usize>,
) {
    m.attempts += 1;
    m.config["LastProcessingResult"] = json!("PROBLEM: Function call failed");
    if let Some(n) = bisect_from
        && m.config["BisectBatchOnFunctionError"].as_bool() == Some(true)
        && n > 1
    {
        m.batch_limit = (n / 2) as u32;
    }
    let max_retries = m.config["MaximumRetryAttempts"].as_i64().unwrap_or(-1);
    if max_retries >= 0 && i64::from(m.attempts) > max_retries {
        if let Some(dest) = m.config["DestinationConfig"]["OnFailure"]["Destination"].as_str() {
            let info = failure_record(m, shard, arn, records);
            send_failure(dest, &info);
        }
        m.positions.insert(shard.to_string(), last_seq.to_string());
        m.attempts = 0;
        m.batch_limit = 0;
    }
}

/// The on-failure record Lambda sends for a Kinesis batch.
fn failure_record(m: &Mapping, shard: &str, arn: &str, records: &[Value]) -> Value {
    let seq = |r: Option<&Value>| {
        r.map(|r| r["SequenceNumber"].clone())
            .unwrap_or(Value::Null)
    };
    let at = |r: Option<&Value>| {
        r.and_then(|r| r["ApproximateArrivalTimestamp"].as_f64())
            .map(time::iso8601_millis)
    };
    json!({
        "requestContext": {
            "requestId": ids::uuid(),
            "functionArn": m.config["FunctionArn"],
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": m.attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": LATEST, "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": time::iso8601_millis(time::now()),
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": seq(records.first()),
            "endSequenceNumber": seq(records.last()),
            "approximateArrivalOfFirstRecord": at(records.first()),
            "approximateArrivalOfLastRecord": at(records.last()),
            "batchSize": records.len(),
            "streamArn": arn,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_the_lambda_kinesis_shape() {
        let r = json!({"SequenceNumber": "49", "PartitionKey": "k", "Data": "eyJhIjogMX0=",
            "ApproximateArrivalTimestamp": 1700000000.5});
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
        let rec = lambda_record(&r, "shardId-000000000000", arn, "us-east-1");
        assert_eq!(rec["eventSource"], "aws:kinesis");
        assert_eq!(rec["eventID"], "shardId-000000000000:49");
        assert_eq!(rec["kinesis"]["data"], "eyJhIjogMX0=");
        assert_eq!(filter_view(&rec)["data"]["a"], 1);
    }

    #[test]
    fn children_wait_for_unfinished_parents() {
        let mut m = Mapping::default();
        let ids = vec!["p".to_string(), "c".to_string()];
        let child = json!({"ShardId": "c", "ParentShardId": "p"});
        assert!(waits_for_parents(&child, &m, &ids));
        m.positions.insert("p".into(), FINISHED.into());
        assert!(!waits_for_parents(&child, &m, &ids));
        // A parent past retention (not listed) is not waited for.
        assert!(!waits_for_parents(
            &child,
            &Mapping::default(),
            &["c".to_string()]
        ));
    }
}
