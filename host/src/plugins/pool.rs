//! Idle plugin instances kept for the next call of the same plugin and
//! account, so that a request does not pay for instantiating a component
//! and tearing it down (about twice the plugin's own work for a small
//! request: docs/performance.md).
//!
//! Isolation stays what a fresh instance gives, for everything a plugin
//! can observe: each call gets a new [`RequestState`] (its own unit, call
//! context, time limit and blobs), an instance never serves another
//! account or another load of its plugin, and one that trapped, hit its
//! memory cap, grew large or wrote to stderr is dropped, never reused.
//! `MINISTACK_INSTANCE_REUSE=0` turns reuse off (a fresh instance per call).

use ministack_protocol::FastMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings::Plugin as PluginBindings;
use crate::capabilities::HostState;

/// Idle instances kept per plugin and account: as many as requests of one
/// plugin commonly run at once on a small machine.
const PER_KEY: usize = 4;
/// An instance serves at most this many calls (bounds heap fragmentation).
const MAX_USES: u32 = 10_000;
/// Linear memory beyond which an instance is dropped after its call.
const MAX_KEPT_MEMORY: usize = 16 << 20;
/// Idle instances unused this long are dropped (their memory returned).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// An instantiated plugin between calls.
pub struct Instance {
    pub store: Store<HostState>,
    pub bindings: PluginBindings,
    pub uses: u32,
}

impl Instance {
    /// Whether this instance may serve another call after the one it just
    /// finished without trapping.
    fn reusable(&self) -> bool {
        let state = self.store.data();
        self.uses < MAX_USES
            && !state.limits.hit
            && state.limits.grown_to <= MAX_KEPT_MEMORY
            && state.stderr.contents().is_empty()
    }
}

struct Idle {
    instance: Instance,
    since: Instant,
}

pub struct InstancePool {
    enabled: bool,
    /// Idle instances of all plugins at most (they hold allocator slots).
    capacity: usize,
    idle: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    /// By plugin load (a number never reused) and account.
    by_key: FastMap<(u64, String), Vec<Idle>>,
    count: usize,
}

impl InstancePool {
    pub fn new(enabled: bool, max_instances: u32) -> Self {
        Self {
            enabled,
            // Three quarters of the allocator's slots stay for calls in flight.
            capacity: (max_instances as usize) / 4,
            idle: Mutex::new(PoolState::default()),
        }
    }

    /// An idle instance of this load of the plugin for `account`, if any.
    pub fn take(&self, load: u64, account: &str) -> Option<Instance> {
        if !self.enabled {
            return None;
        }
        let mut state = self.idle.lock().unwrap();
        let key = (load, account.to_string());
        let idle = state.by_key.get_mut(&key)?.pop()?;
        state.count -= 1;
        Some(idle.instance)
    }

    /// Keeps `instance` after a call that finished without trapping, when
    /// it is fit for another; drops it otherwise.
    pub fn give(&self, load: u64, account: &str, mut instance: Instance) {
        instance.uses += 1;
        if !self.enabled || !instance.reusable() {
            return;
        }
        let mut state = self.idle.lock().unwrap();
        if state.count >= self.capacity {
            return;
        }
        let key = (load, account.to_string());
        let list = state.by_key.entry(key).or_default();
        if list.len() >= PER_KEY {
            return;
        }
        list.push(Idle {
            instance,
            since: Instant::now(),
        });
        state.count += 1;
    }

    /// Drops idle instances unused for [`IDLE_TIMEOUT`] (entries of a
    /// replaced plugin load are never taken again and go the same way).
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut dropped = Vec::new();
        {
            let mut state = self.idle.lock().unwrap();
            for list in state.by_key.values_mut() {
                let (keep, old): (Vec<_>, Vec<_>) = std::mem::take(list)
                    .into_iter()
                    .partition(|idle| now.duration_since(idle.since) < IDLE_TIMEOUT);
                *list = keep;
                dropped.extend(old);
            }
            state.by_key.retain(|_, list| !list.is_empty());
            state.count -= dropped.len();
        }
        // Stores are torn down outside the lock.
        drop(dropped);
    }

    /// Drops every idle instance (state reset, shutdown).
    pub fn clear(&self) {
        let taken = std::mem::take(&mut *self.idle.lock().unwrap());
        drop(taken);
    }

    /// Sweeps every few seconds for as long as the pool lives.
    pub fn start_sweeper(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(pool) = weak.upgrade() else { return };
                pool.sweep();
            }
        });
    }
}
