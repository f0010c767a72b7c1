"""The gateway core: internal endpoints, request ids, CORS, routing errors,
protocols on the wire (HTTP/1.1 and h2c)."""

import json
import shutil
import subprocess

import pytest
import requests


def test_health_has_ministack_shape_on_every_path(gateway):
    for path in ("/_ministack/health", "/_localstack/health", "/health"):
        r = requests.get(gateway.url + path)
        assert r.status_code == 200
        body = r.json()
        assert body["services"]["sts"] == "available"
        assert set(body["services"].values()) == {"available"}
        assert body["edition"] == "light"
        assert isinstance(body["version"], str) and body["version"]


def test_every_response_carries_request_ids_and_cors(gateway):
    r = requests.get(gateway.url + "/_ministack/health")
    assert r.headers["x-amzn-requestid"] == r.headers["x-amz-request-id"]
    assert len(r.headers["x-amzn-requestid"]) == 36
    assert r.headers["access-control-allow-origin"] == "*"
    r2 = requests.get(gateway.url + "/_ministack/health")
    assert r2.headers["x-amzn-requestid"] != r.headers["x-amzn-requestid"]


def test_cors_preflight_is_answered(gateway):
    r = requests.options(
        gateway.url + "/any/path",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "PUT"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "PUT" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-max-age"] == "86400"


def test_unknown_localstack_path_is_a_json_404(gateway):
    r = requests.get(gateway.url + "/_localstack/info")
    assert r.status_code == 404
    assert "error" in r.json()


def test_reset_answers_ok(gateway):
    r = requests.post(gateway.url + "/_ministack/reset")
    assert r.status_code == 200
    assert r.json() == {"reset": "ok"}


def test_config_applies_only_whitelisted_keys(gateway):
    r = requests.post(
        gateway.url + "/_ministack/config",
        data=json.dumps({"lambda_svc.LAMBDA_EXECUTOR": "docker", "evil.key": "x", "counter.nothing": 1}),
    )
    assert r.status_code == 200
    assert r.json() == {"applied": {"lambda_svc.LAMBDA_EXECUTOR": "docker"}}
    bad = requests.post(gateway.url + "/_ministack/config", data="not json")
    assert bad.status_code == 400


def test_plugins_listing_shows_implemented_operations(gateway):
    listing = requests.get(gateway.url + "/_ministack/plugins").json()["plugins"]
    sts = next(p for p in listing if p["name"] == "sts")
    assert "GetCallerIdentity" in sts["implemented"]
    assert sts["implemented_count"] == len(sts["implemented"])
    assert sts["operation_count"] >= sts["implemented_count"]
    assert sts["capabilities"] == ["identity"]


def test_unclaimed_request_gets_an_aws_error(make_gateway):
    # Without S3 (which takes every unclaimed path, as in MiniStack).
    gateway = make_gateway(env={"SERVICES": "sts,faulty"})
    r = requests.post(
        gateway.url + "/",
        data=json.dumps({}),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "NoSuchService_20240101.DoThing"},
    )
    assert r.status_code == 400
    assert r.json()["__type"] == "UnknownOperationException"
    assert r.headers["x-amzn-errortype"] == "UnknownOperationException"
    r = requests.get(gateway.url + "/some/path")
    assert r.status_code == 400
    assert "<Code>InvalidAction</Code>" in r.text


def test_unknown_action_of_a_query_service(gateway):
    r = requests.post(
        gateway.url + "/",
        data="Action=NoSuchAction&Version=2011-06-15",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    assert r.status_code == 400
    assert "<Code>InvalidAction</Code>" in r.text


def test_operation_in_model_but_not_implemented(gateway):
    r = gateway.json_call("Faulty", "Unimplemented", {})
    assert r.status_code == 501
    assert r.json()["__type"] == "NotImplemented"
    assert r.headers["x-amzn-errortype"] == "NotImplemented"
    assert "Unimplemented" in r.json()["message"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_h2c_prior_knowledge(gateway):
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
         gateway.url + "/_ministack/health"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.stdout == "2 200"


def test_services_env_restricts_plugins(make_gateway):
    g = make_gateway(env={"SERVICES": "counter"})
    services = requests.get(g.url + "/_ministack/health").json()["services"]
    assert services == {"counter": "available"}


def test_raw_route_goes_to_the_plugin_untouched(gateway):
    r = requests.post(
        gateway.url + "/_faulty/anything/here?x=1&y=two",
        data=b"0123456789",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0"},
    )
    assert r.status_code == 201
    assert r.json() == {
        "method": "POST",
        "path": "/_faulty/anything/here",
        "query": "x=1&y=two",
        "bodyLength": 10,
        "account": "123456789012",
    }


def test_root_page_for_browsers_lists_services(gateway):
    page = requests.get(gateway.url + "/", headers={"Accept": "text/html,application/xhtml+xml"}, timeout=5)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    plugins = requests.get(gateway.url + "/_ministack/plugins", timeout=5).json()["plugins"]
    for p in plugins:
        assert f"<b>{p['name']}</b>" in page.text
        assert f"{p['implemented_count']} / {p['operation_count']}" in page.text
    # The same path signed by an SDK is still S3's ListBuckets.
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="root-page-bucket")
    assert "root-page-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_readme_services_table_matches_the_plugins(gateway):
    """README's table is generated (scripts/services-table.py), never typed:
    it must say what the default bundle's plugins describe."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    bundle = tomllib.loads((root / "plugins.toml").read_text())["plugins"]
    listing = {p["name"]: p for p in requests.get(gateway.url + "/_ministack/plugins").json()["plugins"]}
    readme = (root / "README.md").read_text()
    rows = dict(
        (m[0], (m[1], int(m[2]), int(m[3])))
        for m in re.findall(r"^\| ([a-z0-9-]+) \| ([A-Za-z0-9, ]+) \| (\d+) \| (\d+) \|$", readme, re.M)
    )
    assert set(rows) == set(bundle), "README's services table is stale: run scripts/services-table.py"
    for name, (protocols, implemented, total) in rows.items():
        p = listing[name]
        assert (protocols, implemented, total) == (", ".join(p["protocols"]), p["implemented_count"], p["operation_count"]), name
