"""The `containers` and `processes` capabilities, through the `dockerish`
test plugin (tests/plugins/dockerish): a container from a locally built
image with a published port, labels, logs and exec; a local server process
with a port; and reaping of both on /_ministack/reset, on shutdown and at
the next start after `kill -9` of the gateway.

Container tests need a Docker engine; without one they are skipped and say
why (`make test` starts one in CI: scripts/test-docker-setup.sh). The
no-engine error and every process test run everywhere."""

import io
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT, Gateway

IMAGE = "ministack-test/tinyhttp:1"
BUILD_DIR = ROOT / "target" / "test-docker"
SOURCES = Path(__file__).resolve().parent / "docker"


def docker_engine():
    mark = BUILD_DIR / "unavailable"
    if mark.exists():
        return mark.read_text().strip()
    if not shutil.which("docker"):
        return "no docker client on PATH"
    try:
        r = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if r.returncode != 0:
        return "no Docker engine answers `docker info` (dockerd is not running)"
    return None


DOCKER_MISSING = docker_engine()
needs_docker = pytest.mark.skipif(
    DOCKER_MISSING is not None,
    reason=f"containers not exercised: {DOCKER_MISSING} (scripts/test-docker-setup.sh starts one)",
)


def call(g, op, body=None):
    return g.json_call("Dockerish", op, body or {})


def ok(g, op, body=None):
    r = call(g, op, body)
    assert r.status_code == 200, f"{op}: {r.status_code} {r.text}"
    return r.json()


def instance_id(g):
    return (g.tmp / "state" / "ministack-instance").read_text().strip()


def labelled(instance):
    """Ids of the containers (any state) carrying this gateway instance's label."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=ministack.instance={instance}"],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.split()


def wait_until(predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def refused(port):
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
        return False
    except requests.ConnectionError:
        return True


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet collected) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def b64(data):
    import base64

    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def dgw():
    g = Gateway(env={"MINISTACK_PORT_RANGE": "47000-47199"})
    yield g
    g.close()


@pytest.fixture(scope="module")
def tiny_image(dgw):
    """The test image, built through the plugin (BuildImage from a context
    blob) unless the engine already has it."""
    if ok(dgw, "ImageExists", {"Image": IMAGE})["Exists"]:
        return IMAGE
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    binary = BUILD_DIR / "tinyhttp"
    subprocess.run(
        ["rustc", "-O", "-C", "target-feature=+crt-static", "-C", "strip=symbols",
         "-o", str(binary), str(SOURCES / "tinyhttp.rs")],
        check=True, capture_output=True, timeout=120,
    )
    context = tar_of({
        "Dockerfile": (SOURCES / "Dockerfile").read_bytes(),
        "tinyhttp": binary.read_bytes(),
    })
    out = ok(dgw, "BuildImage", {"Context": b64(context), "Tag": IMAGE})
    assert out["ImageId"].startswith("sha256:"), out
    assert ok(dgw, "ImageExists", {"Image": IMAGE})["Exists"]
    return IMAGE


@needs_docker
def test_a_container_serves_on_a_published_port_with_labels_logs_and_exec(dgw, tiny_image):
    files = tar_of({"hello.txt": b"hello from a blob volume\n"})
    out = ok(dgw, "RunContainer", {
        "Image": tiny_image, "Name": "web", "Ports": [8000],
        "Env": {"GREETING": "ahoy"}, "Labels": {"role": "web"},
        "Files": b64(files), "FilesTarget": "/srv", "WaitPort": True,
    })
    assert out["Ready"] is True and out["Running"] is True, out
    port = out["HostPorts"]["8000/tcp"]
    assert 47000 <= port <= 47199, out
    assert out["HostIps"]["8000/tcp"] == "127.0.0.1", "published on loopback only"
    instance = instance_id(dgw)
    assert out["Name"] == f"ministack-{instance}-dockerish-web"
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "tinyhttp ahoy\n"
    assert requests.get(f"http://127.0.0.1:{port}/srv/hello.txt", timeout=5).text == "hello from a blob volume\n"

    # Labels as the engine reports them, not only as the plugin saw them.
    labels = subprocess.run(
        ["docker", "inspect", "-f", "{{json .Config.Labels}}", out["Id"]],
        capture_output=True, text=True, check=True,
    ).stdout
    import json

    labels = json.loads(labels)
    assert labels["ministack.instance"] == instance
    assert labels["ministack.plugin"] == "dockerish"
    assert labels["ministack.owner"] == "containers"
    assert labels["role"] == "web"

    logs = ok(dgw, "ContainerLogs", {"Id": out["Id"]})["Logs"]
    assert "tinyhttp listening on 8000" in logs
    # The image has nothing but the server: a second one cannot bind 8000.
    ex = ok(dgw, "ExecContainer", {"Id": out["Id"], "Command": ["/tinyhttp"]})
    assert ex["ExitCode"] != 0 and "bind" in ex["Stderr"], ex
    assert out["Id"] in ok(dgw, "ListContainers")["Ids"]

    # Reset removes it: nothing labelled with this instance is left.
    assert requests.post(dgw.url + "/_ministack/reset", timeout=60).status_code == 200
    left = labelled(instance)
    print(f"containers left after reset: {len(left)}")
    assert left == []
    assert refused(port)


@needs_docker
def test_stop_remove_and_other_containers_are_not_the_plugins(dgw, tiny_image):
    out = ok(dgw, "RunContainer", {"Image": tiny_image, "Ports": [8000], "WaitPort": True})
    cid = out["Id"]
    ok(dgw, "StopContainer", {"Id": cid})
    stopped = ok(dgw, "InspectContainer", {"Id": cid})
    assert stopped["Running"] is False and stopped["Status"] == "exited", stopped
    ok(dgw, "RemoveContainer", {"Id": cid})
    r = call(dgw, "InspectContainer", {"Id": cid})
    assert r.status_code == 404 and r.json()["__type"].endswith("ResourceNotFoundException"), r.text

    # A container the gateway did not start is invisible to the plugin.
    foreign = subprocess.run(
        ["docker", "create", "--label", "test=foreign", tiny_image],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    try:
        r = call(dgw, "RemoveContainer", {"Id": foreign})
        assert r.status_code == 404, r.text
        assert subprocess.run(["docker", "inspect", foreign], capture_output=True).returncode == 0
    finally:
        subprocess.run(["docker", "rm", "-f", foreign], capture_output=True)

    # An image that is not there is an error, not a pull.
    r = call(dgw, "RunContainer", {"Image": "ministack-test/absent:0"})
    assert r.status_code == 400 and "not present" in r.text, r.text


@needs_docker
def test_containers_and_processes_are_reaped_after_kill_9_and_on_shutdown(tiny_image):
    g = Gateway(env={"MINISTACK_PORT_RANGE": "47200-47299"})
    instance = instance_id(g)
    try:
        c = ok(g, "RunContainer", {"Image": tiny_image, "Ports": [8000], "WaitPort": True})
        p = ok(g, "StartProcess", {
            "Program": "python3", "Args": ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
            "WantPort": True, "WaitPort": True,
        })
        assert c["Ready"] and p["Ready"]
        g.kill()  # SIGKILL: nothing gets cleaned up by the dying gateway
        assert labelled(instance) == [c["Id"]]
        assert pid_alive(p["Pid"])

        g.start()
        assert instance_id(g) == instance, "same state folder, same instance"
        assert wait_until(lambda: labelled(instance) == []), labelled(instance)
        left = labelled(instance)
        print(f"containers left after the restart reap: {len(left)}")
        assert left == []
        assert wait_until(lambda: not pid_alive(p["Pid"]), 5)
        assert refused(c["HostPorts"]["8000/tcp"]) and refused(p["Port"])
        assert not Path(p["Dir"]).exists()

        # A graceful shutdown removes what the gateway started too.
        c2 = ok(g, "RunContainer", {"Image": tiny_image})
        p2 = ok(g, "StartProcess", {"Program": "python3", "Args": ["-c", "import time; time.sleep(60)"]})
        assert labelled(instance) == [c2["Id"]]
        g.stop()
        assert labelled(instance) == []
        assert not pid_alive(p2["Pid"])
    finally:
        g.close()
        # Whatever a failed run left (the state folder, and with it the
        # instance id, is gone now).
        leftovers = labelled(instance)
        if leftovers:
            subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)


def test_a_process_gets_a_port_logs_and_is_stopped(dgw):
    out = ok(dgw, "StartProcess", {
        "Program": "python3", "Args": ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        "WantPort": True, "WaitPort": True,
    })
    assert out["Ready"] is True and out["Running"] is True, out
    port = out["Port"]
    assert 47000 <= port <= 47199
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    assert wait_until(lambda: "GET / HTTP" in ok(dgw, "ProcessLogs", {"Id": out["Id"]})["Logs"], 5)
    assert out["Id"] in ok(dgw, "ListProcesses")["Ids"]
    ok(dgw, "StopProcess", {"Id": out["Id"]})
    assert refused(port)
    assert not pid_alive(out["Pid"])
    assert not Path(out["Dir"]).exists()
    r = call(dgw, "InspectProcess", {"Id": out["Id"]})
    assert r.status_code == 404, r.text


def test_a_process_exit_is_reported_and_unlisted_programs_are_refused(dgw):
    out = ok(dgw, "StartProcess", {"Program": "python3", "Args": ["-c", "import sys; print('bye'); sys.exit(3)"]})
    assert wait_until(lambda: not ok(dgw, "InspectProcess", {"Id": out["Id"]})["Running"], 10)
    done = ok(dgw, "InspectProcess", {"Id": out["Id"]})
    assert done["ExitCode"] == 3
    assert ok(dgw, "ProcessLogs", {"Id": out["Id"]})["Logs"] == "bye\n"
    ok(dgw, "StopProcess", {"Id": out["Id"]})

    r = call(dgw, "StartProcess", {"Program": "sh", "Args": ["-c", "true"]})
    assert r.status_code == 403, r.text
    assert r.json()["__type"].endswith("AccessDeniedException")
    assert "programs" in r.json()["message"]


def test_processes_are_reaped_on_reset_and_after_kill_9(make_gateway):
    g = make_gateway()
    p = ok(g, "StartProcess", {
        "Program": "python3", "Args": ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        "WantPort": True, "WaitPort": True,
    })
    assert requests.post(g.url + "/_ministack/reset", timeout=60).status_code == 200
    assert not pid_alive(p["Pid"]) and refused(p["Port"])
    assert ok(g, "ListProcesses")["Ids"] == []

    p = ok(g, "StartProcess", {"Program": "python3", "Args": ["-c", "import time; time.sleep(60)"]})
    g.kill()
    assert pid_alive(p["Pid"])
    g.start()
    assert wait_until(lambda: not pid_alive(p["Pid"]), 5)


def test_without_an_engine_docker_operations_say_so_and_the_gateway_runs(make_gateway):
    g = make_gateway(env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert requests.get(g.url + "/_ministack/health", timeout=5).status_code == 200
    for op, body in [("Available", {}), ("RunContainer", {"Image": IMAGE}), ("ListContainers", {})]:
        started = time.time()
        r = call(g, op, body)
        assert r.status_code == 503, r.text
        assert r.json()["__type"].endswith("ServiceUnavailableException")
        assert "Docker is unavailable" in r.json()["message"]
        assert time.time() - started < 5
    # Processes need no engine.
    p = ok(g, "StartProcess", {"Program": "python3", "Args": ["-c", "print(1)"]})
    ok(g, "StopProcess", {"Id": p["Id"]})
    assert requests.post(g.url + "/_ministack/reset", timeout=30).status_code == 200
