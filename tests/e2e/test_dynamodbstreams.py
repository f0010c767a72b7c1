"""DynamoDB Streams through the whole gateway with boto3: the dynamodb
plugin writes a record with every item write of a table whose stream is on,
the dynamodbstreams plugin reads them (through the host)."""

import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest


def name(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_table(c, view="NEW_AND_OLD_IMAGES", **kw):
    t = name()
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else {"StreamEnabled": False}
    out = c.create_table(
        TableName=t,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=spec,
        **kw,
    )
    return t, out["TableDescription"].get("LatestStreamArn")


def records(streams, arn, kind="TRIM_HORIZON", **kw):
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]
    return streams.get_records(ShardIterator=it)


def test_records_in_order_for_every_kind_of_write(gateway):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c)
    assert arn.startswith(f"arn:aws:dynamodb:us-east-1:000000000000:table/{t}/stream/")
    assert c.describe_table(TableName=t)["Table"]["LatestStreamArn"] == arn
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    c.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = n + :one",
                  ExpressionAttributeValues={":one": {"N": "1"}})
    # An update that changes nothing writes no record.
    c.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :two",
                  ExpressionAttributeValues={":two": {"N": "2"}})
    c.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    c.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"pk": {"S": "c"}}}},
        {"Delete": {"TableName": t, "Key": {"pk": {"S": "b"}}}},
    ])
    c.execute_statement(Statement=f"UPDATE \"{t}\" SET x = 'y' WHERE pk = 'c'")
    c.delete_item(TableName=t, Key={"pk": {"S": "a"}})
    # A failing condition writes nothing, so no record.
    with pytest.raises(botocore.exceptions.ClientError):
        c.put_item(TableName=t, Item={"pk": {"S": "c"}}, ConditionExpression="attribute_not_exists(pk)")

    out = records(s, arn)
    recs = out["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs] == [
        ("INSERT", "a"), ("MODIFY", "a"), ("INSERT", "b"), ("INSERT", "c"), ("REMOVE", "b"),
        ("MODIFY", "c"), ("REMOVE", "a")]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    first = recs[0]
    assert first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == "us-east-1"
    assert first["eventVersion"] == "1.1" and len(first["eventID"]) > 0
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert first["dynamodb"]["SizeBytes"] > 0
    assert abs(first["dynamodb"]["ApproximateCreationDateTime"].timestamp() - time.time()) < 120
    assert "OldImage" not in first["dynamodb"]
    assert first["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    modify = recs[1]["dynamodb"]
    assert modify["OldImage"]["n"] == {"N": "1"} and modify["NewImage"]["n"] == {"N": "2"}
    assert recs[-1]["dynamodb"]["OldImage"]["n"] == {"N": "2"} and "NewImage" not in recs[-1]["dynamodb"]
    assert "userIdentity" not in recs[-1]
    assert "NextShardIterator" in out
    # Nothing more after the last record; the next iterator still works.
    again = s.get_records(ShardIterator=out["NextShardIterator"])
    assert again["Records"] == [] and "NextShardIterator" in again


@pytest.mark.parametrize("view,new,old", [
    ("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False),
    ("OLD_IMAGE", False, True), ("NEW_AND_OLD_IMAGES", True, True)])
def test_each_view_type(gateway, view, new, old):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c, view)
    c.put_item(TableName=t, Item={"pk": {"S": "k"}, "v": {"S": "1"}})
    c.put_item(TableName=t, Item={"pk": {"S": "k"}, "v": {"S": "2"}})
    rec = records(s, arn)["Records"][1]["dynamodb"]
    assert rec["StreamViewType"] == view
    assert rec["Keys"] == {"pk": {"S": "k"}}
    assert ("NewImage" in rec) == new and ("OldImage" in rec) == old
    if new:
        assert rec["NewImage"]["v"] == {"S": "2"}
    if old:
        assert rec["OldImage"]["v"] == {"S": "1"}


def test_iterator_types_and_paging(gateway):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c, "KEYS_ONLY")
    for i in range(5):
        c.put_item(TableName=t, Item={"pk": {"S": f"k{i}"}})
    desc = s.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["TableName"] == t
    assert desc["StreamViewType"] == "KEYS_ONLY"
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    shard = desc["Shards"][0]
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    sid = shard["ShardId"]
    all_recs = records(s, arn)["Records"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in all_recs]
    assert len(seqs) == 5
    assert int(shard["SequenceNumberRange"]["StartingSequenceNumber"]) <= int(seqs[0])

    def keys(kind, **kw):
        it = s.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType=kind, **kw)["ShardIterator"]
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in s.get_records(ShardIterator=it)["Records"]], it

    assert keys("AT_SEQUENCE_NUMBER", SequenceNumber=seqs[2])[0] == ["k2", "k3", "k4"]
    assert keys("AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[2])[0] == ["k3", "k4"]
    latest, it = keys("LATEST")
    assert latest == []
    c.put_item(TableName=t, Item={"pk": {"S": "k5"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in s.get_records(ShardIterator=it)["Records"]] == ["k5"]

    # Limit pages through the shard with NextShardIterator.
    it = s.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seen = []
    for _ in range(4):
        out = s.get_records(ShardIterator=it, Limit=2)
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in out["Records"]]
        it = out["NextShardIterator"]
    assert seen == ["k0", "k1", "k2", "k3", "k4", "k5"]

    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000001-deadbeef", ShardIteratorType="LATEST")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.describe_stream(StreamArn=arn + "x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.get_records(ShardIterator="not-an-iterator")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_disabled_stream_closes_its_shard_and_a_new_one_opens(gateway):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c, "NEW_IMAGE")
    c.put_item(TableName=t, Item={"pk": {"S": "before"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == f"Table already has an enabled stream: TableName: {t}"
    c.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
    c.put_item(TableName=t, Item={"pk": {"S": "while-off"}})
    desc = s.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    rng = desc["Shards"][0]["SequenceNumberRange"]
    assert int(rng["EndingSequenceNumber"]) >= int(rng["StartingSequenceNumber"])
    out = records(s, arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in out["Records"]] == ["before"]
    assert "NextShardIterator" not in out  # the closed shard is read to its end

    c.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn2 = c.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    assert arn2 != arn
    c.put_item(TableName=t, Item={"pk": {"S": "after"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records(s, arn2)["Records"]] == ["after"]
    listed = s.list_streams(TableName=t)["Streams"]
    assert sorted(x["StreamArn"] for x in listed) == sorted([arn, arn2])
    assert all(x["TableName"] == t for x in listed)
    page = s.list_streams(TableName=t, Limit=1)
    assert len(page["Streams"]) == 1 and "LastEvaluatedStreamArn" in page
    # Deleting the table closes the stream, which stays readable.
    c.delete_table(TableName=t)
    assert s.describe_stream(StreamArn=arn2)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert len(records(s, arn2)["Records"]) == 1


def test_table_without_stream_has_none(gateway):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c, None)
    assert arn is None
    c.put_item(TableName=t, Item={"pk": {"S": "x"}})
    assert s.list_streams(TableName=t)["Streams"] == []


def test_ttl_deletion_is_a_service_remove_record(make_gateway, tmp_path):
    root = Path(__file__).resolve().parents[2] / "target/wasm32-wasip2/plugin"
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(
        f'[plugins.dynamodb]\npath = "{root}/dynamodb.wasm"\n\n[plugins.dynamodb.settings]\nttl_sweep_seconds = "0.5"\n\n'
        f'[plugins.dynamodbstreams]\npath = "{root}/dynamodbstreams.wasm"\n')
    g = make_gateway(plugins_file=plugins)
    c = g.client("dynamodb")
    s = g.client("dynamodbstreams")
    t, arn = make_table(c, "OLD_IMAGE")
    c.put_item(TableName=t, Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) + 1)}})
    c.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    deadline = time.time() + 15
    while time.time() < deadline and "Item" in c.get_item(TableName=t, Key={"pk": {"S": "old"}}):
        time.sleep(0.2)
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "old"}})
    recs = records(s, arn)["Records"]
    assert [r["eventName"] for r in recs] == ["INSERT", "REMOVE"]
    assert "userIdentity" not in recs[0]
    assert recs[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert recs[1]["dynamodb"]["OldImage"]["pk"] == {"S": "old"}


def raw_dynamodb_call(gateway, target, body):
    """A signed JSON 1.0 request the way an AWS client would send it."""
    import json
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=gateway.url + "/", data=json.dumps(body),
                     headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials("000000000000", "test"), "dynamodb", "us-east-1").add_auth(req)
    r = urllib.request.Request(req.url, data=req.body if isinstance(req.body, bytes) else req.body.encode(), headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_internal_operation_rejects_wrong_shapes(gateway):
    target = "DynamoDB_20120810.MinistackInternalStreamsRead"
    status, body = raw_dynamodb_call(gateway, target, {"Operation": "DeleteTable", "Input": "{}"})
    assert status == 400 and "ValidationException" in body["__type"]
    status, body = raw_dynamodb_call(gateway, target, {"Operation": "ListStreams", "Input": "not json"})
    assert status == 400 and "ValidationException" in body["__type"]
    status, body = raw_dynamodb_call(gateway, target, {"Operation": "ListStreams"})
    assert status == 400 and "ValidationException" in body["__type"]
    # With the right shape it only reads, as the Streams API does.
    status, body = raw_dynamodb_call(gateway, target, {"Operation": "ListStreams", "Input": "{\"Limit\": 1}"})
    assert status == 200 and "Streams" in __import__("json").loads(body["Output"])


def test_get_records_answers_at_most_one_megabyte(gateway):
    c = gateway.client("dynamodb")
    s = gateway.client("dynamodbstreams")
    t, arn = make_table(c, "NEW_IMAGE")
    for i in range(4):
        c.put_item(TableName=t, Item={"pk": {"S": f"k{i}"}, "data": {"S": "x" * (350 * 1024)}})
    first = records(s, arn)
    assert len(first["Records"]) == 3
    rest = s.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in rest["Records"]] == ["k3"]


def test_aws_cli_lists_and_describes_streams(gateway):
    import json

    c = gateway.client("dynamodb")
    t, arn = make_table(c, "KEYS_ONLY")
    c.put_item(TableName=t, Item={"pk": {"S": "cli"}})
    listed = json.loads(gateway.aws("dynamodbstreams", "list-streams", "--table-name", t).stdout)["Streams"]
    assert [x["StreamArn"] for x in listed] == [arn]
    desc = json.loads(gateway.aws("dynamodbstreams", "describe-stream", "--stream-arn", arn).stdout)["StreamDescription"]
    shard = desc["Shards"][0]["ShardId"]
    it = json.loads(gateway.aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", arn, "--shard-id", shard,
                                "--shard-iterator-type", "TRIM_HORIZON").stdout)["ShardIterator"]
    recs = json.loads(gateway.aws("dynamodbstreams", "get-records", "--shard-iterator", it).stdout)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in recs] == [("INSERT", {"pk": {"S": "cli"}})]
