//! Resource policies of functions: AddPermission, RemovePermission, GetPolicy.

use ministack_sdk::ids;
use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

/// `123456789012` becomes `arn:aws:iam::123456789012:root`, as AWS writes it.
pub fn aws_principal(ctx: &Context, p: &str) -> String {
    if ids::is_account_id(p) {
        format!("arn:{}:iam::{p}:root", ctx.partition())
    } else {
        p.to_string()
    }
}

/// The policy statement AddPermission writes.
pub fn statement(ctx: &Context, resource: &str, input: &Value) -> Value {
    let principal = input["Principal"].as_str().unwrap_or_default();
    let principal = if principal == "*" {
        json!("*")
    } else if principal.ends_with(".amazonaws.com") || principal.ends_with(".amazonaws.com.cn") {
        json!({"Service": principal})
    } else {
        json!({"AWS": aws_principal(ctx, principal)})
    };
    let mut action = input["Action"].as_str().unwrap_or_default().to_string();
    if !action.contains(':') && action != "*" {
        action = format!("lambda:{action}");
    }
    let mut st = json!({
        "Sid": input["StatementId"],
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    });
    let mut cond = serde_json::Map::new();
    let mut add = |op: &str, key: &str, v: &Value| {
        let entry = cond.entry(op.to_string()).or_insert_with(|| json!({}));
        entry[key] = v.clone();
    };
    if input["SourceAccount"].is_string() {
        add("StringEquals", "AWS:SourceAccount", &input["SourceAccount"]);
    }
    if input["PrincipalOrgID"].is_string() {
        add(
            "StringEquals",
            "aws:PrincipalOrgID",
            &input["PrincipalOrgID"],
        );
    }
    if input["EventSourceToken"].is_string() {
        add(
            "StringEquals",
            "lambda:EventSourceToken",
            &input["EventSourceToken"],
        );
    }
    if input["FunctionUrlAuthType"].is_string() {
        add(
            "StringEquals",
            "lambda:FunctionUrlAuthType",
            &input["FunctionUrlAuthType"],
        );
    }
    if input["InvokedViaFunctionUrl"].as_bool() == Some(true) {
        add("Bool", "lambda:InvokedViaFunctionUrl", &json!("true"));
    }
    if input["SourceArn"].is_string() {
        add("ArnLike", "AWS:SourceArn", &input["SourceArn"]);
    }
    if !cond.is_empty() {
        st["Condition"] = Value::Object(cond);
    }
    st
}

fn target(
    ctx: &Context,
    function_name: &str,
    qualifier: Option<&str>,
) -> Result<(String, String, String), AwsError> {
    let r = function_ref(ctx, function_name, qualifier)?;
    let f = load_function(ctx, &r.name)?;
    check_qualifier(ctx, &f, &r.name, r.qualifier.as_deref())?;
    let q = r.qualifier.clone().unwrap_or_default();
    let resource = qualified_arn(&function_arn(ctx, &r.name), r.qualifier.as_deref());
    Ok((
        keys::join(&[&r.name, &q]),
        resource,
        f.config["RevisionId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ))
}

pub fn add_permission(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (key, resource, revision) = target(
        ctx,
        input["FunctionName"].as_str().unwrap_or_default(),
        input["Qualifier"].as_str(),
    )?;
    if let Some(r) = input["RevisionId"].as_str()
        && r != revision
    {
        return Err(precondition_failed());
    }
    let sid = input["StatementId"].as_str().unwrap_or_default();
    let mut statements = POLICIES.get(&key)?.unwrap_or_default();
    if statements.iter().any(|s| s["Sid"] == sid) {
        return Err(conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )));
    }
    let st = statement(ctx, &resource, &input);
    statements.push(st.clone());
    if json!({"Statement": statements}).to_string().len() > 20480 {
        return Err(AwsError::new(
            "PolicyLengthExceededException",
            "The final policy size (20481) is bigger than the limit (20480).",
        ));
    }
    POLICIES.put(&key, &statements)?;
    Ok(json!({"Statement": st.to_string()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyIn {
    function_name: String,
    #[serde(default)]
    qualifier: Option<String>,
}

pub fn get_policy(ctx: &Context, input: GetPolicyIn) -> Result<Value, AwsError> {
    let (key, _, revision) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    let statements = POLICIES.get(&key)?.unwrap_or_default();
    if statements.is_empty() {
        return Err(not_found("The resource you requested does not exist."));
    }
    let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": statements});
    Ok(json!({"Policy": doc.to_string(), "RevisionId": revision}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionIn {
    function_name: String,
    statement_id: String,
    #[serde(default)]
    qualifier: Option<String>,
    #[serde(default)]
    revision_id: Option<String>,
}

pub fn remove_permission(ctx: &Context, input: RemovePermissionIn) -> Result<Empty, AwsError> {
    let (key, _, revision) = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    if input.revision_id.as_deref().is_some_and(|r| r != revision) {
        return Err(precondition_failed());
    }
    let mut statements = POLICIES.get(&key)?.unwrap_or_default();
    let before = statements.len();
    statements.retain(|s| s["Sid"] != input.statement_id.as_str());
    if statements.len() == before {
        return Err(not_found(format!(
            "Statement {} is not found in resource policy.",
            input.statement_id
        )));
    }
    if statements.is_empty() {
        POLICIES.delete(&key);
    } else {
        POLICIES.put(&key, &statements)?;
    }
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_have_aws_shape() {
        let ctx = Context::for_test("000000000000", "us-east-1");
        let st = statement(
            &ctx,
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            &json!({"StatementId": "s3", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com",
                    "SourceArn": "arn:aws:s3:::b", "SourceAccount": "000000000000"}),
        );
        assert_eq!(st["Principal"], json!({"Service": "s3.amazonaws.com"}));
        assert_eq!(
            st["Condition"]["ArnLike"]["AWS:SourceArn"],
            "arn:aws:s3:::b"
        );
        assert_eq!(
            st["Condition"]["StringEquals"]["AWS:SourceAccount"],
            "000000000000"
        );
        let st = statement(
            &ctx,
            "r",
            &json!({"StatementId": "x", "Action": "InvokeFunction", "Principal": "111122223333"}),
        );
        assert_eq!(st["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
        assert_eq!(st["Action"], "lambda:InvokeFunction");
    }
}
