"""Terraform (AWS provider v5): a Step Functions activity and state machine
— applied, checked with boto3, planned again (no changes), destroyed.
Skipped, saying so, without terraform or the provider mirror (as
test_terraform.py)."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from test_terraform import provider_mirror

HERE = Path(__file__).resolve().parent


def test_sfn_stack(tmp_path, gateway):
    if not shutil.which("terraform"):
        pytest.skip("Terraform not tested: no `terraform` on PATH")
    mirror = provider_mirror()
    if not mirror:
        pytest.skip("Terraform not tested: no AWS provider mirror (set TF_PROVIDER_MIRROR)")
    (tmp_path / "cli.tfrc").write_text(
        'provider_installation {\n'
        f'  filesystem_mirror {{\n    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }\n}\n'
    )
    shutil.copy(HERE / "terraform_sfn" / "main.tf", tmp_path / "main.tf")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}

    def tf(*args, check=True):
        extra = [] if args[0] == "init" else ["-var", f"endpoint={gateway.url}"]
        began = time.time()
        r = subprocess.run(["terraform", *args, "-no-color", "-input=false", *extra],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        print(f"terraform {args[0]}: {time.time() - began:.1f} s")
        if check and r.returncode != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    tf("init")
    tf("apply", "-auto-approve")
    sfn = gateway.client("stepfunctions")
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:tf-flow"
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(d["definition"])["StartAt"] == "Hello"
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "flows"}]
    assert sfn.describe_activity(activityArn="arn:aws:states:us-east-1:000000000000:activity:tf-work")["name"] == "tf-work"

    plan = tf("plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout[-4000:]

    tf("destroy", "-auto-approve")
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert e.value.response["Error"]["Code"] == "StateMachineDoesNotExist"
