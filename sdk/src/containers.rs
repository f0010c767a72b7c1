//! Docker containers and local server programs run by the host (ECS, RDS,
//! ElastiCache...). See docs/containers.md.
//!
//! - [`containers`](self) functions need `capabilities = ["containers"]` in
//!   plugins.toml; a plugin sees only its own containers. Every one carries
//!   labels naming the gateway instance and the plugin, and the host removes
//!   them on reset, on shutdown and after a crash. No registry pulls: check
//!   with [`image_exists`], build with [`build_image`] from a context tar
//!   blob. Without a Docker engine every call fails with
//!   `ServiceUnavailableException` ("Docker is unavailable: ...").
//! - [`processes`] needs `capabilities = ["processes"]` and lists the
//!   programs it may start (`programs = ["redis-server"]`).
//!
//! ```text
//! let id = containers::create(&ContainerSpec::new("redis:local").port(6379))?;
//! let info = containers::start(&id)?;
//! let port = info.host_port(6379).unwrap();
//! containers::wait_for_port(port, Duration::from_secs(10));
//! ```

use std::time::Duration;

use crate::AwsError;
use crate::generated::ministack::plugin::containers as wit;

pub use wit::{ContainerInfo, ExecResult, PortMapping};

/// Where a volume's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A host folder, bind-mounted (absolute path).
    HostPath(String),
    /// A blob holding a tar archive, extracted at the target before start.
    BlobArchive(String),
}

/// A container to create; build it with the methods below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub image: String,
    /// Name suffix (the host prefixes `ministack-<instance>-<plugin>-`).
    pub name: String,
    pub command: Vec<String>,
    pub entrypoint: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    /// (container port, protocol, host port or 0 for one of the host's range)
    pub ports: Vec<(u16, String, u16)>,
    /// (source, target, read-only)
    pub volumes: Vec<(VolumeSource, String, bool)>,
    pub network: String,
    pub labels: Vec<(String, String)>,
    pub memory_mb: u32,
}

impl ContainerSpec {
    pub fn new(image: &str) -> Self {
        ContainerSpec {
            image: image.to_string(),
            ..Default::default()
        }
    }
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    pub fn command<S: Into<String>>(mut self, command: impl IntoIterator<Item = S>) -> Self {
        self.command = command.into_iter().map(Into::into).collect();
        self
    }
    pub fn entrypoint<S: Into<String>>(mut self, entrypoint: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = entrypoint.into_iter().map(Into::into).collect();
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = dir.to_string();
        self
    }
    /// Publishes a TCP port on a free host port of the host's range.
    pub fn port(mut self, container_port: u16) -> Self {
        self.ports.push((container_port, "tcp".into(), 0));
        self
    }
    /// Publishes a port on a chosen host port (and protocol).
    pub fn port_on(mut self, container_port: u16, protocol: &str, host_port: u16) -> Self {
        self.ports
            .push((container_port, protocol.to_string(), host_port));
        self
    }
    pub fn volume(mut self, source: VolumeSource, target: &str, read_only: bool) -> Self {
        self.volumes.push((source, target.to_string(), read_only));
        self
    }
    pub fn network(mut self, network: &str) -> Self {
        self.network = network.to_string();
        self
    }
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.to_string(), value.to_string()));
        self
    }
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    fn to_wit(&self) -> wit::ContainerSpec {
        wit::ContainerSpec {
            image: self.image.clone(),
            name: self.name.clone(),
            command: self.command.clone(),
            entrypoint: self.entrypoint.clone(),
            env: self.env.clone(),
            working_dir: self.working_dir.clone(),
            ports: self
                .ports
                .iter()
                .map(|(c, p, h)| wit::PortRequest {
                    container_port: *c,
                    protocol: p.clone(),
                    host_port: *h,
                })
                .collect(),
            volumes: self
                .volumes
                .iter()
                .map(|(s, t, ro)| wit::Volume {
                    source: match s {
                        VolumeSource::HostPath(p) => wit::VolumeSource::HostPath(p.clone()),
                        VolumeSource::BlobArchive(b) => wit::VolumeSource::BlobArchive(b.clone()),
                    },
                    target: t.clone(),
                    read_only: *ro,
                })
                .collect(),
            network: self.network.clone(),
            labels: self.labels.clone(),
            memory_mb: self.memory_mb,
        }
    }
}

impl ContainerInfo {
    /// The host port a container port (tcp) is published on.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports
            .iter()
            .find(|p| p.container_port == container_port && p.protocol == "tcp")
            .map(|p| p.host_port)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The engine's version, or `ServiceUnavailableException` when none answers.
pub fn available() -> Result<String, AwsError> {
    wit::available().map_err(Into::into)
}

pub fn image_exists(image: &str) -> Result<bool, AwsError> {
    wit::image_exists(image).map_err(Into::into)
}

/// Builds `tag` from a blob holding a build-context tar; `dockerfile` ""
/// for "Dockerfile". FROM must name an image present on the engine.
pub fn build_image(context_blob: &str, tag: &str, dockerfile: &str) -> Result<String, AwsError> {
    wit::build_image(context_blob, tag, dockerfile).map_err(Into::into)
}

/// Creates (does not start) a container; returns its id.
pub fn create(spec: &ContainerSpec) -> Result<String, AwsError> {
    wit::create(&spec.to_wit()).map_err(Into::into)
}

pub fn start(id: &str) -> Result<ContainerInfo, AwsError> {
    wit::start(id).map_err(Into::into)
}

pub fn stop(id: &str, grace: Duration) -> Result<(), AwsError> {
    wit::stop(id, grace.as_secs().min(u32::MAX as u64) as u32).map_err(Into::into)
}

pub fn remove(id: &str) -> Result<(), AwsError> {
    wit::remove(id).map_err(Into::into)
}

pub fn inspect(id: &str) -> Result<ContainerInfo, AwsError> {
    wit::inspect(id).map_err(Into::into)
}

/// The last `tail` lines of output (0 for all).
pub fn logs(id: &str, tail: u32) -> Result<String, AwsError> {
    wit::logs(id, tail).map_err(Into::into)
}

pub fn exec(id: &str, command: &[&str], timeout: Duration) -> Result<ExecResult, AwsError> {
    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    wit::exec(id, &command, &[], millis(timeout)).map_err(Into::into)
}

/// Ids of this plugin's containers.
pub fn list() -> Result<Vec<String>, AwsError> {
    wit::list().map_err(Into::into)
}

/// Ends the current store unit and waits until 127.0.0.1:`port` accepts
/// connections (true) or `timeout` passes (false).
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    wit::wait_for_port(port, millis(timeout))
}

fn millis(d: Duration) -> u32 {
    d.as_millis().min(u32::MAX as u128) as u32
}

/// Local server programs (`capabilities = ["processes"]`, `programs = [...]`).
pub mod processes {
    use std::time::Duration;

    use crate::AwsError;
    use crate::generated::ministack::plugin::processes as wit;

    pub use wit::ProcessInfo;

    /// A program to start. `{port}` and `{dir}` in arguments and environment
    /// values become its host port and its own folder.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ProcessSpec {
        pub program: String,
        pub args: Vec<String>,
        pub env: Vec<(String, String)>,
        pub want_port: bool,
    }

    impl ProcessSpec {
        pub fn new(program: &str) -> Self {
            ProcessSpec {
                program: program.to_string(),
                ..Default::default()
            }
        }
        pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
            self.args = args.into_iter().map(Into::into).collect();
            self
        }
        pub fn env(mut self, key: &str, value: &str) -> Self {
            self.env.push((key.to_string(), value.to_string()));
            self
        }
        /// Asks for a free host port (`{port}`, and `PORT` in its environment).
        pub fn with_port(mut self) -> Self {
            self.want_port = true;
            self
        }
    }

    pub fn start(spec: &ProcessSpec) -> Result<ProcessInfo, AwsError> {
        wit::start(&wit::ProcessSpec {
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            want_port: spec.want_port,
        })
        .map_err(Into::into)
    }

    /// SIGTERM, then SIGKILL after `grace`; its folder goes with it.
    pub fn stop(id: &str, grace: Duration) -> Result<(), AwsError> {
        wit::stop(id, super::millis(grace)).map_err(Into::into)
    }

    pub fn inspect(id: &str) -> Result<ProcessInfo, AwsError> {
        wit::inspect(id).map_err(Into::into)
    }

    /// The last `max_bytes` of its output (0 for 64 KiB).
    pub fn logs(id: &str, max_bytes: u32) -> Result<String, AwsError> {
        wit::logs(id, max_bytes).map_err(Into::into)
    }

    pub fn list() -> Vec<ProcessInfo> {
        wit::list()
    }

    pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
        wit::wait_for_port(port, super::millis(timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_builds_its_wit_record() {
        let spec = ContainerSpec::new("img:1")
            .name("web")
            .command(["python3", "-m", "http.server"])
            .env("A", "1")
            .port(8000)
            .port_on(53, "udp", 45053)
            .volume(VolumeSource::BlobArchive("b1".into()), "/srv", true)
            .label("k", "v");
        let w = spec.to_wit();
        assert_eq!(w.image, "img:1");
        assert_eq!(w.command.len(), 3);
        assert_eq!(w.ports[0].host_port, 0);
        assert_eq!(w.ports[1].protocol, "udp");
        assert!(matches!(w.volumes[0].source, wit::VolumeSource::BlobArchive(ref b) if b == "b1"));
        assert_eq!(w.labels, vec![("k".to_string(), "v".to_string())]);
    }
}
