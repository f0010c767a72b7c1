"""Terraform (AWS provider v5) for SSM beyond Parameter Store: documents,
a maintenance window with target and task, an association, a patch
baseline and group, a service setting — applied, checked with boto3,
planned again (no changes), destroyed. Skipped, saying so, without
terraform or the provider mirror (as test_terraform.py)."""

import json

from test_terraform import terraform_in


def test_ssm_stack(tmp_path, gateway):
    tf = terraform_in(tmp_path, "terraform_ssm", ["-var", f"endpoint={gateway.url}"])
    tf("apply", "-auto-approve")
    ssm = gateway.client("ssm")
    doc = ssm.describe_document(Name="tf-hello")["Document"]
    assert doc["Parameters"] == [{"Name": "who", "Type": "String", "DefaultValue": "world"}]
    assert ssm.describe_document_permission(Name="tf-hello", PermissionType="Share")["AccountIds"] == ["111122223333"]
    assert json.loads(ssm.get_document(Name="tf-hello-yaml", DocumentFormat="JSON")["Content"])["description"] == \
        "Say hello in YAML"
    wid = [w for w in ssm.describe_maintenance_windows()["WindowIdentities"] if w["Name"] == "tf-nightly"][0]["WindowId"]
    tasks = ssm.describe_maintenance_window_tasks(WindowId=wid)["Tasks"]
    assert [t["TaskArn"] for t in tasks] == ["tf-hello"]
    assert [a["AssociationName"] for a in ssm.list_associations()["Associations"]
            if a.get("AssociationName") == "tf-hello"] == ["tf-hello"]
    assert ssm.get_patch_baseline_for_patch_group(PatchGroup="tf-web",
                                                  OperatingSystem="AMAZON_LINUX_2")["BaselineId"].startswith("pb-")
    setting = ssm.get_service_setting(SettingId="/ssm/parameter-store/default-parameter-tier")["ServiceSetting"]
    assert setting["SettingValue"] == "Advanced"

    plan = tf("plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout[-4000:]

    tf("destroy", "-auto-approve")
    assert not [d for d in ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"]
                if d["Name"].startswith("tf-hello")]
    assert not [w for w in ssm.describe_maintenance_windows()["WindowIdentities"] if w["Name"] == "tf-nightly"]
    setting = ssm.get_service_setting(SettingId="/ssm/parameter-store/default-parameter-tier")["ServiceSetting"]
    assert setting["SettingValue"] == "Standard"
