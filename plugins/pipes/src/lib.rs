//! Amazon EventBridge Pipes as a ministack plugin.
//!
//! A pipe moves records from a source (SQS, DynamoDB Streams, Kinesis)
//! through an optional filter (EventBridge's pattern engine,
//! `plugins/events/src/pattern.rs` compiled in with `#[path]`) and an
//! optional enrichment (Lambda, Step Functions express) to a target (every
//! EventBridge target type: `plugins/events/src/targets.rs`, compiled in the
//! same way). Inputs and outputs are the shapes generated from the model
//! (`build.rs`, module [`shapes`]).
//!
//! State changes go through AWS's transitional states (CREATING, UPDATING,
//! STARTING, STOPPING, DELETING) and settle in a `settle` task. A running
//! pipe has one poller, a `poll` task chain that sleeps on the source's
//! topic (tasks.wait-on: `listens = ["sqs", "dynamodb"]` in plugins.toml)
//! when the source is empty; the boot hook restarts pollers after a
//! restart. See docs/services/pipes.md.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, pagination, tasks, time};
use serde_json::{Value, json};

ministack_sdk::include_shapes!(pub mod shapes);

#[allow(dead_code)]
#[path = "../../events/src/pattern.rs"]
pub mod pattern;
#[allow(dead_code)]
#[path = "../../events/src/targets.rs"]
mod targets;
#[allow(dead_code)]
#[path = "../../events/src/transform.rs"]
pub mod transform;

mod poll;
mod resources;

use shapes::*;

pub struct Pipes;

impl Service for Pipes {
    const NAME: &'static str = "pipes";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("CreatePipe", create_pipe)
            .op("DescribePipe", describe_pipe)
            .op("UpdatePipe", update_pipe)
            .op("DeletePipe", delete_pipe)
            .op("ListPipes", list_pipes)
            .op("StartPipe", start_pipe)
            .op("StopPipe", stop_pipe)
            .op("TagResource", tag_resource)
            .op("UntagResource", untag_resource)
            .op("ListTagsForResource", list_tags_for_resource)
            .task(SETTLE, settle)
            .task(poll::POLL, poll::poll)
            .task(RESUME, resume)
            .task(tasks::START_TASK, on_start)
    }
}

export_plugin!(Pipes);

/// A pipe as stored: what DescribePipe answers, and the poller's state.
#[derive(Serialize, Deserialize, Clone, Default)]
pub struct Stored {
    pub pipe: DescribePipeResponse,
    /// Bumped on every change: a settle or poll task of an older one stops.
    pub generation: u64,
    /// Stream sources: shard id -> last sequence number processed.
    #[serde(default)]
    pub positions: BTreeMap<String, String>,
    /// Stream sources: failed attempts of the current batch.
    #[serde(default)]
    pub attempts: u32,
}

pub const PIPES: Table<Stored> = Table::new("pipes");

const SETTLE: &str = "settle";
const RESUME: &str = "resume";
/// How long a transitional state (CREATING, STARTING, ...) lasts.
/// `PIPES_TRANSITION_MS` changes it (AWS takes up to a minute).
const TRANSITION_MS: u64 = 500;

fn transition(ctx: &Context) -> Duration {
    Duration::from_millis(
        ctx.setting("PIPES_TRANSITION_MS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(TRANSITION_MS),
    )
}

fn not_found(name: &str) -> AwsError {
    NotFoundException::new(format!("Pipe {name} does not exist.")).into()
}

fn invalid(msg: impl Into<String>) -> AwsError {
    ValidationException::new(msg).into()
}

fn conflict(name: &str, msg: String) -> AwsError {
    ConflictException {
        message: msg,
        resource_id: name.to_string(),
        resource_type: "pipe".into(),
    }
    .into()
}

fn state(p: &DescribePipeResponse) -> &str {
    p.current_state.as_ref().map(|s| s.as_str()).unwrap_or("")
}

fn desired(p: &DescribePipeResponse) -> &str {
    p.desired_state
        .as_ref()
        .map(|s| s.as_str())
        .unwrap_or("RUNNING")
}

fn transitional(p: &DescribePipeResponse) -> bool {
    matches!(
        state(p),
        "CREATING" | "UPDATING" | "STARTING" | "STOPPING" | "DELETING"
    )
}

// ---- validation ----

/// What kind of source an ARN names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    Sqs,
    DynamoDb,
    Kinesis,
}

pub fn source_of(arn: &str) -> Option<Source> {
    let a = Arn::parse(arn)?;
    match a.service.as_str() {
        "sqs" => Some(Source::Sqs),
        "dynamodb" if a.resource.contains("/stream/") => Some(Source::DynamoDb),
        "kinesis" if a.resource.starts_with("stream/") => Some(Source::Kinesis),
        _ => None,
    }
}

fn check_source(
    ctx: &Context,
    arn: &str,
    params: Option<&PipeSourceParameters>,
) -> Result<(), AwsError> {
    let unavailable = |what: &str| {
        invalid(format!(
            "{what} sources are not available in this gateway (source {arn})."
        ))
    };
    if arn.starts_with("smk://") {
        return Err(unavailable("Self-managed Apache Kafka"));
    }
    let a = Arn::parse(arn).ok_or_else(|| invalid(format!("Source {arn} is not a valid ARN.")))?;
    let source = match (source_of(arn), a.service.as_str()) {
        (Some(s), _) => s,
        (None, "mq") => return Err(unavailable("Amazon MQ")),
        (None, "kafka") => return Err(unavailable("Amazon MSK")),
        _ => {
            return Err(invalid(format!(
                "Source {arn} is not supported: use an SQS queue, a DynamoDB stream or a Kinesis stream."
            )));
        }
    };
    let p = params.cloned().unwrap_or_default();
    let found = match source {
        Source::Sqs => ministack_sdk::services::call_json(
            &ministack_sdk::services::Target::at("sqs", &a.account, &a.region),
            "GetQueueUrl",
            &json!({"QueueName": a.resource, "QueueOwnerAWSAccountId": a.account}).to_string(),
        )
        .map(|_| ()),
        Source::DynamoDb => {
            if p.dynamo_db_stream_parameters.is_none() {
                return Err(invalid(
                    "DynamoDBStreamParameters (with StartingPosition) are required for a DynamoDB stream source.",
                ));
            }
            poll::streams_call(&a, "DescribeStream", json!({"StreamArn": arn})).map(|_| ())
        }
        Source::Kinesis => {
            if p.kinesis_stream_parameters.is_none() {
                return Err(invalid(
                    "KinesisStreamParameters (with StartingPosition) are required for a Kinesis stream source.",
                ));
            }
            poll::kinesis_call(&a, "DescribeStreamSummary", json!({"StreamARN": arn})).map(|_| ())
        }
    };
    found.map_err(|e| {
        if e.message.contains("is not enabled in this gateway") {
            invalid(format!(
                "Source {arn}: {} is not available in this gateway.",
                a.service
            ))
        } else {
            invalid(format!("Source {arn} does not exist or is not accessible."))
        }
    })?;
    let _ = ctx;
    Ok(())
}

fn check_filters(params: Option<&PipeSourceParameters>) -> Result<(), AwsError> {
    let filters = params
        .and_then(|p| p.filter_criteria.as_ref())
        .and_then(|f| f.filters.clone())
        .unwrap_or_default();
    for f in filters {
        if let Some(text) = f.pattern.as_deref() {
            pattern::parse(text).map_err(|reason| invalid(pattern::error_message(&reason)))?;
        }
    }
    Ok(())
}

fn check_enrichment(arn: Option<&str>) -> Result<(), AwsError> {
    let Some(arn) = arn.filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let a =
        Arn::parse(arn).ok_or_else(|| invalid(format!("Enrichment {arn} is not a valid ARN.")))?;
    match a.service.as_str() {
        "lambda" | "states" => Ok(()),
        "events" if a.resource.starts_with("api-destination/") => Ok(()),
        "apigateway" | "execute-api" => Err(invalid(
            "API Gateway enrichments are not available in this gateway.",
        )),
        _ => Err(invalid(format!(
            "Enrichment {arn} is not supported: use a Lambda function, a Step Functions express state machine or an API destination."
        ))),
    }
}

fn check_target(arn: &str, params: Option<&PipeTargetParameters>) -> Result<(), AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid(format!("Target {arn} is not a valid ARN.")))?;
    if !targets::delivers_to(&a.service, &a.resource) && !is_api_destination(&a) {
        return Err(invalid(format!(
            "Target {arn} is not available in this gateway: use SQS, SNS, Lambda, Step Functions, Kinesis, Firehose, CloudWatch Logs or an event bus."
        )));
    }
    if a.service == "sqs"
        && a.resource.ends_with(".fifo")
        && params
            .and_then(|p| p.sqs_queue_parameters.as_ref())
            .and_then(|q| q.message_group_id.as_ref())
            .is_none()
    {
        return Err(invalid(
            "SqsQueueParameters.MessageGroupId is required for a FIFO queue target.",
        ));
    }
    if a.service == "kinesis"
        && params
            .and_then(|p| p.kinesis_stream_parameters.as_ref())
            .is_none()
    {
        return Err(invalid(
            "KinesisStreamParameters.PartitionKey is required for a Kinesis target.",
        ));
    }
    Ok(())
}

pub fn is_api_destination(a: &Arn) -> bool {
    a.service == "events" && a.resource.starts_with("api-destination/")
}

// ---- operations ----

fn pipe_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("pipes", &format!("pipe/{name}")).to_string()
}

/// Moves a pipe into a transitional state and schedules where it settles.
fn begin(ctx: &Context, s: &mut Stored, state: &str) -> Result<(), AwsError> {
    s.generation = s
        .generation
        .wrapping_add(1)
        .max(ministack_sdk::rand::u64() >> 1);
    s.pipe.current_state = Some(PipeState::from(state));
    s.pipe.last_modified_time = Some(time::now());
    let name = s.pipe.name.clone().unwrap_or_default();
    PIPES.put(&name, s)?;
    tasks::schedule(
        transition(ctx),
        SETTLE,
        &Settle {
            name,
            generation: s.generation,
        },
    )?;
    Ok(())
}

fn log_configuration(p: Option<PipeLogConfigurationParameters>) -> Option<PipeLogConfiguration> {
    // The request and answer shapes name the destinations alike.
    p.and_then(|p| serde_json::to_value(p).ok())
        .and_then(|v| serde_json::from_value(v).ok())
}

/// The answer of Create/Update/Start/StopPipe (four shapes, same members).
macro_rules! summary {
    ($shape:ident, $p:expr) => {{
        let p: &DescribePipeResponse = $p;
        $shape {
            arn: p.arn.clone(),
            name: p.name.clone(),
            desired_state: Some(RequestedPipeState::from(desired(p))),
            current_state: p.current_state.clone(),
            creation_time: p.creation_time,
            last_modified_time: p.last_modified_time,
        }
    }};
}

fn create_pipe(ctx: &Context, input: CreatePipeInput) -> Result<CreatePipeOutput, AwsError> {
    ministack_sdk::validate::Validator::new()
        .pattern(
            "name",
            &input.name,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'),
            "[\\.\\-_A-Za-z0-9]+",
        )
        .finish(invalid)?;
    if PIPES.contains(&input.name) {
        return Err(conflict(
            &input.name,
            format!("Pipe {} already exists.", input.name),
        ));
    }
    check_source(ctx, &input.source, input.source_parameters.as_ref())?;
    check_filters(input.source_parameters.as_ref())?;
    check_enrichment(input.enrichment.as_deref())?;
    check_target(&input.target, input.target_parameters.as_ref())?;
    let now = time::now();
    let want = input
        .desired_state
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "RUNNING".into());
    let mut s = Stored {
        pipe: DescribePipeResponse {
            arn: Some(pipe_arn(ctx, &input.name)),
            name: Some(input.name.clone()),
            description: input.description,
            desired_state: Some(RequestedPipeStateDescribeResponse::from(want.as_str())),
            source: Some(input.source),
            source_parameters: input.source_parameters,
            enrichment: input.enrichment.filter(|e| !e.is_empty()),
            enrichment_parameters: input.enrichment_parameters,
            target: Some(input.target),
            target_parameters: input.target_parameters,
            role_arn: Some(input.role_arn),
            tags: Some(input.tags.unwrap_or_default()),
            creation_time: Some(now),
            log_configuration: log_configuration(input.log_configuration),
            kms_key_identifier: input.kms_key_identifier,
            ..Default::default()
        },
        ..Default::default()
    };
    begin(ctx, &mut s, "CREATING")?;
    Ok(summary!(CreatePipeResponse, &s.pipe))
}

fn get(name: &str) -> Result<Stored, AwsError> {
    PIPES.get(name)?.ok_or_else(|| not_found(name))
}

fn describe_pipe(_ctx: &Context, input: DescribePipeInput) -> Result<DescribePipeOutput, AwsError> {
    Ok(get(&input.name)?.pipe)
}

fn update_pipe(ctx: &Context, input: UpdatePipeInput) -> Result<UpdatePipeOutput, AwsError> {
    let mut s = get(&input.name)?;
    if transitional(&s.pipe) {
        return Err(conflict(
            &input.name,
            format!(
                "Pipe {} is in state {} and cannot be updated.",
                input.name,
                state(&s.pipe)
            ),
        ));
    }
    let p = &mut s.pipe;
    if let Some(d) = input.description {
        p.description = Some(d);
    }
    if let Some(d) = input.desired_state {
        p.desired_state = Some(RequestedPipeStateDescribeResponse::from(d.as_str()));
    }
    if let Some(u) = input.source_parameters {
        // The updatable members merge into the source's parameters.
        let mut current = serde_json::to_value(p.source_parameters.clone().unwrap_or_default())
            .unwrap_or_default();
        merge(&mut current, serde_json::to_value(u).unwrap_or_default());
        let merged: PipeSourceParameters = serde_json::from_value(current)
            .map_err(|e| invalid(format!("SourceParameters: {e}")))?;
        check_filters(Some(&merged))?;
        p.source_parameters = Some(merged);
    }
    if let Some(e) = input.enrichment {
        check_enrichment(Some(&e))?;
        p.enrichment = Some(e).filter(|e| !e.is_empty());
    }
    if let Some(e) = input.enrichment_parameters {
        p.enrichment_parameters = Some(e);
    }
    if let Some(t) = input.target {
        p.target = Some(t);
    }
    if let Some(t) = input.target_parameters {
        p.target_parameters = Some(t);
    }
    check_target(
        p.target.as_deref().unwrap_or_default(),
        p.target_parameters.as_ref(),
    )?;
    p.role_arn = Some(input.role_arn);
    if let Some(l) = input.log_configuration {
        p.log_configuration = log_configuration(Some(l));
    }
    if let Some(k) = input.kms_key_identifier {
        p.kms_key_identifier = Some(k);
    }
    begin(ctx, &mut s, "UPDATING")?;
    Ok(summary!(UpdatePipeResponse, &s.pipe))
}

/// Deep merge of JSON objects (`from` wins).
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn delete_pipe(ctx: &Context, input: DeletePipeInput) -> Result<DeletePipeOutput, AwsError> {
    let mut s = get(&input.name)?;
    if state(&s.pipe) == "DELETING" {
        return Err(conflict(
            &input.name,
            format!("Pipe {} is already being deleted.", input.name),
        ));
    }
    s.pipe.desired_state = Some(RequestedPipeStateDescribeResponse::from("DELETED"));
    begin(ctx, &mut s, "DELETING")?;
    let p = &s.pipe;
    Ok(DeletePipeResponse {
        arn: p.arn.clone(),
        name: p.name.clone(),
        desired_state: p.desired_state.clone(),
        current_state: p.current_state.clone(),
        creation_time: p.creation_time,
        last_modified_time: p.last_modified_time,
    })
}

fn start_or_stop(ctx: &Context, name: &str, run: bool) -> Result<DescribePipeResponse, AwsError> {
    let mut s = get(name)?;
    if transitional(&s.pipe) {
        return Err(conflict(
            name,
            format!(
                "Pipe {name} is in state {} and cannot be {}.",
                state(&s.pipe),
                if run { "started" } else { "stopped" }
            ),
        ));
    }
    let want = if run { "RUNNING" } else { "STOPPED" };
    s.pipe.desired_state = Some(RequestedPipeStateDescribeResponse::from(want));
    begin(ctx, &mut s, if run { "STARTING" } else { "STOPPING" })?;
    Ok(s.pipe)
}

fn start_pipe(ctx: &Context, input: StartPipeInput) -> Result<StartPipeOutput, AwsError> {
    Ok(summary!(
        StartPipeResponse,
        &start_or_stop(ctx, &input.name, true)?
    ))
}

fn stop_pipe(ctx: &Context, input: StopPipeInput) -> Result<StopPipeOutput, AwsError> {
    Ok(summary!(
        StopPipeResponse,
        &start_or_stop(ctx, &input.name, false)?
    ))
}

fn list_pipes(_ctx: &Context, input: ListPipesInput) -> Result<ListPipesOutput, AwsError> {
    let limit = input.limit.unwrap_or(100).clamp(1, 100) as usize;
    let after = match input.next_token.as_deref() {
        Some(t) => {
            Some(pagination::decode(t).ok_or_else(|| invalid("The NextToken is not valid."))?)
        }
        None => None,
    };
    let mut scan = Scan::prefix(input.name_prefix.as_deref().unwrap_or(""));
    if let Some(a) = &after {
        scan = scan.start_after(a);
    }
    let mut pipes = Vec::new();
    let mut next = None;
    for (name, s) in PIPES.scan(&scan)? {
        let p = &s.pipe;
        let keep = input
            .desired_state
            .as_ref()
            .is_none_or(|d| d.as_str() == desired(p))
            && input
                .current_state
                .as_ref()
                .is_none_or(|c| c.as_str() == state(p))
            && input
                .source_prefix
                .as_deref()
                .is_none_or(|x| p.source.as_deref().unwrap_or("").starts_with(x))
            && input
                .target_prefix
                .as_deref()
                .is_none_or(|x| p.target.as_deref().unwrap_or("").starts_with(x));
        if !keep {
            continue;
        }
        if pipes.len() == limit {
            next = Some(pagination::encode(&name_before(&pipes)));
            break;
        }
        pipes.push(Pipe {
            name: p.name.clone(),
            arn: p.arn.clone(),
            desired_state: Some(RequestedPipeState::from(desired(p))),
            current_state: p.current_state.clone(),
            state_reason: p.state_reason.clone(),
            creation_time: p.creation_time,
            last_modified_time: p.last_modified_time,
            source: p.source.clone(),
            target: p.target.clone(),
            enrichment: p.enrichment.clone(),
        });
        let _ = name;
    }
    Ok(ListPipesResponse {
        pipes: Some(pipes),
        next_token: next,
    })
}

fn name_before(pipes: &[Pipe]) -> String {
    pipes
        .last()
        .and_then(|p| p.name.clone())
        .unwrap_or_default()
}

/// The pipe a `arn:aws:pipes:<region>:<account>:pipe/<name>` names.
fn by_arn(arn: &str) -> Result<(String, Stored), AwsError> {
    let name = Arn::parse(arn)
        .filter(|a| a.service == "pipes")
        .and_then(|a| a.resource.strip_prefix("pipe/").map(str::to_string))
        .ok_or_else(|| NotFoundException::new(format!("Resource {arn} does not exist.")))?;
    let s = PIPES
        .get(&name)?
        .filter(|s| s.pipe.arn.as_deref() == Some(arn))
        .ok_or_else(|| NotFoundException::new(format!("Resource {arn} does not exist.")))?;
    Ok((name, s))
}

fn tag_resource(_ctx: &Context, input: TagResourceInput) -> Result<TagResourceOutput, AwsError> {
    let (name, mut s) = by_arn(&input.resource_arn)?;
    let tags = s.pipe.tags.get_or_insert_with(Default::default);
    tags.extend(input.tags);
    if tags.len() > 50 {
        return Err(invalid("A pipe can have at most 50 tags."));
    }
    PIPES.put(&name, &s)?;
    Ok(Default::default())
}

fn untag_resource(
    _ctx: &Context,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, AwsError> {
    let (name, mut s) = by_arn(&input.resource_arn)?;
    if let Some(tags) = s.pipe.tags.as_mut() {
        for k in &input.tag_keys {
            tags.remove(k);
        }
    }
    PIPES.put(&name, &s)?;
    Ok(Default::default())
}

fn list_tags_for_resource(
    _ctx: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    let (_, s) = by_arn(&input.resource_arn)?;
    Ok(ListTagsForResourceResponse {
        tags: Some(s.pipe.tags.unwrap_or_default()),
    })
}

// ---- state transitions and pollers ----

#[derive(Serialize, Deserialize)]
pub struct Settle {
    pub name: String,
    pub generation: u64,
}

/// The `settle` task: a transitional state becomes RUNNING, STOPPED or
/// (DELETING) the pipe is gone; a running pipe starts its poller.
fn settle(_ctx: &Context, t: Settle) -> Result<(), AwsError> {
    let Some(mut s) = PIPES.get(&t.name)? else {
        return Ok(());
    };
    if s.generation != t.generation {
        return Ok(());
    }
    let next = match state(&s.pipe) {
        "DELETING" => {
            PIPES.delete(&t.name);
            return Ok(());
        }
        "STOPPING" => "STOPPED",
        "CREATING" | "UPDATING" | "STARTING" => {
            if desired(&s.pipe) == "RUNNING" {
                "RUNNING"
            } else {
                "STOPPED"
            }
        }
        _ => return Ok(()),
    };
    s.pipe.current_state = Some(PipeState::from(next));
    s.pipe.state_reason = None;
    s.pipe.last_modified_time = Some(time::now());
    if next == "RUNNING" {
        poll::start(&mut s)?;
    }
    PIPES.put(&t.name, &s)?;
    if next == "RUNNING" {
        tasks::schedule(Duration::ZERO, poll::POLL, &poll::Poll::of(&s))?;
    }
    Ok(())
}

/// The boot hook: pollers waiting when the gateway stopped have no task
/// record (their first unit took it); transitional states lost their
/// settle only if it had run. Every pipe of every account and region is
/// looked at again in its own context.
fn on_start(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(PIPES.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RESUME, &())?;
    }
    Ok(())
}

fn resume(ctx: &Context, _: ()) -> Result<(), AwsError> {
    for (name, mut s) in PIPES.scan(&Scan::all())? {
        match state(&s.pipe) {
            "RUNNING" => {
                s.generation = s.generation.wrapping_add(1);
                PIPES.put(&name, &s)?;
                tasks::schedule(Duration::ZERO, poll::POLL, &poll::Poll::of(&s))?;
            }
            st if transitional(&s.pipe) => {
                let st = st.to_string();
                begin(ctx, &mut s, &st)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The text `InputTemplate` makes of `event` (AWS's `<$.path>` and
/// `<aws.pipes.*>` placeholders), or the event itself.
pub fn render(template: Option<&str>, event: &Value, pipe: &DescribePipeResponse) -> String {
    let Some(template) = template else {
        return event.to_string();
    };
    // Paths reach into a JSON body.
    let event = &view(event);
    let is_var = |n: &str| n.starts_with('$') || n.starts_with("aws.pipes.");
    let lookup = |n: &str| -> Option<Value> {
        let text = |s: &Option<String>| s.clone().map(Value::String);
        match n {
            "aws.pipes.pipe-arn" => text(&pipe.arn),
            "aws.pipes.pipe-name" => text(&pipe.name),
            "aws.pipes.source-arn" => text(&pipe.source),
            "aws.pipes.enrichment-arn" => text(&pipe.enrichment),
            "aws.pipes.target-arn" => text(&pipe.target),
            "aws.pipes.event.ingestion-time" => {
                Some(Value::String(time::iso8601(time::now_secs())))
            }
            "aws.pipes.event" | "aws.pipes.event.json" => Some(event.clone()),
            path => transform::at_path(event, path).cloned(),
        }
    };
    transform::fill_template(template, &is_var, &lookup)
}

/// A record as filters and templates see it: an SQS body (Kinesis data)
/// that is JSON is parsed, as AWS does.
pub fn view(record: &Value) -> Value {
    let mut v = record.clone();
    if let Some(body) = record["body"].as_str()
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && (parsed.is_object() || parsed.is_array())
    {
        v["body"] = parsed;
    }
    if let Some(data) = record["data"].as_str()
        && let Some(bytes) = encoding::base64_decode(data)
        && let Ok(parsed) = serde_json::from_slice::<Value>(&bytes)
        && (parsed.is_object() || parsed.is_array())
    {
        v["data"] = parsed;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Pipes>(),
            ministack_sdk::Coverage::default()
        );
    }

    #[test]
    fn templates_read_paths_of_the_parsed_body() {
        let pipe = DescribePipeResponse {
            name: Some("p".into()),
            ..Default::default()
        };
        let record = json!({"messageId": "m1", "body": "{\"order\": {\"id\": 7}}"});
        assert_eq!(
            render(
                Some(r#"{"id": <$.body.order.id>, "pipe": "<aws.pipes.pipe-name>"}"#),
                &record,
                &pipe
            ),
            r#"{"id": 7, "pipe": "p"}"#
        );
        assert_eq!(
            render(Some("order <$.body.order.id>"), &record, &pipe),
            "order 7"
        );
    }

    #[test]
    fn sources_by_arn() {
        assert_eq!(
            source_of("arn:aws:sqs:us-east-1:000000000000:q"),
            Some(Source::Sqs)
        );
        assert_eq!(
            source_of(
                "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000"
            ),
            Some(Source::DynamoDb)
        );
        assert_eq!(
            source_of("arn:aws:kinesis:us-east-1:000000000000:stream/s"),
            Some(Source::Kinesis)
        );
        assert_eq!(
            source_of("arn:aws:dynamodb:us-east-1:000000000000:table/t"),
            None
        );
    }
}
