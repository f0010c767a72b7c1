"""CloudWatch Logs end to end (boto3 + the aws CLI): groups and streams,
PutLogEvents rules, GetLogEvents tokens, every filter pattern form, metric
filters, a subscription filter delivering to Lambda, Logs Insights, and a
Lambda's own log lines landing in /aws/lambda/<name>."""

import base64
import gzip
import io
import json
import time
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def uid():
    return uuid.uuid4().hex[:8]


def now_ms():
    return int(time.time() * 1000)


def code_of(call, *a, **kw):
    with pytest.raises(ClientError) as e:
        call(*a, **kw)
    return e.value.response["Error"]["Code"]


@pytest.fixture
def logs(gateway):
    return gateway.client("logs")


def group_with_stream(logs, stream="s1"):
    g = f"/test/{uid()}"
    logs.create_log_group(logGroupName=g, tags={"team": "a"})
    logs.create_log_stream(logGroupName=g, logStreamName=stream)
    return g


def put(logs, g, stream, messages, ts=None):
    ts = ts or now_ms()
    events = [{"timestamp": ts + i, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=g, logStreamName=stream, logEvents=events)


def test_groups_streams_and_put_rules(logs):
    g = group_with_stream(logs)
    assert code_of(logs.create_log_group, logGroupName=g) == "ResourceAlreadyExistsException"
    assert code_of(logs.create_log_stream, logGroupName=g, logStreamName="s1") == "ResourceAlreadyExistsException"
    assert code_of(logs.describe_log_streams, logGroupName="/nope") == "ResourceNotFoundException"
    for i in range(3):
        logs.create_log_stream(logGroupName=g, logStreamName=f"p-{i}")
    page1 = logs.describe_log_streams(logGroupName=g, logStreamNamePrefix="p-", limit=2)
    page2 = logs.describe_log_streams(logGroupName=g, logStreamNamePrefix="p-", nextToken=page1["nextToken"])
    names = [s["logStreamName"] for s in page1["logStreams"] + page2["logStreams"]]
    assert names == ["p-0", "p-1", "p-2"]
    groups = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"]
    assert groups[0]["logGroupName"] == g and groups[0]["arn"].endswith(f"log-group:{g}:*")

    # Ordering and rejected events.
    t = now_ms()
    assert code_of(logs.put_log_events, logGroupName=g, logStreamName="s1",
                   logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 5, "message": "a"}]) == "InvalidParameterException"
    assert code_of(logs.put_log_events, logGroupName=g, logStreamName="s1",
                   logEvents=[{"timestamp": t - 2 * 86400000, "message": "a"}, {"timestamp": t, "message": "b"}]) == "InvalidParameterException"
    out = logs.put_log_events(logGroupName=g, logStreamName="s1",
                              logEvents=[{"timestamp": t - 20 * 86400000, "message": "too old"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    out = logs.put_log_events(logGroupName=g, logStreamName="s1", logEvents=[
        {"timestamp": t, "message": "ok"},
        {"timestamp": t + 3 * 3600000, "message": "too new"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    ev = logs.get_log_events(logGroupName=g, logStreamName="s1")["events"]
    assert [e["message"] for e in ev] == ["ok"]

    # Retention, tags, KMS association recorded.
    logs.put_retention_policy(logGroupName=g, retentionInDays=7)
    logs.associate_kms_key(logGroupName=g, kmsKeyId="arn:aws:kms:us-east-1:000000000000:key/abc")
    info = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]
    assert info["retentionInDays"] == 7 and info["kmsKeyId"].endswith("key/abc")
    assert code_of(logs.put_retention_policy, logGroupName=g, retentionInDays=8) == "InvalidParameterException"
    out = put(logs, g, "s1", ["expired"], ts=now_ms() - 10 * 86400000)
    assert out["rejectedLogEventsInfo"]["expiredLogEventEndIndex"] == 0
    arn = info["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"env": "dev"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "a", "env": "dev"}
    logs.untag_log_group(logGroupName=g, tags=["team"])
    assert logs.list_tags_log_group(logGroupName=g)["tags"] == {"env": "dev"}

    logs.delete_log_stream(logGroupName=g, logStreamName="s1")
    logs.delete_log_group(logGroupName=g)
    assert code_of(logs.get_log_events, logGroupName=g, logStreamName="s1") == "ResourceNotFoundException"


def test_get_log_events_tokens(logs, gateway):
    g = group_with_stream(logs)
    put(logs, g, "s1", [f"m{i}" for i in range(25)])
    first = logs.get_log_events(logGroupName=g, logStreamName="s1", startFromHead=True, limit=10)
    assert [e["message"] for e in first["events"]] == [f"m{i}" for i in range(10)]
    nxt = logs.get_log_events(logGroupName=g, logStreamName="s1", nextToken=first["nextForwardToken"], limit=10)
    assert [e["message"] for e in nxt["events"]] == [f"m{i}" for i in range(10, 20)]
    back = logs.get_log_events(logGroupName=g, logStreamName="s1", nextToken=nxt["nextBackwardToken"], limit=5)
    assert [e["message"] for e in back["events"]] == [f"m{i}" for i in range(5, 10)]
    tail = logs.get_log_events(logGroupName=g, logStreamName="s1", limit=3)
    assert [e["message"] for e in tail["events"]] == ["m22", "m23", "m24"]
    end = logs.get_log_events(logGroupName=g, logStreamName="s1", nextToken=tail["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == tail["nextForwardToken"]
    # Reading forward until the token repeats (how SDKs and the CLI stop).
    got, token = [], None
    for _ in range(10):
        kw = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=g, logStreamName="s1", limit=10, **kw)
        got += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert got == [f"m{i}" for i in range(25)]
    out = gateway.aws("logs", "get-log-events", "--log-group-name", g, "--log-stream-name", "s1", "--start-from-head")
    assert len(json.loads(out.stdout)["events"]) == 25


ACCESS = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '10.0.0.2 - bob [10/Oct/2000:13:25:16 -0700] "POST /api HTTP/1.1" 200 99',
]
JSON_LINES = [
    json.dumps({"level": "ERROR", "latency": 250, "user": {"id": "u-1"}, "ok": False}),
    json.dumps({"level": "INFO", "latency": 20, "user": {"id": "u-2"}, "ok": True}),
]
TEXT = ["ERROR disk full on /dev/sda", "WARN cpu high", "INFO all good", "ERROR timeout calling db"]


@pytest.mark.parametrize("pattern,expected", [
    ("", TEXT + ACCESS + JSON_LINES),
    ("ERROR", ["ERROR disk full on /dev/sda", "ERROR timeout calling db", JSON_LINES[0]]),
    ("ERROR db", ["ERROR timeout calling db"]),
    ('"disk full"', ["ERROR disk full on /dev/sda"]),
    ("ERROR -timeout", ["ERROR disk full on /dev/sda", JSON_LINES[0]]),
    ("?WARN ?good", ["WARN cpu high", "INFO all good"]),
    ("%cpu|disk%", ["ERROR disk full on /dev/sda", "WARN cpu high"]),
    ('{ $.level = "ERROR" }', [JSON_LINES[0]]),
    ("{ $.latency > 100 || $.user.id = u-2 }", JSON_LINES),
    ('{ ($.latency < 100) && ($.level = "INF*") }', [JSON_LINES[1]]),
    ("{ $.ok IS TRUE }", [JSON_LINES[1]]),
    ("{ $.missing NOT EXISTS && $.latency >= 250 }", [JSON_LINES[0]]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]", [ACCESS[0]]),
    ('[ip, ..., request = "*api*", status, bytes]', [ACCESS[1]]),
    ("[..., status = 404 || status = 200, bytes < 100]", [ACCESS[1]]),
])
def test_filter_patterns(logs, pattern, expected):
    g = group_with_stream(logs)
    logs.create_log_stream(logGroupName=g, logStreamName="s2")
    put(logs, g, "s1", TEXT + ACCESS)
    put(logs, g, "s2", JSON_LINES)
    got = logs.filter_log_events(logGroupName=g, filterPattern=pattern)["events"]
    assert sorted(e["message"] for e in got) == sorted(expected)


def test_filter_pagination_and_bad_pattern(logs, gateway):
    g = group_with_stream(logs)
    put(logs, g, "s1", [f"line {i}" for i in range(30)])
    seen = []
    token = None
    while True:
        kw = {"nextToken": token} if token else {}
        out = logs.filter_log_events(logGroupName=g, limit=7, **kw)
        seen += [e["message"] for e in out["events"]]
        token = out.get("nextToken")
        if not token:
            break
    assert seen == [f"line {i}" for i in range(30)]
    assert code_of(logs.filter_log_events, logGroupName=g, filterPattern="{ $.x = ") == "InvalidParameterException"
    # The aws CLI.
    out = gateway.aws("logs", "filter-log-events", "--log-group-name", g, "--filter-pattern", '"line 2"')
    msgs = [e["message"] for e in json.loads(out.stdout)["events"]]
    assert msgs == ["line 2"] + [f"line {i}" for i in range(20, 30)]


def test_metric_filter_and_test_metric_filter(logs, gateway):
    g = group_with_stream(logs)
    logs.put_metric_filter(
        logGroupName=g, filterName="latency", filterPattern="{ $.latency > 0 }",
        metricTransformations=[{"metricName": "Latency", "metricNamespace": "App",
                                "metricValue": "$.latency", "unit": "Milliseconds"}])
    logs.put_metric_filter(
        logGroupName=g, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}])
    assert logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["metricFilterCount"] == 2
    mf = logs.describe_metric_filters(logGroupName=g, filterNamePrefix="lat")["metricFilters"]
    assert [f["filterName"] for f in mf] == ["latency"]
    tested = logs.test_metric_filter(filterPattern="[ip, user, ..., status = 404, bytes]", logEventMessages=ACCESS)
    assert tested["matches"][0]["eventNumber"] == 1
    assert tested["matches"][0]["extractedValues"]["$bytes"] == "1534"

    put(logs, g, "s1", JSON_LINES + ["ERROR x"])
    cw = gateway.client("cloudwatch")
    try:
        cw.list_metrics(Namespace="App")
    except ClientError as e:
        pytest.skip(f"no monitoring plugin in this bundle ({e.response['Error']['Code']}); the metric filter is stored and matched above")
    deadline = time.time() + 10
    names = set()
    while time.time() < deadline:
        names = {m["MetricName"] for m in cw.list_metrics(Namespace="App")["Metrics"]}
        if {"Latency", "Errors"} <= names:
            break
        time.sleep(0.2)
    assert {"Latency", "Errors"} <= names


PY_SUBSCRIBER = """
import base64, gzip, json, os, boto3

def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["REPORT_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(data))
    print("delivered", len(data["logEvents"]), "events")
    return {}
"""


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_subscription_to_lambda_and_lambda_logs(logs, gateway):
    lam, sqs = gateway.client("lambda"), gateway.client("sqs")
    q = f"sub-{uid()}"
    url = sqs.create_queue(QueueName=q)["QueueUrl"]
    name = f"sub-{uid()}"
    fn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                             Code={"ZipFile": make_zip({"app.py": PY_SUBSCRIBER})}, Timeout=30,
                             Environment={"Variables": {"REPORT_QUEUE": q}})
    g = group_with_stream(logs)
    logs.put_subscription_filter(logGroupName=g, filterName="errs", filterPattern="[level = ERROR, ...]",
                                 destinationArn=fn["FunctionArn"])
    assert logs.describe_subscription_filters(logGroupName=g)["subscriptionFilters"][0]["filterName"] == "errs"
    put(logs, g, "s1", ["INFO fine", "ERROR broken pipe", "ERROR disk"])
    body = None
    deadline = time.time() + 60
    while time.time() < deadline and body is None:
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", [])
        body = json.loads(msgs[0]["Body"]) if msgs else None
    assert body is not None, "the subscription filter did not deliver"
    assert body["messageType"] == "DATA_MESSAGE" and body["logGroup"] == g and body["logStream"] == "s1"
    assert body["subscriptionFilters"] == ["errs"]
    assert [e["message"] for e in body["logEvents"]] == ["ERROR broken pipe", "ERROR disk"]
    assert body["logEvents"][0]["extractedFields"]["level"] == "ERROR"

    # The function's own output is in /aws/lambda/<name>.
    lg = f"/aws/lambda/{name}"
    found = []
    deadline = time.time() + 30
    while time.time() < deadline and not found:
        try:
            found = logs.filter_log_events(logGroupName=lg, filterPattern="delivered")["events"]
        except ClientError:
            pass
        time.sleep(0.3)
    assert found and "delivered 2 events" in found[0]["message"]
    stream = found[0]["logStreamName"]
    assert stream.startswith(time.strftime("%Y/%m/%d/", time.gmtime())) and "[$LATEST]" in stream
    # The aws CLI reads it too.
    out = gateway.aws("logs", "filter-log-events", "--log-group-name", lg, "--filter-pattern", "delivered")
    assert "delivered 2 events" in out.stdout


def wait_query(logs, qid):
    deadline = time.time() + 60
    while time.time() < deadline:
        r = logs.get_query_results(queryId=qid)
        if r["status"] in ("Complete", "Failed", "Cancelled"):
            return r
        time.sleep(0.1)
    raise AssertionError("query did not finish")


def rows(result):
    return [{f["field"]: f["value"] for f in row} for row in result["results"]]


def test_insights_stats_by_bin_and_parse(logs):
    g = group_with_stream(logs)
    base = (now_ms() // 60000 - 5) * 60000
    lines = [(base + 1000, "GET /a 200 12"), (base + 2000, "GET /b 500 30"),
             (base + 61000, "POST /a 200 5"), (base + 62000, "GET /a 200 7")]
    logs.put_log_events(logGroupName=g, logStreamName="s1",
                        logEvents=[{"timestamp": t, "message": m} for t, m in lines])
    start, end = base // 1000 - 60, now_ms() // 1000 + 60
    qid = logs.start_query(logGroupName=g, startTime=start, endTime=end,
                           queryString="stats count(*) by bin(1m)")["queryId"]
    r = wait_query(logs, qid)
    assert r["status"] == "Complete"
    got = sorted((x["bin(1m)"], x["count(*)"]) for x in rows(r))
    assert [c for _, c in got] == ["2", "2"]
    assert got[0][0].endswith(":00.000")

    q = ("parse @message '* * * *' as method, path, status, ms "
         "| filter status = 200 | stats sum(ms) as total, avg(ms), max(ms), pct(ms, 50), count_distinct(path) by method "
         "| sort method asc")
    r = wait_query(logs, logs.start_query(logGroupName=g, startTime=start, endTime=end, queryString=q)["queryId"])
    assert rows(r) == [
        {"method": "GET", "total": "19", "avg(ms)": "9.5", "max(ms)": "12", "pct(ms, 50)": "7", "count_distinct(path)": "1"},
        {"method": "POST", "total": "5", "avg(ms)": "5", "max(ms)": "5", "pct(ms, 50)": "5", "count_distinct(path)": "1"},
    ]
    q = r"parse @message /(?<verb>\w+) (?<p>\S+)/ | filter @message like /500/ | fields p, @timestamp | limit 5"
    r = wait_query(logs, logs.start_query(logGroupName=g, startTime=start, endTime=end, queryString=q)["queryId"])
    assert [x["p"] for x in rows(r)] == ["/b"] and "@ptr" in rows(r)[0]
    r = wait_query(logs, logs.start_query(logGroupName=g, startTime=start, endTime=end,
                                          queryString="fields path | sort @timestamp desc | dedup @logStream")["queryId"])
    assert len(r["results"]) == 1 and r["statistics"]["recordsScanned"] == 4
    assert code_of(logs.start_query, logGroupName=g, startTime=start, endTime=end,
                   queryString="stats nope(x)") == "MalformedQueryException"
    ids = [q["queryId"] for q in logs.describe_queries(logGroupName=g)["queries"]]
    assert qid in ids
    d = logs.put_query_definition(name="errors", queryString="filter @message like /ERROR/")
    assert logs.describe_query_definitions(queryDefinitionNamePrefix="err")["queryDefinitions"][0]["queryDefinitionId"] == d["queryDefinitionId"]
    logs.delete_query_definition(queryDefinitionId=d["queryDefinitionId"])


def test_policies_and_destinations(logs):
    doc = json.dumps({"Version": "2012-10-17", "Statement": []})
    out = logs.put_resource_policy(policyName=f"p-{uid()}", policyDocument=doc)
    assert out["resourcePolicy"]["policyDocument"] == doc
    names = [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]]
    assert out["resourcePolicy"]["policyName"] in names
    logs.delete_resource_policy(policyName=out["resourcePolicy"]["policyName"])
    d = logs.put_destination(destinationName=f"d-{uid()}", targetArn="arn:aws:kinesis:us-east-1:000000000000:stream/s",
                             roleArn=ROLE)["destination"]
    logs.put_destination_policy(destinationName=d["destinationName"], accessPolicy=doc)
    got = logs.describe_destinations(DestinationNamePrefix=d["destinationName"])["destinations"][0]
    assert got["accessPolicy"] == doc and got["arn"].endswith(f"destination:{d['destinationName']}")
    logs.delete_destination(destinationName=d["destinationName"])
    # Every operation of the model is served (tests/e2e/test_logs_more.py).
    assert isinstance(logs.describe_deliveries()["deliveries"], list)


def test_live_tail_receives_events_written_after_it_started(logs, gateway):
    g = group_with_stream(logs)
    put(logs, g, "s1", ["ERROR before the session"])
    arn = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["logGroupArn"]
    # The operation's model prefixes the host with "stream-": not for 127.0.0.1.
    tail_client = gateway.client("logs", inject_host_prefix=False, read_timeout=30)
    resp = tail_client.start_live_tail(logGroupIdentifiers=[arn], logEventFilterPattern="ERROR")
    stream = resp["responseStream"]
    got, started = [], None
    t0 = time.time()
    for event in stream:
        if "sessionStart" in event:
            started = event["sessionStart"]
            assert started["logGroupIdentifiers"] == [arn]
            put(logs, g, "s1", ["INFO skipped", "ERROR one", "ERROR two"])
        elif "sessionUpdate" in event:
            got += [r["message"] for r in event["sessionUpdate"]["sessionResults"]]
            if len(got) >= 2:
                break
        if time.time() - t0 > 20:
            break
    stream.close()
    assert started is not None
    assert got == ["ERROR one", "ERROR two"]


def test_log_record_account_and_data_protection_policies(logs):
    g = group_with_stream(logs)
    put(logs, g, "s1", [json.dumps({"user": "ann", "n": 3})])
    t = now_ms() // 1000
    r = wait_query(logs, logs.start_query(logGroupName=g, startTime=t - 60, endTime=t + 60,
                                          queryString="fields @message")["queryId"])
    ptr = rows(r)[0]["@ptr"]
    rec = logs.get_log_record(logRecordPointer=ptr)["logRecord"]
    assert rec["@logStream"] == "s1" and rec["user"] == "ann" and rec["n"] == "3"
    assert code_of(logs.get_log_record, logRecordPointer="bm9wZQ==") == "InvalidParameterException"

    doc = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    logs.put_data_protection_policy(logGroupIdentifier=g, policyDocument=doc)
    assert logs.get_data_protection_policy(logGroupIdentifier=g)["policyDocument"] == doc
    assert logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["dataProtectionStatus"] == "ACTIVATED"
    logs.delete_data_protection_policy(logGroupIdentifier=g)
    name = f"acct-{uid()}"
    logs.put_account_policy(policyName=name, policyDocument=doc, policyType="DATA_PROTECTION_POLICY")
    got = logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY", policyName=name)["accountPolicies"]
    assert got[0]["policyName"] == name and got[0]["scope"] == "ALL"
    logs.delete_account_policy(policyName=name, policyType="DATA_PROTECTION_POLICY")
    assert logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY", policyName=name)["accountPolicies"] == []


def test_export_task_writes_gzip_objects_to_s3(logs, gateway):
    s3 = gateway.client("s3")
    bucket = f"exp-{uid()}"
    s3.create_bucket(Bucket=bucket)
    g = group_with_stream(logs)
    t = now_ms()
    put(logs, g, "s1", ["first line", "second line"], ts=t)
    tid = logs.create_export_task(logGroupName=g, fromTime=t - 1000, to=t + 1000, destination=bucket,
                                  destinationPrefix="out")["taskId"]
    deadline = time.time() + 20
    while time.time() < deadline:
        task = logs.describe_export_tasks(taskId=tid)["exportTasks"][0]
        if task["status"]["code"] not in ("PENDING", "RUNNING"):
            break
        time.sleep(0.1)
    assert task["status"]["code"] == "COMPLETED", task
    body = s3.get_object(Bucket=bucket, Key=f"out/{tid}/s1/000000.gz")["Body"].read()
    lines = gzip.decompress(body).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["first line", "second line"]
    assert lines[0].split(" ", 1)[0].endswith("Z")
    assert code_of(logs.cancel_export_task, taskId=tid) == "InvalidOperationException"


def test_recent_events_page(logs, gateway):
    import requests
    g = group_with_stream(logs)
    put(logs, g, "s1", [f"page line {i}" for i in range(5)])
    r = requests.get(f"{gateway.url}/_ministack/logs", params={"group": g, "limit": 3}, timeout=10)
    assert r.status_code == 200
    events = r.json()["logGroups"][g]
    assert [e["message"] for e in events] == ["page line 2", "page line 3", "page line 4"]
    html = requests.get(f"{gateway.url}/_ministack/logs", params={"group": g}, headers={"Accept": "text/html"}, timeout=10)
    assert html.headers["content-type"].startswith("text/html") and "page line 4" in html.text


def test_subscription_to_kinesis(logs, gateway):
    kin = gateway.client("kinesis")
    name = f"logs-{uid()}"
    try:
        kin.create_stream(StreamName=name, ShardCount=1)
    except ClientError as e:
        pytest.skip(f"no kinesis plugin in this bundle ({e.response['Error']['Code']})")
    for _ in range(100):
        if kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    arn = kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    g = group_with_stream(logs)
    logs.put_subscription_filter(logGroupName=g, filterName="all", filterPattern='{ $.level = "ERROR" }',
                                 destinationArn=arn, roleArn=ROLE)
    put(logs, g, "s1", JSON_LINES)
    shard = kin.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    it = kin.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    deadline = time.time() + 15
    while time.time() < deadline and not records:
        out = kin.get_records(ShardIterator=it)
        records, it = out["Records"], out["NextShardIterator"]
        time.sleep(0.1)
    assert records, "nothing delivered to the stream"
    data = json.loads(gzip.decompress(records[0]["Data"]))
    assert data["logGroup"] == g and data["subscriptionFilters"] == ["all"]
    assert [e["message"] for e in data["logEvents"]] == [JSON_LINES[0]]

