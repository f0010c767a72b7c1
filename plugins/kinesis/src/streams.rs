//! Streams and shards: create, describe, list, delete, resharding
//! (split, merge, uniform scaling), retention and capacity mode.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, pagination, time};

use crate::shapes::{
    ChildShard, CreateStreamInput, CreateStreamOutput, DecreaseStreamRetentionPeriodInput,
    DecreaseStreamRetentionPeriodOutput, DeleteStreamInput, DeleteStreamOutput,
    DescribeStreamInput, DescribeStreamOutput, DescribeStreamSummaryInput,
    DescribeStreamSummaryOutput, EncryptionType, EnhancedMetrics, HashKeyRange,
    IncreaseStreamRetentionPeriodInput, IncreaseStreamRetentionPeriodOutput, ListShardsInput,
    ListShardsOutput, ListStreamsInput, ListStreamsOutput, MergeShardsInput, MergeShardsOutput,
    MetricsName, SequenceNumberRange, Shard, ShardFilterType, SplitShardInput, SplitShardOutput,
    StreamDescription, StreamDescriptionSummary, StreamMode, StreamModeDetails, StreamStatus,
    StreamSummary, UpdateShardCountInput, UpdateShardCountOutput, UpdateStreamModeInput,
    UpdateStreamModeOutput, WarmThroughputObject,
};
use crate::{hashkey, in_use, invalid_argument, not_found, seq};

/// Streams of the caller's account and region, by name.
pub const STREAMS: Table<Stream> = Table::new("streams");
/// Data records: (stream id, shard id, counter) → record.
/// Compact rows (postcard): a PutRecords writes one per record, and JSON
/// scanned every base64 byte for escapes (docs/performance.md, "Kinesis").
pub const RECORDS: Table<StoredRecord> = Table::new("records").compact();

/// Shards a new on-demand stream starts with (AWS: 4).
const ON_DEMAND_SHARDS: u32 = 4;
const DEFAULT_RETENTION_HOURS: i32 = 24;
const MAX_RETENTION_HOURS: i32 = 8760;
/// Default shard quota of an account and region (DescribeLimits).
pub const SHARD_LIMIT: i32 = 20000;
pub const ON_DEMAND_STREAM_LIMIT: i32 = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stream {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub created_ms: u64,
    pub mode: String,
    pub retention_hours: i32,
    pub shards: Vec<ShardMeta>,
    pub next_index: u32,
    #[serde(default)]
    pub encryption: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub max_record_kib: Option<i32>,
    #[serde(default)]
    pub warm_mibps: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardMeta {
    pub id: String,
    pub index: u32,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub adjacent: Option<String>,
    /// Hash key range, decimal (u128 does not fit a JSON number).
    pub start: String,
    pub end: String,
    /// Counter of the last record put (0: none yet).
    pub last: u64,
    pub created_ms: u64,
    /// When it was closed by a reshard.
    #[serde(default)]
    pub closed_ms: Option<u64>,
    /// (epoch second, records put in it): the throttling window.
    #[serde(default)]
    pub window: (u64, u64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Data, base64.
    pub d: String,
    /// Partition key.
    pub k: String,
    /// Arrival, epoch ms.
    pub t: u64,
}

impl ShardMeta {
    pub fn range(&self) -> (u128, u128) {
        (
            self.start.parse().unwrap_or(0),
            self.end.parse().unwrap_or(u128::MAX),
        )
    }

    pub fn is_open(&self) -> bool {
        self.closed_ms.is_none()
    }

    fn new(index: u32, range: (u128, u128), now_ms: u64) -> ShardMeta {
        ShardMeta {
            id: shard_id(index),
            index,
            parent: None,
            adjacent: None,
            start: range.0.to_string(),
            end: range.1.to_string(),
            last: 0,
            created_ms: now_ms,
            closed_ms: None,
            window: (0, 0),
        }
    }
}

pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// Milliseconds one hour of retention lasts: 3,600,000 scaled by the
/// `KINESIS_RETENTION_SCALE` setting (default 1; a test sets it tiny to see
/// records expire without waiting a day).
pub fn hour_ms(ctx: &Context) -> f64 {
    let scale = ctx
        .setting("KINESIS_RETENTION_SCALE")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    3_600_000.0 * scale
}

impl Stream {
    /// The arrival time (epoch ms) before which records have expired.
    pub fn retention_cutoff(&self, ctx: &Context) -> u64 {
        let span = (self.retention_hours as f64 * hour_ms(ctx)) as u64;
        time::now_millis().saturating_sub(span)
    }

    pub fn seq(&self, shard: &ShardMeta, counter: u64) -> String {
        seq::format(shard.index, counter, self.created_ms)
    }

    pub fn shard(&self, id: &str) -> Result<&ShardMeta, AwsError> {
        self.shards.iter().find(|s| s.id == id).ok_or_else(|| {
            not_found(format!(
                "Could not find shard {id} in stream {} under account {}.",
                self.name,
                self.arn.split(':').nth(4).unwrap_or_default()
            ))
        })
    }

    fn shard_mut(&mut self, id: &str) -> Result<&mut ShardMeta, AwsError> {
        let name = self.name.clone();
        self.shards
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| not_found(format!("Could not find shard {id} in stream {name}.")))
    }

    pub fn open_shards(&self) -> impl Iterator<Item = &ShardMeta> {
        self.shards.iter().filter(|s| s.is_open())
    }

    pub fn encryption_type(&self) -> EncryptionType {
        match self.encryption.as_deref() {
            Some("KMS") => EncryptionType::Kms,
            _ => EncryptionType::None,
        }
    }

    /// The shards whose parent or adjacent parent is `shard` (after a
    /// reshard closed it).
    pub fn children(&self, shard: &str) -> Vec<ChildShard> {
        self.shards
            .iter()
            .filter(|s| s.parent.as_deref() == Some(shard) || s.adjacent.as_deref() == Some(shard))
            .map(|s| ChildShard {
                shard_id: s.id.clone(),
                parent_shards: s.parent.iter().chain(s.adjacent.iter()).cloned().collect(),
                hash_key_range: HashKeyRange {
                    starting_hash_key: s.start.clone(),
                    ending_hash_key: s.end.clone(),
                },
            })
            .collect()
    }

    pub fn shape(&self, shard: &ShardMeta) -> Shard {
        Shard {
            shard_id: shard.id.clone(),
            parent_shard_id: shard.parent.clone(),
            adjacent_parent_shard_id: shard.adjacent.clone(),
            hash_key_range: HashKeyRange {
                starting_hash_key: shard.start.clone(),
                ending_hash_key: shard.end.clone(),
            },
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: self.seq(shard, 0),
                ending_sequence_number: shard.closed_ms.map(|_| self.seq(shard, shard.last)),
            },
        }
    }

    fn mode_details(&self) -> StreamModeDetails {
        StreamModeDetails {
            stream_mode: StreamMode::from(self.mode.as_str()),
        }
    }

    fn enhanced(&self) -> Vec<EnhancedMetrics> {
        vec![EnhancedMetrics {
            shard_level_metrics: Some(
                self.metrics
                    .iter()
                    .map(|m| MetricsName::from(m.as_str()))
                    .collect(),
            ),
        }]
    }

    pub fn summary(&self) -> StreamSummary {
        StreamSummary {
            stream_name: self.name.clone(),
            stream_arn: self.arn.clone(),
            stream_status: StreamStatus::Active,
            stream_mode_details: Some(self.mode_details()),
            stream_creation_timestamp: Some(self.created_ms as f64 / 1000.0),
        }
    }

    pub fn check_not_stale(&self, id: Option<&str>) -> Result<(), AwsError> {
        match id {
            Some(id) if id != self.id => Err(not_found(format!(
                "Stream {} with id {id} not found.",
                self.name
            ))),
            _ => Ok(()),
        }
    }
}

/// The stream an operation names, by `StreamName` or `StreamARN`.
pub fn find(ctx: &Context, name: Option<&str>, arn: Option<&str>) -> Result<Stream, AwsError> {
    let name = stream_name(ctx, name, arn)?;
    STREAMS
        .get(&name)?
        .ok_or_else(|| stream_not_found(ctx, &name))
}

pub fn stream_not_found(ctx: &Context, name: &str) -> AwsError {
    not_found(format!(
        "Stream {name} under account {} not found.",
        ctx.account
    ))
}

/// The stream name of a `StreamName` / `StreamARN` pair (one of them).
pub fn stream_name(
    ctx: &Context,
    name: Option<&str>,
    arn: Option<&str>,
) -> Result<String, AwsError> {
    match (name, arn) {
        (_, Some(arn)) => {
            let parsed = name_of_arn(ctx, arn)?;
            if let Some(name) = name
                && name != parsed
            {
                return Err(invalid_argument(format!(
                    "StreamName {name} does not match the stream of StreamARN {arn}."
                )));
            }
            Ok(parsed)
        }
        (Some(name), None) => Ok(name.to_string()),
        (None, None) => Err(invalid_argument(
            "Either StreamName or StreamARN must be provided.",
        )),
    }
}

/// The stream name in a stream (or consumer) ARN of the caller's account
/// and region.
pub fn name_of_arn(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "kinesis" {
        return Err(invalid_argument(format!("Invalid ARN: {arn}")));
    }
    let Some(rest) = parts[5].strip_prefix("stream/") else {
        return Err(invalid_argument(format!("Invalid ARN: {arn}")));
    };
    let name = rest.split('/').next().unwrap_or_default();
    if parts[3] != ctx.region || parts[4] != ctx.account {
        return Err(not_found(format!(
            "Stream {name} under account {} not found.",
            parts[4]
        )));
    }
    Ok(name.to_string())
}

pub fn create_stream(
    ctx: &Context,
    input: CreateStreamInput,
) -> Result<CreateStreamOutput, AwsError> {
    let mode = input
        .stream_mode_details
        .as_ref()
        .map(|m| m.stream_mode.as_str().to_string())
        .unwrap_or_else(|| "PROVISIONED".to_string());
    let count = match (mode.as_str(), input.shard_count) {
        ("ON_DEMAND", _) => ON_DEMAND_SHARDS,
        ("PROVISIONED", Some(n)) => n as u32,
        ("PROVISIONED", None) => {
            // AWS: a provisioned stream needs ShardCount.
            return Err(invalid_argument(
                "ShardCount is required for PROVISIONED streams.",
            ));
        }
        (other, _) => return Err(invalid_argument(format!("Unknown StreamMode {other}."))),
    };
    if STREAMS.contains(&input.stream_name) {
        return Err(in_use(format!(
            "Stream {} under account {} already exists.",
            input.stream_name, ctx.account
        )));
    }
    let open: u32 = open_shard_count()?;
    if open + count > SHARD_LIMIT as u32 {
        return Err(crate::shapes::LimitExceededException::new(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {SHARD_LIMIT}.",
            ctx.account, ctx.region
        ))
        .into());
    }
    if mode == "ON_DEMAND" {
        let on_demand = STREAMS
            .values("")?
            .iter()
            .filter(|s| s.mode == "ON_DEMAND")
            .count();
        if on_demand as i32 >= ON_DEMAND_STREAM_LIMIT {
            return Err(crate::shapes::LimitExceededException::new(format!(
                "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams."
            ))
            .into());
        }
    }
    if let Some(tags) = &input.tags {
        crate::extras::check_tags(tags)?;
    }
    let now = time::now_millis();
    let shards = hashkey::uniform(count)
        .into_iter()
        .enumerate()
        .map(|(i, range)| ShardMeta::new(i as u32, range, now))
        .collect();
    let stream = Stream {
        arn: ctx
            .arn("kinesis", &format!("stream/{}", input.stream_name))
            .to_string(),
        name: input.stream_name.clone(),
        id: format!("{}-{}", ids::lower_alnum(20), ids::lower_alnum(3)),
        created_ms: now,
        mode,
        retention_hours: DEFAULT_RETENTION_HOURS,
        shards,
        next_index: count,
        encryption: None,
        key_id: None,
        metrics: Vec::new(),
        tags: input.tags.unwrap_or_default(),
        max_record_kib: input.max_record_size_in_ki_b,
        warm_mibps: input.warm_throughput_mi_bps,
    };
    STREAMS.put(&stream.name, &stream)?;
    Ok(CreateStreamOutput::default())
}

fn open_shard_count() -> Result<u32, AwsError> {
    Ok(STREAMS
        .values("")?
        .iter()
        .map(|s| s.open_shards().count() as u32)
        .sum())
}

pub fn delete_stream(
    ctx: &Context,
    input: DeleteStreamInput,
) -> Result<DeleteStreamOutput, AwsError> {
    let stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let consumers = crate::consumers::of_stream(&stream.arn)?;
    if !consumers.is_empty() && input.enforce_consumer_deletion != Some(true) {
        return Err(in_use(format!(
            "Stream {} has {} registered consumers; set EnforceConsumerDeletion to delete it with them.",
            stream.name,
            consumers.len()
        )));
    }
    for (key, _) in consumers {
        crate::consumers::CONSUMERS.delete(&key);
    }
    RECORDS.delete_range(&Scan::prefix(keys::prefix(&[&stream.id])));
    crate::extras::POLICIES.delete(&stream.arn);
    STREAMS.delete(&stream.name);
    Ok(DeleteStreamOutput::default())
}

pub fn describe_stream(
    ctx: &Context,
    input: DescribeStreamInput,
) -> Result<DescribeStreamOutput, AwsError> {
    let stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let limit = input.limit.unwrap_or(100).clamp(1, 10000) as usize;
    let after = input.exclusive_start_shard_id.as_deref();
    let rest: Vec<&ShardMeta> = stream
        .shards
        .iter()
        .filter(|s| after.is_none_or(|a| s.id.as_str() > a))
        .collect();
    let shards: Vec<Shard> = rest.iter().take(limit).map(|s| stream.shape(s)).collect();
    Ok(DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_name: stream.name.clone(),
            stream_arn: stream.arn.clone(),
            stream_status: StreamStatus::Active,
            stream_mode_details: Some(stream.mode_details()),
            has_more_shards: rest.len() > shards.len(),
            shards,
            retention_period_hours: stream.retention_hours,
            stream_creation_timestamp: stream.created_ms as f64 / 1000.0,
            enhanced_monitoring: stream.enhanced(),
            encryption_type: Some(stream.encryption_type()),
            key_id: stream.key_id.clone(),
        },
    })
}

pub fn describe_stream_summary(
    ctx: &Context,
    input: DescribeStreamSummaryInput,
) -> Result<DescribeStreamSummaryOutput, AwsError> {
    let stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let consumers = crate::consumers::of_stream(&stream.arn)?.len() as i32;
    Ok(DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_name: stream.name.clone(),
            stream_arn: stream.arn.clone(),
            stream_id: Some(stream.id.clone()),
            stream_status: StreamStatus::Active,
            stream_mode_details: Some(stream.mode_details()),
            retention_period_hours: stream.retention_hours,
            stream_creation_timestamp: stream.created_ms as f64 / 1000.0,
            enhanced_monitoring: stream.enhanced(),
            encryption_type: Some(stream.encryption_type()),
            key_id: stream.key_id.clone(),
            open_shard_count: stream.open_shards().count() as i32,
            consumer_count: Some(consumers),
            warm_throughput: stream.warm_mibps.map(|m| WarmThroughputObject {
                target_mi_bps: Some(m),
                current_mi_bps: Some(m),
            }),
            max_record_size_in_ki_b: Some(stream.max_record_kib.unwrap_or(1024)),
        },
    })
}

pub fn list_streams(
    _ctx: &Context,
    input: ListStreamsInput,
) -> Result<ListStreamsOutput, AwsError> {
    let limit = input.limit.unwrap_or(100).clamp(1, 10000) as usize;
    let after = match (&input.next_token, &input.exclusive_start_stream_name) {
        (Some(token), _) => Some(
            pagination::decode(token)
                .ok_or_else(|| invalid_argument(format!("Invalid NextToken: {token}")))?,
        ),
        (None, Some(name)) => Some(name.clone()),
        (None, None) => None,
    };
    let mut scan = Scan::all().limit(limit as u32 + 1);
    if let Some(after) = &after {
        scan = scan.start_after(after.clone());
    }
    let mut streams: Vec<Stream> = STREAMS.scan(&scan)?.into_iter().map(|(_, s)| s).collect();
    let more = streams.len() > limit;
    streams.truncate(limit);
    Ok(ListStreamsOutput {
        stream_names: streams.iter().map(|s| s.name.clone()).collect(),
        has_more_streams: more,
        next_token: if more {
            streams.last().map(|s| pagination::encode(&s.name))
        } else {
            None
        },
        stream_summaries: Some(streams.iter().map(Stream::summary).collect()),
    })
}

#[derive(Serialize, Deserialize)]
struct ShardsToken {
    n: String,
    after: String,
    #[serde(default)]
    filter: Option<(String, Option<String>, Option<f64>)>,
}

pub fn list_shards(ctx: &Context, input: ListShardsInput) -> Result<ListShardsOutput, AwsError> {
    let limit = input.max_results.unwrap_or(1000).clamp(1, 10000) as usize;
    let (name, mut after, filter) = match &input.next_token {
        Some(token) => {
            if input.stream_name.is_some() || input.stream_arn.is_some() {
                return Err(invalid_argument(
                    "NextToken and StreamName/StreamARN cannot be provided together.",
                ));
            }
            let t: ShardsToken = pagination::decode(token)
                .and_then(|s| serde_json::from_str(&s).ok())
                .ok_or_else(|| invalid_argument(format!("Invalid NextToken: {token}")))?;
            (t.n, Some(t.after), t.filter)
        }
        None => (
            stream_name(
                ctx,
                input.stream_name.as_deref(),
                input.stream_arn.as_deref(),
            )?,
            None,
            input.shard_filter.as_ref().map(|f| {
                (
                    f.r#type.as_str().to_string(),
                    f.shard_id.clone(),
                    f.timestamp,
                )
            }),
        ),
    };
    let stream = STREAMS
        .get(&name)?
        .ok_or_else(|| stream_not_found(ctx, &name))?;
    if after.is_none() {
        after = input.exclusive_start_shard_id.clone();
    }
    let retention_start = stream.retention_cutoff(ctx);
    let keep = |s: &ShardMeta| -> Result<bool, AwsError> {
        let Some((kind, shard, ts)) = &filter else {
            return Ok(true);
        };
        let ts_ms = ts.map(|t| (t * 1000.0) as u64);
        Ok(match ShardFilterType::from(kind.as_str()) {
            ShardFilterType::AfterShardId => {
                let id = shard.as_deref().ok_or_else(|| {
                    invalid_argument("ShardId is required for the AFTER_SHARD_ID filter.")
                })?;
                s.id.as_str() > id
            }
            ShardFilterType::AtTrimHorizon => {
                s.created_ms <= retention_start.max(stream.created_ms)
                    && s.closed_ms.is_none_or(|c| c > retention_start)
            }
            ShardFilterType::FromTrimHorizon => s.closed_ms.is_none_or(|c| c > retention_start),
            ShardFilterType::AtLatest => s.is_open(),
            ShardFilterType::AtTimestamp | ShardFilterType::FromTimestamp => {
                let ts = ts_ms.ok_or_else(|| {
                    invalid_argument(format!("Timestamp is required for the {kind} filter."))
                })?;
                let ts = ts.max(stream.created_ms);
                let open_then = s.created_ms <= ts && s.closed_ms.is_none_or(|c| c > ts);
                if kind == "AT_TIMESTAMP" {
                    open_then
                } else {
                    open_then || s.created_ms > ts
                }
            }
            ShardFilterType::Unknown(k) => {
                return Err(invalid_argument(format!("Unknown ShardFilter type {k}.")));
            }
        })
    };
    let mut shards = Vec::new();
    let mut more = false;
    for s in &stream.shards {
        if after.as_deref().is_some_and(|a| s.id.as_str() <= a) || !keep(s)? {
            continue;
        }
        if shards.len() == limit {
            more = true;
            break;
        }
        shards.push(stream.shape(s));
    }
    let next_token = if more {
        shards.last().map(|s: &Shard| {
            pagination::encode(
                &serde_json::to_string(&ShardsToken {
                    n: stream.name.clone(),
                    after: s.shard_id.clone(),
                    filter: filter.clone(),
                })
                .unwrap_or_default(),
            )
        })
    } else {
        None
    };
    Ok(ListShardsOutput {
        shards: Some(shards),
        next_token,
    })
}

fn open_shard<'a>(stream: &'a Stream, id: &str) -> Result<&'a ShardMeta, AwsError> {
    let shard = stream.shard(id)?;
    if !shard.is_open() {
        return Err(in_use(format!(
            "Shard {id} in stream {} is closed and cannot be resharded.",
            stream.name
        )));
    }
    Ok(shard)
}

pub fn split_shard(ctx: &Context, input: SplitShardInput) -> Result<SplitShardOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let shard = open_shard(&stream, &input.shard_to_split)?.clone();
    let (start, end) = shard.range();
    let new_start = hashkey::parse(&input.new_starting_hash_key).ok_or_else(|| {
        invalid_argument(format!(
            "NewStartingHashKey {} is not a valid hash key.",
            input.new_starting_hash_key
        ))
    })?;
    if new_start <= start || new_start > end {
        return Err(invalid_argument(format!(
            "NewStartingHashKey {new_start} must be within the hash key range of shard {} ({start} exclusive to {end}).",
            shard.id
        )));
    }
    check_shard_limit(&stream, 1)?;
    let now = time::now_millis();
    for range in [(start, new_start - 1), (new_start, end)] {
        let mut child = ShardMeta::new(stream.next_index, range, now);
        child.parent = Some(shard.id.clone());
        stream.next_index += 1;
        stream.shards.push(child);
    }
    stream.shard_mut(&shard.id)?.closed_ms = Some(now);
    STREAMS.put(&stream.name, &stream)?;
    Ok(SplitShardOutput::default())
}

pub fn merge_shards(ctx: &Context, input: MergeShardsInput) -> Result<MergeShardsOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let a = open_shard(&stream, &input.shard_to_merge)?.clone();
    let b = open_shard(&stream, &input.adjacent_shard_to_merge)?.clone();
    let (ra, rb) = (a.range(), b.range());
    let adjacent = ra.1.checked_add(1) == Some(rb.0) || rb.1.checked_add(1) == Some(ra.0);
    if !adjacent {
        return Err(invalid_argument(format!(
            "Shards {} and {} are not adjacent and cannot be merged.",
            a.id, b.id
        )));
    }
    let now = time::now_millis();
    let mut child = ShardMeta::new(stream.next_index, (ra.0.min(rb.0), ra.1.max(rb.1)), now);
    child.parent = Some(a.id.clone());
    child.adjacent = Some(b.id.clone());
    stream.next_index += 1;
    stream.shards.push(child);
    stream.shard_mut(&a.id)?.closed_ms = Some(now);
    stream.shard_mut(&b.id)?.closed_ms = Some(now);
    STREAMS.put(&stream.name, &stream)?;
    Ok(MergeShardsOutput::default())
}

fn check_shard_limit(stream: &Stream, more: u32) -> Result<(), AwsError> {
    let open = open_shard_count()?;
    if open + more > SHARD_LIMIT as u32 {
        return Err(crate::shapes::LimitExceededException::new(format!(
            "Stream {} cannot grow by {more} shards: the account's open shards would exceed {SHARD_LIMIT}.",
            stream.name
        ))
        .into());
    }
    Ok(())
}

pub fn update_shard_count(
    ctx: &Context,
    input: UpdateShardCountInput,
) -> Result<UpdateShardCountOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    if stream.mode == "ON_DEMAND" {
        return Err(crate::shapes::ValidationException::new(
            "UpdateShardCount is not supported for streams in ON_DEMAND mode.",
        )
        .into());
    }
    let current = stream.open_shards().count() as i32;
    let target = input.target_shard_count;
    if target < 1 || target > current * 2 || target * 2 < current {
        return Err(invalid_argument(format!(
            "TargetShardCount {target} must be between half and double the current open shard count {current}."
        )));
    }
    if target > current {
        check_shard_limit(&stream, (target - current) as u32)?;
    }
    if target != current {
        let now = time::now_millis();
        let old: Vec<ShardMeta> = stream.open_shards().cloned().collect();
        for (range_start, range_end) in hashkey::uniform(target as u32) {
            // Lineage: the old open shards whose ranges overlap the new one
            // (AWS names at most a parent and an adjacent parent).
            let mut parents = old.iter().filter(|o| {
                let (s, e) = o.range();
                s <= range_end && range_start <= e
            });
            let mut child = ShardMeta::new(stream.next_index, (range_start, range_end), now);
            child.parent = parents.next().map(|p| p.id.clone());
            child.adjacent = parents.next().map(|p| p.id.clone());
            stream.next_index += 1;
            stream.shards.push(child);
        }
        for o in &old {
            stream.shard_mut(&o.id)?.closed_ms = Some(now);
        }
        STREAMS.put(&stream.name, &stream)?;
    }
    Ok(UpdateShardCountOutput {
        stream_name: Some(stream.name.clone()),
        current_shard_count: Some(current),
        target_shard_count: Some(target),
        stream_arn: Some(stream.arn.clone()),
    })
}

pub fn update_stream_mode(
    ctx: &Context,
    input: UpdateStreamModeInput,
) -> Result<UpdateStreamModeOutput, AwsError> {
    let mut stream = find(ctx, None, Some(&input.stream_arn))?;
    let mode = input.stream_mode_details.stream_mode.as_str().to_string();
    if mode != "ON_DEMAND" && mode != "PROVISIONED" {
        return Err(invalid_argument(format!("Unknown StreamMode {mode}.")));
    }
    if mode == stream.mode {
        return Err(in_use(format!(
            "Stream {} is already in {mode} mode.",
            stream.name
        )));
    }
    stream.mode = mode;
    if input.warm_throughput_mi_bps.is_some() {
        stream.warm_mibps = input.warm_throughput_mi_bps;
    }
    STREAMS.put(&stream.name, &stream)?;
    Ok(UpdateStreamModeOutput::default())
}

pub fn increase_retention(
    ctx: &Context,
    input: IncreaseStreamRetentionPeriodInput,
) -> Result<IncreaseStreamRetentionPeriodOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let hours = input.retention_period_hours;
    if hours > MAX_RETENTION_HOURS {
        return Err(invalid_argument(format!(
            "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
        )));
    }
    if hours < stream.retention_hours {
        return Err(invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({} hours). Use DecreaseRetentionPeriod API.",
            stream.name, stream.retention_hours
        )));
    }
    // Records already past the old period stay gone.
    crate::records::trim(ctx, &stream)?;
    stream.retention_hours = hours;
    STREAMS.put(&stream.name, &stream)?;
    Ok(IncreaseStreamRetentionPeriodOutput::default())
}

pub fn decrease_retention(
    ctx: &Context,
    input: DecreaseStreamRetentionPeriodInput,
) -> Result<DecreaseStreamRetentionPeriodOutput, AwsError> {
    let mut stream = find(
        ctx,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let hours = input.retention_period_hours;
    if hours < DEFAULT_RETENTION_HOURS {
        return Err(invalid_argument(format!(
            "Minimum allowed retention period is {DEFAULT_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
        )));
    }
    if hours > stream.retention_hours {
        return Err(invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({} hours). Use IncreaseRetentionPeriod API.",
            stream.name, stream.retention_hours
        )));
    }
    stream.retention_hours = hours;
    STREAMS.put(&stream.name, &stream)?;
    crate::records::trim(ctx, &stream)?;
    Ok(DecreaseStreamRetentionPeriodOutput::default())
}
