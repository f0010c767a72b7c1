"""CloudWatch through the whole gateway with boto3 (its default protocol for
CloudWatch is smithy-rpc-v2-cbor) plus raw awsJson1_0 and awsQuery calls:
metric math over two series, percentiles, an alarm going OK -> ALARM -> OK
on its schedule with missing data treated as not breaching and notifying
SNS -> SQS, composite alarms, GetMetricWidgetImage's PNG, dashboards, tags
and the AWS/SQS gauges sampled from SQS."""

import io
import json
import struct
import subprocess
import sys
import time
import uuid
import zipfile
import zlib
from pathlib import Path

import botocore.exceptions
import pytest
import requests

OLDBOTO = Path(__file__).resolve().parents[2] / "target" / "oldboto"
# An old botocore speaks awsQuery to CloudWatch (its model lists only query).
OLD_CLIENT = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import boto3
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[2], region_name="us-east-1",
                  aws_access_key_id="000000000000", aws_secret_access_key="test")
now = time.time()
cw.put_metric_data(Namespace=sys.argv[3], MetricData=[
    {"MetricName": "Q", "Dimensions": [{"Name": "D", "Value": "v"}], "Values": [1.0, 2.0, 9.0], "Counts": [1, 1, 2]}])
stats = cw.get_metric_statistics(Namespace=sys.argv[3], MetricName="Q", Dimensions=[{"Name": "D", "Value": "v"}],
                                 StartTime=now - 600, EndTime=now + 60, Period=60, Statistics=["Sum", "Maximum"],
                                 ExtendedStatistics=["p50"])
cw.put_metric_alarm(AlarmName=sys.argv[3], Namespace=sys.argv[3], MetricName="Q", Statistic="Sum", Period=60,
                    EvaluationPeriods=2, DatapointsToAlarm=1, Threshold=3, ComparisonOperator="GreaterThanThreshold")
alarm = cw.describe_alarms(AlarmNames=[sys.argv[3]])["MetricAlarms"][0]
print(json.dumps({"protocol": cw.meta.service_model.protocol,
                  "points": [[d["Sum"], d["Maximum"], d["ExtendedStatistics"]["p50"]] for d in stats["Datapoints"]],
                  "alarm": [alarm["AlarmName"], alarm["StateValue"], alarm["DatapointsToAlarm"]]}))
"""


@pytest.fixture
def cw(gateway):
    return gateway.client("cloudwatch")


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def stat_query(qid, ns, name, stat, period=60, dims=None, **kw):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims or []},
            "Period": period,
            "Stat": stat,
        },
        **kw,
    }


def by_id(results):
    out = {}
    for r in results:
        out.setdefault(r["Id"], []).append(r)
    return out


def test_metric_math_over_two_series(cw):
    ns = f"Math{uid()}"
    base = (int(time.time()) // 60 - 10) * 60
    # requests[i] and errors[i] at minute i; minute 3 has no errors.
    reqs = [10, 20, 30, 40, 50]
    errs = [1, 2, 3, None, 5]
    data = []
    for i, (r, e) in enumerate(zip(reqs, errs)):
        data.append({"MetricName": "Requests", "Timestamp": base + i * 60, "Value": r, "Unit": "Count"})
        if e is not None:
            data.append({"MetricName": "Errors", "Timestamp": base + i * 60, "Value": e, "Unit": "Count"})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    out = cw.get_metric_data(
        MetricDataQueries=[
            stat_query("req", ns, "Requests", "Sum", ReturnData=False),
            stat_query("err", ns, "Errors", "Sum", ReturnData=False),
            {"Id": "rate", "Expression": "100 * err / req", "Label": "error rate"},
            {"Id": "total", "Expression": "SUM(METRICS())"},
            {"Id": "filled", "Expression": "FILL(err, 0)"},
            {"Id": "linear", "Expression": "FILL(err, LINEAR)"},
            {"Id": "diff", "Expression": "DIFF(req)"},
            {"Id": "persec", "Expression": "RATE(req)"},
            {"Id": "big", "Expression": "IF(req > 25, req, 0)"},
            {"Id": "mx", "Expression": "MAX([req, err * 20])"},
            {"Id": "sd", "Expression": "STDDEV(req) + AVG(err) * 0"},
            {"Id": "found", "Expression": f"SEARCH('{{{ns}}} MetricName=\"Errors\"', 'Sum', 60)"},
        ],
        StartTime=base,
        EndTime=base + 5 * 60,
        ScanBy="TimestampAscending",
    )
    res = by_id(out["MetricDataResults"])
    assert "req" not in res and "err" not in res

    def values(qid):
        r = res[qid][0]
        return {int(t.timestamp()) - base: v for t, v in zip(r["Timestamps"], r["Values"])}

    assert res["rate"][0]["Label"] == "error rate"
    assert values("rate") == {0: 10.0, 60: 10.0, 120: 10.0, 240: 10.0}
    assert values("total") == {0: 11.0, 60: 22.0, 120: 33.0, 180: 40.0, 240: 55.0}
    assert values("filled")[180] == 0.0
    assert values("linear")[180] == 4.0
    assert values("diff") == {60: 10.0, 120: 10.0, 180: 10.0, 240: 10.0}
    assert values("persec")[120] == pytest.approx(10 / 60)
    assert values("big") == {0: 0.0, 60: 0.0, 120: 30.0, 180: 40.0, 240: 50.0}
    assert values("mx")[0] == 20.0 and values("mx")[240] == 100.0
    # STDDEV of one series is a number, drawn at every period.
    sd = values("sd")
    assert sorted(sd) == [0, 60, 120, 180, 240]
    assert all(v == pytest.approx(14.142135623730951) for v in sd.values())
    assert len(res["found"]) == 1 and values("found")[240] == 5.0
    # Descending by default.
    desc = cw.get_metric_data(
        MetricDataQueries=[stat_query("req", ns, "Requests", "Sum", Label="${PROP('MetricName')} max ${MAX}")],
        StartTime=base, EndTime=base + 300,
    )["MetricDataResults"][0]
    assert desc["Values"] == [50.0, 40.0, 30.0, 20.0, 10.0]
    assert desc["Label"] == "Requests max 50"
    # MaxDatapoints pages the answer.
    pages, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = cw.get_metric_data(
            MetricDataQueries=[stat_query("req", ns, "Requests", "Sum"), stat_query("err", ns, "Errors", "Sum")],
            StartTime=base, EndTime=base + 300, MaxDatapoints=3, **kw,
        )
        pages.append([(r["Id"], r["Values"], r["StatusCode"]) for r in page["MetricDataResults"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [
        [("req", [50.0, 40.0, 30.0], "PartialData")],
        [("req", [20.0, 10.0], "Complete"), ("err", [5.0], "PartialData")],
        [("err", [3.0, 2.0, 1.0], "Complete")],
    ]
    bad = error_of(
        cw.get_metric_data,
        MetricDataQueries=[{"Id": "e1", "Expression": "NOPE(m1"}],
        StartTime=base,
        EndTime=base + 300,
    )
    assert bad["Error"]["Code"] == "InvalidParameterValue"
    bad = error_of(
        cw.get_metric_data,
        MetricDataQueries=[{"Id": "a", "Expression": "b + 1"}, {"Id": "b", "Expression": "a + 1"}],
        StartTime=base,
        EndTime=base + 300,
    )
    assert "Circular" in bad["Error"]["Message"]


def test_percentiles_and_statistics(cw):
    ns = f"Pct{uid()}"
    now = int(time.time())
    dims = [{"Name": "Api", "Value": "get"}]
    values = [float(v) for v in range(1, 1001)]
    # 150 values per call at most.
    for i in range(0, 1000, 150):
        cw.put_metric_data(
            Namespace=ns,
            MetricData=[
                {"MetricName": "Latency", "Dimensions": dims, "Values": values[i : i + 150], "Unit": "Milliseconds"}
            ],
        )
    # A statistic set adds to the totals, not to the percentiles.
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "StatisticValues": {"SampleCount": 2, "Sum": 4000, "Minimum": 1000, "Maximum": 3000},
                "Unit": "Milliseconds",
            }
        ],
    )
    out = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Latency",
        Dimensions=dims,
        StartTime=now - 3600,
        EndTime=now + 3600,
        Period=7200,
        Statistics=["SampleCount", "Maximum", "Minimum", "Sum"],
        ExtendedStatistics=["p99", "p50", "tm(10%:90%)", "p99.9"],
    )
    [dp] = out["Datapoints"]
    assert dp["SampleCount"] == 1002.0
    assert dp["Maximum"] == 3000.0 and dp["Minimum"] == 1.0
    assert dp["Sum"] == sum(values) + 4000
    assert dp["Unit"] == "Milliseconds"
    assert dp["ExtendedStatistics"]["p99"] == 990.0
    assert dp["ExtendedStatistics"]["p50"] == 500.0
    assert dp["ExtendedStatistics"]["p99.9"] == 999.0
    assert dp["ExtendedStatistics"]["tm(10%:90%)"] == pytest.approx(500.5)
    # p99 through GetMetricData too.
    r = cw.get_metric_data(
        MetricDataQueries=[stat_query("p", ns, "Latency", "p99", period=3600, dims=dims)],
        StartTime=now - 3600,
        EndTime=now + 3600,
    )["MetricDataResults"][0]
    assert r["Values"] == [990.0]
    # A unit that was never used selects nothing.
    none = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=now - 3600, EndTime=now + 3600,
        Period=7200, Statistics=["Sum"], Unit="Bytes",
    )
    assert none["Datapoints"] == []
    err = error_of(
        cw.get_metric_statistics, Namespace=ns, MetricName="Latency", StartTime=now - 60, EndTime=now,
        Period=60, ExtendedStatistics=["p200"],
    )
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Values": [1.0]}])
    assert err["Error"]["Code"] == "InvalidParameterCombination"
    listed = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Api"}], RecentlyActive="PT3H")["Metrics"]
    assert listed == [{"Namespace": ns, "MetricName": "Latency", "Dimensions": dims}]


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_alarm_ok_alarm_ok_on_schedule_notifies_sns(gateway, cw):
    sns = gateway.client("sns")
    sqs = gateway.client("sqs")
    name = f"alarm-{uid()}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    ns = f"Alarms{uid()}"
    dims = [{"Name": "Host", "Value": "web-1"}]
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=ns,
        MetricName="Cpu",
        Dimensions=dims,
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"

    def state():
        return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]

    # No data, treated as not breaching: OK at the first evaluation.
    wait_for(lambda: state() == "OK", 15, "OK")
    # High-resolution data above the threshold, once: ALARM at the next
    # evaluation (a grace second after the 10-second boundary)...
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[{"MetricName": "Cpu", "Dimensions": dims, "Value": 95, "StorageResolution": 1}],
    )
    wait_for(lambda: state() == "ALARM", 15, "ALARM")
    # ... and OK again at the one after, when the period has no data.
    wait_for(lambda: state() == "OK", 15, "OK after the data stopped")

    messages = []

    def received():
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            messages.append(json.loads(json.loads(m["Body"])["Message"]))
        # A standard queue need not keep the order: sort by the change time.
        messages.sort(key=lambda m: m["StateChangeTime"])
        return [m["NewStateValue"] for m in messages] == ["OK", "ALARM", "OK"] and messages

    wait_for(received, 10, "three notifications")
    first_alarm = messages[1]
    assert first_alarm["AlarmName"] == name
    assert first_alarm["OldStateValue"] == "OK"
    assert first_alarm["Trigger"]["MetricName"] == "Cpu"
    assert first_alarm["Trigger"]["Namespace"] == ns
    assert first_alarm["Trigger"]["Threshold"] == 80
    assert first_alarm["Trigger"]["Dimensions"] == [{"value": "web-1", "name": "Host"}]
    assert "Threshold Crossed" in first_alarm["NewStateReason"]
    assert first_alarm["Region"] == "US East (N. Virginia)"

    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history][:3] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK",
    ]
    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert len(actions) == 3 and all("Successfully executed action" in a["HistorySummary"] for a in actions)
    for_metric = cw.describe_alarms_for_metric(Namespace=ns, MetricName="Cpu", Dimensions=dims)["MetricAlarms"]
    assert [a["AlarmName"] for a in for_metric] == [name]
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    assert error_of(cw.delete_alarms, AlarmNames=[name])["Error"]["Code"] == "ResourceNotFound"


def test_composite_alarm(gateway, cw):
    a, b, parent = f"cpu-{uid()}", f"disk-{uid()}", f"svc-{uid()}"
    # Alarm state changes reach EventBridge.
    events, sqs = gateway.client("events"), gateway.client("sqs")
    queue_url = sqs.create_queue(QueueName=parent)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=parent,
        EventPattern=json.dumps({
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": [parent]},
        }),
    )
    events.put_targets(Rule=parent, Targets=[{"Id": "q", "Arn": queue_arn}])
    for n in (a, b):
        cw.put_metric_alarm(
            AlarmName=n, Namespace="Comp", MetricName=n, Statistic="Average", Period=60,
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )
    err = error_of(cw.put_composite_alarm, AlarmName=parent, AlarmRule="ALARM(nope-missing)")
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(cw.put_composite_alarm, AlarmName=parent, AlarmRule=f"ALARM({a}) AND")
    assert err["Error"]["Code"] == "InvalidParameterValue"
    cw.put_composite_alarm(AlarmName=parent, AlarmRule=f'ALARM("{a}") AND NOT ALARM({b})')

    def composite():
        [c] = cw.describe_alarms(AlarmNames=[parent], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        return c

    assert composite()["StateValue"] == "OK"
    cw.set_alarm_state(AlarmName=a, StateValue="ALARM", StateReason="testing")
    assert composite()["StateValue"] == "ALARM"
    cw.set_alarm_state(AlarmName=b, StateValue="ALARM", StateReason="testing")
    assert composite()["StateValue"] == "OK"
    # Without AlarmTypes only metric alarms are listed.
    plain = cw.describe_alarms(AlarmNames=[parent, a])
    assert [m["AlarmName"] for m in plain["MetricAlarms"]] == [a] and plain["CompositeAlarms"] == []
    children = cw.describe_alarms(ChildrenOfAlarmName=parent)["MetricAlarms"]
    assert sorted(m["AlarmName"] for m in children) == sorted([a, b])
    parents = cw.describe_alarms(ParentsOfAlarmName=a)["CompositeAlarms"]
    assert [p["AlarmName"] for p in parents] == [parent]
    hist = cw.describe_alarm_history(AlarmName=parent, AlarmTypes=["CompositeAlarm"], HistoryItemType="StateUpdate")
    assert len(hist["AlarmHistoryItems"]) == 3
    err = error_of(cw.set_alarm_state, AlarmName=a, StateValue="OK", StateReason="x", StateReasonData="{bad")
    assert err["Error"]["Code"] == "InvalidFormat"
    assert error_of(cw.set_alarm_state, AlarmName="nope", StateValue="OK", StateReason="x")["Error"]["Code"] == "ResourceNotFound"
    got = []

    def arrived():
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
        return len(got) >= 3

    # INSUFFICIENT_DATA -> OK (put), OK -> ALARM, ALARM -> OK.
    wait_for(arrived, 10, "alarm state change events")
    got.sort(key=lambda e: e["detail"]["state"]["timestamp"])
    assert [e["detail"]["state"]["value"] for e in got] == ["OK", "ALARM", "OK"]
    assert got[1]["detail"]["previousState"]["value"] == "OK"
    assert got[1]["resources"] == [f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{parent}"]
    assert got[1]["detail"]["configuration"]["alarmRule"].startswith(f'ALARM("{a}")')
    cw.disable_alarm_actions(AlarmNames=[parent])
    assert composite()["ActionsEnabled"] is False
    cw.delete_alarms(AlarmNames=[parent, a, b])


def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        yield kind, body
        pos += 12 + length


def test_metric_widget_image_is_a_png(cw):
    ns = f"Img{uid()}"
    now = int(time.time())
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[{"MetricName": "Load", "Timestamp": now - 60 * i, "Value": float(i % 5)} for i in range(30)],
    )
    widget = {
        "metrics": [[ns, "Load"], [{"expression": "m1 * 2", "id": "e1"}]],
        "start": "-PT1H",
        "period": 60,
        "stat": "Average",
        "width": 320,
        "height": 200,
    }
    img = cw.get_metric_widget_image(MetricWidget=json.dumps(widget))["MetricWidgetImage"]
    chunks = list(png_chunks(img))
    kind, ihdr = chunks[0]
    assert kind == b"IHDR"
    width, height, depth, color = struct.unpack(">IIBB", ihdr[:10])
    assert (width, height, depth, color) == (320, 200, 8, 2)
    raw = zlib.decompress(b"".join(body for k, body in chunks if k == b"IDAT"))
    assert len(raw) == height * (1 + width * 3)
    # Filtered scanlines: the chart drew something besides the white background and grey grid.
    assert chunks[-1][0] == b"IEND"
    assert len(set(raw)) > 3
    err = error_of(cw.get_metric_widget_image, MetricWidget="{not json")
    assert err["Error"]["Code"] == "InvalidParameterValue"


def test_dashboards_and_tags(cw):
    name = f"dash-{uid()}"
    body = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]})
    out = cw.put_dashboard(DashboardName=name, DashboardBody=body)
    assert out["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName=name)
    assert got["DashboardBody"] == body and got["DashboardArn"] == f"arn:aws:cloudwatch::000000000000:dashboard/{name}"
    entries = cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    assert [e["DashboardName"] for e in entries] == [name] and entries[0]["Size"] == len(body)
    err = error_of(cw.put_dashboard, DashboardName=name, DashboardBody='{"widgets": 3}')
    assert err["Error"]["Code"] == "InvalidParameterInput"
    cw.tag_resource(ResourceARN=got["DashboardArn"], Tags=[{"Key": "team", "Value": "a"}])
    assert cw.list_tags_for_resource(ResourceARN=got["DashboardArn"])["Tags"] == [{"Key": "team", "Value": "a"}]
    cw.untag_resource(ResourceARN=got["DashboardArn"], TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=got["DashboardArn"])["Tags"] == []
    cw.delete_dashboards(DashboardNames=[name])
    assert error_of(cw.get_dashboard, DashboardName=name)["Error"]["Code"] == "ResourceNotFound"
    missing = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:none"
    assert error_of(cw.list_tags_for_resource, ResourceARN=missing)["Error"]["Code"] == "ResourceNotFoundException"


def test_sqs_gauges_sampled_on_demand(gateway, cw):
    sqs = gateway.client("sqs")
    name = f"gauge-{uid()}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    dims = [{"Name": "QueueName", "Value": name}]
    # An alarm on the queue's depth (its evaluations sample SQS too).
    cw.put_metric_alarm(
        AlarmName=name, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible", Dimensions=dims,
        Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=2,
        ComparisonOperator="GreaterThanThreshold",
    )
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    now = time.time()
    out = cw.get_metric_statistics(
        Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible", Dimensions=dims,
        StartTime=now - 300, EndTime=now + 60, Period=60, Statistics=["Maximum"],
    )
    assert [d["Maximum"] for d in out["Datapoints"]] == [3.0]
    wait_for(lambda: cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM", 15, "ALARM")
    cw.delete_alarms(AlarmNames=[name])
    metrics = cw.list_metrics(Namespace="AWS/SQS", Dimensions=[{"Name": "QueueName", "Value": name}])["Metrics"]
    assert {m["MetricName"] for m in metrics} >= {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    }


def test_old_botocore_speaks_query(gateway):
    if not (OLDBOTO / "botocore-1.31.56.dist-info").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--target", str(OLDBOTO), "botocore==1.31.56", "boto3==1.28.56"],
            check=True, timeout=300,
        )
    ns = f"Old{uid()}"
    run = subprocess.run(
        [sys.executable, "-c", OLD_CLIENT, str(OLDBOTO), gateway.url, ns], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out == {"protocol": "query", "points": [[21.0, 9.0, 2.0]], "alarm": [ns, "INSUFFICIENT_DATA", 1]}


def test_json_and_query_protocols(gateway):
    ns = f"Proto{uid()}"
    r = gateway.json_call(
        "GraniteServiceVersion20100801", "PutMetricData",
        {"Namespace": ns, "MetricData": [{"MetricName": "Hits", "Value": 4}]},
    )
    assert r.status_code == 200, r.text
    r = gateway.json_call("GraniteServiceVersion20100801", "ListMetrics", {"Namespace": ns})
    assert r.json()["Metrics"][0]["MetricName"] == "Hits"
    auth = (
        "AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/monitoring/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    r = requests.post(
        gateway.url + "/",
        data={"Action": "ListMetrics", "Version": "2010-08-01", "Namespace": ns},
        headers={"Authorization": auth},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert "<MetricName>Hits</MetricName>" in r.text
    r = requests.post(
        gateway.url + "/",
        data={"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "AWS/EC2",
              "MetricData.member.1.MetricName": "x", "MetricData.member.1.Value": "1"},
        headers={"Authorization": auth},
        timeout=10,
    )
    assert r.status_code == 400 and "<Code>InvalidParameterValue</Code>" in r.text
    # The aws CLI (the installed botocore's default protocol).
    gateway.aws("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Cli", "--value", "3")
    listed = json.loads(gateway.aws("cloudwatch", "list-metrics", "--namespace", ns).stdout)["Metrics"]
    assert sorted(m["MetricName"] for m in listed) == ["Cli", "Hits"]


def test_alarm_action_invokes_lambda(gateway, cw):
    lam, sqs = gateway.client("lambda"), gateway.client("sqs")
    name = f"alarm-fn-{uid()}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    fn = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r", Handler="app.handler",
        Code={"ZipFile": buf.getvalue()}, Timeout=10,
    )["FunctionArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # The asynchronous invoke's success record carries the event the function got.
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    cw.put_metric_alarm(
        AlarmName=name, Namespace="Fn", MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[fn],
    )
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="by hand", StateReasonData='{"x": 1}')
    records = []

    def delivered():
        for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
            records.append(json.loads(m["Body"]))
        return records

    wait_for(delivered, 20, "the function's success record")
    event = records[0]["requestPayload"]
    assert event["source"] == "aws.cloudwatch"
    assert event["alarmArn"].endswith(f":alarm:{name}")
    assert event["alarmData"]["alarmName"] == name
    assert event["alarmData"]["state"]["value"] == "ALARM"
    assert event["alarmData"]["state"]["reason"] == "by hand"
    assert event["alarmData"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] == "Errors"
    [action] = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert action["HistorySummary"] == f"Successfully executed action {fn}"
    cw.delete_alarms(AlarmNames=[name])


def test_alarm_evaluation_survives_a_restart(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    cw = g.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="durable", Namespace="Dur", MetricName="M", Statistic="Sum", Period=10, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanThreshold", TreatMissingData="breaching",
    )
    cw.put_metric_data(Namespace="Dur", MetricData=[{"MetricName": "M", "Value": 1}])
    g.restart()
    cw = g.client("cloudwatch")
    # The evaluation chain goes on after the restart: an evaluation moves the
    # alarm set by hand to OK back to ALARM (missing data is breaching). The
    # period that holds the datapoint (1, not above 1) still evaluates OK, so
    # that can take two 10 s periods after the put, plus scheduling slack.
    cw.set_alarm_state(AlarmName="durable", StateValue="OK", StateReason="by hand")
    wait_for(lambda: cw.describe_alarms(AlarmNames=["durable"])["MetricAlarms"][0]["StateValue"] == "ALARM", 35, "ALARM")
    listed = cw.list_metrics(Namespace="Dur")["Metrics"]
    assert [m["MetricName"] for m in listed] == ["M"]


def test_streams_insight_rules_and_anomaly_detectors_are_stored(cw):
    name = f"stream-{uid()}"
    arn = cw.put_metric_stream(
        Name=name, FirehoseArn="arn:aws:firehose:us-east-1:000000000000:deliverystream/metrics",
        RoleArn="arn:aws:iam::000000000000:role/r", OutputFormat="json",
        IncludeFilters=[{"Namespace": "App"}], Tags=[{"Key": "k", "Value": "v"}],
    )["Arn"]
    assert arn == f"arn:aws:cloudwatch:us-east-1:000000000000:metric-stream/{name}"
    assert cw.get_metric_stream(Name=name)["State"] == "running"
    cw.stop_metric_streams(Names=[name])
    assert cw.get_metric_stream(Name=name)["State"] == "stopped"
    assert name in [e["Name"] for e in cw.list_metric_streams()["Entries"]]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    err = error_of(
        cw.put_metric_stream, Name=name, FirehoseArn="arn:aws:firehose:us-east-1:000000000000:deliverystream/m",
        RoleArn="arn:aws:iam::000000000000:role/r", OutputFormat="json",
        IncludeFilters=[{"Namespace": "A"}], ExcludeFilters=[{"Namespace": "B"}],
    )
    assert err["Error"]["Code"] == "InvalidParameterCombination"
    cw.delete_metric_stream(Name=name)
    assert error_of(cw.get_metric_stream, Name=name)["Error"]["Code"] == "ResourceNotFoundException"

    rule = f"rule-{uid()}"
    definition = {"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["/a"],
                  "LogFormat": "JSON", "Contribution": {"Keys": ["$.ip"]}, "AggregateOn": "Count"}
    cw.put_insight_rule(RuleName=rule, RuleDefinition=json.dumps(definition))
    assert rule in [r["Name"] for r in cw.describe_insight_rules()["InsightRules"]]
    out = cw.disable_insight_rules(RuleNames=[rule, "nope"])
    assert [f["FailureResource"] for f in out["Failures"]] == ["nope"]
    report = cw.get_insight_rule_report(RuleName=rule, StartTime=time.time() - 60, EndTime=time.time(), Period=60)
    assert report["KeyLabels"] == ["$.ip"] and report["Contributors"] == []
    cw.delete_insight_rules(RuleNames=[rule])

    ns = f"Anom{uid()}"
    cw.put_anomaly_detector(
        SingleMetricAnomalyDetector={"Namespace": ns, "MetricName": "M", "Dimensions": [], "Stat": "Average"}
    )
    [d] = cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
    assert d["SingleMetricAnomalyDetector"]["MetricName"] == "M" and d["StateValue"] == "TRAINED"
    cw.delete_anomaly_detector(
        SingleMetricAnomalyDetector={"Namespace": ns, "MetricName": "M", "Dimensions": [], "Stat": "Average"}
    )
    assert cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"] == []


def test_pagination(cw):
    ns = f"Pages{uid()}"
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i:04}", "Value": i} for i in range(1000)])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i:04}", "Value": i} for i in range(1000, 1001)])
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    third = cw.list_metrics(Namespace=ns, NextToken=second["NextToken"])
    assert "NextToken" not in third
    names = [m["MetricName"] for page in (first, second, third) for m in page["Metrics"]]
    assert names == [f"m{i:04}" for i in range(1001)]
    assert error_of(cw.list_metrics, Namespace=ns, NextToken="bogus")["Error"]["Code"] == "InvalidNextToken"
    prefix = f"page-{uid()}-"
    for i in range(5):
        cw.put_metric_alarm(
            AlarmName=f"{prefix}{i}", Namespace=ns, MetricName="m0000", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )
    seen, token = [], None
    while True:
        page = cw.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2, **({"NextToken": token} if token else {}))
        assert len(page["MetricAlarms"]) <= 2
        seen += [a["AlarmName"] for a in page["MetricAlarms"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"{prefix}{i}" for i in range(5)]
    cw.delete_alarms(AlarmNames=seen)
