"""Tumbling windows on a DynamoDB stream mapping: each invoke of a window
gets the state the previous one returned, and when the window ends a final
invoke (no records, isFinalInvokeForWindow) gets the accumulated state."""

import json
import time

from test_lambda import ROLE, make_zip, uid

# Sums `n` of the new images into state["total"]; reports every invoke.
PY_SUMMER = """
import json, os, time, boto3

sqs = boto3.client("sqs")
URL = None

def handler(event, context):
    global URL
    URL = URL or sqs.get_queue_url(QueueName=os.environ["REPORT_QUEUE"])["QueueUrl"]
    state = event.get("state") or {}
    total = state.get("total", 0)
    for r in event["Records"]:
        total += int(r["dynamodb"]["NewImage"]["n"]["N"])
    sqs.send_message(QueueUrl=URL, MessageBody=json.dumps({
        "at": time.time(), "state_in": state, "records": len(event["Records"]),
        "final": event["isFinalInvokeForWindow"], "early": event["isWindowTerminatedEarly"],
        "window": event["window"], "shard": event["shardId"], "arn": event["eventSourceARN"],
    }))
    return {"state": {"total": total}}
"""


def test_dynamodb_tumbling_window_accumulates_state(gateway):
    lam, sqs, ddb = gateway.client("lambda"), gateway.client("sqs"), gateway.client("dynamodb")
    table = f"w-{uid()}"
    desc = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream_arn = desc["TableDescription"]["LatestStreamArn"]
    qname = f"wr-{uid()}"
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    name = f"sum-{uid()}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": PY_SUMMER})}, Timeout=10,
                        Environment={"Variables": {"REPORT_QUEUE": qname}})
    m = lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name,
                                        StartingPosition="TRIM_HORIZON", BatchSize=10,
                                        TumblingWindowInSeconds=3)
    assert lam.get_event_source_mapping(UUID=m["UUID"])["TumblingWindowInSeconds"] == 3
    # Warm the function (its cold start) with a record of n=0, then start
    # the real records just after a window boundary so they share a window.
    ddb.put_item(TableName=table, Item={"pk": {"S": "warm"}, "n": {"N": "0"}})
    time.sleep(1.5)
    time.sleep(3 - time.time() % 3 + 0.1)
    for i in range(1, 6):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
        time.sleep(0.2)
    reports = []
    deadline = time.time() + 12
    while time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for msg in r.get("Messages", []):
            reports.append(json.loads(msg["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        finals = [x for x in reports if x["final"]]
        if sum(x["state_in"].get("total", 0) for x in finals) == 15:
            break
    reports.sort(key=lambda x: x["at"])
    finals = [x for x in reports if x["final"]]
    # Every final invoke has no records and the window's whole state; the
    # windows' totals add up to the records' sum.
    assert finals and all(x["records"] == 0 for x in finals), reports
    assert sum(x["state_in"].get("total", 0) for x in finals) == 15, reports
    # The five records shared a window: its final state is 15, reached by
    # more than one invoke carrying the state forward.
    last = finals[-1]
    assert last["state_in"] == {"total": 15}, reports
    in_window = [x for x in reports if x["window"] == last["window"] and not x["final"]]
    assert sum(x["records"] for x in in_window) == 5
    assert len(in_window) >= 2 and any(x["state_in"].get("total", 0) > 0 for x in in_window), reports
    assert last["window"]["end"] > last["window"]["start"]
    assert all(x["arn"] == stream_arn and x["shard"] and x["early"] is False for x in reports)
    # The final invoke came once the window had ended (about 3 s after its start).
    first_at = in_window[0]["at"]
    assert last["at"] > first_at + 1.5
