//! What plugins may call back into: one module per WIT interface, each with
//! its view over the request's state, its `Host` impl and its
//! `add_to_linker` (the shape of wasmtime's own `wasi-keyvalue`).
//!
//! [`RequestState`] is the per-call state they share: the caller, the
//! current store unit, and the effects (blob releases, task schedules,
//! notifications) that land only when the unit commits. [`Shared`] is what
//! every call shares (state, blobs, credentials, tasks) and [`Calls`] the
//! way back into the dispatcher (services.call, a task coming due): a trait
//! object, so this module imports neither the runtime nor the dispatcher.
//! [`contention`] is no interface: it is the turn lock a request's unit
//! runs under when its plugin keeps conflicting, held by [`RequestState`].

pub mod blobs;
pub mod containers;
pub mod contention;
pub mod functions;
pub mod http;
pub mod identity;
pub mod log;
pub mod metrics;
pub mod random;
pub mod services;
pub mod store;
pub mod streams;
pub mod tasks;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use ministack_protocol::AwsError;
use ministack_state::blobs::BlobStore;
use ministack_state::{Database, StateError, Stores, Unit};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::config::Config;
use crate::manifest::PluginEntry;
use contention::{Contention, Turn};
use identity::CredentialRegistry;
use tasks::TaskRegistry;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The dispatcher, as the capabilities call back into it.
pub trait Calls: Send + Sync {
    /// services.call from plugin `caller` (whose context is `parent`):
    /// the output JSON and the blobs handed back to the caller.
    fn call_service<'a>(
        &'a self,
        caller: &'a str,
        parent: &'a CallContext,
        target: ServiceTarget,
        operation: &'a str,
        input_json: &'a str,
    ) -> BoxFuture<'a, Result<(String, Vec<String>), AwsError>>;

    /// A scheduled task coming due (`id`: its record, claimed in the
    /// task's unit), or the boot hook: the plugin's `on-task`.
    fn run_task<'a>(
        &'a self,
        plugin: &'a str,
        ctx: CallContext,
        name: &'a str,
        payload: &'a str,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// ENFORCE_IAM's check of a call one service makes for one of its
/// resources (services.call-from / authorize-from): registered by the
/// enforcement layer above the dispatcher only when enforcement is on.
pub trait CheckDelivery: Send + Sync {
    fn check<'a>(
        &'a self,
        caller: &'a str,
        parent: &'a CallContext,
        target: &'a ServiceTarget,
        operation: &'a str,
        input_json: &'a str,
        source: &'a CallSource,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// The resource a service calls another for (services.call-from): its
/// service principal acts with `aws:SourceArn` / `aws:SourceAccount`, or
/// the role AWS would assume.
pub struct CallSource {
    pub arn: String,
    pub account: String,
    pub role_arn: Option<String>,
}

/// The service (and account/region, empty = the caller's) a plugin calls.
pub struct ServiceTarget {
    pub service: String,
    pub account: String,
    pub region: String,
}

/// What every plugin call shares: the host's state, blobs, credentials and
/// tasks, and the way back into the dispatcher.
pub struct Shared {
    pub config: Config,
    pub stores: Stores,
    pub blobs: BlobStore,
    pub identity: CredentialRegistry,
    pub tasks: TaskRegistry,
    /// Docker engine and local server processes (see containers.rs).
    pub docker: Arc<crate::docker::Docker>,
    pub processes: Arc<crate::processes::Processes>,
    /// Function workers (capabilities::functions).
    pub functions: Arc<crate::functions::Functions>,
    /// Service metrics waiting for the next flush (capabilities::metrics).
    pub metrics: metrics::Aggregator,
    /// Set once the dispatcher exists (it owns the runtime owning this).
    calls: OnceLock<Weak<dyn Calls>>,
    /// Set under ENFORCE_IAM: deliveries between services are checked.
    delivery_check: OnceLock<Arc<dyn CheckDelivery>>,
}

impl Shared {
    pub fn new(
        config: Config,
        stores: Stores,
        blobs: BlobStore,
        identity: CredentialRegistry,
        docker: Arc<crate::docker::Docker>,
        processes: Arc<crate::processes::Processes>,
    ) -> Self {
        let functions = crate::functions::Functions::new(
            &config.cache_dir,
            config.port,
            &config.default_secret,
            docker.clone(),
        );
        Self {
            config,
            stores,
            blobs,
            identity,
            tasks: TaskRegistry::default(),
            docker,
            processes,
            functions,
            metrics: metrics::Aggregator::default(),
            calls: OnceLock::new(),
            delivery_check: OnceLock::new(),
        }
    }

    pub fn set_delivery_check(&self, check: Arc<dyn CheckDelivery>) {
        let _ = self.delivery_check.set(check);
    }

    /// The delivery check, when enforcement registered one.
    pub fn delivery_check(&self) -> Option<&Arc<dyn CheckDelivery>> {
        self.delivery_check.get()
    }

    pub fn set_calls(&self, calls: Weak<dyn Calls>) {
        let _ = self.calls.set(calls);
    }

    fn calls(&self) -> Option<Arc<dyn Calls>> {
        self.calls.get().and_then(Weak::upgrade)
    }

    pub async fn call_service(
        &self,
        caller: &str,
        parent: &CallContext,
        target: ServiceTarget,
        operation: &str,
        input_json: &str,
    ) -> Result<(String, Vec<String>), AwsError> {
        let Some(calls) = self.calls() else {
            return Err(shutting_down());
        };
        calls
            .call_service(caller, parent, target, operation, input_json)
            .await
    }

    pub async fn run_task(
        &self,
        plugin: &str,
        ctx: CallContext,
        name: &str,
        payload: &str,
        id: Option<&str>,
    ) -> Result<(), AwsError> {
        let Some(calls) = self.calls() else {
            return Err(shutting_down());
        };
        calls.run_task(plugin, ctx, name, payload, id).await
    }
}

fn shutting_down() -> AwsError {
    AwsError::new("ServiceUnavailable", "the gateway is shutting down", 503)
}

/// What every call of a plugin shares, known before its `describe`.
pub struct PluginCore {
    pub name: String,
    pub entry: PluginEntry,
    pub db: Arc<Database>,
    commit_seq: AtomicU64,
    /// plugins.toml settings and the declared environment variables,
    /// overlaid by POST /_ministack/config.
    pub settings: RwLock<BTreeMap<String, String>>,
    /// When its requests run one at a time (after conflicts), and how
    /// many re-ran.
    pub contention: Contention,
    /// The last read of each granted file (plugins.toml `files`).
    files: Mutex<HashMap<String, GrantedFile>>,
}

/// Largest file a file grant hands in.
pub const MAX_GRANTED_FILE: u64 = 1 << 20;

/// A granted file as last read: re-read when its path, size or mtime change.
struct GrantedFile {
    path: String,
    len: u64,
    modified: Option<SystemTime>,
    text: String,
}

impl PluginCore {
    pub fn new(name: &str, entry: PluginEntry, db: Arc<Database>) -> Self {
        Self {
            name: name.to_string(),
            settings: RwLock::new(entry.settings_with_env(std::env::vars())),
            entry,
            db,
            commit_seq: AtomicU64::new(0),
            contention: Contention::default(),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The settings one call gets: the current settings, and for each file
    /// grant whose setting names a file, `<name>:content` (its text) or
    /// `<name>:error` (why it could not be read).
    pub fn call_settings(&self) -> Vec<(String, String)> {
        let settings = self.settings.read().unwrap();
        let mut out: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for name in &self.entry.files {
            let Some(path) = settings.get(name).filter(|p| !p.is_empty()) else {
                continue;
            };
            match self.granted_file(name, path) {
                Ok(text) => out.push((format!("{name}:content"), text)),
                Err(e) => out.push((format!("{name}:error"), e)),
            }
        }
        out
    }

    fn granted_file(&self, name: &str, path: &str) -> Result<String, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        if meta.len() > MAX_GRANTED_FILE {
            return Err(format!(
                "{path} is larger than the 1 MiB a file grant hands in"
            ));
        }
        let modified = meta.modified().ok();
        let mut files = self.files.lock().unwrap();
        if let Some(f) = files.get(name)
            && f.path == path
            && f.len == meta.len()
            && f.modified == modified
        {
            return Ok(f.text.clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        files.insert(
            name.to_string(),
            GrantedFile {
                path: path.to_string(),
                len: meta.len(),
                modified,
                text: text.clone(),
            },
        );
        Ok(text)
    }
    pub fn commit_seq(&self) -> u64 {
        self.commit_seq.load(Ordering::Acquire)
    }
    pub fn bump_commit_seq(&self) {
        self.commit_seq.fetch_add(1, Ordering::AcqRel);
    }
}

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
    /// The endpoint for URLs the plugin hands out (the Host the client
    /// used); None means the configured one.
    pub endpoint: Option<String>,
}

impl CallContext {
    /// The gateway's own call (no signer): the default account and region.
    pub fn host(config: &Config, request_id: &str) -> Self {
        Self {
            account: config.default_account.clone(),
            region: config.default_region.clone(),
            request_id: request_id.to_string(),
            access_key_id: String::new(),
            caller_arn: String::new(),
            depth: 0,
            endpoint: None,
        }
    }
}

/// Effects that wait for the unit's commit.
#[derive(Default)]
pub struct PendingEffects {
    pub created_blobs: Vec<String>,
    pub released_blobs: Vec<String>,
    pub notifications: Vec<String>,
    pub schedules: Vec<tasks::PendingTask>,
    pub task_cancels: Vec<String>,
    pub credentials: Vec<identity::CredentialChange>,
    /// Opens, events and closes of streamed responses.
    pub streams: Vec<crate::streams::StreamOp>,
    /// Service metrics (also kept when the call answers an AWS error).
    pub metrics: Vec<metrics::PendingDatum>,
}

/// Per-call state shared by the capabilities.
pub struct RequestState {
    pub shared: Arc<Shared>,
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
    /// The plugin's turn lock, when this request runs alone: given up as
    /// soon as its first unit has landed or gone.
    pub turn: Option<Turn>,
}

impl RequestState {
    pub fn new(shared: Arc<Shared>, plugin: Arc<PluginCore>, ctx: CallContext) -> Self {
        let unit_began_at_seq = plugin.commit_seq();
        let unit = plugin.db.begin();
        Self {
            shared,
            plugin,
            ctx,
            unit: Some(unit),
            pending: PendingEffects::default(),
            unit_began_at_seq,
            visible: false,
            started: Instant::now(),
            waited: Duration::ZERO,
            turn: None,
        }
    }

    /// The state an idle pooled instance holds between calls: no unit, an
    /// empty context (a call replaces it before the plugin runs).
    pub fn idle(shared: Arc<Shared>, plugin: Arc<PluginCore>) -> Self {
        Self {
            shared,
            plugin,
            ctx: CallContext {
                account: String::new(),
                region: String::new(),
                request_id: String::new(),
                access_key_id: String::new(),
                caller_arn: String::new(),
                depth: 0,
                endpoint: None,
            },
            unit: None,
            pending: PendingEffects::default(),
            unit_began_at_seq: 0,
            visible: false,
            started: Instant::now(),
            waited: Duration::ZERO,
            turn: None,
        }
    }

    pub fn unit(&mut self) -> &mut Unit {
        self.unit.get_or_insert_with(|| self.plugin.db.begin())
    }

    /// Gives up the turn, if held. The next request waiting for it was
    /// just woken onto this worker's LIFO slot, which no other worker can
    /// steal from: it would wait there until this task has encoded and
    /// written its response, and the hot key would sit idle meanwhile. So
    /// this task steps aside to the back of the worker's run queue, where
    /// the other worker can take it. (`tokio::task::yield_now` would park
    /// it until the worker runs out of work, which tripled the p99.) It
    /// wakes itself through `self_wake::step_aside`, the one self-wake the
    /// connection's `RepollSelfWakes` hands to tokio.
    async fn pass_turn(&mut self) {
        if self.turn.take().is_some() && self.plugin.contention.is_taken() {
            let mut stepped_aside = false;
            std::future::poll_fn(|cx| {
                if stepped_aside {
                    return Poll::Ready(());
                }
                stepped_aside = true;
                crate::self_wake::step_aside(cx);
                Poll::Pending
            })
            .await;
        }
    }

    /// Commits the current unit and its pending effects. A conflict before
    /// anything became visible asks for a transparent re-run.
    pub async fn commit_unit(&mut self) -> Result<(), HostTrap> {
        let Some(unit) = self.unit.take() else {
            self.turn = None;
            return Ok(());
        };
        let wrote = !unit.is_read_only();
        if wrote {
            // The first poll validates and lands the writes (visible to
            // units that begin now); what follows waits for durability,
            // which another request's turn need not wait for.
            let mut commit = std::pin::pin!(unit.commit());
            let landed = std::future::poll_fn(|cx| Poll::Ready(commit.as_mut().poll(cx))).await;
            self.pass_turn().await;
            let committed = match landed {
                Poll::Ready(r) => r,
                Poll::Pending => commit.await,
            };
            if let Err(e) = committed {
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
        self.turn = None;
        let pending = std::mem::take(&mut self.pending);
        for id in pending.released_blobs {
            self.shared.blobs.release(&self.plugin.name, &id);
        }
        for topic in pending.notifications {
            self.shared.tasks.notify(
                &self.plugin.name,
                &self.ctx.account,
                &self.ctx.region,
                &topic,
            );
        }
        let (schedules, cancels) = (pending.schedules, pending.task_cancels);
        self.shared
            .tasks
            .land(&self.plugin.name, schedules, cancels);
        crate::streams::registry().apply(&self.plugin.name, &self.ctx.request_id, pending.streams);
        self.shared
            .metrics
            .add(&self.plugin.name, &self.ctx, pending.metrics);
        for change in pending.credentials {
            // Boxed: rare, and inline it would size every unit's commit.
            Box::pin(self.shared.identity.apply(change)).await?;
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

    /// The call answered an AWS error: its writes and effects go, but the
    /// service metrics it emitted describe what happened (a Lambda
    /// throttle, a failed conditional write's capacity) and are kept.
    pub fn rollback_answered(&mut self) {
        let data = std::mem::take(&mut self.pending.metrics);
        self.shared.metrics.add(&self.plugin.name, &self.ctx, data);
        self.rollback();
    }

    /// Drops the current unit's writes and effects (error, trap, timeout).
    pub fn rollback(&mut self) {
        self.turn = None;
        if let Some(unit) = self.unit.take() {
            unit.rollback();
        }
        self.discard_pending();
    }

    fn discard_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for id in pending.created_blobs {
            self.shared.blobs.release(&self.plugin.name, &id);
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
/// that the cap was hit so the error can say so, and how large the memory
/// grew (a large instance is not kept for reuse).
pub struct MemoryLimit {
    pub max_bytes: usize,
    pub hit: bool,
    pub grown_to: usize,
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
        if ok {
            self.grown_to = self.grown_to.max(desired);
        }
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
                grown_to: 0,
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
    random::add_to_linker(linker)?;
    crate::bindings::ministack::plugin::types::add_to_linker::<
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
    metrics::add_to_linker(linker, |s| metrics::MetricsView(&mut s.req))?;
    streams::add_to_linker(linker, |s| streams::StreamsView(&mut s.req))?;
    containers::add_to_linker(linker)?;
    Ok(())
}

impl crate::bindings::ministack::plugin::types::Host for HostState {}

#[cfg(test)]
mod tests {
    use wasmtime::ResourceLimiter;

    use super::*;

    #[test]
    fn memory_limit_refuses_growth_past_the_cap_and_remembers() {
        let mut limit = MemoryLimit {
            max_bytes: 64 << 20,
            hit: false,
            grown_to: 0,
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
    fn granted_files_are_handed_in_and_reread_when_they_change() {
        let dir = std::env::temp_dir().join(format!("ministack-grant-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mock.json");
        std::fs::write(&file, "{}").unwrap();
        let entry = crate::manifest::Manifest::parse(
            "[plugins.p]\npath=\"p.wasm\"\nfiles=[\"CFG\", \"UNSET\"]\n",
            &dir,
        )
        .unwrap()
        .plugins
        .remove("p")
        .unwrap();
        let stores = Stores::open(ministack_state::StateConfig::in_memory()).unwrap();
        let core = PluginCore::new("p", entry, stores.database("p").unwrap());
        let path = file.to_string_lossy().to_string();
        core.settings
            .write()
            .unwrap()
            .insert("CFG".into(), path.clone());
        let get = |core: &PluginCore, k: &str| {
            core.call_settings()
                .into_iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v)
        };
        assert_eq!(get(&core, "CFG:content").as_deref(), Some("{}"));
        // No setting, no file: nothing handed in.
        assert_eq!(get(&core, "UNSET:content"), None);
        assert_eq!(get(&core, "UNSET:error"), None);
        std::fs::write(&file, "{\"changed\": true}").unwrap();
        assert_eq!(
            get(&core, "CFG:content").as_deref(),
            Some("{\"changed\": true}")
        );
        std::fs::write(&file, vec![b' '; (MAX_GRANTED_FILE + 1) as usize]).unwrap();
        assert!(get(&core, "CFG:error").unwrap().contains("1 MiB"));
        std::fs::remove_file(&file).unwrap();
        assert!(get(&core, "CFG:error").unwrap().contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
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
