"""USE_SSL=1: HTTPS and plain HTTP on the same port, a certificate made at
first start (kept across restarts) whose CA is served at
/_ministack/tls/ca.pem, or a custom one from CUSTOM_SSL_CERT_PATH."""

import os
import ssl
import subprocess

import boto3
import pytest
import requests
from botocore.config import Config


def https_client(g, service, ca, host="localhost"):
    return boto3.client(
        service,
        endpoint_url=f"https://{host}:{g.port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        verify=str(ca),
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory):
    from conftest import Gateway

    g = Gateway(env={"USE_SSL": "1"})
    yield g
    g.close()


def test_https_and_http_on_one_port(tls_gateway, tmp_path):
    g = tls_gateway
    # Plain HTTP still answers on the port (the fixture's health check too).
    assert requests.get(g.url + "/_ministack/health", timeout=5).status_code == 200
    pem = requests.get(g.url + "/_ministack/tls/ca.pem", timeout=5).text
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in pem
    ca = tmp_path / "ca.pem"
    ca.write_text(pem)

    s3 = https_client(g, "s3", ca)
    s3.create_bucket(Bucket="tls-bucket")
    s3.put_object(Bucket="tls-bucket", Key="k", Body=b"over tls")
    assert s3.get_object(Bucket="tls-bucket", Key="k")["Body"].read() == b"over tls"
    sqs = https_client(g, "sqs", ca, host="127.0.0.1")
    url = sqs.create_queue(QueueName="tls-q")["QueueUrl"]
    assert url.endswith("/tls-q")

    # The aws CLI with --ca-bundle.
    out = subprocess.run(
        ["aws", "--endpoint-url", f"https://localhost:{g.port}", "--ca-bundle", str(ca),
         "--output", "json", "s3api", "list-buckets"],
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
             "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"},
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "tls-bucket" in out.stdout

    # Without the CA the certificate is not trusted: it really is TLS.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://localhost:{g.port}/_ministack/health", timeout=5)
    r = requests.get(f"https://localhost:{g.port}/_ministack/health", verify=str(ca), timeout=5)
    assert r.status_code == 200

    # The same certificate after a restart (kept under STATE_DIR/cache/tls).
    before = ssl.get_server_certificate(("127.0.0.1", g.port))
    g.restart()
    assert ssl.get_server_certificate(("127.0.0.1", g.port)) == before
    assert requests.get(g.url + "/_ministack/tls/ca.pem", timeout=5).text == pem


def test_custom_certificate(make_gateway, tmp_path, tls_gateway):
    # Any certificate and key will do: reuse the one the first gateway made,
    # as one PEM file holding both (the key is never served back).
    tls_dir = tls_gateway.tmp / "state" / "cache" / "tls"
    combined = tmp_path / "combined.pem"
    combined.write_text((tls_dir / "server.key").read_text() + (tls_dir / "server.pem").read_text())
    g = make_gateway(env={"USE_SSL": "1", "CUSTOM_SSL_CERT_PATH": str(combined)})
    served = requests.get(g.url + "/_ministack/tls/ca.pem", timeout=5).text
    assert "PRIVATE KEY" not in served and served.count("BEGIN CERTIFICATE") == 2
    ca = tmp_path / "ca.pem"
    ca.write_text((tls_dir / "ca.pem").read_text())
    assert https_client(g, "s3", ca).list_buckets()["Buckets"] == []
    assert not (g.tmp / "state" / "cache" / "tls").exists()


def test_off_by_default(gateway):
    r = requests.get(gateway.url + "/_ministack/tls/ca.pem", timeout=5)
    assert r.status_code == 404 and "USE_SSL" in r.json()["error"]
