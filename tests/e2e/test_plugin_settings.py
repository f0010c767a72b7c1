"""Settings from the environment and read-only file grants (plugins.toml
`env = [...]` and `files = [...]`, docs/dispatch.md): the counter test
plugin's `Settings` operation returns the settings the host handed in."""

import requests

from conftest import ROOT

COUNTER_WASM = ROOT / "target" / "wasm32-wasip2" / "plugin" / "counter.wasm"


def settings(g):
    r = g.rest_call("GET", "/settings", "counter")
    assert r.status_code == 200, r.text
    return r.json().get("Settings", {})


def start(make_gateway, tmp_path, **env):
    config = tmp_path / "mock.json"
    config.write_text('{"StateMachines": {}}')
    manifest = tmp_path / "plugins.toml"
    manifest.write_text(f"""
[plugins.counter]
path = "{COUNTER_WASM}"
env = ["COUNTER_MODE", "CTEST_*"]
files = ["COUNTER_CONFIG"]
[plugins.counter.settings]
static = "x"
CTEST_OVERRIDDEN = "from-toml"
COUNTER_CONFIG = ""
""")
    g = make_gateway(plugins_file=None, env={
        "MINISTACK_PLUGINS": str(manifest),
        "COUNTER_MODE": "fast",
        "CTEST_ONE": "1",
        "CTEST_OVERRIDDEN": "from-env",
        "COUNTER_SECRET": "not declared",
        "COUNTER_CONFIG": str(config),
        **env,
    })
    return g, config


def test_declared_variables_become_settings(make_gateway, tmp_path):
    g, config = start(make_gateway, tmp_path)
    s = settings(g)
    assert s["static"] == "x"
    assert s["COUNTER_MODE"] == "fast"
    assert s["CTEST_ONE"] == "1"
    # The environment wins over plugins.toml.
    assert s["CTEST_OVERRIDDEN"] == "from-env"
    # Only what the plugin declared crosses over.
    assert "COUNTER_SECRET" not in s
    assert "PATH" not in s and "HOME" not in s


def test_config_endpoint_overlays_declared_variables(make_gateway, tmp_path):
    g, _ = start(make_gateway, tmp_path)
    r = requests.post(g.url + "/_ministack/config", json={
        "counter.COUNTER_MODE": "slow",
        # A bare name applies to every plugin that declared it.
        "CTEST_TWO": "2",
        "counter.UNDECLARED": "no",
    }, timeout=10)
    assert r.status_code == 200, r.text
    assert set(r.json()["applied"]) == {"counter.COUNTER_MODE", "CTEST_TWO"}
    s = settings(g)
    assert s["COUNTER_MODE"] == "slow"
    assert s["CTEST_TWO"] == "2"
    assert "UNDECLARED" not in s


def test_file_grant_hands_in_the_file_text(make_gateway, tmp_path):
    g, config = start(make_gateway, tmp_path)
    s = settings(g)
    assert s["COUNTER_CONFIG"] == str(config)
    assert s["COUNTER_CONFIG:content"] == '{"StateMachines": {}}'
    # A change of the file is seen by the next request.
    config.write_text('{"StateMachines": {"A": {}}, "MockedResponses": {}}')
    assert settings(g)["COUNTER_CONFIG:content"].startswith('{"StateMachines": {"A"')
    # Pointed elsewhere through /_ministack/config: that file is read.
    other = tmp_path / "other.json"
    other.write_text("{}")
    r = requests.post(g.url + "/_ministack/config", json={"counter.COUNTER_CONFIG": str(other)}, timeout=10)
    assert r.json()["applied"] == {"counter.COUNTER_CONFIG": str(other)}
    assert settings(g)["COUNTER_CONFIG:content"] == "{}"
    # A missing file: no content, an error saying why.
    requests.post(g.url + "/_ministack/config", json={"counter.COUNTER_CONFIG": str(tmp_path / "missing.json")}, timeout=10)
    s = settings(g)
    assert "COUNTER_CONFIG:content" not in s
    assert "missing.json" in s["COUNTER_CONFIG:error"]


def test_file_grant_refuses_a_file_past_the_cap(make_gateway, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1 << 20) + b"{}")
    g, _ = start(make_gateway, tmp_path, COUNTER_CONFIG=str(big))
    s = settings(g)
    assert "COUNTER_CONFIG:content" not in s
    assert "1 MiB" in s["COUNTER_CONFIG:error"]
