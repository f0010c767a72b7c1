"""Terraform (AWS provider v5): a Step Functions activity and state machine
— applied, checked with boto3, planned again (no changes), destroyed.
Skipped, saying so, without terraform or the provider mirror (as
test_terraform.py)."""

import json

import pytest
from botocore.exceptions import ClientError

from test_terraform import terraform_in


def test_sfn_stack(tmp_path, gateway):
    tf = terraform_in(tmp_path, "terraform_sfn", ["-var", f"endpoint={gateway.url}"])
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
