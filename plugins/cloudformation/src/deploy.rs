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
    crate::internal::provides(type_name)
}

pub use ministack_sdk::resources::plugin_for;

/// Calls handlers and caches the plugins' schemas for one task run.
#[derive(Default)]
pub struct Handlers {
    schemas: HashMap<String, Vec<ResourceSchema>>,
    /// The create's `TimeoutInMinutes` as an epoch second: handlers still
    /// in progress then are cancelled.
    pub deadline: Option<f64>,
    /// Set once the deadline cancelled something.
    pub timed_out: bool,
}

/// The code of a handler cancelled at the stack's deadline.
const CANCELLED: &str = "ResourceCreationCancelled";

impl Handlers {
    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|d| ministack_sdk::time::now() >= d)
    }
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
        request: resources::ResourceRequest,
    ) -> Result<resources::ProgressEvent, AwsError> {
        self.run_all(ctx, vec![(operation, request)])
            .pop()
            .unwrap_or_else(|| Err(AwsError::internal("no handler result")))
    }

    /// Runs several handlers at once, each to its end: one
    /// `services.call-all` per round, the ones still IN_PROGRESS polled
    /// again after the shortest delay they asked for. Results in order.
    pub fn run_all(
        &mut self,
        ctx: &Context,
        requests: Vec<(&str, resources::ResourceRequest)>,
    ) -> Vec<Result<resources::ProgressEvent, AwsError>> {
        let mut results: Vec<Option<Result<resources::ProgressEvent, AwsError>>> =
            requests.iter().map(|_| None).collect();
        let mut pending: Vec<(usize, String, resources::ResourceRequest, u32)> = requests
            .into_iter()
            .enumerate()
            .map(|(i, (op, r))| (i, op.to_string(), r, 0))
            .collect();
        while !pending.is_empty() {
            let mut answers: Vec<Result<resources::ProgressEvent, AwsError>> = Vec::new();
            let mut calls = Vec::new();
            let mut call_slots = Vec::new();
            for (slot, (_, op, req, _)) in pending.iter().enumerate() {
                answers.push(Err(AwsError::internal("")));
                if internal(&req.type_name) {
                    answers[slot] = crate::internal::handle(ctx, op, req);
                    continue;
                }
                let target = match plugin_for(&req.type_name) {
                    Some(p) => Target::new(&p, ctx),
                    None => {
                        answers[slot] = Err(unsupported(&req.type_name));
                        continue;
                    }
                };
                match serde_json::to_string(req) {
                    Ok(input_json) => {
                        calls.push(services::Call {
                            target,
                            operation: op.clone(),
                            input_json,
                        });
                        call_slots.push(slot);
                    }
                    Err(e) => answers[slot] = Err(AwsError::internal(e.to_string())),
                }
            }
            for (slot, out) in call_slots.into_iter().zip(services::call_all(&calls)) {
                answers[slot] = out.and_then(|out| {
                    serde_json::from_str(&out)
                        .map_err(|e| AwsError::internal(format!("bad handler reply: {e}")))
                });
            }
            let mut next = Vec::new();
            let mut delay = u64::MAX;
            for ((index, op, mut req, polls), answer) in pending.into_iter().zip(answers) {
                let event = match answer {
                    Ok(event) => event,
                    Err(e) => {
                        results[index] = Some(Err(e));
                        continue;
                    }
                };
                match event.status.as_str() {
                    // The engine's own types end their waits themselves
                    // (custom resource and wait condition timeouts).
                    "IN_PROGRESS" if polls < MAX_POLLS || internal(&req.type_name) => {
                        delay = delay.min(event.retry_after_ms);
                        req.callback_context = event.callback_context.clone();
                        if !event.physical_id.is_empty() {
                            req.physical_id = event.physical_id.clone();
                        }
                        next.push((index, op, req, polls + 1));
                    }
                    "IN_PROGRESS" => {
                        results[index] =
                            Some(Err(AwsError::internal("Resource stabilization timed out")));
                    }
                    "FAILED" => {
                        let code = if event.error_code.is_empty() {
                            "GeneralServiceException"
                        } else {
                            &event.error_code
                        };
                        results[index] = Some(Err(AwsError::new(code, event.message.clone())));
                    }
                    _ => results[index] = Some(Ok(event)),
                }
            }
            pending = next;
            if !pending.is_empty() && self.past_deadline() {
                self.timed_out = true;
                for (index, ..) in pending.drain(..) {
                    results[index] =
                        Some(Err(AwsError::new(CANCELLED, "Resource creation cancelled")));
                }
            }
            if !pending.is_empty() {
                let mut wait = Duration::from_millis(delay.clamp(50, 10_000));
                if let Some(d) = self.deadline {
                    let left = (d - ministack_sdk::time::now()).max(0.0);
                    wait = wait.min(Duration::from_secs_f64(left) + Duration::from_millis(10));
                }
                // Custom resource responses and signals notify this topic,
                // so a waiting resource completes as soon as it is answered.
                tasks::wait(crate::internal::PROGRESS_TOPIC, wait);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(AwsError::internal("no handler result"))))
            .collect()
    }
}

/// How many times a plugin's handler is polled while it answers IN_PROGRESS.
const MAX_POLLS: u32 = 600;

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
pub(crate) fn resolve_ssm_parameters(
    ctx: &Context,
    template: &Value,
    env: &mut Env,
) -> Result<(), AwsError> {
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
    // Claim the operation (in this task's first unit, before any call).
    stack.runner = ministack_sdk::ids::uuid();
    if let Some(op) = stack.operation.as_mut()
        && op.nonce.is_empty()
    {
        op.nonce = ministack_sdk::ids::upper_alnum(8);
    }
    stacks::STACKS.put(&stack.stack_id, &stack)?;
    // Committed with the claim of this task's record: after a restart,
    // `resume` knows a run of this process has the stack.
    tasks::notify(&run_topic(&stack.stack_id));
    let mut handlers = Handlers::default();
    let result = match op.kind.as_str() {
        "CREATE" | "UPDATE" => deploy(ctx, &mut stack, &mut handlers),
        "DELETE" => delete_stack(ctx, &mut stack, &mut handlers),
        _ => Ok(()),
    };
    // A parent stack polling this one (a nested stack) wakes now.
    if stack.parent_id.is_some() {
        tasks::notify(crate::internal::PROGRESS_TOPIC);
    }
    result
}

fn resource_error(e: &AwsError) -> String {
    if e.message.is_empty() {
        e.code.clone()
    } else if e.code == CANCELLED {
        e.message.clone()
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
        client_token: format!(
            "{}/{logical}/{}",
            stack.stack_id,
            stack
                .operation
                .as_ref()
                .map(|o| o.nonce.as_str())
                .unwrap_or("")
        ),
        ..Default::default()
    }
}

/// Creates or updates every resource of the operation's template.
fn deploy(ctx: &Context, stack: &mut Stack, handlers: &mut Handlers) -> Result<(), AwsError> {
    let mut op = stack.operation.clone().unwrap_or_default();
    let creating = op.kind == "CREATE";
    let prefix = if creating { "CREATE" } else { "UPDATE" };
    if creating && let Some(minutes) = stack.timeout_in_minutes {
        handlers.deadline = Some(stack.creation_time + f64::from(minutes) * 60.0);
    }
    if op.failure.is_none()
        && let Err(e) = deploy_resources(ctx, stack, &mut op, handlers)
    {
        handlers.deadline = None;
        op.failure = Some(if handlers.timed_out {
            "Stack creation time exceeded the specified timeout. ".to_string()
        } else {
            e
        });
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
        let names: Vec<String> = removed.iter().map(|r| r.logical_id.clone()).collect();
        for wave in deletion_waves(&old_template, &names) {
            let items: Vec<(Resource, String)> = removed
                .iter()
                .filter(|r| wave.contains(&r.logical_id))
                .map(|r| {
                    let p = policy(&old_template, &r.logical_id, "DeletionPolicy");
                    (r.clone(), p)
                })
                .collect();
            delete_many(ctx, stack, handlers, &items);
            for (r, _) in &items {
                stack.resources.remove(&r.logical_id);
            }
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

/// What a wave does with one resource.
struct Step {
    logical: String,
    type_name: String,
    props: Map<String, Value>,
    /// The resource before this operation (an update or a replacement).
    old: Option<Resource>,
    replace: bool,
}

/// Deploys the resources level by level (the resources of one level
/// depend only on earlier levels, so their handlers run at the same time);
/// Err with the stack's reason.
fn deploy_resources(
    ctx: &Context,
    stack: &mut Stack,
    op: &mut crate::stacks::Operation,
    handlers: &mut Handlers,
) -> Result<(), String> {
    let levels = template::creation_levels(&op.template).map_err(|e| e.message)?;
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
    for level in levels {
        if handlers.past_deadline() {
            handlers.timed_out = true;
            return Err(String::new());
        }
        // Evaluate every resource of the level first: an error stops the
        // deployment before any handler of the level runs.
        let mut steps = Vec::new();
        for logical in level {
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
                    return Err(fail_resources(
                        stack,
                        &[(logical.clone(), type_name, existing.is_none(), e.message)],
                    ));
                }
            };
            let old = existing.filter(|old| {
                !old.physical_id.is_empty()
                    && old.status != "CREATE_FAILED"
                    && !op.created.contains(&logical)
            });
            let replace = match &old {
                Some(old) => {
                    if old.properties == props && old.type_name == type_name {
                        continue;
                    }
                    old.type_name != type_name
                        || !schema.updatable
                        || schema
                            .create_only
                            .iter()
                            .any(|p| old.properties.get(p) != props.get(p))
                }
                None => false,
            };
            steps.push(Step {
                logical,
                type_name,
                props,
                old,
                replace,
            });
        }
        if steps.is_empty() {
            continue;
        }
        // Record every start (saved before the handlers run: a restart
        // finds them), then run the level's handlers together.
        let mut requests = Vec::new();
        for step in &steps {
            let logical = &step.logical;
            let mut req = request(stack, logical, &step.type_name);
            req.properties = step.props.clone();
            match &step.old {
                Some(old) => {
                    op.previous.insert(logical.clone(), old.clone());
                    if step.replace {
                        stack.resource_status(
                            logical,
                            "UPDATE_IN_PROGRESS",
                            Some("Requested update requires the creation of a new physical resource; hence creating one."),
                        );
                        requests.push((resources::CREATE_OPERATION, req));
                    } else {
                        stack.resource_status(logical, "UPDATE_IN_PROGRESS", None);
                        req.physical_id = old.physical_id.clone();
                        req.previous_properties = old.properties.clone();
                        requests.push((resources::UPDATE_OPERATION, req));
                    }
                }
                None => {
                    if !op.created.contains(logical) {
                        op.created.push(logical.clone());
                    }
                    stack.resources.insert(
                        logical.clone(),
                        Resource {
                            logical_id: logical.clone(),
                            type_name: step.type_name.clone(),
                            properties: step.props.clone(),
                            ..Default::default()
                        },
                    );
                    stack.resource_status(logical, "CREATE_IN_PROGRESS", None);
                    requests.push((resources::CREATE_OPERATION, req));
                }
            }
        }
        stack.operation = Some(op.clone());
        save(stack)?;
        let mut results = handlers.run_all(ctx, requests);
        // A CreationPolicy holds a created resource until its signals arrive.
        let waiting: Vec<(usize, (String, usize, f64))> = steps
            .iter()
            .enumerate()
            .filter(|(i, s)| s.old.is_none() && results[*i].is_ok())
            .filter_map(|(i, s)| {
                crate::internal::creation_policy(&defs[&s.logical])
                    .map(|(count, timeout)| (i, (s.logical.clone(), count, timeout)))
            })
            .collect();
        if !waiting.is_empty() {
            // The physical ids are known now (SignalResource needs the resource).
            for (i, (logical, _, _)) in &waiting {
                if let (Some(r), Ok(event)) = (stack.resources.get_mut(logical), &results[*i]) {
                    stacks::apply(r, event);
                }
            }
            save(stack)?;
            let list: Vec<(String, usize, f64)> = waiting.iter().map(|(_, w)| w.clone()).collect();
            let outcome = crate::internal::await_signals(&stack.stack_id, &list);
            for ((i, _), result) in waiting.iter().zip(outcome) {
                if let Err(reason) = result {
                    results[*i] = Err(AwsError::new("NotStabilized", reason));
                }
            }
        }
        let mut failures = Vec::new();
        for (step, result) in steps.into_iter().zip(results) {
            let logical = step.logical;
            match result {
                Ok(event) => {
                    if let Some(old) = &step.old {
                        // A new physical id (a replacement, or a custom
                        // resource that answered a new one) retires the old.
                        if step.replace
                            || !event.physical_id.is_empty() && event.physical_id != old.physical_id
                        {
                            op.cleanup.push(old.clone());
                        }
                    }
                    let r = stack.resources.get_mut(&logical).unwrap();
                    stacks::apply(r, &event);
                    r.properties = step.props;
                    r.type_name = step.type_name.clone();
                    env.resources.insert(
                        logical.clone(),
                        Deployed {
                            physical_id: r.physical_id.clone(),
                            attributes: r.attributes.clone(),
                        },
                    );
                    if step.old.is_some() {
                        stack.resource_status(&logical, "UPDATE_COMPLETE", None);
                    } else {
                        stack.resource_status(
                            &logical,
                            "CREATE_IN_PROGRESS",
                            Some("Resource creation Initiated"),
                        );
                        stack.resource_status(&logical, "CREATE_COMPLETE", None);
                    }
                }
                Err(e) => failures.push((
                    logical,
                    step.type_name,
                    step.old.is_none(),
                    resource_error(&e),
                )),
            }
        }
        stack.operation = Some(op.clone());
        if !failures.is_empty() {
            return Err(fail_resources(stack, &failures));
        }
        save(stack)?;
    }
    Ok(())
}

fn save(stack: &Stack) -> Result<(), String> {
    stack.save().map_err(|e| e.message)
}

/// Marks resources failed (logical id, type, was a create, reason); the
/// stack's reason.
fn fail_resources(stack: &mut Stack, failures: &[(String, String, bool, String)]) -> String {
    for (logical, type_name, create, reason) in failures {
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
        let status = if *create {
            "CREATE_FAILED"
        } else {
            "UPDATE_FAILED"
        };
        stack.resource_status(logical, status, Some(reason));
    }
    let _ = stack.save();
    let create = failures.iter().any(|f| f.2);
    let names: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    format!(
        "The following resource(s) failed to {}: [{}]. ",
        if create { "create" } else { "update" },
        names.join(", ")
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
    handlers.deadline = None;
    if creating && stack.disable_rollback {
        stack.operation = None;
        stack.stack_event("CREATE_FAILED", Some(reason));
        return stack.save();
    }
    let reason = if !creating {
        reason.to_string()
    } else if stack.delete_on_failure {
        format!("{reason}Delete requested by user.")
    } else {
        format!("{reason}Rollback requested by user.")
    };
    let reason = reason.as_str();
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
    for wave in deletion_waves(&op.template, &op.created) {
        let items: Vec<(Resource, String)> = wave
            .iter()
            .filter_map(|logical| stack.resources.get(logical).cloned())
            .map(|r| (r, "Delete".to_string()))
            .collect();
        delete_many(ctx, stack, handlers, &items);
        if !creating {
            for logical in &wave {
                stack.resources.remove(logical);
            }
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
    if creating && stack.delete_on_failure {
        // OnFailure=DELETE: the rolled-back stack goes, as on AWS.
        stack.operation = Some(crate::stacks::Operation {
            kind: "DELETE".into(),
            nonce: op.nonce.clone(),
            ..Default::default()
        });
        stack.stack_event("DELETE_IN_PROGRESS", Some("User Initiated"));
        stack.save()?;
        return delete_stack(ctx, stack, handlers);
    }
    stack.save()
}

/// Deletes resources at the same time (or skips those under a Retain
/// policy), with their events; one result per resource: deleted (or
/// skipped) or not.
fn delete_many(
    ctx: &Context,
    stack: &mut Stack,
    handlers: &mut Handlers,
    items: &[(Resource, String)],
) -> Vec<bool> {
    let mut requests = Vec::new();
    let mut slots = Vec::new();
    let mut done = vec![true; items.len()];
    for (i, (r, policy)) in items.iter().enumerate() {
        if r.physical_id.is_empty() {
            stack.resource_status(&r.logical_id, "DELETE_COMPLETE", None);
            continue;
        }
        if policy == "Retain"
            || policy == "Snapshot"
            || policy == "RetainExceptOnCreate" && stack.status != "ROLLBACK_IN_PROGRESS"
        {
            stack.resource_status(&r.logical_id, "DELETE_SKIPPED", None);
            continue;
        }
        stack.resource_status(&r.logical_id, "DELETE_IN_PROGRESS", None);
        let mut req = request(stack, &r.logical_id, &r.type_name);
        req.physical_id = r.physical_id.clone();
        req.properties = r.properties.clone();
        requests.push((resources::DELETE_OPERATION, req));
        slots.push(i);
    }
    if requests.is_empty() {
        return done;
    }
    let _ = stack.save();
    for (i, result) in slots.into_iter().zip(handlers.run_all(ctx, requests)) {
        let logical = &items[i].0.logical_id;
        match result {
            Ok(_) => stack.resource_status(logical, "DELETE_COMPLETE", None),
            Err(e) if gone(&e) => stack.resource_status(logical, "DELETE_COMPLETE", None),
            Err(e) => {
                stack.resource_status(logical, "DELETE_FAILED", Some(&resource_error(&e)));
                done[i] = false;
            }
        }
    }
    done
}

/// `names` grouped for deletion: dependents first (the template's levels
/// reversed); names the template does not have go first.
fn deletion_waves(template: &Value, names: &[String]) -> Vec<Vec<String>> {
    let levels = template::creation_levels(template).unwrap_or_default();
    let known: BTreeSet<&String> = levels.iter().flatten().collect();
    let mut waves = vec![
        names
            .iter()
            .filter(|n| !known.contains(n))
            .cloned()
            .collect::<Vec<_>>(),
    ];
    for level in levels.iter().rev() {
        waves.push(
            level
                .iter()
                .filter(|n| names.contains(n))
                .cloned()
                .collect(),
        );
    }
    waves.retain(|w| !w.is_empty());
    waves
}

/// Deletes every resource, dependents first.
fn delete_stack(ctx: &Context, stack: &mut Stack, handlers: &mut Handlers) -> Result<(), AwsError> {
    if stack.status != "DELETE_IN_PROGRESS" {
        stack.stack_event("DELETE_IN_PROGRESS", Some("User Initiated"));
        stack.save()?;
    }
    let names: Vec<String> = stack.resources.keys().cloned().collect();
    let mut failed = Vec::new();
    for wave in deletion_waves(&stack.template, &names) {
        let items: Vec<(Resource, String)> = wave
            .iter()
            .filter_map(|logical| stack.resources.get(logical).cloned())
            .filter(|r| r.status != "DELETE_COMPLETE" && r.status != "DELETE_SKIPPED")
            .map(|r| {
                let p = policy(&stack.template, &r.logical_id, "DeletionPolicy");
                (r, p)
            })
            .collect();
        let results = delete_many(ctx, stack, handlers, &items);
        for ((r, _), ok) in items.iter().zip(results) {
            if !ok {
                failed.push(r.logical_id.clone());
            }
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

pub const RESUME_TASK: &str = "resume-deployments";

fn run_topic(stack_id: &str) -> String {
    format!("deploy-run:{stack_id}")
}

/// The boot hook: a deployment whose task was already claimed when the
/// gateway stopped (its first unit committed) has no task record left, so
/// every account and region with stacks looks for deployments in flight.
pub fn on_start(_: &Context, _: ()) -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(stacks::STACKS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RESUME_TASK, &())?;
    }
    crate::stacksets::on_start()
}

/// Schedules the deploy task again for each stack of this account and
/// region with an operation in flight and no deploy task pending.
pub fn resume(ctx: &Context, _: ()) -> Result<(), AwsError> {
    // A run claimed after the restart takes the stack over from the one
    // before it (Stack::save refuses a superseded run's writes).
    let pending: BTreeSet<String> = tasks::list(DEPLOY_TASK)
        .into_iter()
        .filter(|t| t.name == DEPLOY_TASK && t.account == ctx.account && t.region == ctx.region)
        .filter_map(|t| serde_json::from_str::<DeployPayload>(&t.payload).ok())
        .map(|p| p.stack_id)
        .collect();
    for stack in stacks::STACKS.values("")? {
        // Pending first, then the generation: a run claims its record and
        // notifies in one unit, so one of the two shows it.
        let running = || {
            tasks::topic_generation(crate::CloudFormation::NAME, &run_topic(&stack.stack_id))
                .unwrap_or(0)
                > 0
        };
        if stack.operation.is_some()
            && stack.in_progress()
            && !pending.contains(&stack.stack_id)
            && !running()
        {
            ministack_sdk::info!("resuming the deployment of {}", stack.stack_id);
            tasks::schedule(
                Duration::ZERO,
                DEPLOY_TASK,
                &DeployPayload {
                    stack_id: stack.stack_id.clone(),
                },
            )?;
        }
    }
    Ok(())
}
