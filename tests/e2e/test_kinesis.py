"""Kinesis Data Streams end to end with boto3: routing and ordering, resharding
lineage, iterator types and expiry, SubscribeToShard streamed, CBOR requests,
and a Lambda event source mapping (docs/services/kinesis.md)."""

import base64
import hashlib
import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def name(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kinesis(gateway):
    return gateway.client("kinesis")


def shard_for(shards, key):
    h = int(hashlib.md5(key.encode()).hexdigest(), 16)
    for s in shards:
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= h <= int(r["EndingHashKey"]):
            return s["ShardId"]
    raise AssertionError("no shard")


def read_all(kinesis, stream, shard_id, kind="TRIM_HORIZON", **kw):
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]
    out = []
    while it:
        r = kinesis.get_records(ShardIterator=it, Limit=10000)
        out.extend(r["Records"])
        it = r.get("NextShardIterator")
        if not r["Records"] and r["MillisBehindLatest"] == 0:
            return out, r
    return out, r


def test_ten_thousand_records_over_four_shards_complete_and_ordered(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    assert [s["HashKeyRange"]["StartingHashKey"] for s in shards] == [
        "0",
        str(2**126),
        str(2**127),
        str(3 * 2**126),
    ]
    assert shards[3]["HashKeyRange"]["EndingHashKey"] == str(2**128 - 1)
    keys = [f"user-{i}" for i in range(37)]
    sent = {}
    for batch in range(20):
        entries = []
        for i in range(500):
            n = batch * 500 + i
            key = keys[n % len(keys)]
            entries.append({"Data": f"{key}:{n}".encode(), "PartitionKey": key})
            sent.setdefault(key, []).append(n)
        r = kinesis.put_records(StreamName=stream, Records=entries)
        assert r["FailedRecordCount"] == 0
        for e, res in zip(entries, r["Records"]):
            assert res["ShardId"] == shard_for(shards, e["PartitionKey"])
            assert len(res["SequenceNumber"]) == 56 and res["SequenceNumber"].isdigit()
    got = {}
    total = 0
    for s in shards:
        records, last = read_all(kinesis, stream, s["ShardId"])
        seqs = [int(r["SequenceNumber"]) for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for r in records:
            key, n = r["Data"].decode().split(":")
            assert r["PartitionKey"] == key
            assert shard_for(shards, key) == s["ShardId"]
            got.setdefault(key, []).append(int(n))
        total += len(records)
        assert last["MillisBehindLatest"] == 0
    assert total == 10000
    assert got == sent


def test_put_record_explicit_hash_key_and_errors(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    r = kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128 - 1))
    assert r["ShardId"] == "shardId-000000000001"
    r2 = kinesis.put_record(StreamName=stream, Data=b"y", PartitionKey="k", ExplicitHashKey="0")
    assert r2["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName="nope-" + stream, Data=b"x", PartitionKey="k")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName=stream, ShardCount=1)
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    # Sequence numbers grow per shard.
    a = kinesis.put_record(StreamName=stream, Data=b"1", PartitionKey="p")["SequenceNumber"]
    b = kinesis.put_record(StreamName=stream, Data=b"2", PartitionKey="p")["SequenceNumber"]
    assert int(b) > int(a)


def test_split_then_merge_child_shards_and_lineage(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.put_record(StreamName=stream, Data=b"before", PartitionKey="a")
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}
    assert set(shards) == {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}
    parent = shards["shardId-000000000000"]
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert shards["shardId-000000000001"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000001"]["HashKeyRange"]["EndingHashKey"] == str(2**127 - 1)
    assert shards["shardId-000000000002"]["HashKeyRange"]["StartingHashKey"] == str(2**127)
    open_now = kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in open_now] == ["shardId-000000000001", "shardId-000000000002"]
    # New records go to the open child whose range holds their hash key, never
    # to the closed parent (whose range still holds every key).
    put = kinesis.put_records(StreamName=stream, Records=[
        {"Data": b"low", "PartitionKey": "k", "ExplicitHashKey": "0"},
        {"Data": b"mid", "PartitionKey": "k", "ExplicitHashKey": str(2**127 - 1)},
        {"Data": b"high", "PartitionKey": "k", "ExplicitHashKey": str(2**127)},
    ])["Records"]
    assert [r["ShardId"] for r in put] == ["shardId-000000000001"] * 2 + ["shardId-000000000002"]

    # Reading the closed parent to its end hands over the children.
    records, last = read_all(kinesis, stream, "shardId-000000000000")
    assert [r["Data"] for r in records] == [b"before"]
    assert last.get("NextShardIterator") is None
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == ["shardId-000000000001", "shardId-000000000002"]
    assert all(c["ParentShards"] == ["shardId-000000000000"] for c in last["ChildShards"])

    # A closed shard cannot be split again; non-adjacent shards cannot merge.
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey="5")
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"

    kinesis.merge_shards(
        StreamName=stream, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002"
    )
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}
    merged = shards["shardId-000000000003"]
    assert merged["ParentShardId"] == "shardId-000000000001"
    assert merged["AdjacentParentShardId"] == "shardId-000000000002"
    assert merged["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**128 - 1)}
    r = kinesis.put_record(StreamName=stream, Data=b"after", PartitionKey="a")
    assert r["ShardId"] == "shardId-000000000003"
    _, last = read_all(kinesis, stream, "shardId-000000000001")
    assert last["ChildShards"] == [
        {
            "ShardId": "shardId-000000000003",
            "ParentShards": ["shardId-000000000001", "shardId-000000000002"],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(2**128 - 1)},
        }
    ]
    # Uniform scaling to 2 shards closes the merged one.
    out = kinesis.update_shard_count(StreamName=stream, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert out["CurrentShardCount"] == 1 and out["TargetShardCount"] == 2
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    # ListShards pages with NextToken.
    page = kinesis.list_shards(StreamName=stream, MaxResults=2)
    assert len(page["Shards"]) == 2 and page["NextToken"]
    rest = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=10)
    assert len(rest["Shards"]) == 4 and "NextToken" not in rest


def test_at_timestamp_and_after_sequence_number(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    seqs = [kinesis.put_record(StreamName=stream, Data=b"old%d" % i, PartitionKey="k")["SequenceNumber"] for i in range(3)]
    # boto3 sends timestamps in whole seconds: start the new records in the next second.
    time.sleep(1.05 - time.time() % 1)
    mark = int(time.time())
    for i in range(2):
        kinesis.put_record(StreamName=stream, Data=b"new%d" % i, PartitionKey="k")
    shard = "shardId-000000000000"
    recs, _ = read_all(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=mark)
    assert [r["Data"] for r in recs] == [b"new0", b"new1"]
    recs, _ = read_all(kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])
    assert [r["Data"] for r in recs] == [b"old2", b"new0", b"new1"]
    recs, _ = read_all(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])
    assert [r["Data"] for r in recs][:2] == [b"old1", b"old2"]
    latest = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    kinesis.put_record(StreamName=stream, Data=b"later", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=latest)["Records"]] == [b"later"]
    # Limit and MillisBehindLatest.
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    r = kinesis.get_records(ShardIterator=it, Limit=2)
    assert len(r["Records"]) == 2 and r["MillisBehindLatest"] > 0
    with pytest.raises(ClientError) as e:
        kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345"
        )
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_expired_iterator(kinesis):
    """Iterators are base64url JSON with the issue time `t` (ms): moving it 5
    minutes back makes an expired one without waiting."""
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    pos = json.loads(base64.urlsafe_b64decode(it + "=" * (-len(it) % 4)))
    pos["t"] -= 5 * 60 * 1000 + 1000
    old = base64.urlsafe_b64encode(json.dumps(pos).encode()).decode().rstrip("=")
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator=old)
    assert e.value.response["Error"]["Code"] == "ExpiredIteratorException"
    assert kinesis.get_records(ShardIterator=it)["Records"] == []
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator="garbage")
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_stream_admin_operations(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    d = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert d["StreamModeDetails"]["StreamMode"] == "ON_DEMAND" and len(d["Shards"]) == 4
    arn = d["StreamARN"]
    assert arn == f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    with pytest.raises(ClientError) as e:
        kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=30)
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    kinesis.decrease_stream_retention_period(StreamARN=arn, RetentionPeriodHours=24)
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"team": "a", "env": "dev"})
    kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["env"])
    assert kinesis.list_tags_for_stream(StreamName=stream)["Tags"] == [{"Key": "team", "Value": "a"}]
    kinesis.tag_resource(ResourceARN=arn, Tags={"x": "1"})
    assert {t["Key"] for t in kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]} == {"team", "x"}
    kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    s = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert s["EncryptionType"] == "KMS" and s["KeyId"] == "alias/aws/kinesis" and s["RetentionPeriodHours"] == 24
    r = kinesis.put_record(StreamName=stream, Data=b"e", PartitionKey="k")
    assert r["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    m = kinesis.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["ALL"])
    assert len(m["DesiredShardLevelMetrics"]) == 7
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kinesis:GetRecords", "Resource": arn}]})
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(policy)
    kinesis.delete_resource_policy(ResourceARN=arn)
    limits = kinesis.describe_limits()
    assert limits["OpenShardCount"] >= 4 and limits["ShardLimit"] > 0
    assert stream in kinesis.list_streams()["StreamNames"]
    kinesis.delete_stream(StreamARN=arn)
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream(StreamName=stream)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_subscribe_to_shard_receives_records_put_while_open(kinesis, gateway):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]
    assert consumer["ConsumerStatus"] == "ACTIVE"
    listed = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [c["ConsumerName"] for c in listed] == ["efo"]
    kinesis.put_record(StreamName=stream, Data=b"before", PartitionKey="k")
    out = kinesis.subscribe_to_shard(
        ConsumerARN=consumer["ConsumerARN"],
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "LATEST"},
    )
    received = []
    latencies = []
    sent_at = {}

    def put_later():
        time.sleep(0.3)
        for i in range(3):
            sent_at[i] = time.time()
            kinesis.put_record(StreamName=stream, Data=b"live%d" % i, PartitionKey="k")
            time.sleep(0.2)

    t = threading.Thread(target=put_later)
    t.start()
    deadline = time.time() + 15
    for event in out["EventStream"]:
        ev = event["SubscribeToShardEvent"]
        for r in ev["Records"]:
            i = int(r["Data"][4:])
            latencies.append(time.time() - sent_at[i])
            received.append(r["Data"])
        assert len(ev["ContinuationSequenceNumber"]) == 56
        if len(received) >= 3 or time.time() > deadline:
            break
    t.join()
    assert received == [b"live0", b"live1", b"live2"]
    print(f"SubscribeToShard put-to-receive latency ms: {[round(x * 1000, 1) for x in latencies]}")
    assert max(latencies) < 2.0
    with pytest.raises(ClientError) as e:
        kinesis.delete_stream(StreamName=stream)
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    kinesis.delete_stream(StreamName=stream)


def cbor_call(gateway, operation, body):
    """A request as the Java SDK and the KCL send it: awsJson 1.1 with a CBOR body."""
    import cbor2
    import requests

    auth = (
        "AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    r = requests.post(
        gateway.url + "/",
        data=cbor2.dumps(body),
        headers={
            "Content-Type": "application/x-amz-cbor-1.1",
            "X-Amz-Target": f"Kinesis_20131202.{operation}",
            "Authorization": auth,
        },
        timeout=30,
    )
    assert r.headers["Content-Type"] == "application/x-amz-cbor-1.1"
    # Tag 1 wraps epoch milliseconds here (the Java SDK's reading), not
    # seconds as cbor2 assumes: keep the raw number.
    return r.status_code, cbor2.loads(r.content, semantic_decoders={1: lambda v, _immutable: ("epoch-ms", v)})


def test_cbor_requests(gateway, kinesis):
    import cbor2

    stream = name()
    status, out = cbor_call(gateway, "CreateStream", {"StreamName": stream, "ShardCount": 1})
    assert status == 200, out
    status, put = cbor_call(gateway, "PutRecord", {"StreamName": stream, "Data": b"\x00\xffbinary", "PartitionKey": "k"})
    assert status == 200 and len(put["SequenceNumber"]) == 56
    # The Java SDK writes timestamps as tag 1 around epoch milliseconds.
    at = cbor2.CBORTag(1, int((time.time() - 60) * 1000))
    status, it = cbor_call(
        gateway,
        "GetShardIterator",
        {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": at},
    )
    assert status == 200, it
    status, got = cbor_call(gateway, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert status == 200
    [rec] = got["Records"]
    assert rec["Data"] == b"\x00\xffbinary"  # a CBOR byte string, not base64 text
    kind, ms = rec["ApproximateArrivalTimestamp"]
    assert kind == "epoch-ms" and isinstance(ms, int) and abs(ms / 1000 - time.time()) < 60
    boto = kinesis.get_records(
        ShardIterator=kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    )["Records"][0]
    assert boto["Data"] == b"\x00\xffbinary" and boto["SequenceNumber"] == rec["SequenceNumber"]
    status, err = cbor_call(gateway, "DescribeStream", {"StreamName": "missing-" + stream})
    assert status == 400 and err["__type"] == "ResourceNotFoundException" and "not found" in err["message"]
    status, err = cbor_call(gateway, "PutRecord", {"StreamName": stream})
    assert status == 400 and err["__type"] == "ValidationException"


PY_KINESIS_REPORTER = """
import base64, json, os, boto3

sqs = boto3.client("sqs")

def handler(event, context):
    url = sqs.get_queue_url(QueueName=os.environ["REPORT_QUEUE"])["QueueUrl"]
    datas = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    if any(d.startswith("poison") for d in datas):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"failed": datas}))
        raise RuntimeError("poison record")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "datas": datas,
        "source": event["Records"][0]["eventSource"],
        "shard": event["Records"][0]["eventID"].split(":")[0],
    }))
    return {}
"""


def _zip(code):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", code)
    return buf.getvalue()


def _drain(sqs, url, until, timeout=30):
    got = []
    deadline = time.time() + timeout
    while not until(got) and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def test_lambda_kinesis_mapping_delivers_batches_and_retires_a_poison_batch(gateway, kinesis):
    lam, sqs = gateway.client("lambda"), gateway.client("sqs")
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_record(StreamName=stream, Data=b"before-mapping", PartitionKey="k")
    report = f"r-{uuid.uuid4().hex[:8]}"
    report_url = sqs.create_queue(QueueName=report)["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"d-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn = f"fn-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=fn, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="app.handler", Code={"ZipFile": _zip(PY_KINESIS_REPORTER)}, Timeout=10,
        Environment={"Variables": {"REPORT_QUEUE": report}},
    )
    m = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fn, StartingPosition="LATEST", BatchSize=5,
        MaximumRetryAttempts=1, BisectBatchOnFunctionError=False,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    kinesis.put_records(StreamName=stream, Records=[{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(8)])
    got = _drain(sqs, report_url, lambda g: sum(len(x.get("datas", [])) for x in g) >= 8)
    datas = [d for x in got for d in x.get("datas", [])]
    assert datas == [f"r{i}" for i in range(8)], got  # LATEST: not the record put before
    assert all(len(x["datas"]) <= 5 for x in got)
    assert {x["source"] for x in got} == {"aws:kinesis"} and {x["shard"] for x in got} == {"shardId-000000000000"}
    # A failing batch is tried 1 + MaximumRetryAttempts times, then goes to
    # the on-failure destination, and the records after it still arrive.
    kinesis.put_record(StreamName=stream, Data=b"poison", PartitionKey="k")
    failed = _drain(sqs, report_url, lambda g: len(g) >= 2)
    assert [x["failed"] for x in failed] == [["poison"], ["poison"]]
    [info] = [json.loads(x["Body"]) for x in sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=10)["Messages"]]
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["KinesisBatchInfo"]["batchSize"] == 1 and info["KinesisBatchInfo"]["streamArn"] == arn
    kinesis.put_record(StreamName=stream, Data=b"after", PartitionKey="k")
    got = _drain(sqs, report_url, lambda g: any("after" in x.get("datas", []) for x in g))
    assert [d for x in got for d in x.get("datas", [])] == ["after"]
    assert lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "OK"
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_throttling_when_configured_gives_per_record_errors(make_gateway):
    gw = make_gateway(env={"KINESIS_SHARD_RECORDS_PER_SECOND": "10"})
    k = gw.client("kinesis")
    # The window is per wall-clock second: on a loaded machine the calls can
    # straddle a second, which starts a fresh window. Such a try proves
    # nothing and is repeated on a new stream; one inside a second must throttle.
    for _ in range(5):
        stream = name()
        k.create_stream(StreamName=stream, ShardCount=1)
        time.sleep(1.02 - time.time() % 1)
        start = time.time()
        r = k.put_records(StreamName=stream, Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(25)])
        try:
            k.put_record(StreamName=stream, Data=b"x", PartitionKey="k")
            single = None
        except ClientError as e:
            single = e.response["Error"]["Code"]
        if int(time.time()) != int(start):
            continue
        assert r["FailedRecordCount"] == 15
        ok = [e for e in r["Records"] if "SequenceNumber" in e]
        failed = [e for e in r["Records"] if "ErrorCode" in e]
        assert len(ok) == 10 and {e["ErrorCode"] for e in failed} == {"ProvisionedThroughputExceededException"}
        assert single == "ProvisionedThroughputExceededException"
        return
    pytest.fail("no try fitted inside one wall-clock second")


def test_records_survive_kill_and_sequence_numbers_keep_growing(make_gateway):
    gw = make_gateway(env={"PERSIST_STATE": "1"})
    k = gw.client("kinesis")
    stream = name()
    k.create_stream(StreamName=stream, ShardCount=2)
    before = k.put_records(StreamName=stream, Records=[{"Data": b"%d" % i, "PartitionKey": "k"} for i in range(20)])
    last = before["Records"][-1]
    gw.kill()
    gw.start()
    k = gw.client("kinesis")
    recs, _ = read_all(k, stream, last["ShardId"])
    assert [r["Data"] for r in recs] == [b"%d" % i for i in range(20)]
    after = k.put_record(StreamName=stream, Data=b"next", PartitionKey="k")
    assert after["ShardId"] == last["ShardId"] and int(after["SequenceNumber"]) > int(last["SequenceNumber"])


def test_subscribe_to_a_closed_shard_ends_with_its_children(kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    seq = kinesis.put_record(StreamName=stream, Data=b"parent", PartitionKey="k")["SequenceNumber"]
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    out = kinesis.subscribe_to_shard(
        ConsumerARN=consumer, ShardId="shardId-000000000000", StartingPosition={"Type": "TRIM_HORIZON"}
    )
    events = [e["SubscribeToShardEvent"] for e in out["EventStream"]]  # ends by itself
    assert [r["Data"] for e in events for r in e["Records"]] == [b"parent"]
    assert events[-1]["ContinuationSequenceNumber"] == seq
    assert sorted(c["ShardId"] for c in events[-1]["ChildShards"]) == ["shardId-000000000001", "shardId-000000000002"]
    with pytest.raises(ClientError) as e:
        kinesis.subscribe_to_shard(ConsumerARN=consumer + "0", ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_records_past_retention_are_dropped(make_gateway):
    # KINESIS_RETENTION_SCALE shrinks an hour of retention: 24 h last 0.864 s.
    gw = make_gateway(env={"KINESIS_RETENTION_SCALE": "0.00001"})
    k = gw.client("kinesis")
    stream = name()
    k.create_stream(StreamName=stream, ShardCount=1)
    k.put_records(StreamName=stream, Records=[{"Data": b"old%d" % i, "PartitionKey": "k"} for i in range(3)])
    time.sleep(1.2)
    k.put_record(StreamName=stream, Data=b"fresh", PartitionKey="k")
    recs, _ = read_all(k, stream, "shardId-000000000000")
    assert [r["Data"] for r in recs] == [b"fresh"]
    # A longer period does not bring expired records back.
    k.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=200)
    recs, _ = read_all(k, stream, "shardId-000000000000")
    assert [r["Data"] for r in recs] == [b"fresh"]


def test_subscribe_to_shard_over_http2(gateway, kinesis):
    import shutil
    import subprocess

    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is needed for the HTTP/2 SubscribeToShard test")
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_record(StreamName=stream, Data=b"h2-record", PartitionKey="k")
    # A closed shard: the subscription ends by itself after its records.
    kinesis.split_shard(
        StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey="1")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="h2")["Consumer"]["ConsumerARN"]
    auth = ("AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=host, Signature=0")
    out = subprocess.run(
        [curl, "-sS", "-N", "--http2-prior-knowledge", "-X", "POST",
         "-H", f"Authorization: {auth}", "-H", "Content-Type: application/x-amz-json-1.1",
         "-H", "X-Amz-Target: Kinesis_20131202.SubscribeToShard",
         "--data", json.dumps({"ConsumerARN": consumer, "ShardId": "shardId-000000000000",
                               "StartingPosition": {"Type": "TRIM_HORIZON"}}),
         "-D", "-", gateway.url + "/"],
        capture_output=True, timeout=30,
    )
    body = out.stdout
    assert body.startswith(b"HTTP/2 200"), body[:300]
    assert b"application/vnd.amazon.eventstream" in body
    assert b"SubscribeToShardEvent" in body
    assert base64.b64encode(b"h2-record") in body
    assert b"shardId-000000000002" in body  # the ChildShards of the closed shard


class LeaseWorker:
    """What a KCL 2.x worker does, call for call, with boto3 (the real KCL
    needs jars from Maven Central, which this machine cannot reach; see
    docs/services/kinesis.md): shard discovery with ListShards, leases in a
    DynamoDB table taken and checkpointed with conditional writes, enhanced
    fan-out reads with SubscribeToShard from the checkpoint, and child
    shards leased only once their parents reached SHARD_END."""

    def __init__(self, gateway, me, stream, table, consumer, processed):
        self.kin, self.ddb = gateway.client("kinesis"), gateway.client("dynamodb")
        self.me, self.stream, self.table, self.consumer = me, stream, table, consumer
        self.processed = processed

    def new_lease(self, shard_id, parents):
        item = {"leaseKey": {"S": shard_id}, "checkpoint": {"S": "TRIM_HORIZON"}, "leaseCounter": {"N": "0"}}
        if parents:
            item["parentShardIds"] = {"SS": parents}
        try:
            self.ddb.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(leaseKey)")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"

    def discover(self):
        shards = self.kin.list_shards(StreamName=self.stream, ShardFilter={"Type": "AT_TRIM_HORIZON"})["Shards"]
        for s in shards:
            parents = [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p]
            self.new_lease(s["ShardId"], parents)

    def take(self):
        """A lease nobody holds whose parents are done, taken atomically."""
        leases = {i["leaseKey"]["S"]: i for i in self.ddb.scan(TableName=self.table, ConsistentRead=True)["Items"]}
        for key, lease in sorted(leases.items()):
            if "leaseOwner" in lease or lease["checkpoint"]["S"] == "SHARD_END":
                continue
            parents = lease.get("parentShardIds", {}).get("SS", [])
            if any(leases.get(p, {}).get("checkpoint", {}).get("S") != "SHARD_END" for p in parents):
                continue
            try:
                self.ddb.update_item(
                    TableName=self.table, Key={"leaseKey": {"S": key}},
                    UpdateExpression="SET leaseOwner = :me ADD leaseCounter :one",
                    ConditionExpression="attribute_not_exists(leaseOwner) AND leaseCounter = :c",
                    ExpressionAttributeValues={":me": {"S": self.me}, ":one": {"N": "1"},
                                               ":c": lease["leaseCounter"]})
                return key, lease["checkpoint"]["S"]
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return None

    def checkpoint(self, shard_id, value, release=False):
        self.ddb.update_item(
            TableName=self.table, Key={"leaseKey": {"S": shard_id}},
            UpdateExpression="SET checkpoint = :v" + (" REMOVE leaseOwner" if release else ""),
            ConditionExpression="leaseOwner = :me",
            ExpressionAttributeValues={":v": {"S": value}, ":me": {"S": self.me}})

    def run_once(self):
        self.discover()
        taken = self.take()
        if not taken:
            return False
        shard_id, at = taken
        start = {"Type": "TRIM_HORIZON"} if at == "TRIM_HORIZON" else \
            {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": at}
        out = self.kin.subscribe_to_shard(ConsumerARN=self.consumer, ShardId=shard_id, StartingPosition=start)
        last = at
        for event in out["EventStream"]:
            ev = event["SubscribeToShardEvent"]
            for r in ev["Records"]:
                self.processed.append((shard_id, r["PartitionKey"], r["Data"].decode()))
            if "ChildShards" in ev:  # the shard is closed and read to its end
                for child in ev["ChildShards"]:
                    self.new_lease(child["ShardId"], child["ParentShards"])
                self.checkpoint(shard_id, "SHARD_END", release=True)
                return True
            if ev["Records"]:
                last = ev["ContinuationSequenceNumber"]
                self.checkpoint(shard_id, last)
            elif ev["MillisBehindLatest"] == 0:
                break  # caught up: hand the lease back, as a worker shutting down would
        self.checkpoint(shard_id, last, release=True)
        return True


def test_kcl_style_workers_lease_checkpoint_and_follow_a_reshard(gateway, kinesis):
    stream, table = name("kcl"), name("kcl-leases")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]["ConsumerARN"]
    ddb = gateway.client("dynamodb")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}])
    keys = [f"user-{i}" for i in range(6)]
    sent = []

    def put(n):
        for i in range(n):
            k = keys[i % len(keys)]
            data = f"{k}:{len(sent)}"
            kinesis.put_record(StreamName=stream, PartitionKey=k, Data=data.encode())
            sent.append((k, data))

    processed = []
    workers = [LeaseWorker(gateway, f"worker-{i}", stream, table, consumer, processed) for i in range(2)]

    def drain():
        for _ in range(20):
            results = []
            threads = [threading.Thread(target=lambda w=w: results.append(w.run_once())) for w in workers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if not any(results) and len(processed) >= len(sent):
                return

    put(30)
    drain()
    # Reshard while leases exist: shard 0 splits, and its children are read
    # only after the parent's last records (SHARD_END), so order holds per key.
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    put(30)
    drain()
    assert sorted(d for _, _, d in processed) == sorted(d for _, d in sent), "every record once"
    for k in keys:
        assert [d for _, pk, d in processed if pk == k] == [d for pk, d in sent if pk == k], f"order of {k}"
    leases = {i["leaseKey"]["S"]: i for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}
    assert sorted(leases) == [f"shardId-00000000000{i}" for i in range(4)]
    assert leases["shardId-000000000000"]["checkpoint"]["S"] == "SHARD_END"
    assert sorted(leases["shardId-000000000002"]["parentShardIds"]["SS"]) == ["shardId-000000000000"]
    assert all("leaseOwner" not in lease for lease in leases.values())
    # Shard 1's lease was taken again after its release and read on from its
    # checkpoint (AFTER_SEQUENCE_NUMBER): "every record once" above proves it.
    assert int(leases["shardId-000000000001"]["leaseCounter"]["N"]) >= 2


def test_stream_encryption_checks_the_key_in_kms(gateway, kinesis):
    stream = name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kms = gateway.client("kms")
    key = kms.create_key(Description="kinesis sse")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS",
                                        KeyId="11111111-2222-3333-4444-555555555555")
    assert e.value.response["Error"]["Code"] == "KMSNotFoundException"
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as e:
        kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId=key)
    assert e.value.response["Error"]["Code"] == "KMSDisabledException"
    kms.enable_key(KeyId=key)
    kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId=key)
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", key)
    kinesis.put_record(StreamName=stream, Data=b"sealed", PartitionKey="k")
    (got,), _ = read_all(kinesis, stream, "shardId-000000000000")
    assert got["Data"] == b"sealed" and got["EncryptionType"] == "KMS"
