"""A read-only request commits no write transaction (issue 22): 1,000
DynamoDB GetItems with PERSIST_STATE=1 leave DynamoDB's redb file and its
write-transaction counter (`write_transactions` in /_ministack/plugins)
as they were, while their ConsumedReadCapacityUnits still reach
CloudWatch (the host aggregates service metrics in memory)."""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests


def plugin_counter(g, plugin, name):
    plugins = requests.get(g.url + "/_ministack/plugins", timeout=30).json()["plugins"]
    return next(p for p in plugins if p["name"] == plugin)[name]


def write_transactions(g, plugin):
    return plugin_counter(g, plugin, "write_transactions")


def metric_sum(cw, name, table, want, timeout=30):
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    deadline = time.time() + timeout
    while True:
        pts = cw.get_metric_statistics(Namespace="AWS/DynamoDB", MetricName=name,
                                       Dimensions=[{"Name": "TableName", "Value": table}],
                                       StartTime=end - timedelta(minutes=10), EndTime=end, Period=600,
                                       Statistics=["Sum"])["Datapoints"]
        got = pts[0]["Sum"] if pts else None
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.3)


def test_get_item_writes_nothing(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    ddb, cw = g.client("dynamodb"), g.client("cloudwatch")
    table = f"ro-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    ddb.put_item(TableName=table, Item={"k": {"S": "a"}, "v": {"S": "x" * 100}})
    # The write's metric has been flushed: nothing of it is still in flight.
    assert metric_sum(cw, "ConsumedWriteCapacityUnits", table, 1) == 1
    db = os.path.join(g.tmp, "state", "dynamodb.redb")
    before = write_transactions(g, "dynamodb")
    stat = os.stat(db)

    reruns = plugin_counter(g, "dynamodb", "conflict_reruns")

    def get(_):
        item = ddb.get_item(TableName=table, Key={"k": {"S": "a"}})["Item"]
        assert item["v"]["S"] == "x" * 100

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, range(1000)))
    # Eventually consistent reads of a small item: half a unit each.
    assert metric_sum(cw, "ConsumedReadCapacityUnits", table, 500) == 500

    assert write_transactions(g, "dynamodb") == before
    after = os.stat(db)
    assert (after.st_size, after.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    # The counter counts: one write is one more transaction.
    ddb.put_item(TableName=table, Item={"k": {"S": "b"}})
    assert write_transactions(g, "dynamodb") == before + 1
    # A unit that wrote nothing has nothing to validate: never run again.
    assert plugin_counter(g, "dynamodb", "conflict_reruns") == reruns


def test_conflicting_updates_are_run_again_and_counted(make_gateway):
    """400 read-modify-write increments of one item from 16 threads: the
    units that conflicted ran again (counted in `conflict_reruns`), and no
    increment is lost."""
    g = make_gateway()
    ddb = g.client("dynamodb")
    table = f"rmw-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    before = plugin_counter(g, "dynamodb", "conflict_reruns")
    assert isinstance(before, int) and before >= 0

    def add(_):
        ddb.update_item(TableName=table, Key={"k": {"S": "n"}}, UpdateExpression="ADD v :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(add, range(400)))
    item = ddb.get_item(TableName=table, Key={"k": {"S": "n"}}, ConsistentRead=True)["Item"]
    assert item["v"]["N"] == "400"
    reruns = plugin_counter(g, "dynamodb", "conflict_reruns") - before
    # Each conflict costs one re-run; a request gives up after 64 attempts.
    assert 0 <= reruns <= 400 * 63
    print(f"conflict_reruns for 400 increments from 16 threads: {reruns}")
