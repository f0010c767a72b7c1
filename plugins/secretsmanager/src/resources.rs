//! CloudFormation / Cloud Control resource types of Secrets Manager (see
//! docs/resources.md): AWS::SecretsManager::Secret (with
//! GenerateSecretString), AWS::SecretsManager::ResourcePolicy,
//! AWS::SecretsManager::RotationSchedule and
//! AWS::SecretsManager::SecretTargetAttachment, made with the plugin's own
//! operations.

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
        ResourceType::new(
            "AWS::SecretsManager::RotationSchedule",
            rotation_create,
            rotation_delete,
        )
        .primary_identifier(&["Id"])
        .required(&["SecretId"])
        .create_only(&["SecretId"])
        .update(rotation_update),
        ResourceType::new(
            "AWS::SecretsManager::SecretTargetAttachment",
            attachment_create,
            attachment_delete,
        )
        .primary_identifier(&["Id"])
        .required(&["SecretId", "TargetId", "TargetType"])
        .create_only(&["SecretId"])
        .update(attachment_create),
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
    let name = r.name_or_generated("Name", 512);
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

fn secret_arn(ctx: &Context, id: &str) -> Result<String, AwsError> {
    let out = call(ctx, "DescribeSecret", json!({"SecretId": id}))?;
    Ok(value_text(&out["ARN"]))
}

/// `RotateSecret` from the schedule's properties; `immediately` only when
/// the template asks (`RotateImmediatelyOnUpdate`, default true).
fn rotate(ctx: &Context, r: &ResourceRequest) -> Result<String, AwsError> {
    let p = &r.properties;
    if p.contains_key("HostedRotationLambda") {
        return Err(AwsError::validation(
            "HostedRotationLambda is not supported here (it needs the Serverless Application Repository): give RotationLambdaARN",
        ));
    }
    let id = r.required_str("SecretId")?;
    let mut input = json!({
        "SecretId": id,
        "RotateImmediately": p.get("RotateImmediatelyOnUpdate").is_none_or(|v| value_text(v) == "true"),
    });
    if let Some(arn) = p.get("RotationLambdaARN") {
        input["RotationLambdaARN"] = json!(value_text(arn));
    }
    if let Some(rules) = p.get("RotationRules") {
        let mut out = json!({});
        if let Some(days) = rules.get("AutomaticallyAfterDays") {
            out["AutomaticallyAfterDays"] = json!(value_text(days).parse::<i64>().unwrap_or(30));
        }
        for k in ["Duration", "ScheduleExpression"] {
            if let Some(v) = rules.get(k) {
                out[k] = json!(value_text(v));
            }
        }
        input["RotationRules"] = out;
    }
    call(ctx, "RotateSecret", input)?;
    secret_arn(ctx, id)
}

fn rotation_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    Ok(ProgressEvent::success(rotate(ctx, r)?))
}

fn rotation_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    rotate(ctx, r)?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn rotation_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    // A secret deleted first took its rotation with it.
    let _ = call(
        ctx,
        "CancelRotateSecret",
        json!({"SecretId": r.physical_id}),
    );
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// Records the target's identifier in a JSON secret, as AWS does; the
/// database's host and port are not known (no RDS, Redshift or DocumentDB
/// plugin yet), so they are left as they are.
fn attachment_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let id = r.required_str("SecretId")?;
    let target = r.required_str("TargetId")?;
    let key = match r.required_str("TargetType")? {
        "AWS::RDS::DBInstance" | "AWS::DocDB::DBInstance" => "dbInstanceIdentifier",
        "AWS::RDS::DBCluster"
        | "AWS::DocDB::DBCluster"
        | "AWS::Redshift::Cluster"
        | "AWS::RedshiftServerless::Namespace" => "dbClusterIdentifier",
        other => {
            return Err(AwsError::validation(format!(
                "Property validation failure: [TargetType {other} is not one of AWS::RDS::DBInstance, AWS::RDS::DBCluster, AWS::Redshift::Cluster, AWS::RedshiftServerless::Namespace, AWS::DocDB::DBInstance, AWS::DocDB::DBCluster]"
            )));
        }
    };
    let arn = secret_arn(ctx, id)?;
    let current = call(ctx, "GetSecretValue", json!({"SecretId": arn}))?;
    if let Ok(Value::Object(mut doc)) =
        serde_json::from_str::<Value>(current["SecretString"].as_str().unwrap_or_default())
        && doc.get(key).and_then(Value::as_str) != Some(target)
    {
        doc.insert(key.to_string(), json!(target));
        call(
            ctx,
            "PutSecretValue",
            json!({"SecretId": arn, "SecretString": Value::Object(doc).to_string()}),
        )?;
    }
    Ok(ProgressEvent::success(arn))
}

fn attachment_delete(_: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    // Detaching leaves the secret's value as it is (AWS does the same).
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
