//! Kinesis Data Streams as a source: a durable `kinesis-poll` task per
//! delivery stream reads every shard through `services.call` to the
//! `kinesis` plugin (ListShards, GetShardIterator, GetRecords) and appends
//! what it read to the buffer, with the shard checkpoints, in one unit.
//! Reading starts at the delivery stream's creation (AWS: LATEST at
//! creation; here `AT_TIMESTAMP` of the creation, which is the same records
//! and survives a late first poll).

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::tasks;
use serde_json::{Value, json};

use crate::{Rec, STREAMS, Stream, put, setting_u64};

/// GetRecords calls per shard per poll, at most.
const READS_PER_SHARD: usize = 10;

pub fn poll_task(ctx: &Context, name: String) -> Result<(), AwsError> {
    let Some(s) = STREAMS.get(&name)? else {
        return Ok(());
    };
    let Some(arn) = s
        .source
        .as_ref()
        .and_then(|x| x["KinesisStreamSourceDescription"]["KinesisStreamARN"].as_str())
        .map(str::to_string)
    else {
        return Ok(());
    };
    let every = Duration::from_millis(setting_u64(ctx, "FIREHOSE_KINESIS_POLL_MS", 1000));
    let read = read_new(ctx, &s, &arn);
    // The calls ended the unit: read the stream again before writing it.
    let Some(mut s) = STREAMS.get(&name)? else {
        return Ok(());
    };
    match read {
        Ok((records, checkpoints)) => {
            s.checkpoints.extend(checkpoints);
            put::append(&mut s, records)?;
            STREAMS.put(&name, &s)?;
        }
        Err(e) => ministack_sdk::warn!(
            "firehose {name}: reading Kinesis stream {arn} failed: {}: {}",
            e.code,
            e.message
        ),
    }
    tasks::schedule(every, "kinesis-poll", &name)?;
    Ok(())
}

fn kinesis(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    services::call(&Target::new("kinesis", ctx), op, &input)
}

/// The records after each shard's checkpoint, and the new checkpoints.
#[allow(clippy::type_complexity)]
fn read_new(
    ctx: &Context,
    s: &Stream,
    arn: &str,
) -> Result<(Vec<Rec>, Vec<(String, String)>), AwsError> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let input = match &token {
            Some(t) => json!({"NextToken": t}),
            None => json!({"StreamARN": arn}),
        };
        let out = kinesis(ctx, "ListShards", input)?;
        for sh in out["Shards"].as_array().into_iter().flatten() {
            if let Some(id) = sh["ShardId"].as_str() {
                shards.push(id.to_string());
            }
        }
        match out["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for shard in shards {
        let mut input = json!({"StreamARN": arn, "ShardId": shard});
        match s.checkpoints.get(&shard) {
            Some(seq) => {
                input["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                input["StartingSequenceNumber"] = json!(seq);
            }
            None => {
                input["ShardIteratorType"] = json!("AT_TIMESTAMP");
                input["Timestamp"] = json!(s.created);
            }
        }
        let it = kinesis(ctx, "GetShardIterator", input)?;
        let mut iterator = it["ShardIterator"].as_str().map(str::to_string);
        let mut last = None;
        for _ in 0..READS_PER_SHARD {
            let Some(i) = iterator.take() else { break };
            let out = kinesis(
                ctx,
                "GetRecords",
                json!({"ShardIterator": i, "StreamARN": arn, "Limit": 10000}),
            )?;
            let got = out["Records"].as_array().cloned().unwrap_or_default();
            for r in &got {
                let seq = r["SequenceNumber"].as_str().unwrap_or("").to_string();
                let arrival = r["ApproximateArrivalTimestamp"]
                    .as_f64()
                    .unwrap_or(s.created);
                records.push(Rec {
                    id: put::record_ids(1).remove(0),
                    data: r["Data"].as_str().unwrap_or("").to_string(),
                    arrival_ms: (arrival * 1000.0) as u64,
                    kinesis: Some(json!({
                        "shardId": shard,
                        "partitionKey": r["PartitionKey"],
                        "approximateArrivalTimestamp": (arrival * 1000.0) as u64,
                        "sequenceNumber": seq,
                        "subsequenceNumber": "",
                    })),
                });
                last = Some(seq);
            }
            if got.is_empty() || out["MillisBehindLatest"].as_u64() == Some(0) {
                break;
            }
            iterator = out["NextShardIterator"].as_str().map(str::to_string);
        }
        if let Some(seq) = last {
            checkpoints.push((shard, seq));
        }
    }
    Ok((records, checkpoints))
}
