"""Init hooks (LocalStack's boot.d / start.d / ready.d / shutdown.d): the
scripts run at their stage with AWS_ENDPOINT_URL and credentials set, their
output lands in the log, /_localstack/init and health report them, and a
failing script does not stop the gateway."""

import os
import time

import requests


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o755)


def test_stages_run_with_endpoint_and_are_reported(make_gateway, tmp_path):
    root = tmp_path / "init"
    marks = tmp_path / "marks"
    marks.mkdir()
    write(root / "boot.d" / "10-boot.sh", f"#!/bin/bash\necho booting\ntouch {marks}/boot\n")
    write(root / "start.d" / "10-start.sh", f"#!/bin/bash\ntouch {marks}/start\n")
    # The aws CLI configured only through the environment the hook gets
    # (not SQS: CLI v1 pins its legacy queue.amazonaws.com endpoint over
    # AWS_ENDPOINT_URL).
    write(
        root / "ready.d" / "10-bucket.sh",
        "#!/bin/bash\nset -e\n"
        "aws s3api create-bucket --bucket from-sh-hook --output text\n"
        f"echo \"$AWS_ENDPOINT_URL $AWS_DEFAULT_REGION\" > {marks}/env\n",
    )
    write(root / "ready.d" / "20-fails.sh", "#!/bin/bash\necho about to fail >&2\nexit 3\n")
    # Not executable: run by python3 from its extension.
    (root / "ready.d" / "30-queue.py").write_text(
        "import boto3\nboto3.client('sqs').create_queue(QueueName='from-py-hook')\nprint('queue made')\n"
    )
    # Shutdown hooks run while the gateway still answers.
    write(root / "shutdown.d" / "10-bye.sh", f"#!/bin/bash\naws s3api list-buckets --output text > {marks}/shutdown\n")
    env = {"INIT_SCRIPTS_DIR": str(root), "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    g = make_gateway(env={**env, "AWS_ACCESS_KEY_ID": "test"})
    assert (marks / "boot").exists()

    deadline = time.time() + 60
    while time.time() < deadline:
        status = requests.get(g.url + "/_localstack/init", timeout=5).json()
        if status["completed"]["READY"]:
            break
        time.sleep(0.2)
    assert status["completed"] == {"BOOT": True, "START": True, "READY": True, "SHUTDOWN": False}
    states = {s["name"].rsplit("/", 1)[1]: (s["stage"], s["state"]) for s in status["scripts"]}
    assert states == {
        "10-boot.sh": ("BOOT", "SUCCESSFUL"),
        "10-start.sh": ("START", "SUCCESSFUL"),
        "10-bucket.sh": ("READY", "SUCCESSFUL"),
        "20-fails.sh": ("READY", "ERROR"),
        "30-queue.py": ("READY", "SUCCESSFUL"),
        "10-bye.sh": ("SHUTDOWN", "UNKNOWN"),
    }
    ready = requests.get(g.url + "/_localstack/init/ready", timeout=5).json()
    assert ready["completed"] is True and len(ready["scripts"]) == 3
    health = requests.get(g.url + "/_localstack/health", timeout=5).json()
    assert health["ready_scripts"] == {"status": "completed", "total": 3, "completed": 2, "failed": 1}

    assert (marks / "start").exists()
    endpoint, region = (marks / "env").read_text().split()
    assert endpoint == f"http://127.0.0.1:{g.port}" and region == "us-east-1"
    # What the hooks made is there, the failure did not stop the gateway.
    urls = g.client("sqs").list_queues()["QueueUrls"]
    assert any(u.endswith("/from-py-hook") for u in urls)
    assert "from-sh-hook" in [b["Name"] for b in g.client("s3").list_buckets()["Buckets"]]
    logs = g.logs()
    assert "booting" in logs and "about to fail" in logs and "queue made" in logs
    assert "20-fails.sh failed" in logs

    g.stop()
    assert "from-sh-hook" in (marks / "shutdown").read_text()


def test_no_scripts(gateway):
    status = requests.get(gateway.url + "/_localstack/init", timeout=5).json()
    assert status["scripts"] == [] or all(s["state"] != "RUNNING" for s in status["scripts"])
    assert set(status["completed"]) == {"BOOT", "START", "READY", "SHUTDOWN"}
    assert status["completed"]["BOOT"] is True
