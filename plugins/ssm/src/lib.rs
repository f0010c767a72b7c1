//! AWS Systems Manager as a ministack plugin: Parameter Store and the Run
//! Command family.
//!
//! A parameter is one record (per account and region) holding every version
//! (at most 100) with its labels; tags live on the record. SecureString
//! values are kept as given; without `WithDecryption` they read as an
//! opaque base64 blob, as AWS returns the ciphertext. The public
//! `/aws/service/...` parameters (latest AMI ids, the region list) are
//! answered from [`public`]. Run Command records commands; every invocation
//! ends `Success` with empty output. Every other SSM operation is left to the
//! host, which answers it as not implemented.

use ministack_sdk::prelude::*;

mod commands;
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
        assert_eq!(Ssm::router().operations().len(), 18);
    }
}
