//! `AWS::CloudFormation::Stack`: a nested stack is a stack of its own
//! (its own record, events and durable deploy task) whose parent polls its
//! status. `Ref` is the child's stack id, `Fn::GetAtt Res.Outputs.X` its
//! outputs.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{self, ProgressEvent};
use serde_json::{Value, json};

use crate::internal::stack_id_of;
use crate::stacks::{self, NAMES, Operation, STACKS, Stack};
use crate::template;

pub const TYPE: &str = "AWS::CloudFormation::Stack";

/// `<parent stack id>/<logical id>` → child stack id: a deployment that
/// runs again after a restart finds the child it already started.
const CHILDREN: Table<String> = Table::new("nested-children");

pub fn provides(type_name: &str) -> bool {
    type_name == TYPE
}

fn parameters(req: &ResourceRequest) -> BTreeMap<String, String> {
    match req.properties.get("Parameters") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::Array(a) => a.iter().map(template::text).collect::<Vec<_>>().join(","),
                    other => template::text(other),
                };
                (k.clone(), text)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn template_of(ctx: &Context, req: &ResourceRequest) -> Result<(String, Value), AwsError> {
    let url = req.required_str("TemplateURL")?;
    let body = crate::template_url::fetch(url)?;
    let tpl = crate::ops::load(ctx, &body, &parameters(req), None)?;
    Ok((body, tpl))
}

pub fn handle(
    ctx: &Context,
    operation: &str,
    req: &ResourceRequest,
) -> Result<ProgressEvent, AwsError> {
    let parent_id = stack_id_of(req);
    let key = format!("{parent_id}/{}", req.logical_id);
    if req.callback_context.is_none() {
        match operation {
            resources::CREATE_OPERATION => {
                if CHILDREN.get(&key)?.is_none() {
                    let child = create_child(ctx, req, &parent_id)?;
                    CHILDREN.put(&key, &child)?;
                }
            }
            resources::UPDATE_OPERATION => {
                let mut child = stacks::require(&req.physical_id)?;
                let (body, tpl) = template_of(ctx, req)?;
                let parameters = crate::ops::effective_parameters(&tpl, &parameters(req))?;
                if tpl != child.template || parameters != child.parameters {
                    crate::ops::check_types(ctx, &tpl)?;
                    child.last_updated_time = Some(ministack_sdk::time::now());
                    child.stack_event("UPDATE_IN_PROGRESS", Some("User Initiated"));
                    crate::ops::start(
                        &mut child,
                        Operation {
                            kind: "UPDATE".into(),
                            template_body: body,
                            template: tpl,
                            parameters,
                            ..Default::default()
                        },
                    )?;
                }
            }
            resources::DELETE_OPERATION => {
                let Some(mut child) = stacks::find(&req.physical_id)? else {
                    return Ok(ProgressEvent::success(req.physical_id.clone()));
                };
                if !child.deleted() && child.status != "DELETE_IN_PROGRESS" {
                    child.stack_event("DELETE_IN_PROGRESS", Some("User Initiated"));
                    crate::ops::start(
                        &mut child,
                        Operation {
                            kind: "DELETE".into(),
                            ..Default::default()
                        },
                    )?;
                }
            }
            _ => return Ok(ProgressEvent::success(req.physical_id.clone())),
        }
    }
    let child_id = if operation == resources::CREATE_OPERATION {
        CHILDREN.get(&key)?.unwrap_or_default()
    } else {
        req.physical_id.clone()
    };
    poll(operation, &child_id, &key)
}

fn create_child(ctx: &Context, req: &ResourceRequest, parent_id: &str) -> Result<String, AwsError> {
    let (body, tpl) = template_of(ctx, req)?;
    let given = parameters(req);
    let parameters = crate::ops::effective_parameters(&tpl, &given)?;
    crate::ops::check_types(ctx, &tpl)?;
    let parent = STACKS.get(parent_id)?.unwrap_or_default();
    let name = format!(
        "{}-{}-{}",
        req.stack_name,
        req.logical_id,
        ministack_sdk::ids::upper_alnum(12)
    );
    let name: String = name.chars().take(128).collect();
    let mut child = crate::ops::new_stack(ctx, &name)?;
    child.parent_id = Some(parent_id.to_string());
    child.root_id = Some(
        parent
            .root_id
            .clone()
            .unwrap_or_else(|| parent_id.to_string()),
    );
    child.capabilities = parent.capabilities.clone();
    child.tags = parent.tags.clone();
    child.disable_rollback = parent.disable_rollback;
    child.notification_arns = req
        .properties
        .get("NotificationARNs")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(template::text).collect())
        .unwrap_or_default();
    child.description = tpl.get("Description").map(template::text);
    child.template = tpl.clone();
    child.template_body = body.clone();
    child.parameters = parameters.clone();
    child.stack_event("CREATE_IN_PROGRESS", Some("User Initiated"));
    NAMES.put(&child.stack_name, &child.stack_id)?;
    let id = child.stack_id.clone();
    crate::ops::start(
        &mut child,
        Operation {
            kind: "CREATE".into(),
            template_body: body,
            template: tpl,
            parameters,
            ..Default::default()
        },
    )?;
    Ok(id)
}

fn poll(operation: &str, child_id: &str, key: &str) -> Result<ProgressEvent, AwsError> {
    let Some(child) = STACKS.get(child_id)? else {
        if operation == resources::DELETE_OPERATION {
            return Ok(ProgressEvent::success(child_id));
        }
        return Err(AwsError::internal("nested stack record is missing"));
    };
    let status = child.status.as_str();
    let failed = |what: &str| {
        Ok(ProgressEvent {
            status: "FAILED".to_string(),
            error_code: "NotStabilized".to_string(),
            message: format!(
                "Embedded stack {} was not successfully {what}: {}",
                child.stack_id,
                child
                    .status_reason
                    .clone()
                    .unwrap_or_else(|| status.to_string())
            ),
            ..Default::default()
        })
    };
    if child.in_progress() {
        return Ok(ProgressEvent::in_progress(
            child_id,
            json!({"Child": child_id}),
            200,
        ));
    }
    match operation {
        resources::DELETE_OPERATION => {
            if child.deleted() {
                CHILDREN.delete(key);
                Ok(ProgressEvent::success(child_id))
            } else {
                failed("deleted")
            }
        }
        _ => match status {
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" => Ok(success(&child)),
            _ if operation == resources::CREATE_OPERATION => failed("created"),
            _ => failed("updated"),
        },
    }
}

fn success(child: &Stack) -> ProgressEvent {
    let mut event = ProgressEvent::success(child.stack_id.clone());
    for o in &child.outputs {
        event
            .attributes
            .insert(format!("Outputs.{}", o.key), json!(o.value));
    }
    event
}
