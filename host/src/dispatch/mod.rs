//! The one way into a plugin operation. Every caller — the gateway's
//! pipeline, its S3 browser features (s3edge), `services.call` from another
//! plugin, a task coming due — goes through [`Dispatcher`]: target + caller +
//! operation + input JSON + owned blobs → output JSON or an [`AwsError`].
//!
//! The dispatcher owns what used to be spelled at each call site: building
//! the [`CallContext`] from the caller, the "is it implemented" check, the
//! JSON check of the output, handing blob refs across namespaces
//! ([`handoff`]) and releasing owned blobs when a call fails. Transparent
//! re-runs of a conflicting unit happen in [`Runtime::run`], below it.
//!
//! It also keeps the loaded plugins ([`Registry`]), swappable as a whole so
//! a plugin can be reloaded while requests are in flight (docs/dispatch.md).

pub mod handoff;
mod watch;

use ministack_protocol::FastMap;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, Weak};

use anyhow::Context as _;
use ministack_protocol::AwsError;
use serde_json::Value;

use crate::auth;
use crate::capabilities::{BoxFuture, CallContext, Calls, ServiceTarget, Shared};
use crate::config::Config;
use crate::manifest::{self, Manifest};
use crate::plugins::{Entry, Output, Plugin, RawRequest, Runtime, internal_failure};
use crate::router::Router;

/// The loaded plugins and the routes to them: one immutable snapshot,
/// replaced whole when a plugin is reloaded.
pub struct Registry {
    pub plugins: Vec<Arc<Plugin>>,
    pub by_name: FastMap<String, Arc<Plugin>>,
    pub router: Router,
}

impl Registry {
    pub fn new(plugins: Vec<Arc<Plugin>>) -> Self {
        let by_name = plugins
            .iter()
            .map(|p| (p.name().to_string(), p.clone()))
            .collect();
        let router = Router::new(&plugins);
        Self {
            plugins,
            by_name,
            router,
        }
    }
}

/// Which plugin a call is for.
pub enum Target<'a> {
    /// Already routed (the gateway, s3edge).
    Plugin(&'a Arc<Plugin>),
    /// By service name (services.call).
    Service(&'a str),
}

/// Who calls: decides the context the plugin sees.
pub enum Caller<'a> {
    /// An HTTP request's signer (or the defaults when unsigned).
    Client(auth::Caller),
    /// The gateway's own call, with no signer (S3 CORS rules).
    Gateway,
    /// The gateway's own call in a client's context (ENFORCE_IAM's policy
    /// reads and evaluation): may call the reserved `ministack:authz-` ops.
    GatewayAs(auth::Caller),
    /// Another plugin, through services.call: its context, one level
    /// deeper, in the target's account/region when it names them.
    Plugin {
        name: &'a str,
        parent: &'a CallContext,
        account: String,
        region: String,
    },
}

/// One operation call.
pub struct Call<'a> {
    pub target: Target<'a>,
    pub caller: Caller<'a>,
    pub request_id: &'a str,
    pub operation: &'a str,
    /// Owned when the caller has no further use for it: the text then moves
    /// into the plugin call without a copy (a large body is not held twice).
    pub input_json: Cow<'a, str>,
    /// Blobs already in the target's namespace that the call takes over
    /// (a streamed request body): registered in its unit when it succeeds,
    /// released when anything fails.
    pub blobs: OwnedBlobs,
}

/// What an operation returned, still the plugin's JSON text: the gateway
/// may encode it without parsing it (`protocol::encode_response_text`).
pub struct TextReply {
    pub text: String,
    plugin: String,
}

impl TextReply {
    /// The output as it is, once checked to be JSON.
    #[allow(clippy::result_large_err)]
    pub fn checked(self) -> Result<String, AwsError> {
        match serde_json::from_str::<serde::de::IgnoredAny>(&self.text) {
            Ok(_) => Ok(self.text),
            Err(e) => Err(internal_failure(format!(
                "plugin {} returned invalid JSON: {e}",
                self.plugin
            ))),
        }
    }

    /// The output parsed; a text that is not JSON is the plugin's failure.
    #[allow(clippy::result_large_err)]
    pub fn parse(self) -> Result<Value, AwsError> {
        serde_json::from_str(&self.text).map_err(|e| {
            internal_failure(format!("plugin {} returned invalid JSON: {e}", self.plugin))
        })
    }
}

/// What an operation returned.
pub struct Reply {
    pub output: Value,
    /// Blobs the output refers to that were handed to a plugin caller (its
    /// to adopt); empty for the gateway's calls.
    pub handed_back: Vec<String>,
}

/// Blob ids of one plugin's namespace nobody has registered yet: released
/// when dropped, unless a call took them over.
pub struct OwnedBlobs {
    shared: Option<Arc<Shared>>,
    plugin: String,
    ids: Vec<String>,
}

impl OwnedBlobs {
    pub fn none() -> Self {
        Self {
            shared: None,
            plugin: String::new(),
            ids: Vec::new(),
        }
    }

    pub fn new(shared: &Arc<Shared>, plugin: &str, ids: Vec<String>) -> Self {
        Self {
            shared: Some(shared.clone()),
            plugin: plugin.to_string(),
            ids,
        }
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The call registered them: they are the plugin's now.
    fn keep(mut self) {
        self.ids.clear();
    }
}

impl Drop for OwnedBlobs {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            for id in &self.ids {
                shared.blobs.release(&self.plugin, id);
            }
        }
    }
}

/// Operation names of the resource handlers a plugin may provide.
pub const RESOURCE_OPERATION_PREFIX: &str = "ministack:resource-";
/// The handler listing a plugin's resource types (`{"Types": [...]}`).
pub const RESOURCE_TYPES_OPERATION: &str = "ministack:resource-types";
pub use crate::plugins::AUTHZ_OPERATION_PREFIX;

/// The only way into a plugin operation (see the module docs).
pub struct Dispatcher {
    pub runtime: Arc<Runtime>,
    registry: RwLock<Arc<Registry>>,
    /// One reload at a time (the endpoint and the PLUGINS_DIR watcher).
    reloading: tokio::sync::Mutex<()>,
    /// Plugins whose boot hook has run since the start or the last reset
    /// (it runs once the plugin is loaded: [`Dispatcher::loaded`]).
    hooked: Mutex<HashSet<String>>,
}

/// What a reload did: the plugins swapped in, and those that failed to
/// load (the previous build keeps serving them).
#[derive(Debug, Default)]
pub struct Reloaded {
    pub reloaded: Vec<String>,
    pub errors: BTreeMap<String, String>,
}

impl Dispatcher {
    /// Reads the manifest, builds the runtime and loads every enabled plugin.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Self>> {
        let entries = read_manifest(&config)?.enabled(config.services.as_deref());
        let max_memory_mb = entries
            .iter()
            .map(|(_, e)| e.memory_mb)
            .max()
            .unwrap_or(manifest::DEFAULT_MEMORY_MB);
        let runtime = Runtime::start(config, max_memory_mb)?;
        let dispatcher = Arc::new(Self {
            runtime: runtime.clone(),
            registry: RwLock::new(Arc::new(Registry::new(Vec::new()))),
            reloading: tokio::sync::Mutex::new(()),
            hooked: Mutex::new(HashSet::new()),
        });
        // Before loading: a migration may already call other services.
        let calls: Weak<dyn Calls> = Arc::downgrade(&dispatcher) as Weak<dyn Calls>;
        runtime.shared.set_calls(calls);
        let plugins = runtime.load_all(entries).await;
        let names = plugins.iter().map(|p| p.name().to_string()).collect();
        *dispatcher.registry.write().unwrap() = Arc::new(Registry::new(plugins));
        crate::capabilities::tasks::boot(&runtime.shared, names);
        crate::capabilities::metrics::spawn_flusher(&runtime.shared);
        for p in &dispatcher.registry().plugins {
            if p.is_loaded() {
                dispatcher.boot_hook(p.name());
            }
        }
        if let Some(dir) = dispatcher.config().plugins_dir.clone()
            && dispatcher.config().plugins_watch_ms > 0
        {
            watch::spawn(&dispatcher, dir);
        }
        Ok(dispatcher)
    }

    /// Loads plugins again from the manifest (one, or every enabled one)
    /// and swaps them in: requests in flight finish on the component they
    /// began with, new ones get the new one; the data stays (same
    /// database). A plugin that fails to load keeps its previous build.
    /// Errs when `only` names no enabled plugin.
    pub async fn reload(&self, only: Option<&str>) -> anyhow::Result<Reloaded> {
        let _one_at_a_time = self.reloading.lock().await;
        let config = self.config();
        let entries = read_manifest(config)?.enabled(config.services.as_deref());
        let selected: Vec<_> = entries
            .into_iter()
            .filter(|(name, _)| only.is_none_or(|o| o == name))
            .collect();
        if let Some(name) = only
            && selected.is_empty()
        {
            anyhow::bail!("no enabled plugin named {name:?}");
        }
        let mut report = Reloaded::default();
        let mut loaded = Vec::new();
        for (name, entry) in selected {
            let previous = self.registry().by_name.get(&name).map(|p| p.core.clone());
            let t = std::time::Instant::now();
            match self.runtime.reload_plugin(&name, entry, previous).await {
                Ok(plugin) => {
                    tracing::info!(
                        plugin = name,
                        version = plugin.description.version,
                        "reloaded in {:.1} ms",
                        t.elapsed().as_secs_f64() * 1000.0
                    );
                    loaded.push(Arc::new(plugin));
                    report.reloaded.push(name);
                }
                Err(e) => {
                    tracing::error!("plugin {name} not reloaded: {e:#}");
                    report.errors.insert(name, format!("{e:#}"));
                }
            }
        }
        if !loaded.is_empty() {
            let mut registry = self.registry.write().unwrap();
            let mut plugins = registry.plugins.clone();
            for new in loaded {
                match plugins.iter_mut().find(|p| p.name() == new.name()) {
                    Some(slot) => *slot = new,
                    None => plugins.push(new),
                }
            }
            *registry = Arc::new(Registry::new(plugins));
        }
        let registry = self.registry();
        for name in &report.reloaded {
            crate::capabilities::tasks::plugin_added(self.shared(), name);
            if registry.by_name.get(name).is_some_and(|p| p.is_loaded()) {
                self.boot_hook(name);
            }
        }
        Ok(report)
    }

    /// Loads the plugin's code if it is not loaded yet (a warm start loads
    /// a plugin on its first call), then runs its boot hook before that
    /// call: the hook resumes work of data from before, which the call has
    /// not touched yet.
    async fn loaded(&self, plugin: &Plugin) -> Result<(), AwsError> {
        if plugin.is_loaded() {
            return Ok(());
        }
        // Boxed: inline, loading would size every call's future.
        Box::pin(self.load_first(plugin)).await
    }

    /// [`Dispatcher::loaded`] the first time: loads the plugin and runs its
    /// boot hook once.
    async fn load_first(&self, plugin: &Plugin) -> Result<(), AwsError> {
        self.runtime.load(plugin).await?;
        if !self
            .hooked
            .lock()
            .unwrap()
            .insert(plugin.name().to_string())
        {
            return Ok(());
        }
        let ctx = crate::capabilities::tasks::start_context(self.shared());
        let hook = Entry::Task {
            name: crate::capabilities::tasks::START_TASK,
            payload: "",
            id: None,
        };
        if let Err(e) = self.runtime.run(plugin, ctx, hook, &[]).await {
            tracing::warn!(
                plugin = plugin.name(),
                "boot hook failed: {} {}",
                e.code,
                e.message
            );
        }
        Ok(())
    }

    /// Runs the plugin's boot hook, unless it ran since the start or reset.
    fn boot_hook(&self, name: &str) {
        if self.hooked.lock().unwrap().insert(name.to_string()) {
            crate::capabilities::tasks::start_hook(self.shared(), name);
        }
    }

    /// The plugins loaded now. A request keeps the snapshot it began with.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().unwrap().clone()
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.runtime.shared
    }

    pub fn config(&self) -> &Config {
        &self.runtime.shared.config
    }

    /// Calls one operation of a plugin.
    pub async fn call(&self, call: Call<'_>) -> Result<Reply, AwsError> {
        let target = match call.target {
            Target::Plugin(p) => p.clone(),
            Target::Service(name) => self.service(name)?,
        };
        let caller_plugin = match &call.caller {
            Caller::Plugin { name, .. } => Some(*name),
            _ => None,
        };
        let mut output = self.call_text(call).await?.parse()?;
        let handed_back = match caller_plugin {
            Some(caller) => {
                handoff::share_value_refs(&self.shared().blobs, &mut output, target.name(), caller)
                    .map_err(internal_failure)?
            }
            None => Vec::new(),
        };
        Ok(Reply {
            output,
            handed_back,
        })
    }

    /// An enabled plugin by service name.
    #[allow(clippy::result_large_err)]
    fn service(&self, name: &str) -> Result<Arc<Plugin>, AwsError> {
        self.registry().by_name.get(name).cloned().ok_or_else(|| {
            AwsError::new(
                "ServiceUnavailable",
                format!("service {name} is not enabled in this gateway"),
                503,
            )
        })
    }

    /// Calls one operation of a plugin, its output left as the plugin's
    /// text. A plugin caller's blob refs in the output are not handed over
    /// here: [`Dispatcher::call`] does it.
    pub async fn call_text(&self, call: Call<'_>) -> Result<TextReply, AwsError> {
        let plugin = match call.target {
            Target::Plugin(p) => p.clone(),
            Target::Service(name) => self.service(name)?,
        };
        // Resource handlers (sdk resources.rs, docs/resources.md) are reserved
        // operations only plugins and the gateway may call: no model defines
        // them, so no client request can name them.
        let resource_handler = !matches!(call.caller, Caller::Client(_))
            && call.operation.starts_with(RESOURCE_OPERATION_PREFIX)
            || matches!(call.caller, Caller::GatewayAs(_))
                && call.operation.starts_with(AUTHZ_OPERATION_PREFIX);
        if !resource_handler && !plugin.description.implemented.contains(call.operation) {
            return Err(not_implemented(&plugin, call.operation));
        }
        let shared = self.shared();
        // A plugin caller's blob refs are its own: share them into the
        // target's namespace, which then owns the copies.
        let (input, blobs) = match &call.caller {
            Caller::Plugin { name, .. } => {
                let (input, ids) =
                    handoff::share_blob_refs(&shared.blobs, &call.input_json, name, plugin.name())
                        .map_err(|e| AwsError::new("InvalidParameterValue", e, 400))?;
                let mut blobs = call.blobs;
                if blobs.shared.is_none() {
                    blobs = OwnedBlobs::new(shared, plugin.name(), Vec::new());
                }
                blobs.ids.extend(ids);
                (input, blobs)
            }
            _ => (Cow::Borrowed(&*call.input_json), call.blobs),
        };
        self.loaded(&plugin).await?;
        let ctx = context(self.config(), call.caller, call.request_id);
        let entry = Entry::Handle {
            operation: call.operation,
            input_json: &input,
        };
        let text = match self.runtime.run(&plugin, ctx, entry, blobs.ids()).await? {
            Output::Json(s) => s,
            _ => unreachable!("handle returns json"),
        };
        blobs.keep();
        Ok(TextReply {
            text,
            plugin: plugin.name().to_string(),
        })
    }

    /// A request on one of the plugin's raw routes (`handle-http`).
    pub async fn call_http(
        &self,
        plugin: &Arc<Plugin>,
        caller: auth::Caller,
        request_id: &str,
        request: &RawRequest,
    ) -> Result<crate::bindings::HttpResponse, AwsError> {
        self.loaded(plugin).await?;
        let ctx = context(self.config(), Caller::Client(caller), request_id);
        match self
            .runtime
            .run(plugin, ctx, Entry::Http(request), &[])
            .await?
        {
            Output::Http(r) => Ok(r),
            _ => unreachable!("handle-http returns a response"),
        }
    }

    /// A scheduled task (tasks.schedule) coming due; a plugin no longer
    /// loaded has nothing to run.
    pub async fn run_task(
        &self,
        plugin: &str,
        ctx: CallContext,
        name: &str,
        payload: &str,
        id: Option<&str>,
    ) -> Result<(), AwsError> {
        let Some(plugin) = self.registry().by_name.get(plugin).cloned() else {
            return Ok(());
        };
        self.loaded(&plugin).await?;
        self.runtime
            .run(&plugin, ctx, Entry::Task { name, payload, id }, &[])
            .await
            .map(|_| ())
    }

    /// Empties every plugin's state and blobs (or one plugin's), and
    /// forgets credentials.
    pub fn reset(&self, only: Option<&str>) -> anyhow::Result<()> {
        let shared = self.shared();
        let registry = self.registry();
        match only {
            Some(name) => {
                let plugin = registry.by_name.get(name).context("no such plugin")?;
                plugin.core.db.reset()?;
                shared.blobs.reset(Some(name))?;
                shared.metrics.clear(Some(name));
                plugin.core.bump_commit_seq();
                self.hooked.lock().unwrap().remove(name);
                if plugin.is_loaded() {
                    self.boot_hook(name);
                }
            }
            None => {
                shared.tasks.cancel_all();
                shared.stores.reset_all()?;
                shared.blobs.reset(None)?;
                shared.identity.clear();
                shared.metrics.clear(None);
                self.hooked.lock().unwrap().clear();
                // A plugin not loaded yet records its version and runs its
                // boot hook when it loads, as after a start.
                for p in &registry.plugins {
                    p.core.bump_commit_seq();
                    if p.is_loaded() {
                        p.core.db.set_schema_version(p.description.schema_version)?;
                        self.boot_hook(p.name());
                    }
                }
                // Back to the memory of a fresh start.
                self.runtime.drop_idle_instances();
                // The emptied databases' rows are free in the allocator:
                // give the pages back.
                crate::allocator::release_free_memory();
            }
        }
        Ok(())
    }
}

impl Calls for Dispatcher {
    fn call_service<'a>(
        &'a self,
        caller: &'a str,
        parent: &'a CallContext,
        target: ServiceTarget,
        operation: &'a str,
        input_json: &'a str,
    ) -> BoxFuture<'a, Result<(String, Vec<String>), AwsError>> {
        crate::boxed::in_place(|| async move {
            let service = target.service;
            // The output stays text: parsed only to check it is JSON, or
            // rewritten when it names blobs (handed to the caller).
            let reply = self
                .call_text(Call {
                    target: Target::Service(&service),
                    caller: Caller::Plugin {
                        name: caller,
                        parent,
                        account: target.account,
                        region: target.region,
                    },
                    request_id: &parent.request_id,
                    operation,
                    input_json: Cow::Borrowed(input_json),
                    blobs: OwnedBlobs::none(),
                })
                .await?;
            let callee = reply.plugin.clone();
            let text = reply.checked()?;
            let (shared, handed_back) =
                handoff::share_blob_refs(&self.shared().blobs, &text, &callee, caller)
                    .map_err(internal_failure)?;
            let text = match shared {
                Cow::Borrowed(_) => text,
                Cow::Owned(rewritten) => rewritten,
            };
            Ok((text, handed_back))
        })
    }

    fn run_task<'a>(
        &'a self,
        plugin: &'a str,
        ctx: CallContext,
        name: &'a str,
        payload: &'a str,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        crate::boxed::in_place(|| Dispatcher::run_task(self, plugin, ctx, name, payload, id))
    }
}

/// The context the plugin sees for a caller: the one place it is built.
fn context(config: &Config, caller: Caller<'_>, request_id: &str) -> CallContext {
    match caller {
        Caller::Client(c) | Caller::GatewayAs(c) => CallContext {
            account: c.account,
            region: c.region,
            request_id: request_id.to_string(),
            access_key_id: c.access_key_id,
            caller_arn: c.arn,
            depth: 0,
            endpoint: c.endpoint,
        },
        Caller::Gateway => CallContext::host(config, request_id),
        Caller::Plugin {
            parent,
            account,
            region,
            ..
        } => CallContext {
            account: if account.is_empty() {
                parent.account.clone()
            } else {
                account
            },
            region: if region.is_empty() {
                parent.region.clone()
            } else {
                region
            },
            request_id: parent.request_id.clone(),
            access_key_id: parent.access_key_id.clone(),
            caller_arn: parent.caller_arn.clone(),
            depth: parent.depth + 1,
            endpoint: parent.endpoint.clone(),
        },
    }
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

/// plugins.toml, the extra plugins file and PLUGINS_DIR, merged.
pub fn read_manifest(config: &Config) -> anyhow::Result<Manifest> {
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
    Ok(manifest)
}
