"""EventBridge API destinations over HTTPS: the `http` capability trusts
MINISTACK_CA_BUNDLE, so a rule's API destination target on a local TLS
server (a throwaway CA from test_https_out) receives the event with the
connection's Basic credentials; an untrusted certificate is a delivery
failure that goes to the target's DLQ."""

import base64
import json
import time
import uuid

import pytest

from test_https_out import TlsReceiver, make_ca_and_server_cert


def uid():
    return uuid.uuid4().hex[:10]


@pytest.fixture
def tls(tmp_path):
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    r = TlsReceiver(cert, key)
    yield ca, r
    r.close()


def api_destination_rule(events, url, source, **target):
    conn = events.create_connection(Name=f"c-{uid()}", AuthorizationType="BASIC", AuthParameters={
        "BasicAuthParameters": {"Username": "user", "Password": "pw"}})["ConnectionArn"]
    dest = events.create_api_destination(Name=f"d-{uid()}", ConnectionArn=conn, HttpMethod="POST",
                                         InvocationEndpoint=url)["ApiDestinationArn"]
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "api", "Arn": dest, **target}])


def test_an_https_api_destination_receives_events(make_gateway, tls):
    ca, receiver = tls
    g = make_gateway(env={"MINISTACK_CA_BUNDLE": str(ca), "SERVICES": "events,sqs"})
    events = g.client("events")
    api_destination_rule(events, receiver.url, "tls.app")
    events.put_events(Entries=[{"Source": "tls.app", "DetailType": "t", "Detail": json.dumps({"n": 1})}])
    headers, body = receiver.next()
    assert json.loads(body)["detail"] == {"n": 1}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


def test_an_untrusted_https_destination_is_dead_lettered(make_gateway, tls):
    _, receiver = tls
    g = make_gateway(env={"SERVICES": "events,sqs"})
    events, sqs = g.client("events"), g.client("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uid()}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    api_destination_rule(events, receiver.url, "tls.untrusted",
                         RetryPolicy={"MaximumRetryAttempts": 0}, DeadLetterConfig={"Arn": dlq_arn})
    events.put_events(Entries=[{"Source": "tls.untrusted", "DetailType": "t", "Detail": "{}"}])
    deadline = time.time() + 10
    got = []
    while not got and time.time() < deadline:
        got = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
    assert got, "nothing in the DLQ"
    attrs = got[0]["MessageAttributes"]
    assert attrs["ERROR_CODE"]["StringValue"] == "SDK_CLIENT_ERROR"
    assert "UnknownIssuer" in attrs["ERROR_MESSAGE"]["StringValue"] or "certificate" in attrs["ERROR_MESSAGE"]["StringValue"].lower()
    assert receiver.requests.empty()
