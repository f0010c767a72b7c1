//! The plugin runtime: loading components, and calling them. Requests reach it only through the dispatcher
//! (dispatch.rs), which knows the loaded plugins.
//!
//! - [`engine`], [`cache`]: the wasmtime engine and precompiled code.
//! - [`Runtime::run`]: one call = one instance (reused from [`pool`] when an
//!   idle one of the same plugin and account exists) + a fresh request state
//!   with its atomic state unit; retried transparently when its unit
//!   conflicts with a concurrent one.

pub mod cache;
pub mod engine;
pub mod pool;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use ministack_protocol::{AwsError, ServiceModel};
use ministack_state::blobs::{BlobConfig, BlobStore};
use ministack_state::{StateConfig, Stores};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

pub use crate::bindings::internal_failure;
use crate::bindings::{self, Plugin as PluginBindings, PluginPre};
use crate::capabilities::contention::Turn;
use crate::capabilities::identity::CredentialRegistry;
use crate::capabilities::{
    self, CallContext, HostState, HostTrap, PluginCore, RequestState, Shared,
};
use crate::config::Config;
use crate::manifest::{GRANTED_CAPABILITIES, PluginEntry};

/// Name of the host's own database (credentials).
const IDENTITY_DB: &str = "__identity";
/// Transparent re-runs of a request whose unit conflicted.
const MAX_ATTEMPTS: u32 = 64;

/// Operation names of the authorization handlers (IAM's evaluator, STS's
/// session policies) only the gateway calls: no model operation, so left
/// out of a plugin's implemented list.
pub const AUTHZ_OPERATION_PREFIX: &str = "ministack:authz-";

/// What `describe` told us, checked.
#[derive(Clone, Debug)]
pub struct Description {
    pub version: String,
    pub schema_version: u32,
    pub implemented: BTreeSet<String>,
    pub raw_routes: Vec<(String, String)>,
    pub capabilities: Vec<String>,
}

/// An enabled plugin: what it described, and its code once loaded (on its
/// first call when the description came from the cache).
pub struct Plugin {
    pub core: Arc<PluginCore>,
    pub description: Description,
    pub model: ServiceModel,
    code: tokio::sync::OnceCell<Code>,
    /// sha256 of the wasm described: which precompiled code to load.
    digest: String,
    load_source: OnceLock<cache::Source>,
}

/// One load of a plugin's component: instances of different loads (a hot
/// reload) are never mixed up in the instance pool.
struct Code {
    pre: PluginPre<HostState>,
    load: u64,
}

static LOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Plugin {
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Whether its code is loaded (it has been called since the start).
    pub fn is_loaded(&self) -> bool {
        self.code.initialized()
    }

    /// Where its code came from; `None` while not loaded.
    pub fn load_source(&self) -> Option<cache::Source> {
        self.load_source.get().copied()
    }

    /// sha256 of its wasm.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// The host side of every plugin call.
pub struct Runtime {
    pub shared: Arc<Shared>,
    /// Built when the first plugin loads: a warm start whose plugins are
    /// not in use yet runs no wasmtime code and ticks no epoch.
    wasm: OnceLock<Wasm>,
    wasm_building: std::sync::Mutex<()>,
    engine_settings: engine::EngineSettings,
    pool: Arc<pool::InstancePool>,
    cache: Arc<cache::CompileCache>,
}

/// The engine and the capabilities linked for every plugin.
struct Wasm {
    engine: Engine,
    linker: Linker<HostState>,
}

/// What to call in a plugin instance.
pub enum Entry<'a> {
    Describe,
    Handle {
        operation: &'a str,
        /// Lowered into the plugin from this borrow (bindgen's borrowing
        /// ownership), again on a re-run after a conflict.
        input_json: &'a str,
    },
    Task {
        name: &'a str,
        payload: &'a str,
        /// A scheduled task's id (its record is claimed in the task's unit).
        id: Option<&'a str>,
    },
    Http(&'a RawRequest),
}

/// A request on a plugin's raw route, as it came.
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub enum Output {
    Description(bindings::Descriptor),
    Json(String),
    Http(bindings::HttpResponse),
    Done,
}

fn from_wit_error(e: bindings::AwsError) -> AwsError {
    AwsError {
        code: e.code,
        message: e.message,
        status: e.status,
        sender_fault: e.sender_fault,
        extra: e.extra_json.and_then(|j| match serde_json::from_str(&j) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            _ => None,
        }),
    }
}

impl Runtime {
    /// Opens state; `max_memory_mb` is the largest memory limit of the
    /// plugins to load (the pooling allocator's slot, once the engine is
    /// built: [`Self::wasm`]).
    pub fn start(config: Config, max_memory_mb: u64) -> anyhow::Result<Arc<Self>> {
        let t0 = std::time::Instant::now();
        let engine_settings = engine::EngineSettings {
            max_instances: config.max_instances,
            max_memory_bytes: max_memory_mb << 20,
        };

        let stores = Stores::open(StateConfig {
            persist: config.persist_state,
            state_dir: config.state_dir.clone(),
            durability: config.durability,
        })?;
        let blobs = BlobStore::open(BlobConfig {
            persist: config.persist_blobs,
            dir: config.blob_dir.clone(),
        })?;
        let identity = CredentialRegistry::open(stores.database(IDENTITY_DB)?)?;
        let (docker, processes) = crate::capabilities::containers::open(&config)?;
        tracing::debug!("state opened at {:?}", t0.elapsed());
        let pool = Arc::new(pool::InstancePool::new(
            config.instance_reuse,
            config.max_instances,
        ));
        pool.start_sweeper();
        let cache = Arc::new(cache::CompileCache::new(
            config.cache_dir.clone(),
            &engine_settings,
        ));
        Ok(Arc::new(Self {
            cache,
            shared: Arc::new(Shared::new(
                config, stores, blobs, identity, docker, processes,
            )),
            wasm: OnceLock::new(),
            wasm_building: std::sync::Mutex::new(()),
            engine_settings,
            pool,
        }))
    }

    /// The engine and linker, built on first need (a few ms).
    fn wasm(&self) -> anyhow::Result<&Wasm> {
        if let Some(wasm) = self.wasm.get() {
            return Ok(wasm);
        }
        let _one = self.wasm_building.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wasm) = self.wasm.get() {
            return Ok(wasm);
        }
        let t0 = std::time::Instant::now();
        let engine = engine::build(&self.engine_settings)?;
        engine::start_ticker(&engine);
        let mut linker = Linker::new(&engine);
        capabilities::add_to_linker(&mut linker)?;
        tracing::debug!("engine built in {:?}", t0.elapsed());
        Ok(self.wasm.get_or_init(|| Wasm { engine, linker }))
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The precompiled-code cache (and what the plugins described).
    pub fn cache(&self) -> &cache::CompileCache {
        &self.cache
    }

    pub fn drop_idle_instances(&self) {
        self.pool.clear();
    }

    /// Opens plugins side by side (compiling on a cold cache and describing
    /// each is independent work), in the given order; a plugin that fails
    /// to open is logged and left out. A plugin described before (the cache
    /// holds its description) is not loaded: its code loads on its first
    /// call, or now when its data is from an earlier run (see [`Self::open_plugin`]).
    pub async fn load_all(
        self: &Arc<Self>,
        entries: Vec<(String, PluginEntry)>,
    ) -> Vec<Arc<Plugin>> {
        let mut loading = tokio::task::JoinSet::new();
        for (index, (name, entry)) in entries.into_iter().enumerate() {
            let runtime = self.clone();
            loading.spawn(async move {
                let t = std::time::Instant::now();
                let loaded = runtime.open_plugin(&name, entry).await;
                tracing::debug!(plugin = name, "loaded in {:?}", t.elapsed());
                (
                    index,
                    name,
                    loaded.map(|(p, compiled)| (p, compiled, t.elapsed())),
                )
            });
        }
        let mut loaded = Vec::new();
        // A cold cache compiles every plugin (seconds each on a small
        // machine): progress in the log says the start is not stuck.
        let (total, mut finished) = (loading.len(), 0);
        // A warm cache loads in milliseconds: the ticker only speaks when
        // loading takes longer, i.e. while plugins compile.
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3));
        tick.tick().await;
        loop {
            let joined = tokio::select! {
                joined = loading.join_next() => match joined {
                    Some(joined) => joined,
                    None => break,
                },
                _ = tick.tick() => {
                    tracing::info!("compiling plugins {finished}/{total} ... (cold cache: {})", self.config().cache_dir.display());
                    continue;
                }
            };
            finished += 1;
            match joined {
                Ok((index, name, Ok((p, compiled, took)))) => {
                    if compiled {
                        tracing::info!(
                            "compiling plugins {finished}/{total}: {name} in {:.1} s (cached for later starts)",
                            took.as_secs_f64()
                        );
                    }
                    loaded.push((index, Arc::new(p)))
                }
                Ok((_, name, Err(e))) => tracing::error!("plugin {name} not loaded: {e:#}"),
                Err(e) => tracing::error!("a plugin failed to load: {e}"),
            }
        }
        // Keep the manifest's order (routing ties, listings).
        loaded.sort_by_key(|(index, _)| *index);
        let plugins: Vec<Arc<Plugin>> = loaded.into_iter().map(|(_, p)| p).collect();
        for p in &plugins {
            self.sweep_blobs(p);
        }
        plugins
    }

    /// Loads one plugin again (hot reload): a new component over the same
    /// data. `previous` (the loaded plugin's core) is kept — its settings
    /// overlays, commit sequence, retry lock — when the plugins.toml entry
    /// is unchanged.
    pub async fn reload_plugin(
        &self,
        name: &str,
        entry: PluginEntry,
        previous: Option<Arc<PluginCore>>,
    ) -> anyhow::Result<Plugin> {
        let previous = previous.filter(|core| core.entry == entry);
        Ok(self.load_plugin(name, entry, previous).await?.0)
    }

    /// A plugin at start: from its cached description when there is one,
    /// else described now; either way its code is not kept. A plugin whose
    /// database already holds a schema version (data of an earlier run,
    /// PERSIST_STATE) is loaded now: its boot hook may have work to resume,
    /// and its data may need migrating.
    /// Also says whether the plugin was compiled now (a cold cache).
    async fn open_plugin(&self, name: &str, entry: PluginEntry) -> anyhow::Result<(Plugin, bool)> {
        let Some(described) = self.cache.described(&entry.path) else {
            let (plugin, source) = self.load_plugin(name, entry, None).await?;
            return Ok((plugin, source == cache::Source::Compiled));
        };
        let core = self.new_core(name, entry)?;
        let plugin = self.assemble(core, described, None)?;
        if plugin.core.db.schema_version()?.is_some() {
            self.code(&plugin)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        }
        Ok((plugin, false))
    }

    fn new_core(&self, name: &str, entry: PluginEntry) -> anyhow::Result<Arc<PluginCore>> {
        let db = self.shared.stores.database(name)?;
        Ok(Arc::new(PluginCore::new(name, entry, db)))
    }

    /// Loads the wasm, describes it and remembers the description; where
    /// its code came from (kept only when the plugin is in use).
    async fn load_plugin(
        &self,
        name: &str,
        entry: PluginEntry,
        core: Option<Arc<PluginCore>>,
    ) -> anyhow::Result<(Plugin, cache::Source)> {
        let wasm = std::fs::read(&entry.path)
            .with_context(|| format!("reading {}", entry.path.display()))?;
        let digest = cache::CompileCache::digest(&wasm);
        let runtime = self.wasm()?;
        // Compiling (a cold cache) is CPU work: keep it off the async workers.
        let (engine, cache) = (runtime.engine.clone(), self.cache.clone());
        let (component, load_source) =
            tokio::task::spawn_blocking(move || cache.load(&engine, &wasm)).await??;
        let imports = check_contract(&runtime.engine, &component, name)?;
        let code = Code {
            pre: PluginPre::new(runtime.linker.instantiate_pre(&component)?)?,
            load: LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        let core = match core {
            Some(core) => core,
            None => self.new_core(name, entry)?,
        };
        let ctx = CallContext::host(self.config(), "describe");
        let d = match self
            .run_with_blobs(&code, &core, ctx, Entry::Describe, &[])
            .await
        {
            Ok(Output::Description(d)) => d,
            Ok(_) => unreachable!("describe returns a descriptor"),
            Err(e) => anyhow::bail!("describe failed: {}", e.message),
        };
        let mut described = cache::Described {
            digest,
            name: d.name,
            version: d.version,
            schema_version: d.schema_version,
            implemented: d.implemented,
            raw_routes: d
                .raw_routes
                .into_iter()
                .map(|r| (r.host_suffix, r.path_prefix))
                .collect(),
            capabilities: d.capabilities,
            imports,
            engine_key: cache::CompileCache::engine_key(&runtime.engine),
            model_json: d.model_json,
            model_file: None,
        };
        // Remembered first: the model file it writes is where the model's
        // shapes are read from on first use.
        described.model_file = self.cache.remember(&core.entry.path, &described);
        // A plugin with no data yet is left unloaded, as on a warm start
        // (its code loads again, from the cache, on its first call).
        let in_use = core.db.schema_version()?.is_some();
        let code = in_use.then_some((code, load_source));
        let plugin = self.assemble(core, described, code)?;
        if let Some(code) = plugin.code.get() {
            self.check_schema(code, &plugin.core, plugin.description.schema_version)
                .await?;
        }
        Ok((plugin, load_source))
    }

    /// The plugin for what it described, after the checks that need no
    /// code; `code` when it is loaded already.
    fn assemble(
        &self,
        core: Arc<PluginCore>,
        d: cache::Described,
        code: Option<(Code, cache::Source)>,
    ) -> anyhow::Result<Plugin> {
        let name = core.name.as_str();
        for cap in &d.imports {
            if GRANTED_CAPABILITIES.contains(&cap.as_str())
                && !core.entry.capabilities.contains(cap)
            {
                anyhow::bail!(
                    "{name} imports capability {cap:?}, which plugins.toml does not grant it"
                );
            }
        }
        if d.name != name {
            tracing::warn!(
                "plugin {name} describes itself as {:?}; using {name}",
                d.name
            );
        }
        for cap in &d.capabilities {
            if GRANTED_CAPABILITIES.contains(&cap.as_str())
                && !core.entry.capabilities.contains(cap)
            {
                anyhow::bail!(
                    "needs capability {cap:?}: grant it in plugins.toml (capabilities = [{cap:?}])"
                );
            }
        }
        // Kept in memory only when no cached file holds it: an idle
        // service keeps its operations, not its shapes.
        let model = match d.shape_loader() {
            Some(reload) => ServiceModel::from_json_reloadable(&d.model_json, reload),
            None => ServiceModel::from_json(&d.model_json),
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::debug!(plugin = name, "model parsed");
        let description = Description {
            version: d.version,
            schema_version: d.schema_version,
            // The gateway's reserved authorization handlers are no model
            // operation: left out of what the plugin lists as implemented
            // (the dispatcher lets the gateway call them by their prefix).
            implemented: d
                .implemented
                .into_iter()
                .filter(|op| !op.starts_with(AUTHZ_OPERATION_PREFIX))
                .collect(),
            raw_routes: d.raw_routes,
            capabilities: d.capabilities,
        };
        for op in &description.implemented {
            anyhow::ensure!(
                model.has_operation(op),
                "implements {op:?}, which its model does not define"
            );
        }
        let (cell, load_source) = (tokio::sync::OnceCell::new(), OnceLock::new());
        if let Some((code, source)) = code {
            let _ = cell.set(code);
            let _ = load_source.set(source);
        }
        Ok(Plugin {
            core,
            description,
            model,
            code: cell,
            digest: d.digest,
            load_source,
        })
    }

    /// Checks the stored data's schema version against the plugin's, and
    /// migrates older data; records the version on first use.
    async fn check_schema(
        &self,
        code: &Code,
        core: &Arc<PluginCore>,
        want: u32,
    ) -> anyhow::Result<()> {
        match core.db.schema_version()? {
            Some(stored) if stored > want => anyhow::bail!(
                "its stored data has schema version {stored}, newer than this plugin's {want}; \
                 use a newer plugin or reset the state (POST /_ministack/reset)",
            ),
            Some(stored) if stored < want => {
                let payload = stored.to_string();
                let ctx = CallContext::host(self.config(), "migrate");
                self.run_with_blobs(
                    code,
                    core,
                    ctx,
                    Entry::Task {
                        name: "ministack:migrate",
                        payload: &payload,
                        id: None,
                    },
                    &[],
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!("migrating data from schema {stored}: {}", e.message)
                })?;
                core.db.set_schema_version(want)?;
            }
            Some(_) => {}
            None => core.db.set_schema_version(want)?,
        }
        Ok(())
    }

    /// Loads the plugin's code if it is not yet loaded.
    pub async fn load(&self, plugin: &Plugin) -> Result<(), AwsError> {
        self.code(plugin).await.map(|_| ())
    }

    /// The plugin's code, loaded now if it is not yet (its first call):
    /// the precompiled code of the wasm it described, then the schema check.
    async fn code<'a>(&self, plugin: &'a Plugin) -> Result<&'a Code, AwsError> {
        if let Some(code) = plugin.code.get() {
            return Ok(code);
        }
        // Boxed: inline, loading would size every call's future.
        Box::pin(self.load_code(plugin)).await
    }

    async fn load_code<'a>(&self, plugin: &'a Plugin) -> Result<&'a Code, AwsError> {
        let t = std::time::Instant::now();
        let loaded = plugin
            .code
            .get_or_try_init(|| async {
                let runtime = self.wasm()?;
                let (engine, cache) = (runtime.engine.clone(), self.cache.clone());
                let (digest, path) = (plugin.digest.clone(), plugin.core.entry.path.clone());
                let (component, source) = tokio::task::spawn_blocking(move || {
                    if let Some(c) = cache.load_digest(&engine, &digest) {
                        return Ok((c, cache::Source::Cache));
                    }
                    // Its code left the cache: compile the wasm again, if
                    // it is still the one described.
                    let wasm = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    anyhow::ensure!(
                        cache::CompileCache::digest(&wasm) == digest,
                        "{} changed since it was described; reload the plugin \
                         (POST /_ministack/plugins/reload)",
                        path.display()
                    );
                    cache.load(&engine, &wasm)
                })
                .await??;
                let code = Code {
                    pre: PluginPre::new(runtime.linker.instantiate_pre(&component)?)?,
                    load: LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                };
                self.check_schema(&code, &plugin.core, plugin.description.schema_version)
                    .await?;
                let _ = plugin.load_source.set(source);
                anyhow::Ok(code)
            })
            .await;
        let code = loaded
            .map_err(|e| internal_failure(format!("loading plugin {}: {e:#}", plugin.name())))?;
        tracing::debug!(
            plugin = plugin.name(),
            "loaded on first use in {:?}",
            t.elapsed()
        );
        Ok(code)
    }

    /// Deletes blobs no unit ever registered (a crash between the bytes and
    /// the commit).
    fn sweep_blobs(&self, plugin: &Plugin) {
        let mut unit = plugin.core.db.begin();
        let mut orphans = 0;
        for id in self.shared.blobs.list(plugin.name()) {
            if matches!(
                unit.get(capabilities::blobs::REGISTRY_TABLE, id.as_bytes()),
                Ok(None)
            ) {
                self.shared.blobs.release(plugin.name(), &id);
                orphans += 1;
            }
        }
        unit.rollback();
        if orphans > 0 {
            tracing::info!(plugin = plugin.name(), orphans, "swept unregistered blobs");
        }
    }

    /// Runs one entry of a loaded plugin. `blobs` (already in the plugin's
    /// namespace) are registered in its unit; releasing them when the call
    /// fails is the caller's (the dispatcher's).
    pub async fn run(
        &self,
        plugin: &Plugin,
        ctx: CallContext,
        entry: Entry<'_>,
        blobs: &[String],
    ) -> Result<Output, AwsError> {
        let code = self.code(plugin).await?;
        self.run_with_blobs(code, &plugin.core, ctx, entry, blobs)
            .await
    }

    async fn run_with_blobs(
        &self,
        code: &Code,
        core: &Arc<PluginCore>,
        ctx: CallContext,
        entry: Entry<'_>,
        blobs: &[String],
    ) -> Result<Output, AwsError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let turn = core.contention.turn(attempt, ctx.depth).await;
            match self.run_once(code, core, &ctx, &entry, blobs, turn).await {
                Err(Attempt::Retry) => {
                    core.contention.note_rerun();
                    continue;
                }
                Err(Attempt::Failed(e)) => return Err(e),
                Ok(out) => return Ok(out),
            }
        }
        Err(internal_failure(format!(
            "plugin {} could not finish: too many conflicting concurrent requests",
            core.name
        )))
    }

    async fn run_once(
        &self,
        code: &Code,
        core: &Arc<PluginCore>,
        ctx: &CallContext,
        entry: &Entry<'_>,
        blobs: &[String],
        turn: Option<Turn>,
    ) -> Result<Output, Attempt> {
        let mut req = RequestState::new(self.shared.clone(), core.clone(), ctx.clone());
        req.turn = turn;
        for id in blobs {
            req.register_blob(id)
                .map_err(|e| Attempt::Failed(internal_failure(e.to_string())))?;
        }
        let mut inst = match self.pool.take(code.load, &ctx.account) {
            Some(mut idle) => {
                idle.store.data_mut().req = req;
                idle.store.set_epoch_deadline(1);
                idle
            }
            None => self.instantiate(&code.pre, core, req).await?,
        };
        if let Entry::Task { id: Some(id), .. } = entry {
            match capabilities::tasks::claim(inst.store.data_mut().req.unit(), id) {
                Ok(true) => {}
                Ok(false) => {
                    // Cancelled, reset or already run.
                    inst.store.data_mut().req.rollback();
                    self.pool.give(code.load, &ctx.account, inst);
                    return Ok(Output::Done);
                }
                Err(e) => return Err(Attempt::Failed(internal_failure(e.to_string()))),
            }
        }
        let result = call_entry(&inst.bindings, &mut inst.store, core, ctx, entry).await;
        if matches!(result, Ok(Ok(_))) {
            // The call is over: the instance goes back to the pool (or is
            // dropped, its linear memory given back) before the unit's
            // commit is awaited, so requests waiting on a commit hold no
            // instance. A unit that then conflicts re-runs on whichever
            // instance is idle, as it would after the commit.
            let Ok(Ok(out)) = result else {
                unreachable!("matched above")
            };
            let mut req = std::mem::replace(
                &mut inst.store.data_mut().req,
                RequestState::idle(self.shared.clone(), core.clone()),
            );
            if matches!(entry, Entry::Describe) {
                drop(inst);
            } else {
                self.pool.give(code.load, &ctx.account, inst);
            }
            return match req.commit_unit().await {
                Ok(()) => Ok(out),
                Err(HostTrap::Retry) => {
                    tokio::task::yield_now().await;
                    Err(Attempt::Retry)
                }
                Err(e) => Err(Attempt::Failed(internal_failure(e.to_string()))),
            };
        }
        let trapped = result.is_err();
        let outcome = match result {
            Ok(Ok(_)) => unreachable!("answered above"),
            Ok(Err(aws)) => {
                inst.store.data_mut().req.rollback_answered();
                Err(Attempt::Failed(from_wit_error(aws)))
            }
            Err(trap) => {
                inst.store.data_mut().req.rollback();
                if matches!(trap.downcast_ref::<HostTrap>(), Some(HostTrap::Retry)) {
                    Err(Attempt::Retry)
                } else {
                    Err(Attempt::Failed(describe_trap(
                        &core.name,
                        &trap,
                        inst.store.data(),
                    )))
                }
            }
        };
        // A trapped instance may be mid-way through anything: never reused.
        // Load-time calls (describe, migrate) keep nothing resident.
        if !trapped && !matches!(entry, Entry::Describe) {
            self.pool.give(code.load, &ctx.account, inst);
        }
        if let Err(Attempt::Retry) = &outcome {
            tokio::task::yield_now().await;
        }
        outcome
    }
}

impl Runtime {
    /// A new instance of the plugin, its store holding `req`.
    async fn instantiate(
        &self,
        pre: &PluginPre<HostState>,
        core: &PluginCore,
        req: RequestState,
    ) -> Result<pool::Instance, Attempt> {
        // An instance is of loaded code: the engine is built.
        let engine = &self
            .wasm()
            .map_err(|e| Attempt::Failed(internal_failure(e.to_string())))?
            .engine;
        let mut store = Store::new(engine, HostState::new(req));
        store.limiter(|s| &mut s.limits);
        let limit_ms = core.entry.timeout_ms;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |s| {
            let req = &s.data().req;
            if req.started.elapsed().saturating_sub(req.waited) > Duration::from_millis(limit_ms) {
                Err(wasmtime::Error::new(HostTrap::TimeLimit(limit_ms)))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        match pre.instantiate_async(&mut store).await {
            Ok(bindings) => Ok(pool::Instance {
                store,
                bindings,
                uses: 0,
            }),
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                Err(Attempt::Failed(AwsError::new(
                    "ServiceUnavailable",
                    "too many requests in flight; raise MINISTACK_MAX_INSTANCES",
                    503,
                )))
            }
            Err(e) => Err(Attempt::Failed(internal_failure(format!(
                "instantiating plugin {}: {e}",
                core.name
            )))),
        }
    }
}

enum Attempt {
    Retry,
    Failed(AwsError),
}

async fn call_entry(
    instance: &PluginBindings,
    store: &mut Store<HostState>,
    core: &PluginCore,
    ctx: &CallContext,
    entry: &Entry<'_>,
) -> wasmtime::Result<Result<Output, bindings::AwsError>> {
    let service = instance.ministack_plugin_service();
    let configured;
    let endpoint = match &ctx.endpoint {
        Some(e) => e.as_str(),
        None => {
            configured = store.data().req.shared.config.endpoint();
            configured.as_str()
        }
    };
    let settings = core.call_settings();
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let wit_ctx = bindings::Context {
        account: &ctx.account,
        region: &ctx.region,
        request_id: &ctx.request_id,
        access_key_id: &ctx.access_key_id,
        caller_arn: &ctx.caller_arn,
        endpoint,
        settings: &settings,
    };
    match entry {
        Entry::Describe => Ok(Ok(Output::Description(
            service.call_describe(&mut *store).await?,
        ))),
        Entry::Handle {
            operation,
            input_json,
        } => {
            let call = bindings::Call {
                ctx: wit_ctx,
                operation,
                input_json,
            };
            Ok(service
                .call_handle(&mut *store, call)
                .await?
                .map(Output::Json))
        }
        Entry::Task { name, payload, .. } => Ok(service
            .call_on_task(&mut *store, wit_ctx, name, payload)
            .await?
            .map(|()| Output::Done)),
        Entry::Http(r) => {
            let headers: Vec<(&str, &str)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let request = bindings::HttpRequest {
                ctx: wit_ctx,
                method: &r.method,
                path: &r.path,
                query: &r.query,
                headers: &headers,
                body: &r.body,
            };
            Ok(Ok(Output::Http(
                service.call_handle_http(&mut *store, request).await?,
            )))
        }
    }
}

/// Turns a trap into the error the client sees, saying what happened.
fn describe_trap(plugin: &str, trap: &wasmtime::Error, state: &HostState) -> AwsError {
    let stderr = String::from_utf8_lossy(&state.stderr.contents()).to_string();
    let reason = if let Some(t) = trap.downcast_ref::<HostTrap>() {
        t.to_string()
    } else if state.limits.hit {
        format!(
            "the plugin exceeded its memory limit of {} MiB",
            state.limits.max_bytes >> 20
        )
    } else if let Some(line) = stderr.lines().find(|l| l.contains("panicked")) {
        format!("the plugin panicked: {}", line.trim())
    } else {
        format!("the plugin trapped: {}", trap.root_cause())
    };
    tracing::warn!(plugin, "{reason}");
    if !stderr.is_empty() {
        tracing::debug!(plugin, "stderr: {stderr}");
    }
    internal_failure(format!(
        "Service {plugin} failed to process the request: {reason}"
    ))
}

/// Checks the component against the contract (it exports our `service`
/// interface in a compatible version); the capability interfaces it
/// imports, which plugins.toml must grant when they are not basic.
fn check_contract(
    engine: &Engine,
    component: &Component,
    name: &str,
) -> anyhow::Result<Vec<String>> {
    let ty = component.component_type();
    let prefix = format!("{}/service@", bindings::CONTRACT_PACKAGE);
    let export = ty
        .exports(engine)
        .map(|(n, _)| n.to_string())
        .find(|n| n.starts_with(&prefix));
    let Some(export) = export else {
        anyhow::bail!(
            "{name} is not a ministack plugin: it does not export {}/service",
            bindings::CONTRACT_PACKAGE
        );
    };
    let version = &export[prefix.len()..];
    let mut parts = version
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(u64::MAX));
    let (major, minor) = (
        parts.next().unwrap_or(u64::MAX),
        parts.next().unwrap_or(u64::MAX),
    );
    let (want_major, want_minor) = bindings::CONTRACT_VERSION;
    let compatible = if want_major == 0 {
        major == 0 && minor == want_minor
    } else {
        major == want_major
    };
    anyhow::ensure!(
        compatible,
        "{name} was built for {}@{version}, but this gateway implements {}@{want_major}.{want_minor}.x; \
         rebuild the plugin with a matching ministack-sdk",
        bindings::CONTRACT_PACKAGE,
        bindings::CONTRACT_PACKAGE
    );
    let cap_prefix = format!("{}/", bindings::CONTRACT_PACKAGE);
    Ok(ty
        .imports(engine)
        .filter_map(|(import, _)| {
            let rest = import.strip_prefix(&cap_prefix)?;
            Some(rest.split('@').next().unwrap_or(rest).to_string())
        })
        .collect())
}

impl RequestState {
    /// Registers a blob the host made for this call (a streamed body).
    pub fn register_blob(&mut self, id: &str) -> Result<(), HostTrap> {
        self.unit()
            .put(capabilities::blobs::REGISTRY_TABLE, id.as_bytes(), b"")?;
        Ok(())
    }
}
