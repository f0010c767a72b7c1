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


# --- beyond Parameter Store --------------------------------------------------

DOC = {
    "schemaVersion": "2.2",
    "description": "Say hello",
    "parameters": {"who": {"type": "String", "default": "world", "description": "whom"}},
    "mainSteps": [{"action": "aws:runShellScript", "name": "hello",
                   "inputs": {"runCommand": ["echo hello {{ who }}"]}}],
}


def test_documents_and_their_versions(ssm):
    import json
    name = f"fid-doc-{uid()}"
    d = ssm.create_document(Name=name, Content=json.dumps(DOC), DocumentType="Command",
                            DocumentFormat="JSON", VersionName="first")["DocumentDescription"]
    assert (d["Name"], d["DocumentVersion"], d["DefaultVersion"], d["LatestVersion"]) == (name, "1", "1", "1")
    assert d["Status"] == "Active" and d["DocumentType"] == "Command" and d["Description"] == "Say hello"
    assert d["Parameters"][0]["Name"] == "who" and d["Parameters"][0]["DefaultValue"] == "world"
    err = error_of(ssm.create_document, Name=name, Content=json.dumps(DOC))
    assert err["Error"]["Code"] == "DocumentAlreadyExists"
    err = error_of(ssm.create_document, Name=f"bad-{uid()}", Content="{not json")
    assert err["Error"]["Code"] == "InvalidDocumentContent"

    v2 = dict(DOC, description="Say hello twice")
    d = ssm.update_document(Name=name, Content=json.dumps(v2), DocumentVersion="$LATEST")["DocumentDescription"]
    assert (d["DocumentVersion"], d["LatestVersion"], d["DefaultVersion"]) == ("2", "2", "1")
    err = error_of(ssm.update_document, Name=name, Content=json.dumps(v2), DocumentVersion="$LATEST")
    assert err["Error"]["Code"] == "DuplicateDocumentContent"
    assert json.loads(ssm.get_document(Name=name)["Content"])["description"] == "Say hello"
    got = ssm.get_document(Name=name, DocumentVersion="2")
    assert json.loads(got["Content"])["description"] == "Say hello twice" and got["DocumentVersion"] == "2"
    out = ssm.update_document_default_version(Name=name, DocumentVersion="2")["Description"]
    assert out == {"Name": name, "DefaultVersion": "2"}
    assert ssm.describe_document(Name=name)["Document"]["DefaultVersion"] == "2"
    versions = ssm.list_document_versions(Name=name)["DocumentVersions"]
    assert [(v["DocumentVersion"], v["IsDefaultVersion"]) for v in versions] == [("1", False), ("2", True)]
    assert versions[0]["VersionName"] == "first"
    listed = ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"]
    assert name in [x["Name"] for x in listed]
    ssm.delete_document(Name=name)
    err = error_of(ssm.get_document, Name=name)
    assert err["Error"]["Code"] == "InvalidDocument"


def test_associations_windows_ops_items_and_inventory(ssm):
    import json
    name = f"fid-doc-{uid()}"
    ssm.create_document(Name=name, Content=json.dumps(DOC), DocumentType="Command")
    a = ssm.create_association(Name=name, Targets=[{"Key": "tag:env", "Values": ["dev"]}],
                               ScheduleExpression="rate(30 minutes)", AssociationName="hello")["AssociationDescription"]
    aid = a["AssociationId"]
    assert a["AssociationVersion"] == "1" and a["Overview"]["Status"] == "Pending"
    assert ssm.describe_association(AssociationId=aid)["AssociationDescription"]["AssociationName"] == "hello"
    u = ssm.update_association(AssociationId=aid, ScheduleExpression="rate(1 hour)")["AssociationDescription"]
    assert u["AssociationVersion"] == "2" and u["ScheduleExpression"] == "rate(1 hour)"
    assert aid in [x["AssociationId"] for x in ssm.list_associations()["Associations"]]
    ssm.delete_association(AssociationId=aid)
    assert error_of(ssm.describe_association, AssociationId=aid)["Error"]["Code"] == "AssociationDoesNotExist"
    assert error_of(ssm.create_association, Name=f"nope-{uid()}")["Error"]["Code"] == "InvalidDocument"

    wid = ssm.create_maintenance_window(Name="patch", Schedule="cron(0 2 ? * SUN *)", Duration=3, Cutoff=1,
                                        AllowUnassociatedTargets=False)["WindowId"]
    assert wid.startswith("mw-")
    w = ssm.get_maintenance_window(WindowId=wid)
    assert (w["Name"], w["Duration"], w["Cutoff"], w["Enabled"]) == ("patch", 3, 1, True)
    ssm.update_maintenance_window(WindowId=wid, Enabled=False)
    assert ssm.get_maintenance_window(WindowId=wid)["Enabled"] is False
    assert wid in [x["WindowId"] for x in ssm.describe_maintenance_windows()["WindowIdentities"]]
    ssm.delete_maintenance_window(WindowId=wid)
    assert error_of(ssm.get_maintenance_window, WindowId=wid)["Error"]["Code"] == "DoesNotExistException"

    oid = ssm.create_ops_item(Title="disk full", Source="ec2", Description="d",
                              OperationalData={"k": {"Value": "v", "Type": "String"}})["OpsItemId"]
    item = ssm.get_ops_item(OpsItemId=oid)["OpsItem"]
    assert (item["Title"], item["Status"]) == ("disk full", "Open")
    ssm.update_ops_item(OpsItemId=oid, Status="Resolved")
    assert ssm.get_ops_item(OpsItemId=oid)["OpsItem"]["Status"] == "Resolved"
    assert error_of(ssm.get_ops_item, OpsItemId="oi-000000000000")["Error"]["Code"] == "OpsItemNotFoundException"

    ssm.put_inventory(InstanceId="i-0123456789abcdef0", Items=[{
        "TypeName": "Custom:App", "SchemaVersion": "1.0", "CaptureTime": "2026-01-01T00:00:00Z",
        "Content": [{"Name": "web", "Version": "1.2"}]}])
    out = ssm.list_inventory_entries(InstanceId="i-0123456789abcdef0", TypeName="Custom:App")
    assert out["Entries"] == [{"Name": "web", "Version": "1.2"}]
    assert error_of(ssm.put_inventory, InstanceId="i-0123456789abcdef0",
                    Items=[{"TypeName": "Bad", "SchemaVersion": "1.0", "CaptureTime": "2026-01-01T00:00:00Z"}]
                    )["Error"]["Code"] == "InvalidTypeNameException"


def test_sessions_answer_a_clear_error(ssm):
    err = error_of(ssm.start_session, Target="i-0123456789abcdef0")
    assert err["Error"]["Code"] == "TargetNotConnected"
    assert "agent" in err["Error"]["Message"]
