//! Long-running local programs (servers such as `redis-server` or
//! `postgres`) started for plugins: the `processes` capability's engine.
//!
//! Each process runs in its own process group (so a server's children go
//! with it), in its own folder under `<state dir>/processes/<id>/`, with
//! stdout and stderr in `output.log` there. A pid file
//! (`<state dir>/processes/<id>.json`: pid, start time, plugin) outlives a
//! crash of the gateway: the next start kills what the files name (after
//! checking the start time, so a recycled pid is left alone) and removes
//! the folders. Reset and shutdown stop them too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::ports::PortAllocator;

/// What a plugin asks for.
#[derive(Clone, Debug, Default)]
pub struct ProcessSpec {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub want_port: bool,
}

/// What a process is now.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessInfo {
    pub id: String,
    pub pid: u32,
    pub program: String,
    pub port: u16,
    pub dir: PathBuf,
    pub running: bool,
    pub exit_code: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(
        "program {0:?} is not allowed for this plugin: list it in plugins.toml (programs = [{0:?}])"
    )]
    NotAllowed(String),
    #[error("program {0:?} is not installed (not found on PATH)")]
    NotInstalled(String),
    #[error("no process {0}")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

impl ProcessError {
    pub fn to_aws(&self) -> ministack_protocol::AwsError {
        let (code, status, sender) = match self {
            ProcessError::NotAllowed(_) => ("AccessDeniedException", 403, true),
            ProcessError::NotInstalled(_) => ("InvalidParameterValueException", 400, true),
            ProcessError::NotFound(_) => ("ResourceNotFoundException", 404, true),
            ProcessError::Failed(_) => ("ServiceException", 500, false),
        };
        ministack_protocol::AwsError {
            code: code.into(),
            message: self.to_string(),
            status: Some(status),
            sender_fault: sender,
            extra: None,
        }
    }
}

/// The pid file: enough to find the process again after a crash.
#[derive(Serialize, Deserialize)]
struct PidFile {
    pid: u32,
    /// Field 22 of /proc/<pid>/stat: tells a recycled pid apart.
    start_time: u64,
    plugin: String,
    program: String,
}

struct Running {
    plugin: String,
    program: String,
    pid: u32,
    port: u16,
    dir: PathBuf,
    /// None while running, then the exit code (-signal when killed).
    exit: watch::Receiver<Option<i32>>,
}

pub struct Processes {
    root: PathBuf,
    ports: Arc<PortAllocator>,
    running: Mutex<HashMap<String, Running>>,
}

impl Processes {
    /// Opens `<state_dir>/processes`, killing what a crashed run left
    /// (only when this gateway owns the state folder).
    pub fn open(state_dir: &Path, ports: Arc<PortAllocator>, reap_orphans: bool) -> Self {
        let root = state_dir.join("processes");
        let _ = std::fs::create_dir_all(&root);
        let this = Self {
            root,
            ports,
            running: Mutex::new(HashMap::new()),
        };
        if reap_orphans {
            let n = this.reap_orphans();
            if n > 0 {
                tracing::info!(killed = n, "reaped processes of a previous run");
            }
        }
        this
    }

    /// Kills the processes named by pid files (a previous run's) and removes
    /// their folders; returns how many were still alive.
    fn reap_orphans(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        let mut killed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(pf) = serde_json::from_str::<PidFile>(&text)
                && start_time(pf.pid) == Some(pf.start_time)
            {
                // SAFETY: kill(2) on a process group we started (pid = pgid).
                unsafe { libc::kill(-(pf.pid as i32), libc::SIGKILL) };
                killed += 1;
                tracing::debug!(pid = pf.pid, program = pf.program, "killed orphan");
            }
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_dir_all(path.with_extension(""));
        }
        killed
    }

    /// Starts `spec.program` (checked against `allowed`, found on PATH).
    pub fn start(
        &self,
        plugin: &str,
        allowed: &[String],
        spec: ProcessSpec,
    ) -> Result<ProcessInfo, ProcessError> {
        if !allowed.iter().any(|p| p == &spec.program) {
            return Err(ProcessError::NotAllowed(spec.program));
        }
        let exe = find_on_path(&spec.program)
            .ok_or_else(|| ProcessError::NotInstalled(spec.program.clone()))?;
        let id = format!("p-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let dir = self.root.join(&id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| ProcessError::Failed(format!("creating {}: {e}", dir.display())))?;
        let port = if spec.want_port {
            match self.ports.allocate() {
                Some(p) => p,
                None => {
                    let _ = std::fs::remove_dir_all(&dir);
                    let r = self.ports.range();
                    return Err(ProcessError::Failed(format!(
                        "no free host port left in {}-{} (MINISTACK_PORT_RANGE)",
                        r.start(),
                        r.end()
                    )));
                }
            }
        } else {
            0
        };
        let fill = |s: &str| {
            s.replace("{port}", &port.to_string())
                .replace("{dir}", &dir.to_string_lossy())
        };
        let spawned = (|| {
            let log = std::fs::File::create(dir.join("output.log"))?;
            let mut cmd = std::process::Command::new(&exe);
            cmd.args(spec.args.iter().map(|a| fill(a)))
                .envs(spec.env.iter().map(|(k, v)| (k, fill(v))))
                .current_dir(&dir)
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            if spec.want_port {
                cmd.env("PORT", port.to_string());
            }
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            tokio::process::Command::from(cmd).spawn()
        })();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                self.ports.release(port);
                let _ = std::fs::remove_dir_all(&dir);
                return Err(ProcessError::Failed(format!(
                    "starting {}: {e}",
                    exe.display()
                )));
            }
        };
        let pid = child.id().unwrap_or(0);
        let pid_file = PidFile {
            pid,
            start_time: start_time(pid).unwrap_or(0),
            plugin: plugin.to_string(),
            program: spec.program.clone(),
        };
        let _ = std::fs::write(
            self.root.join(format!("{id}.json")),
            serde_json::to_vec(&pid_file).unwrap_or_default(),
        );
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => status.code().unwrap_or_else(|| {
                    -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
                }),
                Err(_) => -1,
            };
            let _ = tx.send(Some(code));
        });
        let info = ProcessInfo {
            id: id.clone(),
            pid,
            program: spec.program.clone(),
            port,
            dir: dir.clone(),
            running: true,
            exit_code: None,
        };
        self.running.lock().unwrap().insert(
            id,
            Running {
                plugin: plugin.to_string(),
                program: spec.program,
                pid,
                port,
                dir,
                exit: rx,
            },
        );
        tracing::info!(plugin, program = info.program, pid, port, "process started");
        Ok(info)
    }

    pub fn inspect(&self, plugin: &str, id: &str) -> Result<ProcessInfo, ProcessError> {
        let running = self.running.lock().unwrap();
        match running.get(id) {
            Some(r) if r.plugin == plugin => Ok(info(id, r)),
            _ => Err(ProcessError::NotFound(id.to_string())),
        }
    }

    pub fn list(&self, plugin: &str) -> Vec<ProcessInfo> {
        let running = self.running.lock().unwrap();
        let mut list: Vec<ProcessInfo> = running
            .iter()
            .filter(|(_, r)| r.plugin == plugin)
            .map(|(id, r)| info(id, r))
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// The last `max_bytes` of its output.
    pub fn logs(&self, plugin: &str, id: &str, max_bytes: u32) -> Result<String, ProcessError> {
        let dir = self.inspect(plugin, id)?.dir;
        let bytes = std::fs::read(dir.join("output.log")).unwrap_or_default();
        let max = if max_bytes == 0 {
            64 << 10
        } else {
            max_bytes as usize
        };
        let from = bytes.len().saturating_sub(max);
        Ok(String::from_utf8_lossy(&bytes[from..]).into_owned())
    }

    /// SIGTERM to the group, SIGKILL after `grace`; forgets it, removes its
    /// folder and pid file, hands its port back.
    pub async fn stop(&self, plugin: &str, id: &str, grace: Duration) -> Result<(), ProcessError> {
        let r = {
            let mut running = self.running.lock().unwrap();
            match running.get(id) {
                Some(r) if r.plugin == plugin => running.remove(id).unwrap(),
                _ => return Err(ProcessError::NotFound(id.to_string())),
            }
        };
        self.finish(id, r, grace).await;
        Ok(())
    }

    async fn finish(&self, id: &str, mut r: Running, grace: Duration) {
        if r.exit.borrow().is_none() {
            // SAFETY: kill(2) on the process group we made (pgid = pid).
            unsafe { libc::kill(-(r.pid as i32), libc::SIGTERM) };
            let exited = matches!(
                tokio::time::timeout(grace, r.exit.wait_for(|e| e.is_some())).await,
                Ok(Ok(_))
            );
            if !exited {
                unsafe { libc::kill(-(r.pid as i32), libc::SIGKILL) };
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), r.exit.wait_for(|e| e.is_some()))
                        .await;
            }
        } else {
            // The leader exited; its children may not have.
            unsafe { libc::kill(-(r.pid as i32), libc::SIGKILL) };
        }
        if r.port != 0 {
            self.ports.release(r.port);
        }
        let _ = std::fs::remove_file(self.root.join(format!("{id}.json")));
        let _ = std::fs::remove_dir_all(&r.dir);
        tracing::info!(
            plugin = r.plugin,
            program = r.program,
            pid = r.pid,
            "process stopped"
        );
    }

    /// Stops every process (of one plugin, or all); returns how many.
    pub async fn reap(&self, plugin: Option<&str>) -> usize {
        let taken: Vec<(String, Running)> = {
            let mut running = self.running.lock().unwrap();
            let ids: Vec<String> = running
                .iter()
                .filter(|(_, r)| plugin.is_none_or(|p| r.plugin == p))
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter()
                .filter_map(|id| running.remove(&id).map(|r| (id, r)))
                .collect()
        };
        let n = taken.len();
        let stops = taken
            .into_iter()
            .map(|(id, r)| async move { self.finish(&id, r, Duration::from_secs(2)).await });
        futures_util::future::join_all(stops).await;
        n
    }
}

fn info(id: &str, r: &Running) -> ProcessInfo {
    let exit = *r.exit.borrow();
    ProcessInfo {
        id: id.to_string(),
        pid: r.pid,
        program: r.program.clone(),
        port: r.port,
        dir: r.dir.clone(),
        running: exit.is_none(),
        exit_code: exit,
    }
}

/// The start time of a live process (clock ticks since boot), from
/// /proc/<pid>/stat; none when it is gone.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// A program name resolved on PATH (a name with a '/' is taken as is).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| executable(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processes(dir: &Path) -> Processes {
        let ports = Arc::new(PortAllocator::new(46000..=46100, [127, 0, 0, 1].into()));
        Processes::open(dir, ports, true)
    }

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("ministack-proc-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn sleep_spec() -> ProcessSpec {
        ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), "echo port={port}; exec sleep 30".into()],
            env: vec![],
            want_port: true,
        }
    }

    #[tokio::test]
    async fn starts_logs_and_stops_a_process_and_refuses_unlisted_programs() {
        let dir = tmp();
        let p = processes(&dir);
        let allowed = vec!["sh".to_string()];
        let err = p.start("x", &[], sleep_spec()).unwrap_err();
        assert!(matches!(err, ProcessError::NotAllowed(_)), "{err}");
        let missing = ProcessSpec {
            program: "no-such-program-xyz".into(),
            ..Default::default()
        };
        let err = p
            .start("x", &["no-such-program-xyz".to_string()], missing)
            .unwrap_err();
        assert!(matches!(err, ProcessError::NotInstalled(_)), "{err}");

        let info = p.start("x", &allowed, sleep_spec()).unwrap();
        assert!(info.running && info.port >= 46000);
        assert!(dir.join(format!("processes/{}.json", info.id)).exists());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let logs = p.logs("x", &info.id, 0).unwrap();
        assert_eq!(logs.trim(), format!("port={}", info.port));
        assert!(p.inspect("other", &info.id).is_err(), "another plugin's");
        assert_eq!(p.list("x").len(), 1);
        p.stop("x", &info.id, Duration::from_secs(2)).await.unwrap();
        assert!(start_time(info.pid).is_none(), "the process is gone");
        assert!(!info.dir.exists());
        assert!(p.list("x").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_new_run_kills_what_the_pid_files_of_a_crashed_one_name() {
        let dir = tmp();
        let first = processes(&dir);
        let info = first.start("x", &["sh".into()], sleep_spec()).unwrap();
        // The gateway "crashes": its table is lost, the pid file stays.
        std::mem::forget(first);
        let _second = processes(&dir);
        for _ in 0..50 {
            if start_time(info.pid).is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(start_time(info.pid).is_none(), "the orphan was killed");
        assert!(!info.dir.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
