//! DynamoDB Streams, the data side: every item write of a table whose
//! stream is on appends a record here, in the same store unit as the write
//! (so a write and its record land together or not at all, and a
//! transaction's records are all there or none). The `dynamodbstreams`
//! plugin serves the Streams API by calling [`internal_streams_read`]
//! (operation `MinistackInternalStreamsRead`) through the host.
//!
//! One shard per stream. Sequence numbers are `creation millis * 10^6 + n`,
//! increasing within a stream and across a table's successive streams.
//! Records are kept 24 hours; a disabled stream's shard is closed (its
//! `EndingSequenceNumber` set) and stays readable for those 24 hours.
//! Appending notifies the stream's [`topic`].

use ministack_sdk::prelude::*;
use ministack_sdk::store::keys;
use serde_json::{Value, json};

use crate::db::{Tbl, item_size, str_field, validation};
use crate::expr::Item;

/// A stream of a table (one shard).
#[derive(Serialize, Deserialize, Clone)]
pub struct Stream {
    pub arn: String,
    pub label: String,
    pub table: String,
    pub view: String,
    pub key_schema: Value,
    /// Epoch seconds.
    pub created: f64,
    pub shard_id: String,
    /// First sequence number of the shard.
    pub start_seq: u64,
    /// Next sequence number to hand out.
    pub next_seq: u64,
    /// Set when the stream is disabled (or its table deleted).
    #[serde(default)]
    pub end_seq: Option<u64>,
    #[serde(default)]
    pub closed_at: Option<f64>,
}

/// Stream ARN → stream.
pub const STREAMS: Table<Stream> = Table::new("streams");
/// `arn \0 u64(sequence number)` → record JSON (as GetRecords answers it).
pub const RECORDS: Table<Value> = Table::new("stream-records");

const RETENTION_SECS: f64 = 24.0 * 3600.0;
const ITERATOR_LIFETIME_MS: u64 = 15 * 60 * 1000;

/// A sequence number as AWS writes it: at least 21 digits.
pub fn seq_text(n: u64) -> String {
    format!("{n:021}")
}

/// Opens the stream named by a table description's `LatestStreamArn`.
pub fn open(desc: &Value) -> Result<(), AwsError> {
    let Some(arn) = str_field(desc, "LatestStreamArn") else {
        return Ok(());
    };
    let now_ms = ministack_sdk::time::now_millis();
    let base = now_ms * 1_000_000;
    let stream = Stream {
        arn: arn.to_string(),
        label: str_field(desc, "LatestStreamLabel")
            .unwrap_or("")
            .to_string(),
        table: str_field(desc, "TableName").unwrap_or("").to_string(),
        view: str_field(&desc["StreamSpecification"], "StreamViewType")
            .unwrap_or("KEYS_ONLY")
            .to_string(),
        key_schema: desc["KeySchema"].clone(),
        created: now_ms as f64 / 1000.0,
        shard_id: format!("shardId-{now_ms:020}-{}", ministack_sdk::ids::hex(8)),
        start_seq: base + 1,
        next_seq: base + 1,
        end_seq: None,
        closed_at: None,
    };
    STREAMS.put(arn, &stream)
}

/// Closes a stream: its shard gets an ending sequence number.
pub fn close(arn: &str) -> Result<(), AwsError> {
    if let Some(mut s) = STREAMS.get(arn)?
        && s.end_seq.is_none()
    {
        s.end_seq = Some(s.next_seq - 1);
        s.closed_at = Some(ministack_sdk::time::now());
        STREAMS.put(arn, &s)?;
    }
    Ok(())
}

/// The ARN of the table's enabled stream, if any.
pub fn enabled_arn(desc: &Value) -> Option<&str> {
    if desc["StreamSpecification"]["StreamEnabled"].as_bool() == Some(true) {
        str_field(desc, "LatestStreamArn")
    } else {
        None
    }
}

/// What a write did, as a stream event name (`None`: nothing changed).
pub fn event_name(old: Option<&Item>, new: Option<&Item>) -> Option<&'static str> {
    match (old, new) {
        (None, Some(_)) => Some("INSERT"),
        (Some(o), Some(n)) if o != n => Some("MODIFY"),
        (Some(_), None) => Some("REMOVE"),
        _ => None,
    }
}

/// The record's `dynamodb` member for a view type.
pub fn stream_record(
    view: &str,
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
    seq: u64,
    now: u64,
) -> Value {
    let mut size = item_size(keys);
    let mut d = json!({
        "ApproximateCreationDateTime": now,
        "Keys": keys,
        "SequenceNumber": seq_text(seq),
        "StreamViewType": view,
    });
    if matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(n) = new
    {
        size += item_size(n);
        d["NewImage"] = json!(n);
    }
    if matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(o) = old
    {
        size += item_size(o);
        d["OldImage"] = json!(o);
    }
    d["SizeBytes"] = json!(size.max(1));
    d
}

/// Appends the record of one item write (called by [`Tbl::write`]).
/// `by_service`: a deletion by DynamoDB itself (TTL).
pub fn record(
    t: &Tbl,
    old: Option<&Item>,
    new: Option<&Item>,
    by_service: bool,
) -> Result<(), AwsError> {
    let Some(arn) = enabled_arn(&t.meta.desc) else {
        return Ok(());
    };
    let Some(event) = event_name(old, new) else {
        return Ok(());
    };
    let Some(mut stream) = STREAMS.get(arn)? else {
        return Ok(());
    };
    let seq = stream.next_seq;
    stream.next_seq += 1;
    STREAMS.put(arn, &stream)?;
    let keys = t.schema.key_of(new.or(old).expect("old or new"));
    let region = arn.split(':').nth(3).unwrap_or("");
    let mut rec = json!({
        "eventID": ministack_sdk::ids::hex(32),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream_record(&stream.view, &keys, old, new, seq, ministack_sdk::time::now_secs()),
    });
    if by_service {
        rec["userIdentity"] = json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"});
    }
    RECORDS.put(&keys::join(&[arn, &keys::u64(seq)]), &rec)?;
    ministack_sdk::tasks::notify(&topic(arn));
    trim(arn)
}

/// The topic notified (when the write commits) after records are appended
/// to a stream: `stream:<StreamArn>` in the table's account and region.
/// Other plugins granted `listens = ["dynamodb"]` wait on it (a Lambda
/// event source mapping, say) instead of polling GetRecords (docs/tasks.md).
pub fn topic(stream_arn: &str) -> String {
    format!("stream:{stream_arn}")
}

/// Drops a few records older than the 24-hour retention from the head of
/// a stream (called with each write, so the work stays small).
fn trim(arn: &str) -> Result<(), AwsError> {
    let cutoff = ministack_sdk::time::now_secs().saturating_sub(RETENTION_SECS as u64);
    let head = Scan::prefix(keys::prefix(&[arn])).limit(TRIM_BATCH);
    let old = RECORDS.scan(&head.clone().limit(1))?;
    if old.first().is_none_or(|(_, r)| created(r) >= cutoff) {
        return Ok(());
    }
    for (k, r) in RECORDS.scan(&head)? {
        if created(&r) >= cutoff {
            break;
        }
        RECORDS.delete(&k);
    }
    Ok(())
}

const TRIM_BATCH: u32 = 100;

fn created(rec: &Value) -> u64 {
    rec["dynamodb"]["ApproximateCreationDateTime"]
        .as_u64()
        .unwrap_or(0)
}

// ---------- the Streams API, served to the dynamodbstreams plugin ----------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InternalInput {
    pub operation: String,
    pub input: String,
}

/// `MinistackInternalStreamsRead`: one DynamoDB Streams operation (name and
/// JSON input) answered with its JSON output. Only reads.
pub fn internal_streams_read(ctx: &Context, inp: InternalInput) -> Result<Value, AwsError> {
    let input: Value = serde_json::from_str(&inp.input)
        .map_err(|_| validation("Input must be the JSON input of a DynamoDB Streams operation"))?;
    if !input.is_object() {
        return Err(validation("Input must be a JSON object"));
    }
    let out = match inp.operation.as_str() {
        "ListStreams" => list_streams(ctx, &input)?,
        "DescribeStream" => describe_stream(&input)?,
        "GetShardIterator" => get_shard_iterator(&input)?,
        "GetRecords" => get_records(&input)?,
        other => {
            return Err(validation(format!(
                "Unknown DynamoDB Streams operation: {other}"
            )));
        }
    };
    Ok(json!({ "Output": out.to_string() }))
}

fn visible(s: &Stream, now: f64) -> bool {
    s.closed_at.is_none_or(|c| now - c < RETENTION_SECS)
}

fn stream_not_found(arn: &str) -> AwsError {
    AwsError::resource_not_found(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

fn load(arn: &str) -> Result<Stream, AwsError> {
    STREAMS
        .get(arn)?
        .filter(|s| visible(s, ministack_sdk::time::now()))
        .ok_or_else(|| stream_not_found(arn))
}

fn limit(input: &Value, max: u64, member: &str) -> Result<u64, AwsError> {
    let Some(l) = input.get("Limit").and_then(|v| v.as_i64()) else {
        return Ok(max);
    };
    if l < 1 || l as u64 > max {
        let c = if l < 1 {
            "greater than or equal to 1".to_string()
        } else {
            format!("less than or equal to {max}")
        };
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{l}' at '{member}' failed to satisfy constraint: Member must have value {c}"
        )));
    }
    Ok(l as u64)
}

fn list_streams(ctx: &Context, input: &Value) -> Result<Value, AwsError> {
    let limit = limit(input, 100, "limit")?;
    let now = ministack_sdk::time::now();
    let prefix = match str_field(input, "TableName") {
        Some(t) => format!("{}/stream/", ctx.arn("dynamodb", &format!("table/{t}"))),
        None => String::new(),
    };
    let mut scan = Scan::prefix(prefix);
    if let Some(start) = str_field(input, "ExclusiveStartStreamArn") {
        scan = scan.start_after(start);
    }
    let mut streams = Vec::new();
    let mut last = None;
    for (arn, s) in STREAMS.scan(&scan)? {
        if !visible(&s, now) {
            continue;
        }
        if streams.len() as u64 == limit {
            last = streams
                .last()
                .and_then(|v: &Value| v["StreamArn"].as_str().map(String::from));
            break;
        }
        streams.push(json!({"StreamArn": arn, "TableName": s.table, "StreamLabel": s.label}));
    }
    let mut out = json!({ "Streams": streams });
    if let Some(l) = last {
        out["LastEvaluatedStreamArn"] = json!(l);
    }
    Ok(out)
}

fn describe_stream(input: &Value) -> Result<Value, AwsError> {
    let arn = str_field(input, "StreamArn").unwrap_or("");
    limit(input, 100, "limit")?;
    let s = load(arn)?;
    let mut shard = json!({
        "ShardId": s.shard_id,
        "SequenceNumberRange": {"StartingSequenceNumber": seq_text(s.start_seq)},
    });
    if let Some(end) = s.end_seq {
        shard["SequenceNumberRange"]["EndingSequenceNumber"] = json!(seq_text(end));
    }
    let shards = if str_field(input, "ExclusiveStartShardId").is_some_and(|x| x >= &s.shard_id) {
        vec![]
    } else {
        vec![shard]
    };
    Ok(json!({ "StreamDescription": {
        "StreamArn": s.arn,
        "StreamLabel": s.label,
        "StreamStatus": if s.end_seq.is_some() { "DISABLED" } else { "ENABLED" },
        "StreamViewType": s.view,
        "CreationRequestDateTime": s.created,
        "TableName": s.table,
        "KeySchema": s.key_schema,
        "Shards": shards,
    }}))
}

/// A shard iterator: stream, shard, next sequence number, issue time.
pub fn encode_iterator(arn: &str, shard: &str, position: u64, issued_ms: u64) -> String {
    ministack_sdk::pagination::encode(&format!("{arn}|{shard}|{position}|{issued_ms}"))
}

pub fn decode_iterator(it: &str) -> Option<(String, String, u64, u64)> {
    let text = ministack_sdk::pagination::decode(it)?;
    let mut parts = text.rsplitn(4, '|');
    let issued = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    let shard = parts.next()?.to_string();
    let arn = parts.next()?.to_string();
    Some((arn, shard, position, issued))
}

fn get_shard_iterator(input: &Value) -> Result<Value, AwsError> {
    let arn = str_field(input, "StreamArn").unwrap_or("");
    let shard = str_field(input, "ShardId").unwrap_or("");
    let kind = str_field(input, "ShardIteratorType").unwrap_or("");
    let s = load(arn)?;
    if shard != s.shard_id {
        return Err(AwsError::resource_not_found(format!(
            "Requested resource not found: Shard does not exist: {shard}"
        )));
    }
    let seq = || -> Result<u64, AwsError> {
        let text = str_field(input, "SequenceNumber").ok_or_else(|| {
            validation(format!(
                "Must specify a sequence number for iterator type {kind}"
            ))
        })?;
        let n: u64 = text
            .parse()
            .map_err(|_| validation(format!("Invalid SequenceNumber: {text}")))?;
        let last = s.end_seq.unwrap_or(s.next_seq.saturating_sub(1));
        if n < s.start_seq || n > last {
            return Err(validation(format!(
                "Invalid StreamArn or SequenceNumber: {text} is not in the shard's sequence number range"
            )));
        }
        Ok(n)
    };
    let position = match kind {
        "TRIM_HORIZON" => 0,
        "LATEST" => s.next_seq,
        "AT_SEQUENCE_NUMBER" => seq()?,
        "AFTER_SEQUENCE_NUMBER" => seq()? + 1,
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
            )));
        }
    };
    Ok(json!({
        "ShardIterator": encode_iterator(arn, shard, position, ministack_sdk::time::now_millis())
    }))
}

fn get_records(input: &Value) -> Result<Value, AwsError> {
    let it = str_field(input, "ShardIterator").unwrap_or("");
    let limit = limit(input, 1000, "limit")?;
    let Some((arn, shard, position, issued)) = decode_iterator(it) else {
        return Err(validation("Invalid ShardIterator"));
    };
    let now_ms = ministack_sdk::time::now_millis();
    if now_ms.saturating_sub(issued) > ITERATOR_LIFETIME_MS {
        return Err(AwsError::new(
            "ExpiredIteratorException",
            format!(
                "Iterator expired. The iterator was created at time {} while right now it is {}.",
                ministack_sdk::time::iso8601_millis(issued as f64 / 1000.0),
                ministack_sdk::time::iso8601_millis(now_ms as f64 / 1000.0)
            ),
        )
        .with_status(400));
    }
    let s = load(&arn)?;
    let cutoff = ministack_sdk::time::now_secs().saturating_sub(RETENTION_SECS as u64);
    let scan = Scan::prefix(keys::prefix(&[&arn]))
        .from(keys::join(&[&arn, &keys::u64(position)]))
        .limit(limit as u32);
    let mut records = Vec::new();
    let mut bytes = 0;
    let mut next = position;
    for (k, rec) in RECORDS.scan(&scan)? {
        let seq = keys::parse_u64(keys::last(&k), false).unwrap_or(0);
        next = seq + 1;
        if created(&rec) < cutoff {
            continue;
        }
        bytes += rec["dynamodb"]["SizeBytes"].as_u64().unwrap_or(0);
        records.push(rec);
        // AWS answers at most 1 MB of records per call.
        if bytes >= 1024 * 1024 {
            break;
        }
    }
    let mut out = json!({ "Records": records });
    let done = s.end_seq.is_some_and(|end| next > end);
    if !done {
        out["NextShardIterator"] = json!(encode_iterator(&arn, &shard, next, now_ms));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn event_names_follow_the_write() {
        let a = item(json!({"pk": {"S": "a"}}));
        let b = item(json!({"pk": {"S": "a"}, "x": {"N": "1"}}));
        assert_eq!(event_name(None, Some(&a)), Some("INSERT"));
        assert_eq!(event_name(Some(&a), Some(&b)), Some("MODIFY"));
        assert_eq!(event_name(Some(&a), Some(&a)), None);
        assert_eq!(event_name(Some(&a), None), Some("REMOVE"));
        assert_eq!(event_name(None, None), None);
    }

    #[test]
    fn view_types_choose_the_images() {
        let k = item(json!({"pk": {"S": "a"}}));
        let o = item(json!({"pk": {"S": "a"}, "x": {"N": "1"}}));
        let n = item(json!({"pk": {"S": "a"}, "x": {"N": "2"}}));
        let r = stream_record("KEYS_ONLY", &k, Some(&o), Some(&n), 7, 1);
        assert!(r.get("NewImage").is_none() && r.get("OldImage").is_none());
        assert_eq!(r["SequenceNumber"], "000000000000000000007");
        let r = stream_record("NEW_IMAGE", &k, Some(&o), Some(&n), 7, 1);
        assert!(r.get("NewImage").is_some() && r.get("OldImage").is_none());
        let r = stream_record("OLD_IMAGE", &k, Some(&o), Some(&n), 7, 1);
        assert!(r.get("NewImage").is_none() && r.get("OldImage").is_some());
        let r = stream_record("NEW_AND_OLD_IMAGES", &k, Some(&o), None, 7, 1);
        assert!(r.get("NewImage").is_none() && r.get("OldImage").is_some());
    }

    #[test]
    fn iterators_round_trip() {
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000";
        let it = encode_iterator(arn, "shardId-1", 42, 99);
        assert_eq!(
            decode_iterator(&it),
            Some((arn.to_string(), "shardId-1".to_string(), 42, 99))
        );
        assert_eq!(decode_iterator("garbage!"), None);
    }
}

// ---------- Kinesis Data Streams destinations ----------
//
// A write appends its change records to the table's outbox in the write's
// own unit, numbered by a per-table counter (so in commit order), and one
// drain task per table at a time puts them on the streams, oldest first.
// One task per record (the first design) let two records' tasks run at
// once, and a MODIFY could land after the REMOVE that followed it.

/// The task that drains one table's outbox (payload [`Drain`]).
pub const KINESIS_DRAIN: &str = "kinesis-drain";
/// The task of builds before the outbox: one record, put as is. Kept so a
/// record queued by such a build (and persisted) is still delivered.
pub const KINESIS_DELIVERY: &str = "kinesis-destination";

/// Records taken per drain step, and their data bytes at most (a
/// PutRecords request takes 500 records and 5 MiB).
const DRAIN_RECORDS: u32 = 500;
const DRAIN_BYTES: usize = 4 * 1024 * 1024;
/// Throttled records are tried again after this long.
const DRAIN_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// One change record for one destination stream.
#[derive(Serialize, Deserialize)]
pub struct KinesisDelivery {
    stream_arn: String,
    partition_key: String,
    data: String,
}

/// A table's outbox counter, and whether a drain task is queued for it.
#[derive(Serialize, Deserialize, Default)]
pub struct Outbox {
    next: u64,
    draining: bool,
}

/// Table name → its outbox's state.
pub const OUTBOXES: Table<Outbox> = Table::new("kinesis-outboxes");
/// `table \0 u64(n)` → a record waiting for delivery.
pub const OUTBOX: Table<KinesisDelivery> = Table::new("kinesis-outbox");

#[derive(Serialize, Deserialize)]
pub struct Drain {
    table: String,
}

/// Queues a change for every ACTIVE Kinesis streaming destination of the
/// table, in the Kinesis Data Streams for DynamoDB record format. The
/// records go out once the write commits (AWS delivers asynchronously).
pub fn to_kinesis(
    t: &Tbl,
    old: Option<&Item>,
    new: Option<&Item>,
    by_service: bool,
) -> Result<(), AwsError> {
    let Some(list) = t.meta.extra.get("kinesis").and_then(Value::as_array) else {
        return Ok(());
    };
    let Some(event) = event_name(old, new) else {
        return Ok(());
    };
    let keys = t.schema.key_of(new.or(old).expect("old or new"));
    let partition_key =
        ministack_sdk::hash::sha256_hex(json!(keys).to_string().as_bytes())[..32].to_uppercase();
    let mut outbox: Option<Outbox> = None;
    for d in list
        .iter()
        .filter(|d| str_field(d, "DestinationStatus") == Some("ACTIVE"))
    {
        let micros = str_field(d, "ApproximateCreationDateTimePrecision") == Some("MICROSECOND");
        let now = ministack_sdk::time::now();
        let created = if micros {
            json!((now * 1e6) as u64)
        } else {
            json!((now * 1e3) as u64)
        };
        let mut change = json!({
            "ApproximateCreationDateTime": created,
            "Keys": keys,
            "SizeBytes": new.or(old).map(item_size).unwrap_or(0),
        });
        if let Some(n) = new {
            change["NewImage"] = Value::Object(n.clone());
        }
        if let Some(o) = old {
            change["OldImage"] = Value::Object(o.clone());
        }
        let mut record = json!({
            "awsRegion": t.meta.desc["TableArn"].as_str().and_then(|a| a.split(':').nth(3)).unwrap_or(""),
            "eventID": ministack_sdk::ids::uuid(),
            "eventName": event,
            "userIdentity": Value::Null,
            "recordFormat": "application/json",
            "tableName": t.name,
            "dynamodb": change,
            "eventSource": "aws:dynamodb",
        });
        if by_service {
            record["userIdentity"] =
                json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        }
        let ob = match &mut outbox {
            Some(ob) => ob,
            None => outbox.insert(OUTBOXES.get(&t.name)?.unwrap_or_default()),
        };
        let delivery = KinesisDelivery {
            stream_arn: str_field(d, "StreamArn").unwrap_or_default().to_string(),
            partition_key: partition_key.clone(),
            data: record.to_string(),
        };
        OUTBOX.put(&keys::join(&[&t.name, &keys::u64(ob.next)]), &delivery)?;
        ob.next += 1;
    }
    let Some(mut ob) = outbox else {
        return Ok(());
    };
    if !ob.draining {
        let drain = Drain {
            table: t.name.clone(),
        };
        ministack_sdk::tasks::schedule(std::time::Duration::ZERO, KINESIS_DRAIN, &drain)?;
        ob.draining = true;
    }
    OUTBOXES.put(&t.name, &ob)
}

/// One drain step: puts the oldest waiting records of a table (up to a
/// PutRecords request per stream), then queues the next step; an empty
/// outbox ends the drain. Exactly one step is queued or running per table,
/// so records reach each stream in the order their writes committed.
pub fn drain_kinesis(ctx: &Context, d: Drain) -> Result<(), AwsError> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (key, rec) in OUTBOX.scan(&Scan::prefix(keys::prefix(&[&d.table])).limit(DRAIN_RECORDS))? {
        bytes += rec.data.len();
        if bytes > DRAIN_BYTES && !batch.is_empty() {
            break;
        }
        batch.push((key, rec));
    }
    if batch.is_empty() {
        // In the same unit as the scan: a write appending meanwhile
        // conflicts with it, and one of the two runs again.
        if let Some(mut ob) = OUTBOXES.get(&d.table)? {
            ob.draining = false;
            OUTBOXES.put(&d.table, &ob)?;
        }
        return Ok(());
    }
    // Committed with the first call below: if the gateway dies before this
    // step ends, the watchdog runs it again (at least once, as AWS). A
    // start hook could not tell a dead step's watchdog from a live one's.
    let watchdog = ministack_sdk::tasks::schedule(watchdog_after(ctx), KINESIS_DRAIN, &d)?;
    let mut streams: Vec<&str> = Vec::new();
    for (_, rec) in &batch {
        if !streams.contains(&rec.stream_arn.as_str()) {
            streams.push(&rec.stream_arn);
        }
    }
    let mut throttled = Vec::new();
    for stream in streams {
        let recs: Vec<&(String, KinesisDelivery)> = batch
            .iter()
            .filter(|(_, r)| r.stream_arn == stream)
            .collect();
        let failed = put_records(stream, recs.iter().map(|(_, r)| r));
        throttled.extend(failed.into_iter().map(|i| recs[i].0.clone()));
    }
    for (key, _) in &batch {
        if !throttled.contains(key) {
            OUTBOX.delete(key);
        }
    }
    ministack_sdk::tasks::cancel(&watchdog);
    let next = if throttled.is_empty() {
        std::time::Duration::ZERO
    } else {
        DRAIN_RETRY
    };
    ministack_sdk::tasks::schedule(next, KINESIS_DRAIN, &d)?;
    Ok(())
}

/// How long a drain step may take before its watchdog runs it again:
/// plugin setting `kinesis_drain_watchdog_seconds` (default 30). A step cut
/// short by a crash delivers this long after the restart.
fn watchdog_after(ctx: &Context) -> std::time::Duration {
    ctx.setting_secs("kinesis_drain_watchdog_seconds", 30.0, 1.0)
}

/// PutRecords of `recs` on the stream (in its account and region); answers
/// the positions of the records Kinesis throttled, to try again. Records
/// refused for any other reason (the stream was deleted) are dropped and
/// logged, as AWS drops them.
fn put_records<'a>(
    stream_arn: &str,
    recs: impl Iterator<Item = &'a KinesisDelivery>,
) -> Vec<usize> {
    let Some(arn) = Arn::parse(stream_arn) else {
        return Vec::new();
    };
    let records: Vec<Value> = recs
        .map(|r| {
            json!({
                "PartitionKey": r.partition_key,
                "Data": ministack_sdk::encoding::base64_encode(r.data.as_bytes()),
            })
        })
        .collect();
    let input = json!({ "StreamARN": stream_arn, "Records": records });
    let out = ministack_sdk::services::call::<_, Value>(
        &ministack_sdk::services::Target::at("kinesis", &arn.account, &arn.region),
        "PutRecords",
        &input,
    );
    match out {
        Ok(out) => out["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, r)| {
                str_field(r, "ErrorCode") == Some("ProvisionedThroughputExceededException")
            })
            .map(|(i, _)| i)
            .collect(),
        Err(e) => {
            ministack_sdk::warn!("Kinesis delivery to {stream_arn} failed: {}", e.message);
            Vec::new()
        }
    }
}

/// A record queued by a build before the outbox: PutRecord as it was.
pub fn deliver_kinesis(_ctx: &Context, d: KinesisDelivery) -> Result<(), AwsError> {
    put_records(&d.stream_arn, std::iter::once(&d));
    Ok(())
}
