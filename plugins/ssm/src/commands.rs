//! Run Command: SendCommand, GetCommandInvocation, ListCommands,
//! ListCommandInvocations, DescribeInstanceInformation.
//!
//! No agent runs anything: a command is recorded, and every invocation has
//! finished with `Success`, response code 0 and empty output. No managed
//! instances are registered, so DescribeInstanceInformation lists none.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::Value;

use crate::query::paginate;

/// Commands of the caller's account and region, by command id.
const COMMANDS: Table<Command> = Table::new("commands");

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Command {
    id: String,
    document_name: String,
    document_version: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    parameters: BTreeMap<String, Vec<String>>,
    instance_ids: Vec<String>,
    #[serde(default)]
    targets: Vec<Value>,
    requested: f64,
    timeout_seconds: u64,
    #[serde(default)]
    output_s3_region: Option<String>,
    #[serde(default)]
    output_s3_bucket_name: Option<String>,
    #[serde(default)]
    output_s3_key_prefix: Option<String>,
    max_concurrency: String,
    max_errors: String,
    #[serde(default)]
    service_role: Option<String>,
    #[serde(default)]
    notification_config: Option<Value>,
    #[serde(default)]
    cloud_watch_output_config: Option<Value>,
}

fn valid_instance_id(id: &str) -> bool {
    let hexpart = id.strip_prefix("i-").or_else(|| id.strip_prefix("mi-"));
    hexpart.is_some_and(|h| (8..=17).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The plugin step of a document (what GetCommandInvocation calls PluginName).
fn plugin_name(document: &str) -> &'static str {
    match document {
        "AWS-RunPowerShellScript" => "aws:runPowerShellScript",
        "AWS-ConfigureAWSPackage" => "configurePackage",
        "AWS-UpdateSSMAgent" => "aws:updateSsmAgent",
        "AWS-RunDocument" => "runDocument",
        _ => "aws:runShellScript",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendCommandRequest {
    instance_ids: Option<Vec<String>>,
    targets: Option<Vec<Value>>,
    document_name: String,
    document_version: Option<String>,
    timeout_seconds: Option<u64>,
    comment: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Vec<String>>,
    output_s3_region: Option<String>,
    output_s3_bucket_name: Option<String>,
    output_s3_key_prefix: Option<String>,
    max_concurrency: Option<String>,
    max_errors: Option<String>,
    service_role_arn: Option<String>,
    notification_config: Option<Value>,
    cloud_watch_output_config: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommandOut {
    command_id: String,
    document_name: String,
    document_version: String,
    comment: String,
    expires_after: f64,
    parameters: BTreeMap<String, Vec<String>>,
    instance_ids: Vec<String>,
    targets: Vec<Value>,
    requested_date_time: f64,
    status: String,
    status_details: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_s3_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_s3_bucket_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_s3_key_prefix: Option<String>,
    max_concurrency: String,
    max_errors: String,
    target_count: usize,
    completed_count: usize,
    error_count: usize,
    delivery_timed_out_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_watch_output_config: Option<Value>,
    timeout_seconds: u64,
}

impl From<&Command> for CommandOut {
    fn from(c: &Command) -> Self {
        CommandOut {
            command_id: c.id.clone(),
            document_name: c.document_name.clone(),
            document_version: c.document_version.clone(),
            comment: c.comment.clone(),
            expires_after: c.requested + c.timeout_seconds as f64,
            parameters: c.parameters.clone(),
            instance_ids: c.instance_ids.clone(),
            targets: c.targets.clone(),
            requested_date_time: c.requested,
            status: "Success".into(),
            status_details: "Success".into(),
            output_s3_region: c.output_s3_region.clone(),
            output_s3_bucket_name: c.output_s3_bucket_name.clone(),
            output_s3_key_prefix: c.output_s3_key_prefix.clone(),
            max_concurrency: c.max_concurrency.clone(),
            max_errors: c.max_errors.clone(),
            target_count: c.instance_ids.len(),
            completed_count: c.instance_ids.len(),
            error_count: 0,
            delivery_timed_out_count: 0,
            service_role: c.service_role.clone(),
            notification_config: c.notification_config.clone(),
            cloud_watch_output_config: c.cloud_watch_output_config.clone(),
            timeout_seconds: c.timeout_seconds,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendCommandResponse {
    command: CommandOut,
}

pub fn send_command(
    ctx: &Context,
    input: SendCommandRequest,
) -> Result<SendCommandResponse, AwsError> {
    let _ = ctx;
    let targets = input.targets.unwrap_or_default();
    let mut instance_ids = input.instance_ids.unwrap_or_default();
    if instance_ids.is_empty() && targets.is_empty() {
        return Err(AwsError::validation(
            "You must specify either InstanceIds or Targets.",
        ));
    }
    if !instance_ids.is_empty() && !targets.is_empty() {
        return Err(AwsError::validation(
            "You can specify either InstanceIds or Targets, not both.",
        ));
    }
    // Targets naming instance ids reach those instances; tag targets reach
    // none (no managed instances are registered).
    for t in &targets {
        if t["Key"] == "InstanceIds"
            && let Some(values) = t["Values"].as_array()
        {
            instance_ids.extend(values.iter().filter_map(|v| v.as_str().map(String::from)));
        }
    }
    for id in &instance_ids {
        if !valid_instance_id(id) {
            return Err(AwsError::new(
                "InvalidInstanceId",
                format!(
                    "Instances [[{id}]] not in a valid state for account {}",
                    ctx.account
                ),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &instance_ids {
        if !seen.insert(id) {
            return Err(AwsError::new(
                "DuplicateInstanceId",
                format!("The instance ID {id} appears more than once."),
            ));
        }
    }
    if input.document_name.is_empty() {
        return Err(AwsError::new(
            "InvalidDocument",
            "The document name is empty.",
        ));
    }
    if !crate::documents::document_exists(&input.document_name)? {
        return Err(AwsError::new(
            "InvalidDocument",
            format!("Document with name {} does not exist.", input.document_name),
        ));
    }
    let command = Command {
        id: ids::uuid(),
        document_name: input.document_name,
        document_version: input.document_version.unwrap_or_else(|| "$DEFAULT".into()),
        comment: input.comment.unwrap_or_default(),
        parameters: input.parameters,
        instance_ids,
        targets,
        requested: time::now(),
        timeout_seconds: input.timeout_seconds.unwrap_or(3600),
        output_s3_region: input.output_s3_region,
        output_s3_bucket_name: input.output_s3_bucket_name,
        output_s3_key_prefix: input.output_s3_key_prefix,
        max_concurrency: input.max_concurrency.unwrap_or_else(|| "50".into()),
        max_errors: input.max_errors.unwrap_or_else(|| "0".into()),
        service_role: input.service_role_arn,
        notification_config: input.notification_config,
        cloud_watch_output_config: input.cloud_watch_output_config,
    };
    COMMANDS.put(&command.id, &command)?;
    Ok(SendCommandResponse {
        command: CommandOut::from(&command),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCommandInvocationRequest {
    command_id: String,
    instance_id: String,
    plugin_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCommandInvocationResponse {
    command_id: String,
    instance_id: String,
    comment: String,
    document_name: String,
    document_version: String,
    plugin_name: String,
    response_code: i64,
    execution_start_date_time: String,
    execution_elapsed_time: String,
    execution_end_date_time: String,
    status: String,
    status_details: String,
    standard_output_content: String,
    standard_output_url: String,
    standard_error_content: String,
    standard_error_url: String,
    cloud_watch_output_config: Value,
}

fn command(id: &str) -> Result<Command, AwsError> {
    if id.len() != 36 {
        return Err(AwsError::new(
            "InvalidCommandId",
            "The command ID is not valid.",
        ));
    }
    COMMANDS
        .get(id)?
        .ok_or_else(|| AwsError::new("InvalidCommandId", "The command ID is not valid."))
}

pub fn get_command_invocation(
    _ctx: &Context,
    input: GetCommandInvocationRequest,
) -> Result<GetCommandInvocationResponse, AwsError> {
    let c = command(&input.command_id).map_err(|_| {
        AwsError::new(
            "InvocationDoesNotExist",
            "An invocation for this command and instance does not exist.",
        )
    })?;
    if !valid_instance_id(&input.instance_id) {
        return Err(AwsError::new(
            "InvalidInstanceId",
            "The instance ID is not valid.",
        ));
    }
    if !c.instance_ids.contains(&input.instance_id) {
        return Err(AwsError::new(
            "InvocationDoesNotExist",
            "An invocation for this command and instance does not exist.",
        ));
    }
    let plugin = plugin_name(&c.document_name);
    if let Some(p) = &input.plugin_name
        && p != plugin
    {
        return Err(AwsError::new(
            "InvalidPluginName",
            "The plugin name is not valid.",
        ));
    }
    let started = ministack_sdk::time::iso8601_millis(c.requested);
    Ok(GetCommandInvocationResponse {
        command_id: c.id.clone(),
        instance_id: input.instance_id,
        comment: c.comment.clone(),
        document_name: c.document_name.clone(),
        document_version: c.document_version.clone(),
        plugin_name: plugin.to_string(),
        response_code: 0,
        execution_start_date_time: started.clone(),
        execution_elapsed_time: "PT0S".into(),
        execution_end_date_time: started,
        status: "Success".into(),
        status_details: "Success".into(),
        standard_output_content: String::new(),
        standard_output_url: String::new(),
        standard_error_content: String::new(),
        standard_error_url: String::new(),
        cloud_watch_output_config: c
            .cloud_watch_output_config
            .clone()
            .unwrap_or_else(|| serde_json::json!({"CloudWatchOutputEnabled": false})),
    })
}

#[derive(Deserialize, Clone)]
pub struct CommandFilter {
    key: String,
    value: String,
}

fn check_command_filters(filters: &[CommandFilter]) -> Result<(), AwsError> {
    for f in filters {
        if ![
            "InvokedAfter",
            "InvokedBefore",
            "Status",
            "ExecutionStage",
            "DocumentName",
        ]
        .contains(&f.key.as_str())
        {
            return Err(AwsError::new(
                "InvalidFilterKey",
                format!("The filter key {} is not valid.", f.key),
            ));
        }
    }
    Ok(())
}

fn command_matches(c: &Command, filters: &[CommandFilter]) -> bool {
    filters.iter().all(|f| match f.key.as_str() {
        "InvokedAfter" => {
            ministack_sdk::time::parse_iso8601(&f.value).is_some_and(|t| c.requested >= t)
        }
        "InvokedBefore" => {
            ministack_sdk::time::parse_iso8601(&f.value).is_some_and(|t| c.requested <= t)
        }
        "Status" => f.value == "Success",
        "ExecutionStage" => f.value == "Complete",
        "DocumentName" => c.document_name == f.value,
        _ => false,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCommandsRequest {
    command_id: Option<String>,
    instance_id: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<CommandFilter>,
    #[serde(default)]
    details: bool,
}

/// Commands matching a List* request, newest first.
fn listed(input: &ListCommandsRequest) -> Result<Vec<Command>, AwsError> {
    check_command_filters(&input.filters)?;
    let mut commands = match &input.command_id {
        Some(id) => vec![command(id)?],
        None => COMMANDS.values("")?,
    };
    commands.retain(|c| {
        input
            .instance_id
            .as_ref()
            .is_none_or(|i| c.instance_ids.contains(i))
            && command_matches(c, &input.filters)
    });
    commands.sort_by(|a, b| b.requested.total_cmp(&a.requested));
    Ok(commands)
}

fn limit(max_results: Option<usize>) -> Result<usize, AwsError> {
    let n = max_results.unwrap_or(50);
    if !(1..=50).contains(&n) {
        return Err(AwsError::validation("MaxResults must be between 1 and 50."));
    }
    Ok(n)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCommandsResponse {
    commands: Vec<CommandOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_commands(
    _ctx: &Context,
    input: ListCommandsRequest,
) -> Result<ListCommandsResponse, AwsError> {
    let commands = listed(&input)?;
    let (page, next_token) = paginate(
        commands,
        limit(input.max_results)?,
        input.next_token.as_deref(),
    )?;
    Ok(ListCommandsResponse {
        commands: page.iter().map(CommandOut::from).collect(),
        next_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommandPlugin {
    name: String,
    status: String,
    status_details: String,
    response_code: i64,
    response_start_date_time: f64,
    response_finish_date_time: f64,
    output: String,
    standard_output_url: String,
    standard_error_url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommandInvocation {
    command_id: String,
    instance_id: String,
    instance_name: String,
    comment: String,
    document_name: String,
    document_version: String,
    requested_date_time: f64,
    status: String,
    status_details: String,
    trace_output: String,
    standard_output_url: String,
    standard_error_url: String,
    command_plugins: Vec<CommandPlugin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_role: Option<String>,
    cloud_watch_output_config: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCommandInvocationsResponse {
    command_invocations: Vec<CommandInvocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_command_invocations(
    _ctx: &Context,
    input: ListCommandsRequest,
) -> Result<ListCommandInvocationsResponse, AwsError> {
    let commands = listed(&input)?;
    let mut invocations = Vec::new();
    for c in &commands {
        for instance in &c.instance_ids {
            if input.instance_id.as_ref().is_some_and(|i| i != instance) {
                continue;
            }
            let plugins = if input.details {
                vec![CommandPlugin {
                    name: plugin_name(&c.document_name).to_string(),
                    status: "Success".into(),
                    status_details: "Success".into(),
                    response_code: 0,
                    response_start_date_time: c.requested,
                    response_finish_date_time: c.requested,
                    output: String::new(),
                    standard_output_url: String::new(),
                    standard_error_url: String::new(),
                }]
            } else {
                Vec::new()
            };
            invocations.push(CommandInvocation {
                command_id: c.id.clone(),
                instance_id: instance.clone(),
                instance_name: String::new(),
                comment: c.comment.clone(),
                document_name: c.document_name.clone(),
                document_version: c.document_version.clone(),
                requested_date_time: c.requested,
                status: "Success".into(),
                status_details: "Success".into(),
                trace_output: String::new(),
                standard_output_url: String::new(),
                standard_error_url: String::new(),
                command_plugins: plugins,
                service_role: c.service_role.clone(),
                cloud_watch_output_config: c
                    .cloud_watch_output_config
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"CloudWatchOutputEnabled": false})),
            });
        }
    }
    let (page, next_token) = paginate(
        invocations,
        limit(input.max_results)?,
        input.next_token.as_deref(),
    )?;
    Ok(ListCommandInvocationsResponse {
        command_invocations: page,
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceInformationRequest {
    #[serde(default)]
    instance_information_filter_list: Vec<Value>,
    #[serde(default)]
    filters: Vec<Value>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstanceInformationResponse {
    instance_information_list: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_instance_information(
    _ctx: &Context,
    input: DescribeInstanceInformationRequest,
) -> Result<DescribeInstanceInformationResponse, AwsError> {
    if !input.instance_information_filter_list.is_empty() && !input.filters.is_empty() {
        return Err(AwsError::validation(
            "You can use either InstanceInformationFilterList or Filters in a single request.",
        ));
    }
    let n = input.max_results.unwrap_or(50);
    if !(5..=50).contains(&n) {
        return Err(AwsError::validation("MaxResults must be between 5 and 50."));
    }
    let (page, next_token) = paginate(Vec::<Value>::new(), n, input.next_token.as_deref())?;
    Ok(DescribeInstanceInformationResponse {
        instance_information_list: page,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids() {
        assert!(valid_instance_id("i-0123456789abcdef0"));
        assert!(valid_instance_id("mi-0123456789abcdef0"));
        assert!(!valid_instance_id("i-xyz"));
        assert!(!valid_instance_id("0123456789"));
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelCommandRequest {
    command_id: String,
    instance_ids: Option<Vec<String>>,
}

/// Every invocation has already finished, so there is nothing to stop; AWS
/// accepts the request all the same.
pub fn cancel_command(_ctx: &Context, input: CancelCommandRequest) -> Result<Empty, AwsError> {
    let c = command(&input.command_id)?;
    let mut seen = std::collections::BTreeSet::new();
    for id in input.instance_ids.iter().flatten() {
        if !valid_instance_id(id) || !c.instance_ids.contains(id) {
            return Err(AwsError::new(
                "InvalidInstanceId",
                format!("The instance ID {id} is not part of the command."),
            ));
        }
        if !seen.insert(id) {
            return Err(AwsError::new(
                "DuplicateInstanceId",
                format!("The instance ID {id} appears more than once."),
            ));
        }
    }
    Ok(Empty {})
}
