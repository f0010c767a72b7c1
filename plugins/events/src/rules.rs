//! Rules (event patterns and schedules), their targets, TestEventPattern,
//! and the `fire` task that runs a schedule: each fire computes the next
//! fire time and schedules itself for exactly then.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, tasks, time};
use serde_json::{Map, Value, json};

use crate::model::*;
use crate::{deliver, pattern, schedule, transform};

pub const FIRE: &str = "fire";
/// AWS's limit of targets per rule.
const MAX_TARGETS: usize = 5;

pub fn put_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?.to_string();
    check_name("name", &name, false)?;
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let event_pattern = s(&v, "EventPattern").map(str::to_string);
    let schedule_expression = s(&v, "ScheduleExpression")
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    if event_pattern.is_none() && schedule_expression.is_none() {
        return Err(AwsError::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    if let Some(p) = &event_pattern {
        pattern::parse(p).map_err(|r| bad_pattern(&r))?;
    }
    if let Some(e) = &schedule_expression {
        if bus != DEFAULT_BUS {
            return Err(AwsError::validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        schedule::parse(e).map_err(AwsError::validation)?;
    }
    let key = keys::join(&[&bus, &name]);
    let old = RULES.get(&key)?;
    if let Some(o) = &old
        && o.managed_by.is_some()
    {
        return Err(AwsError::new(
            "ManagedRuleException",
            format!(
                "Rule {name} is managed by {} and cannot be modified.",
                o.managed_by.as_deref().unwrap_or("")
            ),
        ));
    }
    let rule = Rule {
        arn: rule_arn(ctx, &bus, &name),
        name: name.clone(),
        bus: bus.clone(),
        event_pattern,
        schedule_expression,
        state: s(&v, "State").unwrap_or("ENABLED").to_string(),
        description: s(&v, "Description").map(str::to_string),
        role_arn: s(&v, "RoleArn").map(str::to_string),
        managed_by: None,
        created_by: ctx.account.clone(),
        created: old.as_ref().map(|o| o.created).unwrap_or_else(time::now),
        last_fire: old.as_ref().map(|o| o.last_fire).unwrap_or(0),
        // Random, so a rule deleted and made again never revives an old chain.
        generation: ministack_sdk::rand::u64(),
    };
    RULES.put(&key, &rule)?;
    if old.is_none() {
        add_tags(&rule.arn, tags_from(&v))?;
    }
    arm(&rule)?;
    Ok(json!({"RuleArn": rule.arn}))
}

/// The payload of a `fire` task.
#[derive(Serialize, Deserialize)]
pub struct Fire {
    pub bus: String,
    pub rule: String,
    pub generation: u64,
    /// Epoch second this fire is for.
    pub at: i64,
}

/// Schedules the next fire of an enabled scheduled rule.
fn arm(rule: &Rule) -> Result<(), AwsError> {
    let Some(expr) = rule
        .schedule_expression
        .as_deref()
        .filter(|_| rule.enabled())
    else {
        return Ok(());
    };
    let sched = schedule::parse(expr).map_err(AwsError::validation)?;
    let now_ms = time::now_millis() as i64;
    schedule_fire(rule, &sched, now_ms.div_euclid(1000))
}

fn schedule_fire(rule: &Rule, sched: &schedule::Schedule, after: i64) -> Result<(), AwsError> {
    let Some(at) = sched.next_after(rule.created as i64, after) else {
        return Ok(());
    };
    let delay_ms = (at * 1000 - time::now_millis() as i64).max(0) as u64;
    tasks::schedule(
        Duration::from_millis(delay_ms),
        FIRE,
        &Fire {
            bus: rule.bus.clone(),
            rule: rule.name.clone(),
            generation: rule.generation,
            at,
        },
    )?;
    Ok(())
}

/// The `fire` task: sends the Scheduled Event to the rule's targets and
/// arms the next fire (a changed, disabled or deleted rule ends the chain).
pub fn fire(ctx: &Context, f: Fire) -> Result<(), AwsError> {
    let key = keys::join(&[&f.bus, &f.rule]);
    let Some(mut rule) = RULES.get(&key)? else {
        return Ok(());
    };
    if rule.generation != f.generation || !rule.enabled() || f.at <= rule.last_fire {
        return Ok(());
    }
    rule.last_fire = f.at;
    RULES.put(&key, &rule)?;
    let Some(sched) = rule
        .schedule_expression
        .as_deref()
        .and_then(|e| schedule::parse(e).ok())
    else {
        return Ok(());
    };
    // Next first, so a failing target never stops the schedule.
    let now = time::now_secs() as i64;
    schedule_fire(&rule, &sched, f.at.max(now - 1))?;
    let event = json!({
        "version": "0",
        "id": ids::uuid(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ctx.account,
        "time": time::iso8601(f.at as u64),
        "region": ctx.region,
        "resources": [rule.arn],
        "detail": {},
    });
    deliver::to_rule_targets(ctx, &rule, &event);
    Ok(())
}

fn rule_json(rule: &Rule, full: bool) -> Value {
    let mut out = Map::new();
    out.insert("Name".into(), json!(rule.name));
    out.insert("Arn".into(), json!(rule.arn));
    put_opt(
        &mut out,
        "EventPattern",
        rule.event_pattern.clone().map(Value::from),
    );
    put_opt(
        &mut out,
        "ScheduleExpression",
        rule.schedule_expression.clone().map(Value::from),
    );
    out.insert("State".into(), json!(rule.state));
    put_opt(
        &mut out,
        "Description",
        rule.description.clone().map(Value::from),
    );
    put_opt(&mut out, "RoleArn", rule.role_arn.clone().map(Value::from));
    put_opt(
        &mut out,
        "ManagedBy",
        rule.managed_by.clone().map(Value::from),
    );
    out.insert("EventBusName".into(), json!(rule.bus));
    if full {
        out.insert("CreatedBy".into(), json!(rule.created_by));
    }
    Value::Object(out)
}

pub fn describe_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    Ok(rule_json(&get_rule(&bus, req(&v, "Name")?)?, true))
}

pub fn delete_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let name = req(&v, "Name")?;
    let Some(rule) = RULES.get(&keys::join(&[&bus, name]))? else {
        return Ok(json!({}));
    };
    if !targets_of(&bus, name)?.is_empty() {
        return Err(AwsError::validation(
            "Rule can't be deleted since it has targets.",
        ));
    }
    check_managed(&rule, &v)?;
    RULES.delete(&keys::join(&[&bus, name]));
    TAGS.delete(&rule.arn);
    Ok(json!({}))
}

fn check_managed(rule: &Rule, v: &Value) -> Result<(), AwsError> {
    if rule.managed_by.is_some() && v.get("Force").and_then(Value::as_bool) != Some(true) {
        return Err(AwsError::new(
            "ManagedRuleException",
            format!("Rule {} is a managed rule; use Force.", rule.name),
        ));
    }
    Ok(())
}

fn set_state(ctx: &Context, v: Value, state: &str) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let name = req(&v, "Name")?;
    let mut rule = get_rule(&bus, name)?;
    check_managed(&rule, &v)?;
    if rule.state != state {
        rule.state = state.to_string();
        rule.generation = ministack_sdk::rand::u64();
        RULES.put(&keys::join(&[&bus, name]), &rule)?;
        arm(&rule)?;
    }
    Ok(json!({}))
}

pub fn enable_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    set_state(ctx, v, "ENABLED")
}

pub fn disable_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    set_state(ctx, v, "DISABLED")
}

pub fn list_rules(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let scan = Scan::prefix(format!("{}{prefix}", keys::prefix(&[&bus])));
    let page = RULES
        .page(&scan, s(&v, "NextToken"), page_size(&v, "Limit"))
        .map_err(token_error)?;
    let rules: Vec<Value> = page
        .items
        .iter()
        .map(|(_, r)| rule_json(r, false))
        .collect();
    let mut out = json!({"Rules": rules});
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

// --------------------------------------------------------------- targets

/// Services a target ARN may name, and whether the bundle can deliver.
const TARGET_SERVICES: &[&str] = &[
    "sqs",
    "sns",
    "lambda",
    "states",
    "kinesis",
    "firehose",
    "logs",
    "events",
    "ecs",
    "batch",
    "sagemaker",
    "redshift",
    "ssm",
    "codebuild",
    "codepipeline",
    "inspector",
    "appsync",
    "ec2",
    "execute-api",
    "cloudwatch",
    "autoscaling",
];

fn bad_arn(arn: &str) -> AwsError {
    AwsError::validation(format!(
        "Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
    ))
}

/// Checks one target; `Err((code, message))` is a per-entry failure.
fn check_target(t: &Value) -> Result<Result<(), (String, String)>, AwsError> {
    let id = req(t, "Id")?;
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{id}' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )));
    }
    let arn_text = req(t, "Arn")?;
    let arn = Arn::parse(arn_text).ok_or_else(|| bad_arn(arn_text))?;
    let inputs = ["Input", "InputPath", "InputTransformer"]
        .iter()
        .filter(|k| t.get(**k).is_some())
        .count();
    if inputs > 1 {
        return Err(AwsError::validation(
            "Only one of Input, InputPath, or InputTransformer must be provided.",
        ));
    }
    if let Some(input) = s(t, "Input")
        && serde_json::from_str::<Value>(input).is_err()
    {
        return Err(AwsError::validation(format!(
            "Input for target {id} is not valid JSON text."
        )));
    }
    if let Some(path) = s(t, "InputPath")
        && transform::parse_path(path).is_none()
    {
        return Err(AwsError::validation(format!(
            "InputPath for target {id} is not a valid JSON path."
        )));
    }
    if let Some(tr) = t.get("InputTransformer") {
        let paths = tr
            .get("InputPathsMap")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let template = s(tr, "InputTemplate").unwrap_or_default();
        transform::validate_transformer(&paths, template).map_err(|r| {
            AwsError::validation(format!(
                "InputTransformer for target {id} is not valid: {r}"
            ))
        })?;
    }
    if let Some(dlq) = t.get("DeadLetterConfig").and_then(|d| s(d, "Arn")) {
        match Arn::parse(dlq) {
            Some(a) if a.service == "sqs" => {}
            _ => {
                return Err(AwsError::validation(format!(
                    "Parameter {dlq} is not valid. Reason: DeadLetterConfig must be an SQS queue ARN."
                )));
            }
        }
    }
    if !TARGET_SERVICES.contains(&arn.service.as_str()) {
        return Ok(Err((
            "ValidationException".into(),
            format!(
                "Parameter {arn_text} is not valid. Reason: {} is not a supported target service.",
                arn.service
            ),
        )));
    }
    if arn.service == "sqs" && arn.resource.ends_with(".fifo") {
        let group = t.get("SqsParameters").and_then(|p| s(p, "MessageGroupId"));
        if group.is_none() {
            return Err(AwsError::validation(
                "Parameter(s) SqsParameters must be specified because the target is a FIFO queue.",
            ));
        }
    }
    if arn.service == "events"
        && !(arn.resource.starts_with("event-bus/") || arn.resource.starts_with("api-destination/"))
    {
        return Err(bad_arn(arn_text));
    }
    Ok(Ok(()))
}

pub fn put_targets(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let rule_name = req(&v, "Rule")?;
    let rule = get_rule(&bus, rule_name)?;
    let targets = v
        .get("Targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut failed = Vec::new();
    let mut accepted = Vec::new();
    for t in &targets {
        match check_target(t)? {
            Ok(()) => accepted.push(t.clone()),
            Err((code, message)) => failed.push(json!({
                "TargetId": s(t, "Id").unwrap_or_default(),
                "ErrorCode": code,
                "ErrorMessage": message,
            })),
        }
    }
    let existing = targets_of(&bus, rule_name)?;
    let mut ids: Vec<String> = existing
        .iter()
        .filter_map(|t| s(t, "Id").map(str::to_string))
        .collect();
    for t in &accepted {
        let id = s(t, "Id").unwrap_or_default().to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_TARGETS {
        return Err(AwsError::new(
            "LimitExceededException",
            "The requested resource exceeds the maximum number allowed.",
        ));
    }
    for t in accepted {
        let id = s(&t, "Id").unwrap_or_default().to_string();
        TARGETS.put(&keys::join(&[&bus, &rule.name, &id]), &t)?;
    }
    Ok(json!({"FailedEntryCount": failed.len(), "FailedEntries": failed}))
}

pub fn remove_targets(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let rule_name = req(&v, "Rule")?;
    let rule = get_rule(&bus, rule_name)?;
    check_managed(&rule, &v)?;
    let ids: Vec<String> = v
        .get("Ids")
        .and_then(|i| serde_json::from_value(i.clone()).ok())
        .unwrap_or_default();
    for id in &ids {
        TARGETS.delete(&keys::join(&[&bus, rule_name, id]));
    }
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

pub fn list_targets_by_rule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let rule_name = req(&v, "Rule")?;
    get_rule(&bus, rule_name)?;
    let page = TARGETS
        .page(
            &Scan::prefix(keys::prefix(&[&bus, rule_name])),
            s(&v, "NextToken"),
            page_size(&v, "Limit"),
        )
        .map_err(token_error)?;
    let targets: Vec<Value> = page.items.into_iter().map(|(_, t)| t).collect();
    let mut out = json!({"Targets": targets});
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

pub fn list_rule_names_by_target(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let bus = bus_name(s(&v, "EventBusName"));
    get_bus(ctx, &bus)?;
    let arn = req(&v, "TargetArn")?;
    let mut names: Vec<String> = Vec::new();
    for (key, t) in TARGETS.scan(&Scan::prefix(keys::prefix(&[&bus])))? {
        if s(&t, "Arn") == Some(arn) {
            let rule = keys::split(&key)
                .get(1)
                .map(|r| r.to_string())
                .unwrap_or_default();
            if !names.contains(&rule) {
                names.push(rule);
            }
        }
    }
    let start = match s(&v, "NextToken") {
        Some(t) => ministack_sdk::pagination::decode(t)
            .and_then(|k| k.parse::<usize>().ok())
            .ok_or_else(|| AwsError::validation("The NextToken provided is invalid."))?,
        None => 0,
    };
    let size = page_size(&v, "Limit") as usize;
    let end = (start + size).min(names.len());
    let mut out = json!({"RuleNames": names.get(start..end).unwrap_or_default()});
    if end < names.len() {
        out["NextToken"] = json!(ministack_sdk::pagination::encode(&end.to_string()));
    }
    Ok(out)
}

pub fn test_event_pattern(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let p = pattern::parse(req(&v, "EventPattern")?).map_err(|r| bad_pattern(&r))?;
    let event: Value = serde_json::from_str(req(&v, "Event")?)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| AwsError::validation("Parameter Event is not valid."))?;
    for field in ["id", "account", "source", "time", "region", "detail-type"] {
        if event.get(field).is_none() {
            return Err(AwsError::validation(format!(
                "Parameter Event is not valid. Reason: Event is missing the field \"{field}\"."
            )));
        }
    }
    Ok(json!({"Result": pattern::matches(&p, &event)}))
}
