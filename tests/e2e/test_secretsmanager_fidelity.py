"""Secrets Manager fidelity (issue 25): other regions' and accounts' ARNs,
local conveniences (unknown KmsKeyId, rotation config without Lambda),
multi-Region replicas and events."""

import time
import uuid

import botocore
import pytest

ACCOUNT = "000000000000"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def sm(gateway):
    return gateway.client("secretsmanager")


def test_partial_and_full_arns_of_another_region_or_account(sm):
    name = f"fid/{uid()}"
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    partial = arn.rsplit("-", 1)[0]
    assert sm.get_secret_value(SecretId=partial)["SecretString"] == "v"
    for other in (arn.replace(":us-east-1:", ":us-west-2:"), partial.replace(":us-east-1:", ":us-west-2:")):
        err = error_of(sm.get_secret_value, SecretId=other)
        assert err["Error"]["Code"] == "ResourceNotFoundException", err
        err = error_of(sm.put_secret_value, SecretId=other, SecretString="w")
        assert err["Error"]["Code"] == "ResourceNotFoundException", err
    err = error_of(sm.get_secret_value, SecretId=partial.replace(ACCOUNT, "111122223333"))
    assert err["Error"]["Code"] == "AccessDeniedException", err
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v"


def test_an_unknown_kms_key_id_is_accepted_and_echoed(sm):
    name = f"fid/{uid()}"
    key = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key)
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == key
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    sm.update_secret(SecretId=name, KmsKeyId="alias/not-in-kms", SecretString="w")
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == "alias/not-in-kms"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "w"


def test_rotate_secret_without_a_lambda_plugin_records_the_configuration(make_gateway):
    g = make_gateway(env={"SERVICES": "secretsmanager"})
    sm = g.client("secretsmanager")
    name = f"fid/{uid()}"
    sm.create_secret(Name=name, SecretString="v")
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator"
    out = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 7})
    assert out["Name"] == name and out["VersionId"]
    d = sm.describe_secret(SecretId=name)
    assert d["RotationEnabled"] is True
    assert d["RotationLambdaARN"] == fn
    assert d["RotationRules"]["AutomaticallyAfterDays"] == 7
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
