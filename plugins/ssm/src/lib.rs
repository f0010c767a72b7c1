//! AWS Systems Manager as a ministack plugin: Parameter Store and the Run
//! Command family.
//!
//! A parameter is one record (per account and region) holding every version
//! (at most 100) with its labels; tags live on the record. SecureString
//! values are kept as given; without `WithDecryption` they read as an
//! opaque base64 blob, as AWS returns the ciphertext. The public
//! `/aws/service/...` parameters (latest AMI ids, the region list) are
//! answered from [`public`]. Run Command records commands; every invocation
//! ends `Success` with empty output. Documents (with versions), associations,
//! maintenance windows, OpsItems and inventory are stored ([`documents`]);
//! sessions answer `TargetNotConnected`. Every other SSM operation is left
//! to the host, which answers it as not implemented.

use ministack_sdk::prelude::*;

mod commands;
mod documents;
mod params;
pub mod public;
mod query;
mod resources;

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
        assert_eq!(Ssm::router().operations().len(), 45);
    }
}
