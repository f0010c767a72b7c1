//! PutRecord and PutRecordBatch: records are stored in the stream's buffer
//! before the call answers, and a flush is scheduled (interval, or at once
//! when the buffer reaches its size).

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, rand, tasks, time};

use crate::shapes::*;
use crate::{BUFFER, BufferRow, Rec, STREAMS, Stream, invalid, load};

/// AWS: 1,000 KiB per record, 500 records and 4 MiB per batch.
pub const MAX_RECORD_BYTES: usize = 1_024_000;
pub const MAX_BATCH_RECORDS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Seconds past its interval after which a buffer's flush counts as lost.
const FLUSH_GRACE_SECS: u64 = 30;

/// Payload of the `flush` task: an interval flush names the buffer
/// generation it was scheduled for (stale once that generation flushed); a
/// size flush has none.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlushTask {
    pub stream: String,
    #[serde(default)]
    pub generation: Option<u64>,
}

/// Decoded length of standard base64 text.
pub fn decoded_len(b64: &str) -> usize {
    let pad = b64.bytes().rev().take_while(|&b| b == b'=').count();
    (b64.len() / 4) * 3 - pad.min(2)
}

/// Record ids as AWS shapes them: 224 characters of base64 (168 random
/// bytes each, drawn in one call for the whole batch).
pub fn record_ids(n: usize) -> Vec<String> {
    const RAW: usize = 168;
    let bytes = rand::bytes(RAW * n);
    bytes.chunks(RAW).map(encoding::base64_encode).collect()
}

/// The buffering hints of a stream's destination: (bytes, seconds).
pub fn buffering(s: &Stream) -> (u64, u64) {
    let h = &s.dest["BufferingHints"];
    let size = h["SizeInMBs"].as_u64().unwrap_or(5).max(1);
    let interval = h["IntervalInSeconds"].as_u64().unwrap_or(300);
    (size * 1024 * 1024, interval)
}

/// Appends records to a stream's buffer (one row) and schedules its
/// flushes. The caller stores the stream.
pub fn append(s: &mut Stream, records: Vec<Rec>) -> Result<(), AwsError> {
    if records.is_empty() {
        return Ok(());
    }
    let bytes: u64 = records.iter().map(|r| decoded_len(&r.data) as u64).sum();
    let b = &mut s.buffer;
    let key = keys::join(&[&s.name, &keys::u64(b.seq)]);
    b.seq += 1;
    BUFFER.put(&key, &BufferRow { records })?;
    let (size_limit, interval) = buffering(s);
    let b = &mut s.buffer;
    // A buffer whose flush is long overdue lost its task (a flush that
    // failed is not retried by the host): schedule it again.
    let overdue =
        b.count > 0 && time::now_millis() > b.oldest_ms + (interval + FLUSH_GRACE_SECS) * 1000;
    if overdue {
        b.generation += 1;
    }
    if b.count == 0 || overdue {
        b.oldest_ms = time::now_millis();
        let after = if overdue { 0 } else { interval };
        tasks::schedule(
            Duration::from_secs(after),
            "flush",
            &FlushTask {
                stream: s.name.clone(),
                generation: Some(b.generation),
            },
        )?;
    }
    b.count += 1;
    b.bytes += bytes;
    if b.bytes >= size_limit && !b.size_flush_pending {
        b.size_flush_pending = true;
        tasks::schedule(
            Duration::ZERO,
            "flush",
            &FlushTask {
                stream: s.name.clone(),
                generation: None,
            },
        )?;
    }
    Ok(())
}

const SLOW_DOWN: &str = "Slow down.";

/// How many of `n` records the stream's per-second quota takes
/// (`FIREHOSE_RECORDS_PER_SECOND`, default 0: no limit); the rest fail
/// with ServiceUnavailableException, as AWS answers a stream over its limit.
fn take_quota(ctx: &Context, s: &mut Stream, n: u64) -> u64 {
    let limit = crate::setting_u64(ctx, "FIREHOSE_RECORDS_PER_SECOND", 0);
    if limit == 0 {
        return n;
    }
    let b = &mut s.buffer;
    let sec = time::now_secs();
    if b.window_sec != sec {
        b.window_sec = sec;
        b.window_records = 0;
    }
    let taken = n.min(limit.saturating_sub(b.window_records));
    b.window_records += taken;
    taken
}

fn direct_put_stream(ctx: &Context, name: &str) -> Result<Stream, AwsError> {
    let s = load(ctx, name)?;
    if s.stream_type != "DirectPut" {
        return Err(invalid(format!(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type. Delivery stream {name} is not a DirectPut delivery stream."
        )));
    }
    Ok(s)
}

fn too_large(member: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}"
    ))
}

fn encrypted(s: &Stream) -> Option<bool> {
    Some(
        s.encryption
            .as_ref()
            .is_some_and(|e| e["Status"] == "ENABLED"),
    )
}

pub fn put_record(ctx: &Context, input: PutRecordInput) -> Result<PutRecordOutput, AwsError> {
    let mut s = direct_put_stream(ctx, &input.delivery_stream_name)?;
    if decoded_len(&input.record.data) > MAX_RECORD_BYTES {
        return Err(too_large("record.data"));
    }
    if take_quota(ctx, &mut s, 1) == 0 {
        return Err(ServiceUnavailableException::new(SLOW_DOWN).into());
    }
    let id = record_ids(1).remove(0);
    let bytes = decoded_len(&input.record.data);
    append(
        &mut s,
        vec![Rec {
            id: id.clone(),
            data: input.record.data,
            arrival_ms: time::now_millis(),
            kinesis: None,
        }],
    )?;
    STREAMS.put(&s.name.clone(), &s)?;
    crate::metrics::incoming(&s.name, 1, bytes);
    Ok(PutRecordOutput {
        record_id: id,
        encrypted: encrypted(&s),
    })
}

pub fn put_record_batch(
    ctx: &Context,
    input: PutRecordBatchInput,
) -> Result<PutRecordBatchOutput, AwsError> {
    let n = input.records.len();
    if n == 0 || n > MAX_BATCH_RECORDS {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_RECORDS}"
        )));
    }
    let mut total = 0usize;
    for (i, r) in input.records.iter().enumerate() {
        let len = decoded_len(&r.data);
        if len > MAX_RECORD_BYTES {
            return Err(too_large(&format!("records.{}.member.data", i + 1)));
        }
        total += len;
    }
    if total > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Records size exceeds 4 MB limit: the batch holds {total} bytes."
        )));
    }
    let mut s = direct_put_stream(ctx, &input.delivery_stream_name)?;
    let now = time::now_millis();
    let allowed = take_quota(ctx, &mut s, n as u64) as usize;
    let mut records = Vec::with_capacity(allowed);
    let mut responses = Vec::with_capacity(n);
    for (i, (r, id)) in input.records.into_iter().zip(record_ids(n)).enumerate() {
        if i >= allowed {
            responses.push(PutRecordBatchResponseEntry {
                error_code: Some("ServiceUnavailableException".into()),
                error_message: Some(SLOW_DOWN.into()),
                ..Default::default()
            });
            continue;
        }
        responses.push(PutRecordBatchResponseEntry {
            record_id: Some(id.clone()),
            ..Default::default()
        });
        records.push(Rec {
            id,
            data: r.data,
            arrival_ms: now,
            kinesis: None,
        });
    }
    let accepted: usize = records.iter().map(|r| decoded_len(&r.data)).sum();
    let count = records.len();
    append(&mut s, records)?;
    STREAMS.put(&s.name.clone(), &s)?;
    crate::metrics::incoming(&s.name, count, accepted);
    Ok(PutRecordBatchOutput {
        failed_put_count: (n - allowed) as i32,
        encrypted: encrypted(&s),
        request_responses: responses,
    })
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
