//! The API operations on stacks, change sets, templates and exports.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::tasks;
use serde_json::{Value, json};

use crate::deploy::{self, DEPLOY_TASK, DeployPayload, Handlers};
use crate::shapes::*;
use crate::stacks::{
    self, CHANGE_SETS, ChangeSet, EVENTS, EXPORTS, NAMES, Operation, STACKS, Stack,
};
use crate::template;

pub(crate) fn body_of(body: Option<String>, url: Option<String>) -> Result<String, AwsError> {
    match (body, url) {
        (Some(b), _) => Ok(b),
        (None, Some(url)) => crate::template_url::fetch(&url),
        (None, None) => Err(AwsError::validation_error(
            "Either Template URL or Template Body must be specified.",
        )),
    }
}

/// Parses a submitted template and applies its transforms (the given
/// parameter values feed `Fn::ForEach`). `auto_expand`: the caller
/// acknowledged CAPABILITY_AUTO_EXPAND (None: a change set, which needs none).
pub(crate) fn load(
    ctx: &Context,
    body: &str,
    given: &BTreeMap<String, String>,
    auto_expand: Option<&[String]>,
) -> Result<Value, AwsError> {
    let raw = template::parse(body)?;
    if let Some(caps) = auto_expand
        && crate::transform::has_macros(&raw)
        && !caps.iter().any(|c| c == "CAPABILITY_AUTO_EXPAND")
    {
        return Err(AwsError::new(
            "InsufficientCapabilitiesException",
            "Requires capabilities : [CAPABILITY_AUTO_EXPAND]",
        )
        .with_status(400));
    }
    crate::transform::apply(ctx, raw, given)
}

pub(crate) fn given_parameters(
    params: Option<Vec<Parameter>>,
    previous: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    for p in params.unwrap_or_default() {
        let Some(key) = p.parameter_key else { continue };
        if p.use_previous_value == Some(true) {
            let v = previous.and_then(|m| m.get(&key)).ok_or_else(|| {
                AwsError::validation_error(format!(
                    "Invalid input for parameter key {key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                ))
            })?;
            out.insert(key, v.clone());
        } else {
            out.insert(key, p.parameter_value.unwrap_or_default());
        }
    }
    Ok(out)
}

/// Keeps only parameters the template declares and adds defaults, as text.
pub(crate) fn effective_parameters(
    tpl: &Value,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let resolved = template::resolve_parameters(tpl, given)?;
    Ok(resolved
        .into_iter()
        .map(|(k, v)| {
            let text = match &v {
                Value::Array(a) => a.iter().map(template::text).collect::<Vec<_>>().join(","),
                other => template::text(other),
            };
            (k, text)
        })
        .collect())
}

/// InsufficientCapabilities for IAM resources without the acknowledgement.
pub(crate) fn check_capabilities(tpl: &Value, caps: &[String]) -> Result<(), AwsError> {
    let mut needed = None;
    for def in template::section(tpl, "Resources").values() {
        let ty = def.get("Type").map(template::text).unwrap_or_default();
        if !ty.starts_with("AWS::IAM::") {
            continue;
        }
        let named = [
            "RoleName",
            "UserName",
            "GroupName",
            "ManagedPolicyName",
            "InstanceProfileName",
        ]
        .iter()
        .any(|n| def.get("Properties").and_then(|p| p.get(*n)).is_some());
        if named {
            needed = Some("CAPABILITY_NAMED_IAM");
        } else if needed.is_none() {
            needed = Some("CAPABILITY_IAM");
        }
    }
    if let Some(cap) = needed {
        let ok = caps.iter().any(|c| c == cap || c == "CAPABILITY_NAMED_IAM");
        if !ok {
            return Err(AwsError::new(
                "InsufficientCapabilitiesException",
                format!("Requires capabilities : [{cap}]"),
            )
            .with_status(400));
        }
    }
    Ok(())
}

pub(crate) fn caps(list: Option<Vec<Capability>>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|c| c.as_str().to_string())
        .collect()
}

fn tag_pairs(tags: Option<Vec<Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

pub(crate) fn new_stack(ctx: &Context, name: &str) -> Result<Stack, AwsError> {
    validate_name(name)?;
    if let Some(existing) = stacks::find(name)?
        && existing.status != "REVIEW_IN_PROGRESS"
    {
        return Err(AwsError::new(
            "AlreadyExistsException",
            format!("Stack [{name}] already exists"),
        )
        .with_status(400));
    }
    Ok(Stack {
        stack_id: format!(
            "arn:{}:cloudformation:{}:{}:stack/{name}/{}",
            ctx.partition(),
            ctx.region,
            ctx.account,
            ministack_sdk::ids::uuid()
        ),
        stack_name: name.to_string(),
        creation_time: ministack_sdk::time::now(),
        ..Default::default()
    })
}

fn validate_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

/// Checks that the resources have no dependency cycle and that every type
/// of the template is provided by a loaded plugin.
pub(crate) fn check_types(ctx: &Context, tpl: &Value) -> Result<(), AwsError> {
    template::creation_order(tpl)?;
    let mut handlers = Handlers::default();
    let mut unknown = Vec::new();
    for def in template::section(tpl, "Resources").values() {
        let ty = template::text(&def["Type"]);
        if handlers.schema(ctx, &ty).is_err() && !unknown.contains(&ty) {
            unknown.push(ty);
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(template::format_error(format!(
            "Unrecognized resource types: [{}]",
            unknown.join(", ")
        )))
    }
}

pub(crate) fn start(stack: &mut Stack, op: Operation) -> Result<(), AwsError> {
    stack.operation = Some(op);
    stack.save()?;
    tasks::schedule(
        Duration::ZERO,
        DEPLOY_TASK,
        &DeployPayload {
            stack_id: stack.stack_id.clone(),
        },
    )?;
    Ok(())
}

pub fn create_stack(ctx: &Context, input: CreateStackInput) -> Result<Value, AwsError> {
    if let Some(m) = input.timeout_in_minutes
        && m < 1
    {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{m}' at 'timeoutInMinutes' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    let body = body_of(input.template_body, input.template_url)?;
    let capabilities = caps(input.capabilities);
    let given = given_parameters(input.parameters, None)?;
    let tpl = load(ctx, &body, &given, Some(&capabilities))?;
    check_capabilities(&tpl, &capabilities)?;
    let parameters = effective_parameters(&tpl, &given)?;
    crate::rules::check_call(ctx, &tpl, &parameters)?;
    check_types(ctx, &tpl)?;
    let mut stack = new_stack(ctx, &input.stack_name)?;
    stack.capabilities = capabilities;
    stack.tags = tag_pairs(input.tags);
    stack.notification_arns = input.notification_ar_ns.unwrap_or_default();
    stack.termination_protection = input.enable_termination_protection.unwrap_or(false);
    stack.stack_policy = input.stack_policy_body;
    let on_failure = input.on_failure.as_ref().map(|f| f.as_str().to_string());
    if on_failure.is_some() && input.disable_rollback.is_some() {
        return Err(AwsError::validation_error(
            "You may specify only one of DisableRollback and OnFailure",
        ));
    }
    stack.disable_rollback =
        input.disable_rollback.unwrap_or(false) || on_failure.as_deref() == Some("DO_NOTHING");
    stack.delete_on_failure = on_failure.as_deref() == Some("DELETE");
    stack.timeout_in_minutes = input.timeout_in_minutes;
    stack.description = tpl.get("Description").map(template::text);
    stack.template = tpl.clone();
    stack.template_body = body.clone();
    stack.parameters = parameters.clone();
    stack.stack_event("CREATE_IN_PROGRESS", Some("User Initiated"));
    NAMES.put(&stack.stack_name, &stack.stack_id)?;
    start(
        &mut stack,
        Operation {
            kind: "CREATE".into(),
            template_body: body,
            template: tpl,
            parameters,
            ..Default::default()
        },
    )?;
    Ok(json!({"StackId": stack.stack_id}))
}

fn require_updatable(stack: &Stack) -> Result<(), AwsError> {
    if stack.in_progress()
        || stack.status == "REVIEW_IN_PROGRESS"
        || stack.status == "ROLLBACK_COMPLETE"
        || stack.status.ends_with("_FAILED") && stack.status != "UPDATE_ROLLBACK_FAILED"
    {
        return Err(AwsError::validation_error(format!(
            "Stack:{} is in {} state and can not be updated.",
            stack.stack_id, stack.status
        )));
    }
    Ok(())
}

pub fn update_stack(ctx: &Context, input: UpdateStackInput) -> Result<Value, AwsError> {
    let mut stack = stacks::require(&input.stack_name)?;
    require_updatable(&stack)?;
    let body = if input.use_previous_template == Some(true) {
        stack.template_body.clone()
    } else {
        body_of(input.template_body, input.template_url)?
    };
    let capabilities = caps(input.capabilities);
    let given = given_parameters(input.parameters, Some(&stack.parameters))?;
    let tpl = load(ctx, &body, &given, Some(&capabilities))?;
    check_capabilities(&tpl, &capabilities)?;
    let parameters = effective_parameters(&tpl, &given)?;
    crate::rules::check_call(ctx, &tpl, &parameters)?;
    check_types(ctx, &tpl)?;
    let changes = crate::changes::compute(ctx, &stack, &tpl, &parameters)?;
    if changes.is_empty() && parameters == stack.parameters && tpl == stack.template {
        return Err(AwsError::validation_error(
            "No updates are to be performed.",
        ));
    }
    if let Some(tags) = input.tags {
        stack.tags = tag_pairs(Some(tags));
    }
    stack.capabilities = capabilities;
    if let Some(d) = input.disable_rollback {
        stack.disable_rollback = d;
    }
    stack.last_updated_time = Some(ministack_sdk::time::now());
    stack.stack_event("UPDATE_IN_PROGRESS", Some("User Initiated"));
    start(
        &mut stack,
        Operation {
            kind: "UPDATE".into(),
            template_body: body,
            template: tpl,
            parameters,
            ..Default::default()
        },
    )?;
    Ok(json!({"StackId": stack.stack_id}))
}

pub fn delete_stack(_: &Context, input: DeleteStackInput) -> Result<Value, AwsError> {
    let Some(mut stack) = stacks::find(&input.stack_name)? else {
        return Ok(json!({}));
    };
    if stack.deleted() || stack.status == "DELETE_IN_PROGRESS" {
        return Ok(json!({}));
    }
    if stack.termination_protection {
        return Err(AwsError::validation_error(format!(
            "Stack [{}] cannot be deleted while TerminationProtection is enabled",
            stack.stack_name
        )));
    }
    if stack.in_progress() {
        return Err(AwsError::validation_error(format!(
            "Stack [{}] cannot be deleted while in status {}",
            stack.stack_name, stack.status
        )));
    }
    for (name, export) in EXPORTS.scan(&Scan::all())? {
        if export.stack_id != stack.stack_id {
            continue;
        }
        for other in STACKS.values("")? {
            if other.stack_id != stack.stack_id && !other.deleted() && other.imports.contains(&name)
            {
                return Err(AwsError::validation_error(format!(
                    "Export {name} cannot be deleted as it is in use by {}",
                    other.stack_name
                )));
            }
        }
    }
    if stack.status == "REVIEW_IN_PROGRESS" {
        stack.stack_event("DELETE_COMPLETE", None);
        stack.deletion_time = Some(ministack_sdk::time::now());
        NAMES.delete(&stack.stack_name);
        stack.save()?;
        return Ok(json!({}));
    }
    // Resources named in RetainResources stay (only allowed after a failed delete).
    if let Some(retain) = input.retain_resources {
        for r in retain {
            if let Some(res) = stack.resources.get_mut(&r) {
                res.status = "DELETE_SKIPPED".into();
            }
        }
    }
    // DescribeStacks shows the delete at once, as AWS does.
    stack.stack_event("DELETE_IN_PROGRESS", Some("User Initiated"));
    start(
        &mut stack,
        Operation {
            kind: "DELETE".into(),
            ..Default::default()
        },
    )?;
    Ok(json!({}))
}

pub fn describe_stacks(_: &Context, input: DescribeStacksInput) -> Result<Value, AwsError> {
    let list: Vec<Stack> = match &input.stack_name {
        Some(name) => vec![stacks::require(name)?],
        None => {
            let mut all: Vec<Stack> = STACKS
                .values("")?
                .into_iter()
                .filter(|s| !s.deleted())
                .collect();
            all.sort_by(|a, b| b.creation_time.total_cmp(&a.creation_time));
            all
        }
    };
    Ok(json!({"Stacks": list.iter().map(Stack::describe).collect::<Vec<_>>()}))
}

pub fn list_stacks(_: &Context, input: ListStacksInput) -> Result<Value, AwsError> {
    let filter: Vec<String> = input
        .stack_status_filter
        .unwrap_or_default()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let mut all: Vec<Stack> = STACKS
        .values("")?
        .into_iter()
        .filter(|s| s.status != "REVIEW_IN_PROGRESS" || !s.resources.is_empty())
        .filter(|s| filter.is_empty() || filter.contains(&s.status))
        .collect();
    all.sort_by(|a, b| b.creation_time.total_cmp(&a.creation_time));
    Ok(json!({"StackSummaries": all.iter().map(Stack::summary).collect::<Vec<_>>()}))
}

pub fn describe_stack_events(
    _: &Context,
    input: DescribeStackEventsInput,
) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let events = EVENTS.values(&keys::prefix(&[&stack.stack_id]))?;
    Ok(json!({"StackEvents": events.iter().map(stacks::Event::to_json).collect::<Vec<_>>()}))
}

fn live_resources(stack: &Stack) -> Vec<&stacks::Resource> {
    stack
        .resources
        .values()
        .filter(|r| r.status != "DELETE_COMPLETE" || stack.deleted())
        .collect()
}

pub fn describe_stack_resources(
    _: &Context,
    input: DescribeStackResourcesInput,
) -> Result<Value, AwsError> {
    let stack = match (&input.stack_name, &input.physical_resource_id) {
        (Some(name), _) => stacks::require(name)?,
        (None, Some(physical)) => STACKS
            .values("")?
            .into_iter()
            .find(|s| !s.deleted() && s.resources.values().any(|r| &r.physical_id == physical))
            .ok_or_else(|| {
                AwsError::validation_error(format!("Stack for {physical} does not exist"))
            })?,
        (None, None) => {
            return Err(AwsError::validation_error(
                "Either StackName or PhysicalResourceId must be specified.",
            ));
        }
    };
    let list: Vec<Value> = live_resources(&stack)
        .into_iter()
        .filter(|r| {
            input
                .logical_resource_id
                .as_ref()
                .is_none_or(|l| &r.logical_id == l)
        })
        .filter(|r| {
            input
                .physical_resource_id
                .as_ref()
                .is_none_or(|p| &r.physical_id == p)
        })
        .map(|r| {
            let mut v = stack.resource_json(r);
            v.as_object_mut().unwrap().remove("LastUpdatedTimestamp");
            v
        })
        .collect();
    Ok(json!({"StackResources": list}))
}

pub fn describe_stack_resource(
    _: &Context,
    input: DescribeStackResourceInput,
) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let r = stack
        .resources
        .get(&input.logical_resource_id)
        .ok_or_else(|| {
            AwsError::validation_error(format!(
                "Resource {} does not exist for stack {}",
                input.logical_resource_id, input.stack_name
            ))
        })?;
    let mut v = stack.resource_json(r);
    v.as_object_mut().unwrap().remove("Timestamp");
    v["Metadata"] = json!(
        stack.template["Resources"][&r.logical_id]
            .get("Metadata")
            .map(|m| m.to_string())
            .unwrap_or_else(|| "{}".into())
    );
    Ok(json!({"StackResourceDetail": v}))
}

pub fn list_stack_resources(
    _: &Context,
    input: ListStackResourcesInput,
) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let list: Vec<Value> = live_resources(&stack)
        .into_iter()
        .map(|r| {
            let mut v = stack.resource_json(r);
            let o = v.as_object_mut().unwrap();
            o.remove("Timestamp");
            o.remove("StackName");
            o.remove("StackId");
            v
        })
        .collect();
    Ok(json!({"StackResourceSummaries": list}))
}

pub fn get_template(_: &Context, input: GetTemplateInput) -> Result<Value, AwsError> {
    if let Some(cs) = &input.change_set_name {
        let c = find_change_set(cs, input.stack_name.as_deref())?;
        return Ok(
            json!({"TemplateBody": c.template_body, "StagesAvailable": ["Original", "Processed"]}),
        );
    }
    let name = input
        .stack_name
        .ok_or_else(|| AwsError::validation_error("StackName must be specified"))?;
    let stack = stacks::require(&name)?;
    let body = match &stack.operation {
        Some(op) if !op.template_body.is_empty() => op.template_body.clone(),
        _ => stack.template_body.clone(),
    };
    Ok(json!({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}))
}

fn parameter_declarations(tpl: &Value) -> Vec<Value> {
    template::section(tpl, "Parameters")
        .iter()
        .map(|(k, d)| {
            let mut v = json!({
                "ParameterKey": k,
                "ParameterType": d.get("Type").map(template::text).unwrap_or_else(|| "String".into()),
                "NoEcho": d.get("NoEcho").is_some_and(|n| template::text(n) == "true"),
            });
            if let Some(def) = d.get("Default") {
                v["DefaultValue"] = json!(template::text(def));
            }
            if let Some(desc) = d.get("Description") {
                v["Description"] = json!(template::text(desc));
            }
            if let Some(a) = d.get("AllowedValues").and_then(Value::as_array) {
                v["ParameterConstraints"] = json!({"AllowedValues": a.iter().map(template::text).collect::<Vec<_>>()});
            }
            v
        })
        .collect()
}

fn needed_capabilities(tpl: &Value) -> Vec<String> {
    match check_capabilities(tpl, &[]) {
        Err(e) if e.message.contains("NAMED") => vec!["CAPABILITY_NAMED_IAM".into()],
        Err(_) => vec!["CAPABILITY_IAM".into()],
        Ok(()) => Vec::new(),
    }
}

pub fn validate_template(ctx: &Context, input: ValidateTemplateInput) -> Result<Value, AwsError> {
    let body = body_of(input.template_body, input.template_url)?;
    let tpl = load(ctx, &body, &BTreeMap::new(), None)?;
    template::creation_order(&tpl)?;
    let mut v = json!({
        "Parameters": tpl_params_for_validate(&tpl),
        "Capabilities": needed_capabilities(&tpl),
    });
    if let Some(d) = tpl.get("Description") {
        v["Description"] = json!(template::text(d));
    }
    if !needed_capabilities(&tpl).is_empty() {
        v["CapabilitiesReason"] =
            json!("The following resource(s) require capabilities: [AWS::IAM::Role]");
    }
    Ok(v)
}

/// EstimateTemplateCost: the template is validated as ValidateTemplate
/// does (and the given parameters against it); the answer is a link to
/// the AWS Pricing Calculator, as AWS's is (nothing is priced locally).
pub fn estimate_template_cost(
    ctx: &Context,
    input: EstimateTemplateCostInput,
) -> Result<Value, AwsError> {
    let body = body_of(input.template_body, input.template_url)?;
    let given = given_parameters(input.parameters, None)?;
    let tpl = load(ctx, &body, &given, None)?;
    template::creation_order(&tpl)?;
    for key in given.keys() {
        if !template::section(&tpl, "Parameters").contains_key(key) {
            return Err(AwsError::validation_error(format!(
                "Parameters: [{key}] do not exist in the template"
            )));
        }
    }
    if !given.is_empty() {
        effective_parameters(&tpl, &given)?;
    }
    Ok(json!({
        "Url": format!(
            "https://calculator.s3.amazonaws.com/calc5.html?key=cloudformation/{}",
            ministack_sdk::ids::uuid()
        )
    }))
}

fn tpl_params_for_validate(tpl: &Value) -> Vec<Value> {
    parameter_declarations(tpl)
        .into_iter()
        .map(|mut p| {
            let o = p.as_object_mut().unwrap();
            o.remove("ParameterType");
            o.remove("ParameterConstraints");
            p
        })
        .collect()
}

pub fn get_template_summary(
    ctx: &Context,
    input: GetTemplateSummaryInput,
) -> Result<Value, AwsError> {
    let body = match input.stack_name {
        Some(name) if input.template_body.is_none() && input.template_url.is_none() => {
            stacks::require(&name)?.template_body
        }
        _ => body_of(input.template_body, input.template_url)?,
    };
    let raw = template::parse(&body)?;
    let transforms = crate::transform::declared(&raw);
    let tpl = crate::transform::apply(ctx, raw, &BTreeMap::new())?;
    let mut types: Vec<String> = template::section(&tpl, "Resources")
        .values()
        .map(|d| template::text(&d["Type"]))
        .collect();
    types.sort();
    types.dedup();
    let mut v = json!({
        "Parameters": parameter_declarations(&tpl),
        "Capabilities": needed_capabilities(&tpl),
        "ResourceTypes": types,
        "Version": "2010-09-09",
        "DeclaredTransforms": transforms,
        "ResourceIdentifierSummaries": [],
    });
    if let Some(d) = tpl.get("Description") {
        v["Description"] = json!(template::text(d));
    }
    if let Some(m) = tpl.get("Metadata") {
        v["Metadata"] = json!(m.to_string());
    }
    Ok(v)
}

pub fn find_change_set(name_or_id: &str, stack: Option<&str>) -> Result<ChangeSet, AwsError> {
    let not_found = || {
        AwsError::new(
            "ChangeSetNotFoundException",
            format!("ChangeSet [{name_or_id}] does not exist"),
        )
        .with_status(404)
    };
    if name_or_id.starts_with("arn:") {
        return CHANGE_SETS.get(name_or_id)?.ok_or_else(not_found);
    }
    let stack = stack.ok_or_else(|| {
        AwsError::validation_error(
            "StackName must be specified if ChangeSetName is not specified as an ARN.",
        )
    })?;
    let stack = stacks::find(stack)?.ok_or_else(not_found)?;
    CHANGE_SETS
        .values("")?
        .into_iter()
        .find(|c| c.stack_id == stack.stack_id && c.name == name_or_id)
        .ok_or_else(not_found)
}

pub fn create_change_set(ctx: &Context, input: CreateChangeSetInput) -> Result<Value, AwsError> {
    let kind = input
        .change_set_type
        .as_ref()
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| "UPDATE".into());
    let existing = stacks::find(&input.stack_name)?.filter(|s| !s.deleted());
    let stack = match (kind.as_str(), existing) {
        ("CREATE", Some(s)) if s.status == "REVIEW_IN_PROGRESS" => s,
        ("CREATE", Some(_)) => {
            return Err(AwsError::new(
                "AlreadyExistsException",
                format!("Stack [{}] already exists and cannot be created again with the changeSet [{}].", input.stack_name, input.change_set_name),
            )
            .with_status(400));
        }
        ("CREATE", None) => {
            let mut s = new_stack(ctx, &input.stack_name)?;
            s.stack_event("REVIEW_IN_PROGRESS", Some("User Initiated"));
            NAMES.put(&s.stack_name, &s.stack_id)?;
            s
        }
        ("IMPORT", _) => {
            return Err(AwsError::validation_error(
                "ChangeSetType IMPORT is not supported by this gateway yet",
            ));
        }
        (_, Some(s)) => s,
        (_, None) => return Err(stacks::missing(&input.stack_name)),
    };
    if kind == "UPDATE" {
        require_updatable(&stack)?;
    }
    let body = if input.use_previous_template == Some(true) {
        stack.template_body.clone()
    } else {
        body_of(input.template_body, input.template_url)?
    };
    let capabilities = caps(input.capabilities);
    let given = given_parameters(input.parameters, Some(&stack.parameters))?;
    let tpl = load(ctx, &body, &given, None)?;
    check_capabilities(&tpl, &capabilities)?;
    let parameters = effective_parameters(&tpl, &given)?;
    crate::rules::check_call(ctx, &tpl, &parameters)?;
    check_types(ctx, &tpl)?;
    // An executed change set's name is free again (AWS keeps it only for
    // describing by id; `aws cloudformation deploy` names change sets by the second).
    for old in CHANGE_SETS.values("")? {
        if old.stack_id == stack.stack_id
            && old.name == input.change_set_name
            && old.execution_status.starts_with("EXECUTE_")
            && old.execution_status != "EXECUTE_IN_PROGRESS"
        {
            CHANGE_SETS.delete(&old.id);
        }
    }
    if CHANGE_SETS
        .values("")?
        .iter()
        .any(|c| c.stack_id == stack.stack_id && c.name == input.change_set_name)
    {
        return Err(AwsError::new(
            "AlreadyExistsException",
            format!("ChangeSet {} already exists", input.change_set_name),
        )
        .with_status(400));
    }
    let changes = crate::changes::compute(ctx, &stack, &tpl, &parameters)?;
    let id = format!(
        "arn:{}:cloudformation:{}:{}:changeSet/{}/{}",
        ctx.partition(),
        ctx.region,
        ctx.account,
        input.change_set_name,
        ministack_sdk::ids::uuid()
    );
    let unchanged = changes.is_empty()
        && kind == "UPDATE"
        && parameters == stack.parameters
        && tpl == stack.template;
    let cs = ChangeSet {
        id: id.clone(),
        name: input.change_set_name,
        stack_id: stack.stack_id.clone(),
        stack_name: stack.stack_name.clone(),
        change_set_type: kind,
        description: input.description,
        template_body: body,
        parameters,
        capabilities,
        tags: tag_pairs(input.tags),
        changes,
        status: if unchanged { "FAILED" } else { "CREATE_COMPLETE" }.into(),
        status_reason: unchanged.then(|| {
            "The submitted information didn't contain changes. Submit different information to create a change set.".to_string()
        }),
        execution_status: if unchanged { "UNAVAILABLE" } else { "AVAILABLE" }.into(),
        creation_time: ministack_sdk::time::now(),
    };
    CHANGE_SETS.put(&id, &cs)?;
    stack.save()?;
    Ok(json!({"Id": id, "StackId": stack.stack_id}))
}

pub fn describe_change_set(_: &Context, input: DescribeChangeSetInput) -> Result<Value, AwsError> {
    let c = find_change_set(&input.change_set_name, input.stack_name.as_deref())?;
    let mut v = json!({
        "ChangeSetName": c.name,
        "ChangeSetId": c.id,
        "StackId": c.stack_id,
        "StackName": c.stack_name,
        "CreationTime": c.creation_time,
        "ExecutionStatus": c.execution_status,
        "Status": c.status,
        "Capabilities": c.capabilities,
        "NotificationARNs": [],
        "Changes": c.changes,
        "Parameters": c.parameters.iter().map(|(k, v)| json!({"ParameterKey": k, "ParameterValue": v})).collect::<Vec<_>>(),
        "Tags": c.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        "IncludeNestedStacks": false,
    });
    if let Some(d) = &c.description {
        v["Description"] = json!(d);
    }
    if let Some(r) = &c.status_reason {
        v["StatusReason"] = json!(r);
    }
    Ok(v)
}

pub fn execute_change_set(ctx: &Context, input: ExecuteChangeSetInput) -> Result<Value, AwsError> {
    let mut c = find_change_set(&input.change_set_name, input.stack_name.as_deref())?;
    if c.execution_status != "AVAILABLE" {
        return Err(AwsError::new(
            "InvalidChangeSetStatusException",
            format!(
                "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
                c.id, c.execution_status
            ),
        )
        .with_status(400));
    }
    let mut stack = STACKS
        .get(&c.stack_id)?
        .ok_or_else(|| stacks::missing(&c.stack_name))?;
    if stack.in_progress() {
        return Err(AwsError::validation_error(format!(
            "Stack:{} is in {} state and can not be updated.",
            stack.stack_id, stack.status
        )));
    }
    let tpl = load(ctx, &c.template_body, &c.parameters, None)?;
    let creating = c.change_set_type == "CREATE";
    stack.capabilities = c.capabilities.clone();
    if !c.tags.is_empty() {
        stack.tags = c.tags.clone();
    }
    if let Some(d) = input.disable_rollback {
        stack.disable_rollback = d;
    }
    stack.change_set_id = Some(c.id.clone());
    if creating {
        stack.template = tpl.clone();
        stack.template_body = c.template_body.clone();
        stack.parameters = c.parameters.clone();
        stack.description = tpl.get("Description").map(template::text);
        stack.stack_event("CREATE_IN_PROGRESS", Some("User Initiated"));
    } else {
        stack.last_updated_time = Some(ministack_sdk::time::now());
        stack.stack_event("UPDATE_IN_PROGRESS", Some("User Initiated"));
    }
    c.execution_status = "EXECUTE_IN_PROGRESS".into();
    CHANGE_SETS.put(&c.id, &c)?;
    // Once one change set runs, AWS removes the stack's others.
    for other in CHANGE_SETS.values("")? {
        if other.stack_id == c.stack_id && other.id != c.id {
            CHANGE_SETS.delete(&other.id);
        }
    }
    start(
        &mut stack,
        Operation {
            kind: if creating { "CREATE" } else { "UPDATE" }.into(),
            template_body: c.template_body.clone(),
            template: tpl,
            parameters: c.parameters.clone(),
            change_set_id: Some(c.id.clone()),
            ..Default::default()
        },
    )?;
    Ok(json!({}))
}

pub fn delete_change_set(_: &Context, input: DeleteChangeSetInput) -> Result<Value, AwsError> {
    let c = find_change_set(&input.change_set_name, input.stack_name.as_deref())?;
    if c.execution_status == "EXECUTE_IN_PROGRESS" {
        return Err(AwsError::new(
            "InvalidChangeSetStatusException",
            format!("Cannot delete ChangeSet in status {}", c.execution_status),
        )
        .with_status(400));
    }
    CHANGE_SETS.delete(&c.id);
    Ok(json!({}))
}

pub fn list_change_sets(_: &Context, input: ListChangeSetsInput) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let list: Vec<Value> = CHANGE_SETS
        .values("")?
        .into_iter()
        .filter(|c| c.stack_id == stack.stack_id)
        .map(|c| {
            let mut v = json!({
                "StackId": c.stack_id, "StackName": c.stack_name, "ChangeSetId": c.id,
                "ChangeSetName": c.name, "ExecutionStatus": c.execution_status, "Status": c.status,
                "CreationTime": c.creation_time, "IncludeNestedStacks": false,
            });
            if let Some(d) = &c.description {
                v["Description"] = json!(d);
            }
            if let Some(r) = &c.status_reason {
                v["StatusReason"] = json!(r);
            }
            v
        })
        .collect();
    Ok(json!({"Summaries": list}))
}

pub fn list_exports(_: &Context, _: ListExportsInput) -> Result<Value, AwsError> {
    let list: Vec<Value> = EXPORTS
        .values("")?
        .into_iter()
        .map(|e| json!({"ExportingStackId": e.stack_id, "Name": e.name, "Value": e.value}))
        .collect();
    Ok(json!({"Exports": list}))
}

pub fn list_imports(_: &Context, input: ListImportsInput) -> Result<Value, AwsError> {
    if EXPORTS.get(&input.export_name)?.is_none() {
        return Err(AwsError::validation_error(format!(
            "Export '{}' does not exist.",
            input.export_name
        )));
    }
    let list: Vec<String> = STACKS
        .values("")?
        .into_iter()
        .filter(|s| !s.deleted() && s.imports.contains(&input.export_name))
        .map(|s| s.stack_name)
        .collect();
    Ok(json!({"Imports": list}))
}

pub fn update_termination_protection(
    _: &Context,
    input: UpdateTerminationProtectionInput,
) -> Result<Value, AwsError> {
    let mut stack = stacks::require(&input.stack_name)?;
    stack.termination_protection = input.enable_termination_protection;
    stack.save()?;
    Ok(json!({"StackId": stack.stack_id}))
}

pub fn set_stack_policy(_: &Context, input: SetStackPolicyInput) -> Result<Value, AwsError> {
    let mut stack = stacks::require(&input.stack_name)?;
    let body = body_of(input.stack_policy_body, input.stack_policy_url)?;
    serde_json::from_str::<Value>(&body).map_err(|_| {
        AwsError::validation_error("Error validating stack policy: Invalid stack policy")
    })?;
    stack.stack_policy = Some(body);
    stack.save()?;
    Ok(json!({}))
}

pub fn get_stack_policy(_: &Context, input: GetStackPolicyInput) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    Ok(match stack.stack_policy {
        Some(p) => json!({"StackPolicyBody": p}),
        None => json!({}),
    })
}

pub fn run_deploy(ctx: &Context, payload: DeployPayload) -> Result<(), AwsError> {
    deploy::run(ctx, payload)
}
