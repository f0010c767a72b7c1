//! AWS CloudFormation as a ministack plugin: an orchestrator. Every
//! resource type is provided by the plugin of its service through the
//! resource handlers of the SDK (`ministack_sdk::resources`); this plugin
//! parses templates, resolves intrinsics, orders resources by dependency
//! and runs deployments as durable tasks (see docs/services/cloudformation.md).

use ministack_sdk::prelude::*;

mod changes;
mod deploy;
mod drift;
mod internal;
mod nested;
mod ops;
mod registry;
mod rules;
mod sam;
mod stacks;
mod stacksets;
pub mod template;
mod template_url;
mod transform;
pub mod yaml;

ministack_sdk::include_shapes!(pub mod shapes);

pub struct CloudFormation;

impl Service for CloudFormation {
    const NAME: &'static str = "cloudformation";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("CreateStack", ops::create_stack)
            .op("UpdateStack", ops::update_stack)
            .op("DeleteStack", ops::delete_stack)
            .op("DescribeStacks", ops::describe_stacks)
            .op("ListStacks", ops::list_stacks)
            .op("DescribeStackEvents", ops::describe_stack_events)
            .op("DescribeStackResource", ops::describe_stack_resource)
            .op("DescribeStackResources", ops::describe_stack_resources)
            .op("ListStackResources", ops::list_stack_resources)
            .op("GetTemplate", ops::get_template)
            .op("GetTemplateSummary", ops::get_template_summary)
            .op("ValidateTemplate", ops::validate_template)
            .op("EstimateTemplateCost", ops::estimate_template_cost)
            .op("CreateChangeSet", ops::create_change_set)
            .op("DescribeChangeSet", ops::describe_change_set)
            .op("ExecuteChangeSet", ops::execute_change_set)
            .op("DeleteChangeSet", ops::delete_change_set)
            .op("ListChangeSets", ops::list_change_sets)
            .op("ListExports", ops::list_exports)
            .op("ListImports", ops::list_imports)
            .op(
                "UpdateTerminationProtection",
                ops::update_termination_protection,
            )
            .op("SetStackPolicy", ops::set_stack_policy)
            .op("GetStackPolicy", ops::get_stack_policy)
            .op("DetectStackDrift", drift::detect_stack_drift)
            .op(
                "DetectStackResourceDrift",
                drift::detect_stack_resource_drift,
            )
            .op(
                "DescribeStackDriftDetectionStatus",
                drift::describe_stack_drift_detection_status,
            )
            .op(
                "DescribeStackResourceDrifts",
                drift::describe_stack_resource_drifts,
            )
            .op("SignalResource", internal::signal_resource)
            .op("ListTypes", registry::list_types)
            .op("DescribeType", registry::describe_type)
            .op("DescribeAccountLimits", registry::describe_account_limits)
            .op("CreateStackSet", stacksets::create_stack_set)
            .op("DescribeStackSet", stacksets::describe_stack_set)
            .op("ListStackSets", stacksets::list_stack_sets)
            .op("UpdateStackSet", stacksets::update_stack_set)
            .op("DeleteStackSet", stacksets::delete_stack_set)
            .op("CreateStackInstances", stacksets::create_stack_instances)
            .op("UpdateStackInstances", stacksets::update_stack_instances)
            .op("DeleteStackInstances", stacksets::delete_stack_instances)
            .op("ListStackInstances", stacksets::list_stack_instances)
            .op("DescribeStackInstance", stacksets::describe_stack_instance)
            .op(
                "ListStackSetOperations",
                stacksets::list_stack_set_operations,
            )
            .op(
                "DescribeStackSetOperation",
                stacksets::describe_stack_set_operation,
            )
            .op(
                "ListStackSetOperationResults",
                stacksets::list_stack_set_operation_results,
            )
            .op("StopStackSetOperation", stacksets::stop_stack_set_operation)
            .task(stacksets::OPERATION_TASK, stacksets::run_operation)
            .task(stacksets::RESUME_TASK, stacksets::resume)
            .task(deploy::DEPLOY_TASK, ops::run_deploy)
            .task(ministack_sdk::tasks::START_TASK, deploy::on_start)
            .task(deploy::RESUME_TASK, deploy::resume)
            .http(internal::serve_http)
    }

    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        internal::raw_routes()
    }
}

export_plugin!(CloudFormation);
