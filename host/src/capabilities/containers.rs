//! `containers` and `processes`: Docker containers and local server
//! programs run for a plugin (see docs/containers.md).
//!
//! Both are granted in plugins.toml. A plugin sees only what it started
//! (containers by their labels, processes by the host's table). Everything
//! is removed on `/_ministack/reset` (all, or one plugin's), on shutdown, and
//! at the next start after a crash ([`Shared::reap_machines`],
//! [`open`]). Time spent waiting for Docker or a port counts as host wait,
//! not against the plugin's run-time limit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ministack_protocol::AwsError;
use wasmtime::component::{HasData, Linker};

use super::{HostState, HostTrap, RequestState, Shared};
use crate::bindings::ministack::plugin::containers as wit;
use crate::bindings::ministack::plugin::processes as pwit;
use crate::bindings::ministack::plugin::types::AwsError as WitError;
use crate::config::Config;
use crate::docker::{self, Bind, ContainerSpec, Docker, DockerError, DockerSettings, PortRequest};
use crate::ports::PortAllocator;
use crate::processes::{ProcessError, ProcessInfo, ProcessSpec, Processes};

/// Largest build context or volume archive taken from a blob.
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
/// Longest wait-for-port a plugin may ask for.
const MAX_PORT_WAIT: Duration = Duration::from_secs(120);

/// Makes the Docker connection (nothing contacted) and the process table;
/// kills processes and (in the background: startup never waits for Docker)
/// removes containers that a crashed run of this state folder left.
pub fn open(config: &Config) -> anyhow::Result<(Arc<Docker>, Arc<Processes>)> {
    let settings = DockerSettings::from_env()?;
    let instance = docker::instance(&config.state_dir);
    let ports = Arc::new(PortAllocator::new(
        settings.port_range.clone(),
        settings.publish_ip,
    ));
    let processes = Arc::new(Processes::open(
        &config.state_dir,
        ports.clone(),
        instance.owns_folder,
    ));
    let docker = Arc::new(Docker::new(settings, instance.id, ports));
    if instance.owns_folder {
        let d = docker.clone();
        tokio::spawn(async move {
            let n = d.reap_earlier_runs().await;
            if n > 0 {
                tracing::info!(removed = n, "removed containers a previous run left");
            }
        });
    }
    Ok((docker, processes))
}

impl Shared {
    /// Removes the containers and stops the processes of every plugin (or
    /// of one); returns (containers, processes).
    pub async fn reap_machines(&self, plugin: Option<&str>) -> (usize, usize) {
        tokio::join!(self.docker.reap(plugin), self.processes.reap(plugin))
    }
}

fn wit_error(e: AwsError) -> WitError {
    WitError {
        code: e.code,
        message: e.message,
        status: e.status,
        sender_fault: e.sender_fault,
        extra_json: e.extra.map(|m| serde_json::Value::Object(m).to_string()),
    }
}

fn docker_error(e: DockerError) -> WitError {
    wit_error(e.to_aws())
}

fn not_found(id: &str) -> WitError {
    docker_error(DockerError::NotFound(format!(
        "no container {id} of this plugin"
    )))
}

pub struct ContainersView<'a>(pub &'a mut RequestState);

struct ContainersCap;
impl HasData for ContainersCap {
    type Data<'a> = ContainersView<'a>;
}

pub struct ProcessesView<'a>(pub &'a mut RequestState);

struct ProcessesCap;
impl HasData for ProcessesCap {
    type Data<'a> = ProcessesView<'a>;
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, ContainersCap>(linker, |s| ContainersView(&mut s.req))?;
    pwit::add_to_linker::<HostState, ProcessesCap>(linker, |s| ProcessesView(&mut s.req))
}

fn trap(e: HostTrap) -> wasmtime::Error {
    wasmtime::Error::new(e)
}

/// Ends the store unit, polls 127.0.0.1:`port` until a server answers
/// there ([`serving`]), begins a new unit.
async fn wait_for_port(
    req: &mut RequestState,
    port: u16,
    timeout_ms: u32,
) -> wasmtime::Result<bool> {
    let began = Instant::now();
    req.next_unit().await.map_err(trap)?;
    let limit = Duration::from_millis(timeout_ms.into()).min(MAX_PORT_WAIT);
    let up = loop {
        if serving(port).await {
            break true;
        }
        if began.elapsed() >= limit {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    req.waited += began.elapsed();
    Ok(up)
}

/// How long an accepted connection must stay open (or speak) to count as a
/// server's.
const HOLD: Duration = Duration::from_millis(30);

/// Whether a server accepts on 127.0.0.1:`port`. An accepted connection
/// alone is not enough: Docker's userland proxy accepts on a published
/// port before the container's server listens, and closes the connection
/// when it cannot reach it. One that is closed within [`HOLD`] is not
/// counted (a server that speaks first, or stays silent, is).
async fn serving(port: u16) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(HOLD, stream.peek(&mut byte)).await {
        Err(_) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}

impl ContainersView<'_> {
    fn docker(&self) -> Arc<Docker> {
        self.0.shared.docker.clone()
    }

    /// The container if it is this plugin's (of this gateway).
    async fn owned(&self, id: &str) -> Result<docker::ContainerInfo, WitError> {
        let docker = self.docker();
        let info = match docker.inspect(id).await {
            Ok(info) => info,
            Err(DockerError::NotFound(_)) => return Err(not_found(id)),
            Err(e) => return Err(docker_error(e)),
        };
        let mine = info.labels.get(docker::LABEL_INSTANCE) == Some(&docker.instance)
            && info.labels.get(docker::LABEL_PLUGIN) == Some(&self.0.plugin.name);
        if mine { Ok(info) } else { Err(not_found(id)) }
    }

    /// The whole of a blob this plugin owns.
    async fn blob_bytes(&mut self, id: &str) -> Result<Bytes, WitError> {
        let req = &mut *self.0;
        let owned = req
            .unit()
            .get(super::blobs::REGISTRY_TABLE, id.as_bytes())
            .map_err(|e| wit_error(crate::bindings::internal_failure(e.to_string())))?
            .is_some();
        let invalid = |m: String| docker_error(DockerError::Invalid(m));
        if !owned {
            return Err(invalid(format!("no blob {id:?}")));
        }
        let size = req
            .shared
            .blobs
            .stat(&req.plugin.name, id)
            .map(|b| b.size)
            .unwrap_or(0);
        if size > MAX_ARCHIVE_BYTES {
            return Err(invalid(format!(
                "blob {id} is {size} bytes; archives are limited to {MAX_ARCHIVE_BYTES}"
            )));
        }
        req.shared
            .blobs
            .read(&req.plugin.name, id, 0, size)
            .await
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Checks the grant, runs the body (an async block over `$v`, the view),
/// counts its time as host wait.
macro_rules! docker_call {
    ($self:ident, |$v:ident| $body:expr) => {{
        $self.0.granted("containers").map_err(trap)?;
        let began = Instant::now();
        let $v = &mut *$self;
        let result: Result<_, WitError> = async { $body }.await;
        $self.0.waited += began.elapsed();
        Ok(result)
    }};
}

fn to_wit_info(info: docker::ContainerInfo) -> wit::ContainerInfo {
    wit::ContainerInfo {
        id: info.id,
        name: info.name,
        image: info.image,
        status: info.status,
        running: info.running,
        exit_code: info.exit_code,
        ports: info
            .ports
            .into_iter()
            .map(|p| wit::PortMapping {
                container_port: p.container_port,
                protocol: p.protocol,
                host_ip: p.host_ip,
                host_port: p.host_port,
            })
            .collect(),
        labels: info.labels.into_iter().collect(),
        ip_address: info.ip_address,
    }
}

/// Container names: `ministack-<instance>-<plugin>-<suffix>`; the suffix is
/// what Docker accepts in a name.
fn container_name(instance: &str, plugin: &str, suffix: &str) -> Result<Option<String>, String> {
    if suffix.is_empty() {
        return Ok(None);
    }
    let ok = suffix.len() <= 100
        && suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(format!(
            "container name {suffix:?} may hold only letters, digits, '_', '.' and '-' (at most 100)"
        ));
    }
    Ok(Some(format!("ministack-{instance}-{plugin}-{suffix}")))
}

impl wit::Host for ContainersView<'_> {
    async fn available(&mut self) -> wasmtime::Result<Result<String, WitError>> {
        docker_call!(self, |v| v.docker().available().await.map_err(docker_error))
    }

    async fn image_exists(&mut self, image: String) -> wasmtime::Result<Result<bool, WitError>> {
        docker_call!(self, |v| {
            v.docker().image_exists(&image).await.map_err(docker_error)
        })
    }

    async fn build_image(
        &mut self,
        context_blob: String,
        tag: String,
        dockerfile: String,
    ) -> wasmtime::Result<Result<String, WitError>> {
        docker_call!(self, |v| {
            let docker = v.docker();
            docker.available().await.map_err(docker_error)?;
            if tag.is_empty() {
                return Err(docker_error(DockerError::Invalid(
                    "an image tag is required".into(),
                )));
            }
            let context = v.blob_bytes(&context_blob).await?;
            let dockerfile = (!dockerfile.is_empty()).then_some(dockerfile.as_str());
            docker
                .build_image(context, &tag, dockerfile, &v.0.plugin.name)
                .await
                .map_err(docker_error)
        })
    }

    async fn create(
        &mut self,
        spec: wit::ContainerSpec,
    ) -> wasmtime::Result<Result<String, WitError>> {
        docker_call!(self, |v| {
            let docker = v.docker();
            docker.available().await.map_err(docker_error)?;
            let plugin = v.0.plugin.name.clone();
            let invalid = |m: String| docker_error(DockerError::Invalid(m));
            let name = container_name(&docker.instance, &plugin, &spec.name).map_err(invalid)?;
            let mut binds = Vec::new();
            let mut archives = Vec::new();
            for vol in spec.volumes {
                if !vol.target.starts_with('/') {
                    return Err(invalid(format!(
                        "volume target {:?} must be an absolute path",
                        vol.target
                    )));
                }
                match vol.source {
                    wit::VolumeSource::HostPath(path) => {
                        if !std::path::Path::new(&path).is_absolute() {
                            return Err(invalid(format!(
                                "volume host path {path:?} must be absolute"
                            )));
                        }
                        binds.push(Bind {
                            host_path: path,
                            container_path: vol.target,
                            read_only: vol.read_only,
                        });
                    }
                    wit::VolumeSource::BlobArchive(blob) => {
                        archives.push((vol.target, v.blob_bytes(&blob).await?));
                    }
                }
            }
            let spec = ContainerSpec {
                name,
                image: spec.image,
                cmd: spec.command,
                entrypoint: (!spec.entrypoint.is_empty()).then_some(spec.entrypoint),
                env: spec.env,
                working_dir: (!spec.working_dir.is_empty()).then_some(spec.working_dir),
                ports: spec
                    .ports
                    .into_iter()
                    .map(|p| PortRequest {
                        container_port: p.container_port,
                        protocol: p.protocol,
                        host_port: (p.host_port != 0).then_some(p.host_port),
                    })
                    .collect(),
                binds,
                network: (!spec.network.is_empty()).then_some(spec.network),
                labels: spec.labels.into_iter().collect::<BTreeMap<_, _>>(),
                memory_mb: (spec.memory_mb != 0).then_some(spec.memory_mb.into()),
                extra_hosts: vec!["host.docker.internal:host-gateway".into()],
                plugin,
                owner: "containers".into(),
            };
            let id = docker.create(&spec).await.map_err(docker_error)?;
            for (target, tar) in archives {
                if let Err(e) = docker.upload_archive(&id, &target, tar).await {
                    let _ = docker.remove(&id).await;
                    return Err(docker_error(e));
                }
            }
            Ok(id)
        })
    }

    async fn start(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::ContainerInfo, WitError>> {
        docker_call!(self, |v| {
            v.owned(&id).await?;
            let docker = v.docker();
            docker.start(&id).await.map_err(docker_error)?;
            docker
                .inspect(&id)
                .await
                .map(to_wit_info)
                .map_err(docker_error)
        })
    }

    async fn stop(
        &mut self,
        id: String,
        grace_seconds: u32,
    ) -> wasmtime::Result<Result<(), WitError>> {
        docker_call!(self, |v| {
            v.owned(&id).await?;
            v.docker()
                .stop(&id, Duration::from_secs(grace_seconds.min(600).into()))
                .await
                .map_err(docker_error)
        })
    }

    async fn remove(&mut self, id: String) -> wasmtime::Result<Result<(), WitError>> {
        docker_call!(self, |v| {
            v.owned(&id).await?;
            v.docker().remove(&id).await.map_err(docker_error)
        })
    }

    async fn inspect(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::ContainerInfo, WitError>> {
        docker_call!(self, |v| v.owned(&id).await.map(to_wit_info))
    }

    async fn logs(&mut self, id: String, tail: u32) -> wasmtime::Result<Result<String, WitError>> {
        docker_call!(self, |v| {
            v.owned(&id).await?;
            v.docker().logs(&id, tail).await.map_err(docker_error)
        })
    }

    async fn exec(
        &mut self,
        id: String,
        command: Vec<String>,
        env: Vec<(String, String)>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<wit::ExecResult, WitError>> {
        docker_call!(self, |v| {
            if command.is_empty() {
                return Err(docker_error(DockerError::Invalid(
                    "exec needs a command".into(),
                )));
            }
            v.owned(&id).await?;
            let limit = match timeout_ms {
                0 => Duration::from_secs(30),
                ms => Duration::from_millis(ms.into()).min(Duration::from_secs(600)),
            };
            v.docker()
                .exec(&id, command, env, limit)
                .await
                .map(|o| wit::ExecResult {
                    exit_code: o.exit_code,
                    stdout: o.stdout,
                    stderr: o.stderr,
                })
                .map_err(docker_error)
        })
    }

    async fn list(&mut self) -> wasmtime::Result<Result<Vec<String>, WitError>> {
        docker_call!(self, |v| {
            let plugin = v.0.plugin.name.clone();
            v.docker().list(Some(&plugin)).await.map_err(docker_error)
        })
    }

    async fn wait_for_port(&mut self, port: u16, timeout_ms: u32) -> wasmtime::Result<bool> {
        self.0.granted("containers").map_err(trap)?;
        wait_for_port(self.0, port, timeout_ms).await
    }
}

fn to_wit_process(p: ProcessInfo) -> pwit::ProcessInfo {
    pwit::ProcessInfo {
        id: p.id,
        pid: p.pid,
        program: p.program,
        port: p.port,
        dir: p.dir.to_string_lossy().into_owned(),
        running: p.running,
        exit_code: p.exit_code,
    }
}

fn process_error(e: ProcessError) -> WitError {
    wit_error(e.to_aws())
}

impl pwit::Host for ProcessesView<'_> {
    async fn start(
        &mut self,
        spec: pwit::ProcessSpec,
    ) -> wasmtime::Result<Result<pwit::ProcessInfo, WitError>> {
        let req = &mut *self.0;
        req.granted("processes").map_err(trap)?;
        let spec = ProcessSpec {
            program: spec.program,
            args: spec.args,
            env: spec.env,
            want_port: spec.want_port,
        };
        Ok(req
            .shared
            .processes
            .start(&req.plugin.name, &req.plugin.entry.programs, spec)
            .map(to_wit_process)
            .map_err(process_error))
    }

    async fn stop(&mut self, id: String, grace_ms: u32) -> wasmtime::Result<Result<(), WitError>> {
        let req = &mut *self.0;
        req.granted("processes").map_err(trap)?;
        let began = Instant::now();
        let grace = Duration::from_millis(grace_ms.min(600_000).into());
        let result = req
            .shared
            .processes
            .stop(&req.plugin.name, &id, grace)
            .await
            .map_err(process_error);
        req.waited += began.elapsed();
        Ok(result)
    }

    async fn inspect(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<pwit::ProcessInfo, WitError>> {
        let req = &mut *self.0;
        req.granted("processes").map_err(trap)?;
        Ok(req
            .shared
            .processes
            .inspect(&req.plugin.name, &id)
            .map(to_wit_process)
            .map_err(process_error))
    }

    async fn logs(
        &mut self,
        id: String,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<String, WitError>> {
        let req = &mut *self.0;
        req.granted("processes").map_err(trap)?;
        Ok(req
            .shared
            .processes
            .logs(&req.plugin.name, &id, max_bytes)
            .map_err(process_error))
    }

    async fn list(&mut self) -> wasmtime::Result<Vec<pwit::ProcessInfo>> {
        let req = &mut *self.0;
        req.granted("processes").map_err(trap)?;
        Ok(req
            .shared
            .processes
            .list(&req.plugin.name)
            .into_iter()
            .map(to_wit_process)
            .collect())
    }

    async fn wait_for_port(&mut self, port: u16, timeout_ms: u32) -> wasmtime::Result<bool> {
        self.0.granted("processes").map_err(trap)?;
        wait_for_port(self.0, port, timeout_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that closes what it accepts (as Docker's proxy does
    /// before the container listens) is not a server; one that keeps the
    /// connection open, or greets, is.
    #[tokio::test]
    async fn a_port_serves_when_it_keeps_the_connection() {
        use tokio::io::AsyncWriteExt;
        let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closing_port = closing.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = closing.accept().await {
                drop(s);
            }
        });
        assert!(!serving(closing_port).await);

        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                kept.push(s);
            }
        });
        assert!(serving(silent_port).await);

        let greeting = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let greeting_port = greeting.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = greeting.accept().await {
                let _ = s.write_all(b"+OK\r\n").await;
                drop(s);
            }
        });
        assert!(serving(greeting_port).await);

        let nothing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nothing_port = nothing.local_addr().unwrap().port();
        drop(nothing);
        assert!(!serving(nothing_port).await);
    }

    #[test]
    fn container_names_carry_instance_and_plugin_and_refuse_odd_characters() {
        assert_eq!(container_name("i1", "p", "").unwrap(), None);
        assert_eq!(
            container_name("i1", "p", "db-1").unwrap().as_deref(),
            Some("ministack-i1-p-db-1")
        );
        assert!(container_name("i1", "p", "a/b").is_err());
        assert!(container_name("i1", "p", &"x".repeat(101)).is_err());
    }
}
