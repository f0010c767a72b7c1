//! RotateSecret and CancelRotateSecret.
//!
//! Rotation runs the rotation Lambda's four steps (createSecret, setSecret,
//! testSecret, finishSecret) through `services.call("lambda", "Invoke")`,
//! as Secrets Manager does; the function moves the staging labels itself
//! with PutSecretValue (AWSPENDING) and UpdateSecretVersionStage. When the
//! function does not exist RotateSecret answers `InvalidRequestException`
//! naming it, storing nothing. Without a lambda plugin (a local convenience)
//! the rotation configuration is recorded and no step runs.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, time};
use serde_json::{Value, json};

use crate::secrets::{ArnNameVersion, SecretIdRequest};
use crate::shapes::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateSecretRequest {
    secret_id: String,
    client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<Value>,
    rotate_immediately: Option<bool>,
}

fn check_rules(rules: &Value) -> Result<(), AwsError> {
    if let Some(days) = rules.get("AutomaticallyAfterDays") {
        let days = days.as_i64().unwrap_or(0);
        if !(1..=1000).contains(&days) {
            return Err(invalid_parameter(
                "AutomaticallyAfterDays must be between 1 and 1000.",
            ));
        }
    }
    if let Some(expr) = rules.get("ScheduleExpression").and_then(Value::as_str)
        && (!(expr.starts_with("rate(") || expr.starts_with("cron(")) || !expr.ends_with(')'))
    {
        return Err(invalid_parameter(format!(
            "Invalid ScheduleExpression: {expr}"
        )));
    }
    Ok(())
}

fn cannot_invoke(function: &str, why: &str) -> AwsError {
    invalid_request(format!(
        "Secrets Manager cannot invoke the specified Lambda function {function}: {why}"
    ))
}

/// Invokes one rotation step; a function error fails the rotation.
fn invoke_step(
    ctx: &Context,
    function: &str,
    step: &str,
    arn: &str,
    token: &str,
) -> Result<(), AwsError> {
    let payload = json!({"Step": step, "SecretId": arn, "ClientRequestToken": token});
    let out: Value = services::call(
        &Target::new("lambda", ctx),
        "Invoke",
        &json!({
            "FunctionName": function,
            "InvocationType": "RequestResponse",
            "Payload": encoding::base64_encode(payload.to_string().as_bytes()),
        }),
    )
    .map_err(|e| cannot_invoke(function, &e.message))?;
    if let Some(err) = out.get("FunctionError").and_then(Value::as_str) {
        return Err(invalid_request(format!(
            "The rotation Lambda function {function} failed at step {step}: {err}"
        )));
    }
    Ok(())
}

pub fn rotate_secret(
    ctx: &Context,
    input: RotateSecretRequest,
) -> Result<ArnNameVersion, AwsError> {
    let secret = find_writable(ctx, &input.secret_id)?;
    if let Some(rules) = &input.rotation_rules {
        check_rules(rules)?;
    }
    let token = request_token(input.client_request_token)?;
    let function = input
        .rotation_lambda_arn
        .clone()
        .or_else(|| secret.rotation_lambda_arn.clone())
        .ok_or_else(|| {
            invalid_request("No Lambda rotation function ARN is associated with this secret.")
        })?;
    if let Some(pending) = secret.version_with_stage(AWSPENDING)
        && pending.id != token
        && secret.version_with_stage(AWSCURRENT).map(|v| &v.id) != Some(&pending.id)
    {
        return Err(invalid_request(
            "A previous rotation isn't complete. That rotation will be reattempted.",
        ));
    }
    // The function must exist before anything is stored; with no lambda
    // plugin there is nothing to ask, so the configuration is only recorded.
    let lambda_loaded = match services::call::<Value, Value>(
        &Target::new("lambda", ctx),
        "GetFunction",
        &json!({"FunctionName": function}),
    ) {
        Ok(_) => true,
        Err(e) if e.code == "ServiceUnavailable" => false,
        Err(e) => return Err(cannot_invoke(&function, &e.message)),
    };

    let mut secret = find(ctx, &input.secret_id)?;
    secret.rotation_enabled = true;
    secret.rotation_lambda_arn = Some(function.clone());
    if let Some(rules) = input.rotation_rules {
        secret.rotation_rules = Some(rules);
    }
    secret.last_changed = time::now();
    save(ctx, &secret)?;

    let steps: &[&str] = if !lambda_loaded {
        &[]
    } else if input.rotate_immediately.unwrap_or(true) {
        &["createSecret", "setSecret", "testSecret", "finishSecret"]
    } else {
        &["testSecret"]
    };
    for step in steps {
        invoke_step(ctx, &function, step, &secret.arn, &token)?;
    }
    let mut secret = find(ctx, &input.secret_id)?;
    if steps.len() > 1 {
        secret.last_rotated = Some(time::now());
        save(ctx, &secret)?;
    }
    Ok(ArnNameVersion {
        arn: secret.arn,
        name: secret.name,
        version_id: Some(token),
    })
}

pub fn cancel_rotate_secret(
    ctx: &Context,
    input: SecretIdRequest,
) -> Result<ArnNameVersion, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    secret.rotation_enabled = false;
    secret.last_changed = time::now();
    save(ctx, &secret)?;
    Ok(ArnNameVersion {
        version_id: secret.version_with_stage(AWSPENDING).map(|v| v.id.clone()),
        arn: secret.arn,
        name: secret.name,
    })
}
