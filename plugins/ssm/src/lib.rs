//! AWS Systems Manager as a ministack plugin: Parameter Store, Run
//! Command and the records around them.
//!
//! A parameter is one record (per account and region) holding every version
//! (at most 100) with its labels; tags live on the record. SecureString
//! values are kept as given; without `WithDecryption` they read as an
//! opaque base64 blob, as AWS returns the ciphertext. The public
//! `/aws/service/...` parameters (latest AMI ids, the region list) are
//! answered from [`public`]. Run Command records commands; every invocation
//! ends `Success` with empty output. Documents (with versions, AWS-owned
//! ones in [`aws_documents`]), associations, maintenance windows
//! ([`windows`]), OpsItems, inventory, compliance and OpsMetadata ([`ops`]),
//! patch baselines ([`patch`]), activations and resource policies
//! ([`nodes`]) are stored; tags on them live in [`tags`]. Nothing runs (no
//! agent, no managed node): executions are listed empty or not found, and
//! sessions answer `TargetNotConnected`. The few operations that would have
//! to run something (automation, change requests, just-in-time access) are
//! left to the host, which answers them as not implemented.

use ministack_sdk::prelude::*;

mod aws_documents;
mod commands;
mod documents;
mod json;
mod nodes;
mod ops;
mod paging;
mod params;
mod patch;
pub mod public;
mod query;
mod resources;
mod tags;
mod windows;
mod yaml;

pub struct Ssm;

impl Service for Ssm {
    const NAME: &'static str = "ssm";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("PutParameter", params::put_parameter)
            .op("GetParameter", params::get_parameter)
            .op("GetParameters", params::get_parameters)
            .op("DeleteParameter", params::delete_parameter)
            .op("DeleteParameters", params::delete_parameters)
            .op("LabelParameterVersion", params::label_parameter_version)
            .op("UnlabelParameterVersion", params::unlabel_parameter_version)
            .op("AddTagsToResource", params::add_tags_to_resource)
            .op("RemoveTagsFromResource", params::remove_tags_from_resource)
            .op("ListTagsForResource", params::list_tags_for_resource)
            .op("GetParametersByPath", query::get_parameters_by_path)
            .op("DescribeParameters", query::describe_parameters)
            .op("GetParameterHistory", query::get_parameter_history)
            .op("SendCommand", commands::send_command)
            .op("GetCommandInvocation", commands::get_command_invocation)
            .op("ListCommands", commands::list_commands)
            .op("ListCommandInvocations", commands::list_command_invocations)
            .op(
                "DescribeInstanceInformation",
                commands::describe_instance_information,
            )
            .op("CreateDocument", documents::create_document)
            .op("GetDocument", documents::get_document)
            .op("DescribeDocument", documents::describe_document)
            .op("UpdateDocument", documents::update_document)
            .op(
                "UpdateDocumentDefaultVersion",
                documents::update_document_default_version,
            )
            .op("DeleteDocument", documents::delete_document)
            .op("ListDocuments", documents::list_documents)
            .op("ListDocumentVersions", documents::list_document_versions)
            .op("CreateAssociation", documents::create_association)
            .op("DescribeAssociation", documents::describe_association)
            .op("UpdateAssociation", documents::update_association)
            .op("DeleteAssociation", documents::delete_association)
            .op("ListAssociations", documents::list_associations)
            .op(
                "CreateMaintenanceWindow",
                documents::create_maintenance_window,
            )
            .op("GetMaintenanceWindow", documents::get_maintenance_window)
            .op(
                "UpdateMaintenanceWindow",
                documents::update_maintenance_window,
            )
            .op(
                "DeleteMaintenanceWindow",
                documents::delete_maintenance_window,
            )
            .op(
                "DescribeMaintenanceWindows",
                documents::describe_maintenance_windows,
            )
            .op("CreateOpsItem", documents::create_ops_item)
            .op("GetOpsItem", documents::get_ops_item)
            .op("UpdateOpsItem", documents::update_ops_item)
            .op("DeleteOpsItem", documents::delete_ops_item)
            .op("DescribeOpsItems", documents::describe_ops_items)
            .op("PutInventory", documents::put_inventory)
            .op("GetInventory", documents::get_inventory)
            .op("ListInventoryEntries", documents::list_inventory_entries)
            .op("StartSession", documents::start_session)
            .op("CancelCommand", commands::cancel_command)
            .op(
                "DescribeDocumentPermission",
                documents::describe_document_permission,
            )
            .op(
                "ModifyDocumentPermission",
                documents::modify_document_permission,
            )
            .op(
                "CreateAssociationBatch",
                documents::create_association_batch,
            )
            .op(
                "ListAssociationVersions",
                documents::list_association_versions,
            )
            .op(
                "DescribeAssociationExecutions",
                documents::describe_association_executions,
            )
            .op(
                "DescribeAssociationExecutionTargets",
                documents::describe_association_execution_targets,
            )
            .op("StartAssociationsOnce", documents::start_associations_once)
            .op(
                "RegisterTargetWithMaintenanceWindow",
                windows::register_target,
            )
            .op(
                "DeregisterTargetFromMaintenanceWindow",
                windows::deregister_target,
            )
            .op("UpdateMaintenanceWindowTarget", windows::update_target)
            .op(
                "DescribeMaintenanceWindowTargets",
                windows::describe_targets,
            )
            .op("RegisterTaskWithMaintenanceWindow", windows::register_task)
            .op(
                "DeregisterTaskFromMaintenanceWindow",
                windows::deregister_task,
            )
            .op("UpdateMaintenanceWindowTask", windows::update_task)
            .op("GetMaintenanceWindowTask", windows::get_task)
            .op("DescribeMaintenanceWindowTasks", windows::describe_tasks)
            .op(
                "DescribeMaintenanceWindowExecutions",
                windows::describe_executions,
            )
            .op(
                "DescribeMaintenanceWindowSchedule",
                windows::describe_schedule,
            )
            .op(
                "DescribeMaintenanceWindowsForTarget",
                windows::describe_for_target,
            )
            .op("GetMaintenanceWindowExecution", windows::get_execution)
            .op(
                "GetMaintenanceWindowExecutionTask",
                windows::get_execution_task,
            )
            .op(
                "DescribeMaintenanceWindowExecutionTasks",
                windows::describe_execution_tasks,
            )
            .op(
                "CancelMaintenanceWindowExecution",
                windows::cancel_execution,
            )
            .op(
                "AssociateOpsItemRelatedItem",
                documents::associate_ops_item_related_item,
            )
            .op(
                "DisassociateOpsItemRelatedItem",
                documents::disassociate_ops_item_related_item,
            )
            .op(
                "ListOpsItemRelatedItems",
                documents::list_ops_item_related_items,
            )
            .op("ListOpsItemEvents", documents::list_ops_item_events)
            .op("CreateOpsMetadata", ops::create_ops_metadata)
            .op("GetOpsMetadata", ops::get_ops_metadata)
            .op("UpdateOpsMetadata", ops::update_ops_metadata)
            .op("DeleteOpsMetadata", ops::delete_ops_metadata)
            .op("ListOpsMetadata", ops::list_ops_metadata)
            .op("CreateResourceDataSync", ops::create_resource_data_sync)
            .op("DeleteResourceDataSync", ops::delete_resource_data_sync)
            .op("UpdateResourceDataSync", ops::update_resource_data_sync)
            .op("ListResourceDataSync", ops::list_resource_data_sync)
            .op("GetInventorySchema", documents::get_inventory_schema)
            .op("DeleteInventory", documents::delete_inventory)
            .op(
                "DescribeInventoryDeletions",
                documents::describe_inventory_deletions,
            )
            .op("PutComplianceItems", ops::put_compliance_items)
            .op("ListComplianceItems", ops::list_compliance_items)
            .op(
                "ListResourceComplianceSummaries",
                ops::list_resource_compliance_summaries,
            )
            .op("ListComplianceSummaries", ops::list_compliance_summaries)
            .op("CreatePatchBaseline", patch::create_patch_baseline)
            .op("GetPatchBaseline", patch::get_patch_baseline)
            .op("UpdatePatchBaseline", patch::update_patch_baseline)
            .op("DeletePatchBaseline", patch::delete_patch_baseline)
            .op("DescribePatchBaselines", patch::describe_patch_baselines)
            .op(
                "RegisterDefaultPatchBaseline",
                patch::register_default_patch_baseline,
            )
            .op("GetDefaultPatchBaseline", patch::get_default_patch_baseline)
            .op(
                "RegisterPatchBaselineForPatchGroup",
                patch::register_patch_baseline_for_patch_group,
            )
            .op(
                "DeregisterPatchBaselineForPatchGroup",
                patch::deregister_patch_baseline_for_patch_group,
            )
            .op(
                "GetPatchBaselineForPatchGroup",
                patch::get_patch_baseline_for_patch_group,
            )
            .op("DescribePatchGroups", patch::describe_patch_groups)
            .op("GetServiceSetting", ops::get_service_setting)
            .op("UpdateServiceSetting", ops::update_service_setting)
            .op("ResetServiceSetting", ops::reset_service_setting)
            .op("GetConnectionStatus", ops::get_connection_status)
            .op("DescribeSessions", ops::describe_sessions)
            .op("TerminateSession", ops::terminate_session)
            .op("ResumeSession", ops::resume_session)
            .op(
                "DescribeAutomationExecutions",
                ops::describe_automation_executions,
            )
            .op("CreateActivation", nodes::create_activation)
            .op("DescribeActivations", nodes::describe_activations)
            .op("DeleteActivation", nodes::delete_activation)
            .op(
                "DeregisterManagedInstance",
                nodes::deregister_managed_instance,
            )
            .op(
                "UpdateManagedInstanceRole",
                nodes::update_managed_instance_role,
            )
            .op(
                "DescribeInstanceProperties",
                nodes::describe_instance_properties,
            )
            .op("ListNodes", nodes::list_nodes)
            .op("ListNodesSummary", nodes::list_nodes_summary)
            .op("GetOpsSummary", nodes::get_ops_summary)
            .op(
                "DescribeInstancePatchStates",
                nodes::describe_instance_patch_states,
            )
            .op(
                "DescribeInstancePatchStatesForPatchGroup",
                nodes::describe_instance_patch_states,
            )
            .op("DescribeInstancePatches", nodes::describe_instance_patches)
            .op("DescribePatchGroupState", nodes::describe_patch_group_state)
            .op(
                "DescribeAvailablePatches",
                nodes::describe_available_patches,
            )
            .op("DescribePatchProperties", nodes::describe_patch_properties)
            .op(
                "DescribeEffectivePatchesForPatchBaseline",
                patch::describe_effective_patches_for_patch_baseline,
            )
            .op("PutResourcePolicy", nodes::put_resource_policy)
            .op("GetResourcePolicies", nodes::get_resource_policies)
            .op("DeleteResourcePolicy", nodes::delete_resource_policy)
            .op(
                "DescribeEffectiveInstanceAssociations",
                documents::describe_effective_instance_associations,
            )
            .op(
                "DescribeInstanceAssociationsStatus",
                documents::describe_instance_associations_status,
            )
            .op(
                "UpdateAssociationStatus",
                documents::update_association_status,
            )
            .op("GetCalendarState", documents::get_calendar_state)
            .op(
                "DescribeMaintenanceWindowExecutionTaskInvocations",
                windows::describe_execution_task_invocations,
            )
            .op(
                "GetMaintenanceWindowExecutionTaskInvocation",
                windows::get_execution_task_invocation,
            )
            .op(
                "GetAutomationExecution",
                ops::automation_execution_not_found,
            )
            .op(
                "StopAutomationExecution",
                ops::automation_execution_not_found,
            )
            .op("SendAutomationSignal", ops::automation_execution_not_found)
            .op(
                "DescribeAutomationStepExecutions",
                ops::automation_execution_not_found,
            )
            .op(
                "UpdateDocumentMetadata",
                documents::update_document_metadata,
            )
            .op(
                "ListDocumentMetadataHistory",
                documents::list_document_metadata_history,
            )
    }
}

export_plugin!(Ssm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_operation_is_in_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Ssm>().unknown,
            Vec::<String>::new()
        );
        assert_eq!(Ssm::router().operations().len(), 139);
    }
}
