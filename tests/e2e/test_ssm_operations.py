"""SSM beyond Parameter Store (issue 25): maintenance window targets and
tasks, associations, OpsItems and OpsMetadata, resource data syncs,
inventory, compliance, patch baselines, service settings, Run Command and
sessions. Shapes and errors from the SSM API reference."""

import datetime
import json
import uuid

import botocore
import pytest

ACCOUNT = "000000000000"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]


@pytest.fixture
def ssm(gateway):
    return gateway.client("ssm")


def window(ssm, **kw):
    return ssm.create_maintenance_window(Name=f"mw-{uid()}", Schedule="cron(0 2 ? * SUN *)",
                                         Duration=3, Cutoff=1, AllowUnassociatedTargets=False,
                                         **kw)["WindowId"]


def test_maintenance_window_targets_and_tasks(ssm):
    wid = window(ssm, Tags=[{"Key": "k", "Value": "v"}])
    assert ssm.list_tags_for_resource(ResourceType="MaintenanceWindow", ResourceId=wid)["TagList"] == [
        {"Key": "k", "Value": "v"}]
    tid = ssm.register_target_with_maintenance_window(
        WindowId=wid, ResourceType="INSTANCE", Name="web",
        Targets=[{"Key": "tag:Role", "Values": ["web"]}], OwnerInformation="ops")["WindowTargetId"]
    targets = ssm.describe_maintenance_window_targets(WindowId=wid)["Targets"]
    assert targets == [{"WindowId": wid, "WindowTargetId": tid, "ResourceType": "INSTANCE", "Name": "web",
                        "Targets": [{"Key": "tag:Role", "Values": ["web"]}], "OwnerInformation": "ops"}]
    up = ssm.update_maintenance_window_target(WindowId=wid, WindowTargetId=tid, Description="d")
    assert up["Description"] == "d" and up["Name"] == "web"
    task = ssm.register_task_with_maintenance_window(
        WindowId=wid, TaskArn="AWS-RunShellScript", TaskType="RUN_COMMAND", Priority=1,
        Targets=[{"Key": "WindowTargetIds", "Values": [tid]}], MaxConcurrency="1", MaxErrors="1",
        TaskInvocationParameters={"RunCommand": {"Parameters": {"commands": ["uptime"]}}})["WindowTaskId"]
    got = ssm.get_maintenance_window_task(WindowId=wid, WindowTaskId=task)
    assert got["TaskArn"] == "AWS-RunShellScript" and got["TaskType"] == "RUN_COMMAND" and got["Priority"] == 1
    assert got["TaskInvocationParameters"]["RunCommand"]["Parameters"] == {"commands": ["uptime"]}
    tasks = ssm.describe_maintenance_window_tasks(WindowId=wid)["Tasks"]
    assert [(t["WindowTaskId"], t["Type"]) for t in tasks] == [(task, "RUN_COMMAND")]
    upd = ssm.update_maintenance_window_task(WindowId=wid, WindowTaskId=task, Priority=5)
    assert upd["Priority"] == 5 and upd["TaskArn"] == "AWS-RunShellScript"
    # A target a task uses cannot be deregistered with Safe.
    err = error_of(ssm.deregister_target_from_maintenance_window, WindowId=wid, WindowTargetId=tid, Safe=True)
    assert err["Code"] == "TargetInUseException", err
    assert ssm.describe_maintenance_window_executions(WindowId=wid)["WindowExecutions"] == []
    found = ssm.describe_maintenance_windows_for_target(
        Targets=[{"Key": "tag:Role", "Values": ["web"]}], ResourceType="INSTANCE")["WindowIdentities"]
    assert {"WindowId": wid, "Name": ssm.get_maintenance_window(WindowId=wid)["Name"]} in found
    assert error_of(ssm.get_maintenance_window_execution,
                    WindowExecutionId=str(uuid.uuid4()))["Code"] == "DoesNotExistException"
    ssm.deregister_task_from_maintenance_window(WindowId=wid, WindowTaskId=task)
    assert error_of(ssm.get_maintenance_window_task, WindowId=wid,
                    WindowTaskId=task)["Code"] == "DoesNotExistException"
    ssm.deregister_target_from_maintenance_window(WindowId=wid, WindowTargetId=tid)
    assert ssm.describe_maintenance_window_targets(WindowId=wid)["Targets"] == []
    missing = "mw-0123456789abcdef0"
    assert error_of(ssm.register_target_with_maintenance_window, WindowId=missing, ResourceType="INSTANCE",
                    Targets=[{"Key": "InstanceIds", "Values": ["i-0123456789abcdef0"]}])["Code"] == "DoesNotExistException"
    assert error_of(ssm.describe_maintenance_window_tasks, WindowId=missing)["Code"] == "DoesNotExistException"
    ssm.delete_maintenance_window(WindowId=wid)


def test_describe_maintenance_windows_filters(ssm):
    name = f"flt-{uid()}"
    wid = ssm.create_maintenance_window(Name=name, Schedule="rate(1 day)", Duration=2, Cutoff=0,
                                        AllowUnassociatedTargets=True)["WindowId"]
    out = ssm.describe_maintenance_windows(Filters=[{"Key": "Name", "Values": [name]}])["WindowIdentities"]
    assert [w["WindowId"] for w in out] == [wid]
    out = ssm.describe_maintenance_windows(Filters=[{"Key": "Enabled", "Values": ["false"]}])["WindowIdentities"]
    assert wid not in [w["WindowId"] for w in out]


def test_association_versions_batch_and_executions(ssm):
    a = ssm.create_association(Name="AWS-RunShellScript", AssociationName=f"as-{uid()}",
                               Targets=[{"Key": "tag:Env", "Values": ["dev"]}],
                               Parameters={"commands": ["echo 1"]},
                               ScheduleExpression="rate(30 minutes)")["AssociationDescription"]
    aid = a["AssociationId"]
    ssm.update_association(AssociationId=aid, Parameters={"commands": ["echo 2"]})
    versions = ssm.list_association_versions(AssociationId=aid)["AssociationVersions"]
    assert [v["AssociationVersion"] for v in versions] == ["1", "2"]
    assert versions[0]["Parameters"] == {"commands": ["echo 1"]}
    assert versions[1]["Parameters"] == {"commands": ["echo 2"]}
    assert ssm.describe_association_executions(AssociationId=aid)["AssociationExecutions"] == []
    ssm.start_associations_once(AssociationIds=[aid])
    missing = str(uuid.uuid4())
    assert error_of(ssm.list_association_versions, AssociationId=missing)["Code"] == "AssociationDoesNotExist"
    assert error_of(ssm.start_associations_once, AssociationIds=[missing])["Code"] == "AssociationDoesNotExist"
    listed = ssm.list_associations(AssociationFilterList=[{"key": "AssociationId", "value": aid}])["Associations"]
    assert [x["AssociationId"] for x in listed] == [aid]
    batch = ssm.create_association_batch(Entries=[
        {"Name": "AWS-RunShellScript", "InstanceId": "i-0123456789abcdef0", "Parameters": {"commands": ["ls"]}},
        {"Name": f"no-such-doc-{uid()}", "InstanceId": "i-0123456789abcdef0"},
    ])
    assert len(batch["Successful"]) == 1 and batch["Successful"][0]["Name"] == "AWS-RunShellScript"
    assert len(batch["Failed"]) == 1 and batch["Failed"][0]["Fault"] == "Client"
    ssm.delete_association(AssociationId=aid)
    assert error_of(ssm.describe_association, AssociationId=aid)["Code"] == "AssociationDoesNotExist"


def test_ops_items_related_items_and_ops_metadata(ssm):
    oid = ssm.create_ops_item(Title="disk full", Source="ec2", Description="d",
                              Tags=[{"Key": "k", "Value": "v"}])["OpsItemId"]
    assert ssm.list_tags_for_resource(ResourceType="OpsItem", ResourceId=oid)["TagList"] == [{"Key": "k", "Value": "v"}]
    rel = ssm.associate_ops_item_related_item(
        OpsItemId=oid, AssociationType="IsParentOf", ResourceType="AWS::SSMIncidents::IncidentRecord",
        ResourceUri=f"arn:aws:ssm-incidents::{ACCOUNT}:incident-record/x/1")["AssociationId"]
    items = ssm.list_ops_item_related_items(OpsItemId=oid)["Summaries"]
    assert [(i["AssociationId"], i["AssociationType"]) for i in items] == [(rel, "IsParentOf")]
    ssm.disassociate_ops_item_related_item(OpsItemId=oid, AssociationId=rel)
    assert ssm.list_ops_item_related_items(OpsItemId=oid)["Summaries"] == []
    err = error_of(ssm.disassociate_ops_item_related_item, OpsItemId=oid, AssociationId=rel)
    assert err["Code"] == "OpsItemRelatedItemAssociationNotFoundException", err
    assert error_of(ssm.get_ops_item, OpsItemId="oi-000000000000")["Code"] == "OpsItemNotFoundException"
    events = ssm.list_ops_item_events(Filters=[{"Key": "OpsItemId", "Values": [oid], "Operator": "Equal"}])
    assert events["Summaries"] == []

    rid = f"/aws/ssm/app/{uid()}"
    arn = ssm.create_ops_metadata(ResourceId=rid, Metadata={"a": {"Value": "1"}})["OpsMetadataArn"]
    assert arn == f"arn:aws:ssm:us-east-1:{ACCOUNT}:opsmetadata{rid}"
    got = ssm.get_ops_metadata(OpsMetadataArn=arn)
    assert got["ResourceId"] == rid and got["Metadata"] == {"a": {"Value": "1"}}
    err = error_of(ssm.create_ops_metadata, ResourceId=rid)
    assert err["Code"] == "OpsMetadataAlreadyExistsException", err
    ssm.update_ops_metadata(OpsMetadataArn=arn, MetadataToUpdate={"b": {"Value": "2"}}, KeysToDelete=["a"])
    assert ssm.get_ops_metadata(OpsMetadataArn=arn)["Metadata"] == {"b": {"Value": "2"}}
    listed = ssm.list_ops_metadata()["OpsMetadataList"]
    assert rid in [m["ResourceId"] for m in listed]
    ssm.delete_ops_metadata(OpsMetadataArn=arn)
    assert error_of(ssm.get_ops_metadata, OpsMetadataArn=arn)["Code"] == "OpsMetadataNotFoundException"


def test_resource_data_sync(ssm):
    name = f"sync-{uid()}"
    dest = {"BucketName": "my-bucket", "SyncFormat": "JsonSerDe", "Region": "us-east-1"}
    ssm.create_resource_data_sync(SyncName=name, S3Destination=dest)
    err = error_of(ssm.create_resource_data_sync, SyncName=name, S3Destination=dest)
    assert err["Code"] == "ResourceDataSyncAlreadyExistsException", err
    items = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
    mine = [i for i in items if i["SyncName"] == name]
    assert mine and mine[0]["S3Destination"]["BucketName"] == "my-bucket"
    ssm.delete_resource_data_sync(SyncName=name)
    err = error_of(ssm.delete_resource_data_sync, SyncName=name)
    assert err["Code"] == "ResourceDataSyncNotFoundException", err


def test_inventory_schema_and_deletion(ssm):
    iid = "i-0aaaaaaaaaaaaaaa1"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    type_name = f"Custom:App{uid()}"
    ssm.put_inventory(InstanceId=iid, Items=[{"TypeName": type_name, "SchemaVersion": "1.0", "CaptureTime": now,
                                              "Content": [{"Name": "app", "Version": "1"}]}])
    schemas = ssm.get_inventory_schema()["Schemas"]
    by_name = {s["TypeName"]: s for s in schemas}
    assert "AWS:Application" in by_name
    assert {"Name": "Name", "DataType": "string"} in by_name[type_name]["Attributes"]
    only = ssm.get_inventory_schema(TypeName=type_name)["Schemas"]
    assert [s["TypeName"] for s in only] == [type_name]
    entries = ssm.list_inventory_entries(InstanceId=iid, TypeName=type_name)["Entries"]
    assert entries == [{"Name": "app", "Version": "1"}]
    deletion = ssm.delete_inventory(TypeName=type_name)
    assert deletion["TypeName"] == type_name and deletion["DeletionId"]
    described = ssm.describe_inventory_deletions(DeletionId=deletion["DeletionId"])["InventoryDeletions"]
    assert described[0]["TypeName"] == type_name and described[0]["LastStatus"] == "Complete"
    assert ssm.list_inventory_entries(InstanceId=iid, TypeName=type_name)["Entries"] == []
    err = error_of(ssm.delete_inventory, TypeName="AWS:Application")
    assert err["Code"] == "InvalidTypeNameException", err
    err = error_of(ssm.describe_inventory_deletions, DeletionId=str(uuid.uuid4()))
    assert err["Code"] == "InvalidDeletionIdException", err


def test_compliance(ssm):
    iid = f"i-0{uid()}abcdef"
    ssm.put_compliance_items(
        ResourceId=iid, ResourceType="ManagedInstance", ComplianceType="Custom:Lint",
        ExecutionSummary={"ExecutionTime": datetime.datetime(2024, 1, 1)},
        Items=[{"Id": "r1", "Title": "rule 1", "Severity": "HIGH", "Status": "NON_COMPLIANT"},
               {"Id": "r2", "Title": "rule 2", "Severity": "LOW", "Status": "COMPLIANT"}])
    items = ssm.list_compliance_items(ResourceIds=[iid], ResourceTypes=["ManagedInstance"])["ComplianceItems"]
    assert sorted((i["Id"], i["Status"]) for i in items) == [("r1", "NON_COMPLIANT"), ("r2", "COMPLIANT")]
    assert all(i["ComplianceType"] == "Custom:Lint" and i["ResourceId"] == iid for i in items)
    nc = ssm.list_compliance_items(ResourceIds=[iid], Filters=[
        {"Key": "Status", "Values": ["NON_COMPLIANT"], "Type": "EQUAL"}])["ComplianceItems"]
    assert [i["Id"] for i in nc] == ["r1"]
    sums = ssm.list_resource_compliance_summaries(Filters=[
        {"Key": "ComplianceType", "Values": ["Custom:Lint"], "Type": "EQUAL"}])["ResourceComplianceSummaryItems"]
    mine = [s for s in sums if s["ResourceId"] == iid]
    assert mine[0]["Status"] == "NON_COMPLIANT" and mine[0]["OverallSeverity"] == "HIGH"
    assert mine[0]["CompliantSummary"]["CompliantCount"] == 1
    assert mine[0]["NonCompliantSummary"]["NonCompliantCount"] == 1
    totals = ssm.list_compliance_summaries()["ComplianceSummaryItems"]
    assert "Custom:Lint" in [t["ComplianceType"] for t in totals]
    err = error_of(ssm.put_compliance_items, ResourceId=iid, ResourceType="Bucket", ComplianceType="Custom:X",
                   ExecutionSummary={"ExecutionTime": datetime.datetime(2024, 1, 1)}, Items=[])
    assert err["Code"] == "InvalidResourceType", err


def test_patch_baselines_and_groups(ssm):
    default = ssm.get_default_patch_baseline(OperatingSystem="AMAZON_LINUX_2")
    assert default["OperatingSystem"] == "AMAZON_LINUX_2" and default["BaselineId"]
    aws_owned = ssm.describe_patch_baselines(Filters=[{"Key": "OWNER", "Values": ["AWS"]}])["BaselineIdentities"]
    assert any(b["DefaultBaseline"] for b in aws_owned)
    bid = ssm.create_patch_baseline(
        Name=f"pb-{uid()}", OperatingSystem="AMAZON_LINUX_2", Description="mine",
        ApprovalRules={"PatchRules": [{"PatchFilterGroup": {"PatchFilters": [
            {"Key": "CLASSIFICATION", "Values": ["Security"]}]}, "ApproveAfterDays": 7}]},
        Tags=[{"Key": "k", "Value": "v"}])["BaselineId"]
    assert bid.startswith("pb-")
    got = ssm.get_patch_baseline(BaselineId=bid)
    assert got["OperatingSystem"] == "AMAZON_LINUX_2" and got["Description"] == "mine"
    assert got["ApprovalRules"]["PatchRules"][0]["ApproveAfterDays"] == 7 and got["PatchGroups"] == []
    upd = ssm.update_patch_baseline(BaselineId=bid, Description="changed", RejectedPatches=["kernel*"])
    assert upd["Description"] == "changed" and upd["RejectedPatches"] == ["kernel*"]
    assert ssm.list_tags_for_resource(ResourceType="PatchBaseline", ResourceId=bid)["TagList"] == [
        {"Key": "k", "Value": "v"}]
    group = f"grp-{uid()}"
    ssm.register_patch_baseline_for_patch_group(BaselineId=bid, PatchGroup=group)
    err = error_of(ssm.register_patch_baseline_for_patch_group, BaselineId=bid, PatchGroup=group)
    assert err["Code"] == "AlreadyExistsException", err
    assert ssm.get_patch_baseline_for_patch_group(PatchGroup=group, OperatingSystem="AMAZON_LINUX_2")["BaselineId"] == bid
    assert group in ssm.get_patch_baseline(BaselineId=bid)["PatchGroups"]
    groups = ssm.describe_patch_groups()["Mappings"]
    assert [m["BaselineIdentity"]["BaselineId"] for m in groups if m["PatchGroup"] == group] == [bid]
    # Registered as default, it cannot be deleted.
    ssm.register_default_patch_baseline(BaselineId=bid)
    assert ssm.get_default_patch_baseline(OperatingSystem="AMAZON_LINUX_2")["BaselineId"] == bid
    err = error_of(ssm.delete_patch_baseline, BaselineId=bid)
    assert err["Code"] == "ResourceInUseException", err
    ssm.register_default_patch_baseline(BaselineId=default["BaselineId"])
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=bid, PatchGroup=group)
    assert ssm.delete_patch_baseline(BaselineId=bid)["BaselineId"] == bid
    assert error_of(ssm.get_patch_baseline, BaselineId=bid)["Code"] == "DoesNotExistException"
    assert error_of(ssm.get_patch_baseline, BaselineId="not-a-baseline-id-xyz")["Code"] == "InvalidResourceId"


def test_service_settings(ssm):
    sid = "/ssm/parameter-store/high-throughput-enabled"
    s = ssm.get_service_setting(SettingId=sid)["ServiceSetting"]
    assert s["SettingId"] == sid and s["SettingValue"] == "false" and s["Status"] == "Default"
    assert s["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:servicesetting{sid}"
    ssm.update_service_setting(SettingId=sid, SettingValue="true")
    s = ssm.get_service_setting(SettingId=sid)["ServiceSetting"]
    assert s["SettingValue"] == "true" and s["Status"] == "Customized"
    reset = ssm.reset_service_setting(SettingId=sid)["ServiceSetting"]
    assert reset["SettingValue"] == "false" and reset["Status"] == "Default"
    err = error_of(ssm.get_service_setting, SettingId="/ssm/no/such/setting")
    assert err["Code"] == "ServiceSettingNotFound", err
    err = error_of(ssm.update_service_setting, SettingId=sid, SettingValue="maybe")
    assert err["Code"] == "ValidationException", err


def test_cancel_command_and_unknown_document(ssm):
    iid = "i-0123456789abcdef0"
    cid = ssm.send_command(InstanceIds=[iid], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": ["sleep 1"]})["Command"]["CommandId"]
    ssm.cancel_command(CommandId=cid)
    assert error_of(ssm.cancel_command, CommandId=str(uuid.uuid4()))["Code"] == "InvalidCommandId"
    err = error_of(ssm.send_command, InstanceIds=[iid], DocumentName=f"no-such-{uid()}")
    assert err["Code"] == "InvalidDocument", err


def test_sessions_need_a_connected_target(ssm):
    err = error_of(ssm.start_session, Target="i-0123456789abcdef0")
    assert err["Code"] == "TargetNotConnected", err
    assert ssm.get_connection_status(Target="i-0123456789abcdef0")["Status"] == "notconnected"
    assert ssm.describe_sessions(State="Active")["Sessions"] == []
    assert ssm.describe_sessions(State="History")["Sessions"] == []
    assert error_of(ssm.resume_session, SessionId="user-0123456789abcdef0")["Code"] == "DoesNotExistException"
    assert ssm.terminate_session(SessionId="user-0123456789abcdef0")["SessionId"] == "user-0123456789abcdef0"


def test_automation_is_not_implemented_and_says_so(ssm):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ssm.start_automation_execution(DocumentName="AWS-RestartEC2Instance")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert ssm.describe_automation_executions()["AutomationExecutionMetadataList"] == []


def test_hybrid_activations(ssm):
    role = "SSMServiceRole"
    act = ssm.create_activation(IamRole=role, DefaultInstanceName="edge", RegistrationLimit=3,
                                Description="lab", Tags=[{"Key": "k", "Value": "v"}])
    aid, code = act["ActivationId"], act["ActivationCode"]
    assert len(code) == 20 and len(aid) == 36
    listed = ssm.describe_activations(Filters=[{"FilterKey": "ActivationIds", "FilterValues": [aid]}])["ActivationList"]
    assert len(listed) == 1
    a = listed[0]
    assert (a["IamRole"], a["DefaultInstanceName"], a["RegistrationLimit"], a["RegistrationsCount"], a["Expired"]) == (
        role, "edge", 3, 0, False)
    assert a["Tags"] == [{"Key": "k", "Value": "v"}]
    ssm.delete_activation(ActivationId=aid)
    assert error_of(ssm.delete_activation, ActivationId=aid)["Code"] == "InvalidActivationId"
    # No node ever registers locally.
    assert error_of(ssm.deregister_managed_instance, InstanceId="mi-0123456789abcdef0")["Code"] == "InvalidInstanceId"
    assert error_of(ssm.update_managed_instance_role, InstanceId="mi-0123456789abcdef0",
                    IamRole=role)["Code"] == "InvalidInstanceId"
    assert ssm.describe_instance_properties()["InstanceProperties"] == []
    assert error_of(ssm.add_tags_to_resource, ResourceType="ManagedInstance", ResourceId="mi-0123456789abcdef0",
                    Tags=[{"Key": "a", "Value": "b"}])["Code"] == "InvalidResourceId"
    assert ssm.list_nodes()["Nodes"] == []


def test_instance_associations_and_status(ssm):
    iid = "i-0fedcba9876543210"
    a = ssm.create_association(Name="AWS-RunShellScript", InstanceId=iid,
                               Parameters={"commands": ["id"]})["AssociationDescription"]
    eff = ssm.describe_effective_instance_associations(InstanceId=iid)["Associations"]
    assert [e["AssociationId"] for e in eff] == [a["AssociationId"]]
    assert "commands" in json.loads(eff[0]["Content"])["parameters"]
    st = ssm.describe_instance_associations_status(InstanceId=iid)["InstanceAssociationStatusInfos"]
    assert [s["AssociationId"] for s in st] == [a["AssociationId"]] and st[0]["Status"] == "Pending"
    out = ssm.update_association_status(Name="AWS-RunShellScript", InstanceId=iid, AssociationStatus={
        "Date": datetime.datetime(2024, 1, 1), "Name": "Success", "Message": "done"})["AssociationDescription"]
    assert out["Status"]["Name"] == "Success" and out["Status"]["Message"] == "done"
    err = error_of(ssm.update_association_status, Name="AWS-RunPowerShellScript", InstanceId=iid,
                   AssociationStatus={"Date": datetime.datetime(2024, 1, 1), "Name": "Success", "Message": "x"})
    assert err["Code"] == "AssociationDoesNotExist", err
    ssm.delete_association(AssociationId=a["AssociationId"])


def test_patch_states_and_properties(ssm):
    assert ssm.describe_instance_patch_states(InstanceIds=["i-0123456789abcdef0"])["InstancePatchStates"] == []
    assert ssm.describe_instance_patches(InstanceId="i-0123456789abcdef0")["Patches"] == []
    assert ssm.describe_instance_patch_states_for_patch_group(PatchGroup="g")["InstancePatchStates"] == []
    state = ssm.describe_patch_group_state(PatchGroup="g")
    assert state["Instances"] == 0 and state["InstancesWithMissingPatches"] == 0
    assert ssm.describe_available_patches()["Patches"] == []
    props = ssm.describe_patch_properties(OperatingSystem="AMAZON_LINUX_2", Property="CLASSIFICATION")["Properties"]
    assert {"Name": "Security"} in props
    sev = ssm.describe_patch_properties(OperatingSystem="WINDOWS", Property="MSRC_SEVERITY")["Properties"]
    assert {"Name": "Critical"} in sev
    bid = ssm.create_patch_baseline(Name=f"pb-{uid()}", OperatingSystem="UBUNTU")["BaselineId"]
    assert ssm.describe_effective_patches_for_patch_baseline(BaselineId=bid)["EffectivePatches"] == []
    assert error_of(ssm.describe_effective_patches_for_patch_baseline,
                    BaselineId="pb-0123456789abcdef0")["Code"] == "DoesNotExistException"
    ssm.delete_patch_baseline(BaselineId=bid)
    assert ssm.get_ops_summary()["Entities"] == []


def test_parameter_resource_policies(ssm):
    name = f"/rp/{uid()}"
    arn = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tier="Advanced")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Share", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
        "Action": ["ssm:GetParameter"], "Resource": arn}]})
    put = ssm.put_resource_policy(ResourceArn=arn, Policy=policy)
    pid, phash = put["PolicyId"], put["PolicyHash"]
    got = ssm.get_resource_policies(ResourceArn=arn)["Policies"]
    assert got == [{"PolicyId": pid, "PolicyHash": phash, "Policy": policy}]
    err = error_of(ssm.put_resource_policy, ResourceArn=arn, Policy=policy, PolicyId=pid, PolicyHash="stale")
    assert err["Code"] == "ResourcePolicyConflictException", err
    err = error_of(ssm.put_resource_policy, ResourceArn=arn, Policy="{not json")
    assert err["Code"] == "MalformedResourcePolicyDocumentException", err
    ssm.delete_resource_policy(ResourceArn=arn, PolicyId=pid, PolicyHash=phash)
    assert ssm.get_resource_policies(ResourceArn=arn)["Policies"] == []
    err = error_of(ssm.delete_resource_policy, ResourceArn=arn, PolicyId=pid, PolicyHash=phash)
    assert err["Code"] == "ResourcePolicyNotFoundException", err
    missing = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/rp/none-{uid()}"
    err = error_of(ssm.get_resource_policies, ResourceArn=missing)
    assert err["Code"] == "ResourceNotFoundException", err
    # Only advanced-tier parameters can be shared.
    std = f"/rp/{uid()}"
    ssm.put_parameter(Name=std, Value="v", Type="String")
    err = error_of(ssm.put_resource_policy, ResourceArn=f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{std}",
                   Policy=policy)
    assert err["Code"] == "ResourcePolicyInvalidParameterException", err


def test_change_calendar_state(ssm):
    name = f"cal-{uid()}"
    ics = "BEGIN:VCALENDAR\r\nPRODID:-//AWS//Change Calendar 1.0//EN\r\nVERSION:2.0\r\nX-CALENDAR-TYPE:DEFAULT_OPEN\r\nEND:VCALENDAR\r\n"
    ssm.create_document(Name=name, Content=ics, DocumentType="ChangeCalendar", DocumentFormat="TEXT")
    out = ssm.get_calendar_state(CalendarNames=[name])
    assert out["State"] == "OPEN" and out["AtTime"]
    closed = f"cal-{uid()}"
    ssm.create_document(Name=closed, Content=ics.replace("DEFAULT_OPEN", "DEFAULT_CLOSED"),
                        DocumentType="ChangeCalendar", DocumentFormat="TEXT")
    assert ssm.get_calendar_state(CalendarNames=[name, closed])["State"] == "CLOSED"
    assert error_of(ssm.get_calendar_state, CalendarNames=["AWS-RunShellScript"])["Code"] == "InvalidDocumentType"
    assert error_of(ssm.get_calendar_state, CalendarNames=[f"nope-{uid()}"])["Code"] == "InvalidDocument"


def test_nothing_has_executed_so_executions_are_not_found(ssm):
    eid = str(uuid.uuid4())
    for call, kw in [
        (ssm.get_automation_execution, {}),
        (ssm.stop_automation_execution, {}),
        (ssm.describe_automation_step_executions, {}),
        (ssm.send_automation_signal, {"SignalType": "Approve"}),
    ]:
        assert error_of(call, AutomationExecutionId=eid, **kw)["Code"] == "AutomationExecutionNotFoundException"
    assert error_of(ssm.describe_maintenance_window_execution_task_invocations, WindowExecutionId=eid,
                    TaskId=eid)["Code"] == "DoesNotExistException"
    assert error_of(ssm.get_maintenance_window_execution_task_invocation, WindowExecutionId=eid,
                    TaskId=eid, InvocationId=eid)["Code"] == "DoesNotExistException"


def test_document_reviews(ssm):
    name = f"tpl-{uid()}"
    ssm.create_document(Name=name, DocumentType="Command", Content=json.dumps(
        {"schemaVersion": "2.2", "mainSteps": [{"action": "aws:runShellScript", "name": "a",
                                                  "inputs": {"runCommand": ["true"]}}]}))
    ssm.update_document_metadata(Name=name, DocumentVersion="1", DocumentReviews={
        "Action": "SendForReview", "Comment": [{"Type": "Comment", "Content": "please"}]})
    ssm.update_document_metadata(Name=name, DocumentVersion="1", DocumentReviews={"Action": "Approve"})
    hist = ssm.list_document_metadata_history(Name=name, DocumentVersion="1", Metadata="DocumentReviews")
    assert hist["Name"] == name and hist["DocumentVersion"] == "1" and hist["Author"]
    responses = hist["Metadata"]["ReviewerResponse"]
    assert [r["ReviewStatus"] for r in responses] == ["PENDING", "APPROVED"]
    assert responses[0]["Comment"] == [{"Type": "Comment", "Content": "please"}]
    assert ssm.describe_document(Name=name)["Document"]["ReviewStatus"] == "APPROVED"
    err = error_of(ssm.update_document_metadata, Name=name, DocumentVersion="7",
                   DocumentReviews={"Action": "Approve"})
    assert err["Code"] == "InvalidDocumentVersion", err


def test_describe_ops_items_filters(ssm):
    title = f"t-{uid()}"
    hi = ssm.create_ops_item(Title=title, Source="app", Description="d", Priority=1)["OpsItemId"]
    lo = ssm.create_ops_item(Title=title + "-low", Source="app", Description="d", Priority=4)["OpsItemId"]
    by_id = ssm.describe_ops_items(OpsItemFilters=[{"Key": "OpsItemId", "Values": [hi], "Operator": "Equal"}])
    assert [i["OpsItemId"] for i in by_id["OpsItemSummaries"]] == [hi]
    both = ssm.describe_ops_items(OpsItemFilters=[{"Key": "Title", "Values": [title], "Operator": "Contains"}])
    assert sorted(i["OpsItemId"] for i in both["OpsItemSummaries"]) == sorted([hi, lo])
    urgent = ssm.describe_ops_items(OpsItemFilters=[
        {"Key": "Title", "Values": [title], "Operator": "Contains"},
        {"Key": "Priority", "Values": ["3"], "Operator": "LessThan"}])
    assert [i["OpsItemId"] for i in urgent["OpsItemSummaries"]] == [hi]
    ssm.update_ops_item(OpsItemId=lo, Status="Resolved")
    resolved = ssm.describe_ops_items(OpsItemFilters=[
        {"Key": "Status", "Values": ["Resolved"], "Operator": "Equal"},
        {"Key": "Title", "Values": [title], "Operator": "Contains"}])
    assert [i["OpsItemId"] for i in resolved["OpsItemSummaries"]] == [lo]


def test_association_checks(ssm):
    iid = "i-0abcabcabcabcabc1"
    a = ssm.create_association(Name="AWS-RunShellScript", InstanceId=iid)["AssociationDescription"]
    err = error_of(ssm.create_association, Name="AWS-RunShellScript", InstanceId=iid)
    assert err["Code"] == "AssociationAlreadyExists", err
    err = error_of(ssm.create_association, Name="AWS-RunShellScript", ScheduleExpression="every day",
                   Targets=[{"Key": "tag:Env", "Values": ["x"]}])
    assert err["Code"] == "InvalidSchedule", err
    ssm.delete_association(AssociationId=a["AssociationId"])


def test_lists_page_with_max_results_and_next_token(ssm):
    name = f"pg-{uid()}"
    ids = [ssm.create_association(Name="AWS-RunShellScript", AssociationName=f"{name}-{i}",
                                  Targets=[{"Key": "tag:Page", "Values": [name]}])["AssociationDescription"]["AssociationId"]
           for i in range(3)]
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = ssm.list_associations(MaxResults=1, **kw)
        assert len(page["Associations"]) <= 1
        seen += [a["AssociationId"] for a in page["Associations"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert error_of(ssm.list_associations, NextToken="not-a-token")["Code"] == "InvalidNextToken"
    for i in ids:
        ssm.delete_association(AssociationId=i)


def test_update_maintenance_window_replace_and_cutoff(ssm):
    wid = ssm.create_maintenance_window(Name=f"rp-{uid()}", Schedule="rate(1 day)", Duration=4, Cutoff=1,
                                        AllowUnassociatedTargets=False, Description="keep?")["WindowId"]
    assert ssm.update_maintenance_window(WindowId=wid, Enabled=False)["Description"] == "keep?"
    out = ssm.update_maintenance_window(WindowId=wid, Name="renamed", Schedule="rate(2 days)", Duration=4, Cutoff=1,
                                        AllowUnassociatedTargets=True, Replace=True)
    assert "Description" not in out and out["Name"] == "renamed"
    assert "Description" not in ssm.get_maintenance_window(WindowId=wid)
    err = error_of(ssm.update_maintenance_window, WindowId=wid, Cutoff=4)
    assert err["Code"] == "ValidationException", err
