//! The host's Docker engine access (bollard), shared by the `containers`
//! capability and the Docker executor of `functions`.
//!
//! - Connects to `DOCKER_HOST` (unix://, tcp://, http://) or the default
//!   socket. Making the client touches nothing; availability is a ping with
//!   a short time limit, remembered for a few seconds, so a gateway without
//!   an engine starts normally and every Docker operation answers
//!   [`DockerError::Unavailable`] (an engine started later is picked up).
//! - Every container this gateway creates carries labels naming the gateway
//!   instance ([`LABEL_INSTANCE`], one id per state folder), the plugin and
//!   the host component that made it; [`Docker::reap`] removes them by label
//!   (on reset, on shutdown, and at start for orphans of a crashed run).
//! - Host ports come from the shared [`PortAllocator`] and are published on
//!   `MINISTACK_PUBLISH_HOST` (default 127.0.0.1) only.
//! - No registry pulls: images come from local builds ([`Docker::build_image`]
//!   from a context tar) or are already present ([`Docker::image_exists`]).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;
use ministack_protocol::AwsError;

use crate::ports::PortAllocator;

/// Label holding the gateway instance id (one per state folder).
pub const LABEL_INSTANCE: &str = "ministack.instance";
/// Label holding the plugin the container belongs to.
pub const LABEL_PLUGIN: &str = "ministack.plugin";
/// Label naming the host component that made it ("containers", "functions").
pub const LABEL_OWNER: &str = "ministack.owner";
/// Prefix of the labels on images the host builds (`...instance`,
/// `...plugin`): distinct from the container labels above, which a
/// container would otherwise inherit from its image.
pub const LABEL_IMAGE_PREFIX: &str = "ministack.image.";
/// Label naming this run of the gateway (a fresh id per start): the reap at
/// start removes only what earlier runs left, never this run's own.
pub const LABEL_RUN: &str = "ministack.run";

/// The engine when DOCKER_HOST is unset.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// How long an availability answer is trusted before asking again.
const AVAILABILITY_TTL: Duration = Duration::from_secs(3);
/// Ping time limit: an absent engine must not slow requests down much.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Image builds get longer than single API calls.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// Docker settings from the environment.
#[derive(Clone, Debug)]
pub struct DockerSettings {
    /// DOCKER_HOST, default unix:///var/run/docker.sock.
    pub host: String,
    /// MINISTACK_DOCKER_TIMEOUT (seconds, default 30): one API call's limit.
    pub timeout: Duration,
    /// DOCKER_NETWORK: network containers join when the caller names none.
    pub network: Option<String>,
    /// MINISTACK_PUBLISH_HOST (default 127.0.0.1): where host ports listen.
    pub publish_ip: IpAddr,
    /// MINISTACK_PORT_RANGE (default 45000-45999): host ports handed out.
    pub port_range: std::ops::RangeInclusive<u16>,
}

impl DockerSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let timeout = match var("MINISTACK_DOCKER_TIMEOUT") {
            Some(v) => Duration::from_secs_f64(v.parse::<f64>().map_err(|_| {
                anyhow::anyhow!("MINISTACK_DOCKER_TIMEOUT must be seconds, got {v:?}")
            })?),
            None => Duration::from_secs(30),
        };
        let publish_ip = match var("MINISTACK_PUBLISH_HOST") {
            Some(h) => h.parse().map_err(|_| {
                anyhow::anyhow!("MINISTACK_PUBLISH_HOST must be an IP address, got {h:?}")
            })?,
            None => IpAddr::from([127, 0, 0, 1]),
        };
        let port_range = match var("MINISTACK_PORT_RANGE") {
            Some(r) => crate::ports::parse_range(&r).map_err(anyhow::Error::msg)?,
            None => crate::ports::DEFAULT_RANGE,
        };
        Ok(Self {
            host: var("DOCKER_HOST").unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string()),
            timeout,
            network: var("DOCKER_NETWORK"),
            publish_ip,
            port_range,
        })
    }
}

/// Why a Docker operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DockerError {
    /// No engine answers (or DOCKER_HOST is unusable).
    #[error("Docker is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Docker did not answer within {0} s")]
    Timeout(u64),
    #[error("Docker failed: {0}")]
    Failed(String),
}

impl DockerError {
    /// The AWS-shaped error a plugin (and its client) sees.
    pub fn to_aws(&self) -> AwsError {
        let (code, status, sender) = match self {
            DockerError::Unavailable(_) => ("ServiceUnavailableException", 503, false),
            DockerError::NotFound(_) => ("ResourceNotFoundException", 404, true),
            DockerError::Conflict(_) => ("ResourceConflictException", 409, true),
            DockerError::Invalid(_) => ("InvalidParameterValueException", 400, true),
            DockerError::Timeout(_) => ("ServiceException", 500, false),
            DockerError::Failed(_) => ("ServiceException", 500, false),
        };
        AwsError {
            code: code.into(),
            message: self.to_string(),
            status: Some(status),
            sender_fault: sender,
            extra: None,
        }
    }

    fn from_bollard(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match e {
            E::DockerResponseServerError {
                status_code,
                message,
            } => match status_code {
                404 => DockerError::NotFound(message),
                409 => DockerError::Conflict(message),
                400 => DockerError::Invalid(message),
                _ => DockerError::Failed(format!("{status_code}: {message}")),
            },
            E::RequestTimeoutError => DockerError::Timeout(0),
            E::HyperResponseError { .. } | E::IOError { .. } => {
                DockerError::Unavailable(e.to_string())
            }
            other => DockerError::Failed(other.to_string()),
        }
    }
}

/// A port to publish: container port and protocol, host port (none = one
/// from the range).
#[derive(Clone, Debug)]
pub struct PortRequest {
    pub container_port: u16,
    /// "tcp" or "udp".
    pub protocol: String,
    pub host_port: Option<u16>,
}

/// A host folder mounted into the container.
#[derive(Clone, Debug)]
pub struct Bind {
    pub host_path: String,
    pub container_path: String,
    pub read_only: bool,
}

/// What to create.
#[derive(Clone, Debug, Default)]
pub struct ContainerSpec {
    /// Docker container name; none for `ministack-<instance>-<plugin>-<random>`.
    pub name: Option<String>,
    pub image: String,
    /// Overrides the image's CMD when not empty.
    pub cmd: Vec<String>,
    /// Overrides the image's ENTRYPOINT when set.
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub ports: Vec<PortRequest>,
    pub binds: Vec<Bind>,
    /// Network to join; none for DOCKER_NETWORK, or the engine's default.
    pub network: Option<String>,
    /// Labels beyond the host's own.
    pub labels: BTreeMap<String, String>,
    pub memory_mb: Option<u64>,
    /// "name:ip" entries for /etc/hosts (host.docker.internal:host-gateway).
    pub extra_hosts: Vec<String>,
    /// Plugin the container belongs to (label).
    pub plugin: String,
    /// Host component that makes it (label): "containers", "functions".
    pub owner: String,
}

/// A published port as the engine reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
}

/// What [`Docker::inspect`] tells.
#[derive(Clone, Debug)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    pub ports: Vec<PortMapping>,
    pub labels: BTreeMap<String, String>,
    /// Address on its first network ("" when none).
    pub ip_address: String,
}

/// Output of a command run in a container.
#[derive(Clone, Debug)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

struct Availability {
    checked: Instant,
    answer: Result<String, String>,
}

/// The engine connection of one gateway.
pub struct Docker {
    pub settings: DockerSettings,
    /// This gateway's instance id (the value of [`LABEL_INSTANCE`]).
    pub instance: String,
    /// This run's id (the value of [`LABEL_RUN`]).
    pub run: String,
    pub ports: Arc<PortAllocator>,
    client: Result<bollard::Docker, String>,
    availability: tokio::sync::Mutex<Option<Availability>>,
    /// Host ports reserved per container id, handed back on removal.
    reserved: Mutex<HashMap<String, Vec<u16>>>,
}

impl Docker {
    /// Makes the client; nothing is contacted yet.
    pub fn new(settings: DockerSettings, instance: String, ports: Arc<PortAllocator>) -> Self {
        let client = bollard::Docker::connect_with_host(&settings.host)
            .map(|c| c.with_timeout(settings.timeout))
            .map_err(|e| format!("cannot use DOCKER_HOST={}: {e}", settings.host));
        Self {
            settings,
            instance,
            run: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            ports,
            client,
            availability: tokio::sync::Mutex::new(None),
            reserved: Mutex::new(HashMap::new()),
        }
    }

    /// The engine's version when one answers, else why not. Never waits more
    /// than the ping limit; answers are remembered for a few seconds.
    pub async fn available(&self) -> Result<String, DockerError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| DockerError::Unavailable(e.clone()))?;
        let mut cached = self.availability.lock().await;
        if let Some(a) = cached.as_ref()
            && a.checked.elapsed() < AVAILABILITY_TTL
        {
            return a.answer.clone().map_err(DockerError::Unavailable);
        }
        let answer = match tokio::time::timeout(PING_TIMEOUT, client.version()).await {
            Ok(Ok(v)) => Ok(v.version.unwrap_or_else(|| "unknown".into())),
            Ok(Err(e)) => Err(format!(
                "no Docker engine answers at {} ({e}); start dockerd or set DOCKER_HOST",
                self.settings.host
            )),
            Err(_) => Err(format!(
                "the Docker engine at {} did not answer within {} s; start dockerd or set DOCKER_HOST",
                self.settings.host,
                PING_TIMEOUT.as_secs()
            )),
        };
        *cached = Some(Availability {
            checked: Instant::now(),
            answer: answer.clone(),
        });
        answer.map_err(DockerError::Unavailable)
    }

    /// The client, once the engine answered.
    async fn client(&self) -> Result<&bollard::Docker, DockerError> {
        self.available().await?;
        self.client
            .as_ref()
            .map_err(|e| DockerError::Unavailable(e.clone()))
    }

    /// Forgets the remembered answer (after a connection error).
    async fn forget(&self) {
        *self.availability.lock().await = None;
    }

    async fn timed<T>(
        &self,
        limit: Duration,
        f: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, DockerError> {
        match tokio::time::timeout(limit, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let e = DockerError::from_bollard(e);
                if matches!(e, DockerError::Unavailable(_)) {
                    self.forget().await;
                }
                Err(match e {
                    DockerError::Timeout(_) => DockerError::Timeout(limit.as_secs()),
                    other => other,
                })
            }
            Err(_) => Err(DockerError::Timeout(limit.as_secs())),
        }
    }

    /// The labels the host puts on everything it creates.
    pub fn labels(&self, plugin: &str, owner: &str) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_INSTANCE.to_string(), self.instance.clone()),
            (LABEL_PLUGIN.to_string(), plugin.to_string()),
            (LABEL_OWNER.to_string(), owner.to_string()),
            (LABEL_RUN.to_string(), self.run.clone()),
        ])
    }

    /// True when the image is present locally (nothing is pulled).
    pub async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        let client = self.client().await?;
        match self
            .timed(self.settings.timeout, client.inspect_image(image))
            .await
        {
            Ok(_) => Ok(true),
            Err(DockerError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Builds `tag` from a build context tar (with its Dockerfile at
    /// `dockerfile`, default "Dockerfile"); returns the image id. The
    /// classic builder, host networking (RUN steps reach what the host
    /// reaches), no pulls: FROM must name a local image.
    pub async fn build_image(
        &self,
        context_tar: Bytes,
        tag: &str,
        dockerfile: Option<&str>,
        plugin: &str,
    ) -> Result<String, DockerError> {
        let client = self.client().await?;
        // Not the container labels: a container inherits its image's
        // labels, so any container made from this image, by anyone, would
        // carry this instance's and plugin's and pass for one of ours (a
        // plugin could stop or remove it, and the reaper would).
        let labels = HashMap::from([
            (
                format!("{LABEL_IMAGE_PREFIX}instance"),
                self.instance.clone(),
            ),
            (format!("{LABEL_IMAGE_PREFIX}plugin"), plugin.to_string()),
        ]);
        let options = BuildImageOptionsBuilder::new()
            .dockerfile(dockerfile.unwrap_or("Dockerfile"))
            .t(tag)
            .rm(true)
            .forcerm(true)
            .networkmode("host")
            .labels(&labels)
            .build();
        let build = async {
            let mut stream =
                client.build_image(options, None, Some(bollard::body_full(context_tar)));
            let mut image_id = None;
            let mut tail = String::new();
            while let Some(item) = stream.next().await {
                let info = item.map_err(DockerError::from_bollard)?;
                if let Some(detail) = info.error_detail {
                    return Err(DockerError::Invalid(format!(
                        "building {tag} failed: {}",
                        detail.message.unwrap_or_default()
                    )));
                }
                if let Some(line) = info.stream {
                    tail.push_str(&line);
                    if tail.len() > 4000 {
                        tail.drain(..tail.len() - 2000);
                    }
                }
                if let Some(id) = info.aux.and_then(|a| a.id) {
                    image_id = Some(id);
                }
            }
            match image_id {
                Some(id) => Ok(id),
                // Older engines only print "Successfully built <id>".
                None => {
                    let client = self.client().await?;
                    client
                        .inspect_image(tag)
                        .await
                        .map(|i| i.id.unwrap_or_default())
                        .map_err(|_| {
                            DockerError::Failed(format!("building {tag} gave no image: {tail}"))
                        })
                }
            }
        };
        match tokio::time::timeout(BUILD_TIMEOUT, build).await {
            Ok(r) => r,
            Err(_) => Err(DockerError::Timeout(BUILD_TIMEOUT.as_secs())),
        }
    }

    /// Creates a container (not started): labels, published ports, network,
    /// binds. Host ports are reserved until [`Docker::remove`].
    pub async fn create(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let client = self.client().await?;
        if !self.image_exists(&spec.image).await? {
            return Err(DockerError::Invalid(format!(
                "image {} is not present on the Docker engine (no registry pulls: build it first)",
                spec.image
            )));
        }
        let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
        labels.extend(self.labels(&spec.plugin, &spec.owner));
        let mut reserved = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        let mut exposed = Vec::new();
        let publish_ip = self.settings.publish_ip.to_string();
        for p in &spec.ports {
            let proto = match p.protocol.to_ascii_lowercase().as_str() {
                "" | "tcp" => "tcp",
                "udp" => "udp",
                other => {
                    self.release_ports(&reserved);
                    return Err(DockerError::Invalid(format!(
                        "port protocol must be tcp or udp, got {other:?}"
                    )));
                }
            };
            let host_port = match p.host_port {
                Some(port) if self.ports.reserve(port) => port,
                Some(port) => {
                    self.release_ports(&reserved);
                    return Err(DockerError::Conflict(format!(
                        "host port {port} is already in use"
                    )));
                }
                None => match self.ports.allocate() {
                    Some(port) => port,
                    None => {
                        self.release_ports(&reserved);
                        let r = self.ports.range();
                        return Err(DockerError::Failed(format!(
                            "no free host port left in {}-{} (MINISTACK_PORT_RANGE)",
                            r.start(),
                            r.end()
                        )));
                    }
                },
            };
            reserved.push(host_port);
            let key = format!("{}/{proto}", p.container_port);
            exposed.push(key.clone());
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .as_mut()
                .unwrap()
                .push(PortBinding {
                    host_ip: Some(publish_ip.clone()),
                    host_port: Some(host_port.to_string()),
                });
        }
        let network = spec
            .network
            .clone()
            .or_else(|| self.settings.network.clone());
        let host_config = HostConfig {
            port_bindings: Some(bindings),
            binds: Some(
                spec.binds
                    .iter()
                    .map(|b| {
                        format!(
                            "{}:{}{}",
                            b.host_path,
                            b.container_path,
                            if b.read_only { ":ro" } else { "" }
                        )
                    })
                    .collect(),
            ),
            network_mode: network.clone(),
            memory: spec.memory_mb.map(|m| (m as i64) << 20),
            extra_hosts: Some(spec.extra_hosts.clone()),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: spec.working_dir.clone(),
            exposed_ports: Some(exposed),
            labels: Some(labels),
            host_config: Some(host_config),
            networking_config: network.map(|n| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(n, EndpointSettings::default())])),
            }),
            ..Default::default()
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            format!(
                "ministack-{}-{}-{}",
                self.instance,
                spec.plugin,
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )
        });
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        match self
            .timed(
                self.settings.timeout,
                client.create_container(Some(options), body),
            )
            .await
        {
            Ok(created) => {
                self.reserved
                    .lock()
                    .unwrap()
                    .insert(created.id.clone(), reserved);
                Ok(created.id)
            }
            Err(e) => {
                self.release_ports(&reserved);
                Err(e)
            }
        }
    }

    fn release_ports(&self, ports: &[u16]) {
        for p in ports {
            self.ports.release(*p);
        }
    }

    pub async fn start(&self, id: &str) -> Result<(), DockerError> {
        let client = self.client().await?;
        self.timed(self.settings.timeout, client.start_container(id, None))
            .await
    }

    /// Stops a container: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let client = self.client().await?;
        let options = StopContainerOptionsBuilder::new()
            .t(grace.as_secs() as i32)
            .build();
        match self
            .timed(
                self.settings.timeout + grace,
                client.stop_container(id, Some(options)),
            )
            .await
        {
            // 304: already stopped.
            Err(DockerError::Failed(m)) if m.starts_with("304") => Ok(()),
            other => other,
        }
    }

    /// Removes a container (killing it if running) and its anonymous volumes;
    /// hands its host ports back. A container already gone is fine.
    pub async fn remove(&self, id: &str) -> Result<(), DockerError> {
        let client = self.client().await?;
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let result = self
            .timed(
                self.settings.timeout,
                client.remove_container(id, Some(options)),
            )
            .await;
        match result {
            Ok(()) | Err(DockerError::NotFound(_)) => {
                let ports = self.reserved.lock().unwrap().remove(id);
                self.release_ports(&ports.unwrap_or_default());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInfo, DockerError> {
        let client = self.client().await?;
        let r = self
            .timed(self.settings.timeout, client.inspect_container(id, None))
            .await?;
        Ok(container_info(r))
    }

    /// The last `tail` lines of stdout and stderr, interleaved (0 = all).
    pub async fn logs(&self, id: &str, tail: u32) -> Result<String, DockerError> {
        let client = self.client().await?;
        let tail = if tail == 0 {
            "all".to_string()
        } else {
            tail.to_string()
        };
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&tail)
            .build();
        let collect = async {
            let mut out = Vec::new();
            let mut stream = client.logs(id, Some(options));
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(chunk?.as_ref());
            }
            Ok(String::from_utf8_lossy(&out).into_owned())
        };
        self.timed(self.settings.timeout, collect).await
    }

    /// Runs a command in a running container and waits for it.
    pub async fn exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        env: Vec<(String, String)>,
        limit: Duration,
    ) -> Result<ExecOutput, DockerError> {
        let client = self.client().await?;
        let options = CreateExecOptions {
            cmd: Some(cmd),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let run = async {
            let exec = client.create_exec(id, options).await?;
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            if let StartExecResults::Attached { mut output, .. } =
                client.start_exec(&exec.id, None).await?
            {
                while let Some(chunk) = output.next().await {
                    match chunk? {
                        bollard::container::LogOutput::StdErr { message } => {
                            stderr.extend_from_slice(&message)
                        }
                        other => stdout.extend_from_slice(other.as_ref()),
                    }
                }
            }
            let inspect = client.inspect_exec(&exec.id).await?;
            Ok(ExecOutput {
                exit_code: inspect.exit_code.unwrap_or(-1),
                stdout,
                stderr,
            })
        };
        self.timed(limit, run).await
    }

    /// Extracts a tar archive at `path` inside a (created or running)
    /// container, making the folder if needed: how blob volumes get their
    /// files without a host folder.
    pub async fn upload_archive(
        &self,
        id: &str,
        path: &str,
        tar: Bytes,
    ) -> Result<(), DockerError> {
        let client = self.client().await?;
        // The engine extracts only into an existing folder: move the entries
        // under `path` and extract at the root.
        let tar = tokio::task::spawn_blocking({
            let path = path.to_string();
            move || rebase_archive(&tar, &path)
        })
        .await
        .map_err(|e| DockerError::Failed(e.to_string()))?
        .map_err(|e| DockerError::Invalid(format!("the volume archive is not a valid tar: {e}")))?;
        let options = UploadToContainerOptionsBuilder::new().path("/").build();
        self.timed(
            self.settings.timeout,
            client.upload_to_container(id, Some(options), bollard::body_full(tar)),
        )
        .await
    }

    /// Ids of this gateway's containers (every state), optionally only one
    /// plugin's.
    pub async fn list(&self, plugin: Option<&str>) -> Result<Vec<String>, DockerError> {
        Ok(self
            .list_labelled(plugin)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// This instance's containers, each with its run label.
    async fn list_labelled(
        &self,
        plugin: Option<&str>,
    ) -> Result<Vec<(String, Option<String>)>, DockerError> {
        let client = self.client().await?;
        let mut labels = vec![format!("{LABEL_INSTANCE}={}", self.instance)];
        if let Some(p) = plugin {
            labels.push(format!("{LABEL_PLUGIN}={p}"));
        }
        let filters = HashMap::from([("label".to_string(), labels)]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .timed(self.settings.timeout, client.list_containers(Some(options)))
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let run = c.labels.and_then(|mut l| l.remove(LABEL_RUN));
                c.id.map(|id| (id, run))
            })
            .collect())
    }

    /// Removes every container of this gateway instance (or of one plugin);
    /// returns how many. Without an engine there is nothing to reap: 0.
    pub async fn reap(&self, plugin: Option<&str>) -> usize {
        self.reap_where(plugin, |_| true).await
    }

    /// Removes this instance's containers that earlier runs left (after a
    /// crash); this run's own are kept.
    pub async fn reap_earlier_runs(&self) -> usize {
        let run = self.run.clone();
        self.reap_where(None, move |r| r != Some(run.as_str()))
            .await
    }

    async fn reap_where(&self, plugin: Option<&str>, pick: impl Fn(Option<&str>) -> bool) -> usize {
        if self.available().await.is_err() {
            return 0;
        }
        let ids: Vec<String> = match self.list_labelled(plugin).await {
            Ok(list) => list
                .into_iter()
                .filter(|(_, run)| pick(run.as_deref()))
                .map(|(id, _)| id)
                .collect(),
            Err(e) => {
                tracing::warn!("listing containers to reap failed: {e}");
                return 0;
            }
        };
        let removals = ids.iter().map(|id| self.remove(id));
        let results = futures_util::future::join_all(removals).await;
        let mut removed = 0;
        for (id, r) in ids.iter().zip(results) {
            match r {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(container = id, "reaping failed: {e}"),
            }
        }
        if removed > 0 {
            tracing::info!(removed, plugin, "reaped containers");
        }
        removed
    }
}

/// The same archive with every entry moved under `base` (an absolute
/// path), preceded by entries for the folders of `base`.
fn rebase_archive(tar_bytes: &[u8], base: &str) -> std::io::Result<Bytes> {
    use std::path::PathBuf;
    let base = PathBuf::from(base.trim_start_matches('/'));
    let mut out = tar::Builder::new(Vec::new());
    let mut dir = PathBuf::new();
    for part in base.components() {
        dir.push(part);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        out.append_data(&mut header, &dir, std::io::empty())?;
    }
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry.path()?.into_owned();
        if rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(std::io::Error::other(format!(
                "entry {} leaves the target folder",
                rel.display()
            )));
        }
        let path = base.join(rel.strip_prefix("/").unwrap_or(&rel));
        let mut header = entry.header().clone();
        match entry.header().entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry.link_name()?.unwrap_or_default().into_owned();
                out.append_link(&mut header, &path, target)?;
            }
            _ => out.append_data(&mut header, &path, &mut entry)?,
        }
    }
    Ok(Bytes::from(out.into_inner()?))
}

fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let state = r.state.unwrap_or_default();
    let net = r.network_settings.unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in net.ports.unwrap_or_default() {
        let (port, proto) = key.split_once('/').unwrap_or((&key, "tcp"));
        let Ok(container_port) = port.parse() else {
            continue;
        };
        for b in bindings.unwrap_or_default() {
            ports.push(PortMapping {
                container_port,
                protocol: proto.to_string(),
                host_ip: b.host_ip.unwrap_or_default(),
                host_port: b.host_port.and_then(|p| p.parse().ok()).unwrap_or(0),
            });
        }
    }
    ports.sort_by_key(|p| (p.container_port, p.host_ip.clone()));
    let ip_address = net
        .networks
        .unwrap_or_default()
        .into_values()
        .filter_map(|e| e.ip_address)
        .find(|ip| !ip.is_empty())
        .unwrap_or_default();
    let config = r.config.unwrap_or_default();
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: r
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
        ports,
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        ip_address,
    }
}

/// This gateway's instance id, kept in `<state_dir>/ministack-instance` so
/// that a restart after a crash finds (and reaps) what the crashed run left.
/// When another live gateway holds the same state folder, this one gets a
/// fresh id of its own and `orphans` is false (nothing of that gateway's is
/// touched).
pub struct Instance {
    pub id: String,
    /// True when the id is the folder's: whatever carries it is an orphan.
    pub owns_folder: bool,
}

pub fn instance(state_dir: &Path) -> Instance {
    let fresh = || uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    if std::fs::create_dir_all(state_dir).is_err() {
        return Instance {
            id: fresh(),
            owns_folder: false,
        };
    }
    let pid_file = state_dir.join("ministack-instance.pid");
    if let Ok(text) = std::fs::read_to_string(&pid_file)
        && let Ok(pid) = text.trim().parse::<u32>()
        && pid != std::process::id()
        && is_ministack(pid)
    {
        tracing::warn!(
            "another gateway (pid {pid}) uses {}; containers get a separate instance id",
            state_dir.display()
        );
        return Instance {
            id: fresh(),
            owns_folder: false,
        };
    }
    let id_file = state_dir.join("ministack-instance");
    let id = match std::fs::read_to_string(&id_file) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => {
            let id = fresh();
            let _ = std::fs::write(&id_file, &id);
            id
        }
    };
    let _ = std::fs::write(&pid_file, std::process::id().to_string());
    Instance {
        id,
        owns_folder: true,
    }
}

/// True when `pid` is a live process running a binary named ministack.
pub fn is_ministack(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim() == "ministack")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str) -> DockerSettings {
        DockerSettings {
            host: host.into(),
            timeout: Duration::from_secs(2),
            network: None,
            publish_ip: [127, 0, 0, 1].into(),
            port_range: 45000..=45010,
        }
    }

    fn docker(host: &str) -> Docker {
        let s = settings(host);
        let ports = Arc::new(PortAllocator::new(s.port_range.clone(), s.publish_ip));
        Docker::new(s, "test".into(), ports)
    }

    #[tokio::test]
    async fn an_absent_engine_is_unavailable_quickly_and_reaps_nothing() {
        let d = docker("unix:///nonexistent/docker.sock");
        let began = Instant::now();
        let err = d.available().await.unwrap_err();
        assert!(matches!(err, DockerError::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("Docker is unavailable"), "{err}");
        assert_eq!(err.to_aws().code, "ServiceUnavailableException");
        let err = d.image_exists("x").await.unwrap_err();
        assert!(matches!(err, DockerError::Unavailable(_)));
        assert_eq!(d.reap(None).await, 0);
        assert!(began.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn an_unusable_docker_host_is_unavailable() {
        let d = docker("ftp://nowhere");
        let err = d.available().await.unwrap_err();
        assert!(err.to_string().contains("DOCKER_HOST"), "{err}");
    }

    #[test]
    fn the_instance_id_is_kept_per_folder_and_not_shared_with_a_live_gateway() {
        let dir = std::env::temp_dir().join(format!("ministack-inst-{}", uuid::Uuid::new_v4()));
        let a = instance(&dir);
        assert!(a.owns_folder);
        let b = instance(&dir);
        assert_eq!(a.id, b.id, "same folder, same id after a restart");
        // A pid file naming a live process that is not a gateway is stale.
        std::fs::write(dir.join("ministack-instance.pid"), "1").unwrap();
        assert_eq!(instance(&dir).id, a.id);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn volume_archives_are_moved_under_their_target() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "a/b.txt", &b"hi"[..]).unwrap();
        let rebased = rebase_archive(&b.into_inner().unwrap(), "/srv/data").unwrap();
        let mut archive = tar::Archive::new(&rebased[..]);
        let paths: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(paths, ["srv", "srv/data", "srv/data/a/b.txt"]);

        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_path("../escape").unwrap_or(());
        // tar::Builder refuses "..": write the name into the header by hand.
        let name = b"../escape";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
        assert!(rebase_archive(&b.into_inner().unwrap(), "/srv").is_err());
        assert!(
            rebase_archive(&[b'x'; 1024], "/srv").is_err(),
            "a bad header checksum"
        );
    }

    #[test]
    fn inspect_answers_map_ports_labels_and_state() {
        let r: ContainerInspectResponse = serde_json::from_value(serde_json::json!({
            "Id": "abc", "Name": "/ministack-x",
            "State": {"Status": "running", "Running": true, "ExitCode": 0},
            "Config": {"Image": "img:1", "Labels": {"ministack.plugin": "p"}},
            "NetworkSettings": {
                "Ports": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "45001"}], "9/udp": null},
                "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}
            }
        }))
        .unwrap();
        let info = container_info(r);
        assert_eq!(info.name, "ministack-x");
        assert_eq!(info.status, "running");
        assert!(info.running);
        assert_eq!(
            info.ports,
            vec![PortMapping {
                container_port: 8000,
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 45001
            }]
        );
        assert_eq!(info.labels["ministack.plugin"], "p");
        assert_eq!(info.ip_address, "172.17.0.2");
    }
}
