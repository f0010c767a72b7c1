//! The deployment engine: a durable task (`deploy`) walks a stack's
//! operation resource by resource, calling each type's handler in the
//! plugin that provides it. Every handler call goes through
//! `services.call`, which commits what was written before it, so the
//! stack's record and events are saved as the deployment goes: after a
//! restart the task runs again and skips what is done.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{self, ResourceSchema};
use ministack_sdk::services::{self, Target};
use ministack_sdk::tasks;
use serde_json::{Map, Value, json};

use crate::stacks::{self, EXPORTS, Export, NAMES, OutputRecord, Resource, Stack};
use crate::template::{self, Deployed, Env};

pub const DEPLOY_TASK: &str = "deploy";

#[derive(Debug, Serialize, Deserialize)]
pub struct DeployPayload {
    pub stack_id: String,
}

/// Types the engine itself provides (no plugin owns them).
fn internal(type_name: &str) -> bool {
    matches!(
        type_name,
        "AWS::CloudFormation::WaitConditionHandle"
            | "AWS::CloudFormation::WaitCondition"
            | "AWS::CDK::Metadata"
    )
}

pub use ministack_sdk::resources::plugin_for;

/// Calls handlers and caches the plugins' schemas for one task run.
#[derive(Default)]
pub struct Handlers {
    schemas: HashMap<String, Vec<ResourceSchema>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypesOutput {
    #[serde(default)]
    types: Vec<ResourceSchema>,
}

fn unsupported(type_name: &str) -> AwsError {
    AwsError::validation_error(format!(
        "Template format error: Unrecognized resource types: [{type_name}]"
    ))
}

impl Handlers {
    /// The schema of a type, or an error when no loaded plugin provides it.
    pub fn schema(&mut self, ctx: &Context, type_name: &str) -> Result<ResourceSchema, AwsError> {
        if internal(type_name) {
            return Ok(ResourceSchema {
                type_name: type_name.to_string(),
                updatable: true,
                ..Default::default()
            });
        }
        let plugin = plugin_for(type_name).ok_or_else(|| unsupported(type_name))?;
        if !self.schemas.contains_key(&plugin) {
            // A plugin that is not loaded, or predates resource handlers,
            // provides no types.
            let types =
                services::call_json(&Target::new(&plugin, ctx), resources::TYPES_OPERATION, "{}")
                    .ok()
                    .and_then(|out| serde_json::from_str::<TypesOutput>(&out).ok())
                    .map(|t| t.types)
                    .unwrap_or_default();
            self.schemas.insert(plugin.clone(), types);
        }
        self.schemas[&plugin]
            .iter()
            .find(|s| s.type_name == type_name)
            .cloned()
            .ok_or_else(|| unsupported(type_name))
    }

    /// Runs a handler to its end (polling while it answers IN_PROGRESS).
    pub fn run(
        &mut self,
        ctx: &Context,
        operation: &str,
        mut request: resources::ResourceRequest,
    ) -> Result<resources::ProgressEvent, AwsError> {
        if internal(&request.type_name) {
            let id = if request.physical_id.is_empty() {
                format!(
                    "{}-{}",
                    request.logical_id,
                    ministack_sdk::ids::upper_alnum(12)
                )
            } else {
                request.physical_id.clone()
            };
            return Ok(resources::ProgressEvent::success(id).attr("Data", "{}"));
        }
        let plugin =
            plugin_for(&request.type_name).ok_or_else(|| unsupported(&request.type_name))?;
        let target = Target::new(&plugin, ctx);
        for _ in 0..600 {
            let input =
                serde_json::to_string(&request).map_err(|e| AwsError::internal(e.to_string()))?;
            let out = services::call_json(&target, operation, &input)?;
            let event: resources::ProgressEvent = serde_json::from_str(&out)
                .map_err(|e| AwsError::internal(format!("bad handler reply from {plugin}: {e}")))?;
            match event.status.as_str() {
                "IN_PROGRESS" => {
                    tasks::wait(
                        "cloudformation:never",
                        Duration::from_millis(event.retry_after_ms.clamp(50, 10_000)),
                    );
                    request.callback_context = event.callback_context.clone();
                    if !event.physical_id.is_empty() {
                        request.physical_id = event.physical_id.clone();
                    }
                }
                "FAILED" => {
                    let code = if event.error_code.is_empty() {
                        "GeneralServiceException"
                    } else {
                        &event.error_code
                    };
                    return Err(AwsError::new(code, event.message.clone()));
                }
                _ => return Ok(event),
            }
        }
        Err(AwsError::internal("Resource stabilization timed out"))
    }
}

/// True for errors that mean "it is already gone" (deletes succeed then).
fn gone(e: &AwsError) -> bool {
    let c = e.code.as_str();
    c.contains("NotFound")
        || c.contains("NoSuch")
        || c.contains("NonExistent")
        || c == "QueueDoesNotExist"
        || c == "AWS.SimpleQueueService.NonExistentQueue"
}

/// The environment intrinsics read for `stack` with `template` and `parameters`.
pub fn environment(
    ctx: &Context,
    stack: &Stack,
    template: &Value,
    parameters: &BTreeMap<String, String>,
) -> Result<Env, AwsError> {
    let mut env = Env {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        partition: ctx.partition().to_string(),
        stack_name: stack.stack_name.clone(),
        stack_id: stack.stack_id.clone(),
        parameters: template::resolve_parameters(template, parameters)?,
        mappings: template::section(template, "Mappings").clone(),
        notification_arns: stack.notification_arns.clone(),
        ..Default::default()
    };
    resolve_ssm_parameters(ctx, template, &mut env)?;
    env.declared = template::section(template, "Resources")
        .keys()
        .cloned()
        .collect();
    for (name, r) in &stack.resources {
        if !r.physical_id.is_empty() && !r.status.starts_with("DELETE") {
            env.resources.insert(
                name.clone(),
                Deployed {
                    physical_id: r.physical_id.clone(),
                    attributes: r.attributes.clone(),
                },
            );
        }
    }
    for (_, export) in EXPORTS.scan(&Scan::all())? {
        env.exports.insert(export.name, export.value);
    }
    template::resolve_conditions(&mut env, template)?;
    crate::rules::check(&env, template)?;
    Ok(env)
}

/// `AWS::SSM::Parameter::Value<...>` parameters hold a parameter name:
/// their value is the parameter's, read from the SSM plugin.
fn resolve_ssm_parameters(ctx: &Context, template: &Value, env: &mut Env) -> Result<(), AwsError> {
    for (name, decl) in template::section(template, "Parameters") {
        let ty = decl.get("Type").map(template::text).unwrap_or_default();
        if !ty.starts_with("AWS::SSM::Parameter::Value<") {
            continue;
        }
        let Some(Value::String(param)) = env.parameters.get(name).cloned() else {
            continue;
        };
        let value = ssm_value(ctx, &param, false).map_err(|_| {
            AwsError::validation_error(format!(
                "Parameter {name} is of type {ty}: SSM parameter {param} was not found"
            ))
        })?;
        let value = if ty.contains("List<") || ty.contains("CommaDelimitedList") {
            json!(value.split(',').collect::<Vec<_>>())
        } else {
            json!(value)
        };
        env.parameters.insert(name.clone(), value);
    }
    Ok(())
}

fn ssm_value(ctx: &Context, name: &str, decrypt: bool) -> Result<String, AwsError> {
    let out: Value = services::call(
        &Target::new("ssm", ctx),
        "GetParameter",
        &json!({"Name": name, "WithDecryption": decrypt}),
    )?;
    Ok(template::text(&out["Parameter"]["Value"]))
}

/// Replaces `{{resolve:ssm:...}}`, `{{resolve:ssm-secure:...}}` and
/// `{{resolve:secretsmanager:...}}` in every string of `v`.
pub fn dynamic_references(ctx: &Context, v: &mut Value) -> Result<(), AwsError> {
    match v {
        Value::String(s) if s.contains("{{resolve:") => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{resolve:") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 10..];
                let end = after.find("}}").ok_or_else(|| {
                    AwsError::validation_error("Incorrect format of dynamic reference")
                })?;
                out.push_str(&resolve_one(ctx, &after[..end])?);
                rest = &after[end + 2..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => {
            for x in a {
                dynamic_references(ctx, x)?;
            }
        }
        Value::Object(m) => {
            for x in m.values_mut() {
                dynamic_references(ctx, x)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn resolve_one(ctx: &Context, reference: &str) -> Result<String, AwsError> {
    let (service, rest) = reference
        .split_once(':')
        .ok_or_else(|| AwsError::validation_error("Incorrect format of dynamic reference"))?;
    match service {
        "ssm" | "ssm-secure" => {
            // name[:version]
            let name = match rest.rsplit_once(':') {
                Some((n, v)) if v.chars().all(|c| c.is_ascii_digit()) => format!("{n}:{v}"),
                _ => rest.to_string(),
            };
            ssm_value(ctx, &name, service == "ssm-secure")
        }
        "secretsmanager" => {
            // secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]; an
            // ARN secret id has colons of its own.
            let (id, tail) = match rest.find(":SecretString") {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let parts: Vec<&str> = tail.split(':').collect();
            let mut input = json!({"SecretId": id});
            if let Some(stage) = parts.get(2).filter(|s| !s.is_empty()) {
                input["VersionStage"] = json!(stage);
            }
            if let Some(version) = parts.get(3).filter(|s| !s.is_empty()) {
                input["VersionId"] = json!(version);
            }
            let out: Value = services::call(
                &Target::new("secretsmanager", ctx),
                "GetSecretValue",
                &input,
            )?;
            let secret = template::text(&out["SecretString"]);
            match parts.get(1).filter(|s| !s.is_empty()) {
                Some(key) => {
                    let parsed: Value = serde_json::from_str(&secret)
                        .map_err(|_| AwsError::validation_error("Secret is not a JSON object"))?;
                    parsed.get(*key).map(template::text).ok_or_else(|| {
                        AwsError::validation_error(format!("Secret has no key {key}"))
                    })
                }
                None => Ok(secret),
            }
        }
        other => Err(AwsError::validation_error(format!(
            "Unsupported dynamic reference service {other}"
        ))),
    }
}

/// The task: runs the stack's pending operation to its end.
pub fn run(ctx: &Context, payload: DeployPayload) -> Result<(), AwsError> {
    let Some(mut stack) = stacks::STACKS.get(&payload.stack_id)? else {
        return Ok(());
    };
    let Some(op) = stack.operation.clone() else {
        return Ok(());
    };
    let mut handlers = Handlers::default();
    match op.kind.as_str() {
        "CREATE" | "UPDATE" => deploy(ctx, &mut stack, &mut handlers),
        "DELETE" => delete_stack(ctx, &mut stack, &mut handlers),
        _ => Ok(()),
    }
}

fn resource_error(e: &AwsError) -> String {
    if e.message.is_empty() {
        e.code.clone()
    } else {
        format!("{} (Service: {}, Status Code: 400)", e.message, e.code)
    }
}

/// Properties of a resource evaluated in `env`, dynamic references resolved.
fn properties(ctx: &Context, env: &Env, def: &Value) -> Result<Map<String, Value>, AwsError> {
    let mut props = match def.get("Properties") {
        Some(p) => env.eval(p).map_err(AwsError::from)?,
        None => json!({}),
    };
    dynamic_references(ctx, &mut props)?;
    match props {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(template::format_error("Properties must be an object")),
    }
}

fn request(stack: &Stack, logical: &str, type_name: &str) -> resources::ResourceRequest {
    resources::ResourceRequest {
        type_name: type_name.to_string(),
        logical_id: logical.to_string(),
        stack_name: stack.stack_name.clone(),
        client_token: format!("{}/{logical}", stack.stack_id),
        ..Default::default()
    }
}

/// Creates or updates every resource of the operation's template.
fn deploy(ctx: &Context, stack: &mut Stack, handlers: &mut Handlers) -> Result<(), AwsError> {
    let mut op = stack.operation.clone().unwrap_or_default();
    let creating = op.kind == "CREATE";
    let prefix = if creating { "CREATE" } else { "UPDATE" };
    if op.failure.is_none()
        && let Err(e) = deploy_resources(ctx, stack, &mut op, handlers)
    {
        op.failure = Some(e);
        stack.operation = Some(op.clone());
        stack.save()?;
    }
    if let Some(reason) = op.failure.clone() {
        return roll_back(ctx, stack, &mut op, handlers, &reason);
    }
    // Success: the new template is the stack's; clean up what it replaced or dropped.
    let env = environment(ctx, stack, &op.template, &op.parameters)?;
    let outputs = outputs(&env, &op.template);
    let outputs = match outputs {
        Ok(o) => o,
        Err(e) => {
            let reason = e.message;
            op.failure = Some(reason.clone());
            return roll_back(ctx, stack, &mut op, handlers, &reason);
        }
    };
    if let Err(e) = register_exports(stack, &outputs) {
        op.failure = Some(e.message.clone());
        return roll_back(ctx, stack, &mut op, handlers, &e.message);
    }
    stack.outputs = outputs;
    stack.template = op.template.clone();
    stack.template_body = op.template_body.clone();
    stack.parameters = op.parameters.clone();
    stack.description = op.template.get("Description").map(template::text);
    stack.imports = imports(&op.template);
    if !creating {
        stack.stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
        stack.save()?;
        let removed: Vec<Resource> = stack
            .resources
            .values()
            .filter(|r| {
                !template::section(&op.template, "Resources").contains_key(&r.logical_id)
                    || !template::enabled(&env, &op.template["Resources"][&r.logical_id])
            })
            .cloned()
            .collect();
        let old_template = op.previous_template();
        for r in removed.iter().rev() {
            let policy = policy(&old_template, &r.logical_id, "DeletionPolicy");
            delete_one(ctx, stack, handlers, r, &policy);
            stack.resources.remove(&r.logical_id);
        }
        for r in op.cleanup.clone() {
            let policy = policy(&old_template, &r.logical_id, "UpdateReplacePolicy");
            if policy == "Delete" {
                let mut req = request(stack, &r.logical_id, &r.type_name);
                req.physical_id = r.physical_id.clone();
                req.properties = r.properties.clone();
                if let Err(e) = handlers.run(ctx, resources::DELETE_OPERATION, req)
                    && !gone(&e)
                {
                    ministack_sdk::warn!("cleanup of {} failed: {}", r.physical_id, e.message);
                }
            }
            stack.event(
                &r.logical_id,
                &r.physical_id,
                &r.type_name,
                "DELETE_COMPLETE",
                None,
            );
        }
    }
    if let Some(id) = &op.change_set_id {
        let _ = crate::stacks::CHANGE_SETS.update(id, |c| {
            let mut c = c.unwrap_or_default();
            c.execution_status = "EXECUTE_COMPLETE".to_string();
            Ok(c)
        });
    }
    stack.operation = None;
    stack.stack_event(&format!("{prefix}_COMPLETE"), None);
    stack.save()
}

impl crate::stacks::Operation {
    /// The template before an update (kept on the operation's first write).
    fn previous_template(&self) -> Value {
        self.previous
            .get("\u{0}template")
            .map(|r| Value::Object(r.properties.clone()))
            .unwrap_or(Value::Null)
    }
}

fn policy(template: &Value, logical: &str, name: &str) -> String {
    template
        .get("Resources")
        .and_then(|r| r.get(logical))
        .and_then(|r| r.get(name))
        .map(template::text)
        .unwrap_or_else(|| "Delete".to_string())
}

/// Deploys each resource in dependency order; Err with the stack's reason.
fn deploy_resources(
    ctx: &Context,
    stack: &mut Stack,
    op: &mut crate::stacks::Operation,
    handlers: &mut Handlers,
) -> Result<(), String> {
    let order = template::creation_order(&op.template).map_err(|e| e.message)?;
    let mut env = environment(ctx, stack, &op.template, &op.parameters).map_err(|e| e.message)?;
    let defs = template::section(&op.template, "Resources").clone();
    if op.kind == "UPDATE" && !op.previous.contains_key("\u{0}template") {
        // Keep the old template (for the policies of what the update removes).
        let old = match &stack.template {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        op.previous.insert(
            "\u{0}template".to_string(),
            Resource {
                properties: old,
                ..Default::default()
            },
        );
    }
    for logical in order {
        let def = &defs[&logical];
        if !template::enabled(&env, def) {
            continue;
        }
        let type_name = template::text(&def["Type"]);
        let existing = stack.resources.get(&logical).cloned();
        let done_now = existing.as_ref().is_some_and(|r| {
            op.created.contains(&logical) && r.status == "CREATE_COMPLETE"
                || op.previous.contains_key(&logical) && r.status == "UPDATE_COMPLETE"
        });
        if done_now {
            continue;
        }
        let schema = handlers.schema(ctx, &type_name).map_err(|e| e.message)?;
        let props = match properties(ctx, &env, def) {
            Ok(p) => p,
            Err(e) => {
                return Err(fail_resource(
                    stack,
                    &logical,
                    &type_name,
                    existing.is_none(),
                    &e.message,
                ));
            }
        };
        match existing {
            Some(old)
                if !old.physical_id.is_empty()
                    && old.status != "CREATE_FAILED"
                    && !op.created.contains(&logical) =>
            {
                if old.properties == props && old.type_name == type_name {
                    continue;
                }
                let replace = old.type_name != type_name
                    || !schema.updatable
                    || schema
                        .create_only
                        .iter()
                        .any(|p| old.properties.get(p) != props.get(p));
                op.previous.insert(logical.clone(), old.clone());
                stack.operation = Some(op.clone());
                let mut req = request(stack, &logical, &type_name);
                req.properties = props.clone();
                let result = if replace {
                    stack.resource_status(
                        &logical,
                        "UPDATE_IN_PROGRESS",
                        Some("Requested update requires the creation of a new physical resource; hence creating one."),
                    );
                    save(stack)?;
                    handlers.run(ctx, resources::CREATE_OPERATION, req)
                } else {
                    stack.resource_status(&logical, "UPDATE_IN_PROGRESS", None);
                    save(stack)?;
                    req.physical_id = old.physical_id.clone();
                    req.previous_properties = old.properties.clone();
                    handlers.run(ctx, resources::UPDATE_OPERATION, req)
                };
                match result {
                    Ok(event) => {
                        if replace {
                            op.cleanup.push(old.clone());
                        }
                        let r = stack.resources.get_mut(&logical).unwrap();
                        stacks::apply(r, &event);
                        r.properties = props;
                        r.type_name = type_name.clone();
                        env.resources.insert(
                            logical.clone(),
                            Deployed {
                                physical_id: r.physical_id.clone(),
                                attributes: r.attributes.clone(),
                            },
                        );
                        stack.operation = Some(op.clone());
                        stack.resource_status(&logical, "UPDATE_COMPLETE", None);
                        save(stack)?;
                    }
                    Err(e) => {
                        return Err(fail_resource(
                            stack,
                            &logical,
                            &type_name,
                            false,
                            &resource_error(&e),
                        ));
                    }
                }
            }
            _ => {
                op.created.push(logical.clone());
                stack.operation = Some(op.clone());
                stack.resources.insert(
                    logical.clone(),
                    Resource {
                        logical_id: logical.clone(),
                        type_name: type_name.clone(),
                        properties: props.clone(),
                        ..Default::default()
                    },
                );
                stack.resource_status(&logical, "CREATE_IN_PROGRESS", None);
                save(stack)?;
                let mut req = request(stack, &logical, &type_name);
                req.properties = props;
                match handlers.run(ctx, resources::CREATE_OPERATION, req) {
                    Ok(event) => {
                        let r = stack.resources.get_mut(&logical).unwrap();
                        stacks::apply(r, &event);
                        env.resources.insert(
                            logical.clone(),
                            Deployed {
                                physical_id: r.physical_id.clone(),
                                attributes: r.attributes.clone(),
                            },
                        );
                        stack.resource_status(
                            &logical,
                            "CREATE_IN_PROGRESS",
                            Some("Resource creation Initiated"),
                        );
                        stack.resource_status(&logical, "CREATE_COMPLETE", None);
                        save(stack)?;
                    }
                    Err(e) => {
                        return Err(fail_resource(
                            stack,
                            &logical,
                            &type_name,
                            true,
                            &resource_error(&e),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn save(stack: &Stack) -> Result<(), String> {
    stack.save().map_err(|e| e.message)
}

/// Marks a resource failed; the stack's reason.
fn fail_resource(
    stack: &mut Stack,
    logical: &str,
    type_name: &str,
    create: bool,
    reason: &str,
) -> String {
    if !stack.resources.contains_key(logical) {
        stack.resources.insert(
            logical.to_string(),
            Resource {
                logical_id: logical.to_string(),
                type_name: type_name.to_string(),
                ..Default::default()
            },
        );
    }
    let status = if create {
        "CREATE_FAILED"
    } else {
        "UPDATE_FAILED"
    };
    stack.resource_status(logical, status, Some(reason));
    let _ = stack.save();
    format!(
        "The following resource(s) failed to {}: [{logical}]. ",
        if create { "create" } else { "update" }
    )
}

/// Undoes a failed create or update.
fn roll_back(
    ctx: &Context,
    stack: &mut Stack,
    op: &mut crate::stacks::Operation,
    handlers: &mut Handlers,
    reason: &str,
) -> Result<(), AwsError> {
    let creating = op.kind == "CREATE";
    if creating && stack.disable_rollback {
        stack.operation = None;
        stack.stack_event("CREATE_FAILED", Some(reason));
        return stack.save();
    }
    let (running, done) = if creating {
        ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE")
    } else {
        ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE")
    };
    if stack.status != running {
        stack.stack_event(running, Some(reason));
        stack.save()?;
    }
    // Updated resources get their old properties back; replaced ones their old physical resource.
    for (logical, old) in op.previous.clone().into_iter().rev() {
        if logical.starts_with('\u{0}') {
            continue;
        }
        let Some(current) = stack.resources.get(&logical).cloned() else {
            continue;
        };
        if current == old {
            continue;
        }
        stack.resource_status(&logical, "UPDATE_IN_PROGRESS", None);
        stack.save()?;
        if current.physical_id != old.physical_id && !current.physical_id.is_empty() {
            let mut req = request(stack, &logical, &current.type_name);
            req.physical_id = current.physical_id.clone();
            req.properties = current.properties.clone();
            let _ = handlers.run(ctx, resources::DELETE_OPERATION, req);
        } else if current.status != "UPDATE_FAILED" || current.properties != old.properties {
            let mut req = request(stack, &logical, &old.type_name);
            req.physical_id = old.physical_id.clone();
            req.properties = old.properties.clone();
            req.previous_properties = current.properties.clone();
            let _ = handlers.run(ctx, resources::UPDATE_OPERATION, req);
        }
        stack.resources.insert(logical.clone(), old);
        stack.resource_status(&logical, "UPDATE_COMPLETE", None);
        stack.save()?;
    }
    if !creating {
        stack.stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None);
        stack.save()?;
    }
    for logical in op.created.clone().into_iter().rev() {
        let Some(r) = stack.resources.get(&logical).cloned() else {
            continue;
        };
        if r.physical_id.is_empty() {
            stack.resource_status(&logical, "DELETE_COMPLETE", None);
        } else {
            delete_one(ctx, stack, handlers, &r, "Delete");
        }
        if !creating {
            stack.resources.remove(&logical);
        }
        stack.save()?;
    }
    if let Some(id) = &op.change_set_id {
        let _ = crate::stacks::CHANGE_SETS.update(id, |c| {
            let mut c = c.unwrap_or_default();
            c.execution_status = "EXECUTE_FAILED".to_string();
            Ok(c)
        });
    }
    stack.operation = None;
    stack.stack_event(done, None);
    stack.save()
}

/// Deletes one resource (or skips it under a Retain policy), with its events.
fn delete_one(
    ctx: &Context,
    stack: &mut Stack,
    handlers: &mut Handlers,
    r: &Resource,
    policy: &str,
) -> bool {
    if r.physical_id.is_empty() {
        stack.resource_status(&r.logical_id, "DELETE_COMPLETE", None);
        return true;
    }
    if policy == "Retain"
        || policy == "Snapshot"
        || policy == "RetainExceptOnCreate" && stack.status != "ROLLBACK_IN_PROGRESS"
    {
        stack.resource_status(&r.logical_id, "DELETE_SKIPPED", None);
        return true;
    }
    stack.resource_status(&r.logical_id, "DELETE_IN_PROGRESS", None);
    let _ = stack.save();
    let mut req = request(stack, &r.logical_id, &r.type_name);
    req.physical_id = r.physical_id.clone();
    req.properties = r.properties.clone();
    match handlers.run(ctx, resources::DELETE_OPERATION, req) {
        Ok(_) => {
            stack.resource_status(&r.logical_id, "DELETE_COMPLETE", None);
            true
        }
        Err(e) if gone(&e) => {
            stack.resource_status(&r.logical_id, "DELETE_COMPLETE", None);
            true
        }
        Err(e) => {
            stack.resource_status(&r.logical_id, "DELETE_FAILED", Some(&resource_error(&e)));
            false
        }
    }
}

/// Deletes every resource, dependents first.
fn delete_stack(ctx: &Context, stack: &mut Stack, handlers: &mut Handlers) -> Result<(), AwsError> {
    if stack.status != "DELETE_IN_PROGRESS" {
        stack.stack_event("DELETE_IN_PROGRESS", Some("User Initiated"));
        stack.save()?;
    }
    let mut order = template::creation_order(&stack.template).unwrap_or_default();
    // Resources the template no longer names (a failed create) go last.
    for k in stack.resources.keys() {
        if !order.contains(k) {
            order.insert(0, k.clone());
        }
    }
    let retained: BTreeSet<String> = BTreeSet::new();
    let mut failed = Vec::new();
    for logical in order.iter().rev() {
        let Some(r) = stack.resources.get(logical).cloned() else {
            continue;
        };
        if r.status == "DELETE_COMPLETE"
            || r.status == "DELETE_SKIPPED"
            || retained.contains(logical)
        {
            continue;
        }
        let policy = policy(&stack.template, logical, "DeletionPolicy");
        if !delete_one(ctx, stack, handlers, &r, &policy) {
            failed.push(logical.clone());
        }
        stack.save()?;
    }
    stack.operation = None;
    if !failed.is_empty() {
        stack.stack_event(
            "DELETE_FAILED",
            Some(&format!(
                "The following resource(s) failed to delete: [{}]. ",
                failed.join(", ")
            )),
        );
        return stack.save();
    }
    for (name, export) in EXPORTS.scan(&Scan::all())? {
        if export.stack_id == stack.stack_id {
            EXPORTS.delete(&name);
        }
    }
    if NAMES.get(&stack.stack_name)?.as_deref() == Some(stack.stack_id.as_str()) {
        NAMES.delete(&stack.stack_name);
    }
    stack.deletion_time = Some(ministack_sdk::time::now());
    stack.stack_event("DELETE_COMPLETE", None);
    stack.save()
}

/// The template's Outputs evaluated.
pub fn outputs(env: &Env, template: &Value) -> Result<Vec<OutputRecord>, AwsError> {
    let mut out = Vec::new();
    for (key, def) in template::section(template, "Outputs") {
        if !template::enabled(env, def) {
            continue;
        }
        let value = env.eval(def.get("Value").unwrap_or(&Value::Null))?;
        let value = match value {
            Value::Array(a) => a.iter().map(template::text).collect::<Vec<_>>().join(","),
            other => template::text(&other),
        };
        let export_name = match def.get("Export").and_then(|e| e.get("Name")) {
            Some(n) => Some(template::text(&env.eval(n)?)),
            None => None,
        };
        out.push(OutputRecord {
            key: key.clone(),
            value,
            description: def.get("Description").map(template::text),
            export_name,
        });
    }
    Ok(out)
}

fn register_exports(stack: &Stack, outputs: &[OutputRecord]) -> Result<(), AwsError> {
    for o in outputs {
        let Some(name) = &o.export_name else { continue };
        if let Some(existing) = EXPORTS.get(name)?
            && existing.stack_id != stack.stack_id
        {
            return Err(AwsError::validation_error(format!(
                "Export with name {name} is already exported by stack {}",
                existing.stack_id.split('/').nth(1).unwrap_or_default()
            )));
        }
    }
    // Exports this stack no longer declares go away.
    for (name, export) in EXPORTS.scan(&Scan::all())? {
        if export.stack_id == stack.stack_id
            && !outputs
                .iter()
                .any(|o| o.export_name.as_ref() == Some(&name))
        {
            EXPORTS.delete(&name);
        }
    }
    for o in outputs {
        if let Some(name) = &o.export_name {
            EXPORTS.put(
                name,
                &Export {
                    name: name.clone(),
                    value: o.value.clone(),
                    stack_id: stack.stack_id.clone(),
                },
            )?;
        }
    }
    Ok(())
}

/// Export names the template imports with a literal `Fn::ImportValue`.
pub fn imports(template: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "Fn::ImportValue"
                        && let Some(s) = x.as_str()
                    {
                        out.push(s.to_string());
                    }
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(template, &mut out);
    out.sort();
    out.dedup();
    out
}
