//! AWS Lambda as a ministack plugin.
//!
//! The control plane (functions, versions, aliases, layers, permissions,
//! URLs, concurrency, event invoke configs, code signing, tags, event source
//! mappings) lives in this plugin's tables; code runs through the host's
//! `functions` capability (prepare / invoke / release), which unpacks zips,
//! keeps warm workers and speaks the Lambda Runtime API to them.
//!
//! Asynchronous invokes and event source mapping pollers are `tasks`
//! (`async-invoke`, `esm-poll`). Raw routes: the code download URL
//! GetFunction returns and function URLs (see docs/services/lambda.md).

use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse, RawRoute};

mod code;
mod common;
mod esm;
mod esm_kinesis;
mod exec;
mod filter;
mod functions;
mod invoke;
mod layers;
mod logs;
mod policy;
mod resources;
mod settings;
mod urls;

pub struct Lambda;

/// Regions whose `<url-id>.lambda-url.<region>.localhost` hosts are routed here.
const URL_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-east-1",
    "me-south-1",
    "me-central-1",
    "il-central-1",
    "af-south-1",
    "sa-east-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "cn-north-1",
    "cn-northwest-1",
];

const CODE_PREFIX: &str = "/_ministack/lambda-code/";

impl Service for Lambda {
    const NAME: &'static str = "lambda";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            // functions
            .op("CreateFunction", functions::create_function)
            .op("GetFunction", functions::get_function)
            .op(
                "GetFunctionConfiguration",
                functions::get_function_configuration,
            )
            .op("ListFunctions", functions::list_functions)
            .op("DeleteFunction", functions::delete_function)
            .op("UpdateFunctionCode", functions::update_function_code)
            .op(
                "UpdateFunctionConfiguration",
                functions::update_function_configuration,
            )
            .op("PublishVersion", functions::publish_version)
            .op(
                "ListVersionsByFunction",
                functions::list_versions_by_function,
            )
            .op("CreateAlias", functions::create_alias)
            .op("GetAlias", functions::get_alias)
            .op("UpdateAlias", functions::update_alias)
            .op("DeleteAlias", functions::delete_alias)
            .op("ListAliases", functions::list_aliases)
            // layers
            .op("PublishLayerVersion", layers::publish_layer_version)
            .op("GetLayerVersion", layers::get_layer_version)
            .op("GetLayerVersionByArn", layers::get_layer_version_by_arn)
            .op("DeleteLayerVersion", layers::delete_layer_version)
            .op("ListLayers", layers::list_layers)
            .op("ListLayerVersions", layers::list_layer_versions)
            .op(
                "AddLayerVersionPermission",
                layers::add_layer_version_permission,
            )
            .op("GetLayerVersionPolicy", layers::get_layer_version_policy)
            .op(
                "RemoveLayerVersionPermission",
                layers::remove_layer_version_permission,
            )
            // permissions
            .op("AddPermission", policy::add_permission)
            .op("GetPolicy", policy::get_policy)
            .op("RemovePermission", policy::remove_permission)
            // invoke
            .op("Invoke", invoke::invoke)
            .op("InvokeAsync", invoke::invoke_async)
            .op(
                "InvokeWithResponseStream",
                invoke::invoke_with_response_stream,
            )
            // function URLs
            .op("CreateFunctionUrlConfig", urls::create_function_url_config)
            .op("GetFunctionUrlConfig", urls::get_function_url_config)
            .op("ministack:authz-raw", urls::authz_raw)
            .op("UpdateFunctionUrlConfig", urls::update_function_url_config)
            .op("DeleteFunctionUrlConfig", urls::delete_function_url_config)
            .op("ListFunctionUrlConfigs", urls::list_function_url_configs)
            // concurrency
            .op("PutFunctionConcurrency", settings::put_function_concurrency)
            .op("GetFunctionConcurrency", settings::get_function_concurrency)
            .op(
                "DeleteFunctionConcurrency",
                settings::delete_function_concurrency,
            )
            .op(
                "PutProvisionedConcurrencyConfig",
                settings::put_provisioned_concurrency_config,
            )
            .op(
                "GetProvisionedConcurrencyConfig",
                settings::get_provisioned_concurrency_config,
            )
            .op(
                "DeleteProvisionedConcurrencyConfig",
                settings::delete_provisioned_concurrency_config,
            )
            .op(
                "ListProvisionedConcurrencyConfigs",
                settings::list_provisioned_concurrency_configs,
            )
            // event invoke configs
            .op(
                "PutFunctionEventInvokeConfig",
                settings::put_function_event_invoke_config,
            )
            .op(
                "UpdateFunctionEventInvokeConfig",
                settings::update_function_event_invoke_config,
            )
            .op(
                "GetFunctionEventInvokeConfig",
                settings::get_function_event_invoke_config,
            )
            .op(
                "DeleteFunctionEventInvokeConfig",
                settings::delete_function_event_invoke_config,
            )
            .op(
                "ListFunctionEventInvokeConfigs",
                settings::list_function_event_invoke_configs,
            )
            // code signing
            .op(
                "CreateCodeSigningConfig",
                settings::create_code_signing_config,
            )
            .op("GetCodeSigningConfig", settings::get_code_signing_config)
            .op(
                "UpdateCodeSigningConfig",
                settings::update_code_signing_config,
            )
            .op(
                "DeleteCodeSigningConfig",
                settings::delete_code_signing_config,
            )
            .op(
                "ListCodeSigningConfigs",
                settings::list_code_signing_configs,
            )
            .op(
                "ListFunctionsByCodeSigningConfig",
                settings::list_functions_by_code_signing_config,
            )
            .op(
                "PutFunctionCodeSigningConfig",
                settings::put_function_code_signing_config,
            )
            .op(
                "GetFunctionCodeSigningConfig",
                settings::get_function_code_signing_config,
            )
            .op(
                "DeleteFunctionCodeSigningConfig",
                settings::delete_function_code_signing_config,
            )
            // tags, account, runtime, recursion
            .op("ListTags", settings::list_tags)
            .op("TagResource", settings::tag_resource)
            .op("UntagResource", settings::untag_resource)
            .op("GetAccountSettings", settings::get_account_settings)
            .op(
                "GetRuntimeManagementConfig",
                settings::get_runtime_management_config,
            )
            .op(
                "PutRuntimeManagementConfig",
                settings::put_runtime_management_config,
            )
            .op(
                "GetFunctionRecursionConfig",
                settings::get_function_recursion_config,
            )
            .op(
                "PutFunctionRecursionConfig",
                settings::put_function_recursion_config,
            )
            // capacity providers, scaling and durable executions (not local)
            .op("CreateCapacityProvider", settings::create_capacity_provider)
            .op("UpdateCapacityProvider", settings::update_capacity_provider)
            .op("GetCapacityProvider", settings::get_capacity_provider)
            .op("DeleteCapacityProvider", settings::delete_capacity_provider)
            .op("ListCapacityProviders", settings::list_capacity_providers)
            .op(
                "ListFunctionVersionsByCapacityProvider",
                settings::list_function_versions_by_capacity_provider,
            )
            .op(
                "GetFunctionScalingConfig",
                settings::get_function_scaling_config,
            )
            .op(
                "PutFunctionScalingConfig",
                settings::put_function_scaling_config,
            )
            .op("GetDurableExecution", settings::durable_execution_op)
            .op("GetDurableExecutionHistory", settings::durable_execution_op)
            .op("GetDurableExecutionState", settings::durable_execution_op)
            .op("StopDurableExecution", settings::durable_execution_op)
            .op("CheckpointDurableExecution", settings::durable_execution_op)
            .op(
                "SendDurableExecutionCallbackSuccess",
                settings::durable_execution_op,
            )
            .op(
                "SendDurableExecutionCallbackFailure",
                settings::durable_execution_op,
            )
            .op(
                "SendDurableExecutionCallbackHeartbeat",
                settings::durable_execution_op,
            )
            .op(
                "ListDurableExecutionsByFunction",
                settings::list_durable_executions_by_function,
            )
            // event source mappings
            .op("CreateEventSourceMapping", esm::create_event_source_mapping)
            .op("GetEventSourceMapping", esm::get_event_source_mapping)
            .op("UpdateEventSourceMapping", esm::update_event_source_mapping)
            .op("DeleteEventSourceMapping", esm::delete_event_source_mapping)
            .op("ListEventSourceMappings", esm::list_event_source_mappings)
            .task("async-invoke", invoke::run_event)
            .task(invoke::STREAM_TASK, invoke::run_streamed)
            .task(logs::TASK, logs::run)
            .task("esm-poll", esm::poll)
            .task("esm-resume", esm::resume)
            .task(ministack_sdk::tasks::START_TASK, esm::on_start)
            .http(serve_http)
    }

    fn raw_routes() -> Vec<RawRoute> {
        let mut routes = vec![
            RawRoute {
                host_suffix: String::new(),
                path_prefix: CODE_PREFIX.into(),
            },
            RawRoute {
                host_suffix: String::new(),
                path_prefix: urls::PATH_PREFIX.into(),
            },
        ];
        routes.extend(URL_REGIONS.iter().map(|r| RawRoute {
            host_suffix: format!(".lambda-url.{r}.localhost"),
            path_prefix: "/".into(),
        }));
        routes
    }

    fn capabilities() -> Vec<String> {
        vec!["functions".into()]
    }
}

fn serve_http(ctx: &Context, req: HttpRequest) -> HttpResponse {
    if req.path.starts_with(CODE_PREFIX) {
        return functions::serve_code(&req);
    }
    let host = req.header("host").unwrap_or_default().to_string();
    match urls::url_id_and_path(&host, &req.path) {
        Some((id, path)) => urls::serve(ctx, &req, &id, &path),
        None => HttpResponse::not_found(),
    }
}

export_plugin!(Lambda);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Lambda>(),
            ministack_sdk::Coverage::default()
        );
    }
}
