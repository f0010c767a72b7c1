//! Data records: PutRecord / PutRecords (hash key routing, per-shard
//! sequence numbers), shard iterators and GetRecords.

use ministack_sdk::prelude::*;
use ministack_sdk::{tasks, time};

use crate::iterator::{self, Position};
use crate::shapes::{
    EncryptionType, ExpiredIteratorException, GetRecordsInput, GetRecordsOutput,
    GetShardIteratorInput, GetShardIteratorOutput, ProvisionedThroughputExceededException,
    PutRecordInput, PutRecordOutput, PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry,
    Record, ShardIteratorType,
};
use crate::streams::{RECORDS, STREAMS, ShardMeta, StoredRecord, Stream, find};
use crate::{hashkey, invalid_argument, not_found, seq};

/// GetRecords answers at most this many bytes of data (AWS: 10 MiB).
const MAX_GET_BYTES: usize = 10 * 1024 * 1024;
/// PutRecords takes at most this many bytes, keys included (AWS: 5 MiB...
/// raised to 10 MiB with larger records; the larger bound here).
const MAX_PUT_BYTES: usize = 10 * 1024 * 1024;

/// The topic notified when records are put into a stream (Lambda and
/// Firehose pollers wait on it through `listens = ["kinesis"]`).
pub fn stream_topic(stream_arn: &str) -> String {
    format!("stream:{stream_arn}")
}

/// The topic notified when records are put into one shard (SubscribeToShard).
pub fn shard_topic(stream_id: &str, shard_id: &str) -> String {
    format!("shard:{stream_id}:{shard_id}")
}

fn record_key(stream_id: &str, shard_id: &str, counter: u64) -> String {
    keys::join(&[stream_id, shard_id, &keys::u64(counter)])
}

/// Bytes of a base64 text once decoded.
fn decoded_len(b64: &str) -> usize {
    let pad = b64.bytes().rev().take_while(|&b| b == b'=').count();
    (b64.len() / 4 * 3).saturating_sub(pad)
        + match b64.len() % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        }
}

/// Records a shard may take per second when throttling is on
/// (`KINESIS_SHARD_RECORDS_PER_SECOND`, 0 or unset: never throttled; AWS:
/// 1000 records and 1 MiB per second and shard).
fn throttle_limit(ctx: &Context) -> u64 {
    ctx.setting("KINESIS_SHARD_RECORDS_PER_SECOND")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Entry<'a> {
    data: &'a str,
    partition_key: &'a str,
    explicit_hash_key: Option<&'a str>,
}

/// What happened to one entry of a put.
enum Outcome {
    Put { shard: String, seq: String },
    Throttled { shard: String },
}

/// The hash key ranges of a stream's open shards, with their index: read
/// once per put (parsing a shard's 39-digit bounds per record was a third
/// of a PutRecords of 100 records, in 128-bit multiplications).
fn open_ranges(stream: &Stream) -> Vec<(u128, u128, usize)> {
    stream
        .shards
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_open())
        .map(|(i, s)| {
            let (start, end) = s.range();
            (start, end, i)
        })
        .collect()
}

fn route(ranges: &[(u128, u128, usize)], entry: &Entry) -> Result<usize, AwsError> {
    let hash = match entry.explicit_hash_key {
        Some(k) => hashkey::parse(k).ok_or_else(|| {
            invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {k}"
            ))
        })?,
        None => hashkey::of_partition_key(entry.partition_key),
    };
    ranges
        .iter()
        .find(|(start, end, _)| *start <= hash && hash <= *end)
        .map(|r| r.2)
        .ok_or_else(|| AwsError::server("InternalFailure", "no open shard holds the hash key"))
}

/// Appends entries to their shards; one stream update for the batch.
fn append(ctx: &Context, stream: &mut Stream, entries: &[Entry]) -> Result<Vec<Outcome>, AwsError> {
    let max_record = stream.max_record_kib.unwrap_or(1024) as usize * 1024;
    let mut total = 0usize;
    let mut targets = Vec::with_capacity(entries.len());
    let ranges = open_ranges(stream);
    for e in entries {
        let size = decoded_len(e.data);
        if size > max_record {
            return Err(invalid_argument(format!(
                "Record size {size} exceeds the maximum record size of {max_record} bytes."
            )));
        }
        total += size + e.partition_key.len();
        targets.push(route(&ranges, e)?);
    }
    if total > MAX_PUT_BYTES {
        return Err(invalid_argument(format!(
            "Records size {total} exceeds the maximum request size of {MAX_PUT_BYTES} bytes."
        )));
    }
    let now = time::now_millis();
    let second = now / 1000;
    let limit = throttle_limit(ctx);
    let mut touched = vec![false; stream.shards.len()];
    let mut outcomes = Vec::with_capacity(entries.len());
    for (e, &i) in entries.iter().zip(&targets) {
        let shard = &mut stream.shards[i];
        if limit > 0 {
            if shard.window.0 != second {
                shard.window = (second, 0);
            }
            if shard.window.1 >= limit {
                outcomes.push(Outcome::Throttled {
                    shard: shard.id.clone(),
                });
                continue;
            }
            shard.window.1 += 1;
        }
        shard.last += 1;
        let counter = shard.last;
        touched[i] = true;
        RECORDS.put(
            &record_key(&stream.id, &shard.id, counter),
            &StoredRecord {
                d: e.data.to_string(),
                k: e.partition_key.to_string(),
                t: now,
            },
        )?;
        outcomes.push(Outcome::Put {
            shard: shard.id.clone(),
            seq: seq::format(shard.index, counter, stream.created_ms),
        });
    }
    STREAMS.put(&stream.name, stream)?;
    if touched.iter().any(|t| *t) {
        tasks::notify(&stream_topic(&stream.arn));
        for (i, t) in touched.iter().enumerate() {
            if *t {
                tasks::notify(&shard_topic(&stream.id, &stream.shards[i].id));
            }
        }
    }
    Ok(outcomes)
}

fn encryption(stream: &Stream) -> Option<EncryptionType> {
    Some(stream.encryption_type())
}

pub fn put_record(ctx: &Context, input: PutRecordInput) -> Result<PutRecordOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    stream.check_not_stale(input.stream_id.as_deref())?;
    if let Some(order) = &input.sequence_number_for_ordering
        && seq::parse(order).is_none()
        && order != "0"
    {
        return Err(invalid_argument(format!(
            "SequenceNumberForOrdering {order} is not a valid sequence number."
        )));
    }
    let entry = Entry {
        data: &input.data,
        partition_key: &input.partition_key,
        explicit_hash_key: input.explicit_hash_key.as_deref(),
    };
    match append(ctx, &mut stream, std::slice::from_ref(&entry))?.pop() {
        Some(Outcome::Put { shard, seq }) => Ok(PutRecordOutput {
            shard_id: shard,
            sequence_number: seq,
            encryption_type: encryption(&stream),
        }),
        Some(Outcome::Throttled { shard }) => {
            Err(ProvisionedThroughputExceededException::new(format!(
                "Rate exceeded for shard {shard} in stream {} under account {}.",
                stream.name, ctx.account
            ))
            .into())
        }
        None => Err(AwsError::server("InternalFailure", "no record was put")),
    }
}

pub fn put_records(ctx: &Context, input: PutRecordsInput) -> Result<PutRecordsOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    stream.check_not_stale(input.stream_id.as_deref())?;
    let entries: Vec<Entry> = input
        .records
        .iter()
        .map(|r| Entry {
            data: &r.data,
            partition_key: &r.partition_key,
            explicit_hash_key: r.explicit_hash_key.as_deref(),
        })
        .collect();
    let outcomes = append(ctx, &mut stream, &entries)?;
    let mut failed = 0;
    let records = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Put { shard, seq } => PutRecordsResultEntry {
                sequence_number: Some(seq),
                shard_id: Some(shard),
                ..Default::default()
            },
            Outcome::Throttled { shard } => {
                failed += 1;
                PutRecordsResultEntry {
                    error_code: Some("ProvisionedThroughputExceededException".into()),
                    error_message: Some(format!(
                        "Rate exceeded for shard {shard} in stream {} under account {}.",
                        stream.name, ctx.account
                    )),
                    ..Default::default()
                }
            }
        })
        .collect();
    Ok(PutRecordsOutput {
        failed_record_count: Some(failed),
        records,
        encryption_type: encryption(&stream),
    })
}

/// The counter of the first record of `shard` that arrived at or after
/// `at_ms` (one past the last when none did).
fn counter_at(stream: &Stream, shard: &ShardMeta, at_ms: u64) -> Result<u64, AwsError> {
    let prefix = keys::prefix(&[&stream.id, &shard.id]);
    let mut after: Option<String> = None;
    loop {
        let mut scan = Scan::prefix(prefix.clone()).limit(1000);
        if let Some(a) = &after {
            scan = scan.start_after(a.clone());
        }
        let page = RECORDS.scan(&scan)?;
        if page.is_empty() {
            return Ok(shard.last + 1);
        }
        for (key, r) in &page {
            if r.t >= at_ms {
                return Ok(keys::parse_u64(keys::last(key), false).unwrap_or(shard.last + 1));
            }
        }
        after = page.last().map(|(k, _)| k.clone());
    }
}

/// The counter an iterator of this type starts at.
pub fn start_counter(
    stream: &Stream,
    shard: &ShardMeta,
    kind: &ShardIteratorType,
    sequence_number: Option<&str>,
    timestamp: Option<f64>,
) -> Result<u64, AwsError> {
    let from_seq = |after: bool| -> Result<u64, AwsError> {
        let s = sequence_number.ok_or_else(|| {
            invalid_argument(format!(
                "StartingSequenceNumber must be provided for ShardIteratorType {kind}."
            ))
        })?;
        match seq::parse(s) {
            Some((index, counter)) if index == shard.index && counter <= shard.last => {
                Ok(if after { counter + 1 } else { counter.max(1) })
            }
            _ => Err(invalid_argument(format!(
                "StartingSequenceNumber {s} used in GetShardIterator on shard {} in stream {} under account {} is invalid because it did not come from this stream.",
                shard.id,
                stream.name,
                stream.arn.split(':').nth(4).unwrap_or_default()
            ))),
        }
    };
    match kind {
        ShardIteratorType::TrimHorizon => Ok(1),
        ShardIteratorType::Latest => Ok(shard.last + 1),
        ShardIteratorType::AtSequenceNumber => from_seq(false),
        ShardIteratorType::AfterSequenceNumber => from_seq(true),
        ShardIteratorType::AtTimestamp => {
            let ts = timestamp.ok_or_else(|| {
                invalid_argument("Timestamp must be provided for ShardIteratorType AT_TIMESTAMP.")
            })?;
            counter_at(stream, shard, (ts * 1000.0).max(0.0) as u64)
        }
        ShardIteratorType::Unknown(k) => {
            Err(invalid_argument(format!("Unknown ShardIteratorType {k}.")))
        }
    }
}

pub fn get_shard_iterator(
    ctx: &Context,
    input: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, AwsError> {
    let stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    stream.check_not_stale(input.stream_id.as_deref())?;
    let shard = stream.shard(&input.shard_id)?;
    let c = start_counter(
        &stream,
        shard,
        &input.shard_iterator_type,
        input.starting_sequence_number.as_deref(),
        input.timestamp,
    )?;
    Ok(GetShardIteratorOutput {
        shard_iterator: Some(iterator::encode(&Position {
            n: stream.name.clone(),
            s: stream.id.clone(),
            h: shard.id.clone(),
            c,
            t: time::now_millis(),
        })),
    })
}

/// One read of a shard: the records from counter `from`, up to `limit`
/// records and 10 MiB; expired records (retention) are skipped.
pub struct Batch {
    pub records: Vec<Record>,
    /// Counter of the next record to read.
    pub next: u64,
    /// The read reached the last record put so far.
    pub at_tip: bool,
    pub millis_behind: i64,
}

pub fn read(
    ctx: &Context,
    stream: &Stream,
    shard: &ShardMeta,
    from: u64,
    limit: usize,
) -> Result<Batch, AwsError> {
    let now = time::now_millis();
    let cutoff = stream.retention_cutoff(ctx);
    let encryption = (stream.encryption.as_deref() == Some("KMS")).then_some(EncryptionType::Kms);
    let mut records = Vec::new();
    let mut next = from.max(1);
    let mut bytes = 0usize;
    let mut last_arrival = now;
    if next <= shard.last {
        let scan = Scan::prefix(keys::prefix(&[&stream.id, &shard.id]))
            .from(record_key(&stream.id, &shard.id, next))
            .limit(limit as u32);
        for (key, r) in RECORDS.scan(&scan)? {
            let counter = keys::parse_u64(keys::last(&key), false).unwrap_or(next);
            let size = decoded_len(&r.d) + r.k.len();
            if !records.is_empty() && bytes + size > MAX_GET_BYTES {
                break;
            }
            next = counter + 1;
            if r.t < cutoff {
                continue;
            }
            bytes += size;
            last_arrival = r.t;
            records.push(Record {
                sequence_number: stream.seq(shard, counter),
                approximate_arrival_timestamp: Some(r.t as f64 / 1000.0),
                data: r.d,
                partition_key: r.k,
                encryption_type: encryption.clone(),
            });
        }
    }
    let at_tip = next > shard.last;
    Ok(Batch {
        records,
        next,
        at_tip,
        millis_behind: if at_tip {
            0
        } else {
            now.saturating_sub(last_arrival) as i64
        },
    })
}

pub fn get_records(ctx: &Context, input: GetRecordsInput) -> Result<GetRecordsOutput, AwsError> {
    let position = iterator::decode(&input.shard_iterator).ok_or_else(|| {
        invalid_argument(format!("Invalid ShardIterator: {}", input.shard_iterator))
    })?;
    let now = time::now_millis();
    if iterator::expired(&position, now) {
        return Err(ExpiredIteratorException::new(format!(
            "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {} milliseconds.",
            time::iso8601_millis(position.t as f64 / 1000.0),
            time::iso8601_millis(now as f64 / 1000.0),
            iterator::LIFETIME_MS
        ))
        .into());
    }
    let stream = find(ctx, Some(&position.n), input.stream_arn.as_deref())?;
    if stream.id != position.s {
        return Err(not_found(format!(
            "Stream {} under account {} not found.",
            position.n, ctx.account
        )));
    }
    let shard = stream.shard(&position.h)?;
    let limit = input.limit.unwrap_or(10000).clamp(1, 10000) as usize;
    let batch = read(ctx, &stream, shard, position.c, limit)?;
    let finished = !shard.is_open() && batch.at_tip;
    Ok(GetRecordsOutput {
        records: batch.records,
        next_shard_iterator: (!finished).then(|| {
            iterator::encode(&Position {
                c: batch.next,
                t: now,
                ..position.clone()
            })
        }),
        millis_behind_latest: Some(batch.millis_behind),
        child_shards: finished.then(|| stream.children(&shard.id)),
    })
}

/// Deletes the records older than the stream's retention period.
pub fn trim(ctx: &Context, stream: &Stream) -> Result<u64, AwsError> {
    let cutoff = stream.retention_cutoff(ctx);
    let mut dropped = 0;
    for shard in &stream.shards {
        let first_kept = counter_at(stream, shard, cutoff)?;
        dropped += RECORDS.delete_range(
            &Scan::prefix(keys::prefix(&[&stream.id, &shard.id]))
                .to(record_key(&stream.id, &shard.id, first_kept)),
        );
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_length_of_base64() {
        assert_eq!(decoded_len(""), 0);
        assert_eq!(decoded_len("YQ=="), 1);
        assert_eq!(decoded_len("YWI="), 2);
        assert_eq!(decoded_len("YWJj"), 3);
    }
}
