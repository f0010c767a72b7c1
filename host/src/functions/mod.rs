//! Running function code for plugins (the `functions` capability): code
//! bundles unpacked into a cache, workers that speak AWS's Lambda Runtime
//! API, a warm pool, concurrency limits, timeouts and AWS-shaped logs.
//!
//! One contract for every executor: a worker is a program that long-polls
//! its own Runtime API server (`runtime_api`). Local processes run our small
//! runtime-interface programs (`runtimes/bootstrap.py`, `bootstrap.js`) or a
//! `provided` bootstrap; Docker containers run the same programs.

// AWS errors travel as they are, to the plugin and on to the client; they are
// rare, so their size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod code;
pub mod docker;
pub mod runtime_api;
pub mod worker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ministack_protocol::AwsError;
use ministack_state::blobs::BlobStore;
use tokio::sync::oneshot;

use crate::bindings::ministack::plugin::functions::{
    CodeInfo, FunctionSpec, InvokeRequest, InvokeResult,
};
use code::{Bundle, CodeCache};
use runtime_api::{Invocation, Outcome};
use worker::{Launch, Worker};

const PYTHON_BOOTSTRAP: &str = include_str!("runtimes/bootstrap.py");
const NODE_BOOTSTRAP: &str = include_str!("runtimes/bootstrap.js");

/// How long a new worker may take to ask for its first event (AWS: 10 s).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings the host reads from its own environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// LAMBDA_EXECUTOR: `local` (default) or `docker`.
    pub docker: bool,
    /// LAMBDA_WARM_TTL_SECONDS (default 300): idle workers stop after it.
    pub warm_ttl: Duration,
    /// LAMBDA_ACCOUNT_CONCURRENCY (default 1000): invokes running at once.
    pub account_concurrency: u32,
    /// LAMBDA_STRICT=1: only the exact runtime version (python3.12, not any python3).
    pub strict: bool,
    /// LAMBDA_DOCKER_NETWORK, LAMBDA_DOCKER_FLAGS, MINISTACK_IMAGE_PREFIX.
    pub docker_network: Option<String>,
    pub docker_flags: Option<String>,
    pub image_prefix: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    pub fn from_env() -> Self {
        Self {
            docker: var("LAMBDA_EXECUTOR").is_some_and(|v| v.eq_ignore_ascii_case("docker")),
            warm_ttl: Duration::from_secs(
                var("LAMBDA_WARM_TTL_SECONDS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(300),
            ),
            account_concurrency: var("LAMBDA_ACCOUNT_CONCURRENCY")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000),
            strict: matches!(
                var("LAMBDA_STRICT").as_deref(),
                Some("1" | "true" | "yes" | "on")
            ),
            docker_network: var("LAMBDA_DOCKER_NETWORK"),
            docker_flags: var("LAMBDA_DOCKER_FLAGS"),
            image_prefix: var("MINISTACK_IMAGE_PREFIX"),
        }
    }
}

/// Warm workers and what is running, guarded together.
#[derive(Default)]
struct Pool {
    idle: HashMap<(String, String), Vec<Worker>>,
    busy: HashMap<String, u32>,
    busy_total: u32,
    /// Bumped by every release; a worker started before the release of its
    /// function (or a reset) is not kept.
    counter: u64,
    released_at: HashMap<String, u64>,
    reset_at: u64,
}

impl Pool {
    fn still_valid(&self, w: &Worker) -> bool {
        w.generation >= self.reset_at
            && w.generation >= self.released_at.get(&w.function_id).copied().unwrap_or(0)
    }
}

/// What the host knows how to start for a runtime name.
#[derive(Clone, Debug)]
enum RuntimeKind {
    Python { exe: PathBuf, version: String },
    Node { exe: PathBuf, major: String },
    Provided,
}

/// The `functions` capability's state, shared by every plugin.
pub struct Functions {
    pub settings: Settings,
    code: CodeCache,
    /// Where the runtime-interface programs and worker logs live.
    runtimes_dir: PathBuf,
    logs_dir: PathBuf,
    pool: Arc<Mutex<Pool>>,
    /// The gateway, as function code should call it (AWS_ENDPOINT_URL).
    endpoint: String,
    secret: String,
    next_worker: AtomicU64,
    docker: Arc<crate::docker::Docker>,
    found: Mutex<HashMap<String, Option<PathBuf>>>,
}

/// Why an invoke could not produce a function result.
enum StartFailure {
    Aws(AwsError),
    /// A failure AWS reports as the function's (FunctionError Unhandled).
    Function(serde_json::Value, String),
}

impl From<AwsError> for StartFailure {
    fn from(e: AwsError) -> Self {
        StartFailure::Aws(e)
    }
}

fn service_error(message: impl Into<String>) -> AwsError {
    AwsError::new("ServiceException", message, 500)
}

fn too_many_requests(reason: &str) -> AwsError {
    let mut e = AwsError::new("TooManyRequestsException", "Rate Exceeded.", 429);
    let mut extra = serde_json::Map::new();
    extra.insert("Reason".into(), reason.into());
    extra.insert("Type".into(), "User".into());
    e.extra = Some(extra);
    e
}

fn runtime_missing(runtime: &str, detail: &str) -> AwsError {
    AwsError::new(
        "InvalidRuntimeException",
        format!("The runtime {runtime} is not available on this machine: {detail}"),
        502,
    )
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// ISO 8601 UTC with milliseconds, as AWS log lines print time.
fn iso_now() -> String {
    let ms = epoch_ms();
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Region and account of `arn:aws:lambda:<region>:<account>:function:<name>`.
fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    (!region.is_empty() && !account.is_empty()).then_some((region, account))
}

impl Functions {
    /// `cache_dir`: MINISTACK_CACHE_DIR; `port`: the gateway's port.
    pub fn new(
        cache_dir: &Path,
        port: u16,
        secret: &str,
        docker: Arc<crate::docker::Docker>,
    ) -> Arc<Self> {
        let root = cache_dir.join("functions");
        let runtimes_dir = root.join("runtimes");
        let logs_dir = root.join("logs");
        // A cache folder that cannot be written fails each invoke (spawn or
        // log errors), not the gateway's start.
        let written = std::fs::create_dir_all(&runtimes_dir)
            .and_then(|()| std::fs::create_dir_all(&logs_dir))
            .and_then(|()| std::fs::write(runtimes_dir.join("bootstrap.py"), PYTHON_BOOTSTRAP))
            .and_then(|()| std::fs::write(runtimes_dir.join("bootstrap.js"), NODE_BOOTSTRAP));
        if let Err(e) = written {
            tracing::error!("functions: cannot write {}: {e}", root.display());
        }
        let functions = Arc::new(Self {
            settings: Settings::from_env(),
            code: CodeCache::new(root),
            runtimes_dir,
            logs_dir,
            pool: Arc::new(Mutex::new(Pool::default())),
            endpoint: format!("http://127.0.0.1:{port}"),
            secret: secret.to_string(),
            next_worker: AtomicU64::new(1),
            docker,
            found: Mutex::new(HashMap::new()),
        });
        functions.start_reaper();
        functions
    }

    /// Stops idle workers past the warm TTL, every second or so.
    fn start_reaper(&self) {
        let pool = Arc::downgrade(&self.pool);
        let ttl = self.settings.warm_ttl;
        let tick = (ttl / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                let Some(pool) = pool.upgrade() else { return };
                let expired: Vec<Worker> = {
                    let mut p = pool.lock().unwrap();
                    let mut out = Vec::new();
                    for workers in p.idle.values_mut() {
                        let (old, keep): (Vec<Worker>, Vec<Worker>) = workers
                            .drain(..)
                            .partition(|w| w.last_used.elapsed() >= ttl || !w.is_alive());
                        *workers = keep;
                        out.extend(old);
                    }
                    p.idle.retain(|_, v| !v.is_empty());
                    out
                };
                drop(expired);
            }
        });
    }

    /// Checks and unpacks a code bundle (the WIT `prepare`).
    pub async fn prepare(
        &self,
        blobs: &BlobStore,
        plugin: &str,
        blob: &str,
    ) -> Result<CodeInfo, AwsError> {
        let b = self.code.prepare(blobs, plugin, blob).await?;
        Ok(CodeInfo {
            sha256_base64: b.sha256_base64.clone(),
            size: b.size,
            unzipped_size: b.unzipped_size,
        })
    }

    /// Stops the warm workers of a function (the WIT `release`).
    pub fn release(&self, function_id: &str) {
        let dropped: Vec<Worker> = {
            let mut p = self.pool.lock().unwrap();
            p.counter += 1;
            let at = p.counter;
            p.released_at.insert(function_id.to_string(), at);
            let keys: Vec<_> = p
                .idle
                .keys()
                .filter(|(id, _)| id == function_id)
                .cloned()
                .collect();
            keys.into_iter()
                .flat_map(|k| p.idle.remove(&k).unwrap_or_default())
                .collect()
        };
        drop(dropped);
    }

    /// Stops every worker (reset, shutdown).
    pub fn release_all(&self) {
        let dropped: Vec<Worker> = {
            let mut p = self.pool.lock().unwrap();
            p.counter += 1;
            p.reset_at = p.counter;
            p.idle.drain().flat_map(|(_, v)| v).collect()
        };
        drop(dropped);
    }

    /// Takes a concurrency slot for the function, or says why not.
    fn acquire(&self, spec: &FunctionSpec) -> Result<Slot<'_>, AwsError> {
        let mut p = self.pool.lock().unwrap();
        let running = p.busy.get(&spec.function_id).copied().unwrap_or(0);
        if let Some(reserved) = spec.reserved_concurrency
            && running >= reserved
        {
            return Err(too_many_requests(
                "ReservedFunctionConcurrentInvocationLimitExceeded",
            ));
        }
        if p.busy_total >= self.settings.account_concurrency {
            return Err(too_many_requests("ConcurrentInvocationLimitExceeded"));
        }
        *p.busy.entry(spec.function_id.clone()).or_default() += 1;
        p.busy_total += 1;
        Ok(Slot {
            pool: &self.pool,
            function_id: spec.function_id.clone(),
        })
    }

    fn take_idle(&self, key: &(String, String)) -> Option<Worker> {
        let mut dead = Vec::new();
        let found = {
            let mut p = self.pool.lock().unwrap();
            let workers = p.idle.get_mut(key)?;
            let mut found = None;
            while let Some(w) = workers.pop() {
                if w.is_alive() {
                    found = Some(w);
                    break;
                }
                dead.push(w);
            }
            found
        };
        drop(dead);
        found
    }

    fn put_back(&self, mut worker: Worker) {
        worker.last_used = Instant::now();
        let mut p = self.pool.lock().unwrap();
        if p.still_valid(&worker) && worker.is_alive() {
            p.idle.entry(worker.key.clone()).or_default().push(worker);
        } else {
            drop(p);
            drop(worker);
        }
    }

    /// Runs one invocation (the WIT `invoke`). `account` and `region` are
    /// the caller's, used when the function id is not an ARN. With `chunks`,
    /// a streamed response goes there piece by piece as the function writes
    /// it (the result's payload is then empty); a buffered one is the
    /// result's payload as always.
    pub async fn invoke(
        &self,
        blobs: &BlobStore,
        plugin: &str,
        account: &str,
        region: &str,
        mut request: InvokeRequest,
        chunks: Option<tokio::sync::mpsc::UnboundedSender<Bytes>>,
    ) -> Result<InvokeResult, AwsError> {
        if request.request_id.is_empty() {
            request.request_id = uuid::Uuid::new_v4().to_string();
        }
        let spec = &request.spec;
        let _slot = self.acquire(spec)?;
        let key = (spec.function_id.clone(), spec.revision.clone());
        let mut init_logs = String::new();
        let (mut worker, cold_start) = match self.take_idle(&key) {
            Some(w) => (w, None),
            None => {
                let began = Instant::now();
                match self
                    .start_worker(blobs, plugin, account, region, &request, key)
                    .await
                {
                    Ok(w) => (w, Some(began)),
                    Err(StartFailure::Aws(e)) => return Err(e),
                    Err(StartFailure::Function(payload, log)) => {
                        return Ok(self.failed_result(&request, payload, &log, began));
                    }
                }
            }
        };
        let id = request.request_id.clone();
        let timeout = Duration::from_secs(u64::from(spec.timeout_seconds.max(1)));
        let (picked_tx, picked_rx) = oneshot::channel();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let trace_id = format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            epoch_ms() / 1000,
            &uuid::Uuid::new_v4().simple().to_string()[..24],
            &uuid::Uuid::new_v4().simple().to_string()[..16],
        );
        let sent = worker
            .channel
            .send(Invocation {
                request_id: id.clone(),
                payload: Bytes::from(std::mem::take(&mut request.payload)),
                timeout,
                invoked_arn: request.invoked_arn.clone(),
                trace_id,
                client_context: request.client_context.clone(),
                picked: picked_tx,
                reply: reply_tx,
                chunks,
            })
            .await;

        enum Ending {
            Outcome(Outcome),
            Exited(String),
            Timeout,
            InitTimeout,
        }
        let mut started = Instant::now();
        let mut init_duration = None;
        let ending = if !sent {
            Ending::Exited(worker.wait_exit().await)
        } else {
            // Phase 1: until the worker takes the event (a new worker
            // initialises first), or fails doing so.
            let phase1 = {
                let exit = worker.wait_exit();
                tokio::pin!(exit);
                tokio::select! {
                    biased;
                    _ = picked_rx => None,
                    why = &mut exit => {
                        // It may have posted /init/error just before ending.
                        match reply_rx.try_recv() {
                            Ok(o) => Some(Ending::Outcome(o)),
                            Err(_) => Some(Ending::Exited(why)),
                        }
                    }
                    _ = tokio::time::sleep(INIT_TIMEOUT) => Some(Ending::InitTimeout),
                }
            };
            started = Instant::now();
            if let Some(began) = cold_start {
                init_duration = Some(began.elapsed().as_secs_f64() * 1000.0);
                init_logs = worker.take_log();
            }
            match phase1 {
                Some(e) => e,
                None => {
                    let exit = worker.wait_exit();
                    tokio::pin!(exit);
                    tokio::select! {
                        biased;
                        outcome = &mut reply_rx => match outcome {
                            Ok(o) => Ending::Outcome(o),
                            Err(_) => Ending::Exited((&mut exit).await),
                        },
                        why = &mut exit => match reply_rx.try_recv() {
                            Ok(o) => Ending::Outcome(o),
                            Err(_) => Ending::Exited(why),
                        },
                        _ = tokio::time::sleep(timeout) => Ending::Timeout,
                    }
                }
            }
        };
        let duration = started.elapsed().as_secs_f64() * 1000.0;
        let max_memory = worker
            .max_memory_mb()
            .unwrap_or(0)
            .min(spec.memory_mb.max(1));
        let mut keep = false;
        let mut status_note = "";
        let (payload, function_error): (Vec<u8>, Option<String>) = match ending {
            Ending::Outcome(Outcome::Response(body)) => {
                keep = true;
                (body.to_vec(), None)
            }
            Ending::Outcome(Outcome::Error { body, error_type }) => {
                keep = true;
                let body = if body.is_empty() {
                    serde_json::json!({
                        "errorType": error_type.unwrap_or_else(|| "Runtime.Unknown".into()),
                        "errorMessage": "",
                    })
                    .to_string()
                    .into_bytes()
                } else {
                    body.to_vec()
                };
                (body, Some("Unhandled".into()))
            }
            Ending::Outcome(Outcome::InitError { body, error_type }) => {
                status_note = "error";
                let body = if body.is_empty() {
                    serde_json::json!({
                        "errorType": error_type.unwrap_or_else(|| "Runtime.Unknown".into()),
                        "errorMessage": "The runtime failed to start",
                    })
                    .to_string()
                    .into_bytes()
                } else {
                    body.to_vec()
                };
                (body, Some("Unhandled".into()))
            }
            Ending::Outcome(Outcome::TooLarge) => {
                keep = true;
                (
                    serde_json::json!({
                        "errorMessage": format!(
                            "Response payload size exceeded maximum allowed payload size ({} bytes).",
                            runtime_api::MAX_RESPONSE_BYTES
                        ),
                        "errorType": "Function.ResponseSizeTooLarge",
                    })
                    .to_string()
                    .into_bytes(),
                    Some("Unhandled".into()),
                )
            }
            Ending::Exited(why) => {
                status_note = "error";
                (
                    serde_json::json!({
                        "errorType": "Runtime.ExitError",
                        "errorMessage": format!("RequestId: {id} Error: Runtime exited with error: {why}"),
                    })
                    .to_string()
                    .into_bytes(),
                    Some("Unhandled".into()),
                )
            }
            Ending::InitTimeout => {
                status_note = "timeout";
                (
                    serde_json::json!({
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": format!(
                            "RequestId: {id} Error: Task timed out after {:.2} seconds",
                            INIT_TIMEOUT.as_secs_f64()
                        ),
                    })
                    .to_string()
                    .into_bytes(),
                    Some("Unhandled".into()),
                )
            }
            Ending::Timeout => {
                status_note = "timeout";
                (
                    serde_json::json!({
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": format!(
                            "RequestId: {id} Error: Task timed out after {:.2} seconds",
                            timeout.as_secs_f64()
                        ),
                    })
                    .to_string()
                    .into_bytes(),
                    Some("Unhandled".into()),
                )
            }
        };
        if !keep {
            worker.kill();
        }
        let mut body = worker.take_log();
        if status_note == "timeout" {
            body.push_str(&format!(
                "{} {id} Task timed out after {:.2} seconds\n",
                iso_now(),
                timeout.as_secs_f64()
            ));
        }
        let logs = format_logs(
            &init_logs,
            &body,
            &id,
            &spec.version,
            duration,
            spec.memory_mb,
            max_memory,
            init_duration,
            status_note,
        );
        if keep {
            self.put_back(worker);
        }
        Ok(InvokeResult {
            payload,
            function_error,
            logs,
            duration_ms: duration,
            init_duration_ms: init_duration,
            max_memory_used_mb: max_memory,
        })
    }

    /// The result of an invoke whose worker could not even start.
    fn failed_result(
        &self,
        request: &InvokeRequest,
        payload: serde_json::Value,
        log: &str,
        began: Instant,
    ) -> InvokeResult {
        let duration = began.elapsed().as_secs_f64() * 1000.0;
        let logs = format_logs(
            "",
            log,
            &request.request_id,
            &request.spec.version,
            duration,
            request.spec.memory_mb,
            0,
            None,
            "error",
        );
        InvokeResult {
            payload: payload.to_string().into_bytes(),
            function_error: Some("Unhandled".into()),
            logs,
            duration_ms: duration,
            init_duration_ms: None,
            max_memory_used_mb: 0,
        }
    }

    /// Finds `name` on PATH (cached).
    fn which(&self, name: &str) -> Option<PathBuf> {
        if let Some(hit) = self.found.lock().unwrap().get(name) {
            return hit.clone();
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let hit = std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| {
                use std::os::unix::fs::PermissionsExt;
                p.metadata()
                    .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false)
            });
        self.found
            .lock()
            .unwrap()
            .insert(name.to_string(), hit.clone());
        hit
    }

    /// The interpreter a python name on PATH really runs (cached): a
    /// version manager's shim may name a version that is not installed, and
    /// starting through it costs a cold start dearly.
    async fn python(&self, name: &str) -> Option<PathBuf> {
        let key = format!("python:{name}");
        if let Some(hit) = self.found.lock().unwrap().get(&key) {
            return hit.clone();
        }
        let mut real = None;
        if let Some(exe) = self.which(name) {
            let out = tokio::process::Command::new(&exe)
                .args(["-c", "import sys; print(sys.executable)"])
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .await;
            if let Ok(out) = out
                && out.status.success()
            {
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !path.is_empty() {
                    real = Some(PathBuf::from(path));
                }
            }
        }
        self.found.lock().unwrap().insert(key, real.clone());
        real
    }

    async fn resolve_runtime(&self, runtime: &str) -> Result<RuntimeKind, AwsError> {
        if let Some(version) = runtime.strip_prefix("python") {
            let mut names = vec![runtime.to_string()];
            if !self.settings.strict {
                names.push("python3".into());
            }
            let mut exe = None;
            for n in &names {
                if let Some(found) = self.python(n).await {
                    exe = Some(found);
                    break;
                }
            }
            return exe
                .map(|exe| RuntimeKind::Python {
                    exe,
                    version: version.to_string(),
                })
                .ok_or_else(|| {
                    runtime_missing(
                        runtime,
                        &format!(
                            "no {} found on PATH (install it, or run functions in Docker with LAMBDA_EXECUTOR=docker)",
                            names.join(" or ")
                        ),
                    )
                });
        }
        if let Some(v) = runtime.strip_prefix("nodejs") {
            let major = v.trim_end_matches(".x").to_string();
            return self
                .which("node")
                .map(|exe| RuntimeKind::Node { exe, major })
                .ok_or_else(|| {
                    runtime_missing(
                        runtime,
                        "no node found on PATH (install Node.js, or run functions in Docker with LAMBDA_EXECUTOR=docker)",
                    )
                });
        }
        if runtime.starts_with("provided") {
            return Ok(RuntimeKind::Provided);
        }
        if ["java", "dotnet", "ruby"]
            .iter()
            .any(|p| runtime.starts_with(p))
        {
            return Err(runtime_missing(
                runtime,
                "it runs only in Docker (set LAMBDA_EXECUTOR=docker)",
            ));
        }
        Err(AwsError::new(
            "InvalidRuntimeException",
            format!("The runtime parameter of {runtime} is not supported"),
            502,
        ))
    }

    /// The environment AWS gives a function.
    #[allow(clippy::too_many_arguments)]
    fn environment(
        &self,
        spec: &FunctionSpec,
        account: &str,
        region: &str,
        place: &Place,
        kind: Option<&RuntimeKind>,
        runtime_api: &str,
    ) -> Vec<(String, String)> {
        let (region, account) = arn_region_account(&spec.function_id).unwrap_or((region, account));
        let task_root = Path::new(&place.task_root);
        let opt_s = place.opt.clone();
        let host_path = place.path.clone();
        let mut env: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), place.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), account.to_string()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret.clone()),
            ("AWS_SESSION_TOKEN".into(), "ministack".into()),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
        ];
        if let Some(host_path) = host_path {
            env.push((
                "PATH".into(),
                match &opt_s {
                    Some(o) => format!("{o}/bin:{host_path}"),
                    None => host_path,
                },
            ));
        }
        if let Some(o) = &opt_s {
            env.push(("LD_LIBRARY_PATH".into(), format!("{o}/lib")));
        }
        match kind {
            Some(RuntimeKind::Python { version, .. }) => {
                if let Some(o) = &opt_s {
                    env.push((
                        "PYTHONPATH".into(),
                        format!("{o}/python/lib/python{version}/site-packages:{o}/python"),
                    ));
                }
                env.push(("PYTHONUNBUFFERED".into(), "1".into()));
                env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
            }
            Some(RuntimeKind::Node { major, .. }) => {
                let mut paths = Vec::new();
                if let Some(o) = &opt_s {
                    paths.push(format!("{o}/nodejs/node{major}/node_modules"));
                    paths.push(format!("{o}/nodejs/node_modules"));
                }
                paths.push(task_root.join("node_modules").display().to_string());
                env.push(("NODE_PATH".into(), paths.join(":")));
            }
            _ => {}
        }
        env.extend(spec.environment.iter().cloned());
        // What the function may not change (AWS's reserved variables).
        let log_group = if spec.log_group.is_empty() {
            format!("/aws/lambda/{}", spec.function_name)
        } else {
            spec.log_group.clone()
        };
        env.extend([
            ("_HANDLER".into(), spec.handler.clone()),
            ("AWS_REGION".into(), region.to_string()),
            ("AWS_DEFAULT_REGION".into(), region.to_string()),
            (
                "AWS_EXECUTION_ENV".into(),
                format!("AWS_Lambda_{}", spec.runtime),
            ),
            (
                "AWS_LAMBDA_FUNCTION_NAME".into(),
                spec.function_name.clone(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                spec.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), spec.version.clone()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), log_group),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), spec.log_stream.clone()),
            ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_string()),
            ("LAMBDA_TASK_ROOT".into(), task_root.display().to_string()),
            ("LAMBDA_RUNTIME_DIR".into(), place.runtime_dir.clone()),
        ]);
        if let Some(o) = &opt_s {
            // Not AWS's: where /opt is for a local process (layers).
            env.push(("MINISTACK_OPT_DIR".into(), o.clone()));
        }
        // Later entries win, like a shell's environment.
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<(String, String)> = env
            .into_iter()
            .rev()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        out.reverse();
        out
    }

    async fn start_worker(
        &self,
        blobs: &BlobStore,
        plugin: &str,
        account: &str,
        region: &str,
        request: &InvokeRequest,
        key: (String, String),
    ) -> Result<Worker, StartFailure> {
        let spec = &request.spec;
        if self.settings.docker {
            return self
                .start_container(blobs, plugin, account, region, request, key)
                .await;
        }
        if spec.code_blob.is_empty() {
            return Err(StartFailure::Aws(code::invalid_parameter(
                "Functions of package type Image run only in Docker (set LAMBDA_EXECUTOR=docker)",
            )));
        }
        let kind = self.resolve_runtime(&spec.runtime).await?;
        let code = self.code.prepare(blobs, plugin, &spec.code_blob).await?;
        let mut layers: Vec<Arc<Bundle>> = Vec::new();
        for l in &spec.layers {
            layers.push(self.code.prepare(blobs, plugin, l).await?);
        }
        if code.unzipped_size + layers.iter().map(|l| l.unzipped_size).sum::<u64>()
            > code::MAX_UNZIPPED_BYTES
        {
            return Err(StartFailure::Aws(code::invalid_parameter(format!(
                "Function code combined with layers exceeds the maximum allowed size of {} bytes.",
                code::MAX_UNZIPPED_BYTES
            ))));
        }
        let opt = self.code.layers_dir(&layers).await?;
        let generation = self.pool.lock().unwrap().counter;
        let (channel, addr, server) = runtime_api::serve(IpAddr::from([127, 0, 0, 1]))
            .await
            .map_err(|e| service_error(format!("cannot serve the Runtime API: {e}")))?;
        let place = Place {
            task_root: code.dir.display().to_string(),
            opt: opt.as_ref().map(|o| o.display().to_string()),
            runtime_dir: self.runtimes_dir.display().to_string(),
            endpoint: self.endpoint.clone(),
            path: Some(
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            ),
        };
        let env = self.environment(
            spec,
            account,
            region,
            &place,
            Some(&kind),
            &addr.to_string(),
        );
        let (program, args) = match &kind {
            RuntimeKind::Python { exe, .. } => (
                exe.clone(),
                vec![self.runtimes_dir.join("bootstrap.py").display().to_string()],
            ),
            RuntimeKind::Node { exe, .. } => (
                exe.clone(),
                vec![self.runtimes_dir.join("bootstrap.js").display().to_string()],
            ),
            RuntimeKind::Provided => {
                let mut candidates = vec![code.dir.join("bootstrap")];
                if let Some(o) = &opt {
                    candidates.push(o.join("bootstrap"));
                }
                let Some(found) = candidates.iter().find(|p| p.is_file()) else {
                    server.abort();
                    return Err(StartFailure::Function(
                        serde_json::json!({
                            "errorType": "Runtime.InvalidEntrypoint",
                            "errorMessage": format!(
                                "RequestId: {} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
                                request.request_id
                            ),
                        }),
                        String::new(),
                    ));
                };
                // AWS needs the zip to carry the execute bit; a zip made
                // without modes is common locally, so grant it.
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(m) = found.metadata()
                        && m.permissions().mode() & 0o111 == 0
                    {
                        let _ = std::fs::set_permissions(
                            found,
                            std::fs::Permissions::from_mode(m.permissions().mode() | 0o755),
                        );
                    }
                }
                (found.clone(), Vec::new())
            }
        };
        let (log_path, log) = self.open_log()?;
        let launch = Launch {
            program,
            args,
            env,
            cwd: code.dir.clone(),
        };
        let (pid, exited) = match worker::spawn_local(&launch, &log) {
            Ok(x) => x,
            Err(e) => {
                server.abort();
                let _ = std::fs::remove_file(&log_path);
                return Err(StartFailure::Function(
                    serde_json::json!({
                        "errorType": "Runtime.InvalidEntrypoint",
                        "errorMessage": format!(
                            "RequestId: {} Error: fork/exec {}: {e}",
                            request.request_id,
                            launch.program.display()
                        ),
                    }),
                    String::new(),
                ));
            }
        };
        Ok(Worker::assemble(
            channel,
            server,
            Some(pid),
            exited,
            log_path,
            log,
            key,
            generation,
        ))
    }
}

/// Where a worker sees its code, layers and the gateway.
struct Place {
    task_root: String,
    opt: Option<String>,
    runtime_dir: String,
    endpoint: String,
    /// PATH to give (none: the image's own).
    path: Option<String>,
}

impl Functions {
    fn open_log(&self) -> Result<(PathBuf, std::fs::File), AwsError> {
        let n = self.next_worker.fetch_add(1, Ordering::Relaxed);
        let log_path = self
            .logs_dir
            .join(format!("{}-{n}.log", std::process::id()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(|e| service_error(format!("cannot open a worker log: {e}")))?;
        Ok((log_path, log))
    }

    /// A worker in a Docker container (LAMBDA_EXECUTOR=docker).
    async fn start_container(
        &self,
        blobs: &BlobStore,
        plugin: &str,
        account: &str,
        region: &str,
        request: &InvokeRequest,
        key: (String, String),
    ) -> Result<Worker, StartFailure> {
        let spec = &request.spec;
        self.docker.available().await.map_err(|e| e.to_aws())?;
        let prefix = self
            .settings
            .image_prefix
            .clone()
            .unwrap_or_else(|| "public.ecr.aws/lambda/".into());
        let (code, opt) = if spec.code_blob.is_empty() {
            (None, None)
        } else {
            let code = self.code.prepare(blobs, plugin, &spec.code_blob).await?;
            let mut layers = Vec::new();
            for l in &spec.layers {
                layers.push(self.code.prepare(blobs, plugin, l).await?);
            }
            let opt = self.code.layers_dir(&layers).await?;
            (Some(code), opt)
        };
        let (image, program, kind) = if !spec.image_uri.is_empty() {
            (
                spec.image_uri.clone(),
                docker::Program::Image(Vec::new()),
                None,
            )
        } else {
            let base = docker::runtime_image(&spec.runtime).ok_or_else(|| {
                AwsError::new(
                    "InvalidRuntimeException",
                    format!("The runtime parameter of {} is not supported", spec.runtime),
                    502,
                )
            })?;
            let image = format!("{prefix}{base}");
            let r = spec.runtime.as_str();
            if let Some(version) = r.strip_prefix("python") {
                let kind = RuntimeKind::Python {
                    exe: "python3".into(),
                    version: version.to_string(),
                };
                let line = "python3 /var/runtime-ministack/bootstrap.py".to_string();
                (image, docker::Program::Shell(line), Some(kind))
            } else if let Some(v) = r.strip_prefix("nodejs") {
                let kind = RuntimeKind::Node {
                    exe: "node".into(),
                    major: v.trim_end_matches(".x").to_string(),
                };
                let line = "node /var/runtime-ministack/bootstrap.js".to_string();
                (image, docker::Program::Shell(line), Some(kind))
            } else if r.starts_with("provided") {
                let in_code = code
                    .as_ref()
                    .is_some_and(|c| c.dir.join("bootstrap").is_file());
                let line = if in_code {
                    "/var/task/bootstrap"
                } else {
                    "/opt/bootstrap"
                };
                (
                    image,
                    docker::Program::Shell(line.into()),
                    Some(RuntimeKind::Provided),
                )
            } else {
                (
                    image,
                    docker::Program::Image(vec![spec.handler.clone()]),
                    None,
                )
            }
        };
        let network = self.settings.docker_network.clone();
        let (bind_ip, host_name) = docker::addressing(network.as_deref());
        let generation = self.pool.lock().unwrap().counter;
        let served = runtime_api::serve(bind_ip)
            .await
            .map_err(|e| service_error(format!("cannot serve the Runtime API: {e}")))?;
        let port = served.1.port();
        let gateway_port = self.endpoint.rsplit(':').next().unwrap_or("4566");
        let place = Place {
            task_root: "/var/task".into(),
            opt: opt.as_ref().map(|_| "/opt".to_string()),
            runtime_dir: "/var/runtime".into(),
            endpoint: format!("http://{host_name}:{gateway_port}"),
            path: kind.as_ref().map(|_| {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()
            }),
        };
        let env = self.environment(
            spec,
            account,
            region,
            &place,
            kind.as_ref(),
            &format!("{host_name}:{port}"),
        );
        let (log_path, log) = self.open_log()?;
        let launch = docker::ContainerLaunch {
            image,
            program,
            env,
            code_dir: code.as_ref().map(|c| c.dir.as_path()),
            opt_dir: opt.as_deref(),
            runtimes_dir: &self.runtimes_dir,
            logs_dir: &self.logs_dir,
            memory_mb: spec.memory_mb,
            plugin,
            function_name: &spec.function_name,
        };
        docker::start(
            &self.docker,
            launch,
            network.as_deref(),
            self.settings.docker_flags.as_deref(),
            key,
            generation,
            log_path,
            log,
            served,
        )
        .await
        .map_err(StartFailure::Aws)
    }
}

/// A running invoke's place in the concurrency counts.
struct Slot<'a> {
    pool: &'a Mutex<Pool>,
    function_id: String,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut p = self.pool.lock().unwrap();
        p.busy_total = p.busy_total.saturating_sub(1);
        if let Some(n) = p.busy.get_mut(&self.function_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                p.busy.remove(&self.function_id);
            }
        }
    }
}

/// AWS's log of one invoke: init output, START, the function's output,
/// END, REPORT.
#[allow(clippy::too_many_arguments)]
fn format_logs(
    init: &str,
    body: &str,
    id: &str,
    version: &str,
    duration_ms: f64,
    memory_mb: u32,
    max_memory_mb: u32,
    init_ms: Option<f64>,
    status: &str,
) -> String {
    let mut out = String::with_capacity(init.len() + body.len() + 256);
    out.push_str(init);
    if !init.is_empty() && !init.ends_with('\n') {
        out.push('\n');
    }
    let version = if version.is_empty() {
        "$LATEST"
    } else {
        version
    };
    out.push_str(&format!("START RequestId: {id} Version: {version}\n"));
    out.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("END RequestId: {id}\n"));
    out.push_str(&format!(
        "REPORT RequestId: {id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {max_memory_mb} MB\t",
        duration_ms.ceil().max(1.0) as u64
    ));
    if let Some(i) = init_ms {
        out.push_str(&format!("Init Duration: {i:.2} ms\t"));
    }
    if !status.is_empty() {
        out.push_str(&format!("Status: {status}"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_have_aws_lines() {
        let l = format_logs("", "hi", "abc", "", 1.234, 128, 30, Some(10.0), "");
        assert!(l.starts_with("START RequestId: abc Version: $LATEST\nhi\nEND RequestId: abc\n"));
        assert!(l.contains("Duration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB"));
        assert!(l.contains("Init Duration: 10.00 ms"));
    }

    #[test]
    fn iso_time_has_the_aws_shape() {
        let t = iso_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }

    #[test]
    fn arns_give_region_and_account() {
        assert_eq!(
            arn_region_account("arn:aws:lambda:eu-west-1:111122223333:function:f"),
            Some(("eu-west-1", "111122223333"))
        );
        assert_eq!(arn_region_account("my-function"), None);
    }
}
