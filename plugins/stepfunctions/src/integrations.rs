//! Task resources: optimized integrations (`arn:aws:states:::lambda:invoke`,
//! `sqs:sendMessage`, `sns:publish`, `dynamodb:*Item`, `events:putEvents`,
//! `states:startExecution[.sync[:2]]`), Lambda function ARNs, and
//! `arn:aws:states:::aws-sdk:<service>:<action>` for every plugin of the
//! bundle, all through `services.call`. Errors are named as AWS names them:
//! `<Service>.<ErrorCode>` for aws-sdk tasks, `Lambda.<ErrorCode>` or the
//! function's `errorType` for Lambda.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{blobs, encoding, tasks};
use serde_json::{Value, json};

use crate::interp::StateError;

/// The plugin that serves an aws-sdk service name.
fn plugin_for(sdk_service: &str) -> String {
    match sdk_service {
        "sfn" => "stepfunctions",
        "eventbridge" => "events",
        "cloudwatchlogs" => "logs",
        "cloudwatchevents" => "events",
        "apigateway" => "apigateway",
        other => other,
    }
    .to_string()
}

/// The service part of an aws-sdk error name (`DynamoDb.ConditionalCheckFailedException`).
fn error_service(sdk_service: &str) -> String {
    match sdk_service {
        "dynamodb" => "DynamoDb".into(),
        "s3" => "S3".into(),
        "sqs" => "Sqs".into(),
        "sns" => "Sns".into(),
        "kms" => "Kms".into(),
        "sfn" => "Sfn".into(),
        "ssm" => "Ssm".into(),
        "sts" => "Sts".into(),
        "iam" => "Iam".into(),
        "secretsmanager" => "SecretsManager".into(),
        "eventbridge" => "EventBridge".into(),
        "cloudwatchlogs" => "CloudWatchLogs".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn pascal(action: &str) -> String {
    let mut c = action.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn sdk_error(service: &str, e: &AwsError) -> StateError {
    let code = if e.code.ends_with("Exception") {
        e.code.clone()
    } else {
        format!("{}Exception", e.code)
    };
    StateError::new(
        &format!("{}.{code}", error_service(service)),
        format!(
            "{} (Service: {}, Status Code: {}, Error Code: {})",
            e.message,
            service,
            e.status.unwrap_or(400),
            e.code
        ),
    )
}

fn as_text(v: &Value) -> Value {
    match v {
        Value::String(_) | Value::Null => v.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Plugins whose model names members in camelCase: task parameters and
/// results are PascalCase whatever the service, so keys are converted.
fn camel_case_model(plugin: &str) -> bool {
    matches!(
        plugin,
        "stepfunctions" | "logs" | "ecs" | "apigateway" | "cognito-idp" | "xray"
    )
}

fn convert_keys(v: &Value, upper: bool) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) if upper => f.to_uppercase().collect::<String>() + c.as_str(),
                        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                        None => String::new(),
                    };
                    (key, convert_keys(x, upper))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| convert_keys(x, upper)).collect()),
        other => other.clone(),
    }
}

fn call(ctx: &Context, plugin: &str, action: &str, input: &Value) -> Result<Value, AwsError> {
    let camel = camel_case_model(plugin);
    let input = if camel {
        convert_keys(input, false)
    } else {
        input.clone()
    };
    let out = services::call_json(&Target::new(plugin, ctx), action, &input.to_string())?;
    let out: Value = serde_json::from_str(&out).map_err(|e| AwsError::internal(e.to_string()))?;
    Ok(if camel { convert_keys(&out, true) } else { out })
}

/// Calls a task resource with its parameters.
pub fn invoke(ctx: &Context, resource: &str, params: &Value) -> Result<Value, StateError> {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function" {
        // A function ARN: its payload is the state's input, its result the output.
        let out = lambda_invoke(ctx, &json!({"FunctionName": resource, "Payload": params}))?;
        return Ok(out["Payload"].clone());
    }
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" {
        return Err(StateError::new(
            "States.Runtime",
            format!("Unsupported resource {resource}"),
        ));
    }
    let (service, action_full) = if parts[5] == "aws-sdk" {
        let service = parts[6];
        let action = parts.get(7).copied().unwrap_or_default();
        let plugin = plugin_for(service);
        let mut input = params.clone();
        encode_blobs(service, action, &mut input);
        return call(ctx, &plugin, &pascal(action), &input).map_err(|e| {
            if e.code == "ServiceUnavailable" || e.code == "NotImplemented" || e.code == "UnknownOperationException" {
                StateError::new("States.Runtime", format!("The service {service} action {action} is not available in this gateway: {}", e.message))
            } else {
                sdk_error(service, &e)
            }
        });
    } else {
        (parts[5], parts[6..].join(":"))
    };
    let (action, mode) = match action_full.split_once('.') {
        Some((a, m)) => (a.to_string(), m.to_string()),
        None => (action_full.clone(), String::new()),
    };
    let named =
        |e: AwsError| StateError::new(&format!("{}.{}", error_service(service), e.code), e.message);
    match (service, action.as_str()) {
        ("lambda", "invoke") => lambda_invoke(ctx, params),
        ("sqs", "sendMessage") => {
            let mut p = params.clone();
            if let Some(b) = p.get("MessageBody") {
                p["MessageBody"] = as_text(b);
            }
            call(ctx, "sqs", "SendMessage", &p).map_err(named)
        }
        ("sns", "publish") => {
            let mut p = params.clone();
            if let Some(b) = p.get("Message") {
                p["Message"] = as_text(b);
            }
            call(ctx, "sns", "Publish", &p).map_err(named)
        }
        ("events", "putEvents") => {
            let mut p = params.clone();
            if let Some(entries) = p.get_mut("Entries").and_then(Value::as_array_mut) {
                for e in entries {
                    if let Some(d) = e.get("Detail") {
                        e["Detail"] = as_text(d);
                    }
                }
            }
            let out = call(ctx, "events", "PutEvents", &p).map_err(named)?;
            if out
                .get("FailedEntryCount")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                > 0
            {
                return Err(StateError::new("EventBridge.FailedEntry", out.to_string()));
            }
            Ok(out)
        }
        ("states", "startExecution") => {
            let mut p = params.clone();
            if let Some(i) = p.get("Input") {
                p["Input"] = as_text(i);
            }
            let out = call(ctx, "stepfunctions", "StartExecution", &p)
                .map_err(|e| StateError::new(&format!("StepFunctions.{}", e.code), e.message))?;
            if mode.is_empty() {
                return Ok(out);
            }
            let arn = out["ExecutionArn"].as_str().unwrap_or_default().to_string();
            let topic = format!("execution:{arn}");
            loop {
                let seen = tasks::topic_generation("stepfunctions", &topic).unwrap_or(0);
                let d = call(
                    ctx,
                    "stepfunctions",
                    "DescribeExecution",
                    &json!({"ExecutionArn": arn}),
                )
                .map_err(|e| StateError::new("States.Runtime", e.message))?;
                match d["Status"].as_str().unwrap_or("") {
                    "RUNNING" => {
                        let _ =
                            tasks::wait_on("stepfunctions", &topic, seen, Duration::from_secs(5));
                    }
                    "SUCCEEDED" => {
                        let mut d = d;
                        if mode == "sync:2"
                            && let Some(o) = d.get("Output").and_then(Value::as_str)
                        {
                            d["Output"] = serde_json::from_str(o).unwrap_or(Value::Null);
                        }
                        return Ok(d);
                    }
                    status => {
                        return Err(StateError::new(
                            "States.TaskFailed",
                            format!("Execution {arn} ended {status}: {d}"),
                        ));
                    }
                }
            }
        }
        ("dynamodb", a @ ("getItem" | "putItem" | "updateItem" | "deleteItem")) => {
            call(ctx, "dynamodb", &pascal(a), params).map_err(|e| sdk_error("dynamodb", &e))
        }
        _ => {
            // Any other optimized name maps onto the service's own action.
            call(ctx, &plugin_for(service), &pascal(&action), params).map_err(named)
        }
    }
}

/// Members that are blobs in the target model but plain text in a task's
/// parameters (Step Functions encodes them).
fn encode_blobs(service: &str, action: &str, input: &mut Value) {
    let members: &[&str] = match (service, action) {
        ("kms", "encrypt" | "generateMac" | "sign" | "verify") => &["Plaintext", "Message"],
        ("lambda", "invoke") => &["Payload"],
        ("kinesis", "putRecord") => &["Data"],
        _ => &[],
    };
    for m in members {
        if let Some(v) = input.get(*m) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            input[*m] = Value::String(encoding::base64_encode(text.as_bytes()));
        }
    }
}

fn lambda_invoke(ctx: &Context, params: &Value) -> Result<Value, StateError> {
    let mut p = params.clone();
    let payload = match p.get("Payload") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "{}".into(),
    };
    p["Payload"] = Value::String(encoding::base64_encode(payload.as_bytes()));
    let mut out = call(ctx, "lambda", "Invoke", &p).map_err(|e| {
        StateError::new(
            &format!(
                "Lambda.{}",
                if e.code.ends_with("Exception") {
                    e.code.clone()
                } else {
                    format!("{}Exception", e.code)
                }
            ),
            e.message,
        )
    })?;
    let text = out
        .get("Payload")
        .and_then(Value::as_str)
        .and_then(encoding::base64_decode)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    if out.get("FunctionError").is_some() {
        let error = parsed
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("Lambda.Unknown")
            .to_string();
        return Err(StateError::new(&error, text));
    }
    out["Payload"] = parsed;
    Ok(out)
}

/// An S3 object's text (Distributed Map ItemReader).
pub fn read_s3(ctx: &Context, bucket: &str, key: &str) -> Result<String, StateError> {
    let out = call(
        ctx,
        "s3",
        "GetObject",
        &json!({"Bucket": bucket, "Key": key}),
    )
    .map_err(|e| {
        StateError::new(
            "States.ItemReaderFailed",
            format!("{}: {}", e.code, e.message),
        )
    })?;
    let body = out.get("Body").cloned().unwrap_or(Value::Null);
    let bytes = match &body {
        Value::String(s) => encoding::base64_decode(s).unwrap_or_else(|| s.as_bytes().to_vec()),
        Value::Object(o) => {
            // A blob the host hands across (`{"blob-id", "range"?}`).
            let id = o
                .get("blob-id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let (from, to) = match o.get("range").and_then(Value::as_array) {
                Some(r) if r.len() == 2 => (r[0].as_u64().unwrap_or(0), r[1].as_u64().unwrap_or(0)),
                _ => (0, blobs::stat(&id).map(|b| b.size).unwrap_or(0)),
            };
            let mut data = Vec::with_capacity((to - from.min(to)) as usize);
            let mut at = from;
            while at < to {
                let chunk = blobs::read(&id, at, ((to - at).min(1 << 20)) as u32)
                    .map_err(|e| StateError::new("States.ItemReaderFailed", e.message))?;
                if chunk.is_empty() {
                    break;
                }
                at += chunk.len() as u64;
                data.extend(chunk);
            }
            blobs::release(&id);
            data
        }
        _ => Vec::new(),
    };
    String::from_utf8(bytes)
        .map_err(|_| StateError::new("States.ItemReaderFailed", "The object is not UTF-8 text"))
}

/// Writes an object (Distributed Map ResultWriter).
pub fn write_s3(ctx: &Context, bucket: &str, key: &str, body: &[u8]) -> Result<(), StateError> {
    let input = json!({"Bucket": bucket, "Key": key, "Body": encoding::base64_encode(body), "ContentType": "application/json"});
    call(ctx, "s3", "PutObject", &input)
        .map(|_| ())
        .map_err(|e| {
            StateError::new(
                "States.ResultWriterFailed",
                format!("{}: {}", e.code, e.message),
            )
        })
}

/// Objects of an S3 listing (ItemReader `s3:listObjectsV2`), every page.
pub fn list_s3(ctx: &Context, params: &Value) -> Result<Vec<Value>, StateError> {
    let mut out = Vec::new();
    let mut p = params.clone();
    loop {
        let page = call(ctx, "s3", "ListObjectsV2", &p).map_err(|e| {
            StateError::new(
                "States.ItemReaderFailed",
                format!("{}: {}", e.code, e.message),
            )
        })?;
        if let Some(c) = page.get("Contents").and_then(Value::as_array) {
            out.extend(c.iter().cloned());
        }
        match page.get("NextContinuationToken").and_then(Value::as_str) {
            Some(t) if page.get("IsTruncated").and_then(Value::as_bool) == Some(true) => {
                p["ContinuationToken"] = json!(t)
            }
            _ => return Ok(out),
        }
    }
}
