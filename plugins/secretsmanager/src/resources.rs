//! CloudFormation / Cloud Control resource types of Secrets Manager (see
//! docs/resources.md): AWS::SecretsManager::Secret (with
//! GenerateSecretString) and AWS::SecretsManager::ResourcePolicy, made with
//! the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::SecretsManager;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::SecretsManager::Secret", secret_create, secret_delete)
            .primary_identifier(&["Id"])
            .create_only(&["Name"])
            .attributes(&["Id"])
            .update(secret_update),
        ResourceType::new(
            "AWS::SecretsManager::ResourcePolicy",
            policy_create,
            policy_delete,
        )
        .primary_identifier(&["Id"])
        .required(&["SecretId", "ResourcePolicy"])
        .create_only(&["SecretId"])
        .update(policy_create),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<SecretsManager>(ctx, op, &input)
}

/// The secret's value: `SecretString`, or one made by `GenerateSecretString`.
fn secret_string(ctx: &Context, p: &Map<String, Value>) -> Result<Option<String>, AwsError> {
    if let Some(s) = p.get("SecretString") {
        return Ok(Some(value_text(s)));
    }
    let Some(g) = p.get("GenerateSecretString") else {
        return Ok(None);
    };
    let mut input = json!({});
    for k in [
        "ExcludeCharacters",
        "PasswordLength",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "ExcludeLowercase",
        "IncludeSpace",
        "RequireEachIncludedType",
    ] {
        if let Some(v) = g.get(k) {
            input[k] = match k {
                "ExcludeCharacters" => json!(value_text(v)),
                "PasswordLength" => json!(value_text(v).parse::<i64>().unwrap_or(32)),
                _ => json!(value_text(v) == "true"),
            };
        }
    }
    let out = call(ctx, "GetRandomPassword", input)?;
    let password = value_text(&out["RandomPassword"]);
    match (g.get("SecretStringTemplate"), g.get("GenerateStringKey")) {
        (Some(t), Some(key)) => {
            let mut obj: Value = serde_json::from_str(&value_text(t))
                .map_err(|_| AwsError::validation("SecretStringTemplate must be a JSON object"))?;
            obj[value_text(key)] = json!(password);
            Ok(Some(obj.to_string()))
        }
        _ => Ok(Some(password)),
    }
}

fn secret_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r
        .str("Name")
        .map(str::to_string)
        .unwrap_or_else(|| r.generated_name(512));
    let mut input = json!({"Name": name});
    for k in ["Description", "KmsKeyId"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    if let Some(s) = secret_string(ctx, p)? {
        input["SecretString"] = json!(s);
    }
    let t: Vec<Value> = tags(p)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    let out = call(ctx, "CreateSecret", input)?;
    let arn = value_text(&out["ARN"]);
    Ok(ProgressEvent::success(arn.clone()).attr("Id", arn))
}

fn secret_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev) = (&r.properties, &r.previous_properties);
    let mut input = json!({"SecretId": r.physical_id});
    for k in ["Description", "KmsKeyId"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let value_changed = p.get("SecretString") != prev.get("SecretString")
        || p.get("GenerateSecretString") != prev.get("GenerateSecretString");
    if value_changed && let Some(s) = secret_string(ctx, p)? {
        input["SecretString"] = json!(s);
    }
    call(ctx, "UpdateSecret", input)?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Id", r.physical_id.clone()))
}

fn secret_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteSecret",
        json!({"SecretId": r.physical_id, "ForceDeleteWithoutRecovery": true}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn policy_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let id = r.required_str("SecretId")?.to_string();
    let policy = match &r.properties["ResourcePolicy"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut input = json!({"SecretId": id, "ResourcePolicy": policy});
    if let Some(b) = r.properties.get("BlockPublicPolicy") {
        input["BlockPublicPolicy"] = json!(value_text(b) == "true");
    }
    call(ctx, "PutResourcePolicy", input)?;
    Ok(ProgressEvent::success(id))
}

fn policy_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteResourcePolicy",
        json!({"SecretId": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
