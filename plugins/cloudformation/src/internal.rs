//! Resource types the engine provides itself (no plugin owns them): custom
//! resources, wait conditions and their handles, `AWS::CDK::Metadata`.
//!
//! A custom resource is a request sent to a Lambda function or an SNS
//! topic (the `ServiceToken`) with a `ResponseURL` on the gateway; the
//! handler answers IN_PROGRESS until the response arrives (a PUT on that
//! URL, which notifies [`PROGRESS_TOPIC`] so the deployment wakes at once).
//! A wait condition counts the signals PUT on its handle's URL the same way.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest};
use ministack_sdk::services::{self, Target};
use ministack_sdk::tasks;
use ministack_sdk::{HttpRequest, HttpResponse, RawRoute};
use serde_json::{Map, Value, json};

/// What deployments wait on while a resource of theirs waits for an answer.
pub const PROGRESS_TOPIC: &str = "cloudformation:progress";

/// Prefix of the URLs the gateway serves for responses and signals.
pub const PATH_PREFIX: &str = "/_ministack/cloudformation/";

/// Custom resource responses by token (a token is a secret like a
/// presigned URL's signature; the request may come unsigned, in any account).
const RESPONSES: Table<CustomResponse> = Table::global("custom-responses");
/// Wait condition signals: `<handle token>/<unique id>` → signal.
const SIGNALS: Table<Signal> = Table::global("wait-signals");

/// AWS's default time to wait for a custom resource (one hour).
const CUSTOM_TIMEOUT_SECS: f64 = 3600.0;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResponse {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub data: Option<Map<String, Value>>,
    #[serde(default)]
    pub no_echo: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Signal {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub unique_id: String,
    #[serde(default)]
    pub data: Option<String>,
}

pub fn custom(type_name: &str) -> bool {
    type_name.starts_with("Custom::") || type_name == "AWS::CloudFormation::CustomResource"
}

pub fn provides(type_name: &str) -> bool {
    custom(type_name)
        || matches!(
            type_name,
            "AWS::CloudFormation::WaitConditionHandle"
                | "AWS::CloudFormation::WaitCondition"
                | "AWS::CDK::Metadata"
        )
        || crate::nested::provides(type_name)
}

pub fn raw_routes() -> Vec<RawRoute> {
    vec![RawRoute {
        host_suffix: String::new(),
        path_prefix: PATH_PREFIX.to_string(),
    }]
}

/// The stack id in a request's client token (`<stack id>/<logical id>/<nonce>`).
pub fn stack_id_of(req: &ResourceRequest) -> String {
    req.client_token
        .rsplitn(3, '/')
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// Runs one round of an engine-provided handler.
pub fn handle(
    ctx: &Context,
    operation: &str,
    req: &ResourceRequest,
) -> Result<ProgressEvent, AwsError> {
    let t = req.type_name.as_str();
    if custom(t) {
        return custom_resource(ctx, operation, req);
    }
    if crate::nested::provides(t) {
        return crate::nested::handle(ctx, operation, req);
    }
    match (t, operation) {
        ("AWS::CloudFormation::WaitConditionHandle", resources::CREATE_OPERATION) => {
            // Ref of a handle is its presigned URL, where signals are PUT.
            let token = ministack_sdk::ids::uuid();
            Ok(ProgressEvent::success(format!(
                "{}{PATH_PREFIX}signal/{token}",
                ctx.endpoint.trim_end_matches('/')
            )))
        }
        ("AWS::CloudFormation::WaitCondition", resources::CREATE_OPERATION) => {
            wait_condition(ctx, req)
        }
        (_, resources::CREATE_OPERATION) => Ok(ProgressEvent::success(format!(
            "{}-{}",
            req.logical_id,
            ministack_sdk::ids::upper_alnum(12)
        ))
        .attr("Data", "{}")),
        (_, resources::DELETE_OPERATION) => {
            if t == "AWS::CloudFormation::WaitConditionHandle"
                && let Some(token) = handle_token(&req.physical_id)
            {
                for (key, _) in SIGNALS.scan(&Scan::prefix(format!("{token}/")))? {
                    SIGNALS.delete(&key);
                }
            }
            Ok(ProgressEvent::success(req.physical_id.clone()))
        }
        _ => {
            let mut e = ProgressEvent::success(req.physical_id.clone());
            e.attributes = Map::new();
            if t == "AWS::CloudFormation::WaitCondition" {
                return wait_condition(ctx, req);
            }
            Ok(e.attr("Data", "{}"))
        }
    }
}

use ministack_sdk::resources;

fn handle_token(url: &str) -> Option<&str> {
    url.split_once(&format!("{PATH_PREFIX}signal/"))
        .map(|(_, t)| t.split(['?', '/']).next().unwrap_or(t))
}

/// A wait condition completes once its handle has `Count` success
/// signals (or fails at the first failure signal, or after `Timeout`).
fn wait_condition(ctx: &Context, req: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let physical = if req.physical_id.is_empty() {
        ctx.arn(
            "cloudformation",
            &format!(
                "waitcondition/{}/{}",
                stack_id_of(req).rsplit('/').next().unwrap_or(""),
                req.logical_id
            ),
        )
        .to_string()
    } else {
        req.physical_id.clone()
    };
    let Some(handle) = req.str("Handle") else {
        // Without a handle (a CreationPolicy wait condition) it completes at once.
        return Ok(ProgressEvent::success(physical).attr("Data", "{}"));
    };
    let token = handle_token(handle)
        .ok_or_else(|| {
            AwsError::validation_error("WaitCondition Handle is not a wait condition handle URL")
        })?
        .to_string();
    let count = req
        .properties
        .get("Count")
        .map(resources::value_text)
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(1);
    let timeout: f64 = req
        .properties
        .get("Timeout")
        .map(resources::value_text)
        .and_then(|c| c.parse().ok())
        .unwrap_or(43200.0);
    let started = req
        .callback_context
        .as_ref()
        .and_then(|c| c["Started"].as_f64())
        .unwrap_or_else(ministack_sdk::time::now);
    let signals: Vec<Signal> = SIGNALS
        .scan(&Scan::prefix(format!("{token}/")))?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    if let Some(failed) = signals.iter().find(|s| s.status == "FAILURE") {
        return Ok(failed_event(
            "NotStabilized",
            format!(
                "WaitCondition received failed message: '{}' for uniqueId: {}",
                failed.reason.clone().unwrap_or_default(),
                failed.unique_id
            ),
        ));
    }
    let successes: Vec<&Signal> = signals.iter().filter(|s| s.status == "SUCCESS").collect();
    if successes.len() >= count {
        let data: Map<String, Value> = successes
            .iter()
            .map(|s| {
                (
                    s.unique_id.clone(),
                    json!(s.data.clone().unwrap_or_default()),
                )
            })
            .collect();
        return Ok(ProgressEvent::success(physical).attr("Data", Value::Object(data).to_string()));
    }
    if ministack_sdk::time::now() - started > timeout {
        return Ok(failed_event(
            "NotStabilized",
            format!(
                "WaitCondition timed out. Received {} conditions when expecting {count}",
                successes.len()
            ),
        ));
    }
    Ok(ProgressEvent::in_progress(
        physical,
        json!({"Started": started}),
        1000,
    ))
}

fn failed_event(code: &str, message: String) -> ProgressEvent {
    ProgressEvent {
        status: "FAILED".to_string(),
        error_code: code.to_string(),
        message,
        ..Default::default()
    }
}

/// Sends the request (first round) or looks for the response (later rounds).
fn custom_resource(
    ctx: &Context,
    operation: &str,
    req: &ResourceRequest,
) -> Result<ProgressEvent, AwsError> {
    if let Some(state) = &req.callback_context {
        let token = state["Token"].as_str().unwrap_or_default().to_string();
        let deadline = state["Deadline"].as_f64().unwrap_or(0.0);
        let request_type = state["RequestType"].as_str().unwrap_or_default();
        let Some(response) = RESPONSES.get(&token)? else {
            if ministack_sdk::time::now() > deadline {
                return Ok(failed_event(
                    "NotStabilized",
                    "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [".to_string()
                        + state["RequestId"].as_str().unwrap_or_default()
                        + "]. If you are using the Python cfn-response module, you may need to update your Lambda function code so that CloudFormation can attach the updated version.",
                ));
            }
            return Ok(ProgressEvent::in_progress(
                req.physical_id.clone(),
                state.clone(),
                1000,
            ));
        };
        RESPONSES.delete(&token);
        if response.status != "SUCCESS" {
            return Ok(failed_event(
                "GeneralServiceException",
                format!(
                    "Received response status [FAILED] from custom resource. Message returned: {}",
                    response
                        .reason
                        .unwrap_or_else(|| "See the details in CloudWatch Log Stream".to_string())
                ),
            ));
        }
        let physical = response
            .physical_resource_id
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| {
                if req.physical_id.is_empty() || request_type == "Create" {
                    format!("{}-{}", req.logical_id, ministack_sdk::ids::upper_alnum(12))
                } else {
                    req.physical_id.clone()
                }
            });
        let mut event = ProgressEvent::success(physical);
        for (k, v) in response.data.unwrap_or_default() {
            let v = match v {
                Value::String(_) => v,
                other => json!(crate::template::text(&other)),
            };
            event.attributes.insert(k, v);
        }
        return Ok(event);
    }
    let request_type = match operation {
        resources::CREATE_OPERATION => "Create",
        resources::UPDATE_OPERATION => "Update",
        resources::DELETE_OPERATION => "Delete",
        _ => return Ok(ProgressEvent::success(req.physical_id.clone())),
    };
    let service_token = req.str("ServiceToken").ok_or_else(|| {
        AwsError::validation_error(format!(
            "Property validation failure: [The property ServiceToken of {} is required]",
            req.type_name
        ))
    })?;
    let token = ministack_sdk::ids::uuid();
    let request_id = ministack_sdk::ids::uuid();
    let stack_id = stack_id_of(req);
    let response_url = format!(
        "{}{PATH_PREFIX}response/{token}",
        ctx.endpoint.trim_end_matches('/')
    );
    let mut body = json!({
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": req.logical_id,
        "ResourceType": req.type_name,
        "ResourceProperties": req.properties,
    });
    if request_type != "Create" {
        body["PhysicalResourceId"] = json!(req.physical_id);
    }
    if request_type == "Update" {
        body["OldResourceProperties"] = json!(req.previous_properties);
    }
    let timeout = req
        .properties
        .get("ServiceTimeout")
        .map(resources::value_text)
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(CUSTOM_TIMEOUT_SECS);
    let arn = ministack_sdk::arn::Arn::parse(service_token).ok_or_else(|| {
        AwsError::validation_error(format!("Invalid ServiceToken: {service_token}"))
    })?;
    let target = Target::at(&arn.service, &arn.account, &arn.region);
    let body_text = body.to_string();
    let sent = match arn.service.as_str() {
        "lambda" => services::call::<Value, Value>(
            &target,
            "Invoke",
            &json!({
                "FunctionName": service_token,
                "InvocationType": "Event",
                "Payload": ministack_sdk::encoding::base64_encode(body_text.as_bytes()),
            }),
        ),
        "sns" => services::call::<Value, Value>(
            &target,
            "Publish",
            &json!({"TopicArn": service_token, "Message": body_text}),
        ),
        other => {
            return Err(AwsError::validation_error(format!(
                "Invalid ServiceToken: {other} is not a custom resource provider (use a Lambda function or an SNS topic ARN)"
            )));
        }
    };
    if let Err(e) = sent {
        if request_type == "Delete" && e.code.contains("NotFound") {
            // The provider is gone: nothing can answer; the resource is deleted.
            return Ok(ProgressEvent::success(req.physical_id.clone()));
        }
        return Err(e);
    }
    Ok(ProgressEvent::in_progress(
        req.physical_id.clone(),
        json!({
            "Token": token,
            "RequestId": request_id,
            "RequestType": request_type,
            "Deadline": ministack_sdk::time::now() + timeout,
        }),
        1000,
    ))
}

/// PUT `<prefix>response/<token>` (a custom resource's answer) and PUT
/// `<prefix>signal/<token>` (a wait condition signal).
pub fn serve_http(_ctx: &Context, req: HttpRequest) -> HttpResponse {
    let rest = req.path.strip_prefix(PATH_PREFIX).unwrap_or_default();
    let (kind, token) = rest.split_once('/').unwrap_or((rest, ""));
    if token.is_empty() || token.contains('/') {
        return HttpResponse::not_found();
    }
    if req.method != "PUT" && req.method != "POST" {
        return HttpResponse::new(405, "text/plain", "use PUT");
    }
    let result = match kind {
        "response" => serde_json::from_slice::<CustomResponse>(&req.body)
            .map_err(|e| format!("the response is not JSON of the custom resource response shape: {e}"))
            .and_then(|r| {
                if r.status != "SUCCESS" && r.status != "FAILED" {
                    return Err("Status must be SUCCESS or FAILED".to_string());
                }
                RESPONSES.put(token, &r).map_err(|e| e.message)
            }),
        "signal" => serde_json::from_slice::<Signal>(&req.body)
            .map_err(|e| format!("the signal is not JSON ({{\"Status\", \"Reason\", \"UniqueId\", \"Data\"}}): {e}"))
            .and_then(|mut s| {
                if s.status != "SUCCESS" && s.status != "FAILURE" {
                    return Err("Status must be SUCCESS or FAILURE".to_string());
                }
                if s.unique_id.is_empty() {
                    s.unique_id = ministack_sdk::ids::uuid();
                }
                SIGNALS.put(&format!("{token}/{}", s.unique_id), &s).map_err(|e| e.message)
            }),
        _ => return HttpResponse::not_found(),
    };
    match result {
        Ok(()) => {
            tasks::notify(PROGRESS_TOPIC);
            HttpResponse::new(200, "text/plain", "")
        }
        Err(e) => HttpResponse::new(400, "text/plain", e),
    }
}

fn resource_signal_prefix(stack_id: &str, logical: &str) -> String {
    format!("stack:{stack_id}/{logical}/")
}

/// SignalResource: a signal for a resource with a `CreationPolicy`.
pub fn signal_resource(
    _: &Context,
    input: crate::shapes::SignalResourceInput,
) -> Result<Value, AwsError> {
    let stack = crate::stacks::require(&input.stack_name)?;
    let Some(r) = stack.resources.get(&input.logical_resource_id) else {
        return Err(AwsError::validation_error(format!(
            "Resource {} does not exist for stack {}",
            input.logical_resource_id, stack.stack_name
        )));
    };
    if !r.status.ends_with("_IN_PROGRESS") {
        return Err(AwsError::validation_error(format!(
            "Resource {} is in {} state and can not be signaled",
            input.logical_resource_id, r.status
        )));
    }
    let status = input.status.as_str().to_string();
    let key = format!(
        "{}{}",
        resource_signal_prefix(&stack.stack_id, &input.logical_resource_id),
        input.unique_id
    );
    SIGNALS.put(
        &key,
        &Signal {
            status,
            reason: None,
            unique_id: input.unique_id,
            data: None,
        },
    )?;
    tasks::notify(PROGRESS_TOPIC);
    Ok(json!({}))
}

/// Seconds of an ISO 8601 duration such as `PT15M` (AWS's CreationPolicy timeout).
fn iso_seconds(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT")?;
    let (mut total, mut num) = (0.0, String::new());
    for c in rest.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

/// The signals a `CreationPolicy` asks for: (count, timeout in seconds).
pub fn creation_policy(def: &Value) -> Option<(usize, f64)> {
    let signal = def.get("CreationPolicy")?.get("ResourceSignal")?;
    let count = signal
        .get("Count")
        .map(resources::value_text)
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let timeout = signal
        .get("Timeout")
        .map(resources::value_text)
        .and_then(|t| iso_seconds(&t))
        .unwrap_or(300.0);
    Some((count, timeout))
}

/// Waits until every resource of `waiting` (logical id, count, timeout) has
/// its signals; Err(reason) per resource that got a failure or timed out.
pub fn await_signals(stack_id: &str, waiting: &[(String, usize, f64)]) -> Vec<Result<(), String>> {
    let started = ministack_sdk::time::now();
    let mut results: Vec<Option<Result<(), String>>> = waiting.iter().map(|_| None).collect();
    loop {
        for (i, (logical, count, timeout)) in waiting.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let signals: Vec<Signal> = SIGNALS
                .scan(&Scan::prefix(resource_signal_prefix(stack_id, logical)))
                .unwrap_or_default()
                .into_iter()
                .map(|(_, s)| s)
                .collect();
            if let Some(f) = signals.iter().find(|s| s.status == "FAILURE") {
                results[i] = Some(Err(format!(
                    "Received FAILURE signal with UniqueId {}",
                    f.unique_id
                )));
            } else if signals.len() >= *count {
                results[i] = Some(Ok(()));
            } else if ministack_sdk::time::now() - started > *timeout {
                results[i] = Some(Err(format!(
                    "Failed to receive {count} resource signal(s) within the specified duration"
                )));
            }
        }
        if results.iter().all(Option::is_some) {
            break;
        }
        tasks::wait(PROGRESS_TOPIC, std::time::Duration::from_millis(1000));
    }
    results.into_iter().map(Option::unwrap).collect()
}
