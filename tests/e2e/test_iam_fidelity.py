"""IAM fidelity (issue 25): AWS's managed policy catalog with its documents;
AWS managed policies cannot be deleted, tagged or versioned."""

import json

import botocore
import pytest


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def iam(gateway):
    return gateway.client("iam")


@pytest.mark.parametrize("arn,action", [
    ("arn:aws:iam::aws:policy/service-role/AWSLambdaRole", "lambda:InvokeFunction"),
    ("arn:aws:iam::aws:policy/AWSXrayReadOnlyAccess", "xray:BatchGetTraces"),
    ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", "ec2:CreateSecurityGroup"),
    ("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "ssmmessages:CreateControlChannel"),
])
def test_managed_policies_carry_aws_documents(iam, arn, action):
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["Arn"] == arn and p["IsAttachable"] is True
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
    if isinstance(doc, str):
        from urllib.parse import unquote
        doc = json.loads(unquote(doc))
    actions = []
    for st in doc["Statement"]:
        a = st.get("Action", [])
        actions += [a] if isinstance(a, str) else a
    assert action in actions, actions


def test_the_catalog_is_complete(iam):
    names = set()
    for page in iam.get_paginator("list_policies").paginate(Scope="AWS"):
        names |= {p["PolicyName"] for p in page["Policies"]}
    assert len(names) > 1000
    assert {"AdministratorAccess", "AWSLambdaRole", "AmazonEKSClusterPolicy", "AWSXrayReadOnlyAccess"} <= names


def test_aws_managed_policies_cannot_be_changed(iam):
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for call in (
        lambda: iam.delete_policy(PolicyArn=arn),
        lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: iam.untag_policy(PolicyArn=arn, TagKeys=["k"]),
        lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
    ):
        err = error_of(call)
        assert err["Error"]["Code"] == "AccessDenied", err
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
