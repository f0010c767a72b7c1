//! AWS Cloud Control API as a ministack plugin: CRUD-L on any resource
//! type a plugin provides, through the same resource handlers CloudFormation
//! uses (docs/resources.md). Requests run to their end before the call
//! returns (handlers answering IN_PROGRESS are polled), so every progress
//! event is final; GetResourceRequestStatus and ListResourceRequests read
//! the recorded ones (docs/services/cloudcontrol.md).

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    self, ProgressEvent, ResourceList, ResourceRequest, ResourceSchema, plugin_for,
};
use ministack_sdk::services::{self, Target};
use serde_json::{Map, Value, json};

mod patch;

ministack_sdk::include_shapes!(pub mod shapes);
use shapes::*;

pub struct CloudControl;

impl Service for CloudControl {
    const NAME: &'static str = "cloudcontrol";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("CreateResource", create_resource)
            .op("GetResource", get_resource)
            .op("UpdateResource", update_resource)
            .op("DeleteResource", delete_resource)
            .op("ListResources", list_resources)
            .op("GetResourceRequestStatus", get_resource_request_status)
            .op("ListResourceRequests", list_resource_requests)
            .op("CancelResourceRequest", cancel_resource_request)
    }
}

export_plugin!(CloudControl);

/// What Cloud Control knows of a resource it made: the desired state (the
/// handlers of some types cannot read everything back) and the attributes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Known {
    type_name: String,
    identifier: String,
    properties: Map<String, Value>,
    attributes: Map<String, Value>,
}

/// `<type>|<identifier>` → what was made through Cloud Control.
const RESOURCES: Table<Known> = Table::new("resources");
/// Request token → its (final) progress event.
const REQUESTS: Table<Value> = Table::new("requests");

fn key(type_name: &str, identifier: &str) -> String {
    format!("{type_name}|{identifier}")
}

fn type_not_found(type_name: &str) -> AwsError {
    AwsError::new(
        "TypeNotFoundException",
        format!("The type {type_name} cannot be found."),
    )
}

/// The type's schema from its plugin (TypeNotFoundException when none provides it).
fn schema(ctx: &Context, type_name: &str) -> Result<ResourceSchema, AwsError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Types {
        #[serde(default)]
        types: Vec<ResourceSchema>,
    }
    let plugin = plugin_for(type_name).ok_or_else(|| type_not_found(type_name))?;
    let out = services::call_json(&Target::new(&plugin, ctx), resources::TYPES_OPERATION, "{}")
        .map_err(|_| type_not_found(type_name))?;
    let types: Types = serde_json::from_str(&out).map_err(|_| type_not_found(type_name))?;
    types
        .types
        .into_iter()
        .find(|t| t.type_name == type_name)
        .ok_or_else(|| type_not_found(type_name))
}

/// Runs a handler to its end, polling while it answers IN_PROGRESS.
fn run(
    ctx: &Context,
    operation: &str,
    mut request: ResourceRequest,
) -> Result<ProgressEvent, AwsError> {
    let plugin =
        plugin_for(&request.type_name).ok_or_else(|| type_not_found(&request.type_name))?;
    let target = Target::new(&plugin, ctx);
    for _ in 0..600 {
        let input =
            serde_json::to_string(&request).map_err(|e| AwsError::internal(e.to_string()))?;
        let out = services::call_json(&target, operation, &input)?;
        let event: ProgressEvent = serde_json::from_str(&out)
            .map_err(|e| AwsError::internal(format!("bad handler reply: {e}")))?;
        match event.status.as_str() {
            "IN_PROGRESS" => {
                ministack_sdk::tasks::wait(
                    "cloudcontrol:never",
                    Duration::from_millis(event.retry_after_ms.clamp(50, 10_000)),
                );
                request.callback_context = event.callback_context.clone();
                if !event.physical_id.is_empty() {
                    request.physical_id = event.physical_id.clone();
                }
            }
            "FAILED" => return Err(AwsError::new(&event.error_code, event.message.clone())),
            _ => return Ok(event),
        }
    }
    Err(AwsError::new(
        "NotStabilizedException",
        "Resource did not stabilize",
    ))
}

/// Cloud Control's HandlerErrorCode for a service error.
fn handler_error_code(e: &AwsError) -> &'static str {
    let c = e.code.as_str();
    if c.contains("AlreadyExists") || c.contains("EntityAlreadyExists") || c == "QueueAlreadyExists"
    {
        "AlreadyExists"
    } else if c.contains("NotFound")
        || c.contains("NoSuch")
        || c.contains("NonExistent")
        || c.contains("DoesNotExist")
    {
        "NotFound"
    } else if c.contains("Validation")
        || c.contains("InvalidParameter")
        || c.contains("InvalidArgument")
        || c.contains("InvalidInput")
    {
        "InvalidRequest"
    } else if c.contains("Throttl") {
        "Throttling"
    } else if c.contains("LimitExceeded") {
        "ServiceLimitExceeded"
    } else if c == "NotUpdatableException" {
        "NotUpdatable"
    } else {
        "GeneralServiceException"
    }
}

/// Records and returns a progress event.
fn progress(
    type_name: &str,
    identifier: &str,
    operation: &str,
    result: &Result<Map<String, Value>, AwsError>,
) -> Result<Value, AwsError> {
    let token = ministack_sdk::ids::uuid();
    let mut event = json!({
        "TypeName": type_name,
        "RequestToken": token,
        "Operation": operation,
        "EventTime": ministack_sdk::time::now(),
    });
    if !identifier.is_empty() {
        event["Identifier"] = json!(identifier);
    }
    match result {
        Ok(model) => {
            event["OperationStatus"] = json!("SUCCESS");
            if !model.is_empty() {
                event["ResourceModel"] = json!(Value::Object(model.clone()).to_string());
            }
        }
        Err(e) => {
            event["OperationStatus"] = json!("FAILED");
            event["ErrorCode"] = json!(handler_error_code(e));
            event["StatusMessage"] = json!(if e.message.is_empty() {
                e.code.clone()
            } else {
                e.message.clone()
            });
        }
    }
    REQUESTS.put(&token, &event)?;
    Ok(json!({"ProgressEvent": event}))
}

fn desired(text: &str) -> Result<Map<String, Value>, AwsError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AwsError::new(
            "InvalidRequestException",
            "DesiredState must be a JSON object",
        )),
    }
}

/// The model Cloud Control reports: the desired state with the read-only
/// attributes and whatever the handler read back.
fn model(known: &Known, event: &ProgressEvent, schema: &ResourceSchema) -> Map<String, Value> {
    let mut m = known.properties.clone();
    for (k, v) in &event.properties {
        m.insert(k.clone(), v.clone());
    }
    for (k, v) in &known.attributes {
        if schema.read_only.contains(k) || schema.primary_identifier.contains(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    if let [id] = schema.primary_identifier.as_slice() {
        m.entry(id.clone())
            .or_insert_with(|| json!(known.identifier));
    }
    m
}

fn create_resource(ctx: &Context, input: CreateResourceInput) -> Result<Value, AwsError> {
    let properties = desired(&input.desired_state)?;
    let schema = schema(ctx, &input.type_name)?;
    let request = ResourceRequest {
        type_name: input.type_name.clone(),
        logical_id: input
            .type_name
            .split("::")
            .last()
            .unwrap_or("Resource")
            .to_string(),
        properties: properties.clone(),
        client_token: input.client_token.unwrap_or_default(),
        ..Default::default()
    };
    match run(ctx, resources::CREATE_OPERATION, request) {
        Ok(event) => {
            let known = Known {
                type_name: input.type_name.clone(),
                identifier: event.physical_id.clone(),
                properties,
                attributes: event.attributes.clone(),
            };
            RESOURCES.put(&key(&input.type_name, &known.identifier), &known)?;
            let m = model(&known, &event, &schema);
            progress(&input.type_name, &known.identifier, "CREATE", &Ok(m))
        }
        Err(e) => progress(&input.type_name, "", "CREATE", &Err(e)),
    }
}

/// What Cloud Control knows of a resource, or (made elsewhere) its
/// identifier alone.
fn known(type_name: &str, identifier: &str) -> Result<Known, AwsError> {
    Ok(RESOURCES
        .get(&key(type_name, identifier))?
        .unwrap_or_else(|| Known {
            type_name: type_name.to_string(),
            identifier: identifier.to_string(),
            ..Default::default()
        }))
}

fn not_found(type_name: &str, identifier: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("{type_name} with identifier '{identifier}' was not found"),
    )
}

fn read(ctx: &Context, known: &Known) -> Result<ProgressEvent, AwsError> {
    run(
        ctx,
        resources::READ_OPERATION,
        ResourceRequest {
            type_name: known.type_name.clone(),
            physical_id: known.identifier.clone(),
            properties: known.properties.clone(),
            ..Default::default()
        },
    )
}

fn get_resource(ctx: &Context, input: GetResourceInput) -> Result<Value, AwsError> {
    let schema = schema(ctx, &input.type_name)?;
    let known = known(&input.type_name, &input.identifier)?;
    let exists_here = RESOURCES.contains(&key(&input.type_name, &input.identifier));
    let event = match read(ctx, &known) {
        Ok(e) => e,
        Err(e) if handler_error_code(&e) == "NotFound" => {
            return Err(not_found(&input.type_name, &input.identifier));
        }
        Err(e) => return Err(e),
    };
    if !exists_here && event.properties.is_empty() {
        // A type that cannot read back, and a resource Cloud Control did not make.
        return Err(not_found(&input.type_name, &input.identifier));
    }
    Ok(json!({
        "TypeName": input.type_name,
        "ResourceDescription": {
            "Identifier": input.identifier,
            "Properties": Value::Object(model(&known, &event, &schema)).to_string(),
        },
    }))
}

fn update_resource(ctx: &Context, input: UpdateResourceInput) -> Result<Value, AwsError> {
    let schema = schema(ctx, &input.type_name)?;
    if !RESOURCES.contains(&key(&input.type_name, &input.identifier)) && !schema.listable {
        return Err(not_found(&input.type_name, &input.identifier));
    }
    let mut known = known(&input.type_name, &input.identifier)?;
    let patch: Value = serde_json::from_str(&input.patch_document)
        .map_err(|_| AwsError::new("InvalidRequestException", "PatchDocument is not valid JSON"))?;
    let mut doc = Value::Object(known.properties.clone());
    patch::apply(&mut doc, &patch).map_err(|m| AwsError::new("InvalidRequestException", m))?;
    let Value::Object(new) = doc else {
        return Err(AwsError::new(
            "InvalidRequestException",
            "The patched model is not an object",
        ));
    };
    if let Some(p) = schema
        .create_only
        .iter()
        .find(|p| new.get(p.as_str()) != known.properties.get(p.as_str()))
    {
        return progress(
            &input.type_name,
            &input.identifier,
            "UPDATE",
            &Err(AwsError::new(
                "NotUpdatableException",
                format!("Property {p} cannot be updated"),
            )),
        );
    }
    let request = ResourceRequest {
        type_name: input.type_name.clone(),
        physical_id: input.identifier.clone(),
        properties: new.clone(),
        previous_properties: known.properties.clone(),
        client_token: input.client_token.unwrap_or_default(),
        ..Default::default()
    };
    match run(ctx, resources::UPDATE_OPERATION, request) {
        Ok(event) => {
            known.properties = new;
            if !event.attributes.is_empty() {
                known.attributes = event.attributes.clone();
            }
            RESOURCES.put(&key(&input.type_name, &input.identifier), &known)?;
            let m = model(&known, &event, &schema);
            progress(&input.type_name, &input.identifier, "UPDATE", &Ok(m))
        }
        Err(e) => progress(&input.type_name, &input.identifier, "UPDATE", &Err(e)),
    }
}

fn delete_resource(ctx: &Context, input: DeleteResourceInput) -> Result<Value, AwsError> {
    schema(ctx, &input.type_name)?;
    let known = known(&input.type_name, &input.identifier)?;
    let request = ResourceRequest {
        type_name: input.type_name.clone(),
        physical_id: input.identifier.clone(),
        properties: known.properties.clone(),
        client_token: input.client_token.unwrap_or_default(),
        ..Default::default()
    };
    let result = run(ctx, resources::DELETE_OPERATION, request).map(|_| Map::new());
    if result.is_ok() {
        RESOURCES.delete(&key(&input.type_name, &input.identifier));
    }
    progress(&input.type_name, &input.identifier, "DELETE", &result)
}

fn list_resources(ctx: &Context, input: ListResourcesInput) -> Result<Value, AwsError> {
    let schema = schema(ctx, &input.type_name)?;
    let descriptions: Vec<Value> = if schema.listable {
        let plugin =
            plugin_for(&input.type_name).ok_or_else(|| type_not_found(&input.type_name))?;
        let request = ResourceRequest {
            type_name: input.type_name.clone(),
            next_token: input.next_token.clone(),
            ..Default::default()
        };
        let out = services::call_json(
            &Target::new(&plugin, ctx),
            resources::LIST_OPERATION,
            &serde_json::to_string(&request).map_err(|e| AwsError::internal(e.to_string()))?,
        )?;
        let list: ResourceList =
            serde_json::from_str(&out).map_err(|e| AwsError::internal(e.to_string()))?;
        list.resources
            .iter()
            .map(|r| json!({"Identifier": r.physical_id, "Properties": Value::Object(r.properties.clone()).to_string()}))
            .collect()
    } else {
        // Types without a list handler: what Cloud Control made.
        RESOURCES
            .values(&format!("{}|", input.type_name))?
            .into_iter()
            .map(|k| {
                let m = model(&k, &ProgressEvent::default(), &schema);
                json!({"Identifier": k.identifier, "Properties": Value::Object(m).to_string()})
            })
            .collect()
    };
    Ok(json!({"TypeName": input.type_name, "ResourceDescriptions": descriptions}))
}

fn get_resource_request_status(
    _: &Context,
    input: GetResourceRequestStatusInput,
) -> Result<Value, AwsError> {
    let event = REQUESTS.get(&input.request_token)?.ok_or_else(|| {
        AwsError::new(
            "RequestTokenNotFoundException",
            format!("Request with token {} was not found", input.request_token),
        )
    })?;
    Ok(json!({"ProgressEvent": event}))
}

fn list_resource_requests(
    _: &Context,
    input: ListResourceRequestsInput,
) -> Result<Value, AwsError> {
    let filter = input.resource_request_status_filter.unwrap_or_default();
    let ops: Vec<String> = filter
        .operations
        .unwrap_or_default()
        .iter()
        .map(|o| o.as_str().to_string())
        .collect();
    let statuses: Vec<String> = filter
        .operation_statuses
        .unwrap_or_default()
        .iter()
        .map(|o| o.as_str().to_string())
        .collect();
    let mut list: Vec<Value> = REQUESTS
        .values("")?
        .into_iter()
        .filter(|e| ops.is_empty() || ops.iter().any(|o| e["Operation"] == json!(o)))
        .filter(|e| {
            statuses.is_empty() || statuses.iter().any(|s| e["OperationStatus"] == json!(s))
        })
        .collect();
    list.sort_by(|a, b| {
        b["EventTime"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a["EventTime"].as_f64().unwrap_or(0.0))
    });
    Ok(json!({"ResourceRequestStatusSummaries": list}))
}

fn cancel_resource_request(
    _: &Context,
    input: CancelResourceRequestInput,
) -> Result<Value, AwsError> {
    let event = REQUESTS.get(&input.request_token)?.ok_or_else(|| {
        AwsError::new(
            "RequestTokenNotFoundException",
            format!("Request with token {} was not found", input.request_token),
        )
    })?;
    // Every request has already finished: nothing is left to cancel.
    Err(AwsError::new(
        "ConcurrentModificationException",
        format!(
            "Request {} is in status {} and cannot be cancelled",
            input.request_token,
            event["OperationStatus"].as_str().unwrap_or_default()
        ),
    ))
}
