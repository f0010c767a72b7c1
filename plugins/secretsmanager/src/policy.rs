//! Resource policies: Put/Get/Delete and ValidateResourcePolicy.

use ministack_sdk::prelude::*;
use serde_json::Value;

use crate::secrets::{ArnName, SecretIdRequest};
use crate::shapes::*;

fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::new("MalformedPolicyDocumentException", message)
}

/// Parses a policy: a JSON object with a Statement.
pub fn parse_policy(text: &str) -> Result<Value, AwsError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|_| malformed("This resource policy contains a syntax error."))?;
    if !doc.is_object() {
        return Err(malformed("This resource policy contains a syntax error."));
    }
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => {
            return Err(malformed(
                "This resource policy contains an unsupported element: Statement is missing.",
            ));
        }
    };
    for s in &statements {
        match s["Effect"].as_str() {
            Some("Allow") | Some("Deny") => {}
            _ => {
                return Err(malformed(
                    "This resource policy contains a statement with an invalid Effect.",
                ));
            }
        }
        if s.get("Action").is_none() && s.get("NotAction").is_none() {
            return Err(malformed(
                "This resource policy contains a statement without an Action.",
            ));
        }
    }
    Ok(doc)
}

/// True when an Allow statement grants to everyone (`"*"` or `{"AWS": "*"}`).
pub fn is_public(doc: &Value) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s => vec![s.clone()],
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && match &s["Principal"] {
                Value::String(p) => p == "*",
                Value::Object(m) => m.values().any(|v| match v {
                    Value::String(p) => p == "*",
                    Value::Array(a) => a.iter().any(|p| p == "*"),
                    _ => false,
                }),
                _ => false,
            }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyRequest {
    secret_id: String,
    resource_policy: String,
    block_public_policy: Option<bool>,
}

pub fn put_resource_policy(
    ctx: &Context,
    input: PutResourcePolicyRequest,
) -> Result<ArnName, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    let doc = parse_policy(&input.resource_policy)?;
    if input.block_public_policy.unwrap_or(false) && is_public(&doc) {
        return Err(AwsError::new(
            "PublicPolicyException",
            "You can't attach a resource-based policy that allows broad access to the secret.",
        ));
    }
    secret.policy = Some(input.resource_policy);
    save(ctx, &secret)?;
    Ok(ArnName::from(&secret))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyResponse {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy: Option<String>,
}

pub fn get_resource_policy(
    ctx: &Context,
    input: SecretIdRequest,
) -> Result<GetResourcePolicyResponse, AwsError> {
    let secret = find(ctx, &input.secret_id)?;
    Ok(GetResourcePolicyResponse {
        arn: secret.arn,
        name: secret.name,
        resource_policy: secret.policy,
    })
}

pub fn delete_resource_policy(ctx: &Context, input: SecretIdRequest) -> Result<ArnName, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    secret.policy = None;
    save(ctx, &secret)?;
    Ok(ArnName::from(&secret))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyRequest {
    secret_id: Option<String>,
    resource_policy: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationError {
    check_name: String,
    error_message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyResponse {
    policy_validation_passed: bool,
    validation_errors: Vec<ValidationError>,
}

pub fn validate_resource_policy(
    ctx: &Context,
    input: ValidateResourcePolicyRequest,
) -> Result<ValidateResourcePolicyResponse, AwsError> {
    if let Some(id) = &input.secret_id {
        find(ctx, id)?;
    }
    let doc = parse_policy(&input.resource_policy)?;
    let mut errors = Vec::new();
    if is_public(&doc) {
        errors.push(ValidationError {
            check_name: "BROAD_ACCESS_CHECK".to_string(),
            error_message: "The resource policy grants access to all principals (\"*\")."
                .to_string(),
        });
    }
    Ok(ValidateResourcePolicyResponse {
        policy_validation_passed: errors.is_empty(),
        validation_errors: errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_public_ones_are_found() {
        assert!(parse_policy("{").is_err());
        assert!(parse_policy(r#"{"Statement":[{"Effect":"Maybe","Action":"*"}]}"#).is_err());
        let public = parse_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
        )
        .unwrap();
        assert!(is_public(&public));
        let private = parse_policy(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}}"#,
        )
        .unwrap();
        assert!(!is_public(&private));
    }
}
