//! What plugins may call back into: one module per WIT interface, each with
//! its view over the request's state, its `Host` impl and its
//! `add_to_linker` (the shape of wasmtime's own `wasi-keyvalue`).
//!
//! [`RequestState`] is the per-call state they share: the caller, the
//! current store unit, and the effects (blob releases, task schedules,
//! notifications) that land only when the unit commits.

pub mod blobs;
pub mod containers;
pub mod functions;
pub mod http;
pub mod identity;
pub mod log;
pub mod services;
pub mod store;
pub mod tasks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ministack_state::{StateError, Unit};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::plugins::{PluginCore, Runtime};

/// Why a call into a plugin was stopped by the host (carried in the trap).
#[derive(Debug, thiserror::Error)]
pub enum HostTrap {
    /// A unit conflicted with a concurrent request before anything of this
    /// request was visible to others: the dispatcher runs it again.
    #[error("conflict with a concurrent request")]
    Retry,
    #[error(
        "a concurrent request changed data this request had already acted on; retry the request"
    )]
    Conflict,
    #[error("the plugin ran past its time limit of {0} ms")]
    TimeLimit(u64),
    #[error("capability {0:?} is not granted to this plugin in plugins.toml")]
    NotGranted(&'static str),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("calls between services nest deeper than {0}")]
    TooDeep(u32),
}

impl From<StateError> for HostTrap {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Conflict => HostTrap::Retry,
            other => HostTrap::Storage(other.to_string()),
        }
    }
}

/// The caller as the plugin sees it (the WIT `context`, minus settings).
#[derive(Clone, Debug)]
pub struct CallContext {
    pub account: String,
    pub region: String,
    pub request_id: String,
    pub access_key_id: String,
    pub caller_arn: String,
    /// Nesting depth of services.call.
    pub depth: u32,
}

/// Effects that wait for the unit's commit.
#[derive(Default)]
pub struct PendingEffects {
    pub created_blobs: Vec<String>,
    pub released_blobs: Vec<String>,
    pub notifications: Vec<String>,
    pub schedules: Vec<tasks::PendingTask>,
    pub credentials: Vec<identity::CredentialChange>,
}

/// Per-call state shared by the capabilities.
pub struct RequestState {
    pub runtime: Arc<Runtime>,
    pub plugin: Arc<PluginCore>,
    pub ctx: CallContext,
    pub unit: Option<Unit>,
    pub pending: PendingEffects,
    /// The plugin's commit sequence when the current unit began.
    pub unit_began_at_seq: u64,
    /// Something of this request is already visible to others (a committed
    /// unit with writes, a call into another service): no transparent retry.
    pub visible: bool,
    pub started: Instant,
    /// Time spent waiting in the host (excluded from the time limit).
    pub waited: Duration,
}

impl RequestState {
    pub fn new(runtime: Arc<Runtime>, plugin: Arc<PluginCore>, ctx: CallContext) -> Self {
        let unit_began_at_seq = plugin.commit_seq();
        let unit = plugin.db.begin();
        Self {
            runtime,
            plugin,
            ctx,
            unit: Some(unit),
            pending: PendingEffects::default(),
            unit_began_at_seq,
            visible: false,
            started: Instant::now(),
            waited: Duration::ZERO,
        }
    }

    pub fn unit(&mut self) -> &mut Unit {
        self.unit.get_or_insert_with(|| self.plugin.db.begin())
    }

    /// Commits the current unit and its pending effects. A conflict before
    /// anything became visible asks for a transparent re-run.
    pub async fn commit_unit(&mut self) -> Result<(), HostTrap> {
        let Some(unit) = self.unit.take() else {
            return Ok(());
        };
        let wrote = !unit.is_read_only();
        if wrote {
            if let Err(e) = unit.commit().await {
                self.discard_pending();
                return Err(match e {
                    StateError::Conflict if !self.visible => HostTrap::Retry,
                    StateError::Conflict => HostTrap::Conflict,
                    other => HostTrap::Storage(other.to_string()),
                });
            }
            self.plugin.bump_commit_seq();
            self.visible = true;
        }
        let pending = std::mem::take(&mut self.pending);
        for id in pending.released_blobs {
            self.runtime.blobs.release(&self.plugin.name, &id);
        }
        for topic in pending.notifications {
            self.runtime.tasks.notify(
                &self.plugin.name,
                &self.ctx.account,
                &self.ctx.region,
                &topic,
            );
        }
        for task in pending.schedules {
            self.runtime.tasks.start(
                self.runtime.clone(),
                self.plugin.name.clone(),
                &self.ctx,
                task,
            );
        }
        for change in pending.credentials {
            self.runtime.identity.apply(change).await?;
        }
        Ok(())
    }

    /// Ends the current unit and begins the next one (around a wait).
    pub async fn next_unit(&mut self) -> Result<(), HostTrap> {
        self.commit_unit().await?;
        self.unit_began_at_seq = self.plugin.commit_seq();
        self.unit = Some(self.plugin.db.begin());
        Ok(())
    }

    /// Drops the current unit's writes and effects (error, trap, timeout).
    pub fn rollback(&mut self) {
        if let Some(unit) = self.unit.take() {
            unit.rollback();
        }
        self.discard_pending();
    }

    fn discard_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for id in pending.created_blobs {
            self.runtime.blobs.release(&self.plugin.name, &id);
        }
    }

    pub fn granted(&self, capability: &'static str) -> Result<(), HostTrap> {
        if self
            .plugin
            .entry
            .capabilities
            .iter()
            .any(|c| c == capability)
        {
            Ok(())
        } else {
            Err(HostTrap::NotGranted(capability))
        }
    }
}

/// Caps linear memory per instance (plugins.toml `memory_mb`), and remembers
/// that the cap was hit so the error can say so.
pub struct MemoryLimit {
    pub max_bytes: usize,
    pub hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_bytes;
        self.hit |= !ok;
        Ok(ok)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The data of every wasmtime `Store`: WASI (for std), limits, and the
/// request's state.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub stderr: MemoryOutputPipe,
    pub limits: MemoryLimit,
    pub req: RequestState,
}

impl HostState {
    pub fn new(req: RequestState) -> Self {
        // std in a plugin writes panics to stderr: keep the first few KiB.
        let stderr = MemoryOutputPipe::new(4096);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let max_bytes = (req.plugin.entry.memory_mb as usize) << 20;
        Self {
            wasi,
            table: ResourceTable::new(),
            stderr,
            limits: MemoryLimit {
                max_bytes,
                hit: false,
            },
            req,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Links WASI p2 (which Rust's std imports) and every capability.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    crate::plugins::bindings::ministack::plugin::types::add_to_linker::<
        HostState,
        wasmtime::component::HasSelf<HostState>,
    >(linker, |s| s)?;
    store::add_to_linker(linker, |s| store::StoreView(&mut s.req))?;
    blobs::add_to_linker(linker, |s| blobs::BlobsView(&mut s.req))?;
    services::add_to_linker(linker, |s| services::ServicesView(&mut s.req))?;
    tasks::add_to_linker(linker, |s| tasks::TasksView(&mut s.req))?;
    identity::add_to_linker(linker, |s| identity::IdentityView(&mut s.req))?;
    http::add_to_linker(linker, |s| http::HttpView(&mut s.req))?;
    functions::add_to_linker(linker, |s| functions::FunctionsView(&mut s.req))?;
    log::add_to_linker(linker, |s| log::LogView(&mut s.req))?;
    containers::add_to_linker(linker)?;
    Ok(())
}

impl crate::plugins::bindings::ministack::plugin::types::Host for HostState {}

#[cfg(test)]
mod tests {
    use wasmtime::ResourceLimiter;

    use super::*;

    #[test]
    fn memory_limit_refuses_growth_past_the_cap_and_remembers() {
        let mut limit = MemoryLimit {
            max_bytes: 64 << 20,
            hit: false,
        };
        assert!(limit.memory_growing(0, 1 << 20, None).unwrap());
        assert!(limit.memory_growing(1 << 20, 64 << 20, None).unwrap());
        assert!(!limit.hit);
        assert!(
            !limit
                .memory_growing(64 << 20, (64 << 20) + 65536, None)
                .unwrap()
        );
        assert!(limit.hit);
    }

    #[test]
    fn conflicts_become_retries() {
        assert!(matches!(
            HostTrap::from(StateError::Conflict),
            HostTrap::Retry
        ));
        assert!(matches!(
            HostTrap::from(StateError::Storage("x".into())),
            HostTrap::Storage(_)
        ));
    }
}
