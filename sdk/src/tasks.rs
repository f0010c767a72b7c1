//! Work later, and waiting for events.
//!
//! A scheduled task runs the handler registered with
//! [`crate::Router::task`] in the caller's account and region (or the one
//! given to [`schedule_in`]). Schedules and cancels take effect when the
//! request's store unit commits: a request that fails schedules nothing.
//! With `PERSIST_STATE=1` a task survives a restart (even `kill -9`) and
//! runs at least once; a task that came due while the gateway was down runs
//! at start. Handlers should therefore be idempotent. See docs/tasks.md.
//!
//! After every start and reset the host runs the task [`START_TASK`] once in
//! the default account and region: register it to resume pollers, and use
//! [`contexts`] or [`list`] to find work in every account and region.
//!
//! Topics: [`notify`] wakes this plugin's waiters on a topic in the
//! caller's account and region; [`wait`] waits on one. Another plugin's
//! topics are waited on with [`topic_generation`] and [`wait_on`] once
//! plugins.toml grants it (`listens = ["sqs"]`).

use std::time::Duration;

use serde::Serialize;

use crate::AwsError;
use crate::generated::ministack::plugin::tasks as wit;

/// The boot hook's task name: register a handler for it with
/// [`crate::Router::task`] (payload `()`); it runs after every start and
/// reset of the gateway, in the default account and region.
pub const START_TASK: &str = "ministack:start";

/// Rows fetched per host call by the listing helpers.
const PAGE: u32 = 500;

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

fn encode<P: Serialize>(name: &str, payload: &P) -> Result<String, AwsError> {
    crate::json::to_string(payload)
        .map_err(|e| AwsError::internal(format!("cannot encode task {name}: {e}")))
}

/// Runs task `name` with `payload` (serialized as JSON) after `after`;
/// returns the task id (for [`cancel`]).
pub fn schedule<P: Serialize>(
    after: Duration,
    name: &str,
    payload: &P,
) -> Result<String, AwsError> {
    let payload = encode(name, payload)?;
    Ok(schedule_raw(after, name, &payload))
}

/// [`schedule`] with a payload string as is.
pub fn schedule_raw(after: Duration, name: &str, payload: &str) -> String {
    wit::schedule(millis(after), name, payload)
}

/// [`schedule`] in another account and region: the handler runs with that
/// account and region in its [`crate::Context`] (and so in its store
/// scope). For sweeps that found work there with [`contexts`] or [`list`].
/// The host refuses (traps on) an empty account or region or one holding
/// `/`.
pub fn schedule_in<P: Serialize>(
    account: &str,
    region: &str,
    after: Duration,
    name: &str,
    payload: &P,
) -> Result<String, AwsError> {
    let payload = encode(name, payload)?;
    Ok(wit::schedule_in(
        account,
        region,
        millis(after),
        name,
        &payload,
    ))
}

/// Cancels a task of this plugin (when the unit commits). A task cancelled
/// before it runs never runs; unknown ids are ignored.
pub fn cancel(task_id: &str) {
    wit::cancel(task_id)
}

/// A scheduled task of this plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledTask {
    pub id: String,
    pub name: String,
    /// As given to [`schedule`] (JSON).
    pub payload: String,
    pub account: String,
    pub region: String,
    /// When it is due, epoch milliseconds (in the past: running or about to).
    pub due_ms: u64,
}

/// This plugin's scheduled tasks, every account and region, whose name
/// begins with `name_prefix` ("" for all), in id order. Reads every page:
/// a scan of all the plugin's tasks.
pub fn list(name_prefix: &str) -> Vec<ScheduledTask> {
    let mut out: Vec<ScheduledTask> = Vec::new();
    loop {
        let after = out.last().map(|t| t.id.clone()).unwrap_or_default();
        let page = list_page(name_prefix, &after, PAGE);
        let done = page.len() < PAGE as usize;
        out.extend(page);
        if done {
            return out;
        }
    }
}

/// One page of [`list`]: ids after `start_after` ("" for the first page),
/// at most `limit`.
pub fn list_page(name_prefix: &str, start_after: &str, limit: u32) -> Vec<ScheduledTask> {
    wit::list_tasks(name_prefix, start_after, limit)
        .into_iter()
        .map(|t| ScheduledTask {
            id: t.id,
            name: t.name,
            payload: t.payload,
            account: t.account,
            region: t.region,
            due_ms: t.due_ms,
        })
        .collect()
}

/// The (account, region) pairs that have data in `table` (its
/// [`crate::store::Scope::AccountRegion`] keys), in order. One short host
/// scan per pair, however many keys each holds. Pass
/// [`crate::store::Table::name`].
pub fn contexts(table: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        let after = out.last().cloned();
        let page = wit::contexts(
            table,
            after.as_ref().map(|(a, r)| (a.as_str(), r.as_str())),
            PAGE,
        );
        let done = page.len() < PAGE as usize;
        out.extend(page);
        if done {
            return out;
        }
    }
}

/// Wakes every waiter on `topic` in the caller's account and region (e.g.
/// long polls on a queue), when the unit commits. Other plugins granted
/// `listens` on this one wake too.
pub fn notify(topic: &str) {
    wit::notify(topic)
}

/// Waits until `topic` is notified (true) or `timeout` passes (false). Ends
/// the current store unit: writes so far commit, and the next reads see
/// other requests' writes.
pub fn wait(topic: &str, timeout: Duration) -> bool {
    wit::wait(topic, millis(timeout))
}

fn refused(message: String) -> AwsError {
    AwsError::internal(message)
}

/// How many times `topic` of plugin `service` has been notified in the
/// caller's account and region since the gateway started. `service` is this
/// plugin's name or one in its plugins.toml `listens`; anything else is an
/// error saying which grant is missing.
///
/// ```ignore
/// let mut seen = tasks::topic_generation("sqs", &format!("queue:{name}"))?;
/// loop {
///     if let Some(work) = look_for_work()? { break work; }
///     seen = tasks::wait_on("sqs", &format!("queue:{name}"), seen, Duration::from_secs(20))?;
/// }
/// ```
pub fn topic_generation(service: &str, topic: &str) -> Result<u64, AwsError> {
    wit::topic_generation(service, topic).map_err(refused)
}

/// Ends the current store unit and waits until `topic` of `service` has
/// been notified past `seen` (from [`topic_generation`] or the previous
/// `wait_on`), or `timeout` passes; begins a new unit. Returns the topic's
/// generation: `seen` on a timeout, higher when woken. A notify that came
/// between reading `seen` and this call returns at once, so nothing is
/// missed.
pub fn wait_on(service: &str, topic: &str, seen: u64, timeout: Duration) -> Result<u64, AwsError> {
    wit::wait_on(service, topic, seen, millis(timeout)).map_err(refused)
}
