"""Step Functions end to end: boto3 against the real gateway.

One gateway for the module with SFN_WAIT_SCALE=0.05 (a Wait of 20 s takes
1 s, retry intervals and task timeouts scale the same) and PERSIST_STATE=1
(the restart test kills and restarts it).
"""

import io
import json
import time
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway

ROLE = "arn:aws:iam::000000000000:role/sfn"
SCALE = 0.05


@pytest.fixture(scope="module")
def g():
    gw = Gateway(env={"SFN_WAIT_SCALE": str(SCALE), "PERSIST_STATE": "1"})
    yield gw
    gw.close()


@pytest.fixture
def sfn(g):
    return g.client("stepfunctions", inject_host_prefix=False)


def uid():
    return uuid.uuid4().hex[:10]


def machine(sfn, definition, kind="STANDARD", name=None):
    name = name or f"sm-{uid()}"
    out = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, type=kind)
    return out["stateMachineArn"]


def wait_done(sfn, arn, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError(f"execution {arn} still running after {timeout} s")


def run(sfn, definition, data=None, timeout=20):
    arn = machine(sfn, definition)
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(data if data is not None else {}))
    return wait_done(sfn, ex["executionArn"], timeout), ex["executionArn"]


def sync(sfn, definition, data=None):
    arn = machine(sfn, definition, kind="EXPRESS")
    return sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps(data if data is not None else {}))


def code(call, *a, **kw):
    with pytest.raises(ClientError) as e:
        call(*a, **kw)
    return e.value.response["Error"]["Code"]


def history_types(sfn, arn):
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]


def test_crud_versions_aliases_tags(sfn):
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    name = f"crud-{uid()}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(d), roleArn=ROLE,
                                   tags=[{"key": "team", "value": "x"}], publish=True)
    assert arn["stateMachineVersionArn"] == arn["stateMachineArn"] + ":1"
    sm = arn["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=sm)["type"] == "STANDARD"
    assert any(m["stateMachineArn"] == sm for m in sfn.list_state_machines()["stateMachines"])
    sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps({**d, "Comment": "v2"}), publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [sm + ":2", sm + ":1"]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": sm + ":2", "weight": 100}])["stateMachineAliasArn"]
    assert alias == sm + ":live"
    ex = sfn.start_execution(stateMachineArn=alias, input="{}")
    assert wait_done(sfn, ex["executionArn"])["stateMachineAliasArn"] == alias
    assert sfn.list_tags_for_resource(resourceArn=sm)["tags"] == [{"key": "team", "value": "x"}]
    sfn.untag_resource(resourceArn=sm, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=sm)["tags"] == []
    assert code(sfn.create_state_machine, name=name, definition=json.dumps({**d, "Comment": "other"}),
                roleArn=ROLE) == "StateMachineAlreadyExists"
    assert code(sfn.create_state_machine, name=f"bad-{uid()}", definition="{", roleArn=ROLE) == "InvalidDefinition"
    assert code(sfn.create_state_machine, name="bad name", definition=json.dumps(d), roleArn=ROLE) == "InvalidName"
    sfn.delete_state_machine(stateMachineArn=sm)
    assert code(sfn.describe_state_machine, stateMachineArn=sm) == "StateMachineDoesNotExist"
    assert code(sfn.describe_execution, executionArn=sm.replace("stateMachine", "execution") + ":nope") == "ExecutionDoesNotExist"


def test_pass_choice_succeed_with_intrinsics_sync(sfn):
    d = {"StartAt": "Build", "States": {
        "Build": {"Type": "Pass", "Parameters": {
            "greeting.$": "States.Format('Hello {}', $.name)",
            "parts.$": "States.ArrayPartition($.nums, 2)",
            "len.$": "States.ArrayLength($.nums)",
            "sum.$": "States.MathAdd($.nums[0], $.nums[1])",
            "b64.$": "States.Base64Encode($.name)",
            "hash.$": "States.Hash($.name, 'SHA-256')",
            "merged.$": "States.JsonMerge($.a, $.b, false)",
            "split.$": "States.StringSplit('a,b', ',')",
            "range.$": "States.ArrayRange(1, 5, 2)",
            "uniq.$": "States.ArrayUnique(States.Array(1, 1, 2))",
            "id.$": "$$.Execution.Name"},
            "ResultPath": "$.built", "Next": "Pick"},
        "Pick": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.built.len", "NumericGreaterThanEquals": 3},
                     {"Variable": "$.name", "StringMatches": "W*"}], "Next": "Big"},
        ], "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Done"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Done"},
        "Done": {"Type": "Succeed", "OutputPath": "$"}}}
    out = sync(sfn, d, {"name": "World", "nums": [1, 2, 3], "a": {"x": 1}, "b": {"y": 2}})
    assert out["status"] == "SUCCEEDED", out
    o = json.loads(out["output"])
    b = o["built"]
    assert b["greeting"] == "Hello World"
    assert b["parts"] == [[1, 2], [3]] and b["len"] == 3 and b["sum"] == 3
    assert b["b64"] == "V29ybGQ=" and len(b["hash"]) == 64
    assert b["merged"] == {"x": 1, "y": 2} and b["split"] == ["a", "b"]
    assert b["range"] == [1, 3, 5] and b["uniq"] == [1, 2]
    assert b["id"] == out["name"]
    assert o["size"] == "big"


def test_fail_state_and_history(sfn):
    d = {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Next": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.n)"}}}
    ex, arn = run(sfn, d, {"e": "MyError", "n": 7})
    assert ex["status"] == "FAILED"
    assert (ex["error"], ex["cause"]) == ("MyError", "bad 7")
    types = history_types(sfn, arn)
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "FailStateEntered", "ExecutionFailed"]
    ev = sfn.get_execution_history(executionArn=arn)["events"]
    assert [e["id"] for e in ev] == list(range(1, 6))
    assert ev[1]["stateEnteredEventDetails"]["name"] == "P"


def test_no_choice_matched_and_runtime_error(sfn):
    d = {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
        {"Variable": "$.x", "NumericEquals": 1, "Next": "S"}]}, "S": {"Type": "Succeed"}}}
    ex, _ = run(sfn, d, {"x": 2})
    assert ex["error"] == "States.NoChoiceMatched"
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}
    ex, _ = run(sfn, d, {})
    assert ex["error"] == "States.Runtime"


def test_wait_parallel_map(sfn):
    d = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "Par"},
        "Par": {"Type": "Parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 2, "Next": "B2"},
                                        "B2": {"Type": "Pass", "Result": 2, "End": True}}}],
            "ResultPath": "$.par", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
              "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
              "ItemProcessor": {"StartAt": "Dbl", "States": {"Dbl": {"Type": "Pass", "End": True}}},
              "ResultPath": "$.mapped", "End": True}}}
    started = time.time()
    ex, arn = run(sfn, d, {"items": ["a", "b"]})
    assert ex["status"] == "SUCCEEDED", ex
    assert time.time() - started >= 10 * SCALE
    o = json.loads(ex["output"])
    assert o["par"] == [1, 2]
    assert o["mapped"] == [{"v": "a", "i": 0}, {"v": "b", "i": 1}]
    types = history_types(sfn, arn)
    for t in ["WaitStateEntered", "WaitStateExited", "ParallelStateEntered", "ParallelStateStarted",
              "ParallelStateSucceeded", "MapStateStarted", "MapIterationStarted", "MapIterationSucceeded",
              "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]:
        assert t in types


def test_retry_with_backoff_then_catch(sfn):
    table = f"missing-{uid()}"
    d = {"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S": "1"}}},
                "Retry": [{"ErrorEquals": ["DynamoDb.ResourceNotFoundException"], "IntervalSeconds": 2,
                           "BackoffRate": 2, "MaxAttempts": 2, "MaxDelaySeconds": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True},
        "Handled": {"Type": "Pass", "End": True}}}
    started = time.time()
    ex, arn = run(sfn, d, {"k": 1})
    took = time.time() - started
    assert ex["status"] == "SUCCEEDED", ex
    o = json.loads(ex["output"])
    assert o["k"] == 1 and o["err"]["Error"] == "DynamoDb.ResourceNotFoundException"
    # 2 s then min(4, 3) s, scaled.
    assert took >= 5 * SCALE * 0.9
    assert history_types(sfn, arn).count("TaskFailed") == 3


def test_aws_sdk_dynamodb_put_item_and_kms_encrypt(sfn, g):
    ddb = g.client("dynamodb")
    table = f"t-{uid()}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    key = g.client("kms").create_key()["KeyMetadata"]["KeyId"]
    d = {"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.id"}, "v": {"S": "hello"}}},
                "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.id"}}},
                "ResultSelector": {"v.$": "$.Item.v.S"}, "ResultPath": "$.got", "Next": "Enc"},
        "Enc": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:kms:encrypt",
                "Parameters": {"KeyId": key, "Plaintext.$": "$.got.v"},
                "ResultSelector": {"key.$": "$.KeyId", "blob.$": "$.CiphertextBlob"}, "ResultPath": "$.enc", "End": True}}}
    ex, arn = run(sfn, d, {"id": "k1"})
    assert ex["status"] == "SUCCEEDED", ex
    o = json.loads(ex["output"])
    assert o["got"] == {"v": "hello"}
    assert key in o["enc"]["key"]
    import base64
    plain = g.client("kms").decrypt(CiphertextBlob=base64.b64decode(o["enc"]["blob"]))["Plaintext"]
    assert plain == b"hello"
    assert ddb.get_item(TableName=table, Key={"id": {"S": "k1"}})["Item"]["v"] == {"S": "hello"}
    types = history_types(sfn, arn)
    assert types.count("TaskScheduled") == 3 and types.count("TaskSucceeded") == 3
    # Errors of an unknown aws-sdk action name the service.
    d = {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:kms:describeKey",
                                          "Parameters": {"KeyId": "alias/none"}, "End": True}}}
    ex, _ = run(sfn, d)
    assert ex["status"] == "FAILED" and ex["error"].startswith("Kms."), ex


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def test_lambda_wait_for_task_token_completed_by_send_task_success(sfn, g):
    lam = g.client("lambda")
    fn = f"fn-{uid()}"
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return {'seen': e['token'][:4]}\n"})})
    d = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                 "Parameters": {"FunctionName": fn, "Payload": {"token.$": "$$.Task.Token", "x.$": "$.x"}},
                 "ResultPath": "$.answer", "Next": "Plain"},
        "Plain": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": fn, "Payload": {"token": "abcdef"}},
                  "OutputPath": "$.Payload", "End": True}}}
    arn = machine(sfn, d)
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": 1}))["executionArn"]
    token = None
    end = time.time() + 20
    while token is None and time.time() < end:
        for e in sfn.get_execution_history(executionArn=ex)["events"]:
            if e["type"] == "TaskScheduled":
                token = json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        time.sleep(0.1)
    assert token
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    assert code(sfn.send_task_success, taskToken="bm90LWEtdG9rZW4=", output="{}") == "TaskDoesNotExist"
    sfn.send_task_success(taskToken=token, output=json.dumps({"ok": True}))
    done = wait_done(sfn, ex)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"seen": "abcd"}
    assert "TaskSubmitted" in history_types(sfn, ex)


def test_activity_worker_and_heartbeat_timeout(sfn):
    act = sfn.create_activity(name=f"act-{uid()}")["activityArn"]
    d = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 20,
                                                "TimeoutSeconds": 600, "End": True}}}
    arn = machine(sfn, d)
    ok = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": 1}))["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="w")
    assert json.loads(task["input"]) == {"job": 1}
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": 1}')
    assert json.loads(wait_done(sfn, ok)["output"]) == {"done": 1}
    types = history_types(sfn, ok)
    assert types[-4:] == ["ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"], types
    # No heartbeat: fails with States.HeartbeatTimeout after 20 s (scaled: 1 s).
    late = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    started = time.time()
    done = wait_done(sfn, late)
    assert done["status"] == "FAILED" and done["error"] == "States.HeartbeatTimeout", done
    assert time.time() - started < 5
    assert code(sfn.send_task_success, taskToken=task["taskToken"], output="{}") in ("TaskTimedOut", "TaskDoesNotExist")


def test_stop_execution(sfn):
    d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2000, "End": True}}}
    arn = machine(sfn, d)
    ex = sfn.start_execution(stateMachineArn=arn, name="to-stop")["executionArn"]
    time.sleep(0.3)
    sfn.stop_execution(executionArn=ex, error="Stopped", cause="by test")
    d = sfn.describe_execution(executionArn=ex)
    assert d["status"] == "ABORTED" and d["error"] == "Stopped"
    assert history_types(sfn, ex)[-1] == "ExecutionAborted"
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]] == ["to-stop"]
    assert code(sfn.start_execution, stateMachineArn=arn, name="to-stop") == "ExecutionAlreadyExists"


def test_jsonpath_and_jsonata_give_the_same_output(sfn):
    jsonpath = {"StartAt": "Sum", "States": {
        "Sum": {"Type": "Pass", "Parameters": {"total.$": "States.MathAdd($.a, $.b)", "who.$": "$.name"},
                "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.total", "NumericGreaterThan": 5, "Next": "Big"}],
                  "Default": "Small"},
        "Big": {"Type": "Pass", "Parameters": {"total.$": "$.total", "who.$": "$.who", "size": "big"}, "End": True},
        "Small": {"Type": "Pass", "Parameters": {"total.$": "$.total", "who.$": "$.who", "size": "small"}, "End": True}}}
    jsonata = {"QueryLanguage": "JSONata", "StartAt": "Sum", "States": {
        "Sum": {"Type": "Pass", "Output": {"total": "{% $states.input.a + $states.input.b %}", "who": "{% $states.input.name %}"},
                "Assign": {"seen": "{% $states.input.name %}"}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.total > 5 %}", "Next": "Big"}],
                  "Default": "Small"},
        "Big": {"Type": "Pass", "Output": {"total": "{% $states.input.total %}", "who": "{% $seen %}", "size": "big"}, "End": True},
        "Small": {"Type": "Pass", "Output": {"total": "{% $states.input.total %}", "who": "{% $seen %}", "size": "small"}, "End": True}}}
    for data in [{"a": 2, "b": 9, "name": "x"}, {"a": 1, "b": 1, "name": "y"}]:
        a = sync(sfn, jsonpath, data)
        b = sync(sfn, jsonata, data)
        assert a["status"] == b["status"] == "SUCCEEDED", (a, b)
        assert json.loads(a["output"]) == json.loads(b["output"])
    assert json.loads(b["output"]) == {"total": 2, "who": "y", "size": "small"}
    bad = sync(sfn, {"QueryLanguage": "JSONata", "StartAt": "X", "States": {
        "X": {"Type": "Pass", "Output": "{% $states.input.a.b.c + 'x' %}", "End": True}}}, {"a": {"b": {"c": 1}}})
    assert bad["status"] == "FAILED" and bad["error"] == "States.QueryEvaluationError"


def test_validate_definition_diagnostics(sfn):
    ok = sfn.validate_state_machine_definition(definition=json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = sfn.validate_state_machine_definition(definition=json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Nope"}}}))
    assert bad["result"] == "FAIL"
    codes = {d["code"] for d in bad["diagnostics"]}
    assert {"SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET"} <= codes
    assert any(d.get("location") == "/States/A/Next" for d in bad["diagnostics"])
    assert sfn.validate_state_machine_definition(definition="{x")["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_sync_execution_errors_and_test_state(sfn):
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    std = machine(sfn, d)
    assert code(sfn.start_sync_execution, stateMachineArn=std) == "StateMachineTypeNotSupported"
    express = machine(sfn, d, kind="EXPRESS")
    assert code(sfn.list_executions, stateMachineArn=express) == "StateMachineTypeNotSupported"
    assert code(sfn.start_execution, stateMachineArn=std + "x") == "StateMachineDoesNotExist"
    assert code(sfn.start_execution, stateMachineArn=std, input="{bad") == "InvalidExecutionInput"
    out = sfn.test_state(definition=json.dumps({"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "N"}),
                         roleArn=ROLE, input='{"a": 3}')
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"x": 3} and out["nextState"] == "N"


def test_restart_during_a_wait_continues_at_the_right_time(sfn, g):
    # 60 s scaled to 3 s: killed after ~1 s, restarted, finishes at ~3 s.
    d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "After"},
                                    "After": {"Type": "Pass", "Result": "woke", "End": True}}}
    arn = machine(sfn, d)
    # And an execution waiting in an activity task.
    act = sfn.create_activity(name=f"durable-{uid()}")["activityArn"]
    waiting = sfn.start_execution(stateMachineArn=machine(sfn, {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": act, "ResultPath": "$.r", "Next": "P"},
        "P": {"Type": "Pass", "End": True}}}), input='{"k": 1}')["executionArn"]
    started = time.time()
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    time.sleep(1.0)
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    g.kill()
    g.start()
    sfn = g.client("stepfunctions", inject_host_prefix=False)
    task = sfn.get_activity_task(activityArn=act)
    assert json.loads(task["input"]) == {"k": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='"done"')
    assert json.loads(wait_done(sfn, waiting)["output"]) == {"k": 1, "r": "done"}
    done = wait_done(sfn, ex, timeout=15)
    took = time.time() - started
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == "woke"
    assert 60 * SCALE * 0.95 <= took < 60 * SCALE + 3, took
    types = history_types(sfn, ex)
    assert types.count("WaitStateExited") == 1 and types[-1] == "ExecutionSucceeded"


def test_distributed_map_over_a_csv_in_s3_with_item_batcher(sfn, g):
    s3 = g.client("s3")
    bucket = f"b-{uid()}"
    s3.create_bucket(Bucket=bucket)
    rows = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(1000))
    s3.put_object(Bucket=bucket, Key="rows.csv", Body=rows.encode())
    d = {"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket.$": "$.bucket", "Key": "rows.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"src": "csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "Count", "States": {"Count": {"Type": "Pass", "Parameters": {
                              "n.$": "States.ArrayLength($.Items)", "first.$": "$.Items[0].name", "src.$": "$.src"},
                              "End": True}}},
        "ToleratedFailurePercentage": 0,
        "End": True}}}
    ex, _ = run(sfn, d, {"bucket": bucket})
    assert ex["status"] == "SUCCEEDED", ex
    out = json.loads(ex["output"])
    assert len(out) == 10
    assert all(o["n"] == 100 and o["src"] == "csv" for o in out)
    assert [o["first"] for o in out[:2]] == ["n0", "n100"]
    # ResultWriter: the results go to S3, the state answers the manifest.
    d["States"]["M"]["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject",
                                        "Parameters": {"Bucket": bucket, "Prefix": "out"}}
    ex, _ = run(sfn, d, {"bucket": bucket})
    assert ex["status"] == "SUCCEEDED", ex
    res = json.loads(ex["output"])
    assert ":mapRun:" in res["MapRunArn"] and res["ResultWriterDetails"]["Bucket"] == bucket
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=res["ResultWriterDetails"]["Key"])["Body"].read())
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    rows = json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())
    assert len(rows) == 10 and json.loads(rows[0]["Output"])["n"] == 100 and rows[0]["Status"] == "SUCCEEDED"


def test_start_execution_sync_of_a_child(sfn):
    child = machine(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 4, "Next": "P"},
                                                    "P": {"Type": "Pass", "Parameters": {"got.$": "$.v"}, "End": True}}})
    d = {"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input": {"v.$": "$.v"}},
        "OutputPath": "$.Output", "End": True}}}
    ex, _ = run(sfn, d, {"v": 42})
    assert ex["status"] == "SUCCEEDED", (ex.get("error"), ex.get("cause"))
    assert json.loads(ex["output"]) == {"got": 42}


def test_mock_config_serves_task_results(sfn, make_gateway, tmp_path):
    name = f"mocked-{uid()}"
    cfg = {"StateMachines": {name: {"TestCases": {"Happy": {"Call": "CallOk"}, "Sad": {"Call": "CallFails"}}}},
           "MockedResponses": {"CallOk": {"0": {"Return": {"Payload": {"ok": 1}}}},
                               "CallFails": {"0-1": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "mocked"}},
                                             "2": {"Return": {"Payload": {"ok": 2}}}}}}
    path = tmp_path / "mock.json"
    path.write_text(json.dumps(cfg))
    gw = make_gateway(env={"SFN_MOCK_CONFIG": str(path), "SFN_WAIT_SCALE": "0"})
    c = gw.client("stepfunctions", inject_host_prefix=False)
    d = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "nowhere", "Payload": {}},
        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 3}],
        "OutputPath": "$.Payload", "End": True}}}
    arn = machine(c, d, name=name)
    happy = c.start_execution(stateMachineArn=arn + "#Happy")["executionArn"]
    sad = c.start_execution(stateMachineArn=arn + "#Sad")["executionArn"]
    assert json.loads(wait_done(c, happy)["output"]) == {"ok": 1}
    assert json.loads(wait_done(c, sad)["output"]) == {"ok": 2}


def test_status_change_events_reach_eventbridge(sfn, g):
    events, sqs = g.client("events"), g.client("sqs")
    q = sqs.create_queue(QueueName=f"sfn-events-{uid()}")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    arn = machine(sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    rule = f"sfn-{uid()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.states"], "detail": {"stateMachineArn": [arn]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": qarn}])
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    wait_done(sfn, ex)
    seen = []
    end = time.time() + 10
    while len(seen) < 2 and time.time() < end:
        for m in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            seen.append(json.loads(m["Body"]))
    assert sorted(e["detail"]["status"] for e in seen) == ["RUNNING", "SUCCEEDED"]
    assert all(e["detail-type"] == "Step Functions Execution Status Change" and e["detail"]["executionArn"] == ex
               for e in seen)


def test_execution_timeout_and_redrive(sfn):
    d = {"TimeoutSeconds": 20, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2000, "End": True}}}
    ex, arn = run(sfn, d)
    assert ex["status"] == "TIMED_OUT" and ex["error"] == "States.Timeout"
    assert history_types(sfn, arn)[-1] == "ExecutionTimedOut"
    # A redrive restarts from the state that failed.
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "C"}, "C": {"Type": "Choice", "Choices": [
        {"Variable": "$.go", "BooleanEquals": True, "Next": "S"}]}, "S": {"Type": "Succeed"}}}
    ex, arn = run(sfn, d, {"go": False})
    assert ex["status"] == "FAILED"
    sfn.redrive_execution(executionArn=arn)
    time.sleep(0.2)
    again = wait_done(sfn, arn)
    assert again["status"] == "FAILED" and again["redriveCount"] == 1
    types = history_types(sfn, arn)
    assert "ExecutionRedriven" in types and types.count("ChoiceStateEntered") == 2
    ok, ok_arn = run(sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    assert code(sfn.redrive_execution, executionArn=ok_arn) == "ExecutionNotRedrivable"


def test_error_paths_of_parallel_map_and_task_timeout(sfn):
    # A failing branch fails the Parallel state; Catch takes the error output.
    d = {"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Branches": [
            {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Branch.Error", "Cause": "b"}}}],
            "Catch": [{"ErrorEquals": ["Branch.Error"], "ResultPath": "$.caught", "Next": "After"}], "End": True},
        "After": {"Type": "Pass", "End": True}}}
    ex, _ = run(sfn, d, {"x": 1})
    assert ex["status"] == "SUCCEEDED", ex
    assert json.loads(ex["output"]) == {"x": 1, "caught": {"Error": "Branch.Error", "Cause": "b"}}
    # A failing item fails an inline Map (no tolerance).
    d = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericLessThan": 3, "Next": "Fine"}], "Default": "Bad"},
        "Fine": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "TooBig"}}}, "End": True}}}
    ex, arn = run(sfn, d, [1, 2, 5])
    assert ex["status"] == "FAILED" and ex["error"] == "TooBig"
    assert "MapIterationFailed" in history_types(sfn, arn)
    # A task token never answered: States.Timeout after TimeoutSeconds (scaled).
    q = sfn.meta.endpoint_url
    assert q
    act = sfn.create_activity(name=f"slow-{uid()}")["activityArn"]
    d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "TimeoutSeconds": 20,
                                          "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": True},
                                    "Late": {"Type": "Pass", "Result": "late", "End": True}}}
    ex, arn = run(sfn, d)
    assert ex["status"] == "SUCCEEDED" and json.loads(ex["output"]) == "late"
    assert "ActivityTimedOut" in history_types(sfn, arn)
    # SendTaskFailure's error is the task's error.
    d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}}
    arn = machine(sfn, d)
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=act)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Failed", cause="no")
    done = wait_done(sfn, ex)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Worker.Failed", "no")


def test_jsonpath_variables_from_assign(sfn):
    d = {"StartAt": "Keep", "States": {
        "Keep": {"Type": "Pass", "Assign": {"who.$": "$.name", "n": 2}, "Parameters": {"other": 1}, "Next": "Use"},
        "Use": {"Type": "Pass", "Parameters": {"who.$": "$who", "n.$": "States.MathAdd($n, 1)", "in.$": "$"}, "End": True}}}
    out = sync(sfn, d, {"name": "ann"})
    assert out["status"] == "SUCCEEDED", out
    assert json.loads(out["output"]) == {"who": "ann", "n": 3, "in": {"other": 1}}


def test_an_eventbridge_rule_starts_an_execution(sfn, g):
    events = g.client("events")
    arn = machine(sfn, {"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.detail", "End": True}}})
    rule = f"start-{uid()}"
    src = f"my.app.{uid()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "sm", "Arn": arn, "RoleArn": ROLE}])
    events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": json.dumps({"order": 7})}])
    end = time.time() + 10
    runs = []
    while not runs and time.time() < end:
        runs = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
        time.sleep(0.1)
    assert len(runs) == 1
    assert json.loads(sfn.describe_execution(executionArn=runs[0]["executionArn"])["output"]) == {"order": 7}
