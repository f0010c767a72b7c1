"""Lambda through the whole gateway with boto3 and the aws CLI, running real
python and node zips on the host's functions capability: the control
plane, invoke (sync, async with retries, destinations and the DLQ, DryRun,
log tails, errors), versions and weighted aliases, function URLs, SQS and
DynamoDB Streams event source mappings, and the callers (SNS, S3, Secrets
Manager rotation)."""

import base64
import collections
import io
import json
import time
import uuid
import zipfile

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"


def uid():
    return uuid.uuid4().hex[:10]


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return buf.getvalue()


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


PY_ECHO = """
import json, os

def handler(event, context):
    print("got", json.dumps(event))
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("boom")
    return {"echo": event, "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            "greeting": os.environ.get("GREETING")}
"""

NODE_ECHO = """
exports.handler = async (event, context) => {
  console.log("node got", JSON.stringify(event));
  return { node: process.version, event, fn: context.functionName };
};
"""

# Reports what it saw to the queue named in REPORT_QUEUE (through the
# gateway: AWS_ENDPOINT_URL is set by the host), then answers.
PY_REPORTER = """
import json, os, boto3

sqs = boto3.client("sqs")

def report(body, **kw):
    url = sqs.get_queue_url(QueueName=os.environ["REPORT_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), **kw)

def handler(event, context):
    mode = os.environ.get("MODE")
    if mode == "always-fail":
        report({"attempt": context.aws_request_id})
        raise RuntimeError("always failing")
    if mode == "sqs-partial":
        failures = []
        for r in event["Records"]:
            count = r["attributes"]["ApproximateReceiveCount"]
            report({"body": r["body"], "count": count})
            if r["body"].startswith("fail") and count == "1":
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}
    if mode == "ddb":
        seen = [[r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]] for r in event["Records"]]
        report(seen, MessageGroupId="g", MessageDeduplicationId=context.aws_request_id)
        return {}
    return {}
"""


@pytest.fixture
def lam(gateway):
    return gateway.client("lambda")


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def create(lam, name=None, code=PY_ECHO, runtime="python3.12", handler="app.handler", **kw):
    name = name or f"fn-{uid()}"
    filename = "app.js" if runtime.startswith("nodejs") else "app.py"
    out = lam.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
        Code={"ZipFile": make_zip({filename: code})}, Timeout=10, **kw,
    )
    return name, out


def invoke(lam, name, payload, **kw):
    out = lam.invoke(FunctionName=name, Payload=json.dumps(payload), **kw)
    out["Body"] = json.loads(out["Payload"].read() or b"null")
    return out


def queue(sqs, name=None, **attrs):
    name = name or f"q-{uid()}"
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs, url, want, timeout=15):
    """Receives until `want` messages arrived (or the time is up)."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"])
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


# ---- control plane ----


def test_create_get_list_update_delete(lam, gateway):
    zip_bytes = make_zip({"app.py": PY_ECHO})
    name = f"fn-{uid()}"
    out = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                              Code={"ZipFile": zip_bytes}, Environment={"Variables": {"GREETING": "hi"}},
                              Tags={"team": "a"})
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert out["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    assert out["CodeSha256"] == base64.b64encode(__import__("hashlib").sha256(zip_bytes).digest()).decode()
    assert out["CodeSize"] == len(zip_bytes)
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Tags"] == {"team": "a"}
    # The code location downloads the zip through the gateway, unsigned.
    location = got["Code"]["Location"]
    assert "/_ministack/lambda-code/" in location
    r = requests.get(gateway.url + "/" + location.split("/", 3)[3], timeout=10)
    assert r.status_code == 200 and r.content == zip_bytes
    # Waiters work (terraform and the CLI use them).
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert name in names
    up = lam.update_function_configuration(FunctionName=name, MemorySize=256, Timeout=5,
                                           Environment={"Variables": {"GREETING": "yo"}})
    assert up["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    conf = lam.get_function_configuration(FunctionName=name)
    assert (conf["MemorySize"], conf["Timeout"], conf["Environment"]["Variables"]) == (256, 5, {"GREETING": "yo"})
    new_zip = make_zip({"app.py": PY_ECHO + "\n# v2\n"})
    up = lam.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert up["CodeSize"] == len(new_zip) and up["CodeSha256"] != out["CodeSha256"]
    assert invoke(lam, name, {"a": 1})["Body"]["greeting"] == "yo"
    # Stale revision ids are refused.
    e = error_of(lam.update_function_configuration, FunctionName=name, Description="x", RevisionId="stale")
    assert e["Error"]["Code"] == "PreconditionFailedException"
    # aws CLI
    cli = json.loads(gateway.aws("lambda", "get-function-configuration", "--function-name", name).stdout)
    assert cli["FunctionName"] == name and cli["MemorySize"] == 256
    e = error_of(lam.create_function, FunctionName=name, Runtime="python3.12", Role=ROLE,
                 Handler="app.handler", Code={"ZipFile": zip_bytes})
    assert e["Error"]["Code"] == "ResourceConflictException"
    lam.delete_function(FunctionName=name)
    e = error_of(lam.get_function, FunctionName=name)
    assert e["Error"]["Code"] == "ResourceNotFoundException"
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_errors_are_aws_shaped(lam):
    e = error_of(lam.invoke, FunctionName="nope-" + uid())
    assert e["Error"]["Code"] == "ResourceNotFoundException"
    assert e["Error"]["Message"].startswith(f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope-")
    name, _ = create(lam)
    e = error_of(lam.invoke, FunctionName=name, Qualifier="7")
    assert e["Error"]["Code"] == "ResourceNotFoundException"
    assert e["Error"]["Message"].endswith(f"function:{name}:7")
    e = error_of(lam.invoke, FunctionName=name, Qualifier="no-such-alias")
    assert e["Error"]["Code"] == "ResourceNotFoundException"
    e = error_of(lam.create_function, FunctionName=f"bad-{uid()}", Runtime="python3.12", Role=ROLE,
                 Handler="app.handler", Code={"ZipFile": b"this is not a zip"})
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    e = error_of(lam.invoke, FunctionName=name, Payload=b"x" * (6 * 1024 * 1024 + 1))
    assert e["Error"]["Code"] == "RequestTooLargeException"
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 413
    e = error_of(lam.invoke, FunctionName=name, InvocationType="Event", Payload=json.dumps({"x": "y" * 262144}))
    assert e["Error"]["Code"] == "RequestTooLargeException"
    e = error_of(lam.invoke, FunctionName=name, Payload=b"{not json")
    assert e["Error"]["Code"] == "InvalidRequestContentException"
    e = error_of(lam.create_function, FunctionName=f"x-{uid()}", Role=ROLE, Code={"ZipFile": make_zip({"a": "b"})})
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    # Operations for what cannot exist locally answer AWS errors, not 501.
    e = error_of(lam.get_durable_execution, DurableExecutionArn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}/durable-execution/x/y")
    assert e["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.list_capacity_providers()["CapacityProviders"] == []


# ---- invoke ----


def test_invoke_python_and_node(lam, gateway, tmp_path):
    name, _ = create(lam)
    # aws CLI: the response payload lands in the file, the metadata on stdout.
    meta = json.loads(gateway.aws("lambda", "invoke", "--function-name", name, "--payload", '{"cli": 1}',
                                  str(tmp_path / "out.json")).stdout)
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert json.loads((tmp_path / "out.json").read_text())["echo"] == {"cli": 1}
    out = invoke(lam, name, {"n": 1}, LogType="Tail")
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert out["Body"]["echo"] == {"n": 1}
    log = base64.b64decode(out["LogResult"]).decode()
    assert 'got {"n": 1}' in log and "REPORT RequestId" in log
    bad = invoke(lam, name, {"fail": True})
    assert bad["FunctionError"] == "Unhandled"
    assert bad["Body"]["errorMessage"] == "boom" and bad["Body"]["errorType"] == "ValueError"
    dry = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    node, _ = create(lam, code=NODE_ECHO, runtime="nodejs20.x")
    out = invoke(lam, node, {"k": "v"})
    assert out["Body"]["event"] == {"k": "v"} and out["Body"]["fn"] == node
    # Streamed invoke: one payload chunk, then the completion event.
    stream = lam.invoke_with_response_stream(FunctionName=node, Payload=json.dumps({"s": 1}))
    events = list(stream["EventStream"])
    payload = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
    assert json.loads(payload)["event"] == {"s": 1}
    assert "InvokeComplete" in events[-1]


def test_versions_and_weighted_alias(lam):
    name, _ = create(lam, Environment={"Variables": {"GREETING": "one"}})
    v1 = lam.publish_version(FunctionName=name)["Version"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "two"}})
    v2 = lam.publish_version(FunctionName=name, Description="second")["Version"]
    assert (v1, v2) == ("1", "2")
    # Nothing changed since: the same version comes back.
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    assert invoke(lam, name, {}, Qualifier="1")["Body"]["greeting"] == "one"
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert alias["AliasArn"].endswith(f":{name}:live")
    e = error_of(lam.create_alias, FunctionName=name, Name="live", FunctionVersion="1")
    assert e["Error"]["Code"] == "ResourceConflictException"
    counts = collections.Counter()
    for _ in range(200):
        out = lam.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")
        counts[out["ExecutedVersion"]] += 1
    assert set(counts) == {"1", "2"}
    assert 70 <= counts["2"] <= 130, counts
    e = error_of(lam.delete_function, FunctionName=name, Qualifier="2")
    assert e["Error"]["Code"] == "ResourceConflictException"
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {}})
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    assert invoke(lam, name, {}, Qualifier="live")["ExecutedVersion"] == "2"
    lam.delete_function(FunctionName=name, Qualifier="1")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"]


def test_async_invoke_reaches_the_success_destination(lam, sqs):
    name, _ = create(lam)
    url, arn = queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"hello": "async"}))
    assert out["StatusCode"] == 202
    [msg] = drain(sqs, url, 1)
    record = json.loads(msg["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"].endswith(f"function:{name}:$LATEST")
    assert record["requestPayload"] == {"hello": "async"}
    assert record["responsePayload"]["echo"] == {"hello": "async"}
    assert record["responseContext"]["statusCode"] == 200
    # The deprecated InvokeAsync queues an event the same way.
    assert lam.invoke_async(FunctionName=name, InvokeArgs=b'{"old": "api"}')["Status"] == 202
    [msg] = drain(sqs, url, 1)
    assert json.loads(msg["Body"])["requestPayload"] == {"old": "api"}


def test_failing_async_invoke_is_retried_twice_then_dead_lettered(lam, sqs, gateway):
    requests.post(gateway.url + "/_ministack/config", json={"lambda.LAMBDA_ASYNC_RETRY_DELAYS": "0.2,0.3"}, timeout=5)
    try:
        report_url, _ = queue(sqs)
        report_name = report_url.rsplit("/", 1)[1]
        dlq_url, dlq_arn = queue(sqs)
        name, _ = create(lam, code=PY_REPORTER, Environment={"Variables": {"MODE": "always-fail", "REPORT_QUEUE": report_name}},
                         DeadLetterConfig={"TargetArn": dlq_arn})
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"order": 7}))
        [dead] = drain(sqs, dlq_url, 1)
        assert json.loads(dead["Body"]) == {"order": 7}
        assert dead["MessageAttributes"]["ErrorMessage"]["StringValue"] == "always failing"
        assert "RequestID" in dead["MessageAttributes"]
        attempts = drain(sqs, report_url, 3, timeout=5)
        assert len(attempts) == 3
        # One request id across the retries, as AWS keeps it.
        assert len({json.loads(a["Body"])["attempt"] for a in attempts}) == 1
        # With an OnFailure destination and no retries, the record says so.
        fail_url, fail_arn = queue(sqs)
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                             DestinationConfig={"OnFailure": {"Destination": fail_arn}})
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"order": 8}))
        [rec] = drain(sqs, fail_url, 1)
        rec = json.loads(rec["Body"])
        assert rec["requestContext"]["condition"] == "RetriesExhausted"
        assert rec["requestContext"]["approximateInvokeCount"] == 1
        assert rec["responseContext"]["functionError"] == "Unhandled"
        assert rec["responsePayload"]["errorMessage"] == "always failing"
    finally:
        requests.post(gateway.url + "/_ministack/config", json={"lambda.LAMBDA_ASYNC_RETRY_DELAYS": "60,120"}, timeout=5)


# ---- configuration beside the function ----


def test_permissions_tags_concurrency_and_settings(lam):
    name, out = create(lam)
    arn = out["FunctionArn"]
    st = json.loads(lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                                       Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket")["Statement"])
    assert st["Principal"] == {"Service": "s3.amazonaws.com"}
    assert st["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::bucket"
    e = error_of(lam.add_permission, FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                 Principal="s3.amazonaws.com")
    assert e["Error"]["Code"] == "ResourceConflictException"
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3"]
    lam.remove_permission(FunctionName=name, StatementId="s3")
    assert error_of(lam.get_policy, FunctionName=name)["Error"]["Code"] == "ResourceNotFoundException"
    lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=name)["Concurrency"]["ReservedConcurrentExecutions"] == 5
    e = error_of(lam.put_function_concurrency, FunctionName=name, ReservedConcurrentExecutions=950)
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    e = error_of(lam.invoke, FunctionName=name, Payload=b"{}")
    assert e["Error"]["Code"] == "TooManyRequestsException"
    lam.delete_function_concurrency(FunctionName=name)
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] >= 1
    v = lam.publish_version(FunctionName=name)["Version"]
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=v, ProvisionedConcurrentExecutions=2)
    assert lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=v)["Status"] == "READY"
    e = error_of(lam.put_provisioned_concurrency_config, FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    eic = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120)
    assert eic["MaximumRetryAttempts"] == 1
    eic = lam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert (eic["MaximumRetryAttempts"], eic["MaximumEventAgeInSeconds"]) == (0, 120)
    assert len(lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]) == 1
    csc = lam.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [
        f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/p/abcdefghij"]})["CodeSigningConfig"]
    lam.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=csc["CodeSigningConfigArn"])
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=csc["CodeSigningConfigArn"])["FunctionArns"] == [arn]
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Auto"
    assert lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"


def test_layers(lam):
    layer = f"layer-{uid()}"
    helper = "def shout(s):\n    return s.upper() + '!'\n"
    v1 = lam.publish_layer_version(LayerName=layer, Content={"ZipFile": make_zip({"python/helper.py": helper})},
                                   CompatibleRuntimes=["python3.12"])
    assert v1["Version"] == 1 and v1["LayerVersionArn"].endswith(f":layer:{layer}:1")
    code = "import helper\n\ndef handler(event, context):\n    return helper.shout(event['s'])\n"
    name, out = create(lam, code=code, Layers=[v1["LayerVersionArn"]])
    assert out["Layers"][0]["Arn"] == v1["LayerVersionArn"]
    assert invoke(lam, name, {"s": "hey"})["Body"] == "HEY!"
    lam.add_layer_version_permission(LayerName=layer, VersionNumber=1, StatementId="all",
                                     Action="lambda:GetLayerVersion", Principal="*")
    assert json.loads(lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)["Policy"])["Statement"][0]["Sid"] == "all"
    assert layer in [l["LayerName"] for l in lam.list_layers()["Layers"]]
    assert lam.get_layer_version_by_arn(Arn=v1["LayerVersionArn"])["Version"] == 1
    lam.delete_layer_version(LayerName=layer, VersionNumber=1)
    assert error_of(lam.get_layer_version, LayerName=layer, VersionNumber=1)["Error"]["Code"] == "ResourceNotFoundException"
    e = error_of(lam.create_function, FunctionName=f"x-{uid()}", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                 Code={"ZipFile": make_zip({"app.py": code})}, Layers=[v1["LayerVersionArn"]])
    assert e["Error"]["Code"] == "InvalidParameterValueException"


# ---- function URLs ----

URL_CODE = """
import json

def handler(event, context):
    return {"statusCode": 201, "headers": {"x-seen": event["rawPath"]}, "cookies": ["c=1"],
            "body": json.dumps({"path": event["rawPath"], "q": event.get("queryStringParameters"),
                                "method": event["requestContext"]["http"]["method"], "body": event.get("body"),
                                "version": event["version"]})}
"""


def test_function_urls(lam, gateway):
    name, _ = create(lam, code=URL_CODE)
    cfg = lam.create_function_url_config(FunctionName=name, AuthType="NONE",
                                         Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"]})
    url_id = cfg["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    assert ".lambda-url.us-east-1.localhost" in cfg["FunctionUrl"]
    r = requests.post(f"{gateway.url}/_aws/lambda-url/{url_id}/a/b?x=1", data="hello", timeout=10)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {"path": "/a/b", "q": {"x": "1"}, "method": "POST", "body": "hello", "version": "2.0"}
    assert r.headers["x-seen"] == "/a/b" and "c=1" in r.headers.get("set-cookie", "")
    # The same URL by host name.
    r = requests.get(f"{gateway.url}/p", headers={"Host": f"{url_id}.lambda-url.us-east-1.localhost:{gateway.port}",
                                                  "Origin": "https://app.example"}, timeout=10)
    assert r.status_code == 201 and r.json()["path"] == "/p"
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    pre = requests.options(f"{gateway.url}/_aws/lambda-url/{url_id}/", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, timeout=10)
    assert pre.status_code == 200 and "POST" in pre.headers["access-control-allow-methods"]
    # A plain JSON answer is the body of a 200.
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return {'plain': True}\n"}))
    r = requests.get(f"{gateway.url}/_aws/lambda-url/{url_id}/", timeout=10)
    assert r.status_code == 200 and r.json() == {"plain": True}
    lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert requests.get(f"{gateway.url}/_aws/lambda-url/{url_id}/", timeout=10).status_code == 403
    assert [c["AuthType"] for c in lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]] == ["AWS_IAM"]
    lam.delete_function_url_config(FunctionName=name)
    assert requests.get(f"{gateway.url}/_aws/lambda-url/{url_id}/", timeout=10).status_code == 404


# ---- event source mappings ----


def test_sqs_mapping_redelivers_only_failed_items(lam, sqs):
    report_url, _ = queue(sqs)
    src_url, src_arn = queue(sqs, VisibilityTimeout=1)
    name, _ = create(lam, code=PY_REPORTER, Environment={"Variables": {"MODE": "sqs-partial", "REPORT_QUEUE": report_url.rsplit("/", 1)[1]}})
    m = lam.create_event_source_mapping(EventSourceArn=src_arn, FunctionName=name, BatchSize=10,
                                        FunctionResponseTypes=["ReportBatchItemFailures"])
    assert m["State"] == "Creating" and m["BatchSize"] == 10
    e = error_of(lam.create_event_source_mapping, EventSourceArn=src_arn, FunctionName=name)
    assert e["Error"]["Code"] == "ResourceConflictException"
    sqs.send_message_batch(QueueUrl=src_url, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "fail-1", "ok-2", "fail-2"])])
    reports = [json.loads(m["Body"]) for m in drain(sqs, report_url, 6, timeout=20)]
    seen = collections.Counter((r["body"], r["count"]) for r in reports)
    assert seen == {("ok-1", "1"): 1, ("ok-2", "1"): 1, ("fail-1", "1"): 1, ("fail-2", "1"): 1,
                    ("fail-1", "2"): 1, ("fail-2", "2"): 1}, seen
    assert drain(sqs, report_url, 1, timeout=2) == []
    got = lam.get_event_source_mapping(UUID=m["UUID"])
    assert got["State"] == "Enabled" and got["LastProcessingResult"] == "OK"
    lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False)
    assert lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Disabled"
    lam.delete_event_source_mapping(UUID=m["UUID"])
    assert error_of(lam.get_event_source_mapping, UUID=m["UUID"])["Error"]["Code"] == "ResourceNotFoundException"


def test_dynamodb_stream_mapping_sees_changes_in_order(lam, sqs, gateway):
    ddb = gateway.client("dynamodb")
    table = f"t-{uid()}"
    desc = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    stream_arn = desc["TableDescription"]["LatestStreamArn"]
    report_url, _ = queue(sqs, name=f"r-{uid()}.fifo", FifoQueue="true")
    name, _ = create(lam, code=PY_REPORTER, Environment={"Variables": {"MODE": "ddb", "REPORT_QUEUE": report_url.rsplit("/", 1)[1]}})
    e = error_of(lam.create_event_source_mapping, EventSourceArn=stream_arn, FunctionName=name)
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    m = lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                        BatchSize=10, MaximumRetryAttempts=2)
    assert m["StartingPosition"] == "TRIM_HORIZON"
    for key in ["a", "b"]:
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})
        ddb.update_item(TableName=table, Key={"pk": {"S": key}}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})
        ddb.delete_item(TableName=table, Key={"pk": {"S": key}})
    events = []
    deadline = time.time() + 20
    while len(events) < 6 and time.time() < deadline:
        for msg in drain(sqs, report_url, 1, timeout=2):
            events.extend(json.loads(msg["Body"]))
    per_key = collections.defaultdict(list)
    for name_, key in events:
        per_key[key].append(name_)
    assert per_key == {"a": ["INSERT", "MODIFY", "REMOVE"], "b": ["INSERT", "MODIFY", "REMOVE"]}, events
    lam.delete_event_source_mapping(UUID=m["UUID"])


# ---- callers ----


def test_sns_and_s3_invoke_functions(lam, sqs, gateway):
    sns = gateway.client("sns")
    s3 = gateway.client("s3")
    name, out = create(lam)
    url, arn = queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    topic = sns.create_topic(Name=f"t-{uid()}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=out["FunctionArn"])
    sns.publish(TopicArn=topic, Message="from sns", Subject="s")
    [rec] = drain(sqs, url, 1)
    event = json.loads(rec["Body"])["requestPayload"]
    assert event["Records"][0]["EventSource"] == "aws:sns"
    assert event["Records"][0]["Sns"]["Message"] == "from sns"
    bucket = f"b-{uid()}"
    s3.create_bucket(Bucket=bucket)
    lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                       SourceArn=f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": out["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="k/1.txt", Body=b"x")
    [rec] = drain(sqs, url, 1)
    event = json.loads(rec["Body"])["requestPayload"]
    assert event["Records"][0]["eventSource"] == "aws:s3"
    assert event["Records"][0]["s3"]["object"]["key"] == "k/1.txt"


ROTATION = """
import boto3

sm = boto3.client("secretsmanager")

def handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step == "createSecret":
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="rotated",
                            VersionStages=["AWSPENDING"])
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                       MoveToVersionId=token, RemoveFromVersionId=current)
"""


def test_secrets_manager_rotation_runs_the_four_steps(lam, gateway):
    sm = gateway.client("secretsmanager")
    name, out = create(lam, code=ROTATION)
    secret = sm.create_secret(Name=f"s-{uid()}", SecretString="original")["ARN"]
    sm.rotate_secret(SecretId=secret, RotationLambdaARN=out["FunctionArn"], RotationRules={"AutomaticallyAfterDays": 30})
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "rotated"
    assert sm.get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")["SecretString"] == "original"


def test_restart_during_an_active_mapping_loses_no_record(make_gateway):
    gw = make_gateway(env={"PERSIST_STATE": "1", "S3_PERSIST": "1"})
    lam, sqs = gw.client("lambda"), gw.client("sqs")
    report_url, _ = queue(sqs)
    src_url, src_arn = queue(sqs, VisibilityTimeout=2)
    name, _ = create(lam, code=PY_REPORTER, Environment={"Variables": {"MODE": "sqs-partial", "REPORT_QUEUE": report_url.rsplit("/", 1)[1]}})
    m = lam.create_event_source_mapping(EventSourceArn=src_arn, FunctionName=name, BatchSize=10)
    sqs.send_message_batch(QueueUrl=src_url, Entries=[{"Id": str(i), "MessageBody": f"ok-before-{i}"} for i in range(5)])
    gw.restart()
    sqs.send_message_batch(QueueUrl=src_url, Entries=[{"Id": str(i), "MessageBody": f"ok-after-{i}"} for i in range(5)])
    bodies = set()
    deadline = time.time() + 45
    while len(bodies) < 10 and time.time() < deadline:
        # The boot hook restarted the poller (docs/services/lambda.md).
        assert lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Enabled"
        bodies |= {json.loads(x["Body"])["body"] for x in drain(sqs, report_url, 10, timeout=1)}
    assert bodies == {f"ok-{when}-{i}" for when in ("before", "after") for i in range(5)}


def test_kinesis_mapping_is_accepted_and_says_the_source_is_missing(lam):
    name, _ = create(lam)
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s-{uid()}"
    e = error_of(lam.create_event_source_mapping, EventSourceArn=arn, FunctionName=name)
    assert e["Error"]["Code"] == "InvalidParameterValueException"
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST",
                                        BatchSize=50, BisectBatchOnFunctionError=True, MaximumRetryAttempts=3)
    got = lam.get_event_source_mapping(UUID=m["UUID"])
    assert (got["BatchSize"], got["BisectBatchOnFunctionError"], got["MaximumRetryAttempts"]) == (50, True, 3)
    assert "Kinesis is not available" in got["LastProcessingResult"]
    assert [x["UUID"] for x in lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]] == [m["UUID"]]
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_mapping_of_a_deleted_function_reports_it(lam, sqs):
    name, _ = create(lam)
    url, arn = queue(sqs)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    lam.delete_function(FunctionName=name)
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    deadline = time.time() + 10
    while time.time() < deadline:
        if lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "PROBLEM: Function not found.":
            break
        time.sleep(0.2)
    assert lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "PROBLEM: Function not found."
    # The message was left in the queue.
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"] == "kept"
    lam.delete_event_source_mapping(UUID=m["UUID"])
