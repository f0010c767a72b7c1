//! Amazon Data Firehose as a ministack plugin.
//!
//! A delivery stream is one row of [`STREAMS`] (its configuration as the
//! model's JSON, its buffer counters, its Kinesis checkpoints). Records are
//! stored when `PutRecord`/`PutRecordBatch` answers (one [`BUFFER`] row per
//! call), and delivered by the `flush` task: when the buffer reaches the
//! destination's `SizeInMBs`, or `IntervalInSeconds` after its first record
//! arrived (a durable task, so a restart loses nothing acknowledged). A flush
//! moves the buffered records into an [`INFLIGHT`] batch in the same unit,
//! then delivers it (S3 PutObject, HTTP POST, Lambda transformation through
//! `services.call`); a batch still in flight at start is delivered again
//! (at least once, as AWS).
//!
//! Inputs and outputs are the shapes generated from the model at build time
//! (`build.rs`, module [`shapes`]); configurations are kept as the model's
//! JSON so a description answers exactly what was configured.

use ministack_sdk::prelude::*;
use ministack_sdk::tasks;
use serde_json::Value;

ministack_sdk::include_shapes!(pub mod shapes);

pub mod compress;
mod deliver;
mod errorlog;
mod kinesis;
mod metrics;
pub mod prefix;
mod put;
mod resources;
mod streams;

pub struct Firehose;

impl Service for Firehose {
    const NAME: &'static str = "firehose";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreateDeliveryStream", streams::create_delivery_stream)
            .op("DeleteDeliveryStream", streams::delete_delivery_stream)
            .op("DescribeDeliveryStream", streams::describe_delivery_stream)
            .op("ListDeliveryStreams", streams::list_delivery_streams)
            .op("UpdateDestination", streams::update_destination)
            .op("TagDeliveryStream", streams::tag_delivery_stream)
            .op("UntagDeliveryStream", streams::untag_delivery_stream)
            .op(
                "ListTagsForDeliveryStream",
                streams::list_tags_for_delivery_stream,
            )
            .op(
                "StartDeliveryStreamEncryption",
                streams::start_delivery_stream_encryption,
            )
            .op(
                "StopDeliveryStreamEncryption",
                streams::stop_delivery_stream_encryption,
            )
            .op("PutRecord", put::put_record)
            .op("PutRecordBatch", put::put_record_batch)
            .task("flush", deliver::flush_task)
            .task("deliver", deliver::deliver_task)
            .task("kinesis-poll", kinesis::poll_task)
            .task("resume", deliver::resume_task)
            .task(errorlog::TASK, errorlog::run)
            .task(tasks::START_TASK, deliver::on_start)
    }
}

export_plugin!(Firehose);

/// Delivery stream name → stream.
pub(crate) const STREAMS: Table<Stream> = Table::new("streams");
/// (stream, call sequence) → records of one put call (or one Kinesis read).
pub(crate) const BUFFER: Table<BufferRow> = Table::new("buffer");
/// (stream, batch number) → records taken from the buffer, being delivered.
pub(crate) const INFLIGHT: Table<Batch> = Table::new("inflight");

/// Where a stream delivers (the member of `CreateDeliveryStream` it came from).
pub(crate) mod kind {
    pub const S3: &str = "ExtendedS3";
    pub const HTTP: &str = "HttpEndpoint";
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct Stream {
    pub name: String,
    pub arn: String,
    /// `DirectPut` or `KinesisStreamAsSource`.
    pub stream_type: String,
    pub version: u64,
    pub created: f64,
    pub updated: f64,
    /// `SourceDescription` JSON (Kinesis source), if any.
    #[serde(default)]
    pub source: Option<Value>,
    /// `DeliveryStreamEncryptionConfiguration` JSON, if any.
    #[serde(default)]
    pub encryption: Option<Value>,
    /// `ExtendedS3`, `HttpEndpoint`, `Redshift`, `Splunk`, ...
    pub dest_kind: String,
    /// The destination's configuration JSON (S3: always the extended form).
    pub dest: Value,
    /// Created from the legacy `S3DestinationConfiguration`.
    #[serde(default)]
    pub legacy_s3: bool,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub buffer: BufferState,
    /// Kinesis shard id → last sequence number read.
    #[serde(default)]
    pub checkpoints: std::collections::BTreeMap<String, String>,
    /// Next INFLIGHT batch number.
    #[serde(default)]
    pub next_batch: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct BufferState {
    /// Next BUFFER row number.
    pub seq: u64,
    pub count: u64,
    pub bytes: u64,
    /// Bumped by every flush: an interval task of an older generation is stale.
    pub generation: u64,
    /// Arrival (epoch ms) of the oldest buffered record.
    pub oldest_ms: u64,
    /// A size-triggered flush is scheduled.
    pub size_flush_pending: bool,
    /// Throughput quota (`FIREHOSE_RECORDS_PER_SECOND`): the current second
    /// and the records taken in it.
    #[serde(default)]
    pub window_sec: u64,
    #[serde(default)]
    pub window_records: u64,
}

/// One record as buffered and delivered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Rec {
    pub id: String,
    /// Base64 of the record's bytes.
    pub data: String,
    pub arrival_ms: u64,
    /// Kinesis source metadata (shardId, sequenceNumber, ...), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinesis: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BufferRow {
    pub records: Vec<Rec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Batch {
    pub stream: String,
    pub records: Vec<Rec>,
    pub attempts: u32,
    pub first_attempt_ms: u64,
}

pub(crate) fn not_found(ctx: &Context, name: &str) -> AwsError {
    shapes::ResourceNotFoundException::new(format!(
        "Firehose {name} under account {} not found.",
        ctx.account
    ))
    .into()
}

pub(crate) fn invalid(msg: impl Into<String>) -> AwsError {
    shapes::InvalidArgumentException::new(msg.into()).into()
}

pub(crate) fn load(ctx: &Context, name: &str) -> Result<Stream, AwsError> {
    STREAMS.get(name)?.ok_or_else(|| not_found(ctx, name))
}

/// A setting of plugins.toml (or the environment) as a number.
pub(crate) fn setting_u64(ctx: &Context, name: &str, default: u64) -> u64 {
    ctx.setting(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Firehose>(),
            ministack_sdk::Coverage::default()
        );
        assert_eq!(shapes::OPERATIONS.len(), 12);
    }
}
