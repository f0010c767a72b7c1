//! Event source mappings: SQS, DynamoDB Streams and Kinesis, polled by a
//! task loop (`esm-poll`) that reads the source through `services.call` and
//! invokes the function synchronously.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::members::str_member as s;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{ids, tasks, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::filter;
use crate::functions::paginate;
use crate::invoke;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Mapping {
    /// EventSourceMappingConfiguration as the API returns it.
    pub config: Value,
    /// Function name and qualifier the mapping invokes.
    pub function: String,
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Bumped on each change: a poll loop of an older generation stops.
    pub generation: u64,
    /// Stream sources: shard id -> last sequence number processed.
    #[serde(default)]
    pub positions: BTreeMap<String, String>,
    /// Stream sources: failed attempts of the current batch.
    #[serde(default)]
    pub attempts: u32,
    /// Stream sources: current batch size (halved by bisect on error).
    #[serde(default)]
    pub batch_limit: u32,
    /// When a poll last ran (epoch seconds), to restart stale loops.
    #[serde(default)]
    pub last_poll: f64,
    /// Stream sources with TumblingWindowInSeconds: shard id -> its open window.
    #[serde(default)]
    pub windows: BTreeMap<String, Window>,
}

/// A shard's open tumbling window: where it starts and the state the
/// function returned last (`{"state": {...}}`), handed to the next invoke.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Window {
    /// Epoch seconds, a multiple of the window length.
    pub start: u64,
    #[serde(default)]
    pub state: Value,
}

/// TumblingWindowInSeconds (0: no windows).
pub(crate) fn window_secs(m: &Mapping) -> u64 {
    m.config["TumblingWindowInSeconds"].as_u64().unwrap_or(0)
}

/// AWS's event for a windowed stream invoke.
fn window_event(
    start: u64,
    secs: u64,
    state: &Value,
    shard: &str,
    arn: &str,
    records: Vec<Value>,
    last: bool,
) -> Value {
    json!({
        "Records": records,
        "window": {"start": time::iso8601(start), "end": time::iso8601(start + secs)},
        "state": if state.is_object() { state.clone() } else { json!({}) },
        "shardId": shard,
        "eventSourceARN": arn,
        "isFinalInvokeForWindow": last,
        "isWindowTerminatedEarly": false,
    })
}

/// Before reading a shard: when its window has ended, the final invoke
/// (no records, `isFinalInvokeForWindow`), and the window is closed (also
/// when that invoke failed: it is not retried). True when it ran.
pub(crate) fn close_window(
    ctx: &Context,
    uuid: &str,
    m: &Mapping,
    shard: &str,
    arn: &str,
) -> Result<bool, AwsError> {
    let secs = window_secs(m);
    let Some(w) = m.windows.get(shard).filter(|_| secs > 0).cloned() else {
        return Ok(false);
    };
    if time::now() < (w.start + secs) as f64 {
        return Ok(false);
    }
    let event = window_event(w.start, secs, &w.state, shard, arn, Vec::new(), true);
    let outcome = invoke_batch(ctx, m, &event)?;
    if let Some(mut m) = MAPPINGS.get(uuid)? {
        m.windows.remove(shard);
        if outcome.is_err() {
            m.config["LastProcessingResult"] = json!("PROBLEM: Function call failed");
        }
        MAPPINGS.put(uuid, &m)?;
    }
    Ok(true)
}

/// The event for a batch of a shard: AWS's plain `{"Records"}`, or with a
/// tumbling window its window event (opening a window when none is), and
/// the window's start.
pub(crate) fn batch_event(m: &Mapping, shard: &str, arn: &str, batch: Vec<Value>) -> (Value, u64) {
    let secs = window_secs(m);
    if secs == 0 {
        return (json!({"Records": batch}), 0);
    }
    let (start, state) = match m.windows.get(shard) {
        Some(w) => (w.start, w.state.clone()),
        None => (time::now_secs() / secs * secs, json!({})),
    };
    (
        window_event(start, secs, &state, shard, arn, batch, false),
        start,
    )
}

/// After a successful windowed invoke: the state it returned is the window's.
pub(crate) fn keep_state(m: &mut Mapping, shard: &str, start: u64, response: &Value) {
    if window_secs(m) == 0 {
        return;
    }
    let state = response
        .get("state")
        .filter(|s| s.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    m.windows.insert(shard.to_string(), Window { start, state });
}

pub const MAPPINGS: Table<Mapping> = Table::new("event-source-mappings");

/// A loop silent this long is started again by a read of its mapping (a
/// new generation: the old loop, if it was only busy, stops after its
/// batch). After a restart the boot hook restarts every loop (`resume`);
/// this only catches a loop that ended on an error. Longer than a wait.
const REVIVE_AFTER_SECS: f64 = 60.0;

/// Idle time between polls of an empty source that announces nothing this
/// plugin may wait on (Kinesis, a source in another account or region).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Longest wait on an SQS queue's topic: messages whose delay or visibility
/// timeout ends are not announced, so an idle queue is looked at this often.
const SQS_WAIT: Duration = Duration::from_secs(1);
/// Longest wait on a DynamoDB stream's topic (every record is announced).
const STREAM_WAIT: Duration = Duration::from_secs(10);
/// Time between checks of a mapping whose function is gone.
const FUNCTION_GONE_POLL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        "kinesis" => Some(Source::Kinesis),
        _ => None,
    }
}

fn mapping_not_found(uuid: &str) -> AwsError {
    not_found(format!(
        "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {uuid})"
    ))
}

/// Checks the batching members for a source; fills AWS's defaults.
fn apply_batching(config: &mut Value, input: &Value, source: Source) -> Result<(), AwsError> {
    let (default, max) = match source {
        Source::Sqs => (10, 10000),
        _ => (100, 10000),
    };
    let batch = input["BatchSize"]
        .as_u64()
        .or(config["BatchSize"].as_u64())
        .unwrap_or(default);
    let window = input["MaximumBatchingWindowInSeconds"]
        .as_u64()
        .or(config["MaximumBatchingWindowInSeconds"].as_u64())
        .unwrap_or(0);
    if batch == 0 || batch > max {
        return Err(invalid(format!("BatchSize must be between 1 and {max}.")));
    }
    if source == Source::Sqs && batch > 10 && window == 0 {
        return Err(invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    if window > 300 {
        return Err(invalid(
            "MaximumBatchingWindowInSeconds must be between 0 and 300.",
        ));
    }
    config["BatchSize"] = json!(batch);
    config["MaximumBatchingWindowInSeconds"] = json!(window);
    if !input["FilterCriteria"].is_null() {
        filter::parse(&input["FilterCriteria"])
            .map_err(|p| invalid(format!("Invalid filter pattern definition: {p}")))?;
        config["FilterCriteria"] = input["FilterCriteria"].clone();
    }
    if let Some(types) = input["FunctionResponseTypes"].as_array() {
        config["FunctionResponseTypes"] = json!(types);
    }
    if !input["ScalingConfig"].is_null() {
        if let Some(n) = input["ScalingConfig"]["MaximumConcurrency"].as_u64()
            && !(2..=1000).contains(&n)
        {
            return Err(invalid("MaximumConcurrency must be between 2 and 1000."));
        }
        config["ScalingConfig"] = input["ScalingConfig"].clone();
    }
    if source != Source::Sqs {
        for k in [
            "ParallelizationFactor",
            "MaximumRecordAgeInSeconds",
            "BisectBatchOnFunctionError",
            "MaximumRetryAttempts",
            "TumblingWindowInSeconds",
            "DestinationConfig",
        ] {
            if !input[k].is_null() {
                config[k] = input[k].clone();
            }
        }
        if let Some(d) = config["DestinationConfig"]["OnFailure"]["Destination"].as_str()
            && !Arn::parse(d).is_some_and(|a| matches!(a.service.as_str(), "sqs" | "sns" | "s3"))
        {
            return Err(invalid(format!("The destination ARN {d} is invalid.")));
        }
    }
    Ok(())
}

fn function_target(
    ctx: &Context,
    function_name: &str,
) -> Result<(String, Option<String>, String), AwsError> {
    let r = function_ref(ctx, function_name, None)?;
    let f = load_function(ctx, &r.name)?;
    check_qualifier(ctx, &f, &r.name, r.qualifier.as_deref())?;
    let arn = qualified_arn(&function_arn(ctx, &r.name), r.qualifier.as_deref());
    Ok((r.name, r.qualifier, arn))
}

/// Reads a source once to check it exists; the error says what is missing.
fn check_source(ctx: &Context, arn: &str, source: Source) -> Result<(), AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid(format!("Invalid event source ARN: {arn}")))?;
    match source {
        Source::Sqs => {
            queue_url(&a).map_err(|_| {
                invalid(format!(
                    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist. ({arn})"
                ))
            })?;
        }
        Source::DynamoDb => {
            services::call_json(
                &Target::at("dynamodbstreams", &a.account, &a.region),
                "DescribeStream",
                &json!({"StreamArn": arn}).to_string(),
            )
            .map_err(|_| invalid(format!("Stream not found: {arn}")))?;
        }
        Source::Kinesis => {}
    }
    let _ = ctx;
    Ok(())
}

fn queue_url(a: &Arn) -> Result<String, AwsError> {
    let out: Value = services::call(
        &Target::at("sqs", &a.account, &a.region),
        "GetQueueUrl",
        &json!({"QueueName": a.resource, "QueueOwnerAWSAccountId": a.account}),
    )?;
    Ok(out["QueueUrl"].as_str().unwrap_or_default().to_string())
}

pub fn create_event_source_mapping(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (name, qualifier, function_arn) =
        function_target(ctx, s(&input, "FunctionName").unwrap_or_default())?;
    let Some(arn) = s(&input, "EventSourceArn") else {
        return Err(invalid(
            "Self-managed Kafka, Amazon MQ and DocumentDB event sources are not available in ministack: give an SQS queue, DynamoDB stream or Kinesis stream EventSourceArn.",
        ));
    };
    let source = source_of(arn).ok_or_else(|| {
        invalid(format!(
            "Unsupported event source {arn}: ministack maps SQS queues, DynamoDB streams and Kinesis streams."
        ))
    })?;
    if source == Source::Sqs {
        if !input["StartingPosition"].is_null() {
            return Err(invalid(
                "Unsupported starting position for the SQS event source.",
            ));
        }
        for (_, m) in MAPPINGS.scan(&Scan::all())? {
            if m.config["EventSourceArn"] == arn && m.config["FunctionArn"] == function_arn.as_str()
            {
                return Err(conflict(format!(
                    "An event source mapping with SQS arn (\" {arn} \") and function (\" {name} \") already exists. Please update or delete the existing mapping with UUID {}",
                    m.config["UUID"].as_str().unwrap_or_default()
                )));
            }
        }
    } else {
        match s(&input, "StartingPosition") {
            Some("TRIM_HORIZON" | "LATEST") => {}
            Some("AT_TIMESTAMP") if input["StartingPositionTimestamp"].is_number() => {}
            Some(p) => {
                return Err(invalid(format!(
                    "Unsupported starting position {p} for this event source."
                )));
            }
            None => {
                return Err(invalid(
                    "StartingPosition is required for stream event sources (TRIM_HORIZON, LATEST or AT_TIMESTAMP).",
                ));
            }
        }
    }
    let uuid = ids::uuid();
    let mut config = json!({
        "UUID": uuid,
        "EventSourceArn": arn,
        "FunctionArn": function_arn,
        "LastModified": time::now(),
        "LastProcessingResult": "No records processed",
        "State": "Enabled",
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": [],
        "EventSourceMappingArn": ctx.arn("lambda", &format!("event-source-mapping:{uuid}")).to_string(),
    });
    if source != Source::Sqs {
        config["StartingPosition"] = input["StartingPosition"].clone();
        if input["StartingPositionTimestamp"].is_number() {
            config["StartingPositionTimestamp"] = input["StartingPositionTimestamp"].clone();
        }
        config["ParallelizationFactor"] = json!(1);
        config["MaximumRecordAgeInSeconds"] = json!(-1);
        config["BisectBatchOnFunctionError"] = json!(false);
        config["MaximumRetryAttempts"] = json!(-1);
        config["TumblingWindowInSeconds"] = json!(0);
        config["DestinationConfig"] = json!({"OnFailure": {}});
    }
    apply_batching(&mut config, &input, source)?;
    for k in [
        "MetricsConfig",
        "LoggingConfig",
        "KMSKeyArn",
        "ProvisionedPollerConfig",
    ] {
        if !input[k].is_null() {
            config[k] = input[k].clone();
        }
    }
    if input["Enabled"].as_bool() == Some(false) {
        config["State"] = json!("Disabled");
    }
    check_source(ctx, arn, source)?;
    let mut m = Mapping {
        config,
        function: name,
        qualifier,
        generation: 1,
        ..Mapping::default()
    };
    if source == Source::Kinesis && !kinesis_available(arn) {
        m.config["LastProcessingResult"] = json!(
            "PROBLEM: Kinesis is not available in this ministack (no kinesis plugin is loaded); the mapping will not poll."
        );
    }
    if source == Source::DynamoDb && s(&input, "StartingPosition") == Some("LATEST") {
        m.positions = stream_ends(arn)?;
    }
    if source == Source::Kinesis && s(&input, "StartingPosition") == Some("LATEST") {
        m.positions = crate::esm_kinesis::latest_positions(arn).unwrap_or_default();
    }
    if let Some(tags) = input["Tags"].as_object() {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        TAGS.put(
            m.config["EventSourceMappingArn"]
                .as_str()
                .unwrap_or_default(),
            &tags,
        )?;
    }
    MAPPINGS.put(&uuid, &m)?;
    start_poller(&m)?;
    let mut out = m.config.clone();
    out["State"] = json!("Creating");
    Ok(out)
}

fn kinesis_available(arn: &str) -> bool {
    let Some(a) = Arn::parse(arn) else {
        return false;
    };
    let name = a.resource.trim_start_matches("stream/").to_string();
    services::call_json(
        &Target::at("kinesis", &a.account, &a.region),
        "DescribeStreamSummary",
        &json!({"StreamName": name, "StreamARN": arn}).to_string(),
    )
    .is_ok()
}

fn start_poller(m: &Mapping) -> Result<(), AwsError> {
    if m.config["State"] == "Enabled"
        && !m.config["LastProcessingResult"]
            .as_str()
            .unwrap_or("")
            .starts_with("PROBLEM: Kinesis")
    {
        tasks::schedule(
            Duration::ZERO,
            "esm-poll",
            &json!({"uuid": m.config["UUID"], "generation": m.generation}),
        )?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UuidIn {
    #[serde(rename = "UUID")]
    uuid: String,
}

fn view(m: &Mapping) -> Value {
    m.config.clone()
}

/// A loop that has not polled for a while (it ended on an error) is started
/// again on a read.
fn revive(uuid: &str, m: &mut Mapping) -> Result<(), AwsError> {
    if m.config["State"] == "Enabled" && time::now() - m.last_poll > REVIVE_AFTER_SECS {
        m.generation += 1;
        m.last_poll = time::now();
        MAPPINGS.put(uuid, m)?;
        start_poller(m)?;
    }
    Ok(())
}

pub fn get_event_source_mapping(_ctx: &Context, input: UuidIn) -> Result<Value, AwsError> {
    let mut m = MAPPINGS
        .get(&input.uuid)?
        .ok_or_else(|| mapping_not_found(&input.uuid))?;
    revive(&input.uuid, &mut m)?;
    Ok(view(&m))
}

pub fn delete_event_source_mapping(_ctx: &Context, input: UuidIn) -> Result<Value, AwsError> {
    let m = MAPPINGS
        .get(&input.uuid)?
        .ok_or_else(|| mapping_not_found(&input.uuid))?;
    MAPPINGS.delete(&input.uuid);
    TAGS.delete(
        m.config["EventSourceMappingArn"]
            .as_str()
            .unwrap_or_default(),
    );
    let mut out = view(&m);
    out["State"] = json!("Deleting");
    Ok(out)
}

pub fn update_event_source_mapping(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let uuid = s(&input, "UUID").unwrap_or_default().to_string();
    let mut m = MAPPINGS
        .get(&uuid)?
        .ok_or_else(|| mapping_not_found(&uuid))?;
    let arn = m.config["EventSourceArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let source = source_of(&arn).unwrap_or(Source::Sqs);
    if let Some(f) = s(&input, "FunctionName") {
        let (name, qualifier, farn) = function_target(ctx, f)?;
        m.function = name;
        m.qualifier = qualifier;
        m.config["FunctionArn"] = json!(farn);
    }
    let mut config = m.config.clone();
    apply_batching(&mut config, &input, source)?;
    m.config = config;
    if let Some(enabled) = input["Enabled"].as_bool() {
        m.config["State"] = json!(if enabled { "Enabled" } else { "Disabled" });
    }
    m.config["LastModified"] = json!(time::now());
    m.generation += 1;
    MAPPINGS.put(&uuid, &m)?;
    start_poller(&m)?;
    let mut out = view(&m);
    out["State"] = json!(if m.config["State"] == "Enabled" {
        "Enabling"
    } else {
        "Disabling"
    });
    if input["Enabled"].is_null() {
        out["State"] = json!("Updating");
    }
    Ok(out)
}

pub fn list_event_source_mappings(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let function = match s(&input, "FunctionName") {
        Some(f) => Some(function_target(ctx, f)?.2),
        None => None,
    };
    let mut items = Vec::new();
    for (uuid, mut m) in MAPPINGS.scan(&Scan::all())? {
        if s(&input, "EventSourceArn").is_some_and(|a| m.config["EventSourceArn"] != a) {
            continue;
        }
        if function.as_deref().is_some_and(|f| {
            m.config["FunctionArn"]
                .as_str()
                .is_none_or(|fa| fa != f && !fa.starts_with(&format!("{f}:")))
        }) {
            continue;
        }
        revive(&uuid, &mut m)?;
        items.push((uuid, view(&m)));
    }
    let (list, next) = paginate(items, s(&input, "Marker"), input["MaxItems"].as_u64(), 100)?;
    let mut out = json!({"EventSourceMappings": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

// ---- polling ----

#[derive(Deserialize, Serialize)]
pub struct Poll {
    uuid: String,
    generation: u64,
}

/// The `esm-poll` task: one batch, then the next poll.
pub fn poll(ctx: &Context, p: Poll) -> Result<(), AwsError> {
    let Some(mut m) = MAPPINGS.get(&p.uuid)? else {
        return Ok(());
    };
    if m.generation != p.generation || m.config["State"] != "Enabled" {
        return Ok(());
    }
    m.last_poll = time::now();
    if !FUNCTIONS.contains(&m.function) {
        // The function was deleted: the mapping stays, says so, and leaves
        // the source alone.
        m.config["LastProcessingResult"] = json!("PROBLEM: Function not found.");
        MAPPINGS.put(&p.uuid, &m)?;
        tasks::schedule(FUNCTION_GONE_POLL, "esm-poll", &p)?;
        return Ok(());
    }
    MAPPINGS.put(&p.uuid, &m)?;
    let arn = m.config["EventSourceArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Read before looking, so a record that lands meanwhile ends the wait.
    let topic = source_topic(ctx, &arn)
        .and_then(|(svc, t, d)| Some((svc, tasks::topic_generation(svc, &t).ok()?, t, d)));
    let busy = match source_of(&arn) {
        Some(Source::Sqs) => poll_sqs(ctx, &m, &arn),
        Some(Source::DynamoDb) => poll_stream(ctx, &p.uuid, &arn),
        Some(Source::Kinesis) => crate::esm_kinesis::poll(ctx, &p.uuid, &arn),
        _ => Ok(false),
    };
    let busy = busy.unwrap_or_else(|e| {
        ministack_sdk::warn!(
            "event source mapping {} poll failed: {} {}",
            p.uuid,
            e.code,
            e.message
        );
        false
    });
    let mut delay = if busy { Duration::ZERO } else { IDLE_POLL };
    // An open tumbling window ends on time even when no record comes.
    let window_end = MAPPINGS.get(&p.uuid)?.and_then(|m| {
        let secs = window_secs(&m);
        m.windows.values().map(|w| w.start + secs).min()
    });
    let topic = topic.map(|(svc, seen, t, timeout)| {
        let timeout = match window_end {
            Some(end) => timeout.min(Duration::from_secs_f64(
                (end as f64 - time::now()).max(0.0) + 0.05,
            )),
            None => timeout,
        };
        (svc, seen, t, timeout)
    });
    if !busy && let Some((svc, seen, t, timeout)) = topic {
        // Sleep until the source announces a record (or the timeout).
        if tasks::wait_on(svc, &t, seen, timeout).is_ok() {
            delay = Duration::ZERO;
        }
    }
    // Still ours after the batch (not deleted, disabled or replaced)?
    if let Some(m) = MAPPINGS.get(&p.uuid)?
        && m.generation == p.generation
        && m.config["State"] == "Enabled"
    {
        tasks::schedule(delay, "esm-poll", &p)?;
    }
    Ok(())
}

/// The plugin and topic that announce new records of a source, and the
/// longest wait on it. Topics are per account and region: a source elsewhere
/// is polled on a timer.
fn source_topic(ctx: &Context, arn: &str) -> Option<(&'static str, String, Duration)> {
    let a = Arn::parse(arn)?;
    if a.account != ctx.account || a.region != ctx.region {
        return None;
    }
    match source_of(arn)? {
        Source::Sqs => Some(("sqs", format!("queue:{}", a.resource), SQS_WAIT)),
        Source::DynamoDb => Some(("dynamodb", format!("stream:{arn}"), STREAM_WAIT)),
        Source::Kinesis => None,
    }
}

/// A number new at every start (and reset) of the gateway, written by the
/// boot hook: a stand-in record of an asynchronous attempt tells by it
/// whether that attempt was cut off by a restart.
const BOOT: Table<u64> = Table::global("boot");

pub fn boot_id() -> u64 {
    BOOT.get("id").ok().flatten().unwrap_or(0)
}

/// The boot hook: a poll loop waiting when the gateway stopped has no task
/// record (its first unit took it), so every enabled mapping in every
/// account and region starts a new loop.
pub fn on_start(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    BOOT.put("id", &ministack_sdk::rand::u64())?;
    for (account, region) in tasks::contexts(MAPPINGS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, "esm-resume", &())?;
    }
    Ok(())
}

/// The `esm-resume` task: a new generation (older loops, e.g. a stored
/// poll, stop) and a poll for each enabled mapping of this account and region.
pub fn resume(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    for (uuid, mut m) in MAPPINGS.scan(&Scan::all())? {
        if m.config["State"] == "Enabled" {
            m.generation += 1;
            m.last_poll = time::now();
            MAPPINGS.put(&uuid, &m)?;
            start_poller(&m)?;
        }
    }
    Ok(())
}

fn set_result(uuid: &str, result: &str) -> Result<(), AwsError> {
    if let Some(mut m) = MAPPINGS.get(uuid)?
        && m.config["LastProcessingResult"] != result
    {
        m.config["LastProcessingResult"] = json!(result);
        MAPPINGS.put(uuid, &m)?;
    }
    Ok(())
}

pub(crate) fn invoke_batch(
    ctx: &Context,
    m: &Mapping,
    event: &Value,
) -> Result<Result<Value, String>, AwsError> {
    let t = invoke::target(ctx, &m.function, m.qualifier.as_deref())?;
    let out = invoke::run(ctx, &t, event.to_string().as_bytes(), &ids::uuid(), "");
    Ok(match out {
        Ok(o) if o.function_error.is_none() => {
            Ok(serde_json::from_slice(&o.payload).unwrap_or(Value::Null))
        }
        Ok(o) => Err(String::from_utf8_lossy(&o.payload).into_owned()),
        Err(e) => Err(format!("{}: {}", e.code, e.message)),
    })
}

/// Lambda's `messageAttributes` form of an SQS message attribute.
fn lambda_attribute(v: &Value) -> Value {
    json!({
        "stringValue": v["StringValue"],
        "binaryValue": v["BinaryValue"],
        "stringListValues": v["StringListValues"].as_array().cloned().unwrap_or_default(),
        "binaryListValues": v["BinaryListValues"].as_array().cloned().unwrap_or_default(),
        "dataType": v["DataType"],
    })
}

pub fn sqs_record(msg: &Value, arn: &str, region: &str) -> Value {
    let attrs: BTreeMap<String, Value> = msg["MessageAttributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), lambda_attribute(v)))
                .collect()
        })
        .unwrap_or_default();
    let mut r = json!({
        "messageId": msg["MessageId"],
        "receiptHandle": msg["ReceiptHandle"],
        "body": msg["Body"],
        "attributes": msg["Attributes"].as_object().cloned().unwrap_or_default(),
        "messageAttributes": attrs,
        "md5OfBody": msg["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    });
    if msg["MD5OfMessageAttributes"].is_string() {
        r["md5OfMessageAttributes"] = msg["MD5OfMessageAttributes"].clone();
    }
    r
}

/// The view of a record filters match against: an SQS body is matched as
/// JSON when it is JSON.
fn filter_view(record: &Value) -> Value {
    let mut v = record.clone();
    if let Some(body) = record["body"].as_str()
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && parsed.is_object()
    {
        v["body"] = parsed;
    }
    v
}

/// Message ids the function reported failed (ReportBatchItemFailures);
/// None when the answer is malformed (the whole batch failed).
pub fn batch_item_failures(response: &Value, ids_in_batch: &[String]) -> Option<Vec<String>> {
    match response.get("batchItemFailures") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for f in list {
                let id = f["itemIdentifier"].as_str()?;
                if id.is_empty() || !ids_in_batch.iter().any(|i| i == id) {
                    return None;
                }
                out.push(id.to_string());
            }
            Some(out)
        }
        Some(_) => None,
    }
}

fn poll_sqs(ctx: &Context, m: &Mapping, arn: &str) -> Result<bool, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad queue ARN"))?;
    let target = Target::at("sqs", &a.account, &a.region);
    let url = queue_url(&a)?;
    let batch = m.config["BatchSize"].as_u64().unwrap_or(10) as usize;
    let window = m.config["MaximumBatchingWindowInSeconds"]
        .as_f64()
        .unwrap_or(0.0);
    let started = time::now();
    let mut messages: Vec<Value> = Vec::new();
    loop {
        let want = (batch - messages.len()).min(10);
        let out: Value = services::call(
            &target,
            "ReceiveMessage",
            &json!({
                "QueueUrl": url,
                "MaxNumberOfMessages": want,
                "MessageSystemAttributeNames": ["All"],
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
                "WaitTimeSeconds": 0,
            }),
        )?;
        let got = out["Messages"].as_array().cloned().unwrap_or_default();
        let empty = got.is_empty();
        messages.extend(got);
        if messages.len() >= batch
            || (empty && (messages.is_empty() || time::now() - started >= window))
        {
            break;
        }
        if empty {
            tasks::wait("lambda-esm-batching-window", Duration::from_millis(100));
        }
    }
    if messages.is_empty() {
        return Ok(false);
    }
    let patterns = filter::parse(&m.config["FilterCriteria"]).unwrap_or_default();
    let mut records = Vec::new();
    let mut filtered_out = Vec::new();
    for msg in &messages {
        let r = sqs_record(msg, arn, &a.region);
        if filter::passes(&patterns, &filter_view(&r)) {
            records.push(r);
        } else {
            filtered_out.push(msg.clone());
        }
    }
    // Messages no filter matches are deleted, as AWS does for SQS.
    delete_messages(&target, &url, &filtered_out)?;
    if records.is_empty() {
        return Ok(true);
    }
    let uuid = m.config["UUID"].as_str().unwrap_or_default().to_string();
    let event = json!({"Records": records});
    let report = m.config["FunctionResponseTypes"]
        .as_array()
        .is_some_and(|l| l.iter().any(|t| t == "ReportBatchItemFailures"));
    let passed: Vec<Value> = messages
        .into_iter()
        .filter(|msg| !filtered_out.contains(msg))
        .collect();
    match invoke_batch(ctx, m, &event)? {
        Ok(response) => {
            let failed = if report {
                let ids: Vec<String> = passed
                    .iter()
                    .filter_map(|m| m["MessageId"].as_str().map(str::to_string))
                    .collect();
                batch_item_failures(&response, &ids)
            } else {
                Some(Vec::new())
            };
            match failed {
                Some(failed) => {
                    let done: Vec<Value> = passed
                        .into_iter()
                        .filter(|msg| !failed.iter().any(|f| msg["MessageId"] == f.as_str()))
                        .collect();
                    delete_messages(&target, &url, &done)?;
                    set_result(&uuid, "OK")?;
                }
                // A malformed answer fails the whole batch: the messages
                // come back after their visibility timeout.
                None => set_result(
                    &uuid,
                    "PROBLEM: Function response was not a valid batchItemFailures list",
                )?,
            }
        }
        Err(_) => set_result(&uuid, "PROBLEM: Function call failed")?,
    }
    Ok(true)
}

fn delete_messages(target: &Target, url: &str, messages: &[Value]) -> Result<(), AwsError> {
    for chunk in messages.chunks(10) {
        let entries: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"]}))
            .collect();
        services::call_json(
            target,
            "DeleteMessageBatch",
            &json!({"QueueUrl": url, "Entries": entries}).to_string(),
        )?;
    }
    Ok(())
}

// ---- DynamoDB Streams ----

fn streams_call(arn: &Arn, op: &str, input: Value) -> Result<Value, AwsError> {
    services::call(
        &Target::at("dynamodbstreams", &arn.account, &arn.region),
        op,
        &input,
    )
}

fn shards(arn: &str) -> Result<Vec<String>, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad stream ARN"))?;
    let d = streams_call(&a, "DescribeStream", json!({"StreamArn": arn}))?;
    Ok(d["StreamDescription"]["Shards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["ShardId"].as_str().map(str::to_string))
        .collect())
}

/// The newest sequence number of each shard (where LATEST starts).
fn stream_ends(arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad stream ARN"))?;
    let mut out = BTreeMap::new();
    for shard in shards(arn)? {
        let it = streams_call(
            &a,
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        )?;
        let mut iterator = it["ShardIterator"].as_str().map(str::to_string);
        let mut last = None;
        while let Some(i) = iterator {
            let r = streams_call(&a, "GetRecords", json!({"ShardIterator": i, "Limit": 1000}))?;
            let recs = r["Records"].as_array().cloned().unwrap_or_default();
            if recs.is_empty() {
                break;
            }
            last = recs
                .last()
                .and_then(|x| x["dynamodb"]["SequenceNumber"].as_str().map(str::to_string));
            iterator = r["NextShardIterator"].as_str().map(str::to_string);
        }
        if let Some(l) = last {
            out.insert(shard, l);
        }
    }
    Ok(out)
}

fn poll_stream(ctx: &Context, uuid: &str, arn: &str) -> Result<bool, AwsError> {
    let a = Arn::parse(arn).ok_or_else(|| invalid("bad stream ARN"))?;
    let mut busy = false;
    for shard in shards(arn)? {
        let Some(m) = MAPPINGS.get(uuid)? else {
            return Ok(false);
        };
        if close_window(ctx, uuid, &m, &shard, arn)? {
            busy = true;
            continue;
        }
        let limit = if m.batch_limit > 0 {
            m.batch_limit as u64
        } else {
            m.config["BatchSize"].as_u64().unwrap_or(100)
        };
        let it_input = match m.positions.get(&shard) {
            Some(seq) => {
                json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq})
            }
            None => {
                json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
            }
        };
        let it = streams_call(&a, "GetShardIterator", it_input)?;
        let Some(iterator) = it["ShardIterator"].as_str() else {
            continue;
        };
        let r = streams_call(
            &a,
            "GetRecords",
            json!({"ShardIterator": iterator, "Limit": limit.min(1000)}),
        )?;
        let mut records: Vec<Value> = r["Records"].as_array().cloned().unwrap_or_default();
        if records.is_empty() {
            continue;
        }
        busy = true;
        let last_seq = records
            .last()
            .and_then(|x| x["dynamodb"]["SequenceNumber"].as_str())
            .unwrap_or_default()
            .to_string();
        let max_age = m.config["MaximumRecordAgeInSeconds"].as_i64().unwrap_or(-1);
        let now = time::now();
        for rec in &mut records {
            rec["eventSourceARN"] = json!(arn);
        }
        let patterns = filter::parse(&m.config["FilterCriteria"]).unwrap_or_default();
        let batch: Vec<Value> = records
            .iter()
            .filter(|r| {
                max_age < 0
                    || now
                        - r["dynamodb"]["ApproximateCreationDateTime"]
                            .as_f64()
                            .unwrap_or(now)
                        <= max_age as f64
            })
            .filter(|r| filter::passes(&patterns, r))
            .cloned()
            .collect();
        let (event, window_start) = batch_event(&m, &shard, arn, batch);
        let invoked = event["Records"].as_array().is_some_and(|r| !r.is_empty());
        let outcome = if invoked {
            invoke_batch(ctx, &m, &event)?
        } else {
            Ok(Value::Null)
        };
        let Some(mut m) = MAPPINGS.get(uuid)? else {
            return Ok(false);
        };
        match outcome {
            Ok(resp) => {
                if invoked {
                    keep_state(&mut m, &shard, window_start, &resp);
                }
                m.positions.insert(shard.clone(), last_seq);
                m.attempts = 0;
                m.batch_limit = 0;
                m.config["LastProcessingResult"] = json!("OK");
            }
            Err(_) => {
                m.attempts += 1;
                m.config["LastProcessingResult"] = json!("PROBLEM: Function call failed");
                let max_retries = m.config["MaximumRetryAttempts"].as_i64().unwrap_or(-1);
                if m.config["BisectBatchOnFunctionError"].as_bool() == Some(true)
                    && records.len() > 1
                {
                    m.batch_limit = (records.len() / 2) as u32;
                }
                if max_retries >= 0 && i64::from(m.attempts) > max_retries {
                    // Retries exhausted: the batch goes to the on-failure
                    // destination and the mapping moves past it.
                    if let Some(dest) =
                        m.config["DestinationConfig"]["OnFailure"]["Destination"].as_str()
                    {
                        let info = failure_record(&m, &shard, arn, &records);
                        send_failure(dest, &info);
                    }
                    m.positions.insert(shard.clone(), last_seq);
                    m.attempts = 0;
                    m.batch_limit = 0;
                }
            }
        }
        MAPPINGS.put(uuid, &m)?;
    }
    Ok(busy)
}

fn failure_record(m: &Mapping, shard: &str, arn: &str, records: &[Value]) -> Value {
    let seq = |r: Option<&Value>| {
        r.map(|r| r["dynamodb"]["SequenceNumber"].clone())
            .unwrap_or(Value::Null)
    };
    let at = |r: Option<&Value>| {
        r.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
            .map(time::iso8601_millis)
    };
    json!({
        "requestContext": {
            "requestId": ids::uuid(),
            "functionArn": m.config["FunctionArn"],
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": m.attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": LATEST, "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": time::iso8601_millis(time::now()),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": seq(records.first()),
            "endSequenceNumber": seq(records.last()),
            "approximateArrivalOfFirstRecord": at(records.first()),
            "approximateArrivalOfLastRecord": at(records.last()),
            "batchSize": records.len(),
            "streamArn": arn,
        },
    })
}

pub(crate) fn send_failure(dest: &str, info: &Value) {
    let Some(a) = Arn::parse(dest) else { return };
    let body = info.to_string();
    let r = match a.service.as_str() {
        "sqs" => queue_url(&a).and_then(|url| {
            services::call_json(
                &Target::at("sqs", &a.account, &a.region),
                "SendMessage",
                &json!({"QueueUrl": url, "MessageBody": body}).to_string(),
            )
            .map(|_| ())
        }),
        "sns" => services::call_json(
            &Target::at("sns", &a.account, &a.region),
            "Publish",
            &json!({"TopicArn": dest, "Message": body}).to_string(),
        )
        .map(|_| ()),
        _ => Ok(()),
    };
    if let Err(e) = r {
        ministack_sdk::warn!(
            "event source mapping on-failure destination {dest}: {} {}",
            e.code,
            e.message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windowed_events_carry_the_state() {
        let mut m = Mapping {
            config: json!({"TumblingWindowInSeconds": 30}),
            ..Default::default()
        };
        m.windows.insert(
            "s1".into(),
            Window {
                start: 60,
                state: json!({"total": 3}),
            },
        );
        let (e, start) = batch_event(&m, "s1", "arn:x", vec![json!({"a": 1})]);
        assert_eq!(start, 60);
        assert_eq!(e["state"], json!({"total": 3}));
        assert_eq!(e["window"]["end"], json!("1970-01-01T00:01:30Z"));
        assert_eq!(e["isFinalInvokeForWindow"], json!(false));
        keep_state(&mut m, "s1", 60, &json!({"state": {"total": 5}}));
        assert_eq!(m.windows["s1"].state, json!({"total": 5}));
        // A new shard opens a window at a multiple of the length.
        let (_, start) = batch_event(&m, "s2", "arn:x", vec![]);
        assert_eq!(start % 30, 0);
        m.config["TumblingWindowInSeconds"] = json!(0);
        assert_eq!(
            batch_event(&m, "s1", "arn:x", vec![]).0,
            json!({"Records": []})
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

    #[test]
    fn batch_item_failures_are_checked() {
        let ids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(batch_item_failures(&json!({}), &ids), Some(vec![]));
        assert_eq!(
            batch_item_failures(
                &json!({"batchItemFailures": [{"itemIdentifier": "b"}]}),
                &ids
            ),
            Some(vec!["b".to_string()])
        );
        assert_eq!(
            batch_item_failures(
                &json!({"batchItemFailures": [{"itemIdentifier": "zz"}]}),
                &ids
            ),
            None
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": "x"}), &ids),
            None
        );
    }

    #[test]
    fn batching_rules() {
        let mut c = json!({});
        assert!(apply_batching(&mut c, &json!({"BatchSize": 50}), Source::Sqs).is_err());
        assert!(
            apply_batching(
                &mut c,
                &json!({"BatchSize": 50, "MaximumBatchingWindowInSeconds": 1}),
                Source::Sqs
            )
            .is_ok()
        );
        let mut c = json!({});
        apply_batching(&mut c, &json!({}), Source::DynamoDb).unwrap();
        assert_eq!(c["BatchSize"], 100);
    }

    #[test]
    fn sqs_records_have_lambda_shape() {
        let msg = json!({"MessageId": "m", "ReceiptHandle": "r", "Body": "b", "MD5OfBody": "x",
            "Attributes": {"ApproximateReceiveCount": "1"},
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}});
        let r = sqs_record(&msg, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
        assert_eq!(r["messageId"], "m");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["messageAttributes"]["k"]["stringValue"], "v");
        assert_eq!(r["messageAttributes"]["k"]["dataType"], "String");
    }
}
