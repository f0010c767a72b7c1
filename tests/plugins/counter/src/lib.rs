//! `counter`: a test plugin for the host's state guarantees. Not part of the
//! default bundle.
//!
//! - `Increment` / `Get`: read-modify-write through the store (a thousand
//!   concurrent increments must give a thousand);
//! - `FailAfterWrite`: writes, then fails; the write must vanish;
//! - `PutBlob` / `GetBlob` (`PUT`/`GET /blobs/{Name}`): a streaming body kept
//!   as a blob reference and streamed back, with an optional Range;
//! - `PutScoped` / `GetScoped`: the same key in each store scope, for
//!   isolation tests across accounts and regions;
//! - `ScheduleIncrement` / `CancelTask` / `ListTasks` / `ListContexts`:
//!   durable tasks (an `increment` task adds 1 to a counter when it runs);
//!   the boot hook adds 1 to the `boots` counter of every account and region
//!   that has counters;
//! - `WaitForTopic`: waits on a topic of another plugin (granted with
//!   `listens` in tests/plugins.toml), then calls an operation to show that
//!   what woke it is visible.
//! - `Version`: which build answers (hot reload tests swap builds);
//! - `InstanceCalls`: how many calls this instance has served (instance
//!   reuse tests), panicking on request;
//! - `Settings`: the settings the host handed in (env mapping, file grants).

use ministack_sdk::blobs::{self, BlobOut, BlobRef};
use std::time::{Duration, Instant};

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::tasks;

struct Counter;

impl Service for Counter {
    const NAME: &'static str = "counter";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("Increment", increment)
            .op("Get", get)
            .op("FailAfterWrite", fail_after_write)
            .op("PutBlob", put_blob)
            .op("GetBlob", get_blob)
            .op("PutScoped", put_scoped)
            .op("GetScoped", get_scoped)
            .op("ScheduleIncrement", schedule_increment)
            .op("CancelTask", cancel_task)
            .op("ListTasks", list_tasks)
            .op("ListContexts", list_contexts)
            .op("WaitForTopic", wait_for_topic)
            .task(INCREMENT_TASK, run_increment)
            .task(BOOT_MARK_TASK, run_boot_mark)
            .task(tasks::START_TASK, on_start)
            .op("Version", version)
            .op("InstanceCalls", instance_calls)
            .op("Settings", settings)
    }
}

export_plugin!(Counter);

const COUNTERS: Table<i64> = Table::new("counters");
const BLOBS: Table<BlobRef> = Table::new("blobs");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyInput {
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ValueOutput {
    value: i64,
}

fn increment(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.update(&input.key, |v| Ok(v.unwrap_or(0) + 1))?;
    Ok(ValueOutput { value })
}

fn get(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.get(&input.key)?.unwrap_or(0);
    Ok(ValueOutput { value })
}

/// Adds 1000 and then fails: a caller must never see the 1000.
fn fail_after_write(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.update(&input.key, |v| Ok(v.unwrap_or(0) + 1000))?;
    Err(AwsError::new(
        "IntentionalFailure",
        format!("wrote {value} to {} and failed on purpose", input.key),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutBlobInput {
    name: String,
    body: BlobRef,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutBlobOutput {
    size: u64,
    #[serde(rename = "MD5")]
    md5: String,
}

/// Keeps the reference to the body the host already stored; the bytes never
/// enter the plugin. Replacing a blob releases the old one.
fn put_blob(_: &Context, input: PutBlobInput) -> Result<PutBlobOutput, AwsError> {
    if let Some(old) = BLOBS.get(&input.name)?
        && old.id != input.body.id
    {
        blobs::release(&old.id);
    }
    BLOBS.put(&input.name, &input.body)?;
    Ok(PutBlobOutput {
        size: input.body.size,
        md5: input.body.md5_hex,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetBlobInput {
    name: String,
    range: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetBlobOutput {
    body: BlobOut,
    content_length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_range: Option<String>,
}

fn get_blob(_: &Context, input: GetBlobInput) -> Result<GetBlobOutput, AwsError> {
    let blob = BLOBS.get(&input.name)?.ok_or_else(|| {
        AwsError::not_found("NoSuchBlob", format!("No blob named {}", input.name))
    })?;
    match input
        .range
        .as_deref()
        .and_then(|r| parse_range(r, blob.size))
    {
        Some((first, last)) => Ok(GetBlobOutput {
            body: BlobOut::range(&blob.id, first, last),
            content_length: last - first + 1,
            content_range: Some(format!("bytes {first}-{last}/{}", blob.size)),
        }),
        None => Ok(GetBlobOutput {
            body: blob.to_output(),
            content_length: blob.size,
            content_range: None,
        }),
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive `(first, last)` within `size`.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    if size == 0 {
        return None;
    }
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().ok()?, size - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(size - 1)),
    };
    (first <= last && first < size).then_some((first, last))
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum ScopeName {
    AccountRegion,
    Account,
    Global,
}

fn table(scope: ScopeName) -> Table<String> {
    match scope {
        ScopeName::AccountRegion => Table::new("scoped"),
        ScopeName::Account => Table::account("scoped"),
        ScopeName::Global => Table::global("scoped"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutScopedInput {
    scope: ScopeName,
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetScopedInput {
    scope: ScopeName,
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScopedOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn put_scoped(_: &Context, input: PutScopedInput) -> Result<ScopedOutput, AwsError> {
    table(input.scope).put(&input.key, &input.value)?;
    Ok(ScopedOutput {
        value: Some(input.value),
    })
}

fn get_scoped(_: &Context, input: GetScopedInput) -> Result<ScopedOutput, AwsError> {
    Ok(ScopedOutput {
        value: table(input.scope).get(&input.key)?,
    })
}

// ---- durable tasks ----

const INCREMENT_TASK: &str = "increment";
const BOOT_MARK_TASK: &str = "boot-mark";
/// The counter the boot hook adds to.
const BOOTS: &str = "boots";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IncrementPayload {
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleIncrementInput {
    key: String,
    after_ms: u64,
    #[serde(default)]
    fail: bool,
    account: Option<String>,
    region: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskIdOutput {
    task_id: String,
}

/// Schedules an `increment` of the counter; with `Fail`, fails afterwards
/// (the schedule must vanish with the request).
fn schedule_increment(
    ctx: &Context,
    input: ScheduleIncrementInput,
) -> Result<TaskIdOutput, AwsError> {
    let payload = IncrementPayload { key: input.key };
    let after = Duration::from_millis(input.after_ms);
    let task_id = match (&input.account, &input.region) {
        (None, None) => tasks::schedule(after, INCREMENT_TASK, &payload)?,
        (a, r) => tasks::schedule_in(
            a.as_deref().unwrap_or(&ctx.account),
            r.as_deref().unwrap_or(&ctx.region),
            after,
            INCREMENT_TASK,
            &payload,
        )?,
    };
    if input.fail {
        return Err(AwsError::new(
            "IntentionalFailure",
            format!("scheduled {task_id} and failed on purpose"),
        ));
    }
    Ok(TaskIdOutput { task_id })
}

fn run_increment(_: &Context, payload: IncrementPayload) -> Result<(), AwsError> {
    COUNTERS.update(&payload.key, |v| Ok(v.unwrap_or(0) + 1))?;
    Ok(())
}

/// The boot hook (default account and region): counts itself, and sends a
/// `boot-mark` to every other account and region that has counters.
fn on_start(ctx: &Context, _: ()) -> Result<(), AwsError> {
    run_boot_mark(ctx, ())?;
    for (account, region) in tasks::contexts(COUNTERS.name()) {
        if (account.as_str(), region.as_str()) != (ctx.account.as_str(), ctx.region.as_str()) {
            tasks::schedule_in(&account, &region, Duration::ZERO, BOOT_MARK_TASK, &())?;
        }
    }
    Ok(())
}

fn run_boot_mark(_: &Context, _: ()) -> Result<(), AwsError> {
    COUNTERS.update(BOOTS, |v| Ok(v.unwrap_or(0) + 1))?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CancelTaskInput {
    task_id: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Empty {}

fn cancel_task(_: &Context, input: CancelTaskInput) -> Result<Empty, AwsError> {
    tasks::cancel(&input.task_id);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTasksInput {
    #[serde(default)]
    name_prefix: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskEntry {
    task_id: String,
    name: String,
    payload: String,
    account: String,
    region: String,
    due_ms: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTasksOutput {
    tasks: Vec<TaskEntry>,
}

fn list_tasks(_: &Context, input: ListTasksInput) -> Result<ListTasksOutput, AwsError> {
    let tasks = tasks::list(&input.name_prefix)
        .into_iter()
        .map(|t| TaskEntry {
            task_id: t.id,
            name: t.name,
            payload: t.payload,
            account: t.account,
            region: t.region,
            due_ms: t.due_ms,
        })
        .collect();
    Ok(ListTasksOutput { tasks })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContextEntry {
    account: String,
    region: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListContextsOutput {
    contexts: Vec<ContextEntry>,
}

fn list_contexts(_: &Context, _: Empty) -> Result<ListContextsOutput, AwsError> {
    let contexts = tasks::contexts(COUNTERS.name())
        .into_iter()
        .map(|(account, region)| ContextEntry { account, region })
        .collect();
    Ok(ListContextsOutput { contexts })
}

// ---- topics of other plugins ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WaitForTopicInput {
    service: String,
    topic: String,
    timeout_ms: u64,
    then_service: Option<String>,
    then_operation: Option<String>,
    then_input: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WaitForTopicOutput {
    woken: bool,
    generation: u64,
    waited_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    then_output: Option<String>,
}

/// Waits on `Topic` of plugin `Service`; once woken, calls `ThenOperation`
/// of `ThenService` (what it reads must include what woke us).
fn wait_for_topic(ctx: &Context, input: WaitForTopicInput) -> Result<WaitForTopicOutput, AwsError> {
    let refused = |e: AwsError| AwsError::new("TopicRefused", e.message);
    let seen = tasks::topic_generation(&input.service, &input.topic).map_err(refused)?;
    let began = Instant::now();
    let generation = tasks::wait_on(
        &input.service,
        &input.topic,
        seen,
        Duration::from_millis(input.timeout_ms),
    )
    .map_err(refused)?;
    let waited_ms = began.elapsed().as_millis() as u64;
    let woken = generation > seen;
    let then_output = match (woken, &input.then_service, &input.then_operation) {
        (true, Some(service), Some(operation)) => Some(services::call_json(
            &Target::new(service, ctx),
            operation,
            input.then_input.as_deref().unwrap_or("{}"),
        )?),
        _ => None,
    };
    Ok(WaitForTopicOutput {
        woken,
        generation,
        waited_ms,
        then_output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn scope_names_parse() {
        let i: GetScopedInput =
            serde_json::from_str(r#"{"Scope":"account-region","Key":"k"}"#).unwrap();
        assert!(matches!(i.scope, ScopeName::AccountRegion));
        assert!(serde_json::from_str::<GetScopedInput>(r#"{"Scope":"galaxy","Key":"k"}"#).is_err());
    }

    #[test]
    fn describes_all_operations() {
        let router = Counter::router();
        assert_eq!(router.operations().len(), 15);
    }
}

/// The build's variant: `COUNTER_VARIANT` at build time. The hot-reload
/// test makes a second build by rewriting these bytes in the wasm (same
/// length), so keep the default a unique, fixed-length marker.
const VARIANT: &str = match option_env!("COUNTER_VARIANT") {
    Some(v) => v,
    None => "counter-build-A",
};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionOutput {
    version: &'static str,
}

/// Lives in the instance's memory: counts the calls one instance served.
static INSTANCE_CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceCallsInput {
    #[serde(default)]
    panic: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceCallsOutput {
    calls: i64,
}

fn instance_calls(_: &Context, input: InstanceCallsInput) -> Result<InstanceCallsOutput, AwsError> {
    let calls = INSTANCE_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    assert!(!input.panic, "asked to panic after {calls} calls");
    Ok(InstanceCallsOutput { calls })
}

fn version(_: &Context, _: Empty) -> Result<VersionOutput, AwsError> {
    Ok(VersionOutput { version: VARIANT })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SettingsOutput {
    settings: std::collections::BTreeMap<String, String>,
}

fn settings(ctx: &Context, _: Empty) -> Result<SettingsOutput, AwsError> {
    Ok(SettingsOutput {
        settings: ctx.settings.iter().cloned().collect(),
    })
}
