//! Init hooks as LocalStack runs them: executable scripts (`.sh`, `.py`) in
//! `boot.d`, `start.d`, `ready.d` and `shutdown.d` under `INIT_SCRIPTS_DIR`
//! (default `/etc/localstack/init`), plus the scripts directly in
//! `/docker-entrypoint-initaws.d` (MiniStack's and LocalStack's legacy
//! folder, run with `ready.d`); `shutdown.d` runs on SIGTERM/SIGINT while
//! the gateway still answers (crate::server). Each stage's scripts run one after the
//! other in file-name order with `AWS_ENDPOINT_URL` pointing at this
//! gateway and credentials and region set; their output goes to the log. A
//! failing script is reported (`/_localstack/init`, health) and the next
//! one still runs: the gateway keeps serving.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Boot,
    Start,
    Ready,
    Shutdown,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Boot, Stage::Start, Stage::Ready, Stage::Shutdown];

    /// LocalStack's name in `/_localstack/init`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Boot => "BOOT",
            Stage::Start => "START",
            Stage::Ready => "READY",
            Stage::Shutdown => "SHUTDOWN",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Stage::Boot => "boot.d",
            Stage::Start => "start.d",
            Stage::Ready => "ready.d",
            Stage::Shutdown => "shutdown.d",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unknown,
    Running,
    Successful,
    Error,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Unknown => "UNKNOWN",
            State::Running => "RUNNING",
            State::Successful => "SUCCESSFUL",
            State::Error => "ERROR",
        }
    }
}

struct Script {
    stage: Stage,
    path: PathBuf,
    state: State,
}

/// Every script found at start and where each stage is.
pub struct InitHooks {
    scripts: Mutex<Vec<Script>>,
    completed: Mutex<[bool; 4]>,
    /// What the scripts get as AWS_ENDPOINT_URL.
    endpoint: Mutex<String>,
}

static HOOKS: OnceLock<Arc<InitHooks>> = OnceLock::new();

/// The hooks of this process (found once, on first use).
pub fn hooks() -> &'static Arc<InitHooks> {
    HOOKS.get_or_init(|| {
        let root = std::env::var_os("INIT_SCRIPTS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/localstack/init"));
        let legacy = PathBuf::from("/docker-entrypoint-initaws.d");
        Arc::new(InitHooks::discover(&root, &legacy))
    })
}

/// Executable hook scripts directly in `dir`, in file-name order.
fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("sh") | Some("py")
            )
        })
        .collect();
    found.sort();
    found
}

impl InitHooks {
    fn discover(root: &Path, legacy: &Path) -> Self {
        let mut scripts = Vec::new();
        for stage in Stage::ALL {
            let mut paths = scripts_in(&root.join(stage.folder()));
            if stage == Stage::Ready {
                paths.extend(scripts_in(legacy));
            }
            scripts.extend(paths.into_iter().map(|path| Script {
                stage,
                path,
                state: State::Unknown,
            }));
        }
        if !scripts.is_empty() {
            tracing::info!(
                "init hooks: {} script(s) under {} and {}",
                scripts.len(),
                root.display(),
                legacy.display()
            );
        }
        Self {
            scripts: Mutex::new(scripts),
            completed: Mutex::new([false; 4]),
            endpoint: Mutex::new(String::new()),
        }
    }

    /// Sets the endpoint the scripts call (known once the port is bound).
    pub fn set_endpoint(&self, endpoint: String) {
        *self.endpoint.lock().unwrap() = endpoint;
    }

    /// Runs one stage's scripts in order; a failure is logged and recorded.
    pub async fn run(&self, stage: Stage) {
        let paths: Vec<PathBuf> = self
            .scripts
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.stage == stage)
            .map(|s| s.path.clone())
            .collect();
        for path in paths {
            self.set_state(&path, State::Running);
            let ok = self.run_script(stage, &path).await;
            self.set_state(&path, if ok { State::Successful } else { State::Error });
        }
        self.completed.lock().unwrap()[stage as usize] = true;
    }

    fn set_state(&self, path: &Path, state: State) {
        for s in self.scripts.lock().unwrap().iter_mut() {
            if s.path == path {
                s.state = state;
            }
        }
    }

    async fn run_script(&self, stage: Stage, path: &Path) -> bool {
        let name = path.display().to_string();
        let executable = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        };
        // An executable script runs itself (its shebang); otherwise the
        // interpreter its extension names.
        let mut cmd = if executable {
            tokio::process::Command::new(path)
        } else if path.extension().is_some_and(|e| e == "py") {
            let mut c = tokio::process::Command::new("python3");
            c.arg(path);
            c
        } else {
            let mut c = tokio::process::Command::new("bash");
            c.arg(path);
            c
        };
        let endpoint = self.endpoint.lock().unwrap().clone();
        let env_or = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        let region = std::env::var("MINISTACK_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".to_string());
        cmd.env("AWS_ENDPOINT_URL", &endpoint)
            .env(
                "LOCALSTACK_HOST",
                endpoint.split("://").nth(1).unwrap_or(""),
            )
            .env("AWS_ACCESS_KEY_ID", env_or("AWS_ACCESS_KEY_ID", "test"))
            .env(
                "AWS_SECRET_ACCESS_KEY",
                env_or("AWS_SECRET_ACCESS_KEY", "test"),
            )
            .env("AWS_DEFAULT_REGION", &region)
            .env("AWS_REGION", &region)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = path.parent() {
            cmd.current_dir(dir);
        }
        tracing::info!("init {}: running {name}", stage.name());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("init {}: {name} could not start: {e}", stage.name());
                return false;
            }
        };
        let log_lines = |reader: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
            let name = name.clone();
            async move {
                let Some(reader) = reader else { return };
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!("init {}: {name}: {line}", stage.name());
                }
            }
        };
        let out = log_lines(child.stdout.take().map(|r| Box::new(r) as _));
        let err = log_lines(child.stderr.take().map(|r| Box::new(r) as _));
        let (_, _, status) = tokio::join!(out, err, child.wait());
        match status {
            Ok(s) if s.success() => {
                tracing::info!("init {}: {name} succeeded", stage.name());
                true
            }
            Ok(s) => {
                tracing::error!("init {}: {name} failed ({s})", stage.name());
                false
            }
            Err(e) => {
                tracing::error!("init {}: {name}: {e}", stage.name());
                false
            }
        }
    }

    /// `GET /_localstack/init` (LocalStack's shape), or one stage's part.
    pub fn status(&self, only: Option<Stage>) -> Value {
        let completed = *self.completed.lock().unwrap();
        let scripts: Vec<Value> = self
            .scripts
            .lock()
            .unwrap()
            .iter()
            .filter(|s| only.is_none_or(|st| st == s.stage))
            .map(|s| {
                json!({
                    "stage": s.stage.name(),
                    "name": s.path.display().to_string(),
                    "state": s.state.name(),
                })
            })
            .collect();
        match only {
            Some(stage) => json!({"completed": completed[stage as usize], "scripts": scripts}),
            None => {
                let map: serde_json::Map<String, Value> = Stage::ALL
                    .iter()
                    .map(|st| (st.name().to_string(), Value::Bool(completed[*st as usize])))
                    .collect();
                json!({"completed": map, "scripts": scripts})
            }
        }
    }

    /// The `ready.d` summary health and `/_ministack/ready` report.
    pub fn ready_summary(&self) -> Value {
        let done = self.completed.lock().unwrap()[Stage::Ready as usize];
        let scripts = self.scripts.lock().unwrap();
        let ready = scripts.iter().filter(|s| s.stage == Stage::Ready);
        let total = ready.clone().count();
        let ok = ready
            .clone()
            .filter(|s| s.state == State::Successful)
            .count();
        let failed = ready.filter(|s| s.state == State::Error).count();
        json!({
            "status": if done { "completed" } else { "running" },
            "total": total,
            "completed": ok,
            "failed": failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_scripts_per_stage_in_order() {
        let dir = std::env::temp_dir().join(format!("init-hooks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ready.d")).unwrap();
        std::fs::create_dir_all(dir.join("boot.d")).unwrap();
        for f in [
            "ready.d/02-b.sh",
            "ready.d/01-a.py",
            "ready.d/notes.txt",
            "boot.d/x.sh",
        ] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let hooks = InitHooks::discover(&dir, &dir.join("none"));
        let status = hooks.status(None);
        let names: Vec<&str> = status["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 3);
        assert!(names[0].ends_with("boot.d/x.sh"));
        assert!(names[1].ends_with("01-a.py"));
        assert!(names[2].ends_with("02-b.sh"));
        assert_eq!(status["completed"]["READY"], false);
        assert_eq!(hooks.ready_summary()["total"], 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
