//! Resource handlers: the CloudFormation / Cloud Control types a plugin
//! provides (see docs/resources.md).
//!
//! A plugin owns its resource types: it declares each one (name, primary
//! identifier, required / create-only / read-only properties, `Fn::GetAtt`
//! attributes) and implements create / read / update / delete / list with
//! its own operation code. The `cloudformation` and `cloudcontrol` plugins
//! only orchestrate: they reach the handlers through `services.call` with
//! the reserved operation names below, which the host routes to the plugin
//! like any call between plugins but which no client can send (they are not
//! in any model). A plugin that registers no resource answers
//! [`TYPES_OPERATION`] with an empty list; a plugin built before handlers
//! existed answers it with its unknown-operation error, which callers read
//! as "no types".
//!
//! ```text
//! Router::new()
//!     .op("CreateQueue", create_queue)
//!     .resource(
//!         ResourceType::new("AWS::SQS::Queue", queue_create, queue_delete)
//!             .primary_identifier(&["QueueUrl"])
//!             .create_only(&["QueueName", "FifoQueue"])
//!             .attributes(&["Arn", "QueueName", "QueueUrl"])
//!             .update(queue_update),
//!     )
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{AwsError, Context};

/// Operation listing the plugin's types: `{}` → `{"Types": [ResourceSchema]}`.
pub const TYPES_OPERATION: &str = "ministack:resource-types";
/// `ResourceRequest` → [`ProgressEvent`].
pub const CREATE_OPERATION: &str = "ministack:resource-create";
/// `ResourceRequest` (`PhysicalId`) → [`ProgressEvent`] (`Properties` as read back).
pub const READ_OPERATION: &str = "ministack:resource-read";
/// `ResourceRequest` (`PhysicalId`, `Properties`, `PreviousProperties`) → [`ProgressEvent`].
pub const UPDATE_OPERATION: &str = "ministack:resource-update";
/// `ResourceRequest` (`PhysicalId`, `Properties`) → [`ProgressEvent`].
pub const DELETE_OPERATION: &str = "ministack:resource-delete";
/// `ResourceRequest` (`TypeName`, `NextToken`) → [`ResourceList`].
pub const LIST_OPERATION: &str = "ministack:resource-list";

/// Every reserved operation name begins with this (the host lets plugin
/// callers through with it; clients never reach it).
pub const RESERVED_PREFIX: &str = "ministack:";

/// The plugin that provides a type: its service namespace, lowercased
/// (`AWS::SQS::Queue` → `sqs`, `Acme::Widgets::Thing` → `widgets`), with
/// the AWS namespaces whose plugin is named otherwise.
pub fn plugin_for(type_name: &str) -> Option<String> {
    let mut parts = type_name.split("::");
    let (_, service, _) = (parts.next()?, parts.next()?, parts.next()?);
    Some(match service {
        "KinesisFirehose" => "firehose".to_string(),
        other => other.to_ascii_lowercase(),
    })
}

/// What a plugin declares about one of its types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceSchema {
    /// e.g. `AWS::SQS::Queue`.
    pub type_name: String,
    /// Properties that together identify a resource (what `Ref` returns is
    /// the physical id, made from them).
    pub primary_identifier: Vec<String>,
    /// Properties a template must set.
    pub required: Vec<String>,
    /// Properties whose change replaces the resource.
    pub create_only: Vec<String>,
    /// Properties only the service sets (read back, never written).
    pub read_only: Vec<String>,
    /// Names `Fn::GetAtt` accepts.
    pub attributes: Vec<String>,
    /// False when changes always replace the resource (no update handler).
    pub updatable: bool,
    /// True when the type has a list handler.
    pub listable: bool,
}

/// One handler call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceRequest {
    pub type_name: String,
    /// The template's logical id (names generated for unnamed resources use it).
    pub logical_id: String,
    /// Stack name ("" from Cloud Control).
    pub stack_name: String,
    /// The resource's id ("" on create).
    pub physical_id: String,
    /// Desired properties (create, update) or last known ones (delete).
    pub properties: Map<String, Value>,
    /// Properties before an update.
    pub previous_properties: Map<String, Value>,
    /// What an `IN_PROGRESS` event handed back; the caller calls again with it.
    pub callback_context: Option<Value>,
    /// Paging of list.
    pub next_token: Option<String>,
    /// Idempotency token of the caller (a stack id + logical id, or Cloud Control's).
    pub client_token: String,
}

impl ResourceRequest {
    /// A property as a string.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(Value::as_str)
    }

    /// A property as a string, or an error naming it.
    pub fn required_str(&self, name: &str) -> Result<&str, AwsError> {
        self.str(name).ok_or_else(|| {
            AwsError::validation(format!(
                "Property validation failure: [The property {name} of {} is required and must be a string]",
                self.type_name
            ))
        })
    }

    /// The name property `prop` when the template gives one, else a
    /// [generated name](Self::generated_name) of at most `max_len`.
    pub fn name_or_generated(&self, prop: &str, max_len: usize) -> String {
        self.str(prop)
            .map(str::to_string)
            .unwrap_or_else(|| self.generated_name(max_len))
    }

    /// A name for an unnamed resource: `<stack>-<logical id>-<random>`, cut
    /// to `max_len` (AWS's pattern for generated names).
    /// With a client token the suffix derives from it, so a request
    /// repeated with the same token (a deployment resumed after a restart,
    /// a Cloud Control retry) names the same resource.
    pub fn generated_name(&self, max_len: usize) -> String {
        let suffix = if self.client_token.is_empty() {
            crate::ids::upper_alnum(12)
        } else {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let digest = crate::hash::sha256(
                format!("{}\n{}", self.client_token, self.logical_id).as_bytes(),
            );
            digest[..12]
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect()
        };
        let stack = if self.stack_name.is_empty() {
            "resource"
        } else {
            &self.stack_name
        };
        let mut head = format!("{stack}-{}", self.logical_id);
        let room = max_len.saturating_sub(suffix.len() + 1);
        if head.len() > room {
            head.truncate(room);
        }
        format!("{head}-{suffix}")
    }

    /// A property decoded into a serde type (e.g. a generated shape).
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, AwsError> {
        match self.properties.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
                AwsError::validation(format!(
                    "Property validation failure: [Value of property {name} of {} does not match its type: {e}]",
                    self.type_name
                ))
            }),
        }
    }
}

/// Where a handler call ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProgressEvent {
    /// `SUCCESS`, `IN_PROGRESS` (call again after `RetryAfterMs` with
    /// `CallbackContext`), or `FAILED` (with `ErrorCode` and `Message`).
    pub status: String,
    pub physical_id: String,
    /// The resource's properties (as read back, when the handler knows them).
    pub properties: Map<String, Value>,
    /// Values for `Fn::GetAtt`.
    pub attributes: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_context: Option<Value>,
    pub retry_after_ms: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl ProgressEvent {
    /// Done: the resource `physical_id` exists.
    pub fn success(physical_id: impl Into<String>) -> Self {
        ProgressEvent {
            status: "SUCCESS".to_string(),
            physical_id: physical_id.into(),
            ..Default::default()
        }
    }

    /// Not done: call again after `retry_after_ms` with `context`.
    pub fn in_progress(
        physical_id: impl Into<String>,
        context: Value,
        retry_after_ms: u64,
    ) -> Self {
        ProgressEvent {
            status: "IN_PROGRESS".to_string(),
            physical_id: physical_id.into(),
            callback_context: Some(context),
            retry_after_ms,
            ..Default::default()
        }
    }

    /// Adds a `Fn::GetAtt` value.
    pub fn attr(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_string(), value.into());
        self
    }

    /// Sets the properties read back.
    pub fn with_properties(mut self, properties: Map<String, Value>) -> Self {
        self.properties = properties;
        self
    }
}

/// A page of list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceList {
    pub resources: Vec<ProgressEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A handler: create, read, update or delete.
pub type Handler = fn(&Context, &ResourceRequest) -> Result<ProgressEvent, AwsError>;
/// A list handler.
pub type ListHandler = fn(&Context, &ResourceRequest) -> Result<ResourceList, AwsError>;

/// One type a plugin provides, with its handlers.
#[derive(Clone)]
pub struct ResourceType {
    pub schema: ResourceSchema,
    pub create: Handler,
    pub delete: Handler,
    /// None: every change replaces the resource.
    pub update: Option<Handler>,
    /// None: read answers with the properties the caller passed (what the
    /// plugin created them with).
    pub read: Option<Handler>,
    pub list: Option<ListHandler>,
}

impl ResourceType {
    pub fn new(type_name: &str, create: Handler, delete: Handler) -> Self {
        ResourceType {
            schema: ResourceSchema {
                type_name: type_name.to_string(),
                ..Default::default()
            },
            create,
            delete,
            update: None,
            read: None,
            list: None,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    pub fn primary_identifier(mut self, names: &[&str]) -> Self {
        self.schema.primary_identifier = Self::names(names);
        self
    }
    pub fn required(mut self, names: &[&str]) -> Self {
        self.schema.required = Self::names(names);
        self
    }
    pub fn create_only(mut self, names: &[&str]) -> Self {
        self.schema.create_only = Self::names(names);
        self
    }
    pub fn read_only(mut self, names: &[&str]) -> Self {
        self.schema.read_only = Self::names(names);
        self
    }
    pub fn attributes(mut self, names: &[&str]) -> Self {
        self.schema.attributes = Self::names(names);
        self
    }
    pub fn update(mut self, handler: Handler) -> Self {
        self.update = Some(handler);
        self.schema.updatable = true;
        self
    }
    pub fn read(mut self, handler: Handler) -> Self {
        self.read = Some(handler);
        self
    }
    pub fn list(mut self, handler: ListHandler) -> Self {
        self.list = Some(handler);
        self.schema.listable = true;
        self
    }

    /// Checks the required properties, then runs `handler`.
    fn run(
        &self,
        ctx: &Context,
        handler: Handler,
        request: &ResourceRequest,
    ) -> Result<ProgressEvent, AwsError> {
        if let Some(missing) = self
            .schema
            .required
            .iter()
            .find(|p| !request.properties.contains_key(p.as_str()))
        {
            return Err(AwsError::validation(format!(
                "Properties validation failed for resource {} with message: #: required key [{missing}] not found",
                request.logical_id
            )));
        }
        handler(ctx, request)
    }
}

/// The types registered on a router, served through the reserved operations.
#[derive(Default, Clone)]
pub struct Registry {
    types: Vec<ResourceType>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TypesOutput<'a> {
    types: Vec<&'a ResourceSchema>,
}

impl Registry {
    pub fn add(&mut self, resource: ResourceType) {
        self.types
            .retain(|t| t.schema.type_name != resource.schema.type_name);
        self.types.push(resource);
    }

    pub fn schemas(&self) -> Vec<&ResourceSchema> {
        self.types.iter().map(|t| &t.schema).collect()
    }

    /// Answers a reserved operation; None when `operation` is not one.
    pub fn dispatch(
        &self,
        ctx: &Context,
        operation: &str,
        input_json: &str,
    ) -> Option<Result<String, AwsError>> {
        let op = operation.strip_prefix(RESERVED_PREFIX)?;
        if !op.starts_with("resource-") {
            return None;
        }
        Some(self.serve(ctx, operation, input_json))
    }

    fn serve(&self, ctx: &Context, operation: &str, input_json: &str) -> Result<String, AwsError> {
        let to_json = |v: &dyn erased::Ser| v.json();
        if operation == TYPES_OPERATION {
            return to_json(&TypesOutput {
                types: self.schemas(),
            });
        }
        let request: ResourceRequest = serde_json::from_str(if input_json.trim().is_empty() {
            "{}"
        } else {
            input_json
        })
        .map_err(|e| AwsError::validation(format!("Invalid resource request: {e}")))?;
        let Some(resource) = self
            .types
            .iter()
            .find(|t| t.schema.type_name == request.type_name)
        else {
            return Err(AwsError::new(
                "TypeNotFoundException",
                format!(
                    "Resource type {} is not provided by this plugin",
                    request.type_name
                ),
            )
            .with_status(404));
        };
        match operation {
            CREATE_OPERATION => to_json(&resource.run(ctx, resource.create, &request)?),
            DELETE_OPERATION => to_json(&(resource.delete)(ctx, &request)?),
            UPDATE_OPERATION => match resource.update {
                Some(update) => to_json(&resource.run(ctx, update, &request)?),
                None => Err(AwsError::new(
                    "NotUpdatableException",
                    format!("{} cannot be updated in place", request.type_name),
                )
                .with_status(400)),
            },
            READ_OPERATION => match resource.read {
                Some(read) => to_json(&read(ctx, &request)?),
                None => to_json(
                    &ProgressEvent::success(request.physical_id.clone())
                        .with_properties(request.properties.clone()),
                ),
            },
            LIST_OPERATION => match resource.list {
                Some(list) => to_json(&list(ctx, &request)?),
                None => Err(AwsError::new(
                    "UnsupportedActionException",
                    format!(
                        "Resource type {} does not support LIST action",
                        request.type_name
                    ),
                )
                .with_status(400)),
            },
            _ => Err(AwsError::new(
                "InvalidAction",
                format!("Unknown resource operation {operation}"),
            )
            .with_status(400)),
        }
    }
}

/// Serializing a value of either output type without generics in `serve`.
mod erased {
    use crate::AwsError;

    pub trait Ser {
        fn json(&self) -> Result<String, AwsError>;
    }

    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> Result<String, AwsError> {
            crate::json::to_string(self)
                .map_err(|e| AwsError::internal(format!("cannot encode a resource reply: {e}")))
        }
    }
}

/// Runs one of the plugin's own operations (JSON in, JSON out), as a
/// request would: resource handlers reuse the operation code this way, so
/// a resource behaves exactly as one made through the API.
pub fn call_own<S: crate::Service>(
    ctx: &Context,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let out = crate::router::glue::router::<S>().dispatch(ctx, operation, &input.to_string())?;
    serde_json::from_str(&out).map_err(|e| AwsError::internal(format!("{operation} output: {e}")))
}

/// Template properties → the input of `operation` as `S`'s model defines
/// it: members the input shape lacks are dropped (CloudFormation-only
/// properties), and text is turned into the number or boolean the model
/// asks for, at any depth (templates write `"60"` and `"true"` as often as
/// `60` and `true`). Most resource types mirror their create operation's
/// input, so a handler is this call plus the name. The model is parsed per
/// call: resource handlers run rarely, and a cache would cost every plugin
/// memory for nothing.
pub fn model_input<S: crate::Service>(operation: &str, properties: &Map<String, Value>) -> Value {
    let model: Value = serde_json::from_str(S::MODEL).unwrap_or_default();
    let shape = model["operations"][operation]["input"]["shape"]
        .as_str()
        .unwrap_or_default();
    conform(&model["shapes"], shape, &Value::Object(properties.clone())).unwrap_or(Value::Null)
}

/// `value` shaped as model shape `name` (None: nothing of it fits).
fn conform(shapes: &Value, name: &str, value: &Value) -> Option<Value> {
    let shape = &shapes[name];
    let text = || value_text(value);
    match shape["type"].as_str().unwrap_or_default() {
        "structure" => {
            let given = value.as_object()?;
            let members = shape["members"].as_object()?;
            let out: Map<String, Value> = given
                .iter()
                .filter_map(|(k, v)| {
                    let member = members.get(k)?["shape"].as_str()?;
                    Some((k.clone(), conform(shapes, member, v)?))
                })
                .collect();
            Some(Value::Object(out))
        }
        "list" => {
            let member = shape["member"]["shape"].as_str()?;
            let items = value.as_array()?;
            Some(Value::Array(
                items
                    .iter()
                    .filter_map(|v| conform(shapes, member, v))
                    .collect(),
            ))
        }
        "map" => {
            let member = shape["value"]["shape"].as_str()?;
            let given = value.as_object()?;
            Some(Value::Object(
                given
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), conform(shapes, member, v)?)))
                    .collect(),
            ))
        }
        "integer" | "long" => text().parse::<i64>().ok().map(Value::from),
        "float" | "double" => text().parse::<f64>().ok().map(Value::from),
        "boolean" => match text().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "string" | "timestamp" => match value {
            Value::Object(_) | Value::Array(_) => Some(Value::String(value.to_string())),
            _ => Some(Value::String(text())),
        },
        _ => Some(value.clone()),
    }
}

/// The string value of `name` in `properties`.
pub fn prop_str<'a>(properties: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    properties.get(name).and_then(Value::as_str)
}

/// Tags as CloudFormation writes them (`[{"Key","Value"}]`) → pairs.
pub fn tags(properties: &Map<String, Value>) -> Vec<(String, String)> {
    properties
        .get("Tags")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|t| {
                    Some((
                        t.get("Key")?.as_str()?.to_string(),
                        value_text(t.get("Value")?),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A property value as the string an API member takes (numbers and
/// booleans are written as text in templates as often as not).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(_: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
        Ok(ProgressEvent::success(r.required_str("Name")?).attr("Arn", "arn:x"))
    }
    fn delete(_: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
        Ok(ProgressEvent::success(r.physical_id.clone()))
    }

    #[test]
    fn serves_the_reserved_operations() {
        let mut registry = Registry::default();
        registry.add(
            ResourceType::new("X::Y::Z", create, delete)
                .required(&["Name"])
                .attributes(&["Arn"]),
        );
        let ctx = Context::for_test("123456789012", "us-east-1");
        let types = registry
            .dispatch(&ctx, TYPES_OPERATION, "{}")
            .unwrap()
            .unwrap();
        assert!(types.contains("\"TypeName\":\"X::Y::Z\""), "{types}");
        let out = registry
            .dispatch(
                &ctx,
                CREATE_OPERATION,
                r#"{"TypeName":"X::Y::Z","Properties":{"Name":"n"}}"#,
            )
            .unwrap()
            .unwrap();
        let event: ProgressEvent = serde_json::from_str(&out).unwrap();
        assert_eq!(event.physical_id, "n");
        assert_eq!(event.attributes["Arn"], "arn:x");
        let e = registry
            .dispatch(&ctx, CREATE_OPERATION, r#"{"TypeName":"X::Y::Z"}"#)
            .unwrap()
            .unwrap_err();
        assert!(e.message.contains("required key [Name]"), "{}", e.message);
        let e = registry
            .dispatch(&ctx, UPDATE_OPERATION, r#"{"TypeName":"X::Y::Z"}"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code, "NotUpdatableException");
        assert!(registry.dispatch(&ctx, "CreateQueue", "{}").is_none());
    }
    #[test]
    fn properties_conform_to_the_model() {
        let shapes = serde_json::json!({
            "In": {"type": "structure", "members": {
                "Name": {"shape": "S"}, "Hints": {"shape": "H"}, "Tags": {"shape": "L"}}},
            "H": {"type": "structure", "members": {"Size": {"shape": "I"}, "On": {"shape": "B"}}},
            "L": {"type": "list", "member": {"shape": "S"}},
            "S": {"type": "string"}, "I": {"type": "integer"}, "B": {"type": "boolean"}
        });
        let given = serde_json::json!({
            "Name": "n", "Hints": {"Size": "5", "On": "true"}, "Tags": ["a", 1], "CfnOnly": 1
        });
        assert_eq!(
            conform(&shapes, "In", &given).unwrap(),
            serde_json::json!({"Name": "n", "Hints": {"Size": 5, "On": true}, "Tags": ["a", "1"]})
        );
    }
}
