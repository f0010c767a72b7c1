"""CloudFormation helpers the stack tests share: a unique name, waiting for
a stack to leave `*_IN_PROGRESS`, and its outputs as a dict."""

import time
import uuid


def unique(prefix="s"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait(cf, name, timeout=90):
    """The stack once no operation is in progress on it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.05)
    raise AssertionError(f"stack {name} still {stack['StackStatus']}")


def outputs(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
