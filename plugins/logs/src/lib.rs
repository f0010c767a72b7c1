//! Amazon CloudWatch Logs as a ministack plugin.
//!
//! Log groups and streams are rows per account and region; events are
//! stored in chunks, one per accepted `PutLogEvents` batch (the batch is
//! already in time order), keyed by group, stream and the stream's batch
//! sequence number. Reads gather the chunks of a stream (or a group) and
//! merge them by timestamp. Retention is applied when events are read, and
//! a durable `expire` task deletes chunks older than the retention period.
//!
//! Metric filters and subscription filters are evaluated in the request
//! that puts the events; what they produce (metric data for the
//! `monitoring` plugin, gzip'd `awslogs` payloads for Lambda, Kinesis and
//! Firehose) is handed to durable tasks that run after the request commits,
//! so `PutLogEvents` does not wait for other services.
//!
//! Logs Insights queries run in a task (`StartQuery` answers at once; the
//! task stores the results for `GetQueryResults`). Operations of the model
//! without a handler answer `NotImplemented` (501, from the host).

use ministack_sdk::prelude::*;

ministack_sdk::include_shapes!(pub mod shapes);

mod deliver;
mod events;
mod exports;
mod extras;
mod groups;
pub mod insights;
pub mod pattern;
mod peek;
mod policies;
mod queries;
mod resources;
mod tail;
mod transform;
mod vended;

pub struct Logs;

impl Service for Logs {
    const NAME: &'static str = "logs";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreateLogGroup", groups::create_log_group)
            .op("DeleteLogGroup", groups::delete_log_group)
            .op("DescribeLogGroups", groups::describe_log_groups)
            .op("ListLogGroups", groups::list_log_groups)
            .op("CreateLogStream", groups::create_log_stream)
            .op("DeleteLogStream", groups::delete_log_stream)
            .op("DescribeLogStreams", groups::describe_log_streams)
            .op("PutRetentionPolicy", groups::put_retention_policy)
            .op("DeleteRetentionPolicy", groups::delete_retention_policy)
            .op("AssociateKmsKey", groups::associate_kms_key)
            .op("DisassociateKmsKey", groups::disassociate_kms_key)
            .op(
                "PutLogGroupDeletionProtection",
                groups::put_deletion_protection,
            )
            .op("TagLogGroup", groups::tag_log_group)
            .op("UntagLogGroup", groups::untag_log_group)
            .op("ListTagsLogGroup", groups::list_tags_log_group)
            .op("TagResource", groups::tag_resource)
            .op("UntagResource", groups::untag_resource)
            .op("ListTagsForResource", groups::list_tags_for_resource)
            .op("PutResourcePolicy", groups::put_resource_policy)
            .op("DeleteResourcePolicy", groups::delete_resource_policy)
            .op(
                "DescribeResourcePolicies",
                groups::describe_resource_policies,
            )
            .op("PutDestination", groups::put_destination)
            .op("PutDestinationPolicy", groups::put_destination_policy)
            .op("DeleteDestination", groups::delete_destination)
            .op("DescribeDestinations", groups::describe_destinations)
            .op("PutMetricFilter", groups::put_metric_filter)
            .op("DeleteMetricFilter", groups::delete_metric_filter)
            .op("DescribeMetricFilters", groups::describe_metric_filters)
            .op("TestMetricFilter", groups::test_metric_filter)
            .op("PutSubscriptionFilter", groups::put_subscription_filter)
            .op(
                "DeleteSubscriptionFilter",
                groups::delete_subscription_filter,
            )
            .op(
                "DescribeSubscriptionFilters",
                groups::describe_subscription_filters,
            )
            .op("PutLogEvents", events::put_log_events)
            .op("GetLogEvents", events::get_log_events)
            .op("FilterLogEvents", events::filter_log_events)
            .op("GetLogGroupFields", events::get_log_group_fields)
            .op("StartQuery", queries::start_query)
            .op("GetQueryResults", queries::get_query_results)
            .op("StopQuery", queries::stop_query)
            .op("DescribeQueries", queries::describe_queries)
            .op("PutQueryDefinition", queries::put_query_definition)
            .op("DeleteQueryDefinition", queries::delete_query_definition)
            .op(
                "DescribeQueryDefinitions",
                queries::describe_query_definitions,
            )
            .task("deliver", deliver::deliver)
            .task("metrics", deliver::emit_metrics)
            .task("expire", events::expire)
            .op("StartLiveTail", tail::start_live_tail)
            .op("GetLogRecord", policies::get_log_record)
            .op("CreateExportTask", exports::create_export_task)
            .op("DescribeExportTasks", exports::describe_export_tasks)
            .op("CancelExportTask", exports::cancel_export_task)
            .op("PutAccountPolicy", policies::put_account_policy)
            .op(
                "DescribeAccountPolicies",
                policies::describe_account_policies,
            )
            .op("DeleteAccountPolicy", policies::delete_account_policy)
            .op(
                "PutDataProtectionPolicy",
                policies::put_data_protection_policy,
            )
            .op(
                "GetDataProtectionPolicy",
                policies::get_data_protection_policy,
            )
            .op(
                "DeleteDataProtectionPolicy",
                policies::delete_data_protection_policy,
            )
            .task("query", queries::run_query)
            .task("tail", tail::tail)
            .task("export", exports::run_export)
            .op("PutTransformer", transform::put_transformer)
            .op("GetTransformer", transform::get_transformer)
            .op("DeleteTransformer", transform::delete_transformer)
            .op("TestTransformer", transform::test_transformer)
            .op("PutDeliverySource", vended::put_delivery_source)
            .op("GetDeliverySource", vended::get_delivery_source)
            .op("DescribeDeliverySources", vended::describe_delivery_sources)
            .op("DeleteDeliverySource", vended::delete_delivery_source)
            .op("PutDeliveryDestination", vended::put_delivery_destination)
            .op("GetDeliveryDestination", vended::get_delivery_destination)
            .op(
                "DescribeDeliveryDestinations",
                vended::describe_delivery_destinations,
            )
            .op(
                "DeleteDeliveryDestination",
                vended::delete_delivery_destination,
            )
            .op(
                "PutDeliveryDestinationPolicy",
                vended::put_delivery_destination_policy,
            )
            .op(
                "GetDeliveryDestinationPolicy",
                vended::get_delivery_destination_policy,
            )
            .op(
                "DeleteDeliveryDestinationPolicy",
                vended::delete_delivery_destination_policy,
            )
            .op("CreateDelivery", vended::create_delivery)
            .op("GetDelivery", vended::get_delivery)
            .op("DescribeDeliveries", vended::describe_deliveries)
            .op("DeleteDelivery", vended::delete_delivery)
            .op(
                "UpdateDeliveryConfiguration",
                vended::update_delivery_configuration,
            )
            .op(
                "DescribeConfigurationTemplates",
                vended::describe_configuration_templates,
            )
            .op(
                "CreateLogAnomalyDetector",
                extras::create_log_anomaly_detector,
            )
            .op("GetLogAnomalyDetector", extras::get_log_anomaly_detector)
            .op(
                "ListLogAnomalyDetectors",
                extras::list_log_anomaly_detectors,
            )
            .op(
                "UpdateLogAnomalyDetector",
                extras::update_log_anomaly_detector,
            )
            .op(
                "DeleteLogAnomalyDetector",
                extras::delete_log_anomaly_detector,
            )
            .op("ListAnomalies", extras::list_anomalies)
            .op("UpdateAnomaly", extras::update_anomaly)
            .op("PutIndexPolicy", extras::put_index_policy)
            .op("DescribeIndexPolicies", extras::describe_index_policies)
            .op("DeleteIndexPolicy", extras::delete_index_policy)
            .op("DescribeFieldIndexes", extras::describe_field_indexes)
            .op("PutIntegration", extras::put_integration)
            .op("GetIntegration", extras::get_integration)
            .op("ListIntegrations", extras::list_integrations)
            .op("DeleteIntegration", extras::delete_integration)
            .op("CreateScheduledQuery", extras::create_scheduled_query)
            .op("GetScheduledQuery", extras::get_scheduled_query)
            .op("ListScheduledQueries", extras::list_scheduled_queries)
            .op("UpdateScheduledQuery", extras::update_scheduled_query)
            .op("DeleteScheduledQuery", extras::delete_scheduled_query)
            .op(
                "GetScheduledQueryHistory",
                extras::get_scheduled_query_history,
            )
            .op("CreateLookupTable", extras::create_lookup_table)
            .op("GetLookupTable", extras::get_lookup_table)
            .op("DescribeLookupTables", extras::describe_lookup_tables)
            .op("UpdateLookupTable", extras::update_lookup_table)
            .op("DeleteLookupTable", extras::delete_lookup_table)
            .op("CreateImportTask", extras::create_import_task)
            .op("DescribeImportTasks", extras::describe_import_tasks)
            .op(
                "DescribeImportTaskBatches",
                extras::describe_import_task_batches,
            )
            .op("CancelImportTask", extras::cancel_import_task)
            .op(
                "AssociateSourceToS3TableIntegration",
                extras::associate_source_to_s3_table_integration,
            )
            .op(
                "DisassociateSourceFromS3TableIntegration",
                extras::disassociate_source_from_s3_table_integration,
            )
            .op(
                "ListSourcesForS3TableIntegration",
                extras::list_sources_for_s3_table_integration,
            )
            .op("GetLogFields", extras::get_log_fields)
            .op(
                "ListAggregateLogGroupSummaries",
                extras::list_aggregate_log_group_summaries,
            )
            .op(
                "PutBearerTokenAuthentication",
                extras::put_bearer_token_authentication,
            )
            .op("ListLogGroupsForQuery", extras::list_log_groups_for_query)
            .op("GetLogObject", extras::get_log_object)
            .http(peek::serve)
    }

    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        vec![ministack_sdk::RawRoute {
            host_suffix: String::new(),
            path_prefix: "/_ministack/logs".into(),
        }]
    }
}

export_plugin!(Logs);

/// `ResourceAlreadyExistsException`.
pub(crate) fn exists(msg: &str) -> AwsError {
    AwsError::new("ResourceAlreadyExistsException", msg).with_status(400)
}

/// `ResourceNotFoundException` with AWS's message.
pub(crate) fn not_found(msg: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", msg).with_status(400)
}

pub(crate) fn limit_exceeded(msg: &str) -> AwsError {
    AwsError::new("LimitExceededException", msg).with_status(400)
}

pub(crate) fn invalid(msg: impl Into<String>) -> AwsError {
    let msg: String = msg.into();
    AwsError::new("InvalidParameterException", msg).with_status(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_only_operations_of_the_model() {
        // The host answers NotImplemented (501) for the model's others.
        assert!(ministack_sdk::coverage::<Logs>().unknown.is_empty());
    }
}
