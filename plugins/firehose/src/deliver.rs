//! Flushing buffers and delivering batches: S3 objects (prefix expressions,
//! compression, error output, backup), HTTP endpoints (AWS's request and
//! response contract, retries), Lambda data transformation and dynamic
//! partitioning.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{blobs, http, ids, tasks, time};
use serde_json::{Value, json};

use crate::compress::compress;
use crate::prefix::{self, Vars};
use crate::put::{FlushTask, buffering, decoded_len};
use crate::{BUFFER, Batch, INFLIGHT, Rec, STREAMS, Stream, kind};

/// Payload of the `deliver` task: a batch to (re)deliver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeliverTask {
    pub stream: String,
    pub batch: String,
}

/// Record bytes one flush delivers at most (its unit holds them a few
/// times over: stored base64, decoded, compressed, the PutObject input).
const MAX_FLUSH_BYTES: u64 = 8 * 1024 * 1024;

/// Takes the buffered records of a stream into a batch and delivers it.
pub fn flush_task(ctx: &Context, p: FlushTask) -> Result<(), AwsError> {
    let Some(mut s) = STREAMS.get(&p.stream)? else {
        return Ok(());
    };
    match p.generation {
        Some(g) if g != s.buffer.generation => return Ok(()),
        Some(_) => {}
        None => s.buffer.size_flush_pending = false,
    }
    // An interval flush takes the whole buffer, a size flush rows until it
    // holds the buffer size; both at most MAX_FLUSH_BYTES per unit (the
    // plugin's memory), the rest in the next flush.
    let (size_limit, interval) = buffering(&s);
    let cap = match p.generation {
        Some(_) => MAX_FLUSH_BYTES,
        None => size_limit.min(MAX_FLUSH_BYTES),
    };
    let prefix = keys::prefix(&[&s.name]);
    let mut records: Vec<Rec> = Vec::new();
    let mut taken_bytes = 0u64;
    let mut taken_rows = 0u64;
    let mut last: Option<String> = None;
    'scan: loop {
        let mut scan = Scan::prefix(prefix.clone()).limit(4);
        if let Some(k) = &last {
            scan = scan.start_after(k.clone());
        }
        let page = BUFFER.scan(&scan)?;
        if page.is_empty() {
            break;
        }
        for (key, row) in page {
            if taken_bytes >= cap {
                break 'scan;
            }
            taken_bytes += row
                .records
                .iter()
                .map(|r| decoded_len(&r.data) as u64)
                .sum::<u64>();
            taken_rows += 1;
            BUFFER.delete(&key);
            records.extend(row.records);
            last = Some(key);
        }
    }
    if records.is_empty() {
        s.buffer.count = 0;
        s.buffer.bytes = 0;
        STREAMS.put(&s.name.clone(), &s)?;
        return Ok(());
    }
    let b = &mut s.buffer;
    b.count = b.count.saturating_sub(taken_rows);
    b.bytes = b.bytes.saturating_sub(taken_bytes);
    b.generation += 1;
    b.size_flush_pending = false;
    if b.count > 0 {
        let name = s.name.clone();
        let generation = Some(b.generation);
        if p.generation.is_some() {
            // The interval is up for all of it: go on at once.
            tasks::schedule(
                Duration::ZERO,
                "flush",
                &FlushTask {
                    stream: name,
                    generation,
                },
            )?;
        } else {
            // What is left starts a new buffer: its interval runs from now.
            b.oldest_ms = time::now_millis();
            let full = b.bytes >= size_limit;
            b.size_flush_pending = full;
            tasks::schedule(
                Duration::from_secs(interval),
                "flush",
                &FlushTask {
                    stream: name.clone(),
                    generation,
                },
            )?;
            if full {
                tasks::schedule(
                    Duration::ZERO,
                    "flush",
                    &FlushTask {
                        stream: name,
                        generation: None,
                    },
                )?;
            }
        }
    }
    let key = keys::join(&[&s.name, &keys::u64(s.next_batch)]);
    s.next_batch += 1;
    let batch = Batch {
        stream: s.name.clone(),
        records,
        attempts: 0,
        first_attempt_ms: time::now_millis(),
    };
    INFLIGHT.put(&key, &batch)?;
    STREAMS.put(&s.name.clone(), &s)?;
    deliver(ctx, &s, &key, batch)
}

/// Delivers a batch left in flight (a retry, or after a restart).
pub fn deliver_task(ctx: &Context, p: DeliverTask) -> Result<(), AwsError> {
    let Some(batch) = INFLIGHT.get(&p.batch)? else {
        return Ok(());
    };
    let Some(s) = STREAMS.get(&p.stream)? else {
        INFLIGHT.delete(&p.batch);
        return Ok(());
    };
    deliver(ctx, &s, &p.batch, batch)
}

/// The boot hook: batches whose delivery was cut short by a stop, and
/// Kinesis pollers, resume in every account and region.
pub fn on_start(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    let scheduled: Vec<(String, String, String)> = tasks::list("")
        .into_iter()
        .map(|t| (t.name, t.account, t.payload))
        .collect();
    let has = |name: &str, account: &str, payload: &str| {
        scheduled
            .iter()
            .any(|(n, a, p)| n == name && a == account && p == payload)
    };
    // A task runs in one account and region: `resume` scans each of them.
    for (account, region) in tasks::contexts(STREAMS.name()) {
        let payload = serde_json::to_string(&()).unwrap_or_default();
        if !has("resume", &account, &payload) {
            tasks::schedule_in(&account, &region, Duration::ZERO, "resume", &())?;
        }
    }
    Ok(())
}

/// Per account and region: reschedules what a stop cut short.
pub fn resume_task(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    let scheduled: Vec<(String, String)> = tasks::list("")
        .into_iter()
        .map(|t| (t.name, t.payload))
        .collect();
    let has = |name: &str, payload: &str| scheduled.iter().any(|(n, p)| n == name && p == payload);
    for (key, batch) in INFLIGHT.scan(&Scan::all())? {
        let task = DeliverTask {
            stream: batch.stream.clone(),
            batch: key,
        };
        let payload = serde_json::to_string(&task).unwrap_or_default();
        if !has("deliver", &payload) {
            tasks::schedule(Duration::ZERO, "deliver", &task)?;
        }
    }
    for (name, s) in STREAMS.scan(&Scan::all())? {
        let payload = serde_json::to_string(&name).unwrap_or_default();
        if s.buffer.count > 0
            && !scheduled
                .iter()
                .any(|(n, p)| n == "flush" && p.contains(&payload))
        {
            let generation = Some(s.buffer.generation);
            tasks::schedule(
                Duration::ZERO,
                "flush",
                &FlushTask {
                    stream: name.clone(),
                    generation,
                },
            )?;
        }
        if s.stream_type == "KinesisStreamAsSource" && !has("kinesis-poll", &payload) {
            tasks::schedule(Duration::ZERO, "kinesis-poll", &name)?;
        }
    }
    Ok(())
}

/// A delivery that failed and may be retried.
struct Failure {
    code: String,
    message: String,
}

impl Failure {
    fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }
}

fn deliver(ctx: &Context, s: &Stream, key: &str, mut batch: Batch) -> Result<(), AwsError> {
    let outcome = match s.dest_kind.as_str() {
        kind::S3 => deliver_s3(ctx, s, &batch),
        kind::HTTP => deliver_http(ctx, s, &batch),
        _ => deliver_unavailable(ctx, s, &batch),
    };
    crate::metrics::delivery(s, &batch, outcome.is_ok());
    let Err(f) = outcome else {
        INFLIGHT.delete(key);
        return Ok(());
    };
    batch.attempts += 1;
    let elapsed = time::now_millis().saturating_sub(batch.first_attempt_ms) / 1000;
    let window = retry_window(s);
    ministack_sdk::warn!(
        "firehose {}: delivery attempt {} failed: {}: {}",
        s.name,
        batch.attempts,
        f.code,
        f.message
    );
    crate::errorlog::report(s, &s.dest, &[(&f.code, &f.message, None)]);
    if elapsed < window {
        let backoff = 1u64 << batch.attempts.min(5);
        INFLIGHT.put(key, &batch)?;
        tasks::schedule(
            Duration::from_secs(backoff.min(window - elapsed).max(1)),
            "deliver",
            &DeliverTask {
                stream: s.name.clone(),
                batch: key.to_string(),
            },
        )?;
        return Ok(());
    }
    // Out of retries: the S3 backup of an HTTP destination takes the records.
    if s.dest_kind == kind::HTTP {
        let _ = write_failed(
            ctx,
            s,
            &s.dest["S3Configuration"],
            "http-endpoint-failed",
            &batch.records,
            &f,
            batch.attempts,
        );
    }
    INFLIGHT.delete(key);
    Ok(())
}

/// How long a failed delivery is retried, seconds (AWS: S3 24 hours, HTTP
/// endpoints `RetryOptions.DurationInSeconds`, default 300).
fn retry_window(s: &Stream) -> u64 {
    match s.dest_kind.as_str() {
        kind::HTTP => s.dest["RetryOptions"]["DurationInSeconds"]
            .as_u64()
            .unwrap_or(300),
        _ => 24 * 3600,
    }
}

/// A record after transformation.
struct Out {
    data: Vec<u8>,
    arrival_ms: u64,
    keys: BTreeMap<String, String>,
    lambda_keys: BTreeMap<String, String>,
}

/// A record that failed processing.
struct Failed {
    rec: Rec,
    code: String,
    message: String,
    attempts: u32,
    lambda_arn: Option<String>,
}

fn processors(conf: &Value) -> Vec<(String, BTreeMap<String, String>)> {
    let p = &conf["ProcessingConfiguration"];
    if p["Enabled"] != true {
        return Vec::new();
    }
    p["Processors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|proc| {
            let params = proc["Parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| {
                    Some((
                        x["ParameterName"].as_str()?.to_string(),
                        x["ParameterValue"].as_str()?.to_string(),
                    ))
                })
                .collect();
            (proc["Type"].as_str().unwrap_or("").to_string(), params)
        })
        .collect()
}

/// Runs the processors of a destination over a batch.
fn process(ctx: &Context, s: &Stream, conf: &Value, records: &[Rec]) -> (Vec<Out>, Vec<Failed>) {
    let mut outs: Vec<Out> = Vec::new();
    let mut failed = Vec::new();
    let procs = processors(conf);
    let lambda = procs.iter().find(|(t, _)| t == "Lambda");
    match lambda {
        Some((_, params)) => {
            let (o, f) = transform(ctx, s, params, records);
            outs = o;
            failed = f;
        }
        None => {
            for r in records {
                outs.push(Out {
                    data: base64_decode(&r.data).unwrap_or_default(),
                    arrival_ms: r.arrival_ms,
                    keys: BTreeMap::new(),
                    lambda_keys: BTreeMap::new(),
                });
            }
        }
    }
    for (t, params) in &procs {
        match t.as_str() {
            "MetadataExtraction" => {
                let query = params
                    .get("MetadataExtractionQuery")
                    .map(String::as_str)
                    .unwrap_or("");
                for o in &mut outs {
                    o.keys = extract_keys(query, &o.data);
                }
            }
            "AppendDelimiterToRecord" => {
                let delimiter = params
                    .get("Delimiter")
                    .map(|d| unescape(d))
                    .unwrap_or_else(|| "\n".to_string());
                for o in &mut outs {
                    o.data.extend_from_slice(delimiter.as_bytes());
                }
            }
            _ => {}
        }
    }
    (outs, failed)
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\r", "\r")
}

/// Dynamic partitioning keys of one record: the subset of JQ Firehose
/// documents for `MetadataExtractionQuery`, `{key: .path.to.field, ...}`.
pub fn extract_keys(query: &str, data: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return out;
    };
    let body = query.trim().trim_start_matches('{').trim_end_matches('}');
    for part in body.split(',') {
        let Some((k, path)) = part.split_once(':') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let mut v = &doc;
        for seg in path.trim().trim_start_matches('.').split('.') {
            if seg.is_empty() {
                continue;
            }
            v = &v[seg.trim_matches('"')];
        }
        let text = match v {
            Value::Null => continue,
            Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        out.insert(k.to_string(), text);
    }
    out
}

/// The Lambda processor: AWS's transformation event, in chunks of the
/// processor's buffer size, and the `result` contract of the answer.
fn transform(
    ctx: &Context,
    s: &Stream,
    params: &BTreeMap<String, String>,
    records: &[Rec],
) -> (Vec<Out>, Vec<Failed>) {
    let arn = params.get("LambdaArn").cloned().unwrap_or_default();
    let retries: u32 = params
        .get("NumberOfRetries")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let chunk_bytes: usize = params
        .get("BufferSizeInMBs")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 3)
        * 1024
        * 1024;
    let mut outs = Vec::new();
    let mut failed = Vec::new();
    let mut chunk: Vec<&Rec> = Vec::new();
    let mut size = 0;
    let mut chunks = Vec::new();
    for r in records {
        if !chunk.is_empty() && size + r.data.len() > chunk_bytes {
            chunks.push(std::mem::take(&mut chunk));
            size = 0;
        }
        size += r.data.len();
        chunk.push(r);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    for chunk in chunks {
        let mut event = json!({
            "invocationId": ids::uuid(),
            "deliveryStreamArn": s.arn,
            "region": ctx.region,
            "records": chunk.iter().map(|r| {
                let mut v = json!({
                    "recordId": r.id,
                    "approximateArrivalTimestamp": r.arrival_ms,
                    "data": r.data,
                });
                if let Some(k) = &r.kinesis {
                    v["kinesisRecordMetadata"] = k.clone();
                }
                v
            }).collect::<Vec<_>>(),
        });
        if let Some(src) = s
            .source
            .as_ref()
            .and_then(|x| x["KinesisStreamSourceDescription"]["KinesisStreamARN"].as_str())
        {
            event["sourceKinesisStreamArn"] = json!(src);
        }
        let mut attempts = 0;
        let answer = loop {
            attempts += 1;
            match invoke(ctx, &arn, &event) {
                Ok(v) => break Ok(v),
                Err(e) if attempts > retries => break Err(e),
                Err(_) => continue,
            }
        };
        let fail_all = |failed: &mut Vec<Failed>, f: &Failure| {
            for r in &chunk {
                failed.push(Failed {
                    rec: (*r).clone(),
                    code: f.code.clone(),
                    message: f.message.clone(),
                    attempts,
                    lambda_arn: Some(arn.clone()),
                });
            }
        };
        let answer = match answer {
            Ok(v) => v,
            Err(f) => {
                fail_all(&mut failed, &f);
                continue;
            }
        };
        let by_id: BTreeMap<&str, &Value> = answer["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r["recordId"].as_str()?, r)))
            .collect();
        for r in &chunk {
            let fail = |code: &str, message: &str| Failed {
                rec: (*r).clone(),
                code: code.to_string(),
                message: message.to_string(),
                attempts,
                lambda_arn: Some(arn.clone()),
            };
            let Some(res) = by_id.get(r.id.as_str()) else {
                failed.push(fail(
                    "Lambda.MissingRecordId",
                    "One or more record Ids were not returned. Ensure that the Lambda function returns all received record Ids.",
                ));
                continue;
            };
            match res["result"].as_str() {
                Some("Ok") => {
                    let Some(data) = res["data"].as_str().and_then(base64_decode) else {
                        failed.push(fail(
                            "Lambda.InvalidDataEncoding",
                            "The data returned for the record is not base64.",
                        ));
                        continue;
                    };
                    let lambda_keys = res["metadata"]["partitionKeys"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| {
                                    (
                                        k.clone(),
                                        v.as_str()
                                            .map(str::to_string)
                                            .unwrap_or_else(|| v.to_string()),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    outs.push(Out {
                        data,
                        arrival_ms: r.arrival_ms,
                        keys: BTreeMap::new(),
                        lambda_keys,
                    });
                }
                Some("Dropped") => {}
                Some("ProcessingFailed") => failed.push(fail(
                    "Lambda.ProcessingFailed",
                    "The Lambda function marked the record as ProcessingFailed.",
                )),
                _ => failed.push(fail(
                    "Lambda.InvalidResult",
                    "The record's result must be Ok, Dropped or ProcessingFailed.",
                )),
            }
        }
    }
    (outs, failed)
}

fn invoke(ctx: &Context, arn: &str, event: &Value) -> Result<Value, Failure> {
    let out: Value = services::call(
        &Target::new("lambda", ctx),
        "Invoke",
        &json!({
            "FunctionName": arn,
            "InvocationType": "RequestResponse",
            "Payload": base64_encode(event.to_string().as_bytes()),
        }),
    )
    .map_err(|e| Failure::new(format!("Lambda.{}", e.code), e.message))?;
    if out.get("FunctionError").is_some() {
        return Err(Failure::new(
            "Lambda.FunctionError",
            "The Lambda function was successfully invoked but it returned an error result.",
        ));
    }
    let payload = out["Payload"]
        .as_str()
        .and_then(base64_decode)
        .unwrap_or_default();
    serde_json::from_slice(&payload).map_err(|_| {
        Failure::new(
            "Lambda.JsonProcessingException",
            "The Lambda function's response is not valid JSON.",
        )
    })
}

fn bucket_of(conf: &Value) -> String {
    let arn = conf["BucketARN"].as_str().unwrap_or("");
    arn.rsplit(":::").next().unwrap_or(arn).to_string()
}

fn put_object(ctx: &Context, conf: &Value, key: &str, body: &[u8]) -> Result<(), Failure> {
    let mut input = json!({
        "Bucket": bucket_of(conf),
        "Key": key,
        // A host blob: the bytes go to S3 without a base64 round trip.
        "Body": blobs::create(body),
    });
    if let Some(k) = conf["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"].as_str()
    {
        input["ServerSideEncryption"] = json!("aws:kms");
        input["SSEKMSKeyId"] = json!(k);
    }
    services::call::<Value, Value>(&Target::new("s3", ctx), "PutObject", &input)
        .map(|_| ())
        .map_err(|e| Failure::new(format!("S3.{}", e.code), e.message))
}

/// `<name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>`, as AWS names objects.
fn object_name(s: &Stream, arrival_ms: u64) -> String {
    format!(
        "{}-{}-{}-{}",
        s.name,
        s.version,
        prefix::format_time(arrival_ms, "yyyy-MM-dd-HH-mm-ss"),
        ids::uuid()
    )
}

/// The dynamic partitioning keys of a record: (from the query, from Lambda).
type PartitionKey = (Vec<(String, String)>, Vec<(String, String)>);

/// Writes records as objects under an S3 configuration: one object per
/// `SizeInMBs` of data (and per partition), named as AWS names them.
fn write_objects(ctx: &Context, s: &Stream, conf: &Value, outs: &[Out]) -> Result<(), Failure> {
    if outs.is_empty() {
        return Ok(());
    }
    let size_limit = conf["BufferingHints"]["SizeInMBs"]
        .as_u64()
        .unwrap_or(5)
        .max(1)
        * 1024
        * 1024;
    let format = conf["CompressionFormat"].as_str().unwrap_or("UNCOMPRESSED");
    let configured = conf["Prefix"].as_str().unwrap_or("");
    let dynamic = conf["DynamicPartitioningConfiguration"]["Enabled"] == true;
    let prefix_expr = if dynamic {
        configured.to_string()
    } else {
        prefix::effective(configured)
    };
    // Partition → records, in arrival order.
    let mut groups: BTreeMap<PartitionKey, Vec<&Out>> = BTreeMap::new();
    let mut order = Vec::new();
    for o in outs {
        let k = (
            o.keys.clone().into_iter().collect::<Vec<_>>(),
            o.lambda_keys.clone().into_iter().collect::<Vec<_>>(),
        );
        if !groups.contains_key(&k) {
            order.push(k.clone());
        }
        groups.entry(k).or_default().push(o);
    }
    for k in order {
        let group = &groups[&k];
        let mut start = 0;
        while start < group.len() {
            let mut end = start;
            let mut size = 0u64;
            while end < group.len()
                && (end == start || size + group[end].data.len() as u64 <= size_limit)
            {
                size += group[end].data.len() as u64;
                end += 1;
            }
            let part = &group[start..end];
            let first = part[0];
            let vars = Vars {
                arrival_ms: first.arrival_ms,
                random: ids::alnum(11),
                error_output_type: None,
                query_keys: first.keys.clone(),
                lambda_keys: first.lambda_keys.clone(),
            };
            let mut body = Vec::with_capacity(size as usize);
            for o in part {
                body.extend_from_slice(&o.data);
            }
            let name = object_name(s, first.arrival_ms);
            let (bytes, ext) = compress(format, &body, &name);
            let ext = match conf["FileExtension"].as_str() {
                Some(e) if !e.is_empty() => e,
                _ => ext,
            };
            let key = format!("{}{}{}", prefix::evaluate(&prefix_expr, &vars), name, ext);
            put_object(ctx, conf, &key, &bytes)?;
            start = end;
        }
    }
    Ok(())
}

/// Records that could not be delivered, as AWS writes them under the error
/// output prefix: one JSON document per line.
fn write_failed_records(
    ctx: &Context,
    s: &Stream,
    conf: &Value,
    error_type: &str,
    failed: &[Failed],
) -> Result<(), Failure> {
    if failed.is_empty() {
        return Ok(());
    }
    let errors: Vec<_> = failed
        .iter()
        .map(|f| (f.code.as_str(), f.message.as_str(), f.lambda_arn.as_deref()))
        .collect();
    crate::errorlog::report(s, &s.dest, &errors);
    let now = time::now_millis();
    let mut body = Vec::new();
    for f in failed {
        let mut line = json!({
            "attemptsMade": f.attempts,
            "arrivalTimestamp": f.rec.arrival_ms,
            "errorCode": f.code,
            "errorMessage": f.message,
            "attemptEndingTimestamp": now,
            "rawData": f.rec.data,
        });
        if let Some(arn) = &f.lambda_arn {
            line["lambdaArn"] = json!(arn);
        }
        if s.dest_kind == kind::HTTP {
            line["EndpointUrl"] = s.dest["EndpointConfiguration"]["Url"].clone();
        }
        body.extend_from_slice(line.to_string().as_bytes());
        body.push(b'\n');
    }
    let first = failed.iter().map(|f| f.rec.arrival_ms).min().unwrap_or(now);
    let vars = Vars {
        arrival_ms: first,
        random: ids::alnum(11),
        error_output_type: Some(error_type),
        ..Vars::default()
    };
    let expr = prefix::effective_error(conf["ErrorOutputPrefix"].as_str().unwrap_or(""));
    let name = object_name(s, first);
    let format = conf["CompressionFormat"].as_str().unwrap_or("UNCOMPRESSED");
    let (bytes, ext) = compress(format, &body, &name);
    let key = format!("{}{}{}", prefix::evaluate(&expr, &vars), name, ext);
    put_object(ctx, conf, &key, &bytes)
}

fn write_failed(
    ctx: &Context,
    s: &Stream,
    conf: &Value,
    error_type: &str,
    records: &[Rec],
    f: &Failure,
    attempts: u32,
) -> Result<(), Failure> {
    let failed: Vec<Failed> = records
        .iter()
        .map(|r| Failed {
            rec: r.clone(),
            code: f.code.clone(),
            message: f.message.clone(),
            attempts,
            lambda_arn: None,
        })
        .collect();
    write_failed_records(ctx, s, conf, error_type, &failed)
}

fn raw_outs(records: &[Rec]) -> Vec<Out> {
    records
        .iter()
        .map(|r| Out {
            data: base64_decode(&r.data).unwrap_or_default(),
            arrival_ms: r.arrival_ms,
            keys: BTreeMap::new(),
            lambda_keys: BTreeMap::new(),
        })
        .collect()
}

fn deliver_s3(ctx: &Context, s: &Stream, batch: &Batch) -> Result<(), Failure> {
    let conf = &s.dest;
    if conf["S3BackupMode"] == "Enabled" && batch.attempts == 0 {
        let backup = &conf["S3BackupConfiguration"];
        write_objects(ctx, s, backup, &raw_outs(&batch.records))?;
    }
    let (outs, failed) = process(ctx, s, conf, &batch.records);
    let dynamic = conf["DynamicPartitioningConfiguration"]["Enabled"] == true;
    let (outs, unpartitioned): (Vec<Out>, Vec<Out>) = if dynamic {
        let needed = needs_keys(conf["Prefix"].as_str().unwrap_or(""));
        outs.into_iter().partition(|o| {
            needed.iter().all(|(lambda, k)| {
                if *lambda {
                    o.lambda_keys.contains_key(k)
                } else {
                    o.keys.contains_key(k)
                }
            })
        })
    } else {
        (outs, Vec::new())
    };
    write_objects(ctx, s, conf, &outs)?;
    write_failed_records(ctx, s, conf, "processing-failed", &failed)?;
    if !unpartitioned.is_empty() {
        let failed: Vec<Failed> = unpartitioned
            .iter()
            .map(|o| Failed {
                rec: Rec {
                    id: String::new(),
                    data: base64_encode(&o.data),
                    arrival_ms: o.arrival_ms,
                    kinesis: None,
                },
                code: "DynamicPartitioning.MetadataExtractionFailed".into(),
                message: "The partition keys of the prefix could not be extracted from the record."
                    .into(),
                attempts: 1,
                lambda_arn: None,
            })
            .collect();
        write_failed_records(ctx, s, conf, "partitioning-failed", &failed)?;
    }
    Ok(())
}

/// (from Lambda, key) of each partition key expression of a prefix.
fn needs_keys(prefix: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (marker, lambda) in [
        ("!{partitionKeyFromQuery:", false),
        ("!{partitionKeyFromLambda:", true),
    ] {
        let mut rest = prefix;
        while let Some(i) = rest.find(marker) {
            let after = &rest[i + marker.len()..];
            let end = after.find('}').unwrap_or(after.len());
            out.push((lambda, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// AWS's HTTP endpoint delivery request: a JSON body with `requestId`,
/// `timestamp` and the records, the access key in a header; a 200 answer
/// whose `requestId` matches is a success.
fn deliver_http(ctx: &Context, s: &Stream, batch: &Batch) -> Result<(), Failure> {
    let conf = &s.dest;
    if conf["S3BackupMode"] == "AllData" && batch.attempts == 0 {
        write_objects(ctx, s, &conf["S3Configuration"], &raw_outs(&batch.records))?;
    }
    let (outs, failed) = process(ctx, s, conf, &batch.records);
    if batch.attempts == 0 {
        write_failed_records(
            ctx,
            s,
            &conf["S3Configuration"],
            "processing-failed",
            &failed,
        )?;
    }
    if outs.is_empty() {
        return Ok(());
    }
    let endpoint = &conf["EndpointConfiguration"];
    let url = endpoint["Url"].as_str().unwrap_or("");
    let request_id = ids::uuid();
    let body = json!({
        "requestId": request_id,
        "timestamp": time::now_millis(),
        "records": outs.iter().map(|o| json!({"data": base64_encode(&o.data)})).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes();
    let gzip = conf["RequestConfiguration"]["ContentEncoding"] == "GZIP";
    let body = if gzip {
        crate::compress::gzip(&body)
    } else {
        body
    };
    let mut req = http::Request::post(url, body)
        .header("Content-Type", "application/json")
        .header("X-Amz-Firehose-Protocol-Version", "1.0")
        .header("X-Amz-Firehose-Request-Id", &request_id)
        .header("X-Amz-Firehose-Source-Arn", &s.arn)
        .header("User-Agent", "Amazon Kinesis Data Firehose Agent/1.0")
        .timeout(Duration::from_secs(30));
    if gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    if let Some(k) = endpoint["AccessKey"].as_str() {
        req = req.header("X-Amz-Firehose-Access-Key", k);
    }
    if let Some(attrs) = conf["RequestConfiguration"]["CommonAttributes"].as_array() {
        let map: serde_json::Map<String, Value> = attrs
            .iter()
            .filter_map(|a| {
                Some((
                    a["AttributeName"].as_str()?.to_string(),
                    a["AttributeValue"].clone(),
                ))
            })
            .collect();
        req = req.header(
            "X-Amz-Firehose-Common-Attributes",
            &json!({"commonAttributes": map}).to_string(),
        );
    }
    let resp = http::send(&req).map_err(|e| {
        Failure::new(
            "HttpEndpoint.RequestTimeout",
            format!("The request to the endpoint {url} failed: {e}"),
        )
    })?;
    if resp.status != 200 {
        return Err(Failure::new(
            "HttpEndpoint.ResponseErrorCode",
            format!(
                "The endpoint {url} answered with status {}: {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ),
        ));
    }
    let answer: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if answer["requestId"].as_str() != Some(request_id.as_str()) {
        return Err(Failure::new(
            "HttpEndpoint.InvalidResponseFromDestination",
            format!("The response from the endpoint {url} does not hold the request's requestId."),
        ));
    }
    Ok(())
}

/// Destinations ministack cannot reach (Redshift, OpenSearch, Splunk,
/// Snowflake, Iceberg): the records go to the destination's S3
/// configuration, as failed data with a clear error.
fn deliver_unavailable(ctx: &Context, s: &Stream, batch: &Batch) -> Result<(), Failure> {
    let conf = &s.dest;
    let s3 = conf
        .get("S3Configuration")
        .cloned()
        .or_else(|| conf.get("S3BackupConfiguration").cloned());
    let Some(s3) = s3 else {
        return Ok(());
    };
    let error_type = match s.dest_kind.as_str() {
        "Elasticsearch" => "elasticsearch-failed",
        "Amazonopensearchservice" | "AmazonOpenSearchServerless" => "opensearch-failed",
        "Splunk" => "splunk-failed",
        "Redshift" => "redshift-failed",
        "Snowflake" => "snowflake-failed",
        _ => "iceberg-failed",
    };
    let f = Failure::new(
        format!("{}.NotAvailableLocally", s.dest_kind),
        format!(
            "ministack cannot deliver to a {} destination; the records are kept in S3.",
            s.dest_kind
        ),
    );
    write_failed(ctx, s, &s3, error_type, &batch.records, &f, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_extraction_subset() {
        let k = extract_keys(
            "{customer: .customer_id, region: .where.region}",
            br#"{"customer_id": 42, "where": {"region": "eu"}}"#,
        );
        assert_eq!(k["customer"], "42");
        assert_eq!(k["region"], "eu");
        assert!(extract_keys("{a: .missing}", b"{}").is_empty());
    }

    #[test]
    fn partition_keys_a_prefix_needs() {
        assert_eq!(
            needs_keys("c=!{partitionKeyFromQuery:customer}/l=!{partitionKeyFromLambda:x}/"),
            vec![(false, "customer".to_string()), (true, "x".to_string())]
        );
    }
}
