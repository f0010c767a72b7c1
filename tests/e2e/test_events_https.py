"""EventBridge API destinations over HTTPS: the `http` capability trusts
MINISTACK_CA_BUNDLE, so a rule's API destination target on a local TLS
server (a throwaway CA from test_https_out) receives the event with the
connection's Basic credentials; an OAuth client-credentials connection
gets a token from its authorization endpoint (once) and sends it as a
bearer token; an untrusted certificate is a delivery failure that goes to
the target's DLQ."""

import base64
import http.server
import json
import queue
import ssl
import threading
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


class OAuthServer:
    """HTTPS: POST /token answers an access token, POST /hook records."""

    def __init__(self, cert, key):
        self.tokens = queue.Queue()
        self.hooks = queue.Queue()
        self.hook_delay = 0.5
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.startswith("/token"):
                    outer.tokens.put((self.path, headers, body))
                    out = json.dumps({"access_token": "tok-123", "token_type": "Bearer", "expires_in": 3600}).encode()
                else:
                    outer.hooks.put((headers, body))
                    # Answer late: the test's next event is then delivered
                    # while this delivery still waits, so a token cached only
                    # when a delivery ends would be fetched again.
                    time.sleep(outer.hook_delay)
                    out = b""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_oauth_client_credentials_over_https(make_gateway, tmp_path):
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    server = OAuthServer(cert, key)
    try:
        g = make_gateway(env={"MINISTACK_CA_BUNDLE": str(ca), "SERVICES": "events,sqs"})
        events = g.client("events")
        conn = events.create_connection(Name=f"c-{uid()}", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "my-client", "ClientSecret": "my-secret"},
                "AuthorizationEndpoint": server.base + "/token", "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "events", "IsValueSecret": False}]},
            }})["ConnectionArn"]
        dest = events.create_api_destination(Name=f"d-{uid()}", ConnectionArn=conn, HttpMethod="POST",
                                             InvocationEndpoint=server.base + "/hook")["ApiDestinationArn"]
        rule = f"r-{uid()}"
        events.put_rule(Name=rule, EventPattern='{"source": ["oauth.app"]}')
        events.put_targets(Rule=rule, Targets=[{"Id": "api", "Arn": dest}])
        for n in range(2):
            events.put_events(Entries=[{"Source": "oauth.app", "DetailType": "t", "Detail": json.dumps({"n": n})}])
            headers, body = server.hooks.get(timeout=10)
            assert headers["authorization"] == "Bearer tok-123"
            assert json.loads(body)["detail"] == {"n": n}
        path, headers, body = server.tokens.get(timeout=1)
        assert headers["authorization"] == "Basic " + base64.b64encode(b"my-client:my-secret").decode()
        assert "grant_type=client_credentials" in body and "scope=events" in body
        assert server.tokens.empty(), "the token was fetched again instead of reused"
        # The internal operation behind it answers the cached token, and
        # AWS-shaped errors for a connection it cannot serve.
        r = g.json_call("AWSEvents", "MinistackInternalFetchOAuthToken", {"ConnectionArn": conn}, version="1.1")
        assert r.status_code == 200 and r.json() == {"AccessToken": "tok-123"}
        assert server.tokens.empty()
        basic = events.create_connection(Name=f"c-{uid()}", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})["ConnectionArn"]
        r = g.json_call("AWSEvents", "MinistackInternalFetchOAuthToken", {"ConnectionArn": basic}, version="1.1")
        assert r.status_code == 400 and r.json()["__type"].endswith("ValidationException")
        r = g.json_call("AWSEvents", "MinistackInternalFetchOAuthToken", {"ConnectionArn": conn + "x"}, version="1.1")
        assert r.status_code == 400 and r.json()["__type"].endswith("ResourceNotFoundException")
    finally:
        server.server.shutdown()
