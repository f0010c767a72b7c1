"""EventBridge Pipes through the gateway with boto3 (rest-json): every
operation, the state transitions AWS reports, an SQS source through a
filter and a Lambda enrichment to an SNS target and to a Step Functions
target (and to SQS with an input
template), API destination enrichment and target, a Lambda target getting
the batch, a DynamoDB stream source with a filter, a pipe restarted by
kill -9 (PERSIST_STATE=1), a Kinesis source (when a kinesis plugin is
loaded), and AWS's errors."""

import io
import json
import time
import uuid
import zipfile

import botocore.exceptions
import pytest

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipes"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]


def queue(sqs, **attrs):
    url = sqs.create_queue(QueueName=f"q-{uid()}", Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs, url, want, timeout=15):
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def wait_state(pipes, name, state, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = pipes.describe_pipe(Name=name)
        if d["CurrentState"] == state:
            return d
        time.sleep(0.1)
    raise AssertionError(f"pipe {name} is {d['CurrentState']}, not {state}")


# Enrichment: receives the batch (a list), answers one enriched event per record.
ENRICH = """
import json

def handler(event, context):
    return [{"order": json.loads(r["body"]), "enriched": True, "id": r["messageId"]} for r in event]
"""


def make_zip(code):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", code)
    return buf.getvalue()


@pytest.fixture
def pipes(gateway):
    return gateway.client("pipes")


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def test_lifecycle_states_list_tags_and_errors(pipes, sqs):
    _, src = queue(sqs)
    _, dst = queue(sqs)
    name = f"p-{uid()}"
    out = pipes.create_pipe(Name=name, Source=src, Target=dst, RoleArn=ROLE, Description="d",
                            Tags={"team": "a"})
    assert out["Arn"] == f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/{name}"
    assert (out["CurrentState"], out["DesiredState"]) == ("CREATING", "RUNNING")
    d = wait_state(pipes, name, "RUNNING")
    assert d["Source"] == src and d["Target"] == dst and d["Description"] == "d" and d["Tags"] == {"team": "a"}
    assert error_of(pipes.create_pipe, Name=name, Source=src, Target=dst, RoleArn=ROLE)["Code"] == "ConflictException"

    out = pipes.stop_pipe(Name=name)
    assert (out["CurrentState"], out["DesiredState"]) == ("STOPPING", "STOPPED")
    assert error_of(pipes.start_pipe, Name=name)["Code"] == "ConflictException"  # still STOPPING
    wait_state(pipes, name, "STOPPED")
    out = pipes.start_pipe(Name=name)
    assert out["CurrentState"] == "STARTING"
    wait_state(pipes, name, "RUNNING")
    out = pipes.update_pipe(Name=name, RoleArn=ROLE, Description="new", DesiredState="STOPPED",
                            SourceParameters={"SqsQueueParameters": {"BatchSize": 5}})
    assert out["CurrentState"] == "UPDATING"
    d = wait_state(pipes, name, "STOPPED")
    assert d["Description"] == "new" and d["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 5

    listed = pipes.list_pipes(NamePrefix=name)["Pipes"]
    assert [p["Name"] for p in listed] == [name] and listed[0]["DesiredState"] == "STOPPED"
    assert pipes.list_pipes(NamePrefix=name, CurrentState="RUNNING")["Pipes"] == []
    assert [p["Name"] for p in pipes.list_pipes(SourcePrefix=src)["Pipes"]] == [name]
    others = [f"{name}-{i}" for i in range(3)]
    for o in others:
        pipes.create_pipe(Name=o, Source=src, Target=dst, RoleArn=ROLE, DesiredState="STOPPED")
    page = pipes.list_pipes(NamePrefix=name, Limit=2)
    assert len(page["Pipes"]) == 2 and page["NextToken"]
    rest = pipes.list_pipes(NamePrefix=name, Limit=2, NextToken=page["NextToken"])["Pipes"]
    assert sorted(p["Name"] for p in page["Pipes"] + rest) == sorted([name] + others)

    arn = d["Arn"]
    pipes.tag_resource(resourceArn=arn, tags={"env": "dev"})
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "a", "env": "dev"}
    pipes.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}
    missing = f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/nope"
    assert error_of(pipes.list_tags_for_resource, resourceArn=missing)["Code"] == "NotFoundException"

    out = pipes.delete_pipe(Name=name)
    assert (out["CurrentState"], out["DesiredState"]) == ("DELETING", "DELETED")
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            pipes.describe_pipe(Name=name)
            time.sleep(0.1)
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "NotFoundException"
            break
    else:
        raise AssertionError("the pipe was not deleted")
    for o in others:
        pipes.delete_pipe(Name=o)

    # AWS's errors.
    assert error_of(pipes.describe_pipe, Name="nope")["Code"] == "NotFoundException"
    assert error_of(pipes.stop_pipe, Name="nope")["Code"] == "NotFoundException"
    bad = error_of(pipes.create_pipe, Name=f"p-{uid()}", Source=src, Target=dst, RoleArn=ROLE,
                   SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": '{"body": {"n": [{"numeric": [">"]}]}}'}]}})
    assert bad["Code"] == "ValidationException" and "Event pattern is not valid" in bad["Message"]
    gone = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    assert error_of(pipes.create_pipe, Name=f"p-{uid()}", Source=gone, Target=dst, RoleArn=ROLE)["Code"] == "ValidationException"
    mq = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:b:b-1234"
    e = error_of(pipes.create_pipe, Name=f"p-{uid()}", Source=mq, Target=dst, RoleArn=ROLE)
    assert e["Code"] == "ValidationException" and "Amazon MQ" in e["Message"]
    ecs = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"
    assert error_of(pipes.create_pipe, Name=f"p-{uid()}", Source=src, Target=ecs, RoleArn=ROLE)["Code"] == "ValidationException"
    assert error_of(pipes.create_pipe, Name="bad name!", Source=src, Target=dst, RoleArn=ROLE)["Code"] == "ValidationException"


def test_sqs_through_a_filter_and_a_lambda_enrichment_to_sns(gateway, pipes, sqs):
    lam, sns = gateway.client("lambda"), gateway.client("sns")
    fn = f"enrich-{uid()}"
    fn_arn = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                 Code={"ZipFile": make_zip(ENRICH)}, Timeout=10)["FunctionArn"]
    src_url, src = queue(sqs)
    topic = sns.create_topic(Name=f"t-{uid()}")["TopicArn"]
    out_url, out_arn = queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=out_arn, Attributes={"RawMessageDelivery": "true"})
    name = f"p-{uid()}"
    pipes.create_pipe(
        Name=name, Source=src, Target=topic, RoleArn=ROLE, Enrichment=fn_arn,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 10},
                          "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"], "total": [{"numeric": [">", 10]}]}})}]}},
    )
    wait_state(pipes, name, "RUNNING")
    for body in [{"kind": "order", "total": 50}, {"kind": "order", "total": 5}, {"kind": "refund", "total": 99}, {"kind": "order", "total": 11}]:
        sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps(body))
    got = [json.loads(b) for b in drain(sqs, out_url, 2)]
    assert sorted(g["order"]["total"] for g in got) == [11, 50]
    assert all(g["enriched"] for g in got)
    assert drain(sqs, out_url, 1, timeout=2) == []
    # The source is emptied: filtered-out messages are dropped too.
    attrs = sqs.get_queue_attributes(QueueUrl=src_url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"

    # Stopped: nothing moves; started again: the waiting message goes.
    pipes.stop_pipe(Name=name)
    wait_state(pipes, name, "STOPPED")
    sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps({"kind": "order", "total": 77}))
    assert drain(sqs, out_url, 1, timeout=2) == []
    pipes.start_pipe(Name=name)
    (late,) = drain(sqs, out_url, 1)
    assert json.loads(late)["order"]["total"] == 77
    pipes.delete_pipe(Name=name)


def test_input_template_to_fifo_sqs_and_latency(pipes, sqs):
    src_url, src = queue(sqs)
    out_url, out_arn = queue(sqs)
    name = f"p-{uid()}"
    pipes.create_pipe(
        Name=name, Source=src, Target=out_arn, RoleArn=ROLE,
        TargetParameters={"InputTemplate": '{"id": <$.body.id>, "pipe": "<aws.pipes.pipe-name>", "msg": "<$.messageId>"}'},
    )
    wait_state(pipes, name, "RUNNING")
    time.sleep(0.3)
    lat = []
    for i in range(20):
        t = time.time()
        mid = sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps({"id": i}))["MessageId"]
        (body,) = drain(sqs, out_url, 1)
        lat.append(time.time() - t)
        assert json.loads(body) == {"id": i, "pipe": name, "msg": mid}
    lat.sort()
    print(f"pipe SQS -> SQS: p50 {lat[10] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    # Woken by the queue's topic, not a timer.
    assert lat[10] < 0.5
    pipes.delete_pipe(Name=name)


def test_dynamodb_stream_source_with_a_filter(gateway, pipes, sqs):
    ddb = gateway.client("dynamodb")
    table = f"t-{uid()}"
    stream = ddb.create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "before-latest"}})
    out_url, out_arn = queue(sqs)
    name = f"p-{uid()}"
    pipes.create_pipe(
        Name=name, Source=stream, Target=out_arn, RoleArn=ROLE,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10},
                          "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT", "REMOVE"]}'}]}},
    )
    wait_state(pipes, name, "RUNNING")
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # MODIFY: filtered out
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    got = [json.loads(b) for b in drain(sqs, out_url, 2)]
    assert [(g["eventName"], g["dynamodb"]["Keys"]["pk"]["S"]) for g in got] == [("INSERT", "a"), ("REMOVE", "a")]
    assert got[0]["eventSourceARN"] == stream
    assert drain(sqs, out_url, 1, timeout=2) == []
    pipes.delete_pipe(Name=name)


def test_a_pipe_keeps_moving_after_kill_9(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    pipes, sqs = g.client("pipes"), g.client("sqs")
    src_url, src = queue(sqs)
    out_url, out_arn = queue(sqs)
    name = f"p-{uid()}"
    pipes.create_pipe(Name=name, Source=src, Target=out_arn, RoleArn=ROLE)
    wait_state(pipes, name, "RUNNING")
    sqs.send_message(QueueUrl=src_url, MessageBody="before")
    assert drain(sqs, out_url, 1) and True
    g.kill()
    g.start()
    sqs = g.client("sqs")
    sqs.send_message(QueueUrl=src_url, MessageBody="after")
    (body,) = drain(sqs, out_url, 1, timeout=10)
    assert json.loads(body)["body"] == "after"


def test_kinesis_source(gateway, pipes, sqs):
    kinesis = gateway.client("kinesis")
    try:
        kinesis.list_streams()
    except botocore.exceptions.ClientError as e:
        pytest.skip(f"no kinesis plugin in this gateway ({e.response['Error']['Code']})")
    stream = f"s-{uid()}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    out_url, out_arn = queue(sqs)
    name = f"p-{uid()}"
    pipes.create_pipe(Name=name, Source=arn, Target=out_arn, RoleArn=ROLE,
                      SourceParameters={"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON"},
                                        "FilterCriteria": {"Filters": [{"Pattern": '{"data": {"keep": [true]}}'}]}})
    wait_state(pipes, name, "RUNNING")
    kinesis.put_record(StreamName=stream, Data=json.dumps({"keep": True, "n": 1}).encode(), PartitionKey="k")
    kinesis.put_record(StreamName=stream, Data=json.dumps({"keep": False, "n": 2}).encode(), PartitionKey="k")
    (body,) = drain(sqs, out_url, 1)
    rec = json.loads(body)
    assert rec["eventSource"] == "aws:kinesis" and rec["partitionKey"] == "k"
    assert drain(sqs, out_url, 1, timeout=2) == []
    pipes.delete_pipe(Name=name)


def test_api_destination_enrichment_and_target(gateway, pipes, sqs):
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            seen.append((self.path, dict(self.headers), body))
            out = json.dumps([{"from-enricher": r["messageId"]} for r in body] if self.path == "/enrich" else {}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        events = gateway.client("events")
        conn = events.create_connection(Name=f"c-{uid()}", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k3y"}})["ConnectionArn"]
        base = f"http://127.0.0.1:{server.server_port}"
        enrich = events.create_api_destination(Name=f"e-{uid()}", ConnectionArn=conn, HttpMethod="POST",
                                               InvocationEndpoint=base + "/enrich")["ApiDestinationArn"]
        target = events.create_api_destination(Name=f"t-{uid()}", ConnectionArn=conn, HttpMethod="POST",
                                               InvocationEndpoint=base + "/hook/*")["ApiDestinationArn"]
        src_url, src = queue(sqs)
        name = f"p-{uid()}"
        pipes.create_pipe(Name=name, Source=src, Enrichment=enrich, Target=target, RoleArn=ROLE,
                          TargetParameters={"HttpParameters": {"PathParameterValues": ["orders"],
                                                               "HeaderParameters": {"x-extra": "1"}}})
        wait_state(pipes, name, "RUNNING")
        mid = sqs.send_message(QueueUrl=src_url, MessageBody="hello")["MessageId"]
        deadline = time.time() + 10
        while len(seen) < 2 and time.time() < deadline:
            time.sleep(0.05)
        (p1, h1, b1), (p2, h2, b2) = seen[:2]
        assert p1 == "/enrich" and b1[0]["body"] == "hello" and h1["x-api-key"] == "k3y"
        assert p2 == "/hook/orders" and b2 == {"from-enricher": mid} and h2["x-extra"] == "1"
        pipes.delete_pipe(Name=name)
    finally:
        server.shutdown()


# A Lambda target: gets the batch as one array; reports it to a queue.
REPORT_BATCH = """
import json, os, boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["REPORT_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(sorted(r["body"] for r in event)))
    return {}
"""


def test_a_lambda_target_gets_the_batch(gateway, pipes, sqs):
    lam = gateway.client("lambda")
    report_url, _ = queue(sqs)
    fn_arn = lam.create_function(
        FunctionName=f"batch-{uid()}", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": make_zip(REPORT_BATCH)}, Timeout=10,
        Environment={"Variables": {"REPORT_QUEUE": report_url.rsplit("/", 1)[1]}})["FunctionArn"]
    src_url, src = queue(sqs)
    name = f"p-{uid()}"
    pipes.create_pipe(Name=name, Source=src, Target=fn_arn, RoleArn=ROLE, DesiredState="STOPPED",
                      SourceParameters={"SqsQueueParameters": {"BatchSize": 5}})
    wait_state(pipes, name, "STOPPED")
    sqs.send_message_batch(QueueUrl=src_url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)])
    pipes.start_pipe(Name=name)
    (body,) = drain(sqs, report_url, 1)
    assert json.loads(body) == [f"m{i}" for i in range(5)]
    pipes.delete_pipe(Name=name)


def test_sqs_through_a_filter_and_a_lambda_enrichment_to_step_functions(gateway, pipes, sqs):
    """The issue's pipe: SQS → filter → Lambda enrichment → a Step Functions
    target, whose state machine forwards what it got to an SQS queue."""
    lam, sfn = gateway.client("lambda"), gateway.client("stepfunctions")
    fn_arn = lam.create_function(FunctionName=f"enrich-{uid()}", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Code={"ZipFile": make_zip(ENRICH)}, Timeout=10)["FunctionArn"]
    src_url, src = queue(sqs)
    out_url, _ = queue(sqs)
    definition = {
        "StartAt": "Forward",
        "States": {"Forward": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": out_url, "MessageBody.$": "States.JsonToString($)"},
            "End": True,
        }},
    }
    machine = sfn.create_state_machine(name=f"m-{uid()}", definition=json.dumps(definition),
                                       roleArn=ROLE)["stateMachineArn"]
    name = f"p-{uid()}"
    pipes.create_pipe(
        Name=name, Source=src, Target=machine, RoleArn=ROLE, Enrichment=fn_arn,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 1},
                          "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]}},
        TargetParameters={"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
    )
    wait_state(pipes, name, "RUNNING")
    sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps({"kind": "refund", "total": 1}))
    sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps({"kind": "order", "total": 42}))
    got = [json.loads(b) for b in drain(sqs, out_url, 1, timeout=20)]
    assert len(got) == 1, got
    # The execution's input is the enrichment's output for the batch.
    events = got[0] if isinstance(got[0], list) else [got[0]]
    assert events[0]["order"] == {"kind": "order", "total": 42} and events[0]["enriched"] is True
    assert drain(sqs, out_url, 1, timeout=2) == []
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    pipes.delete_pipe(Name=name)


def test_a_pipe_from_a_cloudformation_template(gateway, pipes, sqs):
    """AWS::Pipes::Pipe (the pipes plugin's resource handler): created with
    its queues, moving messages, its attributes readable, gone with the stack."""
    cf = gateway.client("cloudformation")
    stack = f"pipes-{uid()}"
    template = {
        "Resources": {
            "Src": {"Type": "AWS::SQS::Queue"},
            "Dst": {"Type": "AWS::SQS::Queue"},
            "Pipe": {
                "Type": "AWS::Pipes::Pipe",
                "Properties": {
                    "RoleArn": ROLE,
                    "Source": {"Fn::GetAtt": ["Src", "Arn"]},
                    "Target": {"Fn::GetAtt": ["Dst", "Arn"]},
                    "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
                    "Tags": {"team": "pipes"},
                },
            },
        },
        "Outputs": {
            "PipeName": {"Value": {"Ref": "Pipe"}},
            "PipeArn": {"Value": {"Fn::GetAtt": ["Pipe", "Arn"]}},
            "SrcUrl": {"Value": {"Ref": "Src"}},
            "DstUrl": {"Value": {"Ref": "Dst"}},
        },
    }
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    deadline = time.time() + 20
    while (s := cf.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"].endswith("IN_PROGRESS"):
        assert time.time() < deadline
        time.sleep(0.1)
    assert s["StackStatus"] == "CREATE_COMPLETE", cf.describe_stack_events(StackName=stack)["StackEvents"][:3]
    out = {o["OutputKey"]: o["OutputValue"] for o in s["Outputs"]}
    described = pipes.describe_pipe(Name=out["PipeName"])
    assert described["Arn"] == out["PipeArn"]
    assert described["Tags"] == {"team": "pipes"}
    wait_state(pipes, out["PipeName"], "RUNNING")
    sqs.send_message(QueueUrl=out["SrcUrl"], MessageBody="through the template's pipe")
    (got,) = drain(sqs, out["DstUrl"], 1)
    assert json.loads(got)["body"] == "through the template's pipe"
    cf.delete_stack(StackName=stack)
    deadline = time.time() + 20
    while True:
        try:
            pipes.describe_pipe(Name=out["PipeName"])
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "NotFoundException"
            break
        assert time.time() < deadline, "the stack's delete left the pipe"
        time.sleep(0.2)
