"""Amazon Data Firehose through the whole gateway with boto3: the control
plane, buffering (interval and size), S3 delivery (prefix expressions,
compression, error output, backup), a Lambda transformation, an HTTP
endpoint destination (a python http.server on 127.0.0.1), a Kinesis
source, and records acknowledged before a kill -9 still delivered after
the restart."""

import base64
import gzip
import hashlib
import http.server
import io
import json
import re
import threading
import time
import uuid
import zipfile

import botocore.exceptions
import pytest

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose-role"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def fh(gateway):
    return gateway.client("firehose")


@pytest.fixture
def s3(gateway):
    return gateway.client("s3")


def bucket(s3):
    name = f"fh-{uid()}"
    s3.create_bucket(Bucket=name)
    return name


def objects(s3, b, prefix=""):
    out = s3.list_objects_v2(Bucket=b, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in out)


def body(s3, b, key):
    return s3.get_object(Bucket=b, Key=key)["Body"].read()


def s3_stream(fh, b, name=None, **conf):
    name = name or f"ds-{uid()}"
    dest = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}", **conf}
    fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=dest)
    return name


OBJECT_NAME = r"{name}-1-\d{{4}}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}"


def test_control_plane(fh, s3):
    b = bucket(s3)
    name = s3_stream(fh, b, Prefix="raw/", BufferingHints={"SizeInMBs": 2, "IntervalInSeconds": 60},
                     name=f"cp-{uid()}")
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["DeliveryStreamStatus"] == "ACTIVE"
    assert d["DeliveryStreamType"] == "DirectPut"
    assert d["VersionId"] == "1"
    assert d["DeliveryStreamARN"] == f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/{name}"
    dest = d["Destinations"][0]
    assert dest["DestinationId"] == "destinationId-000000000001"
    ext = dest["ExtendedS3DestinationDescription"]
    assert ext["Prefix"] == "raw/"
    assert ext["CompressionFormat"] == "UNCOMPRESSED"
    assert ext["BufferingHints"] == {"SizeInMBs": 2, "IntervalInSeconds": 60}
    assert dest["S3DestinationDescription"]["BucketARN"] == f"arn:aws:s3:::{b}"

    assert name in fh.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    assert name not in fh.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")["DeliveryStreamNames"]

    e = error_of(fh.create_delivery_stream, DeliveryStreamName=name,
                 ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}"})
    assert e["Code"] == "ResourceInUseException"
    e = error_of(fh.describe_delivery_stream, DeliveryStreamName="nope-" + uid())
    assert e["Code"] == "ResourceNotFoundException"
    e = error_of(fh.create_delivery_stream, DeliveryStreamName="x-" + uid(),
                 ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}",
                                                     "Prefix": "p/!{timestamp:yyyy}/"})
    assert e["Code"] == "InvalidArgumentException"
    assert "ErrorOutputPrefix" in e["Message"]

    # UpdateDestination: the version must match, and it advances.
    e = error_of(fh.update_destination, DeliveryStreamName=name, CurrentDeliveryStreamVersionId="7",
                 DestinationId="destinationId-000000000001", ExtendedS3DestinationUpdate={"Prefix": "x/"})
    assert e["Code"] == "ConcurrentModificationException"
    fh.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                          DestinationId="destinationId-000000000001",
                          ExtendedS3DestinationUpdate={"Prefix": "cooked/", "CompressionFormat": "GZIP"})
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["VersionId"] == "2"
    assert "LastUpdateTimestamp" in d
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert (ext["Prefix"], ext["CompressionFormat"]) == ("cooked/", "GZIP")
    assert ext["BufferingHints"]["SizeInMBs"] == 2

    # Tags.
    fh.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}])
    t = fh.list_tags_for_delivery_stream(DeliveryStreamName=name, Limit=1)
    assert t["Tags"] == [{"Key": "a", "Value": "1"}] and t["HasMoreTags"] is True
    fh.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["a"])
    t = fh.list_tags_for_delivery_stream(DeliveryStreamName=name)
    assert t["Tags"] == [{"Key": "b", "Value": "2"}] and t["HasMoreTags"] is False
    e = error_of(fh.tag_delivery_stream, DeliveryStreamName=name,
                 Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert e["Code"] == "LimitExceededException"

    # Server-side encryption is recorded, and puts report it.
    fh.start_delivery_stream_encryption(DeliveryStreamName=name,
                                        DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
    enc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
        "DeliveryStreamEncryptionConfiguration"]
    assert enc == {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"}
    assert fh.put_record(DeliveryStreamName=name, Record={"Data": b"x"})["Encrypted"] is True
    fh.stop_delivery_stream_encryption(DeliveryStreamName=name)
    enc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
        "DeliveryStreamEncryptionConfiguration"]
    assert enc["Status"] == "DISABLED"
    e = error_of(fh.start_delivery_stream_encryption, DeliveryStreamName=name,
                 DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"})
    assert e["Code"] == "InvalidArgumentException"

    fh.delete_delivery_stream(DeliveryStreamName=name)
    assert error_of(fh.describe_delivery_stream, DeliveryStreamName=name)["Code"] == "ResourceNotFoundException"
    assert error_of(fh.put_record, DeliveryStreamName=name, Record={"Data": b"x"})["Code"] == \
        "ResourceNotFoundException"


def test_put_limits_and_record_ids(fh, s3):
    name = s3_stream(fh, bucket(s3))
    e = error_of(fh.put_record_batch, DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
    assert e["Code"] == "ValidationException"
    e = error_of(fh.put_record, DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001})
    assert e["Code"] == "ValidationException"
    e = error_of(fh.put_record_batch, DeliveryStreamName=name, Records=[{"Data": b"x" * 1_000_000}] * 5)
    assert e["Code"] == "InvalidArgumentException"
    out = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"%d" % i} for i in range(500)])
    assert out["FailedPutCount"] == 0
    ids = [r["RecordId"] for r in out["RequestResponses"]]
    assert len(ids) == 500 and len(set(ids)) == 500
    assert fh.put_record(DeliveryStreamName=name, Record={"Data": b"one"})["RecordId"] not in ids
    fh.delete_delivery_stream(DeliveryStreamName=name)


def test_interval_flush_delivers_one_gzip_object_with_every_record_in_order(fh, s3):
    b = bucket(s3)
    name = s3_stream(fh, b, CompressionFormat="GZIP",
                     BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 5})
    started = time.time()
    sent = []
    for i in range(20):
        data = f'{{"n": {i}}}\n'.encode()
        fh.put_record(DeliveryStreamName=name, Record={"Data": data})
        sent.append(data)
    for chunk in range(4):
        batch = [f'{{"batch": {chunk}, "i": {i}}}\n'.encode() for i in range(250)]
        assert fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in batch])[
            "FailedPutCount"] == 0
        sent.extend(batch)
    assert objects(s3, b) == [], "delivered before the buffer interval"
    keys = wait_for(lambda: objects(s3, b), 12, "the interval flush")
    elapsed = time.time() - started
    assert 4.5 <= elapsed <= 9, f"delivered after {elapsed:.1f} s"
    time.sleep(1.0)
    keys = objects(s3, b)
    assert len(keys) == 1, keys
    key = keys[0]
    # Default prefix YYYY/MM/dd/HH/ and AWS's object name.
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\d\d/" + OBJECT_NAME.format(name=name) + r"\.gz", key), key
    raw = body(s3, b, key)
    assert gzip.decompress(raw) == b"".join(sent)
    assert s3.head_object(Bucket=b, Key=key)["ETag"] == f'"{hashlib.md5(raw).hexdigest()}"'


def test_size_flush_before_the_interval(fh, s3):
    b = bucket(s3)
    name = s3_stream(fh, b, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 600})
    chunk = 300 * 1024
    sent = [bytes([65 + i]) * chunk for i in range(4)]
    for d in sent[:3]:
        fh.put_record(DeliveryStreamName=name, Record={"Data": d})
    time.sleep(1.0)
    assert objects(s3, b) == [], "0.9 MiB is below the 1 MiB buffer"
    fh.put_record(DeliveryStreamName=name, Record={"Data": sent[3]})
    total = sum(map(len, sent))

    def delivered():
        out = s3.list_objects_v2(Bucket=b).get("Contents", [])
        return sum(o["Size"] for o in out) == total

    wait_for(delivered, 10, "the size flush")
    keys = objects(s3, b)
    # Objects are named by the arrival of their first record (names sort
    # by time only to the second): order them by content.
    got = sorted(body(s3, b, k) for k in keys)
    assert b"".join(got) == b"".join(sent)
    assert all(len(body(s3, b, k)) <= 1024 * 1024 for k in keys)


def test_prefix_expressions_and_compression(fh, s3):
    b = bucket(s3)
    name = s3_stream(fh, b, Prefix="data/!{timestamp:yyyy}/!{firehose:random-string}/",
                     ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                     CompressionFormat="ZIP", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a\n"}, {"Data": b"b\n"}])
    keys = wait_for(lambda: objects(s3, b), 10, "the object")
    year = time.strftime("%Y", time.gmtime())
    assert re.fullmatch(rf"data/{year}/[A-Za-z0-9]{{11}}/" + OBJECT_NAME.format(name=name) + r"\.zip", keys[0]), keys
    z = zipfile.ZipFile(io.BytesIO(body(s3, b, keys[0])))
    assert z.read(z.namelist()[0]) == b"a\nb\n"

    # Snappy (framing format) and Hadoop-Snappy, and a prefix without
    # expressions gets the default time prefix appended.
    for fmt, check in [("Snappy", lambda x: x.startswith(b"\xff\x06\x00\x00sNaPpY")),
                       ("HADOOP_SNAPPY", lambda x: int.from_bytes(x[:4], "big") == 6)]:
        b2 = bucket(s3)
        n2 = s3_stream(fh, b2, Prefix="plain/", CompressionFormat=fmt,
                       BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})
        fh.put_record(DeliveryStreamName=n2, Record={"Data": b"hello\n"})
        k = wait_for(lambda: objects(s3, b2), 10, f"the {fmt} object")[0]
        assert re.fullmatch(r"plain/\d{4}/\d\d/\d\d/\d\d/" + OBJECT_NAME.format(name=n2) + r"\.snappy", k), k
        assert check(body(s3, b2, k)), fmt


PY_TRANSFORM = """
import base64

def handler(event, context):
    out = []
    for r in event["records"]:
        data = base64.b64decode(r["data"]).decode()
        if data.startswith("drop"):
            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})
        elif data.startswith("fail"):
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
        else:
            up = (data.upper() + "|" + event["deliveryStreamArn"].split("/")[-1] + "\\n").encode()
            out.append({"recordId": r["recordId"], "result": "Ok", "data": base64.b64encode(up).decode()})
    return {"records": out}
"""


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, text in files.items():
            z.writestr(n, text)
    return buf.getvalue()


def test_lambda_transformation_drops_modifies_and_fails_records(gateway, fh, s3):
    lam = gateway.client("lambda")
    fn = f"fh-transform-{uid()}"
    arn = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                              Code={"ZipFile": make_zip({"app.py": PY_TRANSFORM})}, Timeout=10)["FunctionArn"]
    b = bucket(s3)
    name = s3_stream(fh, b, Prefix="ok/", ErrorOutputPrefix="bad/!{firehose:error-output-type}/",
                     BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                     ProcessingConfiguration={"Enabled": True, "Processors": [{
                         "Type": "Lambda",
                         "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": arn}]}]})
    records = [b"keep one", b"drop me", b"fail me", b"keep two"]
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in records])
    wait_for(lambda: objects(s3, b, "ok/") and objects(s3, b, "bad/"), 30, "transformed and failed objects")
    [ok] = objects(s3, b, "ok/")
    assert body(s3, b, ok) == f"KEEP ONE|{name}\nKEEP TWO|{name}\n".encode()
    [bad] = objects(s3, b, "bad/")
    assert bad.startswith("bad/processing-failed/"), bad
    lines = [json.loads(x) for x in body(s3, b, bad).splitlines()]
    assert len(lines) == 1
    assert base64.b64decode(lines[0]["rawData"]) == b"fail me"
    assert lines[0]["errorCode"] == "Lambda.ProcessingFailed"
    assert lines[0]["lambdaArn"] == arn


class Endpoint:
    """An HTTP endpoint destination: records each request; answers the
    first `failures` requests with 500."""

    def __init__(self, failures=0):
        self.requests = []
        self.failures = failures
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                outer.requests.append((dict(self.headers), raw))
                req = json.loads(raw)
                if len(outer.requests) <= outer.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                answer = json.dumps({"requestId": req["requestId"], "timestamp": int(time.time() * 1000)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_http_endpoint_receives_aws_request_shape_with_retries(fh, s3):
    ep = Endpoint(failures=1)
    try:
        b = bucket(s3)
        name = f"http-{uid()}"
        fh.create_delivery_stream(DeliveryStreamName=name, HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": ep.url, "Name": "local", "AccessKey": "secret-key"},
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "RequestConfiguration": {"CommonAttributes": [{"AttributeName": "env", "AttributeValue": "test"}]},
            "RetryOptions": {"DurationInSeconds": 60},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}"},
        })
        d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        hd = d["Destinations"][0]["HttpEndpointDestinationDescription"]
        assert hd["EndpointConfiguration"] == {"Url": ep.url, "Name": "local"}, "the access key is not described"
        assert hd["S3BackupMode"] == "FailedDataOnly"
        fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"one"}, {"Data": b"two"}])
        wait_for(lambda: len(ep.requests) >= 2, 15, "the retried request")
        headers, raw = ep.requests[-1]
        req = json.loads(raw)
        assert set(req) == {"requestId", "timestamp", "records"}
        assert [base64.b64decode(r["data"]) for r in req["records"]] == [b"one", b"two"]
        h = {k.lower(): v for k, v in headers.items()}
        assert h["x-amz-firehose-access-key"] == "secret-key"
        assert h["x-amz-firehose-request-id"] == req["requestId"]
        assert h["x-amz-firehose-source-arn"] == d["DeliveryStreamARN"]
        assert json.loads(h["x-amz-firehose-common-attributes"]) == {"commonAttributes": {"env": "test"}}
        assert h["content-type"] == "application/json"
        time.sleep(1.5)
        assert len(ep.requests) == 2, "a success is not sent again"
        assert objects(s3, b) == [], "nothing failed, nothing backed up"
    finally:
        ep.close()


def test_http_endpoint_out_of_retries_goes_to_s3(fh, s3):
    ep = Endpoint(failures=1000)
    try:
        b = bucket(s3)
        name = f"http-fail-{uid()}"
        fh.create_delivery_stream(DeliveryStreamName=name, HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": ep.url},
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "RetryOptions": {"DurationInSeconds": 2},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}"},
        })
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"lost?"})
        keys = wait_for(lambda: objects(s3, b), 20, "the failed data in S3")
        assert keys[0].startswith("http-endpoint-failed/"), keys
        line = json.loads(body(s3, b, keys[0]).splitlines()[0])
        assert base64.b64decode(line["rawData"]) == b"lost?"
        assert line["errorCode"].startswith("HttpEndpoint.")
        assert len(ep.requests) >= 2
    finally:
        ep.close()


def test_unreachable_destination_keeps_records_in_s3(fh, s3):
    b = bucket(s3)
    name = f"splunk-{uid()}"
    fh.create_delivery_stream(DeliveryStreamName=name, SplunkDestinationConfiguration={
        "HECEndpoint": "https://splunk.example", "HECEndpointType": "Raw", "HECToken": "t",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}",
                            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}},
    })
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert "HECToken" not in d["Destinations"][0]["SplunkDestinationDescription"]
    fh.put_record(DeliveryStreamName=name, Record={"Data": b"event"})
    keys = wait_for(lambda: objects(s3, b), 10, "the failed data")
    assert keys[0].startswith("splunk-failed/")
    line = json.loads(body(s3, b, keys[0]))
    assert line["errorCode"] == "Splunk.NotAvailableLocally"


def test_dynamic_partitioning_with_metadata_extraction(fh, s3):
    b = bucket(s3)
    name = s3_stream(fh, b, Prefix="customer=!{partitionKeyFromQuery:customer}/",
                     ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                     BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1},
                     DynamicPartitioningConfiguration={"Enabled": True},
                     ProcessingConfiguration={"Enabled": True, "Processors": [
                         {"Type": "MetadataExtraction", "Parameters": [
                             {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer: .customer.id}"},
                             {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                         {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
    recs = [{"customer": {"id": c}, "n": i} for i, c in enumerate(["a", "b", "a"])] + [{"other": 1}]
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": json.dumps(r).encode()} for r in recs])
    wait_for(lambda: len(objects(s3, b)) == 3, 10, "one object per partition and the error object")
    [a] = objects(s3, b, "customer=a/")
    assert [json.loads(x)["n"] for x in body(s3, b, a).splitlines()] == [0, 2]
    [bb] = objects(s3, b, "customer=b/")
    assert [json.loads(x)["n"] for x in body(s3, b, bb).splitlines()] == [1]
    [err] = objects(s3, b, "errors/")
    assert err.startswith("errors/partitioning-failed/")


def kinesis_loaded(gateway):
    try:
        gateway.client("kinesis").list_streams()
        return True
    except botocore.exceptions.ClientError:
        return False
    except Exception:
        return False


def test_kinesis_stream_as_source(gateway, fh, s3):
    if not kinesis_loaded(gateway):
        pytest.skip("no kinesis plugin is loaded on this branch (the Kinesis source is exercised once it is)")
    kin = gateway.client("kinesis")
    stream = f"src-{uid()}"
    kin.create_stream(StreamName=stream, ShardCount=2)
    wait_for(lambda: kin.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"]
             == "ACTIVE", 30, "the Kinesis stream")
    sarn = kin.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    b = bucket(s3)
    name = f"fromkin-{uid()}"
    fh.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
                              KinesisStreamSourceConfiguration={"KinesisStreamARN": sarn, "RoleARN": ROLE},
                              ExtendedS3DestinationConfiguration={
                                  "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}",
                                  "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 2}})
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == sarn
    e = error_of(fh.put_record, DeliveryStreamName=name, Record={"Data": b"x"})
    assert e["Code"] == "InvalidArgumentException"
    sent = [f"k{i}\n".encode() for i in range(20)]
    for i, data in enumerate(sent):
        kin.put_record(StreamName=stream, Data=data, PartitionKey="same")
    keys = wait_for(lambda: objects(s3, b), 20, "records read from Kinesis")
    time.sleep(3)
    got = b"".join(body(s3, b, k) for k in objects(s3, b))
    assert got == b"".join(sent)


def test_acknowledged_records_survive_kill_9(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    fh, s3 = g.client("firehose"), g.client("s3")
    b = bucket(s3)
    name = s3_stream(fh, b, CompressionFormat="GZIP", BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 3})
    sent = [f"durable-{i}\n".encode() for i in range(300)]
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in sent[:200]])
    for d in sent[200:]:
        fh.put_record(DeliveryStreamName=name, Record={"Data": d})
    g.kill()
    assert g.proc.returncode == -9
    g.start()
    fh, s3 = g.client("firehose"), g.client("s3")
    keys = wait_for(lambda: objects(s3, b), 15, "the buffered records after the restart")
    time.sleep(0.5)
    keys = objects(s3, b)
    assert len(keys) == 1
    assert gzip.decompress(body(s3, b, keys[0])) == b"".join(sent)


def test_creating_then_active(make_gateway):
    g = make_gateway(env={"FIREHOSE_CREATING_SECONDS": "1"})
    fh, s3 = g.client("firehose"), g.client("s3")
    name = s3_stream(fh, bucket(s3))
    status = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["DeliveryStreamStatus"]
    assert status == "CREATING"
    wait_for(lambda: fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
        "DeliveryStreamStatus"] == "ACTIVE", 5, "ACTIVE")


def test_s3_backup_mode_keeps_the_source_records(fh, s3):
    main, backup = bucket(s3), bucket(s3)
    name = s3_stream(fh, main, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                     ProcessingConfiguration={"Enabled": True, "Processors": [
                         {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
                     S3BackupMode="Enabled",
                     S3BackupConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{backup}",
                                            "Prefix": "source/", "CompressionFormat": "GZIP"})
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["S3BackupMode"] == "Enabled"
    assert ext["S3BackupDescription"]["BucketARN"] == f"arn:aws:s3:::{backup}"
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a"}, {"Data": b"b"}])
    wait_for(lambda: objects(s3, main) and objects(s3, backup), 10, "both objects")
    assert body(s3, main, objects(s3, main)[0]) == b"a\nb\n"
    [k] = objects(s3, backup)
    assert k.startswith("source/") and k.endswith(".gz")
    assert gzip.decompress(body(s3, backup, k)) == b"ab"


def test_throughput_quota_fails_records_one_by_one(make_gateway):
    g = make_gateway(env={"FIREHOSE_RECORDS_PER_SECOND": "10"})
    fh, s3 = g.client("firehose"), g.client("s3")  # max_attempts 1: no SDK retry
    b = bucket(s3)
    name = s3_stream(fh, b, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})
    while time.time() % 1 > 0.3:  # a whole second ahead
        time.sleep(0.05)
    out = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"%02d" % i} for i in range(15)])
    assert out["FailedPutCount"] == 5
    assert all("RecordId" in r for r in out["RequestResponses"][:10])
    assert [r.get("ErrorCode") for r in out["RequestResponses"][10:]] == ["ServiceUnavailableException"] * 5
    e = error_of(fh.put_record, DeliveryStreamName=name, Record={"Data": b"x"})
    assert e["Code"] == "ServiceUnavailableException"
    keys = wait_for(lambda: objects(s3, b), 10, "the accepted records")
    assert body(s3, b, keys[0]) == b"".join(b"%02d" % i for i in range(10))


PY_PARTITION = """
import base64, json

def handler(event, context):
    out = []
    for r in event["records"]:
        team = json.loads(base64.b64decode(r["data"]))["team"]
        out.append({"recordId": r["recordId"], "result": "Ok", "data": r["data"],
                    "metadata": {"partitionKeys": {"team": team}}})
    return {"records": out}
"""


def test_dynamic_partitioning_with_lambda_keys(gateway, fh, s3):
    lam = gateway.client("lambda")
    arn = lam.create_function(FunctionName=f"fh-part-{uid()}", Runtime="python3.12", Role=ROLE,
                              Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PY_PARTITION})},
                              Timeout=10)["FunctionArn"]
    b = bucket(s3)
    name = s3_stream(fh, b, Prefix="team=!{partitionKeyFromLambda:team}/",
                     ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                     BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1},
                     DynamicPartitioningConfiguration={"Enabled": True},
                     ProcessingConfiguration={"Enabled": True, "Processors": [{
                         "Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": arn}]}]})
    recs = [{"team": t, "n": i} for i, t in enumerate(["x", "y", "x"])]
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": json.dumps(r).encode()} for r in recs])
    wait_for(lambda: len(objects(s3, b)) == 2, 30, "one object per team")
    [x] = objects(s3, b, "team=x/")
    assert body(s3, b, x) == (json.dumps(recs[0]) + json.dumps(recs[2])).encode()
    assert len(objects(s3, b, "team=y/")) == 1


def test_s3_delivery_is_retried_until_the_bucket_exists(fh, s3):
    b = f"fh-late-{uid()}"
    name = s3_stream(fh, b, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})
    fh.put_record(DeliveryStreamName=name, Record={"Data": b"patient"})
    time.sleep(2.0)  # the first attempt failed: NoSuchBucket
    s3.create_bucket(Bucket=b)
    keys = wait_for(lambda: objects(s3, b), 15, "the retried delivery")
    assert body(s3, b, keys[0]) == b"patient"


def test_http_endpoint_gzip_content_encoding(fh, s3):
    ep = Endpoint()
    try:
        name = f"http-gz-{uid()}"
        fh.create_delivery_stream(DeliveryStreamName=name, HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": ep.url},
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "RequestConfiguration": {"ContentEncoding": "GZIP"},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket(s3)}"},
        })
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"zipped"})
        wait_for(lambda: ep.requests, 10, "the request")
        headers, raw = ep.requests[0]
        assert {k.lower(): v for k, v in headers.items()}["content-encoding"] == "gzip"
        assert base64.b64decode(json.loads(raw)["records"][0]["data"]) == b"zipped"
    finally:
        ep.close()


def test_cloudformation_types_delivery_stream_and_stream_consumer(gateway, fh, s3):
    """AWS::KinesisFirehose::DeliveryStream (properties handed to
    CreateDeliveryStream as the model shapes them: "2" becomes 2) and
    AWS::Kinesis::StreamConsumer, read back through the services' own APIs;
    an update changes the destination in place; delete removes both."""
    cf = gateway.client("cloudformation")
    kin = gateway.client("kinesis")
    b = bucket(s3)
    stack = f"fh-{uid()}"

    def template(prefix):
        return json.dumps({"Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1, "RetentionPeriodHours": 48}},
            "Consumer": {"Type": "AWS::Kinesis::StreamConsumer", "Properties": {
                "ConsumerName": "reader", "StreamARN": {"Fn::GetAtt": ["Stream", "Arn"]}}},
            "Delivery": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {
                "DeliveryStreamType": "DirectPut",
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{b}", "Prefix": prefix,
                    "BufferingHints": {"IntervalInSeconds": "2", "SizeInMBs": "1"},
                    "CompressionFormat": "GZIP"},
                "Tags": [{"Key": "team", "Value": "cfn"}]}},
        }, "Outputs": {
            "Delivery": {"Value": {"Ref": "Delivery"}},
            "DeliveryArn": {"Value": {"Fn::GetAtt": ["Delivery", "Arn"]}},
            "Consumer": {"Value": {"Ref": "Consumer"}},
            "ConsumerStatus": {"Value": {"Fn::GetAtt": ["Consumer", "ConsumerStatus"]}},
            "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}},
        }})

    def settle():
        deadline = time.time() + 30
        while (s := cf.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"].endswith("IN_PROGRESS"):
            assert time.time() < deadline, s["StackStatus"]
            time.sleep(0.1)
        return s

    cf.create_stack(StackName=stack, TemplateBody=template("first/"))
    s = settle()
    assert s["StackStatus"] == "CREATE_COMPLETE", cf.describe_stack_events(StackName=stack)["StackEvents"][:3]
    out = {o["OutputKey"]: o["OutputValue"] for o in s["Outputs"]}
    d = fh.describe_delivery_stream(DeliveryStreamName=out["Delivery"])["DeliveryStreamDescription"]
    assert d["DeliveryStreamARN"] == out["DeliveryArn"]
    dest = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert dest["BufferingHints"] == {"IntervalInSeconds": 2, "SizeInMBs": 1}
    assert (dest["Prefix"], dest["CompressionFormat"]) == ("first/", "GZIP")
    tags = fh.list_tags_for_delivery_stream(DeliveryStreamName=out["Delivery"])["Tags"]
    assert tags == [{"Key": "team", "Value": "cfn"}]
    consumer = kin.describe_stream_consumer(ConsumerARN=out["Consumer"])["ConsumerDescription"]
    assert (consumer["ConsumerName"], consumer["StreamARN"]) == ("reader", out["StreamArn"])
    assert out["ConsumerStatus"] == "ACTIVE"
    summary = kin.describe_stream_summary(StreamName=out["StreamArn"].split("/")[-1])["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 48
    # The stack's delivery stream delivers.
    fh.put_record(DeliveryStreamName=out["Delivery"], Record={"Data": b"hello\n"})
    keys = wait_for(lambda: objects(s3, b, "first/"), 20, "the first delivery")
    assert gzip.decompress(body(s3, b, keys[0])) == b"hello\n"

    # A new prefix updates the destination in place (same stream, same ARN).
    cf.update_stack(StackName=stack, TemplateBody=template("second/"))
    s = settle()
    assert s["StackStatus"] == "UPDATE_COMPLETE", cf.describe_stack_events(StackName=stack)["StackEvents"][:3]
    d = fh.describe_delivery_stream(DeliveryStreamName=out["Delivery"])["DeliveryStreamDescription"]
    assert d["DeliveryStreamARN"] == out["DeliveryArn"]
    assert d["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "second/"

    cf.delete_stack(StackName=stack)
    deadline = time.time() + 30
    while any(x["StackName"] == stack for x in cf.list_stacks(StackStatusFilter=["DELETE_IN_PROGRESS"])["StackSummaries"]):
        assert time.time() < deadline
        time.sleep(0.1)
    assert out["Delivery"] not in fh.list_delivery_streams()["DeliveryStreamNames"]
    e = error_of(kin.describe_stream_consumer, ConsumerARN=out["Consumer"])
    assert e["Code"] == "ResourceNotFoundException"


def test_delivery_errors_are_logged_to_cloudwatch_logs(gateway, fh, s3):
    """CloudWatchLoggingOptions: a failed delivery attempt (the bucket does
    not exist yet) is one JSON event in the configured group and stream,
    shaped as AWS writes it; the records are delivered once the bucket exists."""
    logs = gateway.client("logs")
    group = f"/aws/kinesisfirehose/{uid()}"
    logs.create_log_group(logGroupName=group)
    b = f"fh-log-{uid()}"
    name = s3_stream(fh, b, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                     CloudWatchLoggingOptions={"Enabled": True, "LogGroupName": group,
                                               "LogStreamName": "DestinationDelivery"})
    arn = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["DeliveryStreamARN"]
    fh.put_record(DeliveryStreamName=name, Record={"Data": b"late"})

    def logged():
        try:
            return logs.get_log_events(logGroupName=group, logStreamName="DestinationDelivery",
                                       startFromHead=True)["events"]
        except botocore.exceptions.ClientError:
            return []

    events = wait_for(logged, 15, "the error event")
    event = json.loads(events[0]["message"])
    assert event["deliveryStreamARN"] == arn
    assert event["destination"] == f"arn:aws:s3:::{b}"
    assert event["errorCode"] == "S3.NoSuchBucket"
    assert event["deliveryStreamVersionId"] == 1 and event["message"]
    s3.create_bucket(Bucket=b)
    keys = wait_for(lambda: objects(s3, b), 15, "the retried delivery")
    assert body(s3, b, keys[0]) == b"late"
