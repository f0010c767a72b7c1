//! Opt-in authorization (ENFORCE_IAM=1): the IAM action and resource ARN of
//! an operation, and where the resource's own policy lives.
//!
//! The action is the model's: `<signing name>:<OperationName>`, with the few
//! services whose IAM actions are not their operation names mapped here (S3,
//! Lambda). The resource comes from the operation's input, one small rule per
//! service; an operation that names no resource is on `*`.

use serde_json::Value;

/// Where a resource's policy is read (a model operation of its plugin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    SqsQueue {
        queue_url: String,
    },
    SnsTopic {
        topic_arn: String,
    },
    S3Bucket {
        bucket: String,
    },
    KmsKey {
        key_id: String,
    },
    Secret {
        secret_id: String,
    },
    LambdaFunction {
        function: String,
    },
    /// A role's trust policy (sts:AssumeRole).
    RoleTrust {
        role_name: String,
    },
    /// An event bus's policy (PutPermission).
    EventBus {
        name: String,
    },
    /// CloudWatch Logs' resource policies: one set per account and region
    /// (PutResourcePolicy), read as one document.
    LogsAccount,
}

impl PolicySource {
    /// Must the resource policy allow even in the resource's own account?
    /// KMS key policies and role trust policies must (AWS's rule for them).
    pub fn required(&self) -> bool {
        matches!(
            self,
            PolicySource::KmsKey { .. } | PolicySource::RoleTrust { .. }
        )
    }
}

/// What one request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub action: String,
    pub resource: String,
    /// The account owning the resource, when the ARN says.
    pub owner: Option<String>,
    pub policy: Option<PolicySource>,
}

/// The IAM action of an operation.
pub fn action(prefix: &str, operation: &str) -> String {
    let name = match (prefix, operation) {
        ("s3", "ListObjects" | "ListObjectsV2" | "HeadBucket" | "ListMultipartUploads") => {
            "ListBucket"
        }
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("s3", "HeadObject" | "GetObjectAttributes") => "GetObject",
        ("s3", "DeleteObjects") => "DeleteObject",
        (
            "s3",
            "CopyObject"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "UploadPartCopy"
            | "CompleteMultipartUpload",
        ) => "PutObject",
        ("s3", "AbortMultipartUpload") => "AbortMultipartUpload",
        ("s3", "ListParts") => "ListMultipartUploadParts",
        ("s3", "DeleteBucketPolicy") => "DeleteBucketPolicy",
        ("lambda", "Invoke" | "InvokeWithResponseStream" | "InvokeAsync") => "InvokeFunction",
        ("lambda", "GetFunctionConfiguration") => "GetFunctionConfiguration",
        _ => operation,
    };
    format!("{prefix}:{name}")
}

fn s<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input
        .get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// The account field of an ARN (`arn:partition:service:region:account:...`).
pub fn arn_account(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then(|| account.to_string())
}

/// `http://host/111122223333/name` → (account, name).
fn queue_url_parts(url: &str) -> Option<(String, String)> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut segments = path.split('/').skip(1).filter(|p| !p.is_empty());
    let account = segments.next()?.to_string();
    let name = segments.next()?.to_string();
    Some((account, name))
}

/// The action, resource and resource policy of one operation.
pub fn target(prefix: &str, operation: &str, input: &Value, account: &str, region: &str) -> Target {
    let action = action(prefix, operation);
    let mut policy = None;
    let resource: Option<String> = match prefix {
        "sqs" => {
            if let Some(url) = s(input, "QueueUrl") {
                queue_url_parts(url).map(|(acct, name)| {
                    policy = Some(PolicySource::SqsQueue {
                        queue_url: url.to_string(),
                    });
                    format!("arn:aws:sqs:{region}:{acct}:{name}")
                })
            } else {
                s(input, "QueueName").map(|n| format!("arn:aws:sqs:{region}:{account}:{n}"))
            }
        }
        "sns" => {
            let topic = s(input, "TopicArn")
                .or_else(|| s(input, "TargetArn").filter(|a| a.split(':').nth(2) == Some("sns")));
            if let Some(t) = topic {
                policy = Some(PolicySource::SnsTopic {
                    topic_arn: t.to_string(),
                });
                Some(t.to_string())
            } else if let Some(sub) = s(input, "SubscriptionArn") {
                // A subscription's topic is its ARN less the last segment.
                sub.rsplit_once(':').map(|(t, _)| t.to_string())
            } else if operation == "CreateTopic" {
                s(input, "Name").map(|n| format!("arn:aws:sns:{region}:{account}:{n}"))
            } else {
                s(input, "ResourceArn").map(str::to_string)
            }
        }
        "s3" => s(input, "Bucket").map(|b| {
            if operation != "CreateBucket" {
                policy = Some(PolicySource::S3Bucket {
                    bucket: b.to_string(),
                });
            }
            match s(input, "Key") {
                Some(k) => format!("arn:aws:s3:::{b}/{k}"),
                None => format!("arn:aws:s3:::{b}"),
            }
        }),
        "kms" => s(input, "KeyId")
            .or_else(|| s(input, "TargetKeyId"))
            .map(|k| {
                if !k.starts_with("alias/") && !k.starts_with("arn:aws:kms:") || k.contains(":key/")
                {
                    policy = Some(PolicySource::KmsKey {
                        key_id: k.to_string(),
                    });
                }
                if k.starts_with("arn:") {
                    k.to_string()
                } else if k.starts_with("alias/") {
                    format!("arn:aws:kms:{region}:{account}:{k}")
                } else {
                    format!("arn:aws:kms:{region}:{account}:key/{k}")
                }
            }),
        "secretsmanager" => s(input, "SecretId").map(|id| {
            policy = Some(PolicySource::Secret {
                secret_id: id.to_string(),
            });
            if id.starts_with("arn:") {
                id.to_string()
            } else {
                format!("arn:aws:secretsmanager:{region}:{account}:secret:{id}")
            }
        }),
        "lambda" => s(input, "FunctionName").map(|f| {
            policy = Some(PolicySource::LambdaFunction {
                function: f.to_string(),
            });
            if f.starts_with("arn:") {
                f.to_string()
            } else {
                format!("arn:aws:lambda:{region}:{account}:function:{f}")
            }
        }),
        "dynamodb" => s(input, "TableName")
            .map(|t| {
                if t.starts_with("arn:") {
                    t.to_string()
                } else {
                    format!("arn:aws:dynamodb:{region}:{account}:table/{t}")
                }
            })
            .or_else(|| s(input, "ResourceArn").map(str::to_string)),
        "iam" => {
            let arn = |kind: &str, name: &str| format!("arn:aws:iam::{account}:{kind}/{name}");
            s(input, "PolicyArn")
                .map(str::to_string)
                .or_else(|| s(input, "RoleName").map(|n| arn("role", n)))
                .or_else(|| s(input, "GroupName").map(|n| arn("group", n)))
                .or_else(|| s(input, "UserName").map(|n| arn("user", n)))
        }
        "sts" => s(input, "RoleArn").map(|r| {
            if operation == "AssumeRole"
                && let Some((_, name)) = r.rsplit_once('/')
            {
                policy = Some(PolicySource::RoleTrust {
                    role_name: name.to_string(),
                });
            }
            r.to_string()
        }),
        "logs" => s(input, "logGroupName").map(|g| {
            let group = format!("arn:aws:logs:{region}:{account}:log-group:{g}");
            match (operation, s(input, "logStreamName")) {
                // Writing events is on the stream, which the account's
                // resource policies may grant (to events.amazonaws.com...).
                ("PutLogEvents" | "CreateLogStream", Some(stream)) => {
                    policy = Some(PolicySource::LogsAccount);
                    format!("{group}:log-stream:{stream}")
                }
                _ => group,
            }
        }),
        "events" if operation == "PutEvents" => {
            // The bus of the first entry (default: the caller's default bus).
            let bus = input
                .get("Entries")
                .and_then(|e| e.get(0))
                .and_then(|e| s(e, "EventBusName"))
                .unwrap_or("default");
            let (arn, name) = match bus.split_once(":event-bus/") {
                Some((_, name)) => (bus.to_string(), name.to_string()),
                None => (
                    format!("arn:aws:events:{region}:{account}:event-bus/{bus}"),
                    bus.to_string(),
                ),
            };
            policy = Some(PolicySource::EventBus { name });
            Some(arn)
        }
        "ssm" => s(input, "Name").map(|n| {
            let n = n.trim_start_matches('/');
            format!("arn:aws:ssm:{region}:{account}:parameter/{n}")
        }),
        "kinesis" => s(input, "StreamARN").map(str::to_string).or_else(|| {
            s(input, "StreamName").map(|n| format!("arn:aws:kinesis:{region}:{account}:stream/{n}"))
        }),
        _ => None,
    };
    let resource = resource
        .or_else(|| generic_arn(input))
        .unwrap_or_else(|| "*".into());
    let owner = arn_account(&resource).or_else(|| match &policy {
        Some(PolicySource::SqsQueue { queue_url }) => queue_url_parts(queue_url).map(|(a, _)| a),
        _ => None,
    });
    Target {
        action,
        resource,
        owner,
        policy,
    }
}

/// Any top-level input member named like an ARN that holds one.
fn generic_arn(input: &Value) -> Option<String> {
    input.as_object()?.iter().find_map(|(k, v)| {
        let v = v.as_str()?;
        (k.to_ascii_lowercase().ends_with("arn") && v.starts_with("arn:")).then(|| v.to_string())
    })
}

/// The model operation that reads a resource's policy, its input, and the
/// policy document in its output.
pub fn policy_call(source: &PolicySource) -> (&'static str, &'static str, Value) {
    use serde_json::json;
    match source {
        PolicySource::SqsQueue { queue_url } => (
            "sqs",
            "GetQueueAttributes",
            json!({"QueueUrl": queue_url, "AttributeNames": ["Policy"]}),
        ),
        PolicySource::SnsTopic { topic_arn } => (
            "sns",
            "GetTopicAttributes",
            json!({ "TopicArn": topic_arn }),
        ),
        PolicySource::S3Bucket { bucket } => ("s3", "GetBucketPolicy", json!({ "Bucket": bucket })),
        PolicySource::KmsKey { key_id } => (
            "kms",
            "GetKeyPolicy",
            json!({"KeyId": key_id, "PolicyName": "default"}),
        ),
        PolicySource::Secret { secret_id } => (
            "secretsmanager",
            "GetResourcePolicy",
            json!({ "SecretId": secret_id }),
        ),
        PolicySource::LambdaFunction { function } => {
            ("lambda", "GetPolicy", json!({ "FunctionName": function }))
        }
        PolicySource::RoleTrust { role_name } => {
            ("iam", "GetRole", json!({ "RoleName": role_name }))
        }
        PolicySource::EventBus { name } => ("events", "DescribeEventBus", json!({ "Name": name })),
        PolicySource::LogsAccount => ("logs", "DescribeResourcePolicies", json!({})),
    }
}

/// The policy document in a policy call's output.
pub fn policy_document(source: &PolicySource, output: &Value) -> Option<String> {
    let text = match source {
        PolicySource::SqsQueue { .. } | PolicySource::SnsTopic { .. } => {
            output.get("Attributes")?.get("Policy")?.as_str()
        }
        PolicySource::S3Bucket { .. }
        | PolicySource::KmsKey { .. }
        | PolicySource::LambdaFunction { .. }
        | PolicySource::EventBus { .. } => output.get("Policy")?.as_str(),
        PolicySource::LogsAccount => return merged_statements(output.get("resourcePolicies")?),
        PolicySource::Secret { .. } => output.get("ResourcePolicy")?.as_str(),
        PolicySource::RoleTrust { .. } => output
            .get("Role")?
            .get("AssumeRolePolicyDocument")?
            .as_str(),
    }?;
    // IAM hands documents out URL-encoded.
    if text.starts_with('%') {
        return Some(
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    Some(text.to_string())
}

/// Several policies as one document: every statement of each.
fn merged_statements(policies: &Value) -> Option<String> {
    let mut statements = Vec::new();
    for p in policies.as_array()? {
        let Some(doc) = p
            .get("policyDocument")
            .and_then(Value::as_str)
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            continue;
        };
        match doc.get("Statement") {
            Some(Value::Array(list)) => statements.extend(list.iter().cloned()),
            Some(one @ Value::Object(_)) => statements.push(one.clone()),
            _ => {}
        }
    }
    if statements.is_empty() {
        return None;
    }
    Some(serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

/// The S3 plugin's canonical user id of an account (the owner id its ACLs
/// report), to tell a bucket's account from GetBucketAcl.
pub fn s3_canonical_id(account: &str) -> String {
    super::sigv4::sha256_hex(format!("ministack-canonical-{account}").as_bytes())
}

/// `User: arn:... is not authorized to perform: sqs:SendMessage on
/// resource: arn:... because ...` as AWS words it, in each protocol's code.
pub fn denied(
    family: super::enforce::Family,
    principal: &str,
    t: &Target,
    reason: &str,
) -> ministack_protocol::AwsError {
    let code = match family {
        super::enforce::Family::Json => "AccessDeniedException",
        _ => "AccessDenied",
    };
    let mut message = format!(
        "User: {principal} is not authorized to perform: {} on resource: {}",
        t.action, t.resource
    );
    if !reason.is_empty() {
        message.push(' ');
        message.push_str(reason);
    }
    ministack_protocol::AwsError::new(code, message, 403)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqs_queue_url_names_the_owner() {
        let t = target(
            "sqs",
            "SendMessage",
            &json!({"QueueUrl": "http://localhost:4566/222233334444/q1", "MessageBody": "x"}),
            "111122223333",
            "us-east-1",
        );
        assert_eq!(t.action, "sqs:SendMessage");
        assert_eq!(t.resource, "arn:aws:sqs:us-east-1:222233334444:q1");
        assert_eq!(t.owner.as_deref(), Some("222233334444"));
        assert!(matches!(t.policy, Some(PolicySource::SqsQueue { .. })));
    }

    #[test]
    fn s3_actions_and_objects() {
        let t = target(
            "s3",
            "HeadObject",
            &json!({"Bucket": "b", "Key": "k/1"}),
            "1",
            "r",
        );
        assert_eq!(t.action, "s3:GetObject");
        assert_eq!(t.resource, "arn:aws:s3:::b/k/1");
        assert_eq!(t.owner, None);
        let t = target("s3", "ListBuckets", &json!({}), "1", "r");
        assert_eq!(
            (t.action.as_str(), t.resource.as_str()),
            ("s3:ListAllMyBuckets", "*")
        );
    }

    #[test]
    fn log_events_are_on_the_stream_and_put_events_on_the_bus() {
        let t = target(
            "logs",
            "PutLogEvents",
            &json!({"logGroupName": "/aws/events/g", "logStreamName": "s"}),
            "1",
            "r",
        );
        assert_eq!(
            t.resource,
            "arn:aws:logs:r:1:log-group:/aws/events/g:log-stream:s"
        );
        assert_eq!(t.policy, Some(PolicySource::LogsAccount));
        let t = target(
            "events",
            "PutEvents",
            &json!({"Entries": [{"EventBusName": "arn:aws:events:r:2:event-bus/b"}]}),
            "1",
            "r",
        );
        assert_eq!(
            (t.resource.as_str(), t.owner.as_deref()),
            ("arn:aws:events:r:2:event-bus/b", Some("2"))
        );
        assert_eq!(t.policy, Some(PolicySource::EventBus { name: "b".into() }));
        let doc = merged_statements(&json!([
            {"policyDocument": r#"{"Statement":{"Effect":"Allow"}}"#},
            {"policyDocument": r#"{"Statement":[{"Effect":"Deny"}]}"#},
        ]))
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&doc).unwrap()["Statement"],
            json!([{"Effect": "Allow"}, {"Effect": "Deny"}])
        );
    }

    #[test]
    fn generic_arn_members() {
        let t = target(
            "states",
            "StartExecution",
            &json!({"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m"}),
            "1",
            "us-east-1",
        );
        assert_eq!(t.resource, "arn:aws:states:us-east-1:1:stateMachine:m");
    }
}
