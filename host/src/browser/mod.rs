//! The resource browser: `GET /` in a browser is a small web app
//! (app.html, vanilla JS, embedded) that reads the gateway's resources
//! through an internal JSON API (docs/browser.md):
//!
//! - `GET /_ministack/resources`: the resource kinds the loaded plugins
//!   have, with the reads each offers;
//! - `GET /_ministack/resources?type=AWS::SQS::Queue&account=&region=`:
//!   the resources of one kind, through the owning plugin's
//!   `ministack:resource-list` handler where it has one
//!   (docs/resources.md), else its own List/Describe operation;
//! - `GET /_ministack/resources/read?type=&id=&action=&account=&region=`:
//!   one read-only look at a resource (a bucket's objects, a queue's
//!   messages peeked with a zero visibility timeout, a table's items, a
//!   log group's events since a time, an execution's history...);
//! - `POST /_ministack/resources/run?type=&id=&action=...`: an action that
//!   runs something (a function invoked with the body as its payload).
//!
//! Every call runs as the gateway in the account and region asked for
//! (default: MINISTACK_ACCOUNT_ID / MINISTACK_REGION); only the actions
//! listed in [`KINDS`] can be made: reads over GET change nothing, and
//! the few runs need a POST.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::body::ResponseBody;
use crate::capabilities::CallContext;
use crate::dispatch::{Call, Caller, Dispatcher, OwnedBlobs, Target};
use crate::respond::json_response;

/// The app: markup, style and script in one page.
pub const APP_HTML: &str = include_str!("app.html");

/// The namespace blobs handed back to the browser's calls land in
/// (released at once: the API answers JSON only).
const CALLER: &str = "ministack-browser";

/// How a kind's resources are listed.
enum Lister {
    /// The plugin's `ministack:resource-list` handler.
    Handler,
    /// One of the plugin's operations: `items` is the array in its output,
    /// `id` the member that identifies an item (what reads take).
    Operation {
        operation: &'static str,
        items: &'static str,
        id: &'static str,
    },
}

/// What an action's input is built from besides the resource id.
struct Args<'a> {
    query: &'a str,
    body: &'a [u8],
}

impl Args<'_> {
    fn param(&self, name: &str) -> Option<String> {
        param(self.query, name)
    }
}

/// An action the browser offers on one resource.
struct Action {
    name: &'static str,
    operation: &'static str,
    /// Runs something (needs a POST to `/run`) rather than reading.
    runs: bool,
    input: fn(&str, &Args) -> Value,
}

/// A read whose input is the resource id alone.
macro_rules! read {
    ($name:literal, $operation:literal, |$id:ident| $input:expr) => {
        Action {
            name: $name,
            operation: $operation,
            runs: false,
            input: |$id, _| $input,
        }
    };
}

struct Kind {
    type_name: &'static str,
    service: &'static str,
    lister: Lister,
    actions: &'static [Action],
}

const KINDS: &[Kind] = &[
    Kind {
        type_name: "AWS::S3::Bucket",
        service: "s3",
        lister: Lister::Handler,
        actions: &[read!(
            "objects",
            "ListObjectsV2",
            |id| json!({"Bucket": id, "MaxKeys": 1000})
        )],
    },
    Kind {
        type_name: "AWS::SQS::Queue",
        service: "sqs",
        lister: Lister::Handler,
        actions: &[
            // A zero visibility timeout: the messages stay visible to
            // consumers (their receive count still goes up, as on AWS).
            read!("peek", "ReceiveMessage", |id| {
                json!({"QueueUrl": id, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0,
                           "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]})
            }),
            read!(
                "attributes",
                "GetQueueAttributes",
                |id| json!({"QueueUrl": id, "AttributeNames": ["All"]})
            ),
        ],
    },
    Kind {
        type_name: "AWS::DynamoDB::Table",
        service: "dynamodb",
        lister: Lister::Handler,
        actions: &[
            read!("scan", "Scan", |id| json!({"TableName": id, "Limit": 100})),
            read!("describe", "DescribeTable", |id| json!({"TableName": id})),
        ],
    },
    Kind {
        type_name: "AWS::SNS::Topic",
        service: "sns",
        lister: Lister::Handler,
        actions: &[read!(
            "subscriptions",
            "ListSubscriptionsByTopic",
            |id| json!({"TopicArn": id})
        )],
    },
    Kind {
        type_name: "AWS::IAM::Role",
        service: "iam",
        lister: Lister::Handler,
        actions: &[read!("role", "GetRole", |id| json!({"RoleName": id}))],
    },
    Kind {
        type_name: "AWS::SecretsManager::Secret",
        service: "secretsmanager",
        lister: Lister::Operation {
            operation: "ListSecrets",
            items: "SecretList",
            id: "Name",
        },
        actions: &[read!(
            "value",
            "GetSecretValue",
            |id| json!({"SecretId": id})
        )],
    },
    Kind {
        type_name: "AWS::SSM::Parameter",
        service: "ssm",
        lister: Lister::Operation {
            operation: "DescribeParameters",
            items: "Parameters",
            id: "Name",
        },
        actions: &[read!(
            "value",
            "GetParameter",
            |id| json!({"Name": id, "WithDecryption": true})
        )],
    },
    Kind {
        type_name: "AWS::KMS::Key",
        service: "kms",
        lister: Lister::Operation {
            operation: "ListKeys",
            items: "Keys",
            id: "KeyId",
        },
        actions: &[read!("describe", "DescribeKey", |id| json!({"KeyId": id}))],
    },
    Kind {
        type_name: "AWS::Lambda::Function",
        service: "lambda",
        lister: Lister::Operation {
            operation: "ListFunctions",
            items: "Functions",
            id: "FunctionName",
        },
        actions: &[
            read!(
                "configuration",
                "GetFunctionConfiguration",
                |id| json!({"FunctionName": id})
            ),
            // The request body is the payload; the log tail comes back too.
            Action {
                name: "invoke",
                operation: "Invoke",
                runs: true,
                input: |id, args| {
                    let payload: &[u8] = if args.body.is_empty() {
                        b"{}"
                    } else {
                        args.body
                    };
                    json!({"FunctionName": id, "Payload": BASE64.encode(payload), "LogType": "Tail"})
                },
            },
        ],
    },
    Kind {
        type_name: "AWS::CloudFormation::Stack",
        service: "cloudformation",
        lister: Lister::Operation {
            operation: "DescribeStacks",
            items: "Stacks",
            id: "StackName",
        },
        actions: &[read!(
            "events",
            "DescribeStackEvents",
            |id| json!({"StackName": id})
        )],
    },
    Kind {
        type_name: "AWS::Logs::LogGroup",
        service: "logs",
        lister: Lister::Operation {
            operation: "DescribeLogGroups",
            items: "logGroups",
            id: "logGroupName",
        },
        actions: &[
            read!(
                "events",
                "FilterLogEvents",
                |id| json!({"logGroupName": id, "limit": 200})
            ),
            // What the live view polls: the events from `since` (epoch ms,
            // inclusive) on; the page drops the ones it already shows.
            Action {
                name: "tail",
                operation: "FilterLogEvents",
                runs: false,
                input: |id, args| {
                    let mut input = json!({"logGroupName": id, "limit": 1000});
                    if let Some(since) = args.param("since").and_then(|s| s.parse::<i64>().ok()) {
                        input["startTime"] = json!(since);
                    }
                    input
                },
            },
        ],
    },
    Kind {
        type_name: "AWS::StepFunctions::StateMachine",
        service: "stepfunctions",
        lister: Lister::Operation {
            operation: "ListStateMachines",
            items: "stateMachines",
            id: "stateMachineArn",
        },
        actions: &[
            read!(
                "executions",
                "ListExecutions",
                |id| json!({"stateMachineArn": id, "maxResults": 100})
            ),
            read!(
                "definition",
                "DescribeStateMachine",
                |id| json!({"stateMachineArn": id})
            ),
            // One execution's events (`execution=<arn>`): the page colours
            // the states it entered on the definition's graph.
            Action {
                name: "history",
                operation: "GetExecutionHistory",
                runs: false,
                input: |_, args| {
                    json!({"executionArn": args.param("execution"), "maxResults": 1000,
                           "includeExecutionData": false})
                },
            },
        ],
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /_ministack/resources[?type=...]`.
    Resources,
    /// `GET /_ministack/resources/read?...`.
    Read,
    /// `POST /_ministack/resources/run?...`.
    Run,
}

impl Endpoint {
    pub fn match_path(path: &str) -> Option<Self> {
        match path.trim_end_matches('/') {
            "/_ministack/resources" => Some(Endpoint::Resources),
            "/_ministack/resources/read" => Some(Endpoint::Read),
            "/_ministack/resources/run" => Some(Endpoint::Run),
            _ => None,
        }
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn bad_request(message: impl Into<String>) -> Response<ResponseBody> {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

pub async fn handle(
    dispatcher: &Dispatcher,
    endpoint: Endpoint,
    query: &str,
    body: &[u8],
) -> Response<ResponseBody> {
    let config = dispatcher.config();
    let account = param(query, "account").unwrap_or_else(|| config.default_account.clone());
    let region = param(query, "region").unwrap_or_else(|| config.default_region.clone());
    let scope = Scope {
        dispatcher,
        account,
        region,
    };
    let kind = match param(query, "type") {
        None if endpoint == Endpoint::Resources => return catalogue(dispatcher),
        None => return bad_request("type is required"),
        Some(t) => match KINDS.iter().find(|k| k.type_name == t) {
            Some(k) => k,
            None => return bad_request(format!("unknown resource type {t}")),
        },
    };
    if !dispatcher.registry().by_name.contains_key(kind.service) {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("service {} is not enabled", kind.service)}),
        );
    }
    let result = match endpoint {
        Endpoint::Resources => scope.list(kind).await.map(|resources| {
            json!({"type": kind.type_name, "account": scope.account, "region": scope.region,
                   "resources": resources})
        }),
        Endpoint::Read | Endpoint::Run => {
            let (Some(id), Some(action)) = (param(query, "id"), param(query, "action")) else {
                return bad_request("id and action are required");
            };
            let runs = endpoint == Endpoint::Run;
            let Some(action) = kind
                .actions
                .iter()
                .find(|a| a.name == action && a.runs == runs)
            else {
                let what = if runs { "run" } else { "read" };
                return bad_request(format!("{} has no {what} {action:?}", kind.type_name));
            };
            let input = (action.input)(&id, &Args { query, body });
            scope.call(kind.service, action.operation, &input).await
        }
    };
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_response(
            e.status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_REQUEST),
            &json!({"error": e.message, "code": e.code}),
        ),
    }
}

/// The kinds whose plugin is loaded, with their reads.
fn catalogue(dispatcher: &Dispatcher) -> Response<ResponseBody> {
    let registry = dispatcher.registry();
    let kinds: Vec<Value> = KINDS
        .iter()
        .filter(|k| registry.by_name.contains_key(k.service))
        .map(|k| {
            json!({
                "type": k.type_name,
                "service": k.service,
                "listed_by": match k.lister {
                    Lister::Handler => "ministack:resource-list".to_string(),
                    Lister::Operation { operation, .. } => operation.to_string(),
                },
                "actions": k.actions.iter().map(|a| json!({"name": a.name, "operation": a.operation, "runs": a.runs})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let config = dispatcher.config();
    json_response(
        StatusCode::OK,
        &json!({"kinds": kinds, "account": config.default_account, "region": config.default_region}),
    )
}

struct Scope<'a> {
    dispatcher: &'a Dispatcher,
    account: String,
    region: String,
}

impl Scope<'_> {
    /// One operation, as the gateway in the scope's account and region.
    async fn call(
        &self,
        service: &str,
        operation: &str,
        input: &Value,
    ) -> Result<Value, ministack_protocol::AwsError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let parent = CallContext::host(self.dispatcher.config(), &request_id);
        let input = input.to_string();
        let reply = self
            .dispatcher
            .call(Call {
                target: Target::Service(service),
                caller: Caller::Plugin {
                    name: CALLER,
                    parent: &parent,
                    account: self.account.clone(),
                    region: self.region.clone(),
                },
                request_id: &request_id,
                operation,
                input_json: input.into(),
                blobs: OwnedBlobs::none(),
            })
            .await?;
        for id in &reply.handed_back {
            self.dispatcher.shared().blobs.release(CALLER, id);
        }
        Ok(reply.output)
    }

    /// Every resource of a kind: `{id, properties}` each.
    async fn list(&self, kind: &Kind) -> Result<Vec<Value>, ministack_protocol::AwsError> {
        let mut out = Vec::new();
        match kind.lister {
            Lister::Handler => {
                let mut token: Option<String> = None;
                // A bound on pages: a handler that keeps answering a token
                // does not hold the request forever.
                for _ in 0..50 {
                    let request = json!({"TypeName": kind.type_name, "NextToken": token});
                    let page = self
                        .call(
                            kind.service,
                            &format!("{}list", crate::dispatch::RESOURCE_OPERATION_PREFIX),
                            &request,
                        )
                        .await?;
                    for r in page["Resources"].as_array().into_iter().flatten() {
                        out.push(json!({"id": r["PhysicalId"], "properties": r["Properties"]}));
                    }
                    token = page["NextToken"].as_str().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
            }
            Lister::Operation {
                operation,
                items,
                id,
            } => {
                let page = self.call(kind.service, operation, &json!({})).await?;
                for item in page[items].as_array().into_iter().flatten() {
                    out.push(json!({"id": item[id], "properties": item}));
                }
            }
        }
        Ok(out)
    }
}
