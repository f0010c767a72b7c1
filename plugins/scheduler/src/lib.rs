//! Amazon EventBridge Scheduler as a ministack plugin.
//!
//! Schedules (`at()`, `rate()`, `cron()` with a time zone, start and end
//! dates) live per account and region in schedule groups. Each enabled
//! schedule computes its next fire time and schedules a `fire` task for
//! exactly then; the task invokes the target through `services.call` —
//! templated targets (SQS, SNS, Lambda, Step Functions, EventBridge,
//! Kinesis, Firehose) or universal targets
//! (`arn:aws:scheduler:::aws-sdk:<service>:<operation>`, any plugin's
//! operation) — with retries and an SQS dead-letter queue. The cron
//! language is EventBridge's (`plugins/events/src/schedule.rs`, shared).

use std::time::Duration;

use ministack_sdk::members::str_member as s;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, ids, tasks, time};
use serde_json::{Value, json};

mod resources;
#[path = "../../events/src/schedule.rs"]
pub mod schedule;
pub mod zone;

use schedule::{Schedule as Expr, civil_from_days, days_from_civil};

pub struct Scheduler;

impl Service for Scheduler {
    const NAME: &'static str = "scheduler";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreateSchedule", create_schedule)
            .op("UpdateSchedule", update_schedule)
            .op("GetSchedule", get_schedule)
            .op("DeleteSchedule", delete_schedule)
            .op("ListSchedules", list_schedules)
            .op("CreateScheduleGroup", create_group)
            .op("GetScheduleGroup", get_group)
            .op("DeleteScheduleGroup", delete_group)
            .op("ListScheduleGroups", list_groups)
            .op("TagResource", tag_resource)
            .op("UntagResource", untag_resource)
            .op("ListTagsForResource", list_tags)
            .task(FIRE, fire)
            .task(RETRY, retry)
    }
}

export_plugin!(Scheduler);

const FIRE: &str = "fire";
const RETRY: &str = "retry";
const DEFAULT_GROUP: &str = "default";

/// Schedules by `join([group, name])`: the request as given plus our fields.
const SCHEDULES: Table<Value> = Table::new("schedules");
const GROUPS: Table<Value> = Table::new("groups");
const TAGS: Table<Vec<Value>> = Table::new("tags");

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", msg).with_status(400)
}

fn not_found(msg: String) -> AwsError {
    AwsError::new("ResourceNotFoundException", msg).with_status(404)
}

fn conflict(msg: String) -> AwsError {
    AwsError::new("ConflictException", msg).with_status(409)
}

fn group_of(v: &Value) -> String {
    s(v, "GroupName")
        .filter(|g| !g.is_empty())
        .unwrap_or(DEFAULT_GROUP)
        .to_string()
}

fn group_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("scheduler", &format!("schedule-group/{name}"))
        .to_string()
}

fn find_group(ctx: &Context, name: &str) -> Result<Option<Value>, AwsError> {
    if let Some(g) = GROUPS.get(name)? {
        return Ok(Some(g));
    }
    Ok((name == DEFAULT_GROUP).then(|| {
        json!({"Name": DEFAULT_GROUP, "Arn": group_arn(ctx, DEFAULT_GROUP), "State": "ACTIVE",
               "CreationDate": 0.0, "LastModificationDate": 0.0})
    }))
}

fn require_group(ctx: &Context, name: &str) -> Result<Value, AwsError> {
    find_group(ctx, name)?
        .ok_or_else(|| not_found(format!("Schedule group {name} does not exist.")))
}

// ------------------------------------------------------------ expressions

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// `at(…)`: local date-time as epoch seconds in the schedule's zone.
    At(i64),
    Every(Expr),
}

pub fn parse_expression(expr: &str) -> Result<When, String> {
    if let Some(body) = expr
        .trim()
        .strip_prefix("at(")
        .and_then(|b| b.strip_suffix(')'))
    {
        return parse_local(body)
            .map(When::At)
            .ok_or_else(|| format!("Invalid Schedule Expression {expr}."));
    }
    schedule::parse(expr)
        .map(When::Every)
        .map_err(|_| format!("Invalid Schedule Expression {expr}."))
}

/// `yyyy-mm-ddThh:mm:ss` (no zone) as seconds since the epoch of that
/// wall clock.
fn parse_local(t: &str) -> Option<i64> {
    let (date, clock) = t.split_once('T')?;
    let d: Vec<&str> = date.split('-').collect();
    let c: Vec<&str> = clock.split(':').collect();
    if d.len() != 3 || c.len() != 3 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return None;
    }
    let (y, mo, da): (i64, u32, u32) = (d[0].parse().ok()?, d[1].parse().ok()?, d[2].parse().ok()?);
    let (h, mi, se): (i64, i64, i64) = (c[0].parse().ok()?, c[1].parse().ok()?, c[2].parse().ok()?);
    if !(1..=12).contains(&mo) || da == 0 || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, da);
    if civil_from_days(days) != (y, mo, da) {
        return None;
    }
    Some(days * 86400 + h * 3600 + mi * 60 + se)
}

/// The next fire time (UTC epoch seconds) strictly after `after`.
pub fn next_fire(sched: &Value, after: i64) -> Option<i64> {
    let expr = s(sched, "ScheduleExpression")?;
    let zone = s(sched, "ScheduleExpressionTimezone").unwrap_or("UTC");
    let tz = zone::Zone::parse(zone)?;
    let start = sched
        .get("StartDate")
        .and_then(Value::as_f64)
        .map(|t| t as i64);
    let end = sched
        .get("EndDate")
        .and_then(Value::as_f64)
        .map(|t| t as i64);
    let after = match start {
        Some(st) if st > after => st - 1,
        _ => after,
    };
    let next = match parse_expression(expr).ok()? {
        When::At(local) => {
            let utc = tz.to_utc(local);
            (utc > after).then_some(utc)
        }
        When::Every(Expr::Rate(_)) if start.is_some_and(|st| after < st) => start,
        When::Every(Expr::Rate(period)) => {
            let origin = sched
                .get("CreationDate")
                .and_then(Value::as_f64)
                .map(|t| t as i64)
                .unwrap_or(after);
            let origin = start.unwrap_or(origin);
            Expr::Rate(period).next_after(origin, after)
        }
        When::Every(Expr::Cron(c)) => {
            // Walk in local time; a local minute maps back to UTC.
            let mut t = tz.to_local(after);
            loop {
                let local = c.next_after(t)?;
                let utc = tz.to_utc(local);
                if utc > after {
                    break Some(utc);
                }
                t = local;
            }
        }
    }?;
    match end {
        Some(e) if next > e => None,
        _ => Some(next),
    }
}

// --------------------------------------------------------------- schedules

fn check_schedule(v: &Value) -> Result<(), AwsError> {
    let expr = s(v, "ScheduleExpression").unwrap_or_default();
    parse_expression(expr).map_err(validation)?;
    if let Some(z) = s(v, "ScheduleExpressionTimezone")
        && zone::Zone::parse(z).is_none()
    {
        return Err(validation(format!("Invalid timezone {z}.")));
    }
    if let (Some(a), Some(b)) = (
        v.get("StartDate").and_then(Value::as_f64),
        v.get("EndDate").and_then(Value::as_f64),
    ) && a >= b
    {
        return Err(validation("The StartDate must come before the EndDate."));
    }
    let window = v.get("FlexibleTimeWindow").cloned().unwrap_or_default();
    match s(&window, "Mode") {
        Some("FLEXIBLE") if window.get("MaximumWindowInMinutes").is_none() => {
            return Err(validation(
                "MaximumWindowInMinutes must be provided when the FlexibleTimeWindow mode is FLEXIBLE.",
            ));
        }
        Some("OFF") if window.get("MaximumWindowInMinutes").is_some() => {
            return Err(validation(
                "MaximumWindowInMinutes must not be provided when the FlexibleTimeWindow mode is OFF.",
            ));
        }
        _ => {}
    }
    let target = v.get("Target").cloned().unwrap_or_default();
    let arn_text = s(&target, "Arn").unwrap_or_default();
    let arn = Arn::parse(arn_text)
        .ok_or_else(|| validation(format!("Invalid target ARN {arn_text}.")))?;
    if arn.service == "scheduler" {
        let parts: Vec<&str> = arn.resource.split(':').collect();
        if parts.len() != 3 || parts[0] != "aws-sdk" || parts[1].is_empty() || parts[2].is_empty() {
            return Err(validation(format!(
                "Invalid universal target ARN {arn_text}."
            )));
        }
        if let Some(input) = s(&target, "Input")
            && serde_json::from_str::<Value>(input).is_err()
        {
            return Err(validation("The Input of a universal target must be JSON."));
        }
    }
    if arn.service == "sqs"
        && arn.resource.ends_with(".fifo")
        && target
            .get("SqsParameters")
            .and_then(|p| s(p, "MessageGroupId"))
            .is_none()
    {
        return Err(validation(
            "SqsParameters.MessageGroupId is required for a FIFO queue target.",
        ));
    }
    if arn.service == "events" && target.get("EventBridgeParameters").is_none() {
        return Err(validation(
            "EventBridgeParameters are required for an EventBridge target.",
        ));
    }
    if arn.service == "kinesis" && target.get("KinesisParameters").is_none() {
        return Err(validation(
            "KinesisParameters are required for a Kinesis target.",
        ));
    }
    Ok(())
}

/// Names follow the model's pattern `[0-9a-zA-Z-_.]+`.
fn check_name(member: &str, value: &str) -> Result<(), AwsError> {
    use ministack_sdk::validate::{Validator, is_word_or};
    let mut v = Validator::new();
    v.pattern(member, value, is_word_or(&['-', '.']), "^[0-9a-zA-Z-_.]+$");
    v.finish(validation)
}

fn put_schedule(ctx: &Context, v: Value, create: bool) -> Result<Value, AwsError> {
    let name = s(&v, "Name").unwrap_or_default().to_string();
    check_name("name", &name)?;
    let group = group_of(&v);
    require_group(ctx, &group)?;
    check_schedule(&v)?;
    let key = keys::join(&[&group, &name]);
    let old = SCHEDULES.get(&key)?;
    match (&old, create) {
        // The same ClientToken again: the first request's answer.
        (Some(o), true)
            if s(&v, "ClientToken").is_some() && s(o, "ClientToken") == s(&v, "ClientToken") =>
        {
            return Ok(json!({"ScheduleArn": o["Arn"]}));
        }
        (Some(_), true) => return Err(conflict(format!("Schedule {name} already exists."))),
        (None, false) => return Err(not_found(format!("Schedule {name} does not exist."))),
        _ => {}
    }
    let now = time::now();
    let mut sched = v.as_object().cloned().unwrap_or_default();
    let arn = ctx
        .arn("scheduler", &format!("schedule/{group}/{name}"))
        .to_string();
    sched.insert("Arn".into(), json!(arn));
    sched.insert("GroupName".into(), json!(group));
    sched.entry("State").or_insert(json!("ENABLED"));
    sched
        .entry("ActionAfterCompletion")
        .or_insert(json!("NONE"));
    sched.insert(
        "CreationDate".into(),
        old.as_ref()
            .and_then(|o| o.get("CreationDate").cloned())
            .unwrap_or(json!(now)),
    );
    sched.insert("LastModificationDate".into(), json!(now));
    // Random, so a schedule deleted and made again never revives an old chain.
    let generation = ministack_sdk::rand::u64();
    sched.insert("Generation".into(), json!(generation));
    let sched = Value::Object(sched);
    SCHEDULES.put(&key, &sched)?;
    arm(&sched, time::now_secs() as i64)?;
    Ok(json!({"ScheduleArn": arn}))
}

fn create_schedule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    put_schedule(ctx, v, true)
}

fn update_schedule(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    put_schedule(ctx, v, false)
}

#[derive(Serialize, Deserialize)]
struct Fire {
    group: String,
    name: String,
    generation: u64,
    at: i64,
}

fn arm(sched: &Value, after: i64) -> Result<bool, AwsError> {
    if s(sched, "State") != Some("ENABLED") {
        return Ok(false);
    }
    let Some(at) = next_fire(sched, after) else {
        return Ok(false);
    };
    let delay = (at * 1000 - time::now_millis() as i64).max(0) as u64;
    tasks::schedule(
        Duration::from_millis(delay),
        FIRE,
        &Fire {
            group: s(sched, "GroupName").unwrap_or(DEFAULT_GROUP).to_string(),
            name: s(sched, "Name").unwrap_or_default().to_string(),
            generation: sched.get("Generation").and_then(Value::as_u64).unwrap_or(0),
            at,
        },
    )?;
    Ok(true)
}

fn public(sched: &Value) -> Value {
    let mut out = sched.as_object().cloned().unwrap_or_default();
    out.remove("Generation");
    out.remove("LastFire");
    out.remove("ClientToken");
    Value::Object(out)
}

fn get_schedule(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = s(&v, "Name").unwrap_or_default();
    SCHEDULES
        .get(&keys::join(&[&group_of(&v), name]))?
        .map(|x| public(&x))
        .ok_or_else(|| not_found(format!("Schedule {name} does not exist.")))
}

fn delete_schedule(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = s(&v, "Name").unwrap_or_default();
    if !SCHEDULES.delete(&keys::join(&[&group_of(&v), name])) {
        return Err(not_found(format!("Schedule {name} does not exist.")));
    }
    Ok(json!({}))
}

fn page<T: Clone>(all: &[T], v: &Value) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match s(v, "NextToken") {
        Some(t) => ministack_sdk::pagination::decode(t)
            .and_then(|k| k.parse::<usize>().ok())
            .ok_or_else(|| validation("Invalid NextToken."))?,
        None => 0,
    };
    let size = v
        .get("MaxResults")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let end = (start + size).min(all.len());
    let next = (end < all.len()).then(|| ministack_sdk::pagination::encode(&end.to_string()));
    Ok((all.get(start..end).unwrap_or_default().to_vec(), next))
}

fn list_schedules(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let state = s(&v, "State");
    let scan = match s(&v, "GroupName") {
        Some(g) => Scan::prefix(keys::prefix(&[g])),
        None => Scan::all(),
    };
    let all: Vec<Value> = SCHEDULES
        .scan(&scan)?
        .into_iter()
        .map(|(_, x)| x)
        .filter(|x| s(x, "Name").unwrap_or_default().starts_with(prefix))
        .filter(|x| state.is_none_or(|st| s(x, "State") == Some(st)))
        .map(|x| {
            json!({
                "Arn": x["Arn"], "Name": x["Name"], "GroupName": x["GroupName"], "State": x["State"],
                "CreationDate": x["CreationDate"], "LastModificationDate": x["LastModificationDate"],
                "Target": {"Arn": x["Target"]["Arn"]},
            })
        })
        .collect();
    let (items, next) = page(&all, &v)?;
    let mut out = json!({"Schedules": items});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

// ------------------------------------------------------------------ groups

fn create_group(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = s(&v, "Name").unwrap_or_default();
    check_name("name", name)?;
    if find_group(ctx, name)?.is_some() {
        return Err(conflict(format!("Schedule group {name} already exists.")));
    }
    let now = time::now();
    let arn = group_arn(ctx, name);
    GROUPS.put(
        name,
        &json!({"Name": name, "Arn": arn, "State": "ACTIVE", "CreationDate": now, "LastModificationDate": now}),
    )?;
    if let Some(tags) = v.get("Tags").and_then(Value::as_array) {
        TAGS.put(&arn, tags)?;
    }
    Ok(json!({"ScheduleGroupArn": arn}))
}

fn get_group(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    require_group(ctx, s(&v, "Name").unwrap_or_default())
}

fn delete_group(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = s(&v, "Name").unwrap_or_default();
    if name == DEFAULT_GROUP {
        return Err(validation("The default schedule group cannot be deleted."));
    }
    let g = require_group(ctx, name)?;
    SCHEDULES.delete_range(&Scan::prefix(keys::prefix(&[name])));
    GROUPS.delete(name);
    TAGS.delete(s(&g, "Arn").unwrap_or_default());
    Ok(json!({}))
}

fn list_groups(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let mut all: Vec<Value> = Vec::new();
    if DEFAULT_GROUP.starts_with(prefix) && !GROUPS.contains(DEFAULT_GROUP) {
        all.extend(find_group(ctx, DEFAULT_GROUP)?);
    }
    all.extend(GROUPS.values(prefix)?);
    all.sort_by(|a, b| s(a, "Name").cmp(&s(b, "Name")));
    let (items, next) = page(&all, &v)?;
    let mut out = json!({"ScheduleGroups": items});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn tagged_group(ctx: &Context, arn: &str) -> Result<(), AwsError> {
    let name = Arn::parse(arn)
        .and_then(|a| {
            a.resource
                .strip_prefix("schedule-group/")
                .map(str::to_string)
        })
        .ok_or_else(|| validation(format!("Invalid ARN {arn}.")))?;
    require_group(ctx, &name).map(|_| ())
}

fn tag_resource(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = s(&v, "ResourceArn").unwrap_or_default();
    tagged_group(ctx, arn)?;
    let new = v
        .get("Tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    TAGS.update(arn, |old| {
        let mut all = old.unwrap_or_default();
        for t in new {
            all.retain(|o| o["Key"] != t["Key"]);
            all.push(t);
        }
        Ok(all)
    })?;
    Ok(json!({}))
}

fn untag_resource(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = s(&v, "ResourceArn").unwrap_or_default();
    tagged_group(ctx, arn)?;
    let keys: Vec<Value> = v
        .get("TagKeys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(mut tags) = TAGS.get(arn)? {
        tags.retain(|t| !keys.contains(&t["Key"]));
        TAGS.put(arn, &tags)?;
    }
    Ok(json!({}))
}

fn list_tags(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = s(&v, "ResourceArn").unwrap_or_default();
    tagged_group(ctx, arn)?;
    Ok(json!({"Tags": TAGS.get(arn)?.unwrap_or_default()}))
}

// ------------------------------------------------------------- invocation

#[derive(Serialize, Deserialize, Clone)]
struct Attempt {
    schedule: Value,
    at: i64,
    execution_id: String,
    attempt: u64,
    first_ms: u64,
}

/// The `fire` task: arms the next fire, invokes the target, and deletes a
/// finished schedule with `ActionAfterCompletion: DELETE`.
fn fire(ctx: &Context, f: Fire) -> Result<(), AwsError> {
    let key = keys::join(&[&f.group, &f.name]);
    let Some(sched) = SCHEDULES.get(&key)? else {
        return Ok(());
    };
    // Tasks run at least once: a fire already run (LastFire) is skipped.
    if sched.get("Generation").and_then(Value::as_u64) != Some(f.generation)
        || s(&sched, "State") != Some("ENABLED")
        || sched
            .get("LastFire")
            .and_then(Value::as_i64)
            .is_some_and(|t| f.at <= t)
    {
        return Ok(());
    }
    let mut sched = sched;
    sched["LastFire"] = json!(f.at);
    SCHEDULES.put(&key, &sched)?;
    let more = arm(&sched, f.at.max(time::now_secs() as i64 - 1))?;
    if !more && s(&sched, "ActionAfterCompletion") == Some("DELETE") {
        SCHEDULES.delete(&key);
    }
    run(
        ctx,
        Attempt {
            schedule: sched,
            at: f.at,
            execution_id: ids::uuid(),
            attempt: 1,
            first_ms: time::now_millis(),
        },
    );
    Ok(())
}

fn retry(ctx: &Context, a: Attempt) -> Result<(), AwsError> {
    run(ctx, a);
    Ok(())
}

fn run(ctx: &Context, a: Attempt) {
    let Err(e) = invoke(ctx, &a) else {
        return;
    };
    let target = &a.schedule["Target"];
    let policy = target.get("RetryPolicy");
    let max_retries = policy
        .and_then(|p| p.get("MaximumRetryAttempts"))
        .and_then(Value::as_u64)
        .unwrap_or(185);
    let max_age = policy
        .and_then(|p| p.get("MaximumEventAgeInSeconds"))
        .and_then(Value::as_u64)
        .unwrap_or(86_400);
    let backoff = (1000u64 << (a.attempt - 1).min(6)).min(60_000);
    let retryable = !e.message.contains("is not enabled in this gateway");
    if retryable
        && a.attempt - 1 < max_retries
        && time::now_millis() + backoff - a.first_ms <= max_age * 1000
    {
        let next = Attempt {
            attempt: a.attempt + 1,
            ..a
        };
        if let Err(e) = tasks::schedule(Duration::from_millis(backoff), RETRY, &next) {
            ministack_sdk::warn!("cannot schedule a retry: {}", e.message);
        }
        return;
    }
    let Some(dlq) = target
        .get("DeadLetterConfig")
        .and_then(|d| s(d, "Arn"))
        .and_then(Arn::parse)
    else {
        ministack_sdk::warn!(
            "schedule {} target failed: {} {}",
            a.schedule["Arn"],
            e.code,
            e.message
        );
        return;
    };
    let attr = |v: String| json!({"DataType": "String", "StringValue": v});
    let input = json!({
        "QueueUrl": format!("{}/{}/{}", ctx.endpoint.trim_end_matches('/'), dlq.account, dlq.resource),
        "MessageBody": s(target, "Input").unwrap_or(""),
        "MessageAttributes": {
            "ERROR_CODE": attr(e.code.clone()),
            "ERROR_MESSAGE": attr(e.message.chars().take(256).collect()),
            "EXECUTION_ID": attr(a.execution_id.clone()),
            "SCHEDULE_ARN": attr(s(&a.schedule, "Arn").unwrap_or_default().to_string()),
            "TARGET_ARN": attr(s(target, "Arn").unwrap_or_default().to_string()),
            "RETRY_ATTEMPTS": attr((a.attempt - 1).to_string()),
        },
    });
    if let Err(e) = services::call_from(
        &schedule_source(ctx, &a),
        &Target::at("sqs", &dlq.account, &dlq.region),
        "SendMessage",
        &input.to_string(),
    ) {
        ministack_sdk::warn!("cannot send to the dead-letter queue {dlq}: {}", e.message);
    }
}

/// The Input with the `<aws.scheduler.*>` context attributes filled in.
fn input_text(a: &Attempt) -> String {
    let input = s(&a.schedule["Target"], "Input").unwrap_or("").to_string();
    input
        .replace(
            "<aws.scheduler.schedule-arn>",
            s(&a.schedule, "Arn").unwrap_or_default(),
        )
        .replace(
            "<aws.scheduler.scheduled-time>",
            &time::iso8601(a.at.max(0) as u64),
        )
        .replace("<aws.scheduler.execution-id>", &a.execution_id)
        .replace("<aws.scheduler.attempt-number>", &a.attempt.to_string())
}

/// `sendMessage` → `SendMessage`.
fn operation_name(op: &str) -> String {
    let mut c = op.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Service names of universal targets that differ from the plugin name.
fn plugin_name(service: &str) -> &str {
    match service {
        "sfn" => "stepfunctions",
        "cloudwatchlogs" => "logs",
        "eventbridge" => "events",
        other => other,
    }
}

/// Scheduler calls targets (and the DLQ) as the target's execution role.
fn schedule_source(ctx: &Context, a: &Attempt) -> services::Source {
    services::Source::resource(s(&a.schedule, "Arn").unwrap_or_default(), &ctx.account)
        .with_role(s(&a.schedule["Target"], "RoleArn"))
}

fn invoke(ctx: &Context, a: &Attempt) -> Result<(), AwsError> {
    let target = &a.schedule["Target"];
    let arn_text = s(target, "Arn").unwrap_or_default();
    let arn = Arn::parse(arn_text).ok_or_else(|| validation("bad target ARN"))?;
    let body = input_text(a);
    let at = |svc: &str| Target::at(svc, &arn.account, &arn.region);
    let source = schedule_source(ctx, a);
    let call = |t: Target, op: &str, input: Value| {
        services::call_from(&source, &t, op, &input.to_string()).map(|_| ())
    };
    match arn.service.as_str() {
        "scheduler" => {
            // arn:aws:scheduler:::aws-sdk:<service>:<operation>
            let parts: Vec<&str> = arn.resource.split(':').collect();
            let service = plugin_name(parts.get(1).copied().unwrap_or_default());
            let op = operation_name(parts.get(2).copied().unwrap_or_default());
            let input = if body.is_empty() {
                "{}".to_string()
            } else {
                body
            };
            services::call_from(&source, &Target::new(service, ctx), &op, &input).map(|_| ())
        }
        "sqs" => {
            let mut input = json!({
                "QueueUrl": format!("{}/{}/{}", ctx.endpoint.trim_end_matches('/'), arn.account, arn.resource),
                "MessageBody": body,
            });
            if let Some(g) = target
                .get("SqsParameters")
                .and_then(|p| s(p, "MessageGroupId"))
            {
                input["MessageGroupId"] = json!(g);
                input["MessageDeduplicationId"] = json!(a.execution_id);
            }
            call(at("sqs"), "SendMessage", input)
        }
        "sns" => call(
            at("sns"),
            "Publish",
            json!({"TopicArn": arn_text, "Message": body}),
        ),
        "lambda" => call(
            at("lambda"),
            "Invoke",
            json!({"FunctionName": arn_text, "InvocationType": "Event",
                   "Payload": encoding::base64_encode(body.as_bytes())}),
        ),
        "states" => call(
            at("stepfunctions"),
            "StartExecution",
            json!({"stateMachineArn": arn_text, "input": if body.is_empty() { "{}".to_string() } else { body }}),
        ),
        "events" => {
            let p = &target["EventBridgeParameters"];
            let out = services::call_from(
                &source,
                &at("events"),
                "PutEvents",
                &json!({"Entries": [{
                    "Source": p["Source"], "DetailType": p["DetailType"],
                    "Detail": if body.is_empty() { "{}".to_string() } else { body },
                    "EventBusName": arn_text,
                    "Resources": [a.schedule["Arn"]],
                }]})
                .to_string(),
            )?;
            let out: Value = serde_json::from_str(&out).unwrap_or_default();
            match s(&out["Entries"][0], "ErrorCode") {
                Some(code) => Err(AwsError::new(
                    code,
                    s(&out["Entries"][0], "ErrorMessage").unwrap_or(""),
                )),
                None => Ok(()),
            }
        }
        "kinesis" => call(
            at("kinesis"),
            "PutRecord",
            json!({"StreamARN": arn_text, "Data": encoding::base64_encode(body.as_bytes()),
                   "PartitionKey": target["KinesisParameters"]["PartitionKey"]}),
        ),
        "firehose" => call(
            at("firehose"),
            "PutRecord",
            json!({"DeliveryStreamName": arn.resource_name(),
                   "Record": {"Data": encoding::base64_encode(body.as_bytes())}}),
        ),
        other => Err(AwsError::new(
            "NotAvailable",
            format!("Targets of service {other} are not available in this gateway."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Scheduler>(),
            ministack_sdk::Coverage::default()
        );
    }

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    }

    #[test]
    fn expressions() {
        assert_eq!(
            parse_expression("at(2030-01-02T03:04:05)"),
            Ok(When::At(at(2030, 1, 2, 3, 4) + 5))
        );
        for bad in [
            "at(2030-02-30T00:00:00)",
            "at(2030-01-02 03:04:05)",
            "at(tomorrow)",
            "rate(1 minutes)",
            "cron(* * * * *)",
        ] {
            assert!(parse_expression(bad).is_err(), "{bad}");
        }
        assert_eq!(operation_name("sendMessage"), "SendMessage");
    }

    #[test]
    fn next_fire_times() {
        let now = at(2030, 1, 1, 10, 0) + 30;
        let once = json!({"ScheduleExpression": "at(2030-01-01T12:00:00)"});
        assert_eq!(next_fire(&once, now), Some(at(2030, 1, 1, 12, 0)));
        assert_eq!(next_fire(&once, at(2030, 1, 1, 12, 0)), None);
        // In a zone two hours ahead of UTC, noon local is 10:00 UTC.
        let zoned = json!({"ScheduleExpression": "at(2030-01-01T12:00:00)", "ScheduleExpressionTimezone": "Etc/GMT-2"});
        assert_eq!(
            next_fire(&zoned, at(2030, 1, 1, 9, 0)),
            Some(at(2030, 1, 1, 10, 0))
        );
        let daily = json!({"ScheduleExpression": "cron(0 8 * * ? *)", "ScheduleExpressionTimezone": "America/New_York"});
        assert_eq!(next_fire(&daily, now), Some(at(2030, 1, 1, 13, 0)));
        // Start and end dates bound the fires.
        let bounded = json!({"ScheduleExpression": "rate(1 hour)", "CreationDate": now as f64,
                             "StartDate": at(2030, 1, 2, 0, 0) as f64, "EndDate": at(2030, 1, 2, 1, 30) as f64});
        assert_eq!(next_fire(&bounded, now), Some(at(2030, 1, 2, 0, 0)));
        assert_eq!(
            next_fire(&bounded, at(2030, 1, 2, 0, 0)),
            Some(at(2030, 1, 2, 1, 0))
        );
        assert_eq!(next_fire(&bounded, at(2030, 1, 2, 1, 0)), None);
    }
}
