//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. Policies are
//! stored and returned; they are checked to be JSON but not enforced.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::keys::{self, KEYS};

/// The policy KMS gives a key created without one.
pub fn default_policy(account: &str, partition: &str) -> String {
    let doc = json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*",
        }],
    });
    serde_json::to_string_pretty(&doc).expect("json")
}

/// A policy must be a JSON object with statements.
pub fn check(policy: &str) -> Result<(), AwsError> {
    let malformed = |why: &str| {
        AwsError::new(
            "MalformedPolicyDocumentException",
            format!(
                "The new key policy will not allow you to update the key policy in the future. ({why})"
            ),
        )
    };
    if policy.is_empty() || policy.len() > 32768 {
        return Err(malformed("length"));
    }
    let doc: Value = serde_json::from_str(policy).map_err(|_| malformed("not JSON"))?;
    let Some(obj) = doc.as_object() else {
        return Err(malformed("not a JSON object"));
    };
    if !obj.contains_key("Statement") {
        return Err(malformed("no Statement"));
    }
    Ok(())
}

fn check_name(name: Option<&str>) -> Result<(), AwsError> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(AwsError::new(
            "NotFoundException",
            format!("No such policy exists: {other}"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    key_id: String,
    policy_name: Option<String>,
}

pub fn get_key_policy(ctx: &Context, input: GetKeyPolicyRequest) -> Result<Value, AwsError> {
    let key = keys::find(ctx, &input.key_id)?;
    check_name(input.policy_name.as_deref())?;
    Ok(json!({"Policy": key.policy, "PolicyName": "default"}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
}

pub fn put_key_policy(ctx: &Context, input: PutKeyPolicyRequest) -> Result<Empty, AwsError> {
    let mut key = keys::find(ctx, &input.key_id)?;
    check_name(input.policy_name.as_deref())?;
    check(&input.policy)?;
    key.not_pending_deletion()?;
    key.policy = input.policy;
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesRequest {
    key_id: String,
    #[serde(flatten)]
    list: keys::ListRequest,
}

pub fn list_key_policies(ctx: &Context, input: ListKeyPoliciesRequest) -> Result<Value, AwsError> {
    keys::limit(input.list.limit)?;
    keys::find(ctx, &input.key_id)?;
    Ok(json!({"PolicyNames": ["default"], "Truncated": false}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert!(check(&default_policy("123456789012", "aws")).is_ok());
        assert_eq!(
            check("{nope").unwrap_err().code,
            "MalformedPolicyDocumentException"
        );
        assert!(check("[]").is_err());
    }
}
