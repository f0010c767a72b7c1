//! The SAM transform (`AWS::Serverless-2016-10-31`) for the common types:
//! `AWS::Serverless::Function` (code from `CodeUri`/`InlineCode`, a role
//! with managed policies, policy templates and statements, events from
//! SQS, Kinesis, DynamoDB, Schedule, SNS, EventBridge rules,
//! `AutoPublishAlias`), `SimpleTable`, `LayerVersion`, and `Globals`.
//! `Api`/`HttpApi` (and function events of those types) are refused
//! clearly: API Gateway is not part of this gateway yet.

use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::template::{format_error, text};

fn error(message: impl std::fmt::Display) -> AwsError {
    AwsError::validation_error(format!(
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. {message}"
    ))
}

const FUNCTION_PASS_THROUGH: &[&str] = &[
    "Handler",
    "Runtime",
    "MemorySize",
    "Timeout",
    "Description",
    "FunctionName",
    "Layers",
    "Architectures",
    "Environment",
    "KmsKeyArn",
    "ReservedConcurrentExecutions",
    "VpcConfig",
    "TracingConfig",
    "EphemeralStorage",
    "ImageConfig",
    "PackageType",
    "FileSystemConfigs",
    "LoggingConfig",
    "SnapStart",
    "RuntimeManagementConfig",
    "RecursiveLoop",
];

pub fn expand(tpl: Value) -> Result<Value, AwsError> {
    let Value::Object(mut tpl) = tpl else {
        return Err(format_error("JSON not well-formed."));
    };
    let globals = tpl
        .remove("Globals")
        .and_then(|g| g.as_object().cloned())
        .unwrap_or_default();
    for key in globals.keys() {
        if !["Function", "SimpleTable", "LayerVersion", "Api", "HttpApi"].contains(&key.as_str()) {
            return Err(error(format!(
                "'Globals' section is invalid. '{key}' is not a supported resource type in the Globals section."
            )));
        }
    }
    let resources = tpl
        .get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    for (logical, def) in &resources {
        let ty = def.get("Type").map(text).unwrap_or_default();
        match ty.as_str() {
            "AWS::Serverless::Function" => {
                let def = with_globals(def, globals.get("Function"));
                function(logical, &def, &mut out)?;
            }
            "AWS::Serverless::SimpleTable" => {
                let def = with_globals(def, globals.get("SimpleTable"));
                out.insert(logical.clone(), simple_table(&def)?);
            }
            "AWS::Serverless::LayerVersion" => {
                let def = with_globals(def, globals.get("LayerVersion"));
                out.insert(logical.clone(), layer(&def)?);
            }
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => {
                return Err(error(format!(
                    "Resource with id [{logical}] is invalid. {ty} needs API Gateway, which this gateway does not provide yet."
                )));
            }
            t if t.starts_with("AWS::Serverless::") => {
                return Err(error(format!(
                    "Resource with id [{logical}] is invalid. {t} is not supported by this gateway's SAM transform yet (Function, SimpleTable and LayerVersion are)."
                )));
            }
            _ => {
                out.insert(logical.clone(), def.clone());
            }
        }
    }
    tpl.insert("Resources".into(), Value::Object(out));
    Ok(Value::Object(tpl))
}

/// A resource's properties with the Globals section's as defaults
/// (`Environment.Variables` and `Tags` merged key by key).
fn with_globals(def: &Value, globals: Option<&Value>) -> Value {
    let mut def = def.clone();
    let Some(Value::Object(g)) = globals else {
        return def;
    };
    let props = def
        .as_object_mut()
        .unwrap()
        .entry("Properties")
        .or_insert_with(|| json!({}));
    let Some(props) = props.as_object_mut() else {
        return def;
    };
    for (k, v) in g {
        match (props.get_mut(k), v) {
            (None, _) => {
                props.insert(k.clone(), v.clone());
            }
            (Some(Value::Object(mine)), Value::Object(theirs))
                if k == "Environment" || k == "Tags" =>
            {
                for (gk, gv) in theirs {
                    match (mine.get_mut(gk), gv) {
                        (Some(Value::Object(m2)), Value::Object(t2)) => {
                            for (k3, v3) in t2 {
                                m2.entry(k3.clone()).or_insert_with(|| v3.clone());
                            }
                        }
                        (None, _) => {
                            mine.insert(gk.clone(), gv.clone());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    def
}

fn props(def: &Value) -> Map<String, Value> {
    def.get("Properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Copies `DependsOn`, `Condition`, `Metadata` and the policies.
fn carry(def: &Value, to: &mut Value) {
    for k in [
        "DependsOn",
        "Condition",
        "Metadata",
        "DeletionPolicy",
        "UpdateReplacePolicy",
    ] {
        if let Some(v) = def.get(k) {
            to[k] = v.clone();
        }
    }
}

/// `s3://bucket/key` or `{Bucket, Key, Version}` → S3Bucket/S3Key(/S3ObjectVersion).
fn s3_location(uri: &Value, what: &str, logical: &str) -> Result<Map<String, Value>, AwsError> {
    let mut m = Map::new();
    match uri {
        Value::String(s) => {
            let Some(rest) = s.strip_prefix("s3://") else {
                return Err(error(format!(
                    "Resource with id [{logical}] is invalid. '{what}' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter. Package the template first (sam package or aws cloudformation package) so local paths are uploaded to S3."
                )));
            };
            let (bucket, key) = rest.split_once('/').ok_or_else(|| {
                error(format!(
                    "Resource with id [{logical}] is invalid. '{what}' has no key"
                ))
            })?;
            let (key, version) = match key.split_once("?versionId=") {
                Some((k, v)) => (k, Some(v)),
                None => (key, None),
            };
            m.insert("S3Bucket".into(), json!(bucket));
            m.insert("S3Key".into(), json!(key));
            if let Some(v) = version {
                m.insert("S3ObjectVersion".into(), json!(v));
            }
        }
        Value::Object(o) => {
            m.insert(
                "S3Bucket".into(),
                o.get("Bucket").cloned().unwrap_or(Value::Null),
            );
            m.insert("S3Key".into(), o.get("Key").cloned().unwrap_or(Value::Null));
            if let Some(v) = o.get("Version") {
                m.insert("S3ObjectVersion".into(), v.clone());
            }
        }
        _ => {
            return Err(error(format!(
                "Resource with id [{logical}] is invalid. '{what}' must be a string or an object"
            )));
        }
    }
    Ok(m)
}

fn tags_list(tags: Option<&Value>) -> Option<Value> {
    let Some(Value::Object(m)) = tags else {
        return tags.cloned();
    };
    Some(Value::Array(
        m.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    ))
}

fn managed(name: &str) -> Value {
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:iam::aws:policy/{name}")})
}

fn function(logical: &str, def: &Value, out: &mut Map<String, Value>) -> Result<(), AwsError> {
    let p = props(def);
    let mut f = Map::new();
    for k in FUNCTION_PASS_THROUGH {
        if let Some(v) = p.get(*k) {
            f.insert((*k).to_string(), v.clone());
        }
    }
    if let Some(code) = p.get("InlineCode") {
        f.insert("Code".into(), json!({"ZipFile": code}));
    } else if let Some(uri) = p.get("CodeUri") {
        f.insert(
            "Code".into(),
            Value::Object(s3_location(uri, "CodeUri", logical)?),
        );
    } else if let Some(image) = p.get("ImageUri") {
        f.insert("Code".into(), json!({"ImageUri": image}));
        f.insert("PackageType".into(), json!("Image"));
    } else {
        return Err(error(format!(
            "Resource with id [{logical}] is invalid. Either 'InlineCode' or 'CodeUri' must be set."
        )));
    }
    let mut tags = tags_list(p.get("Tags")).unwrap_or_else(|| json!([]));
    if let Value::Array(a) = &mut tags {
        a.push(json!({"Key": "lambda:createdBy", "Value": "SAM"}));
    }
    f.insert("Tags".into(), tags);
    if let Some(dlq) = p.get("DeadLetterQueue") {
        f.insert(
            "DeadLetterConfig".into(),
            json!({"TargetArn": dlq.get("TargetArn").cloned().unwrap_or(Value::Null)}),
        );
    }
    if let Some(t) = p.get("Tracing") {
        f.insert("TracingConfig".into(), json!({"Mode": t}));
    }
    let events = p
        .get("Events")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // The role: the given one, or one made here.
    match p.get("Role") {
        Some(role) => {
            f.insert("Role".into(), role.clone());
        }
        None => {
            let role_id = format!("{logical}Role");
            out.insert(role_id.clone(), role(logical, &p, &events)?);
            f.insert("Role".into(), json!({"Fn::GetAtt": [role_id, "Arn"]}));
        }
    }
    let mut function = json!({"Type": "AWS::Lambda::Function", "Properties": f});
    carry(def, &mut function);
    out.insert(logical.to_string(), function);
    let fn_ref = json!({"Ref": logical});
    let fn_arn = json!({"Fn::GetAtt": [logical, "Arn"]});
    // AutoPublishAlias: a version and an alias on it (events go to the alias).
    let target_ref = match p.get("AutoPublishAlias").map(text) {
        Some(alias) if !alias.is_empty() => {
            let version_id = format!("{logical}Version");
            out.insert(
                version_id.clone(),
                json!({"Type": "AWS::Lambda::Version", "DeletionPolicy": "Retain",
                       "Properties": {"FunctionName": fn_ref}}),
            );
            let alias_id = format!("{logical}Alias{alias}");
            out.insert(
                alias_id.clone(),
                json!({"Type": "AWS::Lambda::Alias", "Properties": {
                    "Name": alias, "FunctionName": {"Ref": logical},
                    "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]}}}),
            );
            json!({"Ref": alias_id})
        }
        _ => fn_ref.clone(),
    };
    let target_arn = if target_ref == fn_ref {
        fn_arn.clone()
    } else {
        target_ref.clone()
    };
    for (name, event) in &events {
        let id = format!("{logical}{name}");
        let ty = event.get("Type").map(text).unwrap_or_default();
        let ep = event
            .get("Properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let copy = |m: &mut Map<String, Value>, keys: &[&str]| {
            for k in keys {
                if let Some(v) = ep.get(*k) {
                    m.insert((*k).to_string(), v.clone());
                }
            }
        };
        match ty.as_str() {
            "SQS" | "Kinesis" | "DynamoDB" => {
                let source = match ty.as_str() {
                    "SQS" => ep.get("Queue"),
                    _ => ep.get("Stream"),
                }
                .cloned()
                .ok_or_else(|| {
                    error(format!(
                        "Event with id [{name}] is invalid. Missing Queue/Stream."
                    ))
                })?;
                let mut m = Map::new();
                m.insert("EventSourceArn".into(), source);
                m.insert("FunctionName".into(), target_ref.clone());
                copy(
                    &mut m,
                    &[
                        "BatchSize",
                        "Enabled",
                        "MaximumBatchingWindowInSeconds",
                        "FilterCriteria",
                        "FunctionResponseTypes",
                        "StartingPosition",
                        "StartingPositionTimestamp",
                        "MaximumRetryAttempts",
                        "BisectBatchOnFunctionError",
                        "MaximumRecordAgeInSeconds",
                        "ParallelizationFactor",
                        "DestinationConfig",
                        "TumblingWindowInSeconds",
                        "ScalingConfig",
                    ],
                );
                let mut esm = json!({"Type": "AWS::Lambda::EventSourceMapping", "Properties": m});
                // The mapping polls with the role's permissions: after the role.
                let role_id = format!("{logical}Role");
                if out.contains_key(&role_id) {
                    esm["DependsOn"] = json!([role_id]);
                }
                out.insert(id, esm);
            }
            "Schedule" | "EventBridgeRule" | "CloudWatchEvent" => {
                let mut m = Map::new();
                if ty == "Schedule" {
                    m.insert(
                        "ScheduleExpression".into(),
                        ep.get("Schedule").cloned().unwrap_or(Value::Null),
                    );
                } else {
                    m.insert(
                        "EventPattern".into(),
                        ep.get("Pattern").cloned().unwrap_or(Value::Null),
                    );
                    copy(&mut m, &["EventBusName"]);
                }
                let enabled = match ep.get("Enabled").or(ep.get("State")) {
                    Some(Value::Bool(false)) => "DISABLED".to_string(),
                    Some(Value::String(s)) if s == "DISABLED" || s == "false" => {
                        "DISABLED".to_string()
                    }
                    _ => "ENABLED".to_string(),
                };
                m.insert("State".into(), json!(enabled));
                copy(&mut m, &["Description", "Name"]);
                let mut target = json!({"Arn": target_arn, "Id": format!("{id}LambdaTarget")});
                for k in [
                    "Input",
                    "InputPath",
                    "InputTransformer",
                    "RetryPolicy",
                    "DeadLetterConfig",
                ] {
                    if let Some(v) = ep
                        .get(k)
                        .or_else(|| ep.get("Target").and_then(|t| t.get(k)))
                    {
                        target[k] = v.clone();
                    }
                }
                if let Some(tid) = ep.get("Target").and_then(|t| t.get("Id")) {
                    target["Id"] = tid.clone();
                }
                m.insert("Targets".into(), json!([target]));
                out.insert(
                    id.clone(),
                    json!({"Type": "AWS::Events::Rule", "Properties": m}),
                );
                out.insert(
                    format!("{id}Permission"),
                    json!({"Type": "AWS::Lambda::Permission", "Properties": {
                        "Action": "lambda:InvokeFunction", "FunctionName": target_ref,
                        "Principal": "events.amazonaws.com",
                        "SourceArn": {"Fn::GetAtt": [id, "Arn"]}}}),
                );
            }
            "SNS" => {
                let topic = ep.get("Topic").cloned().ok_or_else(|| {
                    error(format!("Event with id [{name}] is invalid. Missing Topic."))
                })?;
                let mut m = Map::new();
                m.insert("Protocol".into(), json!("lambda"));
                m.insert("Endpoint".into(), target_arn.clone());
                m.insert("TopicArn".into(), topic.clone());
                copy(
                    &mut m,
                    &[
                        "FilterPolicy",
                        "FilterPolicyScope",
                        "Region",
                        "RedrivePolicy",
                    ],
                );
                out.insert(
                    id.clone(),
                    json!({"Type": "AWS::SNS::Subscription", "Properties": m}),
                );
                out.insert(
                    format!("{id}Permission"),
                    json!({"Type": "AWS::Lambda::Permission", "Properties": {
                        "Action": "lambda:InvokeFunction", "FunctionName": target_ref,
                        "Principal": "sns.amazonaws.com", "SourceArn": topic}}),
                );
            }
            "Api" | "HttpApi" => {
                return Err(error(format!(
                    "Event with id [{name}] is invalid. Events of type {ty} need API Gateway, which this gateway does not provide yet."
                )));
            }
            other => {
                return Err(error(format!(
                    "Event with id [{name}] is invalid. Event type {other} is not supported by this gateway's SAM transform yet (SQS, Kinesis, DynamoDB, Schedule, SNS, EventBridgeRule are)."
                )));
            }
        }
    }
    Ok(())
}

/// The execution role SAM makes for a function without `Role`.
fn role(
    logical: &str,
    p: &Map<String, Value>,
    events: &Map<String, Value>,
) -> Result<Value, AwsError> {
    let mut managed_arns = vec![managed("service-role/AWSLambdaBasicExecutionRole")];
    for event in events.values() {
        let extra = match event.get("Type").map(text).as_deref() {
            Some("SQS") => Some("service-role/AWSLambdaSQSQueueExecutionRole"),
            Some("Kinesis") => Some("service-role/AWSLambdaKinesisExecutionRole"),
            Some("DynamoDB") => Some("service-role/AWSLambdaDynamoDBExecutionRole"),
            _ => None,
        };
        if let Some(e) = extra {
            let arn = managed(e);
            if !managed_arns.contains(&arn) {
                managed_arns.push(arn);
            }
        }
    }
    let mut inline = Vec::new();
    let policies = match p.get("Policies") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
    };
    for (i, policy) in policies.iter().enumerate() {
        match policy {
            // A managed policy by name or ARN.
            Value::String(s) if s.starts_with("arn:") => managed_arns.push(json!(s)),
            Value::String(s) => managed_arns.push(managed(s)),
            Value::Object(m) if m.contains_key("Statement") => inline.push(json!({
                "PolicyName": format!("{logical}RolePolicy{i}"),
                "PolicyDocument": policy,
            })),
            Value::Object(m)
                if m.len() == 1
                    && (m.contains_key("Fn::Sub")
                        || m.contains_key("Ref")
                        || m.contains_key("Fn::GetAtt")
                        || m.contains_key("Fn::ImportValue")) =>
            {
                managed_arns.push(policy.clone())
            }
            Value::Object(m) if m.len() == 1 => {
                let (name, args) = m.iter().next().unwrap();
                let statements = policy_template(name, args)
                    .ok_or_else(|| error(format!("Resource with id [{logical}] is invalid. Policy template {name} is not supported by this gateway yet.")))?;
                inline.push(json!({
                    "PolicyName": format!("{logical}RolePolicy{i}"),
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }));
            }
            _ => {
                return Err(error(format!(
                    "Resource with id [{logical}] is invalid. Policies entry {i} is not a policy name, document or template."
                )));
            }
        }
    }
    let mut props = json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["sts:AssumeRole"],
            "Principal": {"Service": ["lambda.amazonaws.com"]}}]},
        "ManagedPolicyArns": managed_arns,
        "Tags": [{"Key": "lambda:createdBy", "Value": "SAM"}],
    });
    if !inline.is_empty() {
        props["Policies"] = json!(inline);
    }
    for k in ["PermissionsBoundary"] {
        if let Some(v) = p.get(k) {
            props[k] = v.clone();
        }
    }
    Ok(json!({"Type": "AWS::IAM::Role", "Properties": props}))
}

/// The common SAM policy templates, as statements.
fn policy_template(name: &str, args: &Value) -> Option<Value> {
    let arg = |k: &str| args.get(k).cloned().unwrap_or(Value::Null);
    let sub = |service: &str, prefix: &str, k: &str| json!({"Fn::Sub": [format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{prefix}${{name}}"), {"name": arg(k)}]});
    let table = || sub("dynamodb", "table/", "TableName");
    let table_index = || json!({"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${name}/index/*", {"name": arg("TableName")}]});
    let bucket =
        || json!({"Fn::Sub": ["arn:${AWS::Partition}:s3:::${name}", {"name": arg("BucketName")}]});
    let objects = || json!({"Fn::Sub": ["arn:${AWS::Partition}:s3:::${name}/*", {"name": arg("BucketName")}]});
    let stmt = |actions: &[&str], resources: Value| json!({"Effect": "Allow", "Action": actions, "Resource": resources});
    Some(match name {
        "SQSPollerPolicy" => json!([stmt(
            &[
                "sqs:ChangeMessageVisibility",
                "sqs:ChangeMessageVisibilityBatch",
                "sqs:DeleteMessage",
                "sqs:DeleteMessageBatch",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage"
            ],
            sub("sqs", "", "QueueName")
        )]),
        "SQSSendMessagePolicy" => json!([stmt(&["sqs:SendMessage*"], sub("sqs", "", "QueueName"))]),
        "SNSPublishMessagePolicy" => json!([stmt(&["sns:Publish"], sub("sns", "", "TopicName"))]),
        "DynamoDBCrudPolicy" => json!([stmt(
            &[
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem"
            ],
            json!([table(), table_index()])
        )]),
        "DynamoDBReadPolicy" => json!([stmt(
            &[
                "dynamodb:GetItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable"
            ],
            json!([table(), table_index()])
        )]),
        "DynamoDBWritePolicy" => json!([stmt(
            &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem"
            ],
            json!([table(), table_index()])
        )]),
        "DynamoDBStreamReadPolicy" => json!([stmt(
            &[
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams"
            ],
            json!({"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${name}/stream/*", {"name": arg("TableName")}]})
        )]),
        "S3ReadPolicy" => json!([stmt(
            &[
                "s3:GetObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetObjectVersion",
                "s3:GetLifecycleConfiguration"
            ],
            json!([bucket(), objects()])
        )]),
        "S3WritePolicy" => json!([stmt(
            &[
                "s3:PutObject",
                "s3:PutObjectAcl",
                "s3:PutLifecycleConfiguration"
            ],
            json!([bucket(), objects()])
        )]),
        "S3CrudPolicy" => json!([stmt(
            &[
                "s3:GetObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:PutObjectAcl",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:DeleteObject"
            ],
            json!([bucket(), objects()])
        )]),
        "LambdaInvokePolicy" => json!([stmt(
            &["lambda:InvokeFunction"],
            json!({"Fn::Sub": ["arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${name}*", {"name": arg("FunctionName")}]})
        )]),
        "KinesisStreamReadPolicy" => json!([stmt(
            &[
                "kinesis:ListStreams",
                "kinesis:DescribeStreamSummary",
                "kinesis:DescribeStream",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator"
            ],
            sub("kinesis", "stream/", "StreamName")
        )]),
        "SSMParameterReadPolicy" => json!([stmt(
            &[
                "ssm:DescribeParameters",
                "ssm:GetParameters",
                "ssm:GetParameter",
                "ssm:GetParametersByPath"
            ],
            sub("ssm", "parameter/", "ParameterName")
        )]),
        "AWSSecretsManagerGetSecretValuePolicy" => {
            json!([stmt(&["secretsmanager:GetSecretValue"], arg("SecretArn"))])
        }
        "EventBridgePutEventsPolicy" => json!([stmt(
            &["events:PutEvents"],
            sub("events", "event-bus/", "EventBusName")
        )]),
        "StepFunctionsExecutionPolicy" => json!([stmt(
            &["states:StartExecution"],
            sub("states", "stateMachine:", "StateMachineName")
        )]),
        "CloudWatchPutMetricPolicy" => json!([stmt(&["cloudwatch:PutMetricData"], json!("*"))]),
        "KMSDecryptPolicy" => json!([stmt(&["kms:Decrypt"], sub("kms", "key/", "KeyId"))]),
        _ => return None,
    })
}

fn simple_table(def: &Value) -> Result<Value, AwsError> {
    let p = props(def);
    let key = p
        .get("PrimaryKey")
        .cloned()
        .unwrap_or_else(|| json!({"Name": "id", "Type": "String"}));
    let name = key.get("Name").cloned().unwrap_or(json!("id"));
    let ty = match key.get("Type").map(text).as_deref() {
        Some("Number") => "N",
        Some("Binary") => "B",
        _ => "S",
    };
    let mut t = json!({
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": ty}],
        "KeySchema": [{"AttributeName": name, "KeyType": "HASH"}],
    });
    match p.get("ProvisionedThroughput") {
        Some(pt) => t["ProvisionedThroughput"] = pt.clone(),
        None => t["BillingMode"] = json!("PAY_PER_REQUEST"),
    }
    for k in [
        "TableName",
        "SSESpecification",
        "PointInTimeRecoverySpecification",
    ] {
        if let Some(v) = p.get(k) {
            t[k] = v.clone();
        }
    }
    if let Some(tags) = tags_list(p.get("Tags")) {
        t["Tags"] = tags;
    }
    let mut out = json!({"Type": "AWS::DynamoDB::Table", "Properties": t});
    carry(def, &mut out);
    Ok(out)
}

fn layer(def: &Value) -> Result<Value, AwsError> {
    let p = props(def);
    let content = p
        .get("ContentUri")
        .ok_or_else(|| error("LayerVersion needs ContentUri"))?;
    let mut l = json!({"Content": s3_location(content, "ContentUri", "layer")?});
    for k in [
        "LayerName",
        "Description",
        "CompatibleRuntimes",
        "CompatibleArchitectures",
        "LicenseInfo",
    ] {
        if let Some(v) = p.get(k) {
            l[k] = v.clone();
        }
    }
    let mut out = json!({"Type": "AWS::Lambda::LayerVersion", "Properties": l});
    carry(def, &mut out);
    // RetentionPolicy Retain keeps old versions, as SAM's DeletionPolicy.
    if p.get("RetentionPolicy")
        .map(text)
        .is_some_and(|r| r.eq_ignore_ascii_case("retain"))
    {
        out["DeletionPolicy"] = json!("Retain");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_with_events_globals_and_policies() {
        let tpl = json!({
            "Transform": "AWS::Serverless-2016-10-31",
            "Globals": {"Function": {"Timeout": 9, "Environment": {"Variables": {"A": "1"}}}},
            "Resources": {
                "Q": {"Type": "AWS::SQS::Queue"},
                "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                    "InlineCode": "def h(e, c): pass", "Handler": "index.h", "Runtime": "python3.12",
                    "Environment": {"Variables": {"B": "2"}},
                    "Policies": ["AmazonSQSFullAccess", {"SQSPollerPolicy": {"QueueName": "x"}}, {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}],
                    "Events": {
                        "Work": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "BatchSize": 5}},
                        "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
                    }}},
                "T": {"Type": "AWS::Serverless::SimpleTable"}
            }
        });
        let out = expand(tpl).unwrap();
        let r = &out["Resources"];
        assert_eq!(r["Fn"]["Type"], "AWS::Lambda::Function");
        assert_eq!(r["Fn"]["Properties"]["Timeout"], 9);
        assert_eq!(
            r["Fn"]["Properties"]["Environment"]["Variables"],
            json!({"A": "1", "B": "2"})
        );
        assert_eq!(
            r["Fn"]["Properties"]["Code"]["ZipFile"],
            "def h(e, c): pass"
        );
        assert_eq!(r["FnRole"]["Type"], "AWS::IAM::Role");
        assert_eq!(
            r["FnRole"]["Properties"]["ManagedPolicyArns"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            r["FnRole"]["Properties"]["Policies"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(r["FnWork"]["Type"], "AWS::Lambda::EventSourceMapping");
        assert_eq!(r["FnTick"]["Type"], "AWS::Events::Rule");
        assert_eq!(r["FnTickPermission"]["Type"], "AWS::Lambda::Permission");
        assert_eq!(r["T"]["Properties"]["BillingMode"], "PAY_PER_REQUEST");
        let api = json!({"Resources": {"A": {"Type": "AWS::Serverless::Api"}}});
        assert!(expand(api).unwrap_err().message.contains("API Gateway"));
    }
}
