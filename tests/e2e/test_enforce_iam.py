"""ENFORCE_IAM=1 (AUTH=true): signatures verified on every request and IAM
policies evaluated (docs/security.md). Off by default: the last test checks
that cross-account access by URL keeps working without it."""

import datetime
import json
import time
from unittest import mock

import boto3
import botocore.auth
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Gateway

A = "111111111111"
B = "222222222222"


@pytest.fixture(scope="module")
def enforced():
    g = Gateway(env={"ENFORCE_IAM": "1"})
    yield g
    g.close()


def client(g, service, key, secret="test", token=None):
    return boto3.client(
        service,
        endpoint_url=g.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


def error(fn, *args, **kw):
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    return e.value.response


def allow(actions, resource="*", effect="Allow"):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": actions, "Resource": resource}]}
    )


# Authentication


def test_unsigned_requests_are_refused(enforced):
    # awsJson (query-compatible SQS), awsQuery (STS), rest-xml (S3), awsJson (DynamoDB).
    r = requests.post(
        enforced.url + "/",
        data="{}",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"},
    )
    assert r.status_code == 403
    assert r.headers["x-amzn-query-error"].startswith("MissingAuthenticationToken")
    # Unsigned, the service is told by its Host (as AWS's endpoints are).
    r = requests.post(
        enforced.url + "/",
        data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={"Host": "sts.us-east-1.amazonaws.com"},
    )
    assert r.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in r.text
    r = requests.get(enforced.url + "/some-bucket/key")
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    r = requests.post(
        enforced.url + "/",
        data="{}",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    assert r.status_code == 403
    assert r.json()["__type"].endswith("MissingAuthenticationTokenException")


def test_signed_requests_with_the_default_secret_pass(enforced):
    assert client(enforced, "sts", A).get_caller_identity()["Account"] == A
    client(enforced, "sqs", A).list_queues()
    client(enforced, "dynamodb", A).list_tables()
    s3 = client(enforced, "s3", A)
    s3.create_bucket(Bucket="enforce-ok")
    s3.put_object(Bucket="enforce-ok", Key="k", Body=b"x" * 1000)
    assert s3.get_object(Bucket="enforce-ok", Key="k")["Body"].read() == b"x" * 1000


def test_badly_signed_requests_are_refused(enforced):
    e = error(client(enforced, "sts", A, secret="wrong").get_caller_identity)
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("SignatureDoesNotMatch", 403)
    e = error(client(enforced, "sqs", A, secret="wrong").list_queues)
    assert e["Error"]["Code"] == "SignatureDoesNotMatch"
    e = error(client(enforced, "dynamodb", A, secret="wrong").list_tables)
    assert e["Error"]["Code"] == "InvalidSignatureException"
    e = error(client(enforced, "s3", A, secret="wrong").list_buckets)
    assert e["Error"]["Code"] == "SignatureDoesNotMatch"
    # A body changed after signing: its hash is part of the signature.
    sqs = client(enforced, "sqs", A)

    def tamper(request, **_):
        # Same length, so only the signature can tell.
        request.body = request.body.replace(b"prefix-a", b"prefix-b")

    sqs.meta.events.register_last("before-send.sqs.ListQueues", tamper)
    e = error(sqs.list_queues, QueueNamePrefix="prefix-a")
    assert e["Error"]["Code"] == "SignatureDoesNotMatch"


def test_skewed_requests_are_refused(enforced):
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: past):
        e = error(client(enforced, "sts", A).get_caller_identity)
        assert e["Error"]["Code"] == "SignatureDoesNotMatch"
        assert e["Error"]["Message"].startswith("Signature expired: ")
        e = error(client(enforced, "dynamodb", A).list_tables)
        assert e["Error"]["Code"] == "InvalidSignatureException"
        e = error(client(enforced, "s3", A).list_buckets)
        assert e["Error"]["Code"] == "RequestTimeTooSkewed"
    # Ten minutes is within AWS's 15.
    near = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: near):
        client(enforced, "sts", A).get_caller_identity()


def test_presigned_urls_expire_and_need_their_signature(enforced):
    s3 = client(enforced, "s3", A)
    s3.create_bucket(Bucket="enforce-presign")
    s3.put_object(Bucket="enforce-presign", Key="k", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "enforce-presign", "Key": "k"}, ExpiresIn=1)
    assert requests.get(url).content == b"hello"
    # Without its signature the URL is refused as S3 does: the other
    # X-Amz-* parameters need X-Amz-Signature (docs/security.md).
    stripped = "&".join(p for p in url.split("&") if not p.startswith(("X-Amz-Signature=", "Signature=")))
    assert stripped != url
    r = requests.get(stripped)
    assert r.status_code == 400 and "<Code>AuthorizationQueryParametersError</Code>" in r.text
    time.sleep(2.1)
    r = requests.get(url)
    assert r.status_code == 403 and "Request has expired" in r.text


# Authorization


@pytest.fixture(scope="module")
def alice(enforced):
    iam = client(enforced, "iam", A)
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_user_without_policy_denied_with_policy_allowed_with_deny_denied(enforced, alice):
    root = client(enforced, "sqs", A)
    url = root.create_queue(QueueName="enforce-q")["QueueUrl"]
    sqs = client(enforced, "sqs", *alice)
    e = error(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert e["Error"]["Code"] == "AccessDenied"
    assert e["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e["Error"]["Message"] == (
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: sqs:SendMessage "
        f"on resource: arn:aws:sqs:us-east-1:{A}:enforce-q "
        "because no identity-based policy allows the sqs:SendMessage action"
    )
    # JSON services answer AccessDeniedException.
    e = error(client(enforced, "dynamodb", *alice).list_tables)
    assert e["Error"]["Code"] == "AccessDeniedException"

    iam = client(enforced, "iam", A)
    iam.put_user_policy(UserName="alice", PolicyName="sqs", PolicyDocument=allow(["sqs:SendMessage", "sqs:GetQueueUrl"]))
    assert sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    # Still nothing else.
    e = error(sqs.receive_message, QueueUrl=url)
    assert "sqs:ReceiveMessage" in e["Error"]["Message"]

    iam.put_user_policy(
        UserName="alice",
        PolicyName="deny",
        PolicyDocument=allow("sqs:SendMessage", f"arn:aws:sqs:*:{A}:enforce-*", "Deny"),
    )
    e = error(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert e["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")
    iam.delete_user_policy(UserName="alice", PolicyName="deny")
    sqs.send_message(QueueUrl=url, MessageBody="x")


def test_group_and_managed_policies_count(enforced):
    iam = client(enforced, "iam", A)
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    ddb = client(enforced, "dynamodb", key["AccessKeyId"], key["SecretAccessKey"])
    error(ddb.list_tables)
    arn = iam.create_policy(PolicyName="ddb-list", PolicyDocument=allow("dynamodb:ListTables"))["Policy"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=arn)
    iam.add_user_to_group(GroupName="readers", UserName="bob")
    ddb.list_tables()


def test_assumed_role_is_limited_by_its_session_policy(enforced, alice):
    iam = client(enforced, "iam", A)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="worker", PolicyName="sqs", PolicyDocument=allow("sqs:*"))
    url = client(enforced, "sqs", A).create_queue(QueueName="enforce-role-q")["QueueUrl"]

    # alice needs sts:AssumeRole herself: the trust policy names the account.
    sts = client(enforced, "sts", *alice)
    e = error(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1")
    assert "sts:AssumeRole" in e["Error"]["Message"]
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole"))
    creds = sts.assume_role(
        RoleArn=role["Arn"],
        RoleSessionName="s1",
        Policy=allow(["sqs:GetQueueAttributes"]),
    )["Credentials"]
    sqs = client(enforced, "sqs", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    e = error(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert e["Error"]["Message"] == (
        f"User: arn:aws:sts::{A}:assumed-role/worker/s1 is not authorized to perform: sqs:SendMessage "
        f"on resource: arn:aws:sqs:us-east-1:{A}:enforce-role-q "
        "because no session policy allows the sqs:SendMessage action"
    )
    # Without a session policy the role's own policy decides.
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="t1")["Credentials"]
    sqs = client(enforced, "sqs", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sqs.send_message(QueueUrl=url, MessageBody="x")


def test_cross_account_sqs_send_needs_the_queue_policy(enforced):
    url = client(enforced, "sqs", B).create_queue(QueueName="enforce-b-q")["QueueUrl"]
    a = client(enforced, "sqs", A)
    e = error(a.send_message, QueueUrl=url, MessageBody="x")
    assert e["Error"]["Message"] == (
        f"User: arn:aws:iam::{A}:root is not authorized to perform: sqs:SendMessage "
        f"on resource: arn:aws:sqs:us-east-1:{B}:enforce-b-q "
        "because no resource-based policy allows the sqs:SendMessage action"
    )
    error(a.purge_queue, QueueUrl=url)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:us-east-1:{B}:enforce-b-q",
            }
        ],
    }
    client(enforced, "sqs", B).set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    a.send_message(QueueUrl=url, MessageBody="from A")
    # Only what the policy names.
    error(a.purge_queue, QueueUrl=url)
    msgs = client(enforced, "sqs", B).receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert msgs[0]["Body"] == "from A"


def test_bucket_policy_denying_another_account_is_honoured(enforced):
    s3a = client(enforced, "s3", A)
    s3a.create_bucket(Bucket="enforce-shared")
    s3a.put_object(Bucket="enforce-shared", Key="doc", Body=b"data")
    s3b = client(enforced, "s3", B)
    # Another account's bucket: no policy, no access.
    e = error(s3b.get_object, Bucket="enforce-shared", Key="doc")
    assert e["Error"]["Code"] == "AccessDenied"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::enforce-shared/*",
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": B},
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::enforce-shared/*",
            },
        ],
    }
    s3a.put_bucket_policy(Bucket="enforce-shared", Policy=json.dumps(policy))
    assert s3b.get_object(Bucket="enforce-shared", Key="doc")["Body"].read() == b"data"
    e = error(s3b.delete_object, Bucket="enforce-shared", Key="doc")
    assert e["Error"]["Code"] == "AccessDenied"
    assert e["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")
    e = error(s3b.put_object, Bucket="enforce-shared", Key="new", Body=b"x")
    assert e["Error"]["Code"] == "AccessDenied"
    assert s3a.get_object(Bucket="enforce-shared", Key="doc")["Body"].read() == b"data"


def test_strict_mode_refuses_keys_the_gateway_did_not_issue(make_gateway):
    g = make_gateway(env={"AUTH": "true", "ENFORCE_IAM_DEFAULT_CREDENTIALS": "0"})
    e = error(client(g, "sts", "test").get_caller_identity)
    assert e["Error"]["Code"] == "InvalidClientTokenId"
    e = error(client(g, "s3", "test").list_buckets)
    assert e["Error"]["Code"] == "InvalidAccessKeyId"


def test_without_enforcement_cross_account_access_by_url_works(gateway):
    url = gateway.client("sqs", account=B).create_queue(QueueName="open-b-q")["QueueUrl"]
    a = gateway.client("sqs", account=A)
    a.send_message(QueueUrl=url, MessageBody="hi")
    a.purge_queue(QueueUrl=url)
    # Unsigned and badly signed requests are served too.
    gateway.client("sts", account=A, secret="wrong").get_caller_identity()
