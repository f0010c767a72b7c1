//! Amazon Kinesis Data Streams as a ministack plugin.
//!
//! - Streams (provisioned and on-demand) are one record each in `streams`
//!   (by name), carrying their shards: hash key range, lineage, and the last
//!   per-shard counter handed out. A put updates that record, so sequence
//!   numbers are strictly increasing per shard even under concurrent writers
//!   (conflicting units re-run).
//! - Data records are in `records`, keyed by stream id, shard id and the
//!   per-shard counter: a shard reads in sequence order with one scan.
//! - Sequence numbers are 56-digit decimal strings like AWS's, and encode the
//!   shard index and counter ([`seq`]); shard iterators are self-describing
//!   tokens with the time they were issued ([`iterator`]), so they expire
//!   after 5 minutes without any stored state.
//! - Every put notifies `stream:<StreamARN>` (for Lambda and Firehose pollers
//!   through `wait-on`) and `shard:<StreamId>:<ShardId>` (SubscribeToShard).
//!
//! Inputs and outputs are the shapes generated from the model (`build.rs`,
//! module [`shapes`]); the host already checked lengths, ranges and
//! required members against the model.

use ministack_sdk::prelude::*;

ministack_sdk::include_shapes!(pub mod shapes);

pub mod consumers;
pub mod extras;
pub mod hashkey;
pub mod iterator;
pub mod records;
mod resources;
pub mod seq;
pub mod streams;

pub struct Kinesis;

impl Service for Kinesis {
    const NAME: &'static str = "kinesis";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreateStream", streams::create_stream)
            .op("DeleteStream", streams::delete_stream)
            .op("DescribeStream", streams::describe_stream)
            .op("DescribeStreamSummary", streams::describe_stream_summary)
            .op("ListStreams", streams::list_streams)
            .op("ListShards", streams::list_shards)
            .op("SplitShard", streams::split_shard)
            .op("MergeShards", streams::merge_shards)
            .op("UpdateShardCount", streams::update_shard_count)
            .op("UpdateStreamMode", streams::update_stream_mode)
            .op("IncreaseStreamRetentionPeriod", streams::increase_retention)
            .op("DecreaseStreamRetentionPeriod", streams::decrease_retention)
            .op("PutRecord", records::put_record)
            .op("PutRecords", records::put_records)
            .op("GetShardIterator", records::get_shard_iterator)
            .op("GetRecords", records::get_records)
            .op("RegisterStreamConsumer", consumers::register)
            .op("DeregisterStreamConsumer", consumers::deregister)
            .op("DescribeStreamConsumer", consumers::describe)
            .op("ListStreamConsumers", consumers::list)
            .op("SubscribeToShard", consumers::subscribe)
            .task(consumers::FEED_TASK, consumers::feed)
            .op("AddTagsToStream", extras::add_tags_to_stream)
            .op("RemoveTagsFromStream", extras::remove_tags_from_stream)
            .op("ListTagsForStream", extras::list_tags_for_stream)
            .op("TagResource", extras::tag_resource)
            .op("UntagResource", extras::untag_resource)
            .op("ListTagsForResource", extras::list_tags_for_resource)
            .op("PutResourcePolicy", extras::put_resource_policy)
            .op("GetResourcePolicy", extras::get_resource_policy)
            .op("DeleteResourcePolicy", extras::delete_resource_policy)
            .op("StartStreamEncryption", extras::start_stream_encryption)
            .op("StopStreamEncryption", extras::stop_stream_encryption)
            .op(
                "EnableEnhancedMonitoring",
                extras::enable_enhanced_monitoring,
            )
            .op(
                "DisableEnhancedMonitoring",
                extras::disable_enhanced_monitoring,
            )
            .op("DescribeLimits", extras::describe_limits)
            .op("DescribeAccountSettings", extras::describe_account_settings)
            .op("UpdateAccountSettings", extras::update_account_settings)
            .op("UpdateMaxRecordSize", extras::update_max_record_size)
            .op(
                "UpdateStreamWarmThroughput",
                extras::update_stream_warm_throughput,
            )
    }
}

export_plugin!(Kinesis);

pub(crate) fn invalid_argument(message: impl Into<String>) -> AwsError {
    shapes::InvalidArgumentException::new(message).into()
}

pub(crate) fn not_found(message: impl Into<String>) -> AwsError {
    shapes::ResourceNotFoundException::new(message).into()
}

pub(crate) fn in_use(message: impl Into<String>) -> AwsError {
    shapes::ResourceInUseException::new(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Kinesis>(),
            ministack_sdk::Coverage::default()
        );
        assert_eq!(shapes::OPERATIONS.len(), 39);
    }
}
