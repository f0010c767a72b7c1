//! `tasks`: work later (`schedule` → the plugin's `on-task`) and waiting for
//! events (`wait` / `notify`, e.g. SQS long polling; `wait-on` for topics of
//! other plugins).
//!
//! Schedules, cancels and notifications take effect when the unit that made
//! them commits, so a waiter woken by `notify` always sees the writes that
//! preceded it.
//!
//! # Durable tasks
//!
//! A scheduled task is a record in the plugin's own database (host table
//! [`TASKS_TABLE`]), put in the scheduling request's unit: it lands with the
//! request's writes or not at all, and with PERSIST_STATE=1 it is on disk
//! before the request is answered. A host database could not commit in the
//! same unit (one redb file per database), hence the plugin's own. The
//! in-memory timer is only the alarm clock: when it rings, the task's unit
//! [`claim`]s the record (reads and deletes it) and runs `on-task`; no record
//! (cancelled, reset, already run) means nothing runs. The record goes with
//! the task's unit, so a crash before that commit runs it again at the next
//! start (at least once); at start every record is armed again, late ones
//! at once ([`boot`]). A task whose `on-task` fails or traps is dropped
//! (logged), so a poisonous task does not come back on every start.
//!
//! # Topics
//!
//! Topics are per plugin, account and region. A plugin may wait on another
//! plugin's topics (`topic-generation` / `wait-on`) when plugins.toml lists
//! that plugin in its `listens`. Each topic counts its notifications (its
//! generation): read the count, look for work, wait for a count above it —
//! a notify between the look and the wait is not lost.

use ministack_protocol::FastMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ministack_protocol::AwsError;
use ministack_state::{Database, KeyRange, StateError, Unit};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use wasmtime::component::{HasData, Linker};

use super::{CallContext, HostState, HostTrap, RequestState, Shared};
use crate::bindings::ministack::plugin::tasks as wit;

/// The host table (in each plugin's database) holding its scheduled tasks,
/// task id → [`TaskRecord`] JSON.
pub const TASKS_TABLE: &str = "__tasks";
/// The boot hook: `on-task(START_TASK, "")` once the plugin is loaded
/// after a start, and again after a reset.
pub const START_TASK: &str = "ministack:start";
/// Rows read per scan when the host walks a table.
const PAGE: u32 = 512;

/// A scheduled task as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub name: String,
    pub payload: String,
    pub account: String,
    pub region: String,
    /// Epoch milliseconds.
    pub due_ms: u64,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub caller_arn: String,
}

/// The first byte of a record in postcard (a JSON record, as builds before
/// it wrote, starts with `{`).
const POSTCARD_RECORD: u8 = 1;

impl TaskRecord {
    /// postcard after a format byte: the payload (an events batch is a few
    /// KiB of JSON) is copied, where JSON escaped every quote in it and
    /// cost EventBridge's PutEvents ~2 % of its CPU.
    pub fn encode(&self) -> Vec<u8> {
        // Room for every string and its length up front: growing the vector
        // as a large payload goes in costed a copy per doubling.
        let strings = [
            &self.name,
            &self.payload,
            &self.account,
            &self.region,
            &self.request_id,
            &self.access_key_id,
            &self.caller_arn,
        ];
        let mut out =
            Vec::with_capacity(1 + 10 + strings.iter().map(|s| s.len() + 5).sum::<usize>());
        out.push(POSTCARD_RECORD);
        postcard::to_extend(self, out).expect("a task record serializes")
    }

    /// Reads both formats: records written by older builds are JSON.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes.split_first() {
            Some((&POSTCARD_RECORD, rest)) => match postcard::take_from_bytes(rest) {
                Ok((record, [])) => Some(record),
                _ => None,
            },
            _ => serde_json::from_slice(bytes).ok(),
        }
    }

    /// The context `on-task` runs in.
    pub fn context(&self) -> CallContext {
        CallContext {
            account: self.account.clone(),
            region: self.region.clone(),
            request_id: self.request_id.clone(),
            access_key_id: self.access_key_id.clone(),
            caller_arn: self.caller_arn.clone(),
            depth: 0,
            endpoint: None,
        }
    }

    /// How long until it is due (zero when late).
    pub fn delay(&self, now_ms: u64) -> Duration {
        Duration::from_millis(self.due_ms.saturating_sub(now_ms))
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A schedule made by a unit that has not committed yet.
pub struct PendingTask {
    pub id: String,
    pub record: TaskRecord,
}

// ---- the persistence layer: plain functions over a unit ----

/// Writes the record of a new task in `unit`.
pub fn put_task(unit: &mut Unit, id: &str, record: &TaskRecord) -> Result<(), StateError> {
    unit.put(TASKS_TABLE, id.as_bytes(), &record.encode())
}

/// Deletes a task's record; true when there was one.
pub fn delete_task(unit: &mut Unit, id: &str) -> Result<bool, StateError> {
    unit.delete(TASKS_TABLE, id.as_bytes())
}

/// The unit that runs a due task takes its record: true when the task is
/// still scheduled (and is now gone once the unit commits); false when it
/// was cancelled, reset or already run. Reading the record makes a
/// concurrent cancel and the run conflict, so exactly one of them wins.
pub fn claim(unit: &mut Unit, id: &str) -> Result<bool, StateError> {
    if unit.get(TASKS_TABLE, id.as_bytes())?.is_none() {
        return Ok(false);
    }
    delete_task(unit, id)
}

/// Every stored task of a database, in id order (unreadable records are
/// skipped with a warning).
pub fn stored_tasks(db: &Arc<Database>) -> Result<Vec<(String, TaskRecord)>, StateError> {
    let mut unit = db.begin();
    let mut out = Vec::new();
    let mut start: Option<Vec<u8>> = None;
    loop {
        let range = KeyRange {
            start: start.clone(),
            ..KeyRange::default()
        };
        let rows = unit.scan(TASKS_TABLE, &range, PAGE)?;
        let done = rows.len() < PAGE as usize;
        for (k, v) in rows {
            let id = String::from_utf8_lossy(&k).into_owned();
            match TaskRecord::decode(&v) {
                Some(r) => out.push((id, r)),
                None => tracing::warn!(task = id, "unreadable task record skipped"),
            }
            start = Some(after(&k));
        }
        if done {
            break;
        }
    }
    unit.rollback();
    Ok(out)
}

/// The first key after `key` (for an exclusive lower bound).
fn after(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

/// Tasks whose name begins with `name_prefix`, ids after `start_after`, at
/// most `limit` (the unit sees its own schedules).
pub fn list_tasks(
    unit: &mut Unit,
    name_prefix: &str,
    start_after: &str,
    limit: u32,
) -> Result<Vec<(String, TaskRecord)>, StateError> {
    let mut out = Vec::new();
    let mut start = (!start_after.is_empty()).then(|| after(start_after.as_bytes()));
    while out.len() < limit as usize {
        let range = KeyRange {
            start: start.clone(),
            ..KeyRange::default()
        };
        let rows = unit.scan(TASKS_TABLE, &range, PAGE)?;
        let done = rows.len() < PAGE as usize;
        for (k, v) in rows {
            start = Some(after(&k));
            if let Some(r) = TaskRecord::decode(&v)
                && r.name.starts_with(name_prefix)
            {
                out.push((String::from_utf8_lossy(&k).into_owned(), r));
                if out.len() == limit as usize {
                    break;
                }
            }
        }
        if done {
            break;
        }
    }
    Ok(out)
}

/// The (account, region) pairs with account-region keys in `table` (see
/// `store::scope_prefix`: `R<account>/<region>\0<key>`), skipping from one
/// pair to the next so the cost is one short scan per pair, not per key.
pub fn contexts(
    unit: &mut Unit,
    table: &str,
    start_after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<(String, String)>, StateError> {
    let mut out = Vec::new();
    // Every key of the pair (a, r) begins with `Ra/r\0`; `Ra/r\x01` is past them.
    let mut start = match start_after {
        Some((a, r)) => format!("R{a}/{r}\x01").into_bytes(),
        None => b"R".to_vec(),
    };
    while out.len() < limit as usize {
        let range = KeyRange {
            prefix: b"R".to_vec(),
            start: Some(start.clone()),
            end: None,
            reverse: false,
        };
        let Some((key, _)) = unit.scan(table, &range, 1)?.into_iter().next() else {
            break;
        };
        let Some(nul) = key.iter().position(|b| *b == 0) else {
            // Not a scoped key (none should exist): step over it.
            start = after(&key);
            continue;
        };
        let scope = String::from_utf8_lossy(&key[1..nul]).into_owned();
        if let Some((account, region)) = scope.split_once('/') {
            out.push((account.to_string(), region.to_string()));
        }
        let mut next = key[..nul].to_vec();
        next.push(1);
        start = next;
    }
    Ok(out)
}

// ---- the registry: timers and topics ----

/// A topic's waiters and how many notifications it has had.
#[derive(Default)]
struct Topic {
    notify: Notify,
    generation: AtomicU64,
}

/// Waiters and scheduled tasks of every plugin.
#[derive(Default)]
pub struct TaskRegistry {
    topics: Mutex<FastMap<String, Arc<Topic>>>,
    /// Armed timers by task id.
    scheduled: Mutex<FastMap<String, tokio::task::AbortHandle>>,
    next_id: AtomicU64,
    /// Set by [`boot`]: timers and hooks started from `&self`.
    shared: OnceLock<Weak<Shared>>,
    /// The enabled plugins (`wait-on` targets).
    plugins: RwLock<Vec<String>>,
}

fn topic_key(plugin: &str, account: &str, region: &str, topic: &str) -> String {
    format!("{plugin}\0{account}\0{region}\0{topic}")
}

impl TaskRegistry {
    fn topic(&self, key: String) -> Arc<Topic> {
        self.topics.lock().unwrap().entry(key).or_default().clone()
    }

    pub fn notify(&self, plugin: &str, account: &str, region: &str, topic: &str) {
        let key = topic_key(plugin, account, region, topic);
        // No entry: nobody waits or has read its generation.
        if let Some(t) = self.topics.lock().unwrap().get(&key) {
            // Count first: a waiter that read the old count and then
            // registered is either woken or sees the new count.
            t.generation.fetch_add(1, Ordering::AcqRel);
            t.notify.notify_waiters();
        }
    }

    fn new_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("task-{n}-{}", uuid::Uuid::new_v4().simple())
    }

    /// Lands a committed unit's schedules and cancels.
    pub fn land(&self, plugin: &str, schedules: Vec<PendingTask>, cancels: Vec<String>) {
        for id in cancels {
            self.cancel(&id);
        }
        for task in schedules {
            self.arm(plugin.to_string(), task.id, task.record);
        }
    }

    /// Starts the timer of a stored task.
    fn arm(&self, plugin: String, id: String, record: TaskRecord) {
        let Some(shared) = self.shared.get().and_then(Weak::upgrade) else {
            return;
        };
        let delay = record.delay(now_ms());
        let task_id = id.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            shared.tasks.scheduled.lock().unwrap().remove(&task_id);
            fire(shared, &plugin, &task_id, record).await;
        });
        self.scheduled
            .lock()
            .unwrap()
            .insert(id, handle.abort_handle());
    }

    /// Stops a timer (the record is the caller's business).
    pub fn cancel(&self, id: &str) {
        if let Some(h) = self.scheduled.lock().unwrap().remove(id) {
            h.abort();
        }
    }

    /// Stops every timer (reset, shutdown); stored records stay and are
    /// armed again at the next start.
    pub fn cancel_all(&self) {
        for (_, h) in self.scheduled.lock().unwrap().drain() {
            h.abort();
        }
    }

    fn is_loaded(&self, plugin: &str) -> bool {
        self.plugins.read().unwrap().iter().any(|p| p == plugin)
    }
}

/// Runs a due task; drops its record when `on-task` fails (see the module doc).
async fn fire(shared: Arc<Shared>, plugin: &str, id: &str, record: TaskRecord) {
    let mut backoff = Duration::from_millis(50);
    for attempt in 1.. {
        let result = shared
            .run_task(
                plugin,
                record.context(),
                &record.name,
                &record.payload,
                Some(id),
            )
            .await;
        let Err(e) = result else { return };
        // Every instance busy (e.g. many late tasks at start): the task did
        // not run, so run it a little later rather than drop it.
        if is_pool_exhausted(&e) && attempt < BUSY_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            continue;
        }
        tracing::warn!(
            plugin,
            task = record.name,
            "scheduled task failed: {} {}",
            e.code,
            e.message
        );
        // Streams the failed task was feeding end with its error.
        crate::streams::registry().fail_request(plugin, &record.request_id, &e.code, &e.message);
        if let Ok(db) = shared.stores.database(plugin) {
            forget(&db, id).await;
        }
        return;
    }
}

/// Runs of a task refused for want of an instance before it is dropped.
const BUSY_ATTEMPTS: u32 = 30;

/// The host's answer when no instance is free (a plugin answering the
/// same is retried too: it said "later").
fn is_pool_exhausted(e: &AwsError) -> bool {
    e.code == "ServiceUnavailable" && e.status == Some(503)
}

/// Deletes a task's record in a unit of its own.
async fn forget(db: &Arc<Database>, id: &str) {
    for _ in 0..16 {
        let mut unit = db.begin();
        match delete_task(&mut unit, id) {
            Ok(true) => {}
            _ => return,
        }
        match unit.commit().await {
            Err(StateError::Conflict) => continue,
            Err(e) => {
                tracing::warn!(task = id, "dropping a failed task's record: {e}");
                return;
            }
            Ok(()) => return,
        }
    }
}

/// After the plugins are opened: arms every stored task (late ones run at
/// once; a plugin not loaded yet loads when its first one fires). The boot
/// hooks are the dispatcher's: each runs once its plugin is loaded.
pub fn boot(shared: &Arc<Shared>, plugins: Vec<String>) {
    let _ = shared.tasks.shared.set(Arc::downgrade(shared));
    for name in &plugins {
        resume(shared, name);
    }
    *shared.tasks.plugins.write().unwrap() = plugins;
}

/// A plugin added after the start (hot reload of a new file): the same as
/// [`boot`] for it. A reloaded plugin keeps its armed timers.
pub fn plugin_added(shared: &Arc<Shared>, name: &str) {
    if shared.tasks.is_loaded(name) {
        return;
    }
    resume(shared, name);
    shared.tasks.plugins.write().unwrap().push(name.to_string());
}

/// Arms a plugin's stored tasks.
fn resume(shared: &Arc<Shared>, name: &str) {
    match shared
        .stores
        .database(name)
        .and_then(|db| stored_tasks(&db))
    {
        Ok(stored) => {
            if !stored.is_empty() {
                tracing::info!(plugin = name, tasks = stored.len(), "tasks resumed");
            }
            for (id, record) in stored {
                shared.tasks.arm(name.to_string(), id, record);
            }
        }
        Err(e) => tracing::error!(plugin = name, "reading scheduled tasks: {e}"),
    }
}

/// The context of a boot hook: the default account and region.
pub fn start_context(shared: &Shared) -> CallContext {
    CallContext {
        account: shared.config.default_account.clone(),
        region: shared.config.default_region.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        access_key_id: String::new(),
        caller_arn: String::new(),
        depth: 0,
        endpoint: None,
    }
}

/// `on-task("ministack:start", "")` of a plugin, in the default account and
/// region, in the background.
pub fn start_hook(shared: &Arc<Shared>, plugin: &str) {
    let (shared, plugin) = (shared.clone(), plugin.to_string());
    tokio::spawn(async move {
        let ctx = start_context(&shared);
        if let Err(e) = shared.run_task(&plugin, ctx, START_TASK, "", None).await {
            tracing::warn!(plugin, "boot hook failed: {} {}", e.code, e.message);
        }
    });
}

// ---- the WIT interface ----

pub struct TasksView<'a>(pub &'a mut RequestState);

struct TasksCap;
impl HasData for TasksCap {
    type Data<'a> = TasksView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> TasksView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, TasksCap>(linker, get)
}

fn trap(e: impl Into<HostTrap>) -> wasmtime::Error {
    wasmtime::Error::new(e.into())
}

/// Account and region as they appear in store keys: no separators.
fn check_scope(account: &str, region: &str) -> wasmtime::Result<()> {
    let plain =
        |s: &str| !s.is_empty() && s.len() <= 64 && !s.contains(['/', '\0']) && s.trim() == s;
    if plain(account) && plain(region) {
        Ok(())
    } else {
        Err(wasmtime::Error::msg(format!(
            "invalid account {account:?} or region {region:?}"
        )))
    }
}

impl TasksView<'_> {
    fn schedule_in(
        &mut self,
        account: String,
        region: String,
        after_ms: u64,
        name: String,
        payload: String,
    ) -> wasmtime::Result<String> {
        let req = &mut *self.0;
        let id = req.shared.tasks.new_id();
        let record = TaskRecord {
            name,
            payload,
            account,
            region,
            due_ms: now_ms().saturating_add(after_ms),
            request_id: req.ctx.request_id.clone(),
            access_key_id: req.ctx.access_key_id.clone(),
            caller_arn: req.ctx.caller_arn.clone(),
        };
        put_task(req.unit(), &id, &record).map_err(trap)?;
        req.pending.schedules.push(PendingTask {
            id: id.clone(),
            record,
        });
        Ok(id)
    }

    /// The key of `topic` of plugin `service`, if this plugin may listen to it.
    fn listen_key(&self, service: &str, topic: &str) -> Result<String, String> {
        let req = &*self.0;
        let me = &req.plugin.name;
        if service != me && !req.plugin.entry.listens.iter().any(|s| s == service) {
            return Err(format!(
                "plugin {me} may not listen to topics of {service}: \
                 grant it in plugins.toml ([plugins.{me}] listens = [\"{service}\"])"
            ));
        }
        if !req.shared.tasks.is_loaded(service) {
            return Err(format!("service {service} is not enabled in this gateway"));
        }
        Ok(topic_key(service, &req.ctx.account, &req.ctx.region, topic))
    }

    /// Ends the unit, waits on `notified` (already enabled), begins a new
    /// unit when woken so the reads see what woke us.
    async fn wait_then_resume(
        &mut self,
        woke_already: impl FnOnce(&RequestState) -> bool,
        notified: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
        timeout_ms: u64,
    ) -> wasmtime::Result<bool> {
        let req = &mut *self.0;
        let began = Instant::now();
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        let woke = woke_already(req)
            || tokio::time::timeout(Duration::from_millis(timeout_ms), notified)
                .await
                .is_ok();
        if woke {
            req.unit_began_at_seq = req.plugin.commit_seq();
            req.unit = Some(req.plugin.db.begin());
        }
        req.waited += began.elapsed();
        Ok(woke)
    }
}

impl wit::Host for TasksView<'_> {
    async fn schedule(
        &mut self,
        after_ms: u64,
        name: String,
        payload: String,
    ) -> wasmtime::Result<String> {
        let (account, region) = (self.0.ctx.account.clone(), self.0.ctx.region.clone());
        self.schedule_in(account, region, after_ms, name, payload)
    }

    async fn cancel(&mut self, task_id: String) -> wasmtime::Result<()> {
        let req = &mut *self.0;
        req.pending.schedules.retain(|t| t.id != task_id);
        // Only this plugin's own tasks have a record in its database.
        if delete_task(req.unit(), &task_id).map_err(trap)? {
            req.pending.task_cancels.push(task_id);
        }
        Ok(())
    }

    async fn notify(&mut self, topic: String) -> wasmtime::Result<()> {
        self.0.pending.notifications.push(topic);
        Ok(())
    }

    async fn wait(&mut self, topic: String, timeout_ms: u64) -> wasmtime::Result<bool> {
        let req = &*self.0;
        let key = topic_key(&req.plugin.name, &req.ctx.account, &req.ctx.region, &topic);
        let topic = req.shared.tasks.topic(key);
        let notified = topic.notify.notified();
        tokio::pin!(notified);
        // Registered before committing: a notify after this point is seen.
        notified.as_mut().enable();
        let before = req.unit_began_at_seq;
        let own = !req.unit.as_ref().is_none_or(|u| u.is_read_only()) as u64;
        // Another request committed since this unit began: its notify may
        // have come before we registered, so look again rather than sleep.
        let raced = move |req: &RequestState| req.unit_began_at_seq > before + own;
        self.wait_then_resume(raced, notified, timeout_ms).await
    }

    async fn schedule_in(
        &mut self,
        account: String,
        region: String,
        after_ms: u64,
        name: String,
        payload: String,
    ) -> wasmtime::Result<String> {
        check_scope(&account, &region)?;
        TasksView::schedule_in(self, account, region, after_ms, name, payload)
    }

    async fn list_tasks(
        &mut self,
        name_prefix: String,
        start_after: String,
        limit: u32,
    ) -> wasmtime::Result<Vec<wit::ScheduledTask>> {
        let rows = list_tasks(self.0.unit(), &name_prefix, &start_after, limit).map_err(trap)?;
        Ok(rows
            .into_iter()
            .map(|(id, r)| wit::ScheduledTask {
                id,
                name: r.name,
                payload: r.payload,
                account: r.account,
                region: r.region,
                due_ms: r.due_ms,
            })
            .collect())
    }

    async fn contexts(
        &mut self,
        table: String,
        start_after: Option<(String, String)>,
        limit: u32,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        super::store::check_table(&table)?;
        let after = start_after.as_ref().map(|(a, r)| (a.as_str(), r.as_str()));
        contexts(self.0.unit(), &table, after, limit).map_err(trap)
    }

    async fn topic_generation(
        &mut self,
        service: String,
        topic: String,
    ) -> wasmtime::Result<Result<u64, String>> {
        Ok(self.listen_key(&service, &topic).map(|key| {
            self.0
                .shared
                .tasks
                .topic(key)
                .generation
                .load(Ordering::Acquire)
        }))
    }

    async fn wait_on(
        &mut self,
        service: String,
        topic: String,
        seen: u64,
        timeout_ms: u64,
    ) -> wasmtime::Result<Result<u64, String>> {
        let key = match self.listen_key(&service, &topic) {
            Ok(key) => key,
            Err(e) => return Ok(Err(e)),
        };
        let topic = self.0.shared.tasks.topic(key);
        let notified = topic.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let counted = topic.clone();
        let newer = move |_: &RequestState| counted.generation.load(Ordering::Acquire) > seen;
        self.wait_then_resume(newer, notified, timeout_ms).await?;
        Ok(Ok(topic.generation.load(Ordering::Acquire)))
    }
}

#[cfg(test)]
mod tests {
    use ministack_state::{StateConfig, Stores};

    use super::*;

    fn record(name: &str, account: &str, due_ms: u64) -> TaskRecord {
        TaskRecord {
            name: name.into(),
            payload: "{\"k\":1}".into(),
            account: account.into(),
            region: "us-east-1".into(),
            due_ms,
            request_id: "r".into(),
            access_key_id: String::new(),
            caller_arn: String::new(),
        }
    }

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ministack-tasks-{tag}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn records_round_trip_and_old_ones_read() {
        let r = record("retry", "111111111111", 42);
        assert_eq!(TaskRecord::decode(&r.encode()), Some(r.clone()));
        assert_eq!(r.encode()[0], POSTCARD_RECORD);
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(
            TaskRecord::decode(&json),
            Some(r.clone()),
            "as older builds wrote it"
        );
        let mut long = r.encode();
        long.push(0);
        assert_eq!(TaskRecord::decode(&long), None, "trailing bytes");
        assert_eq!(TaskRecord::decode(&r.encode()[..8]), None, "cut short");
        let minimal = br#"{"name":"n","payload":"","account":"a","region":"r","due_ms":5}"#;
        let m = TaskRecord::decode(minimal).unwrap();
        assert_eq!((m.due_ms, m.caller_arn.as_str()), (5, ""));
        assert_eq!(TaskRecord::decode(b"not json"), None);
        assert_eq!(r.delay(40), Duration::from_millis(2));
        assert_eq!(r.delay(100), Duration::ZERO, "late tasks are due at once");
        assert_eq!(r.context().account, "111111111111");
    }

    #[tokio::test]
    async fn a_rolled_back_unit_schedules_nothing() {
        let stores = Stores::open(StateConfig::in_memory()).unwrap();
        let db = stores.database("p").unwrap();
        let mut unit = db.begin();
        put_task(&mut unit, "t1", &record("x", "a", 1)).unwrap();
        unit.rollback();
        assert!(stored_tasks(&db).unwrap().is_empty());

        let mut unit = db.begin();
        put_task(&mut unit, "t2", &record("x", "a", 1)).unwrap();
        unit.commit().await.unwrap();
        let stored = stored_tasks(&db).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].0, "t2");
    }

    #[tokio::test]
    async fn tasks_survive_reopening_and_cancel_too() {
        let dir = temp_dir("reopen");
        {
            let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
            let db = stores.database("p").unwrap();
            let mut unit = db.begin();
            put_task(&mut unit, "keep", &record("a", "1", 10)).unwrap();
            put_task(&mut unit, "drop", &record("b", "1", 20)).unwrap();
            unit.commit().await.unwrap();
            let mut unit = db.begin();
            assert!(delete_task(&mut unit, "drop").unwrap());
            unit.commit().await.unwrap();
        }
        let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
        let db = stores.database("p").unwrap();
        let stored = stored_tasks(&db).unwrap();
        assert_eq!(stored, vec![("keep".to_string(), record("a", "1", 10))]);
        drop(db);
        drop(stores);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn claim_runs_a_task_once_and_loses_to_a_cancel() {
        let stores = Stores::open(StateConfig::in_memory()).unwrap();
        let db = stores.database("p").unwrap();
        let mut unit = db.begin();
        put_task(&mut unit, "t", &record("x", "a", 1)).unwrap();
        unit.commit().await.unwrap();

        // The run claims; a cancel commits first: the run conflicts, and its
        // re-run finds nothing to run.
        let mut run = db.begin();
        assert!(claim(&mut run, "t").unwrap());
        let mut cancel = db.begin();
        assert!(delete_task(&mut cancel, "t").unwrap());
        cancel.commit().await.unwrap();
        assert!(matches!(run.commit().await, Err(StateError::Conflict)));
        let mut rerun = db.begin();
        assert!(!claim(&mut rerun, "t").unwrap());

        // A claim that commits leaves nothing behind; a second claim is false.
        let mut unit = db.begin();
        put_task(&mut unit, "u", &record("x", "a", 1)).unwrap();
        unit.commit().await.unwrap();
        let mut run = db.begin();
        assert!(claim(&mut run, "u").unwrap());
        run.commit().await.unwrap();
        assert!(!claim(&mut db.begin(), "u").unwrap());
        assert!(stored_tasks(&db).unwrap().is_empty());
    }

    #[tokio::test]
    async fn list_filters_by_name_and_pages() {
        let stores = Stores::open(StateConfig::in_memory()).unwrap();
        let db = stores.database("p").unwrap();
        let mut unit = db.begin();
        for i in 0..5 {
            put_task(&mut unit, &format!("t{i}"), &record("retry", "a", i)).unwrap();
        }
        put_task(&mut unit, "t9", &record("other", "b", 9)).unwrap();
        // The unit sees its own schedules before committing.
        let all = list_tasks(&mut unit, "", "", 100).unwrap();
        assert_eq!(all.len(), 6);
        unit.commit().await.unwrap();
        let mut unit = db.begin();
        let first = list_tasks(&mut unit, "re", "", 2).unwrap();
        let ids: Vec<&str> = first.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["t0", "t1"]);
        let rest = list_tasks(&mut unit, "re", "t1", 100).unwrap();
        let ids: Vec<&str> = rest.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["t2", "t3", "t4"]);
        let other = list_tasks(&mut unit, "other", "", 100).unwrap();
        assert_eq!(other[0].1.account, "b");
    }

    #[tokio::test]
    async fn contexts_skip_from_pair_to_pair() {
        let stores = Stores::open(StateConfig::in_memory()).unwrap();
        let db = stores.database("p").unwrap();
        let mut unit = db.begin();
        let scoped = |a: &str, r: &str, k: &str| format!("R{a}/{r}\0{k}").into_bytes();
        for k in 0..50 {
            let key = scoped("111111111111", "us-east-1", &format!("k{k}"));
            unit.put("things", &key, b"v").unwrap();
        }
        unit.put("things", &scoped("111111111111", "eu-west-1", "x"), b"v")
            .unwrap();
        unit.put("things", &scoped("222222222222", "us-east-1", "y"), b"v")
            .unwrap();
        // Other scopes and tables do not count.
        unit.put("things", b"A333333333333\0z", b"v").unwrap();
        unit.put("things", b"G\0z", b"v").unwrap();
        unit.put("others", &scoped("444444444444", "us-east-1", "y"), b"v")
            .unwrap();
        unit.commit().await.unwrap();

        let mut unit = db.begin();
        let pairs = contexts(&mut unit, "things", None, 100).unwrap();
        let want = [
            ("111111111111", "eu-west-1"),
            ("111111111111", "us-east-1"),
            ("222222222222", "us-east-1"),
        ];
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, r)| (a.as_str(), r.as_str()))
            .collect();
        assert_eq!(got, want);
        let page = contexts(&mut unit, "things", Some(want[0]), 1).unwrap();
        assert_eq!(page, vec![("111111111111".into(), "us-east-1".into())]);
        assert!(contexts(&mut unit, "empty", None, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn generations_count_notifications_once_someone_listens() {
        let registry = TaskRegistry::default();
        registry.notify("sqs", "a", "r", "queue:q");
        let key = topic_key("sqs", "a", "r", "queue:q");
        let topic = registry.topic(key.clone());
        assert_eq!(topic.generation.load(Ordering::Acquire), 0);
        let notified = topic.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        registry.notify("sqs", "a", "r", "queue:q");
        registry.notify("sqs", "b", "r", "queue:q");
        assert_eq!(topic.generation.load(Ordering::Acquire), 1);
        tokio::time::timeout(Duration::from_millis(100), notified)
            .await
            .expect("the waiter is woken");
    }
}
