//! The `service` export: a [`Service`] names its model and maps operation
//! names to typed handlers through a [`Router`].

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{AwsError, Context};

/// An operation's input or output with no members (`{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Where a request on a resource that may live in another account or
/// region is served ([`Router::op_served_by_owner`]).
#[derive(Clone, Copy)]
pub struct Owner {
    /// The top-level string member naming the resource (`QueueUrl`).
    pub member: &'static str,
    /// The place serving that resource, when it is not this one.
    pub of: fn(&Context, &str) -> Option<crate::services::Target>,
}

/// A raw HTTP route a plugin claims ahead of the model-based routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRoute {
    /// `""` for any host, or a suffix such as `.execute-api.localhost`.
    pub host_suffix: String,
    /// Path prefix, e.g. `/_ministack/sqs/`.
    pub path_prefix: String,
}

/// A request on one of the plugin's raw routes.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Path as sent, percent-encoded, without the query.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to an [`HttpRequest`].
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    pub fn not_found() -> Self {
        HttpResponse::new(404, "text/plain", "not found")
    }
}

/// The wire protocol family of a model, which decides the generic error codes
/// (`ValidationError` vs `ValidationException`, `InvalidAction` vs
/// `UnknownOperationException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `query` and `ec2`.
    Query,
    /// `rest-xml`.
    RestXml,
    /// `json`, `rest-json`, `smithy-rpc-v2-cbor`.
    Json,
}

impl Protocol {
    /// Reads `metadata.protocol` (or the first of `metadata.protocols`).
    pub fn of_model(model_json: &str) -> Protocol {
        #[derive(Deserialize)]
        struct Model {
            #[serde(default)]
            metadata: Metadata,
        }
        #[derive(Deserialize, Default)]
        struct Metadata {
            #[serde(default)]
            protocol: Option<String>,
            #[serde(default)]
            protocols: Vec<String>,
        }
        let metadata = serde_json::from_str::<Model>(model_json)
            .map(|m| m.metadata)
            .unwrap_or_default();
        let name = metadata
            .protocols
            .first()
            .cloned()
            .or(metadata.protocol)
            .unwrap_or_default();
        match name.as_str() {
            "query" | "ec2" => Protocol::Query,
            "rest-xml" => Protocol::RestXml,
            _ => Protocol::Json,
        }
    }

    /// The error for input that does not fit the handler's type.
    pub fn validation_error(self, message: String) -> AwsError {
        match self {
            Protocol::Query => AwsError::validation_error(message),
            // S3 has no ValidationException; InvalidArgument is its generic one.
            Protocol::RestXml => AwsError::new("InvalidArgument", message).with_status(400),
            Protocol::Json => AwsError::validation(message),
        }
    }

    /// The error for an operation no handler is registered for.
    pub fn unknown_operation(self, operation: &str) -> AwsError {
        match self {
            Protocol::Query => AwsError::invalid_action(operation),
            Protocol::RestXml => {
                AwsError::not_implemented(format!("The operation {operation} is not implemented."))
            }
            Protocol::Json => AwsError::unknown_operation(operation),
        }
    }
}

/// The message for input that does not fit the handler's type. A required
/// member that is absent (a generated shape's plain field) reads as AWS says
/// it: `1 validation error detected: Value null at 'queueName' failed to
/// satisfy constraint: Member must not be null`.
fn input_error(operation: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    if let Some(rest) = text.strip_prefix("missing field `")
        && let Some((member, _)) = rest.split_once('`')
    {
        let mut chars = member.chars();
        let path: String = chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default();
        return format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
        );
    }
    format!("Invalid input for {operation}: {text}")
}

/// Why an operation failed: its input did not fit the handler's type (the
/// error code then depends on the protocol), or the handler said no.
enum OpError {
    Input(String),
    Aws(AwsError),
}

// The handler owns the request's text, so it can drop it once parsed: a
// large body is not held twice while the operation runs.
type OpHandler = Box<dyn Fn(&Context, String) -> Result<String, OpError> + Send + Sync>;
type TaskHandler = Box<dyn Fn(&Context, &str) -> Result<(), AwsError> + Send + Sync>;
type HttpHandler = Box<dyn Fn(&Context, HttpRequest) -> HttpResponse + Send + Sync>;

/// Operation name → handler, task name → handler, and the raw HTTP handler.
///
/// ```text
/// Router::new()
///     .op("GetCallerIdentity", get_caller_identity) // fn(&Context, In) -> Result<Out, AwsError>
///     .task("expire-session", expire_session)       // fn(&Context, P) -> Result<(), AwsError>
/// ```
///
/// Inputs and outputs are serde types whose member names are the model's
/// (`#[serde(rename_all = "PascalCase")]` usually does it). Leave optional
/// output members out rather than null: `#[serde(skip_serializing_if =
/// "Option::is_none")]`. Timestamps are epoch seconds (numbers).
/// A request's JSON text; an empty body is the empty object.
fn input_text(input_json: &str) -> &str {
    if input_json.trim().is_empty() {
        "{}"
    } else {
        input_json
    }
}

/// The top-level string `member` of a JSON object. The scan stops at that
/// member: what follows (a batch's entries) is not read. `None` when the
/// member is missing, not a string, or the text is not JSON (the handler's
/// parse then says why).
fn top_level_string(text: &str, member: &str) -> Option<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Find<'m> {
        member: &'m str,
        found: Option<String>,
    }
    impl<'de> Visitor<'de> for &mut Find<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while let Some(key) = a.next_key::<String>()? {
                if key == self.member {
                    self.found = a.next_value::<Option<String>>()?;
                    return Ok(());
                }
                a.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut find = Find {
        member,
        found: None,
    };
    // Stopping early leaves the object unclosed: that error is expected.
    let _ = serde_json::Deserializer::from_str(text).deserialize_map(&mut find);
    find.found
}

/// A handler's output as JSON text.
fn output_json<Out: Serialize>(operation: &str, output: &Out) -> Result<String, OpError> {
    crate::json::to_string(output).map_err(|e| {
        OpError::Aws(AwsError::internal(format!(
            "Could not serialize the output of {operation}: {e}"
        )))
    })
}

#[derive(Default)]
pub struct Router {
    ops: HashMap<&'static str, OpHandler>,
    tasks: HashMap<&'static str, TaskHandler>,
    http: Option<HttpHandler>,
    resources: crate::resources::Registry,
    protocol: OnceLock<Protocol>,
    model: &'static str,
}

impl Router {
    pub fn new() -> Self {
        Router::default()
    }

    /// Registers the handler of a model operation.
    pub fn op<In, Out, F>(mut self, operation: &'static str, handler: F) -> Self
    where
        In: DeserializeOwned,
        Out: Serialize,
        F: Fn(&Context, In) -> Result<Out, AwsError> + Send + Sync + 'static,
    {
        let wrapped = move |ctx: &Context, input_json: String| -> Result<String, OpError> {
            let text = input_text(&input_json);
            let input: In = serde_json::from_str(text)
                .map_err(|e| OpError::Input(input_error(operation, &e)))?;
            drop(input_json);
            let output = handler(ctx, input).map_err(OpError::Aws)?;
            output_json(operation, &output)
        };
        self.ops.insert(operation, Box::new(wrapped));
        self
    }

    /// Registers the handler of a model operation that reads the request's
    /// JSON text itself, for inputs too large to hold both as text and as a
    /// parsed tree (DynamoDB's 16 MB BatchWriteItem): the handler can borrow
    /// from the text and parse one part at a time.
    pub fn op_text<Out, F>(mut self, operation: &'static str, handler: F) -> Self
    where
        Out: Serialize,
        F: Fn(&Context, &str) -> Result<Out, AwsError> + Send + Sync + 'static,
    {
        let wrapped = move |ctx: &Context, input_json: String| -> Result<String, OpError> {
            let text = input_text(&input_json);
            let output = handler(ctx, text).map_err(OpError::Aws)?;
            output_json(operation, &output)
        };
        self.ops.insert(operation, Box::new(wrapped));
        self
    }

    /// Registers an operation on a resource that may live in another
    /// account or region: when `owner` names that place (from the request's
    /// top-level string `owner.member`: a queue URL, a topic ARN), the
    /// request is served there, by this same plugin through
    /// `services.call`; otherwise `handler` serves it here.
    pub fn op_served_by_owner<In, Out, F>(
        mut self,
        operation: &'static str,
        owner: Owner,
        handler: F,
    ) -> Self
    where
        In: DeserializeOwned,
        Out: Serialize,
        F: Fn(&Context, In) -> Result<Out, AwsError> + Send + Sync + 'static,
    {
        let wrapped = move |ctx: &Context, input_json: String| -> Result<String, OpError> {
            let text = input_text(&input_json);
            if let Some(target) = top_level_string(text, owner.member)
                .as_deref()
                .and_then(|v| (owner.of)(ctx, v))
            {
                let text = crate::services::with_current_attachments(text);
                return crate::services::call_json(&target, operation, &text).map_err(OpError::Aws);
            }
            // Parsed once, into the handler's type: a tree first, then the
            // type, took 46 % longer on SQS's SendMessageBatch.
            let input: In = serde_json::from_str(text)
                .map_err(|e| OpError::Input(input_error(operation, &e)))?;
            drop(input_json);
            let output = handler(ctx, input).map_err(OpError::Aws)?;
            output_json(operation, &output)
        };
        self.ops.insert(operation, Box::new(wrapped));
        self
    }

    /// Registers the handler of a scheduled task (see [`crate::tasks::schedule`]).
    /// The payload is JSON; `ministack:migrate` gets the old schema version
    /// as a number; `ministack:start` (the boot hook, see
    /// [`crate::tasks::START_TASK`]) gets `()`.
    pub fn task<P, F>(mut self, name: &'static str, handler: F) -> Self
    where
        P: DeserializeOwned,
        F: Fn(&Context, P) -> Result<(), AwsError> + Send + Sync + 'static,
    {
        let wrapped = move |ctx: &Context, payload: &str| -> Result<(), AwsError> {
            let payload = if payload.trim().is_empty() {
                "null"
            } else {
                payload
            };
            let payload: P = serde_json::from_str(payload)
                .map_err(|e| AwsError::internal(format!("Invalid payload for task {name}: {e}")))?;
            handler(ctx, payload)
        };
        self.tasks.insert(name, Box::new(wrapped));
        self
    }

    /// Registers a CloudFormation / Cloud Control resource type this plugin
    /// provides, with its handlers (see [`crate::resources`]).
    pub fn resource(mut self, resource: crate::resources::ResourceType) -> Self {
        self.resources.add(resource);
        self
    }

    /// Registers several resource types (a plugin's `resources::types()`).
    pub fn resources(mut self, resources: Vec<crate::resources::ResourceType>) -> Self {
        for r in resources {
            self.resources.add(r);
        }
        self
    }

    /// The resource types registered with [`Router::resource`].
    pub fn resource_types(&self) -> Vec<&crate::resources::ResourceSchema> {
        self.resources.schemas()
    }

    /// Registers the handler of the raw HTTP routes (see [`Service::raw_routes`]).
    pub fn http<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Context, HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.http = Some(Box::new(handler));
        self
    }

    /// Names of the registered operations, sorted.
    pub fn operations(&self) -> Vec<String> {
        let mut names: Vec<String> = self.ops.keys().map(|s| s.to_string()).collect();
        names.sort();
        names
    }

    /// The model the router answers for; sets the generic error codes.
    pub fn with_model(mut self, model_json: &'static str) -> Self {
        self.model = model_json;
        self
    }

    fn protocol(&self) -> Protocol {
        *self.protocol.get_or_init(|| Protocol::of_model(self.model))
    }

    /// Runs the handler of `operation` on JSON input; JSON output or an AWS error.
    pub fn dispatch(
        &self,
        ctx: &Context,
        operation: &str,
        input_json: &str,
    ) -> Result<String, AwsError> {
        self.dispatch_owned(ctx, operation, input_json.to_string())
    }

    /// [`Router::dispatch`] taking the request's text, which the handler
    /// drops once parsed.
    pub fn dispatch_owned(
        &self,
        ctx: &Context,
        operation: &str,
        input_json: String,
    ) -> Result<String, AwsError> {
        if let Some(reply) = self.resources.dispatch(ctx, operation, &input_json) {
            return reply;
        }
        let Some(handler) = self.ops.get(operation) else {
            return Err(self.protocol().unknown_operation(operation));
        };
        // Text another plugin attached (`services::Input`) is read by the
        // input's `Attached` members while the handler runs.
        let (input_json, attachments) = crate::services::split_input(input_json);
        crate::services::with_attachments(attachments, || handler(ctx, input_json)).map_err(|e| {
            match e {
                OpError::Input(message) => self.protocol().validation_error(message),
                OpError::Aws(e) => e,
            }
        })
    }

    /// Runs the handler of a scheduled task. Unknown tasks (including
    /// `ministack:migrate` and `ministack:start` when the plugin registers
    /// none) succeed and do nothing.
    pub fn run_task(&self, ctx: &Context, name: &str, payload: &str) -> Result<(), AwsError> {
        match self.tasks.get(name) {
            Some(handler) => handler(ctx, payload),
            // The boot hook runs for every plugin; most register none.
            None if name == crate::tasks::START_TASK => Ok(()),
            None if name == crate::metrics::FLUSH_TASK => crate::metrics::drop_legacy_batch(ctx),
            None => {
                crate::log::warn(&format!("no handler for task {name}; ignored"));
                Ok(())
            }
        }
    }

    /// Answers a raw HTTP request (404 without a handler).
    pub fn serve_http(&self, ctx: &Context, request: HttpRequest) -> HttpResponse {
        match &self.http {
            Some(handler) => handler(ctx, request),
            None => HttpResponse::not_found(),
        }
    }
}

/// How a plugin's router lines up with its model: `unknown` are routed
/// operations the model lacks (a typo; should be empty), `missing` are
/// modelled operations not routed (the host answers them 501).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub unknown: Vec<String>,
    pub missing: Vec<String>,
}

/// The router of `S` against its model (for the plugin's own tests).
pub fn coverage<S: Service>() -> Coverage {
    let model: serde_json::Value = serde_json::from_str(S::MODEL).unwrap_or_default();
    let modelled: Vec<String> = model["operations"]
        .as_object()
        .map(|ops| ops.keys().cloned().collect())
        .unwrap_or_default();
    let routed = S::router().operations();
    Coverage {
        unknown: routed
            .iter()
            // Reserved operations (the gateway's `ministack:authz-...`) are no model's.
            .filter(|op| {
                !modelled.contains(op) && !op.starts_with(crate::resources::RESERVED_PREFIX)
            })
            .cloned()
            .collect(),
        missing: modelled
            .iter()
            .filter(|op| !routed.contains(op))
            .cloned()
            .collect(),
    }
}

/// A service plugin: its name, model and operations. Export it with
/// [`crate::export_plugin!`].
pub trait Service: 'static {
    /// Service name, e.g. `"sqs"`; also its name in plugins.toml.
    const NAME: &'static str;
    /// botocore `service-2.json` with documentation stripped (`include_str!`).
    const MODEL: &'static str;
    /// Plugin version (semver), shown in listings.
    const VERSION: &'static str = "0.1.0";
    /// Version of the stored data layout; raise it when records change shape
    /// and handle the `ministack:migrate` task.
    const SCHEMA_VERSION: u32 = 1;

    /// The operations (and tasks, and raw HTTP handler).
    fn router() -> Router;

    /// Raw HTTP routes claimed ahead of the model-based routing.
    fn raw_routes() -> Vec<RawRoute> {
        Vec::new()
    }

    /// Capabilities needed beyond the basic ones (e.g. `"containers"`, `"identity"`).
    fn capabilities() -> Vec<String> {
        Vec::new()
    }
}

/// The glue between the generated `service` export and a [`Service`].
pub mod glue {
    use std::sync::OnceLock;

    use super::{HttpRequest, Router, Service};
    use crate::__private::{
        Call, Descriptor, WitAwsError, WitContext, WitHttpRequest, WitHttpResponse,
    };
    use crate::Context;
    use crate::generated::exports::ministack::plugin::service::RawRoute as WitRawRoute;

    /// The router, built on first use and kept for the life of the instance
    /// (a fresh instance per request builds it once). A component exports
    /// exactly one service, so one static serves.
    pub fn router<S: Service>() -> &'static Router {
        static ROUTER: OnceLock<Router> = OnceLock::new();
        ROUTER.get_or_init(|| S::router().with_model(S::MODEL))
    }

    pub fn describe<S: Service>() -> Descriptor {
        Descriptor {
            name: S::NAME.to_string(),
            version: S::VERSION.to_string(),
            schema_version: S::SCHEMA_VERSION,
            model_json: S::MODEL.to_string(),
            implemented: router::<S>().operations(),
            raw_routes: S::raw_routes()
                .into_iter()
                .map(|r| WitRawRoute {
                    host_suffix: r.host_suffix,
                    path_prefix: r.path_prefix,
                })
                .collect(),
            capabilities: S::capabilities(),
        }
    }

    pub fn handle<S: Service>(call: Call) -> Result<String, WitAwsError> {
        let ctx = Context::from(call.ctx);
        router::<S>()
            .dispatch_owned(&ctx, &call.operation, call.input_json)
            .map_err(Into::into)
    }

    pub fn on_task<S: Service>(
        ctx: WitContext,
        name: String,
        payload: String,
    ) -> Result<(), WitAwsError> {
        let ctx = Context::from(ctx);
        router::<S>()
            .run_task(&ctx, &name, &payload)
            .map_err(Into::into)
    }

    pub fn handle_http<S: Service>(request: WitHttpRequest) -> WitHttpResponse {
        let ctx = Context::from(request.ctx);
        let response = router::<S>().serve_http(
            &ctx,
            HttpRequest {
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                body: request.body,
            },
        );
        WitHttpResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_member_is_found_at_the_top_level_only() {
        let text = r#"{"M": {"QueueUrl": "inner"}, "Entries": [{"QueueUrl": "x"}],
                       "QueueUrl": "http://h/1/q\u0041", "After": [1,"#;
        assert_eq!(
            top_level_string(text, "QueueUrl").as_deref(),
            Some("http://h/1/qA"),
            "found, and the broken rest is never read"
        );
        assert_eq!(top_level_string(r#"{"QueueUrl": 5}"#, "QueueUrl"), None);
        assert_eq!(top_level_string(r#"{"QueueUrl": null}"#, "QueueUrl"), None);
        assert_eq!(top_level_string(r#"{"Other": "x"}"#, "QueueUrl"), None);
        assert_eq!(top_level_string(r#"["QueueUrl"]"#, "QueueUrl"), None);
        assert_eq!(top_level_string("", "QueueUrl"), None);
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct EchoIn {
        name: String,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EchoOut {
        greeting: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        nothing: Option<String>,
    }

    fn echo(ctx: &Context, input: EchoIn) -> Result<EchoOut, AwsError> {
        if input.name.is_empty() {
            return Err(AwsError::validation_error("Name is empty"));
        }
        Ok(EchoOut {
            greeting: format!("hello {} in {}", input.name, ctx.account),
            nothing: None,
        })
    }

    const QUERY_MODEL: &str = r#"{"metadata":{"protocol":"query","protocols":["query"]}}"#;
    const JSON_MODEL: &str = r#"{"metadata":{"protocol":"json"}}"#;

    #[test]
    fn dispatches_typed_handlers() {
        let router = Router::new()
            .op("Echo", echo)
            .op("Nop", |_: &Context, _: Empty| Ok(Empty {}));
        let ctx = Context::for_test("123456789012", "us-east-1");
        let out = router.dispatch(&ctx, "Echo", r#"{"Name":"bob"}"#).unwrap();
        assert_eq!(out, r#"{"Greeting":"hello bob in 123456789012"}"#);
        assert_eq!(router.dispatch(&ctx, "Nop", "").unwrap(), "{}");
        assert_eq!(router.operations(), vec!["Echo", "Nop"]);
    }

    #[test]
    fn a_text_handler_gets_the_request_text() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let r = Router::new()
            .op_text("Echo", |_: &Context, text: &str| {
                Ok(serde_json::json!({ "Text": text }))
            })
            .with_model(JSON_MODEL);
        let out = r.dispatch(&ctx, "Echo", r#"{"Name":"x"}"#).unwrap();
        assert_eq!(out, r#"{"Text":"{\"Name\":\"x\"}"}"#);
        // An empty body is an empty object, as for typed handlers.
        assert_eq!(r.dispatch(&ctx, "Echo", " ").unwrap(), r#"{"Text":"{}"}"#);
    }

    #[test]
    fn input_errors_follow_the_protocol() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let query = Router::new().op("Echo", echo).with_model(QUERY_MODEL);
        let e = query.dispatch(&ctx, "Echo", r#"{"Name":5}"#).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e.extra.is_none());
        let json = Router::new().op("Echo", echo).with_model(JSON_MODEL);
        let e = json.dispatch(&ctx, "Echo", "{}").unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn unknown_operations_are_aws_errors() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let query = Router::new().with_model(QUERY_MODEL);
        assert_eq!(
            query.dispatch(&ctx, "Nope", "{}").unwrap_err().code,
            "InvalidAction"
        );
        let json = Router::new().with_model(JSON_MODEL);
        assert_eq!(
            json.dispatch(&ctx, "Nope", "{}").unwrap_err().code,
            "UnknownOperationException"
        );
    }

    #[test]
    fn handler_errors_pass_through() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = Router::new().op("Echo", echo).with_model(JSON_MODEL);
        let e = router.dispatch(&ctx, "Echo", r#"{"Name":""}"#).unwrap_err();
        assert_eq!(e.code, "ValidationError");
    }

    #[test]
    fn the_boot_hook_is_optional_and_takes_unit() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        // Unregistered: succeeds without logging (natively, a host log call
        // would panic).
        let router = Router::new();
        assert!(router.run_task(&ctx, crate::tasks::START_TASK, "").is_ok());
        // Registered: the host's empty payload reads as `()`.
        let router = Router::new().task(crate::tasks::START_TASK, |_: &Context, (): ()| {
            Err(AwsError::internal("ran"))
        });
        let e = router
            .run_task(&ctx, crate::tasks::START_TASK, "")
            .unwrap_err();
        assert_eq!(e.message, "ran");
    }
}
