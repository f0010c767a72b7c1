//! The plugin runtime: loading components, and calling them with a fresh
//! instance per call.
//!
//! - [`manifest`]: plugins.toml and friends.
//! - [`engine`], [`cache`]: the wasmtime engine and precompiled code.
//! - [`Runtime::call`]: one call = one store + instance + atomic state unit;
//!   retried transparently when its unit conflicts with a concurrent one.

pub mod bindings;
pub mod cache;
pub mod engine;
mod handoff;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use ministack_protocol::{AwsError, ServiceModel};
use ministack_state::blobs::{BlobConfig, BlobStore};
use ministack_state::{Database, StateConfig, Stores};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::capabilities::identity::CredentialRegistry;
use crate::capabilities::tasks::TaskRegistry;
use crate::capabilities::{self, CallContext, HostState, HostTrap, RequestState};
use crate::config::Config;
use crate::router::Router;
use bindings::{Plugin as PluginBindings, PluginPre};
use manifest::{GRANTED_CAPABILITIES, Manifest, PluginEntry};

/// Name of the host's own database (credentials).
const IDENTITY_DB: &str = "__identity";
/// Transparent re-runs of a request whose unit conflicted.
const MAX_ATTEMPTS: u32 = 64;
/// After this many conflicts a request re-runs under its plugin's retry lock.
const OPTIMISTIC_ATTEMPTS: u32 = 3;

/// What every call of a plugin shares, known before its `describe`.
pub struct PluginCore {
    pub name: String,
    pub entry: PluginEntry,
    pub db: Arc<Database>,
    commit_seq: AtomicU64,
    /// plugins.toml settings, overlaid by POST /_ministack/config.
    pub settings: RwLock<BTreeMap<String, String>>,
    /// Serializes requests that keep conflicting, so they finish.
    retry_lock: tokio::sync::Mutex<()>,
}

impl PluginCore {
    pub fn commit_seq(&self) -> u64 {
        self.commit_seq.load(Ordering::Acquire)
    }
    pub fn bump_commit_seq(&self) {
        self.commit_seq.fetch_add(1, Ordering::AcqRel);
    }
}

/// What `describe` told us, checked.
#[derive(Clone, Debug)]
pub struct Description {
    pub version: String,
    pub schema_version: u32,
    pub implemented: BTreeSet<String>,
    pub raw_routes: Vec<(String, String)>,
    pub capabilities: Vec<String>,
}

/// A loaded plugin.
pub struct Plugin {
    pub core: Arc<PluginCore>,
    pub description: Description,
    pub model: ServiceModel,
    pre: PluginPre<HostState>,
    pub load_source: cache::Source,
}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.core.name
    }
}

/// The loaded plugins and the routes to them.
pub struct Registry {
    pub plugins: Vec<Arc<Plugin>>,
    pub by_name: HashMap<String, Arc<Plugin>>,
    pub router: Router,
}

/// The host side of every plugin call.
pub struct Runtime {
    pub config: Config,
    pub engine: Engine,
    linker: Linker<HostState>,
    pub stores: Stores,
    pub blobs: BlobStore,
    pub identity: CredentialRegistry,
    pub tasks: TaskRegistry,
    pub functions: Arc<crate::functions::Functions>,
    /// Docker engine and local server processes (capabilities::containers).
    pub docker: Arc<crate::docker::Docker>,
    pub processes: Arc<crate::processes::Processes>,
    registry: OnceLock<Registry>,
}

/// What to call in a plugin instance.
enum Entry<'a> {
    Describe,
    Handle {
        operation: &'a str,
        input_json: &'a str,
    },
    Task {
        name: &'a str,
        payload: &'a str,
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

enum Output {
    Description(bindings::Descriptor),
    Json(String),
    Http(bindings::HttpResponse),
    Done,
}

pub fn internal_failure(message: impl Into<String>) -> AwsError {
    AwsError {
        code: "InternalFailure".into(),
        message: message.into(),
        status: Some(500),
        sender_fault: false,
        extra: None,
    }
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
    /// Builds the engine, opens state, loads every enabled plugin.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Self>> {
        let t0 = std::time::Instant::now();
        let mut manifest = if config.plugins_file.exists() {
            Manifest::read(&config.plugins_file)?
        } else {
            tracing::warn!("no plugins file at {}", config.plugins_file.display());
            Manifest::default()
        };
        if let Some(extra) = &config.extra_plugins_file {
            manifest.merge(Manifest::read(extra)?);
        }
        if let Some(dir) = &config.plugins_dir {
            manifest.add_dir(dir)?;
        }
        let entries = manifest.enabled(config.services.as_deref());
        let max_memory_mb = entries
            .iter()
            .map(|(_, e)| e.memory_mb)
            .max()
            .unwrap_or(manifest::DEFAULT_MEMORY_MB);

        let engine = engine::build(&engine::EngineSettings {
            max_instances: config.max_instances,
            max_memory_bytes: max_memory_mb << 20,
        })?;
        engine::start_ticker(&engine);
        tracing::debug!("engine built in {:?}", t0.elapsed());
        let mut linker = Linker::new(&engine);
        capabilities::add_to_linker(&mut linker)?;

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
        let (docker, processes) = capabilities::containers::open(&config)?;
        let cache = cache::CompileCache::new(&engine, config.cache_dir.clone());
        let functions = crate::functions::Functions::new(
            &config.cache_dir,
            config.port,
            &config.default_secret,
            docker.clone(),
        )?;
        tracing::debug!("state opened at {:?}", t0.elapsed());
        let runtime = Arc::new(Self {
            config,
            engine,
            linker,
            stores,
            blobs,
            identity,
            tasks: TaskRegistry::default(),
            functions,
            docker,
            processes,
            registry: OnceLock::new(),
        });

        // Plugins load side by side: compiling (cold cache) and describing
        // each is independent work.
        let cache = Arc::new(cache);
        let mut loading = tokio::task::JoinSet::new();
        for (index, (name, entry)) in entries.into_iter().enumerate() {
            let (runtime, cache) = (runtime.clone(), cache.clone());
            loading.spawn(async move {
                let t = std::time::Instant::now();
                let loaded = runtime.load_plugin(cache, &name, entry).await;
                tracing::debug!(plugin = name, "loaded in {:?}", t.elapsed());
                (index, name, loaded)
            });
        }
        let mut loaded = Vec::new();
        while let Some(joined) = loading.join_next().await {
            match joined {
                Ok((index, _, Ok(p))) => loaded.push((index, Arc::new(p))),
                Ok((_, name, Err(e))) => tracing::error!("plugin {name} not loaded: {e:#}"),
                Err(e) => tracing::error!("a plugin failed to load: {e}"),
            }
        }
        // Keep the manifest's order (routing ties, listings).
        loaded.sort_by_key(|(index, _)| *index);
        let plugins: Vec<Arc<Plugin>> = loaded.into_iter().map(|(_, p)| p).collect();
        for p in &plugins {
            runtime.sweep_blobs(p);
        }
        let by_name = plugins
            .iter()
            .map(|p| (p.name().to_string(), p.clone()))
            .collect();
        let router = Router::new(&plugins);
        let _ = runtime.registry.set(Registry {
            plugins,
            by_name,
            router,
        });
        Ok(runtime)
    }

    pub fn registry(&self) -> &Registry {
        self.registry
            .get()
            .expect("plugins are loaded before serving")
    }

    async fn load_plugin(
        self: &Arc<Self>,
        cache: Arc<cache::CompileCache>,
        name: &str,
        entry: PluginEntry,
    ) -> anyhow::Result<Plugin> {
        let wasm = std::fs::read(&entry.path)
            .with_context(|| format!("reading {}", entry.path.display()))?;
        // Compiling (a cold cache) is CPU work: keep it off the async workers.
        let engine = self.engine.clone();
        let (component, load_source) =
            tokio::task::spawn_blocking(move || cache.load(&engine, &wasm)).await??;
        check_contract(&self.engine, &component, name, &entry)?;
        let pre = PluginPre::new(self.linker.instantiate_pre(&component)?)?;
        let core = Arc::new(PluginCore {
            name: name.to_string(),
            settings: RwLock::new(entry.settings.clone()),
            entry,
            db: self.stores.database(name)?,
            commit_seq: AtomicU64::new(0),
            retry_lock: tokio::sync::Mutex::new(()),
        });
        let ctx = CallContext {
            account: self.config.default_account.clone(),
            region: self.config.default_region.clone(),
            request_id: "describe".into(),
            access_key_id: String::new(),
            caller_arn: String::new(),
            depth: 0,
        };
        let d = match self.run(&pre, &core, ctx.clone(), Entry::Describe).await {
            Ok(Output::Description(d)) => d,
            Ok(_) => unreachable!("describe returns a descriptor"),
            Err(e) => anyhow::bail!("describe failed: {}", e.message),
        };
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
        tracing::debug!(
            plugin = name,
            "described at {:?}",
            std::time::Instant::now()
        );
        let model = ServiceModel::from_json(&d.model_json).map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::debug!(plugin = name, "model parsed");
        let description = Description {
            version: d.version,
            schema_version: d.schema_version,
            implemented: d.implemented.into_iter().collect(),
            raw_routes: d
                .raw_routes
                .into_iter()
                .map(|r| (r.host_suffix, r.path_prefix))
                .collect(),
            capabilities: d.capabilities,
        };
        for op in &description.implemented {
            anyhow::ensure!(
                model.has_operation(op),
                "implements {op:?}, which its model does not define"
            );
        }
        match core.db.schema_version()? {
            Some(stored) if stored > description.schema_version => anyhow::bail!(
                "its stored data has schema version {stored}, newer than this plugin's {}; \
                 use a newer plugin or reset the state (POST /_ministack/reset)",
                description.schema_version
            ),
            Some(stored) if stored < description.schema_version => {
                let payload = stored.to_string();
                self.run(
                    &pre,
                    &core,
                    ctx,
                    Entry::Task {
                        name: "ministack:migrate",
                        payload: &payload,
                    },
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!("migrating data from schema {stored}: {}", e.message)
                })?;
                core.db.set_schema_version(description.schema_version)?;
            }
            Some(_) => {}
            None => core.db.set_schema_version(description.schema_version)?,
        }
        tracing::debug!(plugin = name, ?load_source, "loaded");
        Ok(Plugin {
            core,
            description,
            model,
            pre,
            load_source,
        })
    }

    /// Deletes blobs no unit ever registered (a crash between the bytes and
    /// the commit).
    fn sweep_blobs(&self, plugin: &Plugin) {
        let mut unit = plugin.core.db.begin();
        let mut orphans = 0;
        for id in self.blobs.list(plugin.name()) {
            if matches!(
                unit.get(capabilities::blobs::REGISTRY_TABLE, id.as_bytes()),
                Ok(None)
            ) {
                self.blobs.release(plugin.name(), &id);
                orphans += 1;
            }
        }
        unit.rollback();
        if orphans > 0 {
            tracing::info!(plugin = plugin.name(), orphans, "swept unregistered blobs");
        }
    }

    /// Calls an operation of a plugin. `body_blob` is a blob the host
    /// streamed the request body into; the call owns it.
    pub async fn call(
        self: &Arc<Self>,
        plugin: &Arc<Plugin>,
        ctx: CallContext,
        operation: &str,
        input_json: &str,
        body_blob: Option<&str>,
    ) -> Result<String, AwsError> {
        let blobs: Vec<String> = body_blob.map(str::to_string).into_iter().collect();
        self.call_owning(plugin, ctx, operation, input_json, &blobs)
            .await
    }

    /// Calls an operation that owns `blobs` (already in the plugin's
    /// namespace): registered in its unit, released if the call fails.
    async fn call_owning(
        self: &Arc<Self>,
        plugin: &Arc<Plugin>,
        ctx: CallContext,
        operation: &str,
        input_json: &str,
        blobs: &[String],
    ) -> Result<String, AwsError> {
        let result = self
            .run_with_blobs(
                &plugin.pre,
                &plugin.core,
                ctx,
                Entry::Handle {
                    operation,
                    input_json,
                },
                blobs,
            )
            .await;
        match result {
            Ok(Output::Json(s)) => Ok(s),
            Ok(_) => unreachable!("handle returns json"),
            Err(e) => {
                for id in blobs {
                    self.blobs.release(plugin.name(), id);
                }
                Err(e)
            }
        }
    }

    /// services.call: an operation of another plugin, by name. Blob refs
    /// in the input (the caller's) and in the output (the callee's) are
    /// handed over: shared into the other side's namespace, the caller's
    /// copies returned for it to adopt.
    pub async fn call_service(
        self: Arc<Self>,
        caller: &str,
        service: &str,
        ctx: CallContext,
        operation: &str,
        input_json: &str,
    ) -> Result<(String, Vec<String>), AwsError> {
        let Some(plugin) = self.registry().by_name.get(service).cloned() else {
            return Err(AwsError::new(
                "ServiceUnavailable",
                format!("service {service} is not enabled in this gateway"),
                503,
            ));
        };
        if !plugin.description.implemented.contains(operation) {
            return Err(not_implemented(&plugin, operation));
        }
        let (input, handed_in) = handoff::share_blob_refs(&self.blobs, input_json, caller, service)
            .map_err(|e| AwsError::new("InvalidParameterValue", e, 400))?;
        let output = self
            .call_owning(&plugin, ctx, operation, &input, &handed_in)
            .await?;
        handoff::share_blob_refs(&self.blobs, &output, service, caller).map_err(internal_failure)
    }

    /// A request on one of the plugin's raw routes (`handle-http`).
    pub async fn call_http(
        self: &Arc<Self>,
        plugin: &Arc<Plugin>,
        ctx: CallContext,
        request: &RawRequest,
    ) -> Result<bindings::HttpResponse, AwsError> {
        match self
            .run(&plugin.pre, &plugin.core, ctx, Entry::Http(request))
            .await?
        {
            Output::Http(r) => Ok(r),
            _ => unreachable!("handle-http returns a response"),
        }
    }

    /// A scheduled task (tasks.schedule) coming due.
    pub async fn run_task(
        self: &Arc<Self>,
        plugin: &str,
        ctx: CallContext,
        name: &str,
        payload: &str,
    ) -> Result<(), AwsError> {
        let Some(plugin) = self.registry().by_name.get(plugin).cloned() else {
            return Ok(());
        };
        self.run(
            &plugin.pre,
            &plugin.core,
            ctx,
            Entry::Task { name, payload },
        )
        .await
        .map(|_| ())
    }

    async fn run(
        self: &Arc<Self>,
        pre: &PluginPre<HostState>,
        core: &Arc<PluginCore>,
        ctx: CallContext,
        entry: Entry<'_>,
    ) -> Result<Output, AwsError> {
        self.run_with_blobs(pre, core, ctx, entry, &[]).await
    }

    async fn run_with_blobs(
        self: &Arc<Self>,
        pre: &PluginPre<HostState>,
        core: &Arc<PluginCore>,
        ctx: CallContext,
        entry: Entry<'_>,
        blobs: &[String],
    ) -> Result<Output, AwsError> {
        let mut serial = None;
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > OPTIMISTIC_ATTEMPTS && serial.is_none() {
                serial = Some(core.retry_lock.lock().await);
            }
            match self.run_once(pre, core, ctx.clone(), &entry, blobs).await {
                Err(Attempt::Retry) => continue,
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
        self: &Arc<Self>,
        pre: &PluginPre<HostState>,
        core: &Arc<PluginCore>,
        ctx: CallContext,
        entry: &Entry<'_>,
        blobs: &[String],
    ) -> Result<Output, Attempt> {
        let mut req = RequestState::new(self.clone(), core.clone(), ctx.clone());
        for id in blobs {
            req.register_blob(id)
                .map_err(|e| Attempt::Failed(internal_failure(e.to_string())))?;
        }
        let mut store = Store::new(&self.engine, HostState::new(req));
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
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(i) => i,
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                return Err(Attempt::Failed(AwsError::new(
                    "ServiceUnavailable",
                    "too many requests in flight; raise MINISTACK_MAX_INSTANCES",
                    503,
                )));
            }
            Err(e) => {
                return Err(Attempt::Failed(internal_failure(format!(
                    "instantiating plugin {}: {e}",
                    core.name
                ))));
            }
        };
        let result = call_entry(&instance, &mut store, core, &ctx, entry).await;
        let outcome = match result {
            Ok(Ok(out)) => match store.data_mut().req.commit_unit().await {
                Ok(()) => Ok(out),
                Err(HostTrap::Retry) => Err(Attempt::Retry),
                Err(e) => Err(Attempt::Failed(internal_failure(e.to_string()))),
            },
            Ok(Err(aws)) => {
                store.data_mut().req.rollback();
                Err(Attempt::Failed(from_wit_error(aws)))
            }
            Err(trap) => {
                store.data_mut().req.rollback();
                if matches!(trap.downcast_ref::<HostTrap>(), Some(HostTrap::Retry)) {
                    Err(Attempt::Retry)
                } else {
                    Err(Attempt::Failed(describe_trap(
                        &core.name,
                        &trap,
                        store.data(),
                    )))
                }
            }
        };
        if let Err(Attempt::Retry) = &outcome {
            tokio::task::yield_now().await;
        }
        outcome
    }

    /// Empties every plugin's state and blobs, and forgets credentials.
    pub fn reset(&self, only: Option<&str>) -> anyhow::Result<()> {
        match only {
            Some(name) => {
                let plugin = self
                    .registry()
                    .by_name
                    .get(name)
                    .context("no such plugin")?;
                plugin.core.db.reset()?;
                self.blobs.reset(Some(name))?;
                plugin.core.bump_commit_seq();
            }
            None => {
                self.tasks.cancel_all();
                self.functions.release_all();
                self.stores.reset_all()?;
                self.blobs.reset(None)?;
                self.identity.clear();
                for p in &self.registry().plugins {
                    p.core.db.set_schema_version(p.description.schema_version)?;
                    p.core.bump_commit_seq();
                }
            }
        }
        Ok(())
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
    let wit_ctx = wit_context(store.data().req.runtime.config.endpoint(), core, ctx);
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
                operation: operation.to_string(),
                input_json: input_json.to_string(),
            };
            Ok(service
                .call_handle(&mut *store, &call)
                .await?
                .map(Output::Json))
        }
        Entry::Task { name, payload } => Ok(service
            .call_on_task(&mut *store, &wit_ctx, name, payload)
            .await?
            .map(|()| Output::Done)),
        Entry::Http(r) => {
            let request = bindings::HttpRequest {
                ctx: wit_ctx,
                method: r.method.clone(),
                path: r.path.clone(),
                query: r.query.clone(),
                headers: r.headers.clone(),
                body: r.body.clone(),
            };
            Ok(Ok(Output::Http(
                service.call_handle_http(&mut *store, &request).await?,
            )))
        }
    }
}

fn wit_context(endpoint: String, core: &PluginCore, ctx: &CallContext) -> bindings::Context {
    bindings::Context {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        request_id: ctx.request_id.clone(),
        access_key_id: ctx.access_key_id.clone(),
        caller_arn: ctx.caller_arn.clone(),
        endpoint,
        settings: core
            .settings
            .read()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
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

/// The error for an operation the model has and the plugin does not.
pub fn not_implemented(plugin: &Plugin, operation: &str) -> AwsError {
    AwsError::new(
        "NotImplemented",
        format!(
            "The operation {operation} of service {} is not implemented by this gateway yet",
            plugin.name()
        ),
        501,
    )
}

/// Checks the component against the contract: it exports our `service`
/// interface in a compatible version, and imports no capability that
/// plugins.toml does not grant it.
fn check_contract(
    engine: &Engine,
    component: &Component,
    name: &str,
    entry: &PluginEntry,
) -> anyhow::Result<()> {
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
    for (import, _) in ty.imports(engine) {
        let Some(rest) = import.strip_prefix(&cap_prefix) else {
            continue;
        };
        let cap = rest.split('@').next().unwrap_or(rest);
        if GRANTED_CAPABILITIES.contains(&cap) && !entry.capabilities.iter().any(|c| c == cap) {
            anyhow::bail!(
                "{name} imports capability {cap:?}, which plugins.toml does not grant it"
            );
        }
    }
    Ok(())
}

impl RequestState {
    /// Registers a blob the host made for this call (a streamed body).
    pub fn register_blob(&mut self, id: &str) -> Result<(), HostTrap> {
        self.unit()
            .put(capabilities::blobs::REGISTRY_TABLE, id.as_bytes(), b"")?;
        Ok(())
    }
}
