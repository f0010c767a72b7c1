"""SSM documents (issue 25): content validation (JSON and YAML), versions,
AWS-owned documents, sharing permissions and tags, from the SSM API
reference."""

import json
import uuid

import botocore
import pytest

CONTENT = {
    "schemaVersion": "2.2",
    "description": "Say hello",
    "parameters": {"who": {"type": "String", "default": "world", "description": "Whom"}},
    "mainSteps": [{"action": "aws:runShellScript", "name": "hello",
                   "inputs": {"runCommand": ["echo hello {{ who }}"]}}],
}

YAML = """schemaVersion: '2.2'
description: Say hello in YAML
parameters:
  who:
    type: String
    default: world
mainSteps:
  - action: aws:runShellScript
    name: hello
    inputs:
      runCommand:
        - echo hello {{ who }}
"""


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]


@pytest.fixture
def ssm(gateway):
    return gateway.client("ssm")


def test_invalid_json_and_yaml_content_is_invalid_document_content(ssm):
    err = error_of(ssm.create_document, Name=f"bad-{uid()}", Content="{not json", DocumentType="Command")
    assert err["Code"] == "InvalidDocumentContent", err
    err = error_of(ssm.create_document, Name=f"bad-{uid()}", Content="key: [unclosed",
                   DocumentType="Command", DocumentFormat="YAML")
    assert err["Code"] == "InvalidDocumentContent", err
    # A YAML scalar is not a document.
    err = error_of(ssm.create_document, Name=f"bad-{uid()}", Content="just text",
                   DocumentType="Command", DocumentFormat="YAML")
    assert err["Code"] == "InvalidDocumentContent", err


def test_yaml_document_is_parsed_for_parameters_and_description(ssm):
    name = f"yaml-{uid()}"
    d = ssm.create_document(Name=name, Content=YAML, DocumentType="Command",
                            DocumentFormat="YAML")["DocumentDescription"]
    assert d["DocumentFormat"] == "YAML" and d["SchemaVersion"] == "2.2"
    assert d["Description"] == "Say hello in YAML"
    assert d["Parameters"] == [{"Name": "who", "Type": "String", "DefaultValue": "world"}]
    got = ssm.get_document(Name=name)
    assert got["Content"] == YAML and got["DocumentFormat"] == "YAML"
    # Asked for as JSON, the YAML document is converted.
    as_json = ssm.get_document(Name=name, DocumentFormat="JSON")
    assert as_json["DocumentFormat"] == "JSON"
    assert json.loads(as_json["Content"])["mainSteps"][0]["name"] == "hello"


def test_document_versions_and_default(ssm):
    name = f"doc-{uid()}"
    d = ssm.create_document(Name=name, Content=json.dumps(CONTENT), DocumentType="Command",
                            VersionName="v1", Tags=[{"Key": "team", "Value": "a"}])["DocumentDescription"]
    assert d["DocumentVersion"] == "1" and d["LatestVersion"] == "1" and d["DefaultVersion"] == "1"
    assert d["Owner"] and d["Status"] == "Active" and d["HashType"] == "Sha256"
    c2 = dict(CONTENT, description="v2")
    u = ssm.update_document(Name=name, Content=json.dumps(c2), DocumentVersion="$LATEST",
                            VersionName="v2")["DocumentDescription"]
    assert u["DocumentVersion"] == "2" and u["LatestVersion"] == "2" and u["DefaultVersion"] == "1"
    assert error_of(ssm.update_document, Name=name, Content=json.dumps(c2),
                    DocumentVersion="$LATEST")["Code"] == "DuplicateDocumentContent"
    assert json.loads(ssm.get_document(Name=name)["Content"])["description"] == "Say hello"
    assert json.loads(ssm.get_document(Name=name, DocumentVersion="$LATEST")["Content"])["description"] == "v2"
    assert ssm.get_document(Name=name, VersionName="v2")["DocumentVersion"] == "2"
    out = ssm.update_document_default_version(Name=name, DocumentVersion="2")["Description"]
    assert out == {"Name": name, "DefaultVersion": "2", "DefaultVersionName": "v2"}
    versions = ssm.list_document_versions(Name=name)["DocumentVersions"]
    assert [(v["DocumentVersion"], v["IsDefaultVersion"]) for v in versions] == [("1", False), ("2", True)]
    assert error_of(ssm.describe_document, Name=name, DocumentVersion="9")["Code"] == "InvalidDocumentVersion"
    assert error_of(ssm.get_document, Name=f"nope-{uid()}")["Code"] == "InvalidDocument"
    # Tags given at creation, and AddTagsToResource on a Document.
    ssm.add_tags_to_resource(ResourceType="Document", ResourceId=name, Tags=[{"Key": "env", "Value": "dev"}])
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=name)["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "a", "env": "dev"}
    ssm.remove_tags_from_resource(ResourceType="Document", ResourceId=name, TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Document", ResourceId=name)["TagList"] == [
        {"Key": "env", "Value": "dev"}]
    assert error_of(ssm.add_tags_to_resource, ResourceType="Document", ResourceId=f"nope-{uid()}",
                    Tags=[{"Key": "a", "Value": "b"}])["Code"] == "InvalidResourceId"
    ssm.delete_document(Name=name)
    assert error_of(ssm.describe_document, Name=name)["Code"] == "InvalidDocument"


def test_list_documents_filters_and_aws_owned_documents(ssm):
    name = f"lst-{uid()}"
    ssm.create_document(Name=name, Content=json.dumps(CONTENT), DocumentType="Command",
                        Tags=[{"Key": "flt", "Value": name}])
    mine = ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"]
    assert name in [d["Name"] for d in mine]
    assert all(d["Owner"] != "Amazon" for d in mine)
    amazon = ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Amazon"]}])["DocumentIdentifiers"]
    names = [d["Name"] for d in amazon]
    assert "AWS-RunShellScript" in names and name not in names
    by_name = ssm.list_documents(Filters=[{"Key": "Name", "Values": [name]}])["DocumentIdentifiers"]
    assert [d["Name"] for d in by_name] == [name]
    by_tag = ssm.list_documents(Filters=[{"Key": "tag:flt", "Values": [name]}])["DocumentIdentifiers"]
    assert [d["Name"] for d in by_tag] == [name]
    sessions = ssm.list_documents(DocumentFilterList=[{"key": "DocumentType", "value": "Session"}])
    assert all(d["DocumentType"] == "Session" for d in sessions["DocumentIdentifiers"])
    assert sessions["DocumentIdentifiers"]
    # Paging with MaxResults.
    page = ssm.list_documents(MaxResults=2)
    assert len(page["DocumentIdentifiers"]) == 2 and page["NextToken"]
    # The AWS-owned document reads like any other, and is not the caller's to delete.
    d = ssm.describe_document(Name="AWS-RunShellScript")["Document"]
    assert d["Owner"] == "Amazon" and d["DocumentType"] == "Command"
    assert "commands" in [p["Name"] for p in d["Parameters"]]
    content = json.loads(ssm.get_document(Name="AWS-RunShellScript")["Content"])
    assert "commands" in content["parameters"]
    assert error_of(ssm.delete_document, Name="AWS-RunShellScript")["Code"] == "InvalidDocumentOperation"
    assert error_of(ssm.update_document, Name="AWS-RunShellScript", Content=json.dumps(CONTENT),
                    DocumentVersion="$LATEST")["Code"] == "InvalidDocumentOperation"


def test_document_permissions(ssm):
    name = f"shr-{uid()}"
    ssm.create_document(Name=name, Content=json.dumps(CONTENT), DocumentType="Command")
    empty = ssm.describe_document_permission(Name=name, PermissionType="Share")
    assert empty["AccountIds"] == [] and empty["AccountSharingInfoList"] == []
    ssm.modify_document_permission(Name=name, PermissionType="Share",
                                   AccountIdsToAdd=["111122223333", "444455556666"])
    out = ssm.describe_document_permission(Name=name, PermissionType="Share")
    assert sorted(out["AccountIds"]) == ["111122223333", "444455556666"]
    assert {"AccountId": "111122223333", "SharedDocumentVersion": "$DEFAULT"} in out["AccountSharingInfoList"]
    ssm.modify_document_permission(Name=name, PermissionType="Share", AccountIdsToRemove=["111122223333"])
    assert ssm.describe_document_permission(Name=name, PermissionType="Share")["AccountIds"] == ["444455556666"]
    # Account ids are 12 digits or "all" (the model's pattern).
    err = error_of(ssm.modify_document_permission, Name=name, PermissionType="Share",
                   AccountIdsToAdd=["not-an-account"])
    assert err["Code"] == "ValidationException", err
    ssm.modify_document_permission(Name=name, PermissionType="Share", AccountIdsToAdd=["all"])
    assert "all" in ssm.describe_document_permission(Name=name, PermissionType="Share")["AccountIds"]
    err = error_of(ssm.describe_document_permission, Name=f"nope-{uid()}", PermissionType="Share")
    assert err["Code"] == "InvalidDocument", err
    err = error_of(ssm.modify_document_permission, Name=name, PermissionType="Nope")
    assert err["Code"] == "ValidationException", err


def test_platform_types_follow_the_plugins(ssm):
    shell = ssm.create_document(Name=f"sh-{uid()}", Content=json.dumps(CONTENT),
                                DocumentType="Command")["DocumentDescription"]
    assert shell["PlatformTypes"] == ["Linux", "MacOS"]
    ps = dict(CONTENT, mainSteps=[{"action": "aws:runPowerShellScript", "name": "p",
                                   "inputs": {"runCommand": ["dir"]}}])
    d = ssm.create_document(Name=f"ps-{uid()}", Content=json.dumps(ps), DocumentType="Command")
    assert d["DocumentDescription"]["PlatformTypes"] == ["Windows"]
    assert ssm.describe_document(Name="AWS-RunShellScript")["Document"]["PlatformTypes"] == ["Linux", "MacOS"]


def test_aws_published_names_are_usable_without_local_content(ssm):
    # Associations and commands may name any AWS-published document.
    a = ssm.create_association(Name="AWS-ConfigureCloudWatch", InstanceId="i-0123456789abcdef0")
    ssm.delete_association(AssociationId=a["AssociationDescription"]["AssociationId"])
    ssm.send_command(InstanceIds=["i-0123456789abcdef0"], DocumentName="AWS-ApplyAnsiblePlaybooks")
    # Reading one whose content is not kept is InvalidDocument.
    assert error_of(ssm.get_document, Name="AWS-ConfigureCloudWatch")["Code"] == "InvalidDocument"


def test_schema_version_size_and_associated_instances(ssm):
    no_schema = {k: v for k, v in CONTENT.items() if k != "schemaVersion"}
    err = error_of(ssm.create_document, Name=f"ns-{uid()}", Content=json.dumps(no_schema), DocumentType="Command")
    assert err["Code"] == "InvalidDocumentContent", err
    err = error_of(ssm.create_document, Name=f"sv-{uid()}", Content=json.dumps(dict(CONTENT, schemaVersion="9.9")),
                   DocumentType="Command")
    assert err["Code"] == "InvalidDocumentSchemaVersion", err
    auto = {"schemaVersion": "0.3", "mainSteps": [{"name": "s", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}}]}
    ssm.create_document(Name=f"au-{uid()}", Content=json.dumps(auto), DocumentType="Automation")
    big = dict(CONTENT, description="x" * (64 * 1024))
    err = error_of(ssm.create_document, Name=f"big-{uid()}", Content=json.dumps(big), DocumentType="Command")
    assert err["Code"] == "MaxDocumentSizeExceeded", err
    name = f"asd-{uid()}"
    ssm.create_document(Name=name, Content=json.dumps(CONTENT), DocumentType="Command")
    a = ssm.create_association(Name=name, InstanceId="i-0123456789abcdef0")["AssociationDescription"]
    assert error_of(ssm.delete_document, Name=name)["Code"] == "AssociatedInstances"
    ssm.delete_association(AssociationId=a["AssociationId"])
    ssm.delete_document(Name=name)


def test_document_name_pattern(ssm):
    err = error_of(ssm.create_document, Name="has space", Content=json.dumps(CONTENT), DocumentType="Command")
    assert err["Code"] == "ValidationException", err
