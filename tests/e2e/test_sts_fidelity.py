"""STS fidelity (issue 25): local conveniences (web identity tokens,
access key info) and role names refused as IAM refuses them."""

import pytest
import botocore

ACCOUNT = "111111111111"


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.mark.parametrize("token", ["dummy-token", "x" * 40, "not.a.jwt"])
def test_web_identity_accepts_any_non_empty_token(gateway, token):
    sts = gateway.client("sts", account=ACCOUNT)
    out = sts.assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ci", RoleSessionName="s1", WebIdentityToken=token)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/s1"
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    # The RoleArn is still checked.
    err = error_of(sts.assume_role_with_web_identity, RoleArn="arn:aws:iam::1:role/ci",
                   RoleSessionName="s1", WebIdentityToken=token)
    assert err["Error"]["Code"] == "ValidationError"


@pytest.mark.parametrize("key", ["AKIAIOSFODNN7EXAMPLE", "ASIAXXXXXXXXXXXXXXXX", "AKIA0123456789ABCDEF"])
def test_get_access_key_info_accepts_any_key_id(gateway, key):
    out = gateway.client("sts", account=ACCOUNT).get_access_key_info(AccessKeyId=key)
    assert len(out["Account"]) == 12 and out["Account"].isdigit()


@pytest.mark.parametrize("role_arn", [
    f"arn:aws:iam::{ACCOUNT}:role/bad:name",
    f"arn:aws:iam::{ACCOUNT}:role:name",
    f"arn:aws:iam::{ACCOUNT}:role/path/bad:name",
])
def test_role_names_with_a_colon_are_refused(gateway, role_arn):
    sts = gateway.client("sts", account=ACCOUNT)
    for call in (
        lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1"),
        lambda: sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken="tok-1"),
    ):
        err = error_of(call)
        assert err["Error"]["Code"] == "ValidationError", err


def test_a_colon_in_the_role_path_is_legal(gateway):
    sts = gateway.client("sts", account=ACCOUNT)
    arn = f"arn:aws:iam::{ACCOUNT}:role/team:a/deployer"
    out = sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s1"
