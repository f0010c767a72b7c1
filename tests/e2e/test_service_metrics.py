"""Service metrics the bundle emits (ministack_sdk::metrics: aggregated in
the host's memory and flushed to CloudWatch once a second): do the operation, then CloudWatch's
GetMetricStatistics / GetMetricData sees it. Lambda (Invocations, Errors,
Duration), DynamoDB (ConsumedRead/WriteCapacityUnits), EventBridge
(MatchedEvents, TriggeredRules, Invocations), Step Functions
(ExecutionsStarted / Succeeded, ExecutionTime)."""

import io
import json
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/r"


def uid():
    return uuid.uuid4().hex[:8]


def stats(cw, ns, name, dims, stat="Sum", want=None, timeout=30):
    """The metric's statistic over the last 10 minutes, once it is there
    (and equals `want`, when given: a batch may land in two flushes)."""
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    deadline = time.time() + timeout
    while True:
        pts = cw.get_metric_statistics(Namespace=ns, MetricName=name,
                                       Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
                                       StartTime=end - timedelta(minutes=10), EndTime=end, Period=600,
                                       Statistics=[stat])["Datapoints"]
        if (pts and want in (None, pts[0][stat])) or time.time() > deadline:
            return pts[0][stat] if pts else None
        time.sleep(0.3)


def test_lambda_metrics(gateway):
    lam, cw = gateway.client("lambda"), gateway.client("cloudwatch")
    name = f"m-{uid()}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    if e.get('fail'):\n        raise ValueError('no')\n    return 1\n")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    for body in ({}, {}, {"fail": True}):
        lam.invoke(FunctionName=name, Payload=json.dumps(body))
    dims = {"FunctionName": name}
    assert stats(cw, "AWS/Lambda", "Invocations", dims, want=3) == 3
    assert stats(cw, "AWS/Lambda", "Errors", dims, want=1) == 1
    assert stats(cw, "AWS/Lambda", "Duration", dims, "Maximum") > 0
    # Clients still cannot write the reserved namespace.
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "Invocations", "Value": 1}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_throttles_count_although_the_invoke_fails(gateway):
    # The request answers an error (its unit rolls back) but its metrics stay.
    # No client retries: each throttled attempt counts.
    lam = boto3.client("lambda", endpoint_url=gateway.url, region_name="us-east-1",
                       aws_access_key_id="000000000000", aws_secret_access_key="test",
                       config=Config(retries={"total_max_attempts": 1}))
    cw = gateway.client("cloudwatch")
    name = f"m-{uid()}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return 1\n")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            lam.invoke(FunctionName=name, Payload=b"{}")
        assert e.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert stats(cw, "AWS/Lambda", "Throttles", {"FunctionName": name}, want=2) == 2


def test_dynamodb_capacity_metrics(gateway):
    ddb, cw = gateway.client("dynamodb"), gateway.client("cloudwatch")
    t = f"m-{uid()}"
    ddb.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    for i in range(3):
        ddb.put_item(TableName=t, Item={"k": {"S": str(i)}})
    ddb.get_item(TableName=t, Key={"k": {"S": "1"}})
    ddb.get_item(TableName=t, Key={"k": {"S": "2"}})
    assert stats(cw, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": t}, want=3) == 3
    assert stats(cw, "AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": t}, want=1) == 1
    # GetMetricData sees the same series.
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    r = cw.get_metric_data(StartTime=end - timedelta(minutes=10), EndTime=end, MetricDataQueries=[{
        "Id": "w", "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ConsumedWriteCapacityUnits",
                                             "Dimensions": [{"Name": "TableName", "Value": t}]},
                                  "Period": 600, "Stat": "Sum"}}])
    assert sum(r["MetricDataResults"][0]["Values"]) == 3


def test_eventbridge_and_stepfunctions_metrics(gateway):
    ev, sqs, sfn, cw = (gateway.client(s) for s in ("events", "sqs", "stepfunctions", "cloudwatch"))
    q = sqs.create_queue(QueueName=f"m-{uid()}")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"m-{uid()}"
    ev.put_rule(Name=rule, EventPattern=json.dumps({"source": ["metrics.test"]}))
    ev.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": qarn}])
    ev.put_events(Entries=[{"Source": "metrics.test", "DetailType": "x", "Detail": "{}"} for _ in range(2)]
                  + [{"Source": "other", "DetailType": "x", "Detail": "{}"}])
    assert stats(cw, "AWS/Events", "MatchedEvents", {"RuleName": rule}, want=2) == 2
    assert stats(cw, "AWS/Events", "Invocations", {"RuleName": rule}, want=2) == 2
    # The plugin hands equal datums over once with their count
    # (metrics.put-counted): still one sample per event.
    assert stats(cw, "AWS/Events", "MatchedEvents", {"RuleName": rule}, "SampleCount", want=2) == 2
    assert stats(cw, "AWS/Events", "TriggeredRules", {"RuleName": rule}, "SampleCount", want=2) == 2

    sm = sfn.create_state_machine(name=f"m-{uid()}", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    deadline = time.time() + 30
    while sfn.describe_execution(executionArn=ex)["status"] == "RUNNING":
        assert time.time() < deadline
        time.sleep(0.1)
    dims = {"StateMachineArn": sm}
    assert stats(cw, "AWS/States", "ExecutionsStarted", dims, want=1) == 1
    assert stats(cw, "AWS/States", "ExecutionsSucceeded", dims, want=1) == 1
    assert stats(cw, "AWS/States", "ExecutionTime", dims, "SampleCount", want=1) == 1


def test_firehose_metrics(gateway):
    fh, s3, cw = gateway.client("firehose"), gateway.client("s3"), gateway.client("cloudwatch")
    bucket, name = f"fhm-{uid()}", f"fhm-{uid()}"
    s3.create_bucket(Bucket=bucket)
    fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}})
    fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"abc"}, {"Data": b"de"}])
    fh.put_record(DeliveryStreamName=name, Record={"Data": b"f"})
    dims = {"DeliveryStreamName": name}
    assert stats(cw, "AWS/Firehose", "IncomingRecords", dims, want=3) == 3
    assert stats(cw, "AWS/Firehose", "IncomingBytes", dims, want=6) == 6
    assert stats(cw, "AWS/Firehose", "IncomingPutRequests", dims, want=2) == 2
    assert stats(cw, "AWS/Firehose", "DeliveryToS3.Records", dims, want=3) == 3
    assert stats(cw, "AWS/Firehose", "DeliveryToS3.Success", dims, "Minimum") == 1
    assert stats(cw, "AWS/Firehose", "DeliveryToS3.DataFreshness", dims, "Maximum") >= 0


def test_s3_request_metrics_for_configured_buckets(gateway):
    s3, cw = gateway.client("s3"), gateway.client("cloudwatch")
    bucket, quiet = f"s3m-{uid()}", f"s3q-{uid()}"
    for b in (bucket, quiet):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_metrics_configuration(Bucket=bucket, Id="EntireBucket",
                                        MetricsConfiguration={"Id": "EntireBucket"})
    s3.put_bucket_metrics_configuration(Bucket=bucket, Id="docs", MetricsConfiguration={
        "Id": "docs", "Filter": {"Prefix": "docs/"}})
    s3.put_bucket_metrics_configuration(Bucket=bucket, Id="team", MetricsConfiguration={
        "Id": "team", "Filter": {"Tag": {"Key": "team", "Value": "blue"}}})
    s3.put_object(Bucket=bucket, Key="docs/a", Body=b"x" * 100)
    s3.put_object(Bucket=bucket, Key="other/b", Body=b"y" * 50, Tagging="team=blue")
    s3.put_object(Bucket=quiet, Key="docs/a", Body=b"z" * 10)
    for _ in range(2):
        assert s3.get_object(Bucket=bucket, Key="docs/a")["Body"].read() == b"x" * 100
    s3.head_object(Bucket=bucket, Key="other/b")
    s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="docs/missing")

    def metric(filter_id, name, stat="Sum", want=None):
        return stats(cw, "AWS/S3", name, {"BucketName": bucket, "FilterId": filter_id}, stat, want)

    # The whole bucket: 2 PUTs, 3 GETs (one a 404), a HEAD and a listing.
    assert metric("EntireBucket", "AllRequests", want=7) == 7
    assert metric("EntireBucket", "PutRequests", want=2) == 2
    assert metric("EntireBucket", "GetRequests", want=3) == 3
    assert metric("EntireBucket", "HeadRequests", want=1) == 1
    assert metric("EntireBucket", "ListRequests", want=1) == 1
    assert metric("EntireBucket", "4xxErrors", want=1) == 1
    assert metric("EntireBucket", "BytesUploaded", want=150) == 150
    assert metric("EntireBucket", "BytesDownloaded", want=200) == 200
    assert metric("EntireBucket", "TotalRequestLatency", "SampleCount", want=7) == 7
    # A prefix filter sees its objects only, and no listing.
    assert metric("docs", "PutRequests", want=1) == 1
    assert metric("docs", "GetRequests", want=3) == 3
    assert metric("docs", "BytesDownloaded", want=200) == 200
    # A tag filter sees the tagged object.
    assert metric("team", "PutRequests", want=1) == 1
    assert metric("team", "HeadRequests", want=1) == 1
    # Listings and unmatched objects are not counted under filters, and a
    # bucket with no configuration emits nothing.
    names = {m["MetricName"] for m in cw.list_metrics(
        Namespace="AWS/S3", Dimensions=[{"Name": "FilterId", "Value": "docs"},
                                        {"Name": "BucketName", "Value": bucket}])["Metrics"]}
    assert "ListRequests" not in names and "HeadRequests" not in names
    assert cw.list_metrics(Namespace="AWS/S3", Dimensions=[{"Name": "BucketName", "Value": quiet}])["Metrics"] == []
