"""A running metric stream delivers, at the next minute boundary, the
previous minute's aggregate of the metrics it selects to its Firehose
delivery stream, which writes them to S3 as JSON lines (CloudWatch's durable
`metric-stream-tick` task → Firehose PutRecordBatch → S3). Waits up to two
minute boundaries."""

import json
import time
import uuid

ROLE = "arn:aws:iam::000000000000:role/r"


def test_metric_stream_delivers_to_firehose_s3(gateway):
    cw, fh, s3 = (gateway.client(s) for s in ("cloudwatch", "firehose", "s3"))
    n = uuid.uuid4().hex[:8]
    bucket = f"ms-{n}"
    s3.create_bucket(Bucket=bucket)
    fh.create_delivery_stream(DeliveryStreamName=f"ms-{n}", ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}})
    fh_arn = fh.describe_delivery_stream(DeliveryStreamName=f"ms-{n}")["DeliveryStreamDescription"]["DeliveryStreamARN"]
    ns = f"Stream/{n}"
    cw.put_metric_stream(Name=f"ms-{n}", FirehoseArn=fh_arn, RoleArn=ROLE, OutputFormat="json",
                         IncludeFilters=[{"Namespace": ns}])
    assert cw.get_metric_stream(Name=f"ms-{n}")["State"] == "running"
    lines = []
    deadline = time.time() + 130
    while time.time() < deadline and not lines:
        # A value every few seconds: whichever minute the tick reports has one.
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Hits", "Value": 5.0}])
        cw.put_metric_data(Namespace="Other/" + n, MetricData=[{"MetricName": "Hits", "Value": 1.0}])
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
            lines += [json.loads(x) for x in body.splitlines() if x.strip()]
        time.sleep(3)
    assert lines, "nothing delivered within two minutes"
    assert {x["namespace"] for x in lines} == {ns}
    hit = lines[0]
    assert hit["metric_name"] == "Hits" and hit["value"]["max"] == 5.0 and hit["value"]["count"] >= 1
    assert hit["metric_stream_name"] == f"ms-{n}"


def test_insight_rule_report_counts_log_contributors(gateway):
    cw, logs = gateway.client("cloudwatch"), gateway.client("logs")
    g = f"/ci/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    t = int(time.time() * 1000)
    lines = [("1.1.1.1", 500, 10), ("1.1.1.1", 500, 20), ("2.2.2.2", 500, 5), ("3.3.3.3", 200, 99)]
    logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
        {"timestamp": t + i, "message": json.dumps({"ip": ip, "status": st, "bytes": b})}
        for i, (ip, st, b) in enumerate(lines)])
    rule = {"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": [g], "LogFormat": "JSON",
            "Contribution": {"Keys": ["$.ip"], "ValueOf": "$.bytes", "Filters": [{"Match": "$.status", "In": [500]}]},
            "AggregateOn": "Sum"}
    name = f"ci-{uuid.uuid4().hex[:8]}"
    cw.put_insight_rule(RuleName=name, RuleDefinition=json.dumps(rule))
    r = cw.get_insight_rule_report(RuleName=name, StartTime=t / 1000 - 60, EndTime=t / 1000 + 60, Period=60)
    assert r["AggregationStatistic"] == "Sum" and r["KeyLabels"] == ["$.ip"]
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in r["Contributors"]] == [(["1.1.1.1"], 30.0), (["2.2.2.2"], 5.0)]
    assert r["ApproximateUniqueCount"] == 2 and r["AggregateValue"] == 35.0
    assert sum(p["Sum"] for p in r["MetricDatapoints"]) == 35.0
