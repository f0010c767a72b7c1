"""A Testcontainers module for ministack (a local AWS cloud): the container
is started when `GET /_ministack/health` answers and its `ready.d` init
hooks have run."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from testcontainers.core.container import DockerContainer

__all__ = ["MinistackContainer"]

STAGES = ("boot", "start", "ready", "shutdown")


class MinistackContainer(DockerContainer):
    """ministack in a container, on a mapped port."""

    def __init__(self, image: str = "ministack:local", port: int = 4566, **kwargs) -> None:
        super().__init__(image, **kwargs)
        self.port = port
        self.with_exposed_ports(port)
        self.with_env("GATEWAY_PORT", str(port))
        self.region = "us-east-1"

    def with_services(self, services: str) -> "MinistackContainer":
        """Only these plugins load (`SERVICES=s3,sqs`)."""
        self.with_env("SERVICES", services)
        return self

    def with_init_script(self, path: str | Path, stage: str = "ready") -> "MinistackContainer":
        """Mounts an init hook (`.sh` or `.py`) into `<stage>.d`."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
        path = Path(path).resolve()
        self.with_volume_mapping(str(path), f"/etc/localstack/init/{stage}.d/{path.name}", "ro")
        return self

    def get_url(self) -> str:
        host = self.get_container_host_ip()
        return f"http://{host}:{self.get_exposed_port(self.port)}"

    def env_for_clients(self) -> dict[str, str]:
        """What a process under test needs to reach this container."""
        return {
            "AWS_ENDPOINT_URL": self.get_url(),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def get_client(self, service: str, region_name: str | None = None, **kwargs):
        """A boto3 client aimed at the container (needs boto3)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.get_url(),
            region_name=region_name or self.region,
            aws_access_key_id=kwargs.pop("aws_access_key_id", "test"),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", "test"),
            **kwargs,
        )

    def _health(self) -> dict | None:
        try:
            with urllib.request.urlopen(self.get_url() + "/_ministack/health", timeout=2) as r:
                return json.load(r) if r.status == 200 else None
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return None

    def start(self, timeout: float = 60.0) -> "MinistackContainer":
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self._health()
            if health and health.get("ready_scripts", {}).get("status", "completed") == "completed":
                return self
            wrapped = self.get_wrapped_container()
            wrapped.reload()
            if wrapped.status in ("exited", "dead"):
                logs = wrapped.logs().decode(errors="replace")
                raise RuntimeError(f"ministack container exited:\n{logs[-4000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"ministack did not become healthy within {timeout} s")
