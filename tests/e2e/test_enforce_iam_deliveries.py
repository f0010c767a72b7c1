"""ENFORCE_IAM=1: deliveries between services are authorized as AWS does
(docs/security.md, "Deliveries between services"). The source service acts
as its service principal (sns.amazonaws.com, s3.amazonaws.com,
events.amazonaws.com), which only the target's resource policy can allow,
with aws:SourceArn / aws:SourceAccount naming the topic, bucket or rule."""

import io
import json
import time
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Gateway

A = "111111111111"
B = "222222222222"
ROLE = f"arn:aws:iam::{A}:role/lambda-role"


@pytest.fixture(scope="module")
def enforced():
    g = Gateway(env={"ENFORCE_IAM": "1"})
    yield g
    g.close()


def client(g, service, key=A):
    return boto3.client(
        service,
        endpoint_url=g.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def queue(g, name):
    sqs = client(g, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def allow_service(g, url, arn, service, condition=None):
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": f"{service}.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn,
    }
    if condition:
        statement["Condition"] = condition
    doc = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    client(g, "sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": doc})


def bodies(g, url, wait=2):
    """Every message that arrives within `wait` seconds."""
    sqs = client(g, "sqs")
    out = []
    deadline = time.time() + wait
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in got.get("Messages", []):
            out.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def first(g, url, wait=10):
    """The first message to arrive (polled up to `wait` seconds)."""
    sqs = client(g, "sqs")
    deadline = time.time() + wait
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"])
        for m in got.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return m
    return None


# SNS -> SQS


def test_sns_to_sqs_needs_a_queue_policy_naming_the_topic(enforced):
    sns = client(enforced, "sns")
    topic = sns.create_topic(Name="deliv-topic")["TopicArn"]
    other = sns.create_topic(Name="deliv-other")["TopicArn"]
    url, arn = queue(enforced, "deliv-from-sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

    # No queue policy: nothing allows sns.amazonaws.com, the message is dropped
    # (the publisher is not told, as in AWS).
    sns.publish(TopicArn=topic, Message="no policy")
    assert bodies(enforced, url) == []

    # A policy for another topic does not hold.
    allow_service(enforced, url, arn, "sns", {"ArnEquals": {"aws:SourceArn": other}})
    sns.publish(TopicArn=topic, Message="other topic")
    assert bodies(enforced, url) == []

    allow_service(enforced, url, arn, "sns", {"ArnEquals": {"aws:SourceArn": topic}})
    sns.publish(TopicArn=topic, Message="allowed")
    assert [m["Body"] for m in bodies(enforced, url)] == ["allowed"]

    # A Principal "*" statement limited by aws:SourceArn, the common form.
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    client(enforced, "sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(doc)})
    sns.publish(TopicArn=topic, Message="star")
    assert [m["Body"] for m in bodies(enforced, url)] == ["star"]

    # An explicit Deny for the service wins.
    doc["Statement"].append({"Effect": "Deny", "Principal": {"Service": "sns.amazonaws.com"},
                             "Action": "sqs:*", "Resource": arn})
    client(enforced, "sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(doc)})
    sns.publish(TopicArn=topic, Message="denied")
    assert bodies(enforced, url) == []


def test_sns_to_sqs_source_account_condition(enforced):
    sns = client(enforced, "sns")
    topic = sns.create_topic(Name="deliv-account")["TopicArn"]
    url, arn = queue(enforced, "deliv-account-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

    allow_service(enforced, url, arn, "sns", {"StringEquals": {"aws:SourceAccount": B}})
    sns.publish(TopicArn=topic, Message="wrong account")
    assert bodies(enforced, url) == []

    allow_service(enforced, url, arn, "sns", {"StringEquals": {"aws:SourceAccount": A}})
    sns.publish(TopicArn=topic, Message="right account")
    assert [m["Body"] for m in bodies(enforced, url)] == ["right account"]


def test_a_service_principal_for_another_service_does_not_hold(enforced):
    sns = client(enforced, "sns")
    topic = sns.create_topic(Name="deliv-s3-principal")["TopicArn"]
    url, arn = queue(enforced, "deliv-s3-principal-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    allow_service(enforced, url, arn, "s3")
    sns.publish(TopicArn=topic, Message="s3 only")
    assert bodies(enforced, url) == []


# S3 notifications -> SQS


def test_s3_notification_to_sqs_is_refused_at_configuration_without_permission(enforced):
    s3 = client(enforced, "s3")
    s3.create_bucket(Bucket="deliv-bucket")
    url, arn = queue(enforced, "deliv-from-s3")
    config = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}

    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket="deliv-bucket", NotificationConfiguration=config)
    err = e.value.response["Error"]
    assert (err["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidArgument", 400)
    assert err["Message"] == "Unable to validate the following destination configurations"
    assert s3.get_bucket_notification_configuration(Bucket="deliv-bucket").get("QueueConfigurations") is None

    # A policy for another bucket does not validate either.
    allow_service(enforced, url, arn, "s3", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::other-bucket"}})
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket="deliv-bucket", NotificationConfiguration=config)
    assert e.value.response["Error"]["Code"] == "InvalidArgument"

    allow_service(enforced, url, arn, "s3", {
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::deliv-bucket"},
        "StringEquals": {"aws:SourceAccount": A},
    })
    s3.put_bucket_notification_configuration(Bucket="deliv-bucket", NotificationConfiguration=config)
    test_event = json.loads(first(enforced, url)["Body"])
    assert test_event["Event"] == "s3:TestEvent"

    s3.put_object(Bucket="deliv-bucket", Key="k1", Body=b"x")
    record = json.loads(first(enforced, url)["Body"])["Records"][0]
    assert (record["eventName"], record["s3"]["object"]["key"]) == ("ObjectCreated:Put", "k1")

    # The policy removed later: deliveries stop (AWS checks every delivery).
    client(enforced, "sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    s3.put_object(Bucket="deliv-bucket", Key="k2", Body=b"x")
    assert bodies(enforced, url) == []


# EventBridge rule -> SQS and Lambda


def test_eventbridge_rule_to_sqs_needs_the_queue_policy(enforced):
    events = client(enforced, "events")
    rule = events.put_rule(Name="deliv-rule-sqs", EventPattern=json.dumps({"source": ["deliv.sqs"]}))["RuleArn"]
    url, arn = queue(enforced, "deliv-from-events")
    events.put_targets(Rule="deliv-rule-sqs", Targets=[{"Id": "q", "Arn": arn}])
    entry = {"Source": "deliv.sqs", "DetailType": "t", "Detail": json.dumps({"n": 1})}

    events.put_events(Entries=[entry])
    assert bodies(enforced, url) == []

    allow_service(enforced, url, arn, "events", {"ArnEquals": {"aws:SourceArn": rule}})
    events.put_events(Entries=[entry])
    got = bodies(enforced, url)
    assert [json.loads(m["Body"])["detail"] for m in got] == [{"n": 1}]


def lambda_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    print('delivered', event['detail']['n'])\n")
    return buf.getvalue()


def logged(g, group, text, wait=30):
    logs = client(g, "logs")
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except ClientError:
            events = []
        if any(text in e["message"] for e in events):
            return True
        time.sleep(0.5)
    return False


def test_eventbridge_rule_to_lambda_needs_a_permission_for_the_rule(enforced):
    lam = client(enforced, "lambda")
    lam.create_function(FunctionName="deliv-fn", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": lambda_zip()}, Timeout=10)
    fn = lam.get_function(FunctionName="deliv-fn")["Configuration"]["FunctionArn"]
    events = client(enforced, "events")
    rule = events.put_rule(Name="deliv-rule-fn", EventPattern=json.dumps({"source": ["deliv.fn"]}))["RuleArn"]
    other = events.put_rule(Name="deliv-rule-other", EventPattern=json.dumps({"source": ["nothing"]}))["RuleArn"]
    dlq_url, dlq_arn = queue(enforced, "deliv-fn-dlq")
    allow_service(enforced, dlq_url, dlq_arn, "events", {"ArnEquals": {"aws:SourceArn": rule}})
    events.put_targets(Rule="deliv-rule-fn", Targets=[{"Id": "f", "Arn": fn, "DeadLetterConfig": {"Arn": dlq_arn}}])

    def put(n):
        events.put_events(Entries=[{"Source": "deliv.fn", "DetailType": "t", "Detail": json.dumps({"n": n})}])

    # No permission: a failed invocation, straight to the DLQ (no retries
    # for missing permissions, as in AWS).
    put(1)
    m = first(enforced, dlq_url)
    assert m is not None
    attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "NO_PERMISSIONS"
    assert (attrs["RULE_ARN"], attrs["TARGET_ARN"]) == (rule, fn)

    # A permission for another rule does not hold.
    lam.add_permission(FunctionName="deliv-fn", StatementId="other", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=other)
    put(2)
    m = first(enforced, dlq_url)
    assert m is not None and m["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"

    lam.add_permission(FunctionName="deliv-fn", StatementId="rule", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule)
    put(3)
    assert logged(enforced, "/aws/lambda/deliv-fn", "delivered 3")
    assert bodies(enforced, dlq_url) == []


def test_eventbridge_rule_to_logs_needs_the_accounts_logs_resource_policy(enforced):
    logs = client(enforced, "logs")
    logs.create_log_group(logGroupName="/aws/events/deliv")
    group = f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/deliv"
    events = client(enforced, "events")
    rule = events.put_rule(Name="deliv-rule-logs", EventPattern=json.dumps({"source": ["deliv.logs"]}))["RuleArn"]
    events.put_targets(Rule="deliv-rule-logs", Targets=[{"Id": "l", "Arn": group}])

    def put(n):
        events.put_events(Entries=[{"Source": "deliv.logs", "DetailType": "t", "Detail": json.dumps({"n": n})}])

    # The event is written compact (`"detail":{"n":1}`).
    put(1)
    assert not logged(enforced, "/aws/events/deliv", '"n":1', wait=3)

    logs.put_resource_policy(policyName="events-to-logs", policyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
                       "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                       "Resource": f"arn:aws:logs:us-east-1:{A}:log-group:/aws/events/*:*",
                       "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]}))
    put(2)
    assert logged(enforced, "/aws/events/deliv", '"n":2')


# Calls AWS makes as a role: EventBridge Scheduler


def test_scheduler_calls_its_target_as_the_schedules_role(enforced):
    from datetime import datetime, timedelta, timezone

    iam = client(enforced, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    url, arn = queue(enforced, "deliv-from-scheduler")
    allowed = iam.create_role(RoleName="deliv-sched-ok", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="deliv-sched-ok", PolicyName="send", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}]}))
    bare = iam.create_role(RoleName="deliv-sched-bare", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    scheduler = client(enforced, "scheduler")

    def at(seconds):
        when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds)
        return "at(" + when.strftime("%Y-%m-%dT%H:%M:%S") + ")"

    for name, role in [("deliv-bare", bare), ("deliv-ok", allowed)]:
        scheduler.create_schedule(
            Name=name, ScheduleExpression=at(2), FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": role, "Input": name, "RetryPolicy": {"MaximumRetryAttempts": 0}})
    got = bodies(enforced, url, wait=6)
    # Only the role whose policy allows sqs:SendMessage delivered.
    assert [m["Body"] for m in got] == ["deliv-ok"]
