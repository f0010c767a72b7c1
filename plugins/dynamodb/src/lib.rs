//! Amazon DynamoDB as a ministack plugin.
//!
//! Tables live in the host's ordered store: every item under a key whose
//! bytewise order is DynamoDB's order ([`keycode`]), so Query is a range
//! scan; secondary indexes are rows of their own, kept on every write
//! ([`db`]). Numbers are exact 38-digit decimals ([`num`]). The expression
//! language is parsed by a recursive-descent parser and evaluated on the
//! JSON attribute values ([`expr`]). One request is one atomic unit of the
//! store, which makes conditional writes and transactions all-or-nothing.

use ministack_sdk::prelude::*;

pub mod arns;
pub mod backups;
pub mod batch;
pub mod capacity;
pub mod db;
pub mod exports;
pub mod expr;
pub mod globaltables;
pub mod imports;
pub mod ion;
pub mod items;
pub mod keycode;
pub mod num;
pub mod partiql;
pub mod reads;
mod resources;
pub mod settings;
pub mod streams;
pub mod tables;

/// Small blocks from free lists, not dlmalloc each time (see
/// `ministack_sdk::alloc`; docs/performance.md, "Plugin code").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();

pub struct DynamoDb;

impl Service for DynamoDb {
    const NAME: &'static str = "dynamodb";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreateTable", tables::create_table)
            .op(
                "DescribeTable",
                arns::by_name("DescribeTable", tables::describe_table),
            )
            .op(
                "UpdateTable",
                arns::by_name("UpdateTable", tables::update_table),
            )
            .op(
                "DeleteTable",
                arns::by_name("DeleteTable", tables::delete_table),
            )
            .op("ListTables", tables::list_tables)
            .op(
                "TagResource",
                arns::by_name("TagResource", tables::tag_resource),
            )
            .op(
                "UntagResource",
                arns::by_name("UntagResource", tables::untag_resource),
            )
            .op(
                "ListTagsOfResource",
                arns::by_name("ListTagsOfResource", tables::list_tags_of_resource),
            )
            .op(
                "UpdateTimeToLive",
                arns::by_name("UpdateTimeToLive", tables::update_time_to_live),
            )
            .op(
                "DescribeTimeToLive",
                arns::by_name("DescribeTimeToLive", tables::describe_time_to_live),
            )
            .op("DescribeLimits", tables::describe_limits)
            .op("DescribeEndpoints", tables::describe_endpoints)
            .op("PutItem", arns::by_name("PutItem", items::put_item))
            .op("GetItem", arns::by_name("GetItem", items::get_item))
            .op(
                "UpdateItem",
                arns::by_name("UpdateItem", items::update_item),
            )
            .op(
                "DeleteItem",
                arns::by_name("DeleteItem", items::delete_item),
            )
            .op("Query", arns::by_name("Query", reads::query))
            .op("Scan", arns::by_name("Scan", reads::scan))
            .op(
                "BatchGetItem",
                arns::by_name("BatchGetItem", batch::batch_get_item),
            )
            .op_text("BatchWriteItem", batch::batch_write_item)
            .op(
                "TransactGetItems",
                arns::by_name("TransactGetItems", batch::transact_get_items),
            )
            .op(
                "TransactWriteItems",
                arns::by_name("TransactWriteItems", batch::transact_write_items),
            )
            .op("ExecuteStatement", partiql::execute_statement)
            .op("BatchExecuteStatement", partiql::batch_execute_statement)
            .op("ExecuteTransaction", partiql::execute_transaction)
            .op(
                "PutResourcePolicy",
                arns::by_name("PutResourcePolicy", settings::put_resource_policy),
            )
            .op(
                "GetResourcePolicy",
                arns::by_name("GetResourcePolicy", settings::get_resource_policy),
            )
            .op(
                "DeleteResourcePolicy",
                arns::by_name("DeleteResourcePolicy", settings::delete_resource_policy),
            )
            .op(
                "DescribeContinuousBackups",
                arns::by_name(
                    "DescribeContinuousBackups",
                    settings::describe_continuous_backups,
                ),
            )
            .op(
                "UpdateContinuousBackups",
                arns::by_name(
                    "UpdateContinuousBackups",
                    settings::update_continuous_backups,
                ),
            )
            .op(
                "UpdateContributorInsights",
                arns::by_name(
                    "UpdateContributorInsights",
                    settings::update_contributor_insights,
                ),
            )
            .op(
                "DescribeContributorInsights",
                arns::by_name(
                    "DescribeContributorInsights",
                    settings::describe_contributor_insights,
                ),
            )
            .op(
                "ListContributorInsights",
                settings::list_contributor_insights,
            )
            .op(
                "CreateBackup",
                arns::by_name("CreateBackup", backups::create_backup),
            )
            .op("DescribeBackup", backups::describe_backup)
            .op("DeleteBackup", backups::delete_backup)
            .op("ListBackups", backups::list_backups)
            .op("RestoreTableFromBackup", backups::restore_table_from_backup)
            .op(
                "RestoreTableToPointInTime",
                backups::restore_table_to_point_in_time,
            )
            .op(
                "EnableKinesisStreamingDestination",
                arns::by_name(
                    "EnableKinesisStreamingDestination",
                    settings::enable_kinesis_streaming_destination,
                ),
            )
            .op(
                "DisableKinesisStreamingDestination",
                arns::by_name(
                    "DisableKinesisStreamingDestination",
                    settings::disable_kinesis_streaming_destination,
                ),
            )
            .op(
                "UpdateKinesisStreamingDestination",
                arns::by_name(
                    "UpdateKinesisStreamingDestination",
                    settings::update_kinesis_streaming_destination,
                ),
            )
            .op(
                "DescribeKinesisStreamingDestination",
                arns::by_name(
                    "DescribeKinesisStreamingDestination",
                    settings::describe_kinesis_streaming_destination,
                ),
            )
            .op(
                "ExportTableToPointInTime",
                exports::export_table_to_point_in_time,
            )
            .op("DescribeExport", exports::describe_export)
            .op("ListExports", exports::list_exports)
            .op("ImportTable", imports::import_table)
            .op("DescribeImport", imports::describe_import)
            .op("ListImports", imports::list_imports)
            .op("CreateGlobalTable", globaltables::create_global_table)
            .op("DescribeGlobalTable", globaltables::describe_global_table)
            .op("ListGlobalTables", globaltables::list_global_tables)
            .op("UpdateGlobalTable", globaltables::update_global_table)
            .op(
                "DescribeGlobalTableSettings",
                globaltables::describe_global_table_settings,
            )
            .op(
                "UpdateGlobalTableSettings",
                globaltables::update_global_table_settings,
            )
            .op(
                "DescribeTableReplicaAutoScaling",
                globaltables::describe_table_replica_auto_scaling,
            )
            .op(
                "UpdateTableReplicaAutoScaling",
                globaltables::update_table_replica_auto_scaling,
            )
            .op(
                "MinistackInternalStreamsRead",
                streams::internal_streams_read,
            )
            .task(tables::TTL_SWEEP, tables::ttl_sweep)
            .task(streams::KINESIS_DRAIN, streams::drain_kinesis)
            .task(streams::KINESIS_DELIVERY, streams::deliver_kinesis)
    }
}

export_plugin!(DynamoDb);
