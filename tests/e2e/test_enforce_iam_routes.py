"""ENFORCE_IAM=1 beyond the modelled operations (docs/security.md): raw
routes where AWS authorizes the request (function URLs with AuthType
AWS_IAM, S3 Control tagging), the gateway's own routes left open, and the
connection's condition keys (aws:SourceIp, aws:SecureTransport over
USE_SSL)."""

import io
import json
import urllib.parse
import zipfile

import boto3
import pytest
import requests
import urllib3
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import Gateway

A = "111111111111"
B = "222222222222"
ROLE = f"arn:aws:iam::{A}:role/r"


@pytest.fixture(scope="module")
def enforced():
    g = Gateway(env={"ENFORCE_IAM": "1"})
    yield g
    g.close()


def client(g, service, key, secret="test", url=None, **kw):
    return boto3.client(
        service,
        endpoint_url=url or g.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
        **kw,
    )


def policy(actions, resource="*", effect="Allow", condition=None):
    statement = {"Effect": effect, "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def signed(method, url, key, secret="test", service="lambda", data=b""):
    """A request signed with SigV4 as an SDK would sign it."""
    req = AWSRequest(method=method, url=url, data=data)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    return requests.request(method, url, data=data, headers=dict(req.headers.items()), timeout=30)


def user(g, name, policy_document=None):
    iam = client(g, "iam", A)
    iam.create_user(UserName=name)
    if policy_document:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy_document)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def function_url(g, auth_type, name=None):
    lam = client(g, "lambda", A)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n")
    name = name or f"url-{auth_type.lower()}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()}, Timeout=10)
    cfg = lam.create_function_url_config(FunctionName=name, AuthType=auth_type)
    url_id = cfg["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    return name, f"{g.url}/_aws/lambda-url/{url_id}/"


def test_function_url_with_aws_iam_needs_lambda_invoke_function_url(enforced):
    name, url = function_url(enforced, "AWS_IAM")
    # Unsigned, and signed with a wrong secret: refused before the function runs.
    assert requests.get(url, timeout=30).status_code == 403
    assert signed("GET", url, A, secret="wrong").status_code == 403
    # The owner's root.
    r = signed("GET", url, A)
    assert r.status_code == 200 and r.text == "hi"
    # A user needs lambda:InvokeFunctionUrl.
    arn = f"arn:aws:lambda:us-east-1:{A}:function:{name}"
    nobody = user(enforced, "url-nobody")
    r = signed("GET", url, *nobody)
    assert r.status_code == 403 and "lambda:InvokeFunctionUrl" in r.text
    invoker = user(enforced, "url-invoker", policy("lambda:InvokeFunctionUrl", arn))
    assert signed("POST", url, *invoker, data=b"x").status_code == 200
    # lambda:InvokeFunction is another action.
    invoke_only = user(enforced, "url-invoke-only", policy("lambda:InvokeFunction", arn))
    assert signed("GET", url, *invoke_only).status_code == 403
    # Another account needs the function's policy (with the URL's auth type).
    assert signed("GET", url, B).status_code == 403
    client(enforced, "lambda", A).add_permission(
        FunctionName=name, StatementId="b", Action="lambda:InvokeFunctionUrl",
        Principal=B, FunctionUrlAuthType="AWS_IAM",
    )
    assert signed("GET", url, B).status_code == 200


def test_function_url_with_auth_type_none_stays_open(enforced):
    _, url = function_url(enforced, "NONE")
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.text == "hi"


def test_gateway_routes_stay_open(enforced):
    assert requests.get(enforced.url + "/_ministack/health", timeout=5).status_code == 200
    # A plugin's own /_ministack/ raw route (SQS's message peek) is not an AWS API.
    r = requests.get(enforced.url + "/_ministack/sqs/messages", timeout=5)
    assert r.status_code == 200


def test_s3_control_tagging_needs_tag_resource(enforced):
    client(enforced, "s3", A).create_bucket(Bucket="control-tags")
    arn = urllib.parse.quote("arn:aws:s3:::control-tags", safe="")
    url = f"{enforced.url}/v20180820/tags/{arn}"
    body = (b'<TagResourceRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">'
            b"<Tags><Tag><Key>k</Key><Value>v</Value></Tag></Tags></TagResourceRequest>")

    def control(method, key, secret="test", data=b""):
        req = AWSRequest(method=method, url=url, data=data, headers={"x-amz-account-id": A})
        S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(req)
        return requests.request(method, url, data=data, headers=dict(req.headers.items()), timeout=30)

    assert requests.post(url, data=body, headers={"x-amz-account-id": A}, timeout=30).status_code == 403
    tagger = user(enforced, "control-tagger", policy("s3:ListTagsForResource"))
    r = control("POST", *tagger, data=body)
    assert r.status_code == 403 and "s3:TagResource" in r.text
    assert control("POST", A, data=body).status_code in (200, 204)
    r = control("GET", *tagger)
    assert r.status_code == 200 and "<Key>k</Key>" in r.text


def test_source_ip_is_the_peer_address(enforced):
    url = client(enforced, "sqs", A).create_queue(QueueName="from-ip")["QueueUrl"]
    elsewhere = user(enforced, "ip-elsewhere", policy("sqs:*", condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    local = user(enforced, "ip-local", policy("sqs:*", condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    with pytest.raises(ClientError) as e:
        client(enforced, "sqs", *elsewhere).send_message(QueueUrl=url, MessageBody="x")
    assert e.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    client(enforced, "sqs", *local).send_message(QueueUrl=url, MessageBody="x")
    # A resource policy denying other addresses does not touch the local caller.
    client(enforced, "sqs", A).set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
                       "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.1/32", "::1/128"]}}}],
    })})
    client(enforced, "sqs", *local).send_message(QueueUrl=url, MessageBody="y")


def test_secure_transport_is_true_over_tls(make_gateway):
    urllib3.disable_warnings()
    g = make_gateway(env={"ENFORCE_IAM": "1", "USE_SSL": "1"})
    s3 = client(g, "s3", A)
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::tls-only/*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    }))
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="tls-only", Key="k", Body=b"plain")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    over_tls = client(g, "s3", A, url=f"https://127.0.0.1:{g.port}", verify=False)
    over_tls.put_object(Bucket="tls-only", Key="k", Body=b"tls")
    assert over_tls.get_object(Bucket="tls-only", Key="k")["Body"].read() == b"tls"


def test_a_large_invoke_payload_stored_in_a_blob_is_checked_against_its_signature(enforced):
    # Over 1 MiB the payload goes to a blob as it arrives (docs/security.md):
    # its signed SHA-256 is the one taken while it was written.
    name, _ = function_url(enforced, "NONE", name="large-payload")
    payload = json.dumps({"p": "s" * (2 << 20)})
    out = client(enforced, "lambda", A).invoke(FunctionName=name, Payload=payload)
    assert out["StatusCode"] == 200
    with pytest.raises(ClientError) as e:
        client(enforced, "lambda", A, secret="wrong").invoke(FunctionName=name, Payload=payload)
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
