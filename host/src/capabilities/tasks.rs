//! `tasks`: work later (`schedule` → the plugin's `on-task`) and waiting for
//! events (`wait` / `notify`, e.g. SQS long polling).
//!
//! Schedules and notifications take effect when the unit that made them
//! commits, so a waiter woken by `notify` always sees the writes that
//! preceded it. Scheduled tasks live in memory: they do not survive a
//! restart (documented in docs/plugins.md).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use wasmtime::component::{HasData, Linker};

use super::{CallContext, HostState, RequestState, Shared};
use crate::bindings::ministack::plugin::tasks as wit;

/// A schedule made by a unit that has not committed yet.
pub struct PendingTask {
    pub id: String,
    pub after: Duration,
    pub name: String,
    pub payload: String,
}

/// Waiters and scheduled tasks of every plugin.
#[derive(Default)]
pub struct TaskRegistry {
    topics: Mutex<HashMap<String, Arc<Notify>>>,
    scheduled: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    next_id: AtomicU64,
}

fn topic_key(plugin: &str, account: &str, region: &str, topic: &str) -> String {
    format!("{plugin}\0{account}\0{region}\0{topic}")
}

impl TaskRegistry {
    fn topic(&self, key: String) -> Arc<Notify> {
        self.topics.lock().unwrap().entry(key).or_default().clone()
    }

    pub fn notify(&self, plugin: &str, account: &str, region: &str, topic: &str) {
        let key = topic_key(plugin, account, region, topic);
        if let Some(n) = self.topics.lock().unwrap().get(&key) {
            n.notify_waiters();
        }
    }

    pub fn start(&self, shared: Arc<Shared>, plugin: String, ctx: &CallContext, task: PendingTask) {
        let ctx = ctx.clone();
        let id = task.id.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(task.after).await;
            shared.tasks.scheduled.lock().unwrap().remove(&task.id);
            if let Err(e) = shared
                .run_task(&plugin, ctx, &task.name, &task.payload)
                .await
            {
                tracing::warn!(
                    plugin,
                    task = task.name,
                    "scheduled task failed: {} {}",
                    e.code,
                    e.message
                );
            }
        });
        self.scheduled
            .lock()
            .unwrap()
            .insert(id, handle.abort_handle());
    }

    pub fn cancel(&self, id: &str) {
        if let Some(h) = self.scheduled.lock().unwrap().remove(id) {
            h.abort();
        }
    }

    /// Stops every scheduled task (reset, shutdown).
    pub fn cancel_all(&self) {
        for (_, h) in self.scheduled.lock().unwrap().drain() {
            h.abort();
        }
    }
}

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

impl wit::Host for TasksView<'_> {
    async fn schedule(
        &mut self,
        after_ms: u64,
        name: String,
        payload: String,
    ) -> wasmtime::Result<String> {
        let req = &mut *self.0;
        let n = req.shared.tasks.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("task-{n}-{}", uuid::Uuid::new_v4().simple());
        req.pending.schedules.push(PendingTask {
            id: id.clone(),
            after: Duration::from_millis(after_ms),
            name,
            payload,
        });
        Ok(id)
    }

    async fn cancel(&mut self, task_id: String) -> wasmtime::Result<()> {
        let req = &mut *self.0;
        req.pending.schedules.retain(|t| t.id != task_id);
        req.shared.tasks.cancel(&task_id);
        Ok(())
    }

    async fn notify(&mut self, topic: String) -> wasmtime::Result<()> {
        self.0.pending.notifications.push(topic);
        Ok(())
    }

    async fn wait(&mut self, topic: String, timeout_ms: u64) -> wasmtime::Result<bool> {
        let req = &mut *self.0;
        let began = Instant::now();
        let key = topic_key(&req.plugin.name, &req.ctx.account, &req.ctx.region, &topic);
        let notify = req.shared.tasks.topic(key);
        let notified = notify.notified();
        tokio::pin!(notified);
        // Registered before committing: a notify after this point is seen.
        notified.as_mut().enable();
        let before = req.unit_began_at_seq;
        let own = !req.unit.as_ref().is_none_or(|u| u.is_read_only()) as u64;
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        // Another request committed since this unit began: its notify may
        // have come before we registered, so look again rather than sleep.
        let woke = if req.unit_began_at_seq > before + own {
            true
        } else {
            tokio::time::timeout(Duration::from_millis(timeout_ms), notified)
                .await
                .is_ok()
        };
        if woke {
            // What woke us is committed; read it in a fresh unit.
            req.unit_began_at_seq = req.plugin.commit_seq();
            req.unit = Some(req.plugin.db.begin());
        }
        req.waited += began.elapsed();
        Ok(woke)
    }
}
