//! The Docker executor (LAMBDA_EXECUTOR=docker): a worker is a container
//! (through the shared `crate::docker` module, owner "functions", so reset,
//! shutdown and the next start reap it) running the same runtime-interface
//! programs against the host's Runtime API.
//!
//! - Images: `MINISTACK_IMAGE_PREFIX` (default `public.ecr.aws/lambda/`) +
//!   `python:3.12`, `nodejs:20`, `provided:al2023`, `java:21`, ... for zip
//!   functions; the image URI itself for package type Image. Nothing is
//!   pulled: the image must be on the engine.
//! - Network: the host's (`--network host`) unless LAMBDA_DOCKER_NETWORK
//!   names one; then the container reaches the host as host.docker.internal.
//! - python, node and provided: the code is mounted at /var/task, layers at
//!   /opt, our runtime programs at /var/runtime-ministack; output goes to the
//!   worker's log file (mounted). java/dotnet/ruby and Image functions run the
//!   image's own entrypoint (AWS's base images run their runtime client when
//!   AWS_LAMBDA_RUNTIME_API is set); their output is not captured.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ministack_protocol::AwsError;
use tokio::sync::watch;

use super::runtime_api;
use super::worker::Worker;
use crate::docker::{Bind, ContainerSpec, Docker};

/// The AWS base image name of a runtime, e.g. python3.12 -> python:3.12.
pub fn runtime_image(runtime: &str) -> Option<String> {
    let (family, version) = if let Some(v) = runtime.strip_prefix("python") {
        ("python", v.to_string())
    } else if let Some(v) = runtime.strip_prefix("nodejs") {
        ("nodejs", v.trim_end_matches(".x").to_string())
    } else if let Some(v) = runtime.strip_prefix("provided") {
        ("provided", v.trim_start_matches('.').to_string())
    } else if let Some(v) = runtime.strip_prefix("java") {
        ("java", v.split('.').next().unwrap_or(v).to_string())
    } else if let Some(v) = runtime.strip_prefix("dotnet") {
        ("dotnet", v.to_string())
    } else if let Some(v) = runtime.strip_prefix("ruby") {
        ("ruby", v.to_string())
    } else {
        return None;
    };
    let version = if version.is_empty() {
        "latest".into()
    } else {
        version
    };
    Some(format!("{family}:{version}"))
}

/// `-e K=V`, `-v host:container[:ro]`, `--add-host name:ip` from
/// LAMBDA_DOCKER_FLAGS; other flags are ignored with a warning.
pub fn parse_flags(flags: &str) -> (Vec<(String, String)>, Vec<Bind>, Vec<String>) {
    let (mut env, mut binds, mut hosts) = (Vec::new(), Vec::new(), Vec::new());
    let mut words = flags.split_whitespace();
    while let Some(w) = words.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (w, None),
        };
        let mut value = || inline.clone().or_else(|| words.next().map(str::to_string));
        match flag {
            "-e" | "--env" => {
                if let Some((k, v)) = value().as_deref().and_then(|v| v.split_once('=')) {
                    env.push((k.to_string(), v.to_string()));
                }
            }
            "-v" | "--volume" => {
                if let Some(v) = value() {
                    let parts: Vec<&str> = v.split(':').collect();
                    if parts.len() >= 2 {
                        binds.push(Bind {
                            host_path: parts[0].to_string(),
                            container_path: parts[1].to_string(),
                            read_only: parts.get(2) == Some(&"ro"),
                        });
                    }
                }
            }
            "--add-host" => hosts.extend(value()),
            other => tracing::warn!("LAMBDA_DOCKER_FLAGS: {other} is not supported; ignored"),
        }
    }
    (env, binds, hosts)
}

/// What the container runs.
pub enum Program {
    /// A command line for `sh -c` whose output goes to the mounted log.
    Shell(String),
    /// The image's own entrypoint and this command.
    Image(Vec<String>),
}

pub struct ContainerLaunch<'a> {
    pub image: String,
    pub program: Program,
    pub env: Vec<(String, String)>,
    pub code_dir: Option<&'a Path>,
    pub opt_dir: Option<&'a Path>,
    pub runtimes_dir: &'a Path,
    pub logs_dir: &'a Path,
    pub memory_mb: u32,
    pub plugin: &'a str,
    /// Put in the `ministack.function` label.
    pub function_name: &'a str,
}

/// Where the host serves a container's Runtime API, and the names the
/// container uses for the host (Runtime API, gateway).
pub fn addressing(network: Option<&str>) -> (IpAddr, &'static str) {
    match network {
        None => (IpAddr::from([127, 0, 0, 1]), "127.0.0.1"),
        Some(_) => (IpAddr::from([0, 0, 0, 0]), "host.docker.internal"),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn start(
    docker: &Arc<Docker>,
    launch: ContainerLaunch<'_>,
    network: Option<&str>,
    flags: Option<&str>,
    key: (String, String),
    generation: u64,
    log_path: std::path::PathBuf,
    log: std::fs::File,
    served: (
        Arc<runtime_api::Channel>,
        std::net::SocketAddr,
        tokio::task::JoinHandle<()>,
    ),
) -> Result<Worker, AwsError> {
    let (channel, _addr, server) = served;
    let (flag_env, flag_binds, flag_hosts) = parse_flags(flags.unwrap_or(""));
    let mut binds = vec![Bind {
        host_path: launch.runtimes_dir.display().to_string(),
        container_path: "/var/runtime-ministack".into(),
        read_only: true,
    }];
    if let Some(c) = launch.code_dir {
        binds.push(Bind {
            host_path: c.display().to_string(),
            container_path: "/var/task".into(),
            read_only: true,
        });
    }
    if let Some(o) = launch.opt_dir {
        binds.push(Bind {
            host_path: o.display().to_string(),
            container_path: "/opt".into(),
            read_only: true,
        });
    }
    binds.push(Bind {
        host_path: launch.logs_dir.display().to_string(),
        container_path: "/var/log/ministack".into(),
        read_only: false,
    });
    binds.extend(flag_binds);
    let mut env = launch.env;
    env.extend(flag_env);
    let log_name = log_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (entrypoint, cmd) = match launch.program {
        Program::Shell(line) => (
            Some(vec!["/bin/sh".to_string(), "-c".to_string()]),
            vec![format!("exec {line} >>/var/log/ministack/{log_name} 2>&1")],
        ),
        Program::Image(cmd) => (None, cmd),
    };
    let mut extra_hosts = flag_hosts;
    if network.is_some() {
        extra_hosts.push("host.docker.internal:host-gateway".into());
    }
    let spec = ContainerSpec {
        image: launch.image,
        cmd,
        entrypoint,
        env,
        working_dir: launch.code_dir.map(|_| "/var/task".to_string()),
        binds,
        network: Some(network.unwrap_or("host").to_string()),
        memory_mb: Some(u64::from(launch.memory_mb.max(128))),
        extra_hosts,
        plugin: launch.plugin.to_string(),
        owner: "functions".into(),
        labels: [(
            "ministack.function".to_string(),
            launch.function_name.to_string(),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let fail = |e: crate::docker::DockerError| e.to_aws();
    let id = match docker.create(&spec).await {
        Ok(id) => id,
        Err(e) => {
            server.abort();
            return Err(fail(e));
        }
    };
    if let Err(e) = docker.start(&id).await {
        let _ = docker.remove(&id).await;
        server.abort();
        return Err(fail(e));
    }
    // Docker has no exit notification here: ask every half second.
    let (tx, exited) = watch::channel(None);
    {
        let (docker, id) = (docker.clone(), id.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if tx.is_closed() {
                    return;
                }
                match docker.inspect(&id).await {
                    Ok(info) if info.running => continue,
                    Ok(info) => {
                        let _ = tx.send(Some(format!(
                            "exit status {}",
                            info.exit_code.unwrap_or(-1)
                        )));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Some(format!("container gone: {e}")));
                        return;
                    }
                }
            }
        });
    }
    let mut worker = Worker::assemble(
        channel, server, None, exited, log_path, log, key, generation,
    );
    let docker = docker.clone();
    worker.set_on_drop(Box::new(move || {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = docker.remove(&id).await;
            });
        }
    }));
    Ok(worker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_images() {
        assert_eq!(runtime_image("python3.12").unwrap(), "python:3.12");
        assert_eq!(runtime_image("nodejs20.x").unwrap(), "nodejs:20");
        assert_eq!(runtime_image("provided.al2023").unwrap(), "provided:al2023");
        assert_eq!(runtime_image("java21").unwrap(), "java:21");
        assert!(runtime_image("cobol").is_none());
    }

    #[test]
    fn flags() {
        let (env, binds, hosts) =
            parse_flags("-e A=1 --env=B=2 -v /x:/y:ro --add-host h:1.2.3.4 --privileged");
        assert_eq!(
            env,
            vec![("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(binds.len(), 1);
        assert!(binds[0].read_only);
        assert_eq!(hosts, vec!["h:1.2.3.4".to_string()]);
    }
}
