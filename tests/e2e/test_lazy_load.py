"""Plugins load on first use (docs/decisions.md, "Plugins load on first
use"): a warm start reads each plugin's cached `describe` answer instead of
loading its code; the code loads on the plugin's first call. Health lists
every plugin either way, and says which are loaded."""

import shutil
import time
import uuid

import requests

from conftest import CACHE_DIR, wait_until


def health(g):
    r = requests.get(g.url + "/_ministack/health", timeout=10)
    assert r.status_code == 200
    return r.json()


def count(g, key, **kw):
    r = g.rest_call("GET", f"/counters/{key}", "counter", **kw)
    assert r.status_code == 200, r.text
    return r.json().get("Value", 0)


def test_a_plugin_loads_on_its_first_request_and_health_lists_it_before_and_after(make_gateway, tmp_path):
    # The shared cache's code without its descriptions: the first start
    # describes every plugin (and keeps none loaded), the second reads them.
    cache = tmp_path / "cache"
    shutil.copytree(CACHE_DIR, cache, ignore=shutil.ignore_patterns("describe"))
    g = make_gateway(env={"MINISTACK_CACHE_DIR": str(cache)})
    for start in ("cold", "warm"):
        body = health(g)
        assert body["services"]["counter"] == "available", start
        assert body["services"]["sqs"] == "available", start
        assert set(body["services"].values()) == {"available"}, start
        assert set(body["loaded"]) == set(body["services"]), start
        assert not any(body["loaded"].values()), f"{start} start loaded {body['loaded']}"

        r = g.rest_call("POST", "/counters/lazy/increment", "counter")
        assert r.status_code == 200, r.text
        assert r.json()["Value"] == 1
        assert count(g, "lazy") == 1

        body = health(g)
        assert body["services"]["counter"] == "available"
        assert body["loaded"]["counter"] is True
        assert body["loaded"]["sqs"] is False
        # The boot hook ran once the plugin was loaded.
        wait_until(lambda: count(g, "boots") == 1, 5, "the counter's boot hook")
        g.restart()
    assert any((cache / "describe").iterdir())


def test_a_plugin_loads_on_its_first_call_from_another_plugin(make_gateway):
    g = make_gateway()
    assert health(g)["loaded"]["sqs"] is False
    # An SNS subscription delivering to SQS: SNS calls SQS through services.call.
    sqs, sns = g.client("sqs"), g.client("sns")
    assert health(g)["loaded"]["sqs"] is False
    topic = sns.create_topic(Name=f"lazy-{uuid.uuid4().hex[:8]}")["TopicArn"]
    body = health(g)
    assert body["loaded"]["sns"] is True
    assert body["loaded"]["sqs"] is False
    queue_arn = f"arn:aws:sqs:us-east-1:000000000000:lazy-q-{uuid.uuid4().hex[:8]}"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message="hello")
    # Delivery to a queue that does not exist fails, but SQS was called.
    wait_until(lambda: health(g)["loaded"]["sqs"], 5, "SNS's call into SQS")
    url = sqs.create_queue(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
    sns.publish(TopicArn=topic, Message="again")
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert msgs and "again" in msgs[0]["Body"]


def test_a_reset_loads_no_plugin(make_gateway):
    g = make_gateway()
    assert g.rest_call("POST", "/counters/r/increment", "counter").status_code == 200
    assert requests.post(g.url + "/_ministack/reset", timeout=10).status_code == 200
    loaded = health(g)["loaded"]
    assert loaded["counter"] is True
    assert [name for name, on in loaded.items() if on] == ["counter"]
    assert count(g, "r") == 0


def test_stored_tasks_fire_after_restart_and_only_plugins_with_data_load_at_start(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    assert not any(health(g)["loaded"].values())
    key = f"lazy-task-{uuid.uuid4().hex[:8]}"
    r = g.rest_call("POST", f"/counters/{key}/schedule", "counter", body={"AfterMs": 2500})
    assert r.status_code == 200, r.text
    g.kill()
    g.start()
    # The counter has data from the earlier run: loaded at start (its boot
    # hook may have work to resume); every other plugin waits for a call.
    loaded = health(g)["loaded"]
    assert [name for name, on in loaded.items() if on] == ["counter"]
    wait_until(lambda: count(g, key) == 1, 10, "the stored task after the restart")
    time.sleep(0.3)
    assert count(g, key) == 1


def test_the_plugins_listing_loads_a_plugin_only_the_first_time_its_wasm_is_listed(make_gateway, tmp_path):
    # `GET /_ministack/plugins` lists each plugin's resource types, which
    # only the plugin can answer: asked once per wasm, then read from the
    # cache beside its code, so a later listing loads nothing.
    cache = tmp_path / "cache"
    shutil.copytree(CACHE_DIR, cache, ignore=shutil.ignore_patterns("describe"))
    g = make_gateway(env={"MINISTACK_CACHE_DIR": str(cache)})

    def listing():
        r = requests.get(g.url + "/_ministack/plugins", timeout=60)
        assert r.status_code == 200
        return {p["name"]: p["resource_types"] for p in r.json()["plugins"]}

    first = listing()
    assert "AWS::SQS::Queue" in [t["TypeName"] for t in first["sqs"]]
    assert health(g)["loaded"]["sqs"] is True
    g.restart()
    assert listing() == first
    loaded = health(g)["loaded"]
    assert not any(loaded.values()), f"the listing loaded {[n for n, on in loaded.items() if on]}"
