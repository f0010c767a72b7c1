"""A plugin written outside this repository, depending only on the SDK, built
with plain cargo for wasm32-wasip2, dropped into a running setup without
rebuilding the host. The plugin's files are taken from sdk/README.md, so the
README's example is what is proven to work."""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import boto3
import pytest
import requests

from conftest import BINARY, ROOT

README = ROOT / "sdk" / "README.md"


def readme_files():
    """The code blocks that follow "`greeter/<path>`" lines in the README."""
    text = README.read_text()
    files = {}
    for m in re.finditer(r"`(greeter/[^`]+)`[^\n]*\n(?:[^\n]*\n)*?```\w*\n(.*?)```", text, re.S):
        files.setdefault(m.group(1), m.group(2))
    return files


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="ministack-oot-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def cargo_build(crate_dir, target_dir):
    env = {**os.environ, "CARGO_TARGET_DIR": str(target_dir)}
    # Outside the repo: no rust-toolchain.toml applies, the default toolchain builds.
    out = subprocess.run(
        ["cargo", "build", "--release", "--target", "wasm32-wasip2"],
        cwd=crate_dir, env=env, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-4000:]


@pytest.fixture(scope="module")
def greeter_wasm(workdir):
    files = readme_files()
    assert {"greeter/Cargo.toml", "greeter/src/lib.rs", "greeter/model/service-2.json"} <= set(files)
    for rel, content in files.items():
        path = workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.replace("/path/to/ministack", str(ROOT)))
    assert not str(workdir).startswith(str(ROOT))
    cargo_build(workdir / "greeter", workdir / "target")
    wasm = workdir / "target" / "wasm32-wasip2" / "release" / "greeter.wasm"
    assert wasm.read_bytes()[4:8] == b"\x0d\x00\x01\x00", "not a component"
    return wasm


def greeter_client(gateway, models_dir, account="123456789012"):
    os.environ["AWS_DATA_PATH"] = str(models_dir)
    try:
        session = boto3.Session()
    finally:
        del os.environ["AWS_DATA_PATH"]
    return session.client(
        "greeter", endpoint_url=gateway.url, region_name="us-east-1",
        aws_access_key_id=account, aws_secret_access_key="test",
    )


def test_out_of_tree_plugin_answers_after_a_restart(greeter_wasm, workdir, make_gateway):
    binary_mtime = BINARY.stat().st_mtime_ns
    g = make_gateway(plugins_file=None)
    assert "greeter" not in requests.get(g.url + "/_ministack/health").json()["services"]

    extra = workdir / "extra-plugins.toml"
    extra.write_text(
        f'[plugins.greeter]\npath = "{greeter_wasm}"\n\n[plugins.greeter.settings]\ngreeting = "Bonjour"\n'
    )
    g.env["MINISTACK_PLUGINS_FILE"] = str(extra)
    g.restart()
    assert requests.get(g.url + "/_ministack/health").json()["services"]["greeter"] == "available"

    models = workdir / "models" / "greeter" / "2024-01-01"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(workdir / "greeter" / "model" / "service-2.json", models / "service-2.json")
    client = greeter_client(g, workdir / "models")
    first = client.say_hello(Name="World")
    assert first["Message"] == "Bonjour, World (account 123456789012)"
    assert first["Count"] == 1
    assert client.say_hello(Name="World")["Count"] == 2

    # The README's modelled error and pagination, through generated shapes.
    with pytest.raises(client.exceptions.NameNotAllowedException) as refused:
        client.say_hello(Name="nobody")
    assert refused.value.response["Error"]["Message"] == "nobody may not be greeted"
    assert refused.value.response["Name"] == "nobody"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.say_hello(Name="Alice")
    client.say_hello(Name="Bob")
    first_page = client.list_greetings(MaxResults=2)
    assert first_page["Greetings"] == [{"Name": "Alice", "Count": 1}, {"Name": "Bob", "Count": 1}]
    rest = client.list_greetings(MaxResults=2, NextToken=first_page["NextToken"])
    assert rest["Greetings"] == [{"Name": "World", "Count": 2}] and "NextToken" not in rest

    # The aws CLI reads the same model.
    env = {**os.environ, "AWS_DATA_PATH": str(workdir / "models"), "AWS_ACCESS_KEY_ID": "123456789012",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run(["aws", "--endpoint-url", g.url, "greeter", "say-hello", "--name", "World"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Count"] == 3
    assert BINARY.stat().st_mtime_ns == binary_mtime, "the host was rebuilt"


def test_plugins_dir_loads_every_wasm(greeter_wasm, workdir, make_gateway):
    folder = workdir / "plugins-dir"
    folder.mkdir(exist_ok=True)
    shutil.copy(greeter_wasm, folder / "greeter.wasm")
    g = make_gateway(plugins_file=None, env={"PLUGINS_DIR": str(folder)})
    assert "greeter" in requests.get(g.url + "/_ministack/health").json()["services"]


OLD_CONTRACT_PLUGIN = r'''
wit_bindgen::generate!({ path: "wit", world: "plugin" });

use exports::ministack::plugin::service::{Descriptor, Guest};
use ministack::plugin::types::{AwsError, Call, Context, HttpRequest, HttpResponse};

struct Old;

impl Guest for Old {
    fn describe() -> Descriptor {
        Descriptor {
            name: "oldplugin".into(),
            version: "0.0.1".into(),
            schema_version: 1,
            model_json: "{}".into(),
            implemented: vec![],
            raw_routes: vec![],
            capabilities: vec![],
        }
    }
    fn handle(_call: Call) -> Result<String, AwsError> {
        Ok("{}".into())
    }
    fn on_task(_ctx: Context, _name: String, _payload: String) -> Result<(), AwsError> {
        Ok(())
    }
    fn handle_http(_request: HttpRequest) -> HttpResponse {
        HttpResponse { status: 200, headers: vec![], body: vec![] }
    }
}

export!(Old);
'''


def test_plugin_for_another_contract_version_is_refused(workdir, make_gateway):
    crate = workdir / "oldplugin"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "wit").mkdir(exist_ok=True)
    wit = (ROOT / "wit" / "plugin.wit").read_text()
    assert "package ministack:plugin@0.1.0;" in wit
    (crate / "wit" / "plugin.wit").write_text(wit.replace("ministack:plugin@0.1.0", "ministack:plugin@0.2.0"))
    (crate / "src" / "lib.rs").write_text(OLD_CONTRACT_PLUGIN)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "oldplugin"\nversion = "0.1.0"\nedition = "2024"\n\n[lib]\ncrate-type = ["cdylib"]\n\n'
        '[dependencies]\nwit-bindgen = "0.63"\n'
    )
    cargo_build(crate, workdir / "target")
    wasm = workdir / "target" / "wasm32-wasip2" / "release" / "oldplugin.wasm"
    extra = workdir / "old-plugins.toml"
    extra.write_text(f'[plugins.oldplugin]\npath = "{wasm}"\n')
    g = make_gateway(plugins_file=extra)
    assert "oldplugin" not in requests.get(g.url + "/_ministack/health").json()["services"]
    logs = g.logs()
    assert "oldplugin" in logs and "ministack:plugin@0.2.0" in logs and "0.1.x" in logs, logs
