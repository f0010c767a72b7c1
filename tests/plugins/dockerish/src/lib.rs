//! `dockerish`: a test plugin over the `containers` and `processes`
//! capabilities, so end-to-end tests can run a container or a local server
//! through the gateway and check ports, labels and reaping.
//! Not part of the default bundle.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::blobs;
use ministack_sdk::containers::{self, ContainerInfo, ContainerSpec, VolumeSource, processes};
use ministack_sdk::encoding::base64_decode;
use ministack_sdk::prelude::*;

struct Dockerish;

impl Service for Dockerish {
    const NAME: &'static str = "dockerish";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("Available", available)
            .op("BuildImage", build_image)
            .op("ImageExists", image_exists)
            .op("RunContainer", run_container)
            .op("InspectContainer", inspect_container)
            .op("ContainerLogs", container_logs)
            .op("ExecContainer", exec_container)
            .op("StopContainer", stop_container)
            .op("RemoveContainer", remove_container)
            .op("ListContainers", list_containers)
            .op("StartProcess", start_process)
            .op("InspectProcess", inspect_process)
            .op("ProcessLogs", process_logs)
            .op("StopProcess", stop_process)
            .op("ListProcesses", list_processes)
    }

    fn capabilities() -> Vec<String> {
        vec!["containers".into(), "processes".into()]
    }
}

export_plugin!(Dockerish);

const READY_WAIT: Duration = Duration::from_secs(15);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AvailableOutput {
    version: String,
}

fn available(_: &Context, _: Empty) -> Result<AvailableOutput, AwsError> {
    Ok(AvailableOutput {
        version: containers::available()?,
    })
}

/// A blob member (base64 in JSON) kept as a host blob.
fn blob_of(base64: &str) -> Result<String, AwsError> {
    let bytes = base64_decode(base64)
        .ok_or_else(|| AwsError::validation_error("blob members must be base64"))?;
    Ok(blobs::create(&bytes).id)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuildImageInput {
    context: String,
    tag: String,
    #[serde(default)]
    dockerfile: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BuildImageOutput {
    image_id: String,
}

fn build_image(_: &Context, input: BuildImageInput) -> Result<BuildImageOutput, AwsError> {
    let blob = blob_of(&input.context)?;
    let image_id = containers::build_image(&blob, &input.tag, &input.dockerfile);
    blobs::release(&blob);
    Ok(BuildImageOutput {
        image_id: image_id?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageExistsInput {
    image: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImageExistsOutput {
    exists: bool,
}

fn image_exists(_: &Context, input: ImageExistsInput) -> Result<ImageExistsOutput, AwsError> {
    Ok(ImageExistsOutput {
        exists: containers::image_exists(&input.image)?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunContainerInput {
    image: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    command: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// A tar archive extracted at `FilesTarget` before start.
    files: Option<String>,
    files_target: Option<String>,
    #[serde(default)]
    wait_port: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerOutput {
    id: String,
    name: String,
    image: String,
    status: String,
    running: bool,
    exit_code: Option<i64>,
    host_ports: BTreeMap<String, u16>,
    host_ips: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    ready: Option<bool>,
}

fn container_output(info: ContainerInfo, ready: Option<bool>) -> ContainerOutput {
    ContainerOutput {
        host_ports: info
            .ports
            .iter()
            .map(|p| (format!("{}/{}", p.container_port, p.protocol), p.host_port))
            .collect(),
        host_ips: info
            .ports
            .iter()
            .map(|p| {
                (
                    format!("{}/{}", p.container_port, p.protocol),
                    p.host_ip.clone(),
                )
            })
            .collect(),
        labels: info.labels.into_iter().collect(),
        id: info.id,
        name: info.name,
        image: info.image,
        status: info.status,
        running: info.running,
        exit_code: info.exit_code,
        ready,
    }
}

/// Creates and starts a container; with `WaitPort`, waits until its first
/// published port accepts connections.
fn run_container(_: &Context, input: RunContainerInput) -> Result<ContainerOutput, AwsError> {
    let mut spec = ContainerSpec::new(&input.image)
        .name(&input.name)
        .command(input.command);
    for (k, v) in &input.env {
        spec = spec.env(k, v);
    }
    for p in &input.ports {
        spec = spec.port(*p);
    }
    for (k, v) in &input.labels {
        spec = spec.label(k, v);
    }
    let files_blob = match &input.files {
        Some(b64) => {
            let blob = blob_of(b64)?;
            let target = input.files_target.as_deref().unwrap_or("/srv");
            spec = spec.volume(VolumeSource::BlobArchive(blob.clone()), target, false);
            Some(blob)
        }
        None => None,
    };
    let created = containers::create(&spec);
    if let Some(blob) = files_blob {
        blobs::release(&blob);
    }
    let id = created?;
    let info = containers::start(&id)?;
    let ready = match (input.wait_port, input.ports.first()) {
        (true, Some(p)) => {
            let port = info
                .host_port(*p)
                .ok_or_else(|| AwsError::internal("the started container has no host port"))?;
            Some(containers::wait_for_port(port, READY_WAIT))
        }
        _ => None,
    };
    Ok(container_output(info, ready))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdInput {
    id: String,
}

fn inspect_container(_: &Context, input: IdInput) -> Result<ContainerOutput, AwsError> {
    Ok(container_output(containers::inspect(&input.id)?, None))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogsOutput {
    logs: String,
}

fn container_logs(_: &Context, input: IdInput) -> Result<LogsOutput, AwsError> {
    Ok(LogsOutput {
        logs: containers::logs(&input.id, 0)?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExecInput {
    id: String,
    command: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecOutput {
    exit_code: i64,
    stdout: String,
    stderr: String,
}

fn exec_container(_: &Context, input: ExecInput) -> Result<ExecOutput, AwsError> {
    let command: Vec<&str> = input.command.iter().map(String::as_str).collect();
    let r = containers::exec(&input.id, &command, Duration::from_secs(20))?;
    Ok(ExecOutput {
        exit_code: r.exit_code,
        stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
    })
}

fn stop_container(_: &Context, input: IdInput) -> Result<Empty, AwsError> {
    containers::stop(&input.id, Duration::from_secs(1))?;
    Ok(Empty {})
}

fn remove_container(_: &Context, input: IdInput) -> Result<Empty, AwsError> {
    containers::remove(&input.id)?;
    Ok(Empty {})
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOutput {
    ids: Vec<String>,
}

fn list_containers(_: &Context, _: Empty) -> Result<ListOutput, AwsError> {
    Ok(ListOutput {
        ids: containers::list()?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartProcessInput {
    program: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    want_port: bool,
    #[serde(default)]
    wait_port: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    id: String,
    pid: u32,
    program: String,
    port: u16,
    dir: String,
    running: bool,
    exit_code: Option<i32>,
    ready: Option<bool>,
}

fn process_output(p: processes::ProcessInfo, ready: Option<bool>) -> ProcessOutput {
    ProcessOutput {
        id: p.id,
        pid: p.pid,
        program: p.program,
        port: p.port,
        dir: p.dir,
        running: p.running,
        exit_code: p.exit_code,
        ready,
    }
}

fn start_process(_: &Context, input: StartProcessInput) -> Result<ProcessOutput, AwsError> {
    let mut spec = processes::ProcessSpec::new(&input.program).args(input.args);
    for (k, v) in &input.env {
        spec = spec.env(k, v);
    }
    if input.want_port {
        spec = spec.with_port();
    }
    let info = processes::start(&spec)?;
    let ready = (input.wait_port && info.port != 0)
        .then(|| processes::wait_for_port(info.port, READY_WAIT));
    Ok(process_output(info, ready))
}

fn inspect_process(_: &Context, input: IdInput) -> Result<ProcessOutput, AwsError> {
    Ok(process_output(processes::inspect(&input.id)?, None))
}

fn process_logs(_: &Context, input: IdInput) -> Result<LogsOutput, AwsError> {
    Ok(LogsOutput {
        logs: processes::logs(&input.id, 0)?,
    })
}

fn stop_process(_: &Context, input: IdInput) -> Result<Empty, AwsError> {
    processes::stop(&input.id, Duration::from_secs(2))?;
    Ok(Empty {})
}

fn list_processes(_: &Context, _: Empty) -> Result<ListOutput, AwsError> {
    Ok(ListOutput {
        ids: processes::list().into_iter().map(|p| p.id).collect(),
    })
}
