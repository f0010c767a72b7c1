//! A worker: one running copy of a function (a local process, or a Docker
//! container) with its own Runtime API server, and the log file its stdout
//! and stderr go to.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::runtime_api::Channel;

/// How to start a worker's program.
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

pub struct Worker {
    pub channel: Arc<Channel>,
    server: tokio::task::JoinHandle<()>,
    /// Process id (the group leader) of a local worker.
    pid: Option<u32>,
    /// Set to a description of how the program ended.
    exited: watch::Receiver<Option<String>>,
    log_path: PathBuf,
    log: File,
    log_offset: u64,
    /// Cleanup when the worker goes (a container to remove).
    on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    pub last_used: Instant,
    pub key: (String, String),
    pub generation: u64,
    pub function_id: String,
}

impl Worker {
    pub fn assemble(
        channel: Arc<Channel>,
        server: tokio::task::JoinHandle<()>,
        pid: Option<u32>,
        exited: watch::Receiver<Option<String>>,
        log_path: PathBuf,
        log: File,
        key: (String, String),
        generation: u64,
    ) -> Self {
        Self {
            channel,
            server,
            pid,
            exited,
            log_path,
            log,
            log_offset: 0,
            on_drop: None,
            last_used: Instant::now(),
            function_id: key.0.clone(),
            key,
            generation,
        }
    }

    pub fn set_on_drop(&mut self, f: Box<dyn FnOnce() + Send + Sync>) {
        self.on_drop = Some(f);
    }

    pub fn is_alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// Waits until the program ends; the description of how.
    pub async fn wait_exit(&self) -> String {
        let mut rx = self.exited.clone();
        loop {
            if let Some(why) = rx.borrow().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                return "the worker stopped".into();
            }
        }
    }

    /// What the program wrote since the last call.
    pub fn take_log(&mut self) -> String {
        let Ok(meta) = self.log.metadata() else {
            return String::new();
        };
        let end = meta.len();
        if end <= self.log_offset {
            return String::new();
        }
        let mut buf = vec![0u8; (end - self.log_offset) as usize];
        match self.log.read_exact_at(&mut buf, self.log_offset) {
            Ok(()) => {
                self.log_offset = end;
                String::from_utf8_lossy(&buf).into_owned()
            }
            Err(_) => String::new(),
        }
    }

    /// Peak resident memory of the process so far, in MB (local workers).
    pub fn max_memory_mb(&self) -> Option<u32> {
        let pid = self.pid?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.div_ceil(1024) as u32)
    }

    /// Ends the program now (its whole process group).
    pub fn kill(&self) {
        if let Some(pid) = self.pid {
            // SAFETY: kill(2) with a negative pid signals the process group the
            // worker leads (it was started with process_group(0)).
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        self.server.abort();
        let _ = std::fs::remove_file(&self.log_path);
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

/// Starts a local process; its exit is reported on the returned receiver.
pub fn spawn_local(
    launch: &Launch,
    log: &File,
) -> std::io::Result<(u32, watch::Receiver<Option<String>>)> {
    let mut cmd = tokio::process::Command::new(&launch.program);
    cmd.args(&launch.args)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&launch.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log.try_clone()?))
        .process_group(0)
        .kill_on_drop(false);
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the
    // worker when the gateway dies (even by SIGKILL), so none is left behind.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let why = match child.wait().await {
            Ok(status) => match (
                status.code(),
                std::os::unix::process::ExitStatusExt::signal(&status),
            ) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(sig)) => format!("signal: {sig}"),
                _ => "exited".into(),
            },
            Err(e) => format!("wait failed: {e}"),
        };
        let _ = tx.send(Some(why));
    });
    Ok((pid, rx))
}
