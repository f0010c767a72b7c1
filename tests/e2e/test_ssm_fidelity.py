"""SSM fidelity (issue 25): regional endpoints refuse other regions' ARNs,
ARNs are not names for deletion, reserved prefixes are worded as AWS does."""

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
def ssm(gateway):
    return gateway.client("ssm")


def test_get_parameter_by_arn_of_this_region_other_region_and_other_account(ssm):
    name = f"/fid/{uid()}"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    arn = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}"
    assert ssm.get_parameter(Name=arn)["Parameter"]["Value"] == "v"
    # The us-east-1 endpoint does not serve a us-west-2 parameter.
    other_region = f"arn:aws:ssm:us-west-2:{ACCOUNT}:parameter{name}"
    err = error_of(ssm.get_parameter, Name=other_region)
    assert err["Error"]["Code"] == "ValidationException", err
    err = error_of(ssm.get_parameters, Names=[other_region])
    assert err["Error"]["Code"] == "ValidationException", err
    # Another account's parameter is not shared with the caller.
    other_account = f"arn:aws:ssm:us-east-1:111122223333:parameter{name}"
    err = error_of(ssm.get_parameter, Name=other_account)
    assert err["Error"]["Code"] == "AccessDeniedException", err


def test_delete_parameter_refuses_an_arn(ssm):
    name = f"/fid/{uid()}"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    arn = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}"
    # DeleteParameter takes the name itself, not the ARN.
    err = error_of(ssm.delete_parameter, Name=arn)
    assert err["Error"]["Code"] == "ParameterNotFound", err
    out = ssm.delete_parameters(Names=[arn])
    assert out["InvalidParameters"] == [arn] and out["DeletedParameters"] == []
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "v"


@pytest.mark.parametrize("name", ["aws-thing", "/aws/thing", "AWS/x", "awsx"])
def test_names_prefixed_with_aws_are_access_denied(ssm, name):
    err = error_of(ssm.put_parameter, Name=name, Value="v", Type="String")
    assert err["Error"]["Code"] == "AccessDeniedException", err
    assert "No access to reserved parameter name" in err["Error"]["Message"]


@pytest.mark.parametrize("name", ["ssm-thing", "/ssm/thing", "SSM.x"])
def test_names_prefixed_with_ssm_are_refused(ssm, name):
    err = error_of(ssm.put_parameter, Name=name, Value="v", Type="String")
    assert err["Error"]["Code"] == "ValidationException", err
    assert "can't be prefixed with \"ssm\" (case-insensitive)" in err["Error"]["Message"]
