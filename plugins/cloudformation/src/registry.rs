//! The type registry as far as this gateway has one: `ListTypes` and
//! `DescribeType` over the resource types the loaded plugins declare
//! (`ministack:resource-types`) and the engine's own; `DescribeAccountLimits`.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{self, ResourceSchema};
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::shapes::*;

/// Plugins asked for their types: the bundle's services (a plugin can not
/// list the others; a third-party plugin's types still deploy, they are
/// just not listed here).
const PLUGINS: &[&str] = &[
    "s3",
    "sqs",
    "sns",
    "dynamodb",
    "iam",
    "kms",
    "secretsmanager",
    "ssm",
    "lambda",
    "events",
    "scheduler",
    "pipes",
    "logs",
    "stepfunctions",
    "kinesis",
    "firehose",
    "cloudwatch",
    "ecr",
    "apigateway",
    "ec2",
    "route53",
    "acm",
    "cognito",
    "elasticache",
    "rds",
];

const ENGINE_TYPES: &[&str] = &[
    "AWS::CloudFormation::Stack",
    "AWS::CloudFormation::WaitCondition",
    "AWS::CloudFormation::WaitConditionHandle",
    "AWS::CloudFormation::CustomResource",
    "AWS::CDK::Metadata",
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypesOutput {
    #[serde(default)]
    types: Vec<ResourceSchema>,
}

fn all_types(ctx: &Context) -> Vec<ResourceSchema> {
    let mut out: Vec<ResourceSchema> = ENGINE_TYPES
        .iter()
        .map(|t| ResourceSchema {
            type_name: t.to_string(),
            updatable: true,
            ..Default::default()
        })
        .collect();
    for plugin in PLUGINS {
        let types =
            services::call_json(&Target::new(plugin, ctx), resources::TYPES_OPERATION, "{}")
                .ok()
                .and_then(|o| serde_json::from_str::<TypesOutput>(&o).ok())
                .map(|t| t.types)
                .unwrap_or_default();
        out.extend(types);
    }
    out.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    out.dedup_by(|a, b| a.type_name == b.type_name);
    out
}

fn type_arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:{}:cloudformation:{}::type/resource/{}",
        ctx.partition(),
        ctx.region,
        name.replace("::", "-")
    )
}

/// The schema document `DescribeType` returns (what the gateway knows).
fn schema_doc(s: &ResourceSchema) -> Value {
    let ptr = |v: &[String]| {
        v.iter()
            .map(|p| format!("/properties/{p}"))
            .collect::<Vec<_>>()
    };
    json!({
        "typeName": s.type_name,
        "description": format!("{} (provided by a ministack plugin)", s.type_name),
        "properties": {},
        "required": s.required,
        "primaryIdentifier": ptr(&s.primary_identifier),
        "createOnlyProperties": ptr(&s.create_only),
        "readOnlyProperties": ptr(&s.read_only).into_iter().chain(s.attributes.iter().map(|a| format!("/properties/{a}"))).collect::<Vec<_>>(),
        "handlers": {},
    })
}

pub fn list_types(ctx: &Context, input: ListTypesInput) -> Result<Value, AwsError> {
    let kind = input.r#type.as_ref().map(|t| t.as_str().to_string());
    if kind.as_deref().is_some_and(|k| k != "RESOURCE") {
        return Ok(json!({"TypeSummaries": []}));
    }
    let prefix = input
        .filters
        .as_ref()
        .and_then(|f| f.type_name_prefix.clone())
        .unwrap_or_default();
    let summaries: Vec<Value> = all_types(ctx)
        .iter()
        .filter(|s| s.type_name.starts_with(&prefix))
        .map(|s| {
            json!({
                "Type": "RESOURCE",
                "TypeName": s.type_name,
                "TypeArn": type_arn(ctx, &s.type_name),
                "DefaultVersionId": "00000001",
                "Description": format!("{} (provided by a ministack plugin)", s.type_name),
                "IsActivated": true,
            })
        })
        .collect();
    let start = match input.next_token.as_deref() {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| AwsError::validation_error("Invalid NextToken"))?,
        None => 0,
    };
    let max = input.max_results.map(|m| m.max(1) as usize).unwrap_or(100);
    let end = (start + max).min(summaries.len());
    let mut out = json!({"TypeSummaries": summaries.get(start..end).unwrap_or_default()});
    if end < summaries.len() {
        out["NextToken"] = json!(end.to_string());
    }
    Ok(out)
}

pub fn describe_type(ctx: &Context, input: DescribeTypeInput) -> Result<Value, AwsError> {
    let name = match (&input.type_name, &input.arn) {
        (Some(n), _) => n.clone(),
        (None, Some(arn)) => arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace('-', "::"),
        (None, None) => {
            return Err(AwsError::validation_error(
                "Either TypeName and Type, or Arn, must be specified",
            ));
        }
    };
    let Some(s) = all_types(ctx).into_iter().find(|s| s.type_name == name) else {
        return Err(AwsError::new(
            "TypeNotFoundException",
            format!("The type '{name}' cannot be found."),
        )
        .with_status(404));
    };
    Ok(json!({
        "Arn": type_arn(ctx, &name),
        "Type": "RESOURCE",
        "TypeName": name,
        "DefaultVersionId": "00000001",
        "IsDefaultVersion": true,
        "IsActivated": true,
        "Description": format!("{name} (provided by a ministack plugin)"),
        "Schema": schema_doc(&s).to_string(),
        "ProvisioningType": if s.updatable { "FULLY_MUTABLE" } else { "IMMUTABLE" },
        "DeprecatedStatus": "LIVE",
        "Visibility": "PUBLIC",
    }))
}

pub fn describe_account_limits(
    _: &Context,
    _: DescribeAccountLimitsInput,
) -> Result<Value, AwsError> {
    // AWS's default quotas (this gateway enforces none of them).
    Ok(json!({"AccountLimits": [
        {"Name": "StackLimit", "Value": 2000},
        {"Name": "StackOutputsLimit", "Value": 200},
        {"Name": "ConcurrentResourcesLimit", "Value": 2500},
    ]}))
}
