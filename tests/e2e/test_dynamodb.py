"""DynamoDB through the whole gateway with boto3 (client and resource) and
the aws CLI: tables, items, the expression language, indexes, batches and
transactions, AWS's validation errors."""

import concurrent.futures
import decimal
import gzip
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config


def ddb(gateway, **kw):
    return gateway.client("dynamodb", **kw)


def resource(gateway):
    return boto3.resource(
        "dynamodb",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id="000000000000",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def name(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_table(client, hash_type="S", range_type=None, **kw):
    table = name()
    defs = [{"AttributeName": "pk", "AttributeType": hash_type}]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if range_type:
        defs.append({"AttributeName": "sk", "AttributeType": range_type})
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    defs += kw.pop("extra_defs", [])
    client.create_table(
        TableName=table, KeySchema=schema, AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST", **kw
    )
    return table


def error(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


# ---------- tables ----------


def test_create_describe_list_delete_table(gateway):
    c = ddb(gateway)
    t = name()
    out = c.create_table(
        TableName=t,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
        Tags=[{"Key": "team", "Value": "core"}],
    )["TableDescription"]
    assert out["TableStatus"] == "ACTIVE"
    assert out["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{t}"
    assert out["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    c.get_waiter("table_exists").wait(TableName=t, WaiterConfig={"Delay": 1})
    c.put_item(TableName=t, Item={"id": {"S": "a"}, "v": {"S": "x" * 10}})
    d = c.describe_table(TableName=t)["Table"]
    assert d["ItemCount"] == 1 and d["TableSizeBytes"] > 10
    assert d["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t in c.list_tables()["TableNames"]
    assert c.list_tags_of_resource(ResourceArn=d["TableArn"])["Tags"] == [{"Key": "team", "Value": "core"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_table(
            TableName=t,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error(e)[0] == "ResourceInUseException" and error(e)[2] == 400
    assert c.delete_table(TableName=t)["TableDescription"]["TableStatus"] == "DELETING"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_table(TableName=t)
    assert error(e)[:1] == ("ResourceNotFoundException",)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.get_item(TableName=t, Key={"id": {"S": "a"}})
    assert error(e)[0] == "ResourceNotFoundException"


def test_list_tables_paginates(gateway):
    c = ddb(gateway, region="eu-west-3")
    made = sorted(make_table(c) for _ in range(5))
    page = c.list_tables(Limit=2)
    assert len(page["TableNames"]) == 2 and page["LastEvaluatedTableName"] == page["TableNames"][-1]
    seen = []
    for p in c.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
        seen += p["TableNames"]
    assert seen == made


def test_create_table_validation(gateway):
    c = ddb(gateway)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_table(
            TableName=name(),
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    code, msg, status = error(e)
    assert code == "ValidationException" and status == 400
    assert "Some index key attributes are not defined in AttributeDefinitions" in msg
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_table(
            TableName=name(),
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
    assert "ReadCapacityUnits and WriteCapacityUnits must both be specified" in error(e)[1]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_table(
            TableName=name(),
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "x", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    assert "Number of attributes in KeySchema does not exactly match" in error(e)[1]


def test_update_table_billing_protection_and_tags(gateway):
    c = ddb(gateway)
    t = make_table(c, DeletionProtectionEnabled=True)
    d = c.update_table(
        TableName=t, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    )["TableDescription"]
    assert d["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.delete_table(TableName=t)
    assert error(e)[0] == "ValidationException" and "protected against deletion" in error(e)[1]
    c.update_table(TableName=t, DeletionProtectionEnabled=False)
    arn = d["TableArn"]
    c.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    c.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert c.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    c.delete_table(TableName=t)


def test_ttl_limits_and_endpoints(gateway):
    c = ddb(gateway)
    t = make_table(c)
    assert c.describe_time_to_live(TableName=t)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    spec = {"Enabled": True, "AttributeName": "expires"}
    assert c.update_time_to_live(TableName=t, TimeToLiveSpecification=spec)["TimeToLiveSpecification"] == spec
    d = c.describe_time_to_live(TableName=t)["TimeToLiveDescription"]
    assert d == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_time_to_live(TableName=t, TimeToLiveSpecification=spec)
    assert error(e)[:2] == ("ValidationException", "TimeToLive is already enabled")
    assert c.describe_limits()["TableMaxReadCapacityUnits"] == 40000
    assert c.describe_endpoints()["Endpoints"][0]["Address"] == "dynamodb.us-east-1.amazonaws.com"


# ---------- items ----------


def test_put_get_delete_with_return_values(gateway):
    c = ddb(gateway)
    t = make_table(c)
    item = {
        "pk": {"S": "k"},
        "n": {"N": "1.50"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "ss": {"SS": ["a", "b"]},
        "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}, {"B": b"\x00\x01"}]}}},
    }
    assert "Attributes" not in c.put_item(TableName=t, Item=item, ReturnValues="ALL_OLD")
    got = c.get_item(TableName=t, Key={"pk": {"S": "k"}}, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1.5"}
    assert got["big"] == {"N": "12345678901234567890123456789012345678"}
    assert got["m"]["M"]["l"]["L"][2] == {"B": b"\x00\x01"}
    old = c.put_item(TableName=t, Item={"pk": {"S": "k"}, "v": {"S": "2"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old["n"] == {"N": "1.5"}
    proj = c.get_item(TableName=t, Key={"pk": {"S": "k"}}, ProjectionExpression="v")["Item"]
    assert proj == {"v": {"S": "2"}}
    assert c.delete_item(TableName=t, Key={"pk": {"S": "k"}}, ReturnValues="ALL_OLD")["Attributes"]["v"] == {"S": "2"}
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "k"}})


def test_item_validation_messages(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    cases = [
        ({"pk": {"S": "a"}}, "One or more parameter values were invalid: Missing the key sk in the item"),
        ({"pk": {"N": "1"}, "sk": {"N": "1"}}, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
        ({"pk": {"S": ""}, "sk": {"N": "1"}}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"N": "abc"}}, "The parameter cannot be converted to a numeric value: abc"),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"SS": ["a", "a"]}}, "Input collection [a, a] contains duplicates."),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"N": "1" * 39}}, "Attempting to store more than 38 significant digits in a Number"),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "x" * 410_000}}, "Item size has exceeded the maximum allowed size"),
    ]
    for item, msg in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            c.put_item(TableName=t, Item=item)
        assert error(e) == ("ValidationException", msg, 400), item.keys()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.get_item(TableName=t, Key={"pk": {"S": "a"}})
    assert error(e)[1] == "The provided key element does not match the schema"


def test_conditions_on_put_and_delete(gateway):
    c = ddb(gateway)
    t = make_table(c)
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "5"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.put_item(
            TableName=t,
            Item={"pk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error(e) == ("ConditionalCheckFailedException", "The conditional request failed", 400)
    assert e.value.response["Item"] == {"pk": {"S": "a"}, "v": {"N": "5"}}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.delete_item(
            TableName=t,
            Key={"pk": {"S": "a"}},
            ConditionExpression="v > :x",
            ExpressionAttributeValues={":x": {"N": "5"}},
        )
    assert error(e)[0] == "ConditionalCheckFailedException"
    c.delete_item(
        TableName=t, Key={"pk": {"S": "a"}}, ConditionExpression="v BETWEEN :a AND :b",
        ExpressionAttributeValues={":a": {"N": "4.9"}, ":b": {"N": "5"}},
    )
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "a"}})


def test_update_expressions(gateway):
    c = ddb(gateway)
    t = make_table(c)
    key = {"pk": {"S": "u"}}
    out = c.update_item(
        TableName=t,
        Key=key,
        UpdateExpression="SET #n = :one, #l = :list, #m = :map ADD tags :tags",
        ExpressionAttributeNames={"#n": "count", "#l": "list", "#m": "map"},
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":list": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]},
            ":map": {"M": {"inner": {"M": {"x": {"N": "1"}}}}},
            ":tags": {"SS": ["red", "blue"]},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out["count"] == {"N": "1"} and out["pk"] == key["pk"]
    out = c.update_item(
        TableName=t,
        Key=key,
        UpdateExpression="SET #n = #n + :two, #m.inner.x = :nine, #l = list_append(#l, :more), fresh = if_not_exists(fresh, :zero) "
        "DELETE tags :red",
        ExpressionAttributeNames={"#n": "count", "#l": "list", "#m": "map"},
        ExpressionAttributeValues={
            ":two": {"N": "2"}, ":nine": {"N": "9"}, ":more": {"L": [{"S": "d"}]}, ":zero": {"N": "0"}, ":red": {"SS": ["red"]}
        },
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    assert out["count"] == {"N": "3"}
    assert out["map"] == {"M": {"inner": {"M": {"x": {"N": "9"}}}}}
    item = c.get_item(TableName=t, Key=key)["Item"]
    assert item["list"] == {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "d"}]}
    assert item["tags"] == {"SS": ["blue"]}
    assert item["fresh"] == {"N": "0"}
    old = c.update_item(
        TableName=t, Key=key, UpdateExpression="REMOVE #l[1], #l[0]", ExpressionAttributeNames={"#l": "list"},
        ReturnValues="UPDATED_OLD",
    )["Attributes"]
    assert old == {"list": {"L": [{"S": "a"}, {"S": "b"}]}}
    assert c.get_item(TableName=t, Key=key)["Item"]["list"] == {"L": [{"S": "c"}, {"S": "d"}]}
    # ADD on numbers with 38-digit precision, and on number sets.
    c.update_item(
        TableName=t, Key=key, UpdateExpression="ADD big :a, ns :s",
        ExpressionAttributeValues={":a": {"N": "0.1"}, ":s": {"NS": ["1", "2"]}},
    )
    c.update_item(
        TableName=t, Key=key, UpdateExpression="ADD big :a, ns :s",
        ExpressionAttributeValues={":a": {"N": "0.2"}, ":s": {"NS": ["2", "3"]}},
    )
    item = c.get_item(TableName=t, Key=key)["Item"]
    assert item["big"] == {"N": "0.3"}
    assert sorted(item["ns"]["NS"]) == ["1", "2", "3"]


def test_update_item_errors(gateway):
    c = ddb(gateway)
    t = make_table(c)
    key = {"pk": {"S": "e"}}
    cases = [
        (dict(UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "x"}}),
         "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"),
        (dict(UpdateExpression="SET a = :v", ExpressionAttributeValues={":v": {"S": "x"}, ":w": {"S": "y"}}),
         "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
        (dict(UpdateExpression="SET a = :v", ExpressionAttributeNames={"#u": "x"}, ExpressionAttributeValues={":v": {"S": "x"}}),
         "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}"),
        (dict(UpdateExpression="SET a = :nope"),
         "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope"),
        (dict(UpdateExpression="SET #zz = :v", ExpressionAttributeValues={":v": {"S": "x"}}),
         "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #zz"),
        (dict(UpdateExpression="SET status = :v", ExpressionAttributeValues={":v": {"S": "x"}}),
         "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status"),
        (dict(UpdateExpression="SET a = :v REMOVE a", ExpressionAttributeValues={":v": {"S": "x"}}),
         "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"),
        (dict(UpdateExpression="SET a = a + :v", ExpressionAttributeValues={":v": {"N": "1"}}),
         "The provided expression refers to an attribute that does not exist in the item"),
        (dict(UpdateExpression="SET nested.x = :v", ExpressionAttributeValues={":v": {"N": "1"}}),
         "The document path provided in the update expression is invalid for update"),
    ]
    for kw, msg in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            c.update_item(TableName=t, Key=key, **kw)
        assert error(e) == ("ValidationException", msg, 400), kw
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_item(TableName=t, Key=key, UpdateExpression="SET a = :v,", ExpressionAttributeValues={":v": {"S": "x"}})
    assert error(e)[1].startswith("Invalid UpdateExpression: Syntax error; token: <EOF>")
    assert "Item" not in c.get_item(TableName=t, Key=key)


def test_condition_functions_and_types(gateway):
    c = ddb(gateway)
    t = make_table(c)
    c.put_item(TableName=t, Item={
        "pk": {"S": "c"}, "s": {"S": "hello world"}, "n": {"N": "10"}, "b": {"B": b"\x01\x02\x03"},
        "ss": {"SS": ["x", "y"]}, "l": {"L": [{"N": "1"}, {"S": "two"}]}, "m": {"M": {"deep": {"M": {"v": {"S": "z"}}}}},
    })

    def holds(expr, values=None, names=None):
        kw = {"ConditionExpression": expr}
        if values:
            kw["ExpressionAttributeValues"] = values
        if names:
            kw["ExpressionAttributeNames"] = names
        try:
            c.update_item(TableName=t, Key={"pk": {"S": "c"}}, UpdateExpression="SET touched = :touched",
                          ExpressionAttributeValues={**(values or {}), ":touched": {"BOOL": True}},
                          **{k: v for k, v in kw.items() if k != "ExpressionAttributeValues"})
            return True
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False

    assert holds("begins_with(s, :p)", {":p": {"S": "hello"}})
    assert not holds("begins_with(s, :p)", {":p": {"S": "world"}})
    assert holds("contains(s, :p) AND contains(ss, :x) AND contains(l, :two)", {":p": {"S": "o w"}, ":x": {"S": "x"}, ":two": {"S": "two"}})
    assert holds("size(l) = :two AND size(s) > :ten", {":two": {"N": "2"}, ":ten": {"N": "10"}})
    assert holds("attribute_type(ss, :t) AND attribute_type(m.deep, :m)", {":t": {"S": "SS"}, ":m": {"S": "M"}})
    assert holds("m.deep.v = :z AND l[1] = :two", {":z": {"S": "z"}, ":two": {"S": "two"}})
    assert holds("n IN (:a, :b, :c)", {":a": {"N": "1"}, ":b": {"N": "10.0"}, ":c": {"N": "3"}})
    assert holds("NOT (n < :a OR n > :b) AND b < :bb", {":a": {"N": "9"}, ":b": {"N": "11"}, ":bb": {"B": b"\x01\x03"}})
    assert not holds("s < :n", {":n": {"N": "1"}})
    assert holds("#s <> :n", {":n": {"N": "1"}}, {"#s": "s"})
    assert not holds("attribute_exists(m.deep.nope)")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        holds("attribute_type(s, :t)", {":t": {"S": "XX"}})
    assert error(e)[0] == "ValidationException" and "Invalid attribute type name found" in error(e)[1]


def test_thousand_concurrent_adds_end_at_a_thousand(gateway):
    c = ddb(gateway, max_pool_connections=32)
    t = make_table(c)

    def add(_):
        c.update_item(TableName=t, Key={"pk": {"S": "ctr"}}, UpdateExpression="ADD n :one",
                      ExpressionAttributeValues={":one": {"N": "1"}})

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(add, range(1000)))
    assert c.get_item(TableName=t, Key={"pk": {"S": "ctr"}})["Item"]["n"] == {"N": "1000"}


# ---------- query and scan ----------


def test_numeric_sort_keys_order_numerically(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    values = ["-100", "-1.5", "-1", "0", "0.001", "2", "10", "11", "100", "1e20"]
    for v in reversed(values):
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": v}})
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [i["sk"]["N"] for i in out["Items"]] == ["-100", "-1.5", "-1", "0", "0.001", "2", "10", "11", "100", "100000000000000000000"]
    out = c.query(TableName=t, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "-1.5"}, ":b": {"N": "10"}}, ScanIndexForward=False)
    assert [i["sk"]["N"] for i in out["Items"]] == ["10", "2", "0.001", "0", "-1", "-1.5"]
    for op, want in [("<", ["-100", "-1.5", "-1"]), ("<=", ["-100", "-1.5", "-1", "0"]), (">", ["100", "100000000000000000000"]), (">=", ["11", "100", "100000000000000000000"])]:
        v = "0" if op in ("<", "<=") and want[-1] == "0" else ("-1" if op == "<" else ("11" if op == ">=" else "11"))
        out = c.query(TableName=t, KeyConditionExpression=f"pk = :p AND sk {op} :v",
                      ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"N": {"<": "0", "<=": "0", ">": "11", ">=": "11"}[op]}})
        assert [i["sk"]["N"] for i in out["Items"]] == want, op


def test_binary_and_string_sort_keys_order_bytewise(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="B")
    keys = [b"", b"\x00", b"\x00\x01", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]
    for k in reversed(keys[1:]):
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"B": k}})
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [i["sk"]["B"] for i in out["Items"]] == keys[1:]
    out = c.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"B": b"\xff"}})
    assert [i["sk"]["B"] for i in out["Items"]] == [b"\xff", b"\xff\x00"]
    s = make_table(c, range_type="S")
    words = ["B", "a", "aa", "ab", "b", "é", "z"]
    for w in words:
        c.put_item(TableName=s, Item={"pk": {"S": "p"}, "sk": {"S": w}})
    out = c.query(TableName=s, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [i["sk"]["S"] for i in out["Items"]] == sorted(words, key=lambda w: w.encode())


def test_query_limit_pages_filter_and_count(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    for i in range(100):
        c.put_item(TableName=t, Item={"pk": {"S": "q"}, "sk": {"N": str(i)}, "even": {"BOOL": i % 2 == 0}})
    c.put_item(TableName=t, Item={"pk": {"S": "other"}, "sk": {"N": "1"}})
    got, start, pages = [], None, 0
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}}, Limit=30, **kw)
        pages += 1
        got += [int(i["sk"]["N"]) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert got == list(range(100)) and pages == 4
    # The filter applies after the limit: 10 read, 5 returned.
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", FilterExpression="even = :t",
                  ExpressionAttributeValues={":p": {"S": "q"}, ":t": {"BOOL": True}}, Limit=10)
    assert out["Count"] == 5 and out["ScannedCount"] == 10 and out["LastEvaluatedKey"]["sk"] == {"N": "9"}
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}}, Select="COUNT")
    assert out["Count"] == 100 and "Items" not in out
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}},
                  ScanIndexForward=False, Limit=3, ProjectionExpression="sk")
    assert out["Items"] == [{"sk": {"N": "99"}}, {"sk": {"N": "98"}}, {"sk": {"N": "97"}}]
    out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}},
                  ScanIndexForward=False, Limit=3, ExclusiveStartKey=out["LastEvaluatedKey"])
    assert [i["sk"]["N"] for i in out["Items"]] == ["96", "95", "94"]


def test_query_and_scan_pages_stop_at_one_megabyte(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    blob = "x" * (300 * 1024)
    for i in range(6):
        c.put_item(TableName=t, Item={"pk": {"S": "big"}, "sk": {"N": str(i)}, "data": {"S": blob}})
    got, start, pages = [], None, 0
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        out = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "big"}}, **kw)
        pages += 1
        assert out["ScannedCount"] <= 4
        got += [int(i["sk"]["N"]) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert got == list(range(6)) and pages >= 2
    # A filter that matches nothing still stops the page at 1 MB read.
    out = c.scan(TableName=t, FilterExpression="sk > :n", ExpressionAttributeValues={":n": {"N": "100"}})
    assert out["Count"] == 0 and out["ScannedCount"] == 4 and out["LastEvaluatedKey"]["sk"] == {"N": "3"}
    out = c.scan(TableName=t, ExclusiveStartKey=out["LastEvaluatedKey"])
    assert [i["sk"]["N"] for i in out["Items"]] == ["4", "5"] and "LastEvaluatedKey" not in out


def test_query_validation(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    cases = [
        (dict(KeyConditionExpression="sk = :v", ExpressionAttributeValues={":v": {"N": "1"}}),
         "Query condition missed key schema element: pk"),
        (dict(KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"N": "1"}}),
         "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        (dict(KeyConditionExpression="pk = :v OR sk = :w", ExpressionAttributeValues={":v": {"S": "a"}, ":w": {"N": "1"}}),
         "Invalid operator used in KeyConditionExpression: OR"),
        (dict(),
         "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."),
    ]
    for kw, msg in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            c.query(TableName=t, **kw)
        assert error(e) == ("ValidationException", msg, 400), kw


def test_scan_filter_pages_and_segments(gateway):
    c = ddb(gateway)
    t = make_table(c, hash_type="N")
    for i in range(40):
        c.put_item(TableName=t, Item={"pk": {"N": str(i)}, "grp": {"S": "a" if i < 10 else "b"}})
    out = c.scan(TableName=t, FilterExpression="grp = :a", ExpressionAttributeValues={":a": {"S": "a"}})
    assert sorted(int(i["pk"]["N"]) for i in out["Items"]) == list(range(10)) and out["ScannedCount"] == 40
    seen = []
    for seg in range(3):
        start = None
        while True:
            kw = {"ExclusiveStartKey": start} if start else {}
            out = c.scan(TableName=t, Segment=seg, TotalSegments=3, Limit=5, **kw)
            seen += [int(i["pk"]["N"]) for i in out["Items"]]
            start = out.get("LastEvaluatedKey")
            if not start:
                break
    assert sorted(seen) == list(range(40))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.scan(TableName=t, Segment=3, TotalSegments=3)
    assert "The Segment parameter is zero-based and must be less than parameter TotalSegments" in error(e)[1]


def test_indexes_maintained_on_write_and_backfilled(gateway):
    c = ddb(gateway)
    t = make_table(
        c, range_type="S",
        extra_defs=[{"AttributeName": "city", "AttributeType": "S"}, {"AttributeName": "age", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-city", "KeySchema": [{"AttributeName": "city", "KeyType": "HASH"}, {"AttributeName": "age", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        LocalSecondaryIndexes=[{
            "IndexName": "by-age", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "age", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    people = [("u1", "Paris", 30), ("u2", "Paris", 25), ("u3", "Rome", 40), ("u4", "Paris", 35)]
    for pk, city, age in people:
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": pk}, "city": {"S": city}, "age": {"N": str(age)}, "x": {"S": "y"}})
    c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": "nocity"}, "age": {"N": "1"}})  # sparse in by-city
    out = c.query(TableName=t, IndexName="by-city", KeyConditionExpression="city = :c AND age > :a",
                  ExpressionAttributeValues={":c": {"S": "Paris"}, ":a": {"N": "26"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["u1", "u4"]
    assert set(out["Items"][0]) == {"pk", "sk", "city", "age"}
    # Moving an item moves its index entry.
    c.update_item(TableName=t, Key={"pk": {"S": "p"}, "sk": {"S": "u1"}}, UpdateExpression="SET city = :r",
                  ExpressionAttributeValues={":r": {"S": "Rome"}})
    c.delete_item(TableName=t, Key={"pk": {"S": "p"}, "sk": {"S": "u4"}})
    out = c.query(TableName=t, IndexName="by-city", KeyConditionExpression="city = :c", ExpressionAttributeValues={":c": {"S": "Paris"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["u2"]
    out = c.query(TableName=t, IndexName="by-age", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                  ScanIndexForward=False, Limit=2)
    assert [i["age"]["N"] for i in out["Items"]] == ["40", "30"] and out["Items"][0]["x"] == {"S": "y"}
    assert set(out["LastEvaluatedKey"]) == {"pk", "sk", "age"}
    out = c.query(TableName=t, IndexName="by-age", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                  ScanIndexForward=False, ExclusiveStartKey=out["LastEvaluatedKey"])
    assert [i["age"]["N"] for i in out["Items"]] == ["25", "1"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.query(TableName=t, IndexName="by-city", ConsistentRead=True, KeyConditionExpression="city = :c",
                ExpressionAttributeValues={":c": {"S": "Paris"}})
    assert error(e)[1] == "Consistent reads are not supported on global secondary indexes"
    # A GSI added after the data exists is backfilled.
    d = c.update_table(
        TableName=t, AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by-x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}}],
    )["TableDescription"]
    assert {i["IndexName"] for i in d["GlobalSecondaryIndexes"]} == {"by-city", "by-x"}
    out = c.query(TableName=t, IndexName="by-x", KeyConditionExpression="x = :y", ExpressionAttributeValues={":y": {"S": "y"}})
    assert sorted(i["sk"]["S"] for i in out["Items"]) == ["u1", "u2", "u3"]
    c.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-x"}}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.query(TableName=t, IndexName="by-x", KeyConditionExpression="x = :y", ExpressionAttributeValues={":y": {"S": "y"}})
    assert error(e)[0] == "ValidationException"


# ---------- batches and transactions ----------


def test_batch_write_and_get(gateway):
    c = ddb(gateway)
    t = make_table(c)
    out = c.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}}}} for i in range(25)]})
    assert out["UnprocessedItems"] == {}
    c.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}}]})
    out = c.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "k0"}}, {"pk": {"S": "k1"}}, {"pk": {"S": "k24"}}], "ProjectionExpression": "v"}})
    assert sorted(i["v"]["N"] for i in out["Responses"][t]) == ["1", "24"] and out["UnprocessedKeys"] == {}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}})
    assert error(e)[1] == "Provided list of item keys contains duplicates"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": f"x{i}"}}}} for i in range(26)]})
    assert error(e)[0] == "ValidationException"


def test_transactions_are_all_or_nothing(gateway):
    c = ddb(gateway)
    t = make_table(c)
    c.put_item(TableName=t, Item={"pk": {"S": "acct1"}, "bal": {"N": "100"}})
    c.put_item(TableName=t, Item={"pk": {"S": "acct2"}, "bal": {"N": "0"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.transact_write_items(TransactItems=[
            {"Update": {"TableName": t, "Key": {"pk": {"S": "acct1"}}, "UpdateExpression": "SET bal = bal - :x",
                        "ExpressionAttributeValues": {":x": {"N": "150"}}}},
            {"Put": {"TableName": t, "Item": {"pk": {"S": "new"}}}},
            {"ConditionCheck": {"TableName": t, "Key": {"pk": {"S": "acct2"}}, "ConditionExpression": "bal > :z",
                                "ExpressionAttributeValues": {":z": {"N": "0"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    code, msg, status = error(e)
    assert code == "TransactionCanceledException" and status == 400
    assert msg == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed]"
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "ConditionalCheckFailed"]
    assert reasons[2]["Item"] == {"pk": {"S": "acct2"}, "bal": {"N": "0"}}
    assert c.get_item(TableName=t, Key={"pk": {"S": "acct1"}})["Item"]["bal"] == {"N": "100"}
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "new"}})
    items = [
        {"Update": {"TableName": t, "Key": {"pk": {"S": "acct1"}}, "UpdateExpression": "SET bal = bal - :x",
                    "ConditionExpression": "bal >= :x", "ExpressionAttributeValues": {":x": {"N": "30"}}}},
        {"Update": {"TableName": t, "Key": {"pk": {"S": "acct2"}}, "UpdateExpression": "SET bal = bal + :x",
                    "ExpressionAttributeValues": {":x": {"N": "30"}}}},
        {"Delete": {"TableName": t, "Key": {"pk": {"S": "gone"}}}},
    ]
    c.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
    c.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")  # idempotent: applied once
    out = c.transact_get_items(TransactItems=[
        {"Get": {"TableName": t, "Key": {"pk": {"S": "acct1"}}}},
        {"Get": {"TableName": t, "Key": {"pk": {"S": "acct2"}}, "ProjectionExpression": "bal"}},
        {"Get": {"TableName": t, "Key": {"pk": {"S": "missing"}}}},
    ])["Responses"]
    assert out[0]["Item"]["bal"] == {"N": "70"} and out[1]["Item"] == {"bal": {"N": "30"}} and out[2] == {}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.transact_write_items(TransactItems=items[:1], ClientRequestToken="tok-1")
    assert error(e)[0] == "IdempotentParameterMismatchException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.transact_write_items(TransactItems=[items[0], {"Delete": {"TableName": t, "Key": {"pk": {"S": "acct1"}}}}])
    assert error(e)[:2] == ("ValidationException", "Transaction request cannot include multiple operations on one item")


# ---------- boto3 resource ----------


def test_resource_table_batch_writer_and_conditions(gateway):
    db = resource(gateway)
    t = name()
    table = db.create_table(
        TableName=t,
        KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}, {"AttributeName": "ts", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    assert table.table_status == "ACTIVE"
    with table.batch_writer() as w:
        for i in range(60):
            w.put_item(Item={"user": "ann" if i % 2 else "bob", "ts": i, "score": decimal.Decimal(f"{i}.5"), "tags": {"x", f"t{i % 3}"}})
    table.reload()
    assert table.item_count == 60
    out = table.query(KeyConditionExpression=Key("user").eq("ann") & Key("ts").between(10, 20))
    assert [i["ts"] for i in out["Items"]] == [11, 13, 15, 17, 19]
    assert out["Items"][0]["score"] == decimal.Decimal("11.5")
    out = table.query(KeyConditionExpression=Key("user").eq("bob"), FilterExpression=Attr("score").gt(50) & Attr("tags").contains("t0"))
    assert [i["ts"] for i in out["Items"]] == [54]
    out = table.scan(FilterExpression=Attr("ts").is_in([1, 2, 3]) | Attr("score").lt(decimal.Decimal("0.6")))
    assert sorted(i["ts"] for i in out["Items"]) == [0, 1, 2, 3]
    table.update_item(Key={"user": "ann", "ts": 1}, UpdateExpression="SET score = score + :d",
                      ConditionExpression=Attr("score").eq(decimal.Decimal("1.5")), ExpressionAttributeValues={":d": decimal.Decimal("0.25")})
    assert table.get_item(Key={"user": "ann", "ts": 1})["Item"]["score"] == decimal.Decimal("1.75")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        table.put_item(Item={"user": "ann", "ts": 1}, ConditionExpression=Attr("user").not_exists())
    assert error(e)[0] == "ConditionalCheckFailedException"
    table.delete()


def test_aws_cli_put_and_query(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    gateway.aws("dynamodb", "put-item", "--table-name", t, "--item", '{"pk": {"S": "cli"}, "sk": {"N": "2"}}')
    gateway.aws("dynamodb", "put-item", "--table-name", t, "--item", '{"pk": {"S": "cli"}, "sk": {"N": "10"}}')
    import json
    out = json.loads(gateway.aws("dynamodb", "query", "--table-name", t, "--key-condition-expression", "pk = :p",
                                 "--expression-attribute-values", '{":p": {"S": "cli"}}').stdout)
    assert [i["sk"]["N"] for i in out["Items"]] == ["2", "10"]


def test_ttl_sweep_deletes_expired_items(make_gateway, tmp_path):
    plugins = tmp_path / "plugins.toml"
    wasm = Path(__file__).resolve().parents[2] / "target/wasm32-wasip2/plugin/dynamodb.wasm"
    plugins.write_text(f'[plugins.dynamodb]\npath = "{wasm}"\n\n[plugins.dynamodb.settings]\nttl_sweep_seconds = "0.5"\n')
    g = make_gateway(plugins_file=plugins)
    c = ddb(g)
    t = make_table(c, extra_defs=[{"AttributeName": "g", "AttributeType": "S"}], GlobalSecondaryIndexes=[{
        "IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}])
    now = int(time.time())
    c.put_item(TableName=t, Item={"pk": {"S": "old"}, "g": {"S": "x"}, "exp": {"N": str(now - 10)}})
    c.put_item(TableName=t, Item={"pk": {"S": "new"}, "g": {"S": "x"}, "exp": {"N": str(now + 3600)}})
    c.put_item(TableName=t, Item={"pk": {"S": "none"}, "g": {"S": "x"}})
    c.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    deadline = time.time() + 15
    while time.time() < deadline and "Item" in c.get_item(TableName=t, Key={"pk": {"S": "old"}}):
        time.sleep(0.2)
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "old"}})
    out = c.query(TableName=t, IndexName="by-g", KeyConditionExpression="g = :x", ExpressionAttributeValues={":x": {"S": "x"}})
    assert sorted(i["pk"]["S"] for i in out["Items"]) == ["new", "none"]


def test_partiql_statements(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    c.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1, 'tags': <<'x', 'y'>>, 'n': 5}}")
    c.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': ?, 'n': 7}}", Parameters=[{"S": "a"}, {"N": "2"}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1}}")
    assert error(e)[0] == "DuplicateItemException"
    out = c.execute_statement(Statement=f'SELECT * FROM "{t}" WHERE pk = ? AND n > 5', Parameters=[{"S": "a"}])
    assert [i["sk"]["N"] for i in out["Items"]] == ["2"]
    c.execute_statement(Statement=f"UPDATE \"{t}\" SET n = 10 REMOVE tags WHERE pk = 'a' AND sk = 1")
    item = c.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert item == {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "10"}}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.execute_statement(Statement=f"UPDATE \"{t}\" SET n = 1 WHERE pk = 'a' AND sk = 1 AND n = 3")
    assert error(e)[0] == "ConditionalCheckFailedException"
    c.execute_statement(Statement=f"DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = 2")
    out = c.execute_statement(Statement=f'SELECT sk FROM "{t}"')
    assert out["Items"] == [{"sk": {"N": "1"}}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1}}"},
            {"Statement": f"UPDATE \"{t}\" SET n = 0 WHERE pk = 'a' AND sk = 1 AND n = 99"},
        ])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert c.execute_statement(Statement=f"SELECT * FROM \"{t}\" WHERE pk = 'b'")["Items"] == []
    out = c.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1}}"},
    ])["Responses"]
    assert out[0]["Item"]["n"] == {"N": "10"} and out[1]["Error"]["Code"] == "DuplicateItem"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.execute_statement(Statement=f"SELECT * FROM \"{t}\" WHERE pk = ?")
    assert error(e)[0] == "ValidationException"


def test_stored_settings_policy_pitr_insights(gateway):
    c = ddb(gateway)
    t = make_table(c)
    arn = c.describe_table(TableName=t)["Table"]["TableArn"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.get_resource_policy(ResourceArn=arn)
    assert error(e)[0] == "PolicyNotFoundException"
    policy = '{"Version": "2012-10-17", "Statement": []}'
    rev = c.put_resource_policy(ResourceArn=arn, Policy=policy)["RevisionId"]
    got = c.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == policy and got["RevisionId"] == rev
    c.delete_resource_policy(ResourceArn=arn)
    with pytest.raises(botocore.exceptions.ClientError):
        c.get_resource_policy(ResourceArn=arn)
    d = c.describe_continuous_backups(TableName=t)["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    d = c.update_continuous_backups(TableName=t, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    assert d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_continuous_backups(TableName="no-such-table")
    assert error(e)[0] == "TableNotFoundException"
    out = c.update_contributor_insights(TableName=t, ContributorInsightsAction="ENABLE")
    assert out["ContributorInsightsStatus"] == "ENABLED"
    assert c.describe_contributor_insights(TableName=t)["ContributorInsightsStatus"] == "ENABLED"
    summaries = c.list_contributor_insights(TableName=t)["ContributorInsightsSummaries"]
    assert summaries == [{"TableName": t, "ContributorInsightsStatus": "ENABLED"}]


def test_backup_is_a_real_copy_and_restores(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N", extra_defs=[{"AttributeName": "g", "AttributeType": "S"}], GlobalSecondaryIndexes=[{
        "IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}])
    for i in range(5):
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "g": {"S": "even" if i % 2 == 0 else "odd"}})
    b = c.create_backup(TableName=t, BackupName="nightly")["BackupDetails"]
    assert b["BackupStatus"] == "AVAILABLE" and b["BackupArn"].startswith(c.describe_table(TableName=t)["Table"]["TableArn"] + "/backup/")
    c.delete_item(TableName=t, Key={"pk": {"S": "p"}, "sk": {"N": "0"}})  # after the backup: not in it
    assert [s["BackupName"] for s in c.list_backups(TableName=t)["BackupSummaries"]] == ["nightly"]
    assert c.describe_backup(BackupArn=b["BackupArn"])["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 5
    restored = name()
    d = c.restore_table_from_backup(TargetTableName=restored, BackupArn=b["BackupArn"])["TableDescription"]
    assert d["ItemCount"] == 5 and d["RestoreSummary"]["SourceBackupArn"] == b["BackupArn"]
    out = c.query(TableName=restored, IndexName="by-g", KeyConditionExpression="g = :e", ExpressionAttributeValues={":e": {"S": "even"}})
    assert sorted(i["sk"]["N"] for i in out["Items"]) == ["0", "2", "4"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.restore_table_from_backup(TargetTableName=restored, BackupArn=b["BackupArn"])
    assert error(e)[0] == "TableAlreadyExistsException"
    c.delete_backup(BackupArn=b["BackupArn"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_backup(BackupArn=b["BackupArn"])
    assert error(e)[0] == "BackupNotFoundException"


def test_point_in_time_restore_and_kinesis_destinations(gateway):
    c = ddb(gateway)
    t = make_table(c)
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.restore_table_to_point_in_time(SourceTableName=t, TargetTableName=name(), UseLatestRestorableTime=True)
    assert error(e)[0] == "PointInTimeRecoveryUnavailableException"
    c.update_continuous_backups(TableName=t, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    target = name()
    d = c.restore_table_to_point_in_time(SourceTableName=t, TargetTableName=target, UseLatestRestorableTime=True)["TableDescription"]
    assert d["ItemCount"] == 1
    assert c.get_item(TableName=target, Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    stream = "arn:aws:kinesis:us-east-1:000000000000:stream/changes"
    out = c.enable_kinesis_streaming_destination(TableName=t, StreamArn=stream)
    assert out["DestinationStatus"] == "ENABLING"
    dests = c.describe_kinesis_streaming_destination(TableName=t)["KinesisDataStreamDestinations"]
    assert [(x["StreamArn"], x["DestinationStatus"]) for x in dests] == [(stream, "ACTIVE")]
    c.disable_kinesis_streaming_destination(TableName=t, StreamArn=stream)
    dests = c.describe_kinesis_streaming_destination(TableName=t)["KinesisDataStreamDestinations"]
    assert dests[0]["DestinationStatus"] == "DISABLED"


def test_legacy_parameters(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    for i in range(5):
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"N": str(i * 10)}})
    c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": "0"}, "v": {"N": "1"}}, Expected={"v": {"Value": {"N": "0"}}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": "0"}}, Expected={"pk": {"Exists": False}})
    assert error(e)[0] == "ConditionalCheckFailedException"
    c.update_item(TableName=t, Key={"pk": {"S": "p"}, "sk": {"N": "1"}},
                  AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "5"}}, "w": {"Action": "PUT", "Value": {"S": "x"}}})
    assert c.get_item(TableName=t, Key={"pk": {"S": "p"}, "sk": {"N": "1"}}, AttributesToGet=["v", "w"])["Item"] == {"v": {"N": "15"}, "w": {"S": "x"}}
    out = c.query(TableName=t, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]},
    }, QueryFilter={"v": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "15"}]}})
    assert [i["sk"]["N"] for i in out["Items"]] == ["2", "3"]
    out = c.scan(TableName=t, ScanFilter={"v": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "40"}]}})
    assert sorted(i["sk"]["N"] for i in out["Items"]) == ["0", "4"]


def test_export_writes_dynamodb_json_into_s3(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"exp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    t = make_table(c, range_type="N")
    arn = c.describe_table(TableName=t)["Table"]["TableArn"]
    items = [{"pk": {"S": "a"}, "sk": {"N": str(i)}, "tags": {"SS": ["x", "y"]}} for i in range(3)]
    for i in items:
        c.put_item(TableName=t, Item=i)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket)
    assert error(e)[0] == "PointInTimeRecoveryUnavailableException"
    c.update_continuous_backups(TableName=t, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    d = c.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="backups")["ExportDescription"]
    assert d["ExportStatus"] in ("IN_PROGRESS", "COMPLETED") and d["ExportArn"].startswith(arn + "/export/")
    d = c.describe_export(ExportArn=d["ExportArn"])["ExportDescription"]
    assert d["ExportStatus"] == "COMPLETED" and d["ItemCount"] == 3 and d["ExportFormat"] == "DYNAMODB_JSON"
    export_id = d["ExportArn"].rsplit("/", 1)[1]
    base = f"backups/AWSDynamoDB/{export_id}"
    assert d["ExportManifest"] == f"{base}/manifest-summary.json"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    for k in ["manifest-summary.json", "manifest-files.json", "_started"]:
        assert f"{base}/{k}" in keys
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"{base}/manifest-summary.json")["Body"].read())
    assert summary["itemCount"] == 3 and summary["exportArn"] == d["ExportArn"] and summary["outputFormat"] == "DYNAMODB_JSON"
    files = [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=summary["manifestFilesS3Key"])["Body"].read().splitlines()]
    assert len(files) == 1 and files[0]["itemCount"] == 3
    data_key = files[0]["dataFileS3Key"]
    assert data_key.startswith(f"{base}/data/") and data_key.endswith(".json.gz")
    lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=data_key)["Body"].read()).decode().splitlines()
    assert sorted((json.loads(line)["Item"] for line in lines), key=lambda i: i["sk"]["N"]) == items
    listed = c.list_exports(TableArn=arn)["ExportSummaries"]
    assert [x["ExportArn"] for x in listed] == [d["ExportArn"]] and listed[0]["ExportStatus"] == "COMPLETED"
    # A missing bucket fails the export, as AWS reports it.
    bad = c.export_table_to_point_in_time(TableArn=arn, S3Bucket=f"{bucket}-missing")["ExportDescription"]
    bad = c.describe_export(ExportArn=bad["ExportArn"])["ExportDescription"]
    assert bad["ExportStatus"] == "FAILED" and bad["FailureCode"] == "S3NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_export(ExportArn=arn + "/export/01234567890123-deadbeef")
    assert error(e)[0] == "ExportNotFoundException"


def test_global_tables_metadata(gateway):
    c = ddb(gateway)
    t = make_table(c)
    out = c.update_table(TableName=t, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])["TableDescription"]
    assert [r["RegionName"] for r in out["Replicas"]] == ["eu-west-1"] and out["Replicas"][0]["ReplicaStatus"] == "ACTIVE"
    d = c.describe_table(TableName=t)["Table"]
    assert d["GlobalTableVersion"] == "2019.11.21"
    assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    c.update_table(TableName=t, ReplicaUpdates=[{"Create": {"RegionName": "ap-south-1", "TableClassOverride": "STANDARD_INFREQUENT_ACCESS"}}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_table(TableName=t, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    assert error(e)[0] == "ValidationException"
    c.update_table(TableName=t, ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-1"}}])
    reps = c.describe_table(TableName=t)["Table"]["Replicas"]
    assert [(r["RegionName"], r["ReplicaTableClassSummary"]["TableClass"]) for r in reps] == [("ap-south-1", "STANDARD_INFREQUENT_ACCESS")]

    # Version 2017.11.29.
    g = make_table(c)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_global_table(GlobalTableName=g)
    assert error(e)[0] == "GlobalTableNotFoundException"
    d = c.create_global_table(GlobalTableName=g, ReplicationGroup=[{"RegionName": "us-east-1"}, {"RegionName": "us-west-2"}])["GlobalTableDescription"]
    assert d["GlobalTableStatus"] == "ACTIVE" and d["GlobalTableArn"] == f"arn:aws:dynamodb::000000000000:global-table/{g}"
    assert [r["RegionName"] for r in d["ReplicationGroup"]] == ["us-east-1", "us-west-2"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_global_table(GlobalTableName=g, ReplicationGroup=[{"RegionName": "us-east-1"}])
    assert error(e)[0] == "GlobalTableAlreadyExistsException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_global_table(GlobalTableName="no-such-table-xyz", ReplicationGroup=[{"RegionName": "us-east-1"}])
    assert error(e)[0] == "TableNotFoundException"
    c.update_global_table(GlobalTableName=g, ReplicaUpdates=[{"Create": {"RegionName": "eu-central-1"}}, {"Delete": {"RegionName": "us-west-2"}}])
    d = c.describe_global_table(GlobalTableName=g)["GlobalTableDescription"]
    assert [r["RegionName"] for r in d["ReplicationGroup"]] == ["us-east-1", "eu-central-1"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_global_table(GlobalTableName=g, ReplicaUpdates=[{"Delete": {"RegionName": "sa-east-1"}}])
    assert error(e)[0] == "ReplicaNotFoundException"
    listed = c.list_global_tables(RegionName="eu-central-1")["GlobalTables"]
    assert {"GlobalTableName": g, "ReplicationGroup": [{"RegionName": "us-east-1"}, {"RegionName": "eu-central-1"}]} in listed
    assert g not in [x["GlobalTableName"] for x in c.list_global_tables(RegionName="us-west-2")["GlobalTables"]]
    s = c.update_global_table_settings(GlobalTableName=g, GlobalTableBillingMode="PROVISIONED", GlobalTableProvisionedWriteCapacityUnits=7,
                                       ReplicaSettingsUpdate=[{"RegionName": "eu-central-1", "ReplicaProvisionedReadCapacityUnits": 9}])
    by = {r["RegionName"]: r for r in s["ReplicaSettings"]}
    assert by["eu-central-1"]["ReplicaProvisionedReadCapacityUnits"] == 9
    assert by["us-east-1"]["ReplicaProvisionedWriteCapacityUnits"] == 7
    assert by["us-east-1"]["ReplicaBillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert c.describe_global_table_settings(GlobalTableName=g)["ReplicaSettings"] == s["ReplicaSettings"]
    # Global tables are per account, seen from every region.
    other = ddb(gateway, region="eu-central-1")
    assert other.describe_global_table(GlobalTableName=g)["GlobalTableDescription"]["GlobalTableName"] == g


def test_replica_auto_scaling_settings_stored(gateway):
    c = ddb(gateway)
    t = make_table(c)
    c.update_table(TableName=t, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    d = c.describe_table_replica_auto_scaling(TableName=t)["TableAutoScalingDescription"]
    assert d["TableName"] == t and [r["RegionName"] for r in d["Replicas"]] == ["us-east-1", "eu-west-1"]
    assert d["Replicas"][0]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["AutoScalingDisabled"] is True
    policy = {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0}}
    d = c.update_table_replica_auto_scaling(
        TableName=t,
        ProvisionedWriteCapacityAutoScalingUpdate={"MinimumUnits": 5, "MaximumUnits": 50, "ScalingPolicyUpdate": policy},
        ReplicaUpdates=[{"RegionName": "eu-west-1", "ReplicaProvisionedReadCapacityAutoScalingUpdate": {"MinimumUnits": 2, "MaximumUnits": 20}}],
    )["TableAutoScalingDescription"]
    by = {r["RegionName"]: r for r in d["Replicas"]}
    w = by["us-east-1"]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert (w["MinimumUnits"], w["MaximumUnits"]) == (5, 50)
    assert w["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
    r = by["eu-west-1"]["ReplicaProvisionedReadCapacityAutoScalingSettings"]
    assert (r["MinimumUnits"], r["MaximumUnits"]) == (2, 20)
    assert c.describe_table_replica_auto_scaling(TableName=t)["TableAutoScalingDescription"] == d
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.update_table_replica_auto_scaling(TableName=t, ReplicaUpdates=[{"RegionName": "sa-east-1"}])
    assert error(e)[0] == "ValidationException"


def test_partiql_select_pages_with_limit_and_next_token(gateway):
    c = ddb(gateway)
    t = make_table(c, range_type="N")
    for i in range(7):
        c.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    stmt = f"SELECT sk FROM \"{t}\" WHERE pk = ?"
    got, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        out = c.execute_statement(Statement=stmt, Parameters=[{"S": "p"}], Limit=3, **kw)
        pages += 1
        got += [int(i["sk"]["N"]) for i in out["Items"]]
        token = out.get("NextToken")
        if not token:
            break
    assert sorted(got) == list(range(7)) and len(got) == 7 and pages == 3
    first = c.execute_statement(Statement=stmt, Parameters=[{"S": "p"}], Limit=3)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.execute_statement(Statement=f"SELECT * FROM \"{t}\"", NextToken=first["NextToken"])
    assert error(e)[0] == "ValidationException"
    assert len(c.execute_statement(Statement=stmt, Parameters=[{"S": "p"}])["Items"]) == 7


# ---------- imports ----------


def import_params(table, range_type=None, **kw):
    defs = [{"AttributeName": "pk", "AttributeType": "S"}]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if range_type:
        defs.append({"AttributeName": "sk", "AttributeType": range_type})
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    defs += kw.pop("extra_defs", [])
    return {"TableName": table, "KeySchema": schema, "AttributeDefinitions": defs, "BillingMode": "PAY_PER_REQUEST", **kw}


def scan_all(c, table):
    return sorted(c.scan(TableName=table)["Items"], key=lambda i: json.dumps(i, sort_keys=True, default=repr))


def test_import_reads_back_an_export(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    t = make_table(c, range_type="N")
    arn = c.describe_table(TableName=t)["Table"]["TableArn"]
    items = [
        {"pk": {"S": f"p{i % 3}"}, "sk": {"N": str(i)}, "tags": {"SS": ["x", "y"]}, "m": {"M": {"n": {"N": "1.5"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}}}, "b": {"B": b"\x00\x01"}}
        for i in range(40)
    ]
    for i in items:
        c.put_item(TableName=t, Item=i)
    c.update_continuous_backups(TableName=t, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    exp = c.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="exp")["ExportDescription"]
    assert exp["ExportStatus"] == "COMPLETED"
    export_id = exp["ExportArn"].rsplit("/", 1)[1]
    target = name("imported")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": f"exp/AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters=import_params(
            target, range_type="N",
            extra_defs=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        ),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED"
    assert d["ImportArn"].startswith(f"arn:aws:dynamodb:us-east-1:000000000000:table/{target}/import/")
    assert d["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{target}"
    assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (40, 40, 0)
    assert d["ProcessedSizeBytes"] > 0 and d["EndTime"] >= d["StartTime"]
    assert d["InputFormat"] == "DYNAMODB_JSON" and d["InputCompressionType"] == "GZIP"
    assert d["S3BucketSource"]["S3Bucket"] == bucket and d["TableCreationParameters"]["TableName"] == target
    assert scan_all(c, target) == scan_all(c, t)
    table = c.describe_table(TableName=target)["Table"]
    assert table["TableStatus"] == "ACTIVE" and table["ItemCount"] == 40
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-g"
    # The GSI is kept on the imported items.
    c.put_item(TableName=target, Item={"pk": {"S": "z"}, "sk": {"N": "1"}, "g": {"S": "G"}})
    out = c.query(TableName=target, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "G"}})
    assert [i["pk"]["S"] for i in out["Items"]] == ["z"]
    again = c.describe_import(ImportArn=d["ImportArn"])["ImportTableDescription"]
    assert again == d
    listed = c.list_imports(TableArn=d["TableArn"])["ImportSummaryList"]
    assert [x["ImportArn"] for x in listed] == [d["ImportArn"]]
    assert listed[0]["ImportStatus"] == "COMPLETED" and listed[0]["InputFormat"] == "DYNAMODB_JSON"
    assert listed[0]["S3BucketSource"]["S3Bucket"] == bucket and listed[0]["TableArn"] == d["TableArn"]


def test_import_csv_objects_put_with_s3(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="csv/a.csv", Body=b'pk,sk,note,n\r\na,1,"hello, ""world""",7\nb,2,,\nc,3,x,y,too many\n')
    s3.put_object(Bucket=bucket, Key="csv/b.csv", Body=b"pk,sk,note,n\nd,10,\"two\nlines\",8\n")
    s3.put_object(Bucket=bucket, Key="other/c.csv", Body=b"pk,sk\nnot,0\n")
    target = name("csv")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "csv/"},
        InputFormat="CSV",
        TableCreationParameters=import_params(target, range_type="N"),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED"
    assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (4, 3, 1)
    assert d["InputCompressionType"] == "NONE"
    got = {i["pk"]["S"]: i for i in c.scan(TableName=target)["Items"]}
    assert sorted(got) == ["a", "b", "d"]
    # Keys take their type from AttributeDefinitions; other columns are strings.
    assert got["a"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "note": {"S": 'hello, "world"'}, "n": {"S": "7"}}
    assert got["b"] == {"pk": {"S": "b"}, "sk": {"N": "2"}}
    assert got["d"]["note"] == {"S": "two\nlines"}
    # Delimiter and HeaderList: the first line is data.
    s3.put_object(Bucket=bucket, Key="semi/1.csv", Body=b"k1;v1\nk2;v2\n")
    target2 = name("csv")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "semi/"},
        InputFormat="CSV",
        InputFormatOptions={"Csv": {"Delimiter": ";", "HeaderList": ["pk", "val"]}},
        TableCreationParameters=import_params(target2),
    )["ImportTableDescription"]
    assert d["InputFormatOptions"] == {"Csv": {"Delimiter": ";", "HeaderList": ["pk", "val"]}}
    assert (d["ImportedItemCount"], d["ErrorCount"]) == (2, 0)
    assert scan_all(c, target2) == [{"pk": {"S": "k1"}, "val": {"S": "v1"}}, {"pk": {"S": "k2"}, "val": {"S": "v2"}}]


def test_import_gzip_dynamodb_json_counts_bad_lines(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    lines = [json.dumps({"Item": {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}}}) for i in range(1500)]
    lines += [
        "not json",
        json.dumps({"pk": {"S": "no Item wrapper"}}),
        json.dumps({"Item": {"v": {"N": "1"}}}),  # no key
        json.dumps({"Item": {"pk": {"N": "1"}}}),  # key of the wrong type
    ]
    body = gzip.compress("\n".join(lines).encode())
    # More than one ListObjectsV2 page (1000 keys) is not needed for many items:
    # split across a few objects instead.
    s3.put_object(Bucket=bucket, Key="in/part-1.json.gz", Body=body)
    s3.put_object(Bucket=bucket, Key="in/part-2.json.gz", Body=gzip.compress(b'{"Item": {"pk": {"S": "last"}}}\n'))
    target = name("gz")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "in/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters=import_params(target),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED"
    assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (1505, 1501, 4)
    assert d["ProcessedSizeBytes"] == len(body) + s3.head_object(Bucket=bucket, Key="in/part-2.json.gz")["ContentLength"]
    assert c.describe_table(TableName=target)["Table"]["ItemCount"] == 1501
    assert c.get_item(TableName=target, Key={"pk": {"S": "k1234"}})["Item"] == {"pk": {"S": "k1234"}, "v": {"N": "1234"}}
    # A file that is not gzip counts as one error; the others are imported.
    s3.put_object(Bucket=bucket, Key="in/part-3.json.gz", Body=b'{"Item": {"pk": {"S": "plain"}}}\n')
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "in/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters=import_params(name("gz")),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED" and (d["ImportedItemCount"], d["ErrorCount"]) == (1501, 5)


def test_import_zstd(gateway, tmp_path):
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("the zstd command is not installed")
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    src = tmp_path / "items.json"
    src.write_text("".join(json.dumps({"Item": {"pk": {"S": f"z{i}"}}}) + "\n" for i in range(50)))
    body = subprocess.run([zstd, "-q", "-c", str(src)], check=True, capture_output=True).stdout
    s3.put_object(Bucket=bucket, Key="z/items.json.zst", Body=body)
    t = name("zstd")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "z/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="ZSTD",
        TableCreationParameters=import_params(t),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED" and (d["ImportedItemCount"], d["ErrorCount"]) == (50, 0)
    assert d["InputCompressionType"] == "ZSTD" and d["ProcessedSizeBytes"] == len(body)
    assert c.get_item(TableName=t, Key={"pk": {"S": "z49"}})["Item"] == {"pk": {"S": "z49"}}


def test_import_ion_text(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    ion = (
        '$ion_1_0 {Item:{pk:"a",n:1.50,e:12d-1,b:{{AAE=}},ok:true,none:null,l:[1,"x"],m:{\'a key\':"v"},'
        'ss:$dynamodb_SS::["x","y"],ns:$dynamodb_NS::[1,2]}}\n'
        '$ion_1_0 {Item:{pk:"b"}}\n'
        '$ion_1_0 {NotAnItem:{pk:"c"}}\n'
    )
    s3.put_object(Bucket=bucket, Key="ion/data.ion.gz", Body=gzip.compress(ion.encode()))
    t = name("ion")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "ion/"},
        InputFormat="ION",
        InputCompressionType="GZIP",
        TableCreationParameters=import_params(t),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED" and d["InputFormat"] == "ION"
    assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (3, 2, 1)
    item = c.get_item(TableName=t, Key={"pk": {"S": "a"}})["Item"]
    assert item == {
        "pk": {"S": "a"}, "n": {"N": "1.5"}, "e": {"N": "1.2"}, "b": {"B": b"\x00\x01"}, "ok": {"BOOL": True},
        "none": {"NULL": True}, "l": {"L": [{"N": "1"}, {"S": "x"}]}, "m": {"M": {"a key": {"S": "v"}}},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]},
    }


def test_import_reads_every_listing_page(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    # More objects than one ListObjectsV2 page (1000 keys).
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"many/{i:04}.csv", Body=f"pk\nk{i}\n".encode()), range(1005)))
    t = name("many")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "many/"},
        InputFormat="CSV",
        TableCreationParameters=import_params(t),
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED" and (d["ProcessedItemCount"], d["ImportedItemCount"]) == (1005, 1005)
    assert c.describe_table(TableName=t)["Table"]["ItemCount"] == 1005


def test_import_errors_and_failures(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="x.json", Body=b'{"Item": {"pk": {"S": "a"}}}\n')
    src = {"S3Bucket": bucket}
    # An existing table name.
    existing = make_table(c)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.import_table(S3BucketSource=src, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(existing))
    assert error(e)[0] == "ResourceInUseException" and error(e)[2] == 400
    # An unknown format; bad table parameters are CreateTable's errors.
    for kw in ({"InputFormat": "XML"}, {"InputFormat": "CSV", "InputCompressionType": "LZ4"}):
        t = name("no")
        with pytest.raises(botocore.exceptions.ClientError) as e:
            c.import_table(S3BucketSource=src, TableCreationParameters=import_params(t), **kw)
        assert error(e)[0] == "ValidationException" and error(e)[2] == 400
        with pytest.raises(botocore.exceptions.ClientError):
            c.describe_table(TableName=t)
    bad = import_params(name("no"))
    bad["KeySchema"] = [{"AttributeName": "nope", "KeyType": "HASH"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.import_table(S3BucketSource=src, InputFormat="DYNAMODB_JSON", TableCreationParameters=bad)
    assert error(e)[0] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.import_table(S3BucketSource=src, InputFormat="CSV", InputFormatOptions={"Csv": {"Delimiter": "x"}}, TableCreationParameters=import_params(name("no")))
    assert error(e)[0] == "ValidationException"
    # A missing bucket: the import FAILED (not a call error), no table left.
    t = name("missing")
    d = c.import_table(
        S3BucketSource={"S3Bucket": f"{bucket}-missing"}, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(t)
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "FAILED" and d["FailureCode"] == "S3NoSuchBucket" and d["FailureMessage"]
    assert c.describe_import(ImportArn=d["ImportArn"])["ImportTableDescription"]["ImportStatus"] == "FAILED"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_table(TableName=t)
    assert error(e)[0] == "ResourceNotFoundException"
    # S3BucketOwner must own the bucket (S3's ExpectedBucketOwner check).
    t = name("owner")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3BucketOwner": "000000000000"}, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(t)
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "COMPLETED" and d["ImportedItemCount"] == 1
    assert d["S3BucketSource"]["S3BucketOwner"] == "000000000000"
    t = name("owner")
    d = c.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3BucketOwner": "111122223333"}, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(t)
    )["ImportTableDescription"]
    assert d["ImportStatus"] == "FAILED" and d["FailureCode"] == "S3AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_table(TableName=t)
    assert error(e)[0] == "ResourceNotFoundException"
    # Not found.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_import(ImportArn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{t}/import/01234567890123-deadbeef")
    assert error(e)[0] == "ImportNotFoundException" and error(e)[2] == 400


def test_import_client_token_and_list_pages(gateway):
    c = ddb(gateway)
    s3 = gateway.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="x.json", Body=b'{"Item": {"pk": {"S": "a"}}}\n')
    src = {"S3Bucket": bucket}
    token = uuid.uuid4().hex
    t = name("tok")
    first = c.import_table(ClientToken=token, S3BucketSource=src, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(t))["ImportTableDescription"]
    assert first["ClientToken"] == token and first["ImportedItemCount"] == 1
    # The same request again answers the same import (no ResourceInUseException).
    again = c.import_table(ClientToken=token, S3BucketSource=src, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(t))["ImportTableDescription"]
    assert again == first
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.import_table(ClientToken=token, S3BucketSource=src, InputFormat="CSV", TableCreationParameters=import_params(t))
    assert error(e)[0] == "ImportConflictException" and error(e)[2] == 400
    arns = [first["ImportArn"]]
    for _ in range(2):
        arns.append(c.import_table(S3BucketSource=src, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(name("tok")))["ImportTableDescription"]["ImportArn"])
    seen, kw = [], {}
    while True:
        page = c.list_imports(PageSize=1, **kw)
        assert len(page["ImportSummaryList"]) <= 1
        seen += [x["ImportArn"] for x in page["ImportSummaryList"]]
        if "NextToken" not in page:
            break
        kw = {"NextToken": page["NextToken"]}
    assert set(arns) <= set(seen) and len(seen) == len(set(seen))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.list_imports(PageSize=26)
    assert error(e)[0] == "ValidationException"


def test_import_releases_the_object_blobs_it_read(make_gateway):
    # With S3_PERSIST the blobs are files per plugin: the GetObject bodies
    # shared into dynamodb's namespace are released once read.
    g = make_gateway(env={"S3_PERSIST": "1"})
    c = g.client("dynamodb")
    s3 = g.client("s3")
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"r/{i}.json", Body=json.dumps({"Item": {"pk": {"S": f"r{i}"}}}).encode())
    d = c.import_table(S3BucketSource={"S3Bucket": bucket}, InputFormat="DYNAMODB_JSON", TableCreationParameters=import_params(name("rel")))
    assert d["ImportTableDescription"]["ImportedItemCount"] == 3
    s3_files = [p for p in (g.tmp / "blobs" / "s3").iterdir() if not p.name.startswith(".")]
    assert len(s3_files) == 3
    # The bodies were shared into dynamodb's folder (hard links), then released.
    mine = g.tmp / "blobs" / "dynamodb"
    assert mine.is_dir()
    deadline = time.time() + 5
    while time.time() < deadline and any(mine.iterdir()):
        time.sleep(0.1)
    assert list(mine.iterdir()) == []
