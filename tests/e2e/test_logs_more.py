"""CloudWatch Logs, the rest of the model (boto3): transformers (tested and
applied to stored events), vended-log deliveries, anomaly detectors, index
policies and field indexes, integrations, scheduled queries, lookup tables,
GetLogObject / ListLogGroupsForQuery, and the operations that answer
ResourceNotFoundException because their resources cannot exist locally."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def uid():
    return uuid.uuid4().hex[:8]


def now_ms():
    return int(time.time() * 1000)


def code_of(call, *a, **kw):
    with pytest.raises(ClientError) as e:
        call(*a, **kw)
    return e.value.response["Error"]["Code"]


@pytest.fixture
def logs(gateway):
    return gateway.client("logs")


def new_group(logs):
    g = f"/more/{uid()}"
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    return g


def test_test_transformer_applies_processors(logs):
    config = [
        {"parseJSON": {}},
        {"addKeys": {"entries": [{"key": "env", "value": "dev"}]}},
        {"renameKeys": {"entries": [{"key": "lvl", "renameTo": "level"}]}},
        {"upperCaseString": {"withKeys": ["level"]}},
        {"typeConverter": {"entries": [{"key": "ms", "type": "integer"}]}},
        {"deleteKeys": {"withKeys": ["secret"]}},
    ]
    out = logs.test_transformer(transformerConfig=config, logEventMessages=[
        '{"lvl": "warn", "ms": "12", "secret": "x"}', "not json"])["transformedLogs"]
    assert json.loads(out[0]["transformedEventMessage"]) == {"env": "dev", "level": "WARN", "ms": 12}
    assert out[1]["transformedEventMessage"] == "not json"
    grok = logs.test_transformer(
        transformerConfig=[{"grok": {"match": "%{IP:client} %{WORD:method} %{URIPATHPARAM:path} %{NUMBER:status}"}}],
        logEventMessages=["10.1.2.3 GET /x?y=1 503"])["transformedLogs"][0]
    assert json.loads(grok["transformedEventMessage"]) == {
        "client": "10.1.2.3", "method": "GET", "path": "/x?y=1", "status": "503"}
    csv = logs.test_transformer(
        transformerConfig=[{"csv": {"columns": ["a", "b"]}}, {"splitString": {"entries": [{"source": "b", "delimiter": "|"}]}}],
        logEventMessages=['1,"x|y"'])["transformedLogs"][0]
    assert json.loads(csv["transformedEventMessage"]) == {"a": "1", "b": ["x", "y"]}
    # The first processor must be a parser.
    assert code_of(logs.test_transformer, transformerConfig=[{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}],
                   logEventMessages=["x"]) == "InvalidParameterException"


def test_put_transformer_transforms_stored_events(logs):
    g = new_group(logs)
    config = [{"parseKeyValue": {"fieldDelimiter": " "}}, {"lowerCaseString": {"withKeys": ["user"]}}]
    logs.put_transformer(logGroupIdentifier=g, transformerConfig=config)
    got = logs.get_transformer(logGroupIdentifier=g)
    assert got["transformerConfig"] == config and got["creationTime"] > 0
    t = now_ms()
    logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
        {"timestamp": t, "message": "user=ALICE action=login"}])
    ev = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"]
    assert json.loads(ev[0]["message"]) == {"user": "alice", "action": "login"}
    # Filter patterns see the transformed JSON.
    hits = logs.filter_log_events(logGroupName=g, filterPattern='{ $.user = "alice" }')["events"]
    assert len(hits) == 1
    logs.delete_transformer(logGroupIdentifier=g)
    assert code_of(logs.get_transformer, logGroupIdentifier=g) == "ResourceNotFoundException"
    logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[{"timestamp": t + 1, "message": "user=BOB"}])
    ev = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"]
    assert ev[-1]["message"] == "user=BOB"


def test_deliveries(logs):
    n = uid()
    src = logs.put_delivery_source(name=f"src-{n}", logType="APPLICATION_LOGS",
                                   resourceArn="arn:aws:bedrock:us-east-1:000000000000:agent/abc")["deliverySource"]
    assert src["service"] == "bedrock" and src["arn"].endswith(f":delivery-source:src-{n}")
    dest = logs.put_delivery_destination(
        name=f"dst-{n}", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::my-bucket"}
    )["deliveryDestination"]
    assert dest["deliveryDestinationType"] == "S3" and dest["outputFormat"] == "json"
    logs.put_delivery_destination_policy(deliveryDestinationName=f"dst-{n}", deliveryDestinationPolicy='{"Version":"2012-10-17"}')
    assert "2012-10-17" in logs.get_delivery_destination_policy(deliveryDestinationName=f"dst-{n}")["policy"]["deliveryDestinationPolicy"]
    d = logs.create_delivery(deliverySourceName=f"src-{n}", deliveryDestinationArn=dest["arn"],
                             fieldDelimiter=",")["delivery"]
    assert d["deliveryDestinationType"] == "S3"
    assert code_of(logs.create_delivery, deliverySourceName=f"src-{n}",
                   deliveryDestinationArn=dest["arn"]) == "ConflictException"
    logs.update_delivery_configuration(id=d["id"], fieldDelimiter="\t")
    assert logs.get_delivery(id=d["id"])["delivery"]["fieldDelimiter"] == "\t"
    assert d["id"] in [x["id"] for x in logs.describe_deliveries()["deliveries"]]
    assert f"src-{n}" in [x["name"] for x in logs.describe_delivery_sources()["deliverySources"]]
    assert f"dst-{n}" in [x["name"] for x in logs.describe_delivery_destinations()["deliveryDestinations"]]
    # In use: neither end can go before the delivery.
    assert code_of(logs.delete_delivery_source, name=f"src-{n}") == "ConflictException"
    assert code_of(logs.delete_delivery_destination, name=f"dst-{n}") == "ConflictException"
    logs.delete_delivery(id=d["id"])
    logs.delete_delivery_destination_policy(deliveryDestinationName=f"dst-{n}")
    logs.delete_delivery_source(name=f"src-{n}")
    logs.delete_delivery_destination(name=f"dst-{n}")
    assert code_of(logs.get_delivery, id=d["id"]) == "ResourceNotFoundException"
    assert code_of(logs.get_delivery_source, name=f"src-{n}") == "ResourceNotFoundException"
    assert code_of(logs.create_delivery, deliverySourceName="nope",
                   deliveryDestinationArn=dest["arn"]) == "ResourceNotFoundException"
    assert logs.describe_configuration_templates()["configurationTemplates"] == []


def test_anomaly_detectors(logs):
    g = new_group(logs)
    arn = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["logGroupArn"]
    det = logs.create_log_anomaly_detector(logGroupArnList=[arn], detectorName="d1",
                                           evaluationFrequency="FIVE_MIN")["anomalyDetectorArn"]
    got = logs.get_log_anomaly_detector(anomalyDetectorArn=det)
    assert got["detectorName"] == "d1" and got["evaluationFrequency"] == "FIVE_MIN"
    assert det in [d["anomalyDetectorArn"] for d in logs.list_log_anomaly_detectors(filterLogGroupArn=arn)["anomalyDetectors"]]
    logs.update_log_anomaly_detector(anomalyDetectorArn=det, enabled=False)
    assert logs.get_log_anomaly_detector(anomalyDetectorArn=det)["anomalyDetectorStatus"] == "PAUSED"
    assert logs.list_anomalies(anomalyDetectorArn=det)["anomalies"] == []
    assert code_of(logs.update_anomaly, anomalyDetectorArn=det, anomalyId=str(uuid.uuid4()),
                   suppressionType="INFINITE") == "ResourceNotFoundException"
    logs.delete_log_anomaly_detector(anomalyDetectorArn=det)
    assert code_of(logs.get_log_anomaly_detector, anomalyDetectorArn=det) == "ResourceNotFoundException"
    assert code_of(logs.create_log_anomaly_detector,
                   logGroupArnList=[arn.replace(g, "/no/such")]) == "ResourceNotFoundException"


def test_index_policies_and_field_indexes(logs):
    g = new_group(logs)
    p = logs.put_index_policy(logGroupIdentifier=g, policyDocument='{"Fields": ["requestId", "user"]}')["indexPolicy"]
    assert p["source"] == "LOG_GROUP"
    assert logs.describe_index_policies(logGroupIdentifiers=[g])["indexPolicies"][0]["policyDocument"] == p["policyDocument"]
    names = sorted(f["fieldIndexName"] for f in logs.describe_field_indexes(logGroupIdentifiers=[g])["fieldIndexes"])
    assert names == ["requestId", "user"]
    assert code_of(logs.put_index_policy, logGroupIdentifier=g, policyDocument="{") == "InvalidParameterException"
    logs.delete_index_policy(logGroupIdentifier=g)
    assert logs.describe_index_policies(logGroupIdentifiers=[g])["indexPolicies"] == []
    assert code_of(logs.delete_index_policy, logGroupIdentifier=g) == "ResourceNotFoundException"


def test_integrations_scheduled_queries_lookup_tables(logs):
    n = uid()
    logs.put_integration(integrationName=f"os-{n}", integrationType="OPENSEARCH", resourceConfig={
        "openSearchResourceConfig": {"dataSourceRoleArn": "arn:aws:iam::000000000000:role/r",
                                     "dashboardViewerPrincipals": ["arn:aws:iam::000000000000:role/r"],
                                     "retentionDays": 30}})
    assert logs.get_integration(integrationName=f"os-{n}")["integrationStatus"] == "ACTIVE"
    assert f"os-{n}" in [i["integrationName"] for i in logs.list_integrations(integrationNamePrefix="os-")["integrationSummaries"]]
    logs.delete_integration(integrationName=f"os-{n}")
    assert code_of(logs.get_integration, integrationName=f"os-{n}") == "ResourceNotFoundException"

    arn = logs.create_scheduled_query(name=f"q-{n}", queryLanguage="CWLI", queryString="fields @message | limit 5",
                                      scheduleExpression="rate(1 hour)",
                                      executionRoleArn="arn:aws:iam::000000000000:role/r")["scheduledQueryArn"]
    assert logs.get_scheduled_query(identifier=arn)["queryString"] == "fields @message | limit 5"
    up = logs.update_scheduled_query(identifier=f"q-{n}", queryLanguage="CWLI", queryString="stats count(*)",
                                     scheduleExpression="cron(0 * * * ? *)", state="DISABLED",
                                     executionRoleArn="arn:aws:iam::000000000000:role/r")
    assert up["state"] == "DISABLED" and up["scheduleExpression"].startswith("cron(")
    assert f"q-{n}" in [q["name"] for q in logs.list_scheduled_queries(state="DISABLED")["scheduledQueries"]]
    assert logs.get_scheduled_query_history(identifier=arn, startTime=0, endTime=now_ms())["triggerHistory"] == []
    assert code_of(logs.create_scheduled_query, name=f"q-{n}", queryLanguage="CWLI", queryString="fields x",
                   scheduleExpression="rate(1 hour)", executionRoleArn="arn:aws:iam::000000000000:role/r") == "ConflictException"
    assert code_of(logs.create_scheduled_query, name=f"bad-{n}", queryLanguage="CWLI", queryString="fields x",
                   scheduleExpression="every hour", executionRoleArn="arn:aws:iam::000000000000:role/r") == "ValidationException"
    logs.delete_scheduled_query(identifier=arn)
    assert code_of(logs.get_scheduled_query, identifier=arn) == "ResourceNotFoundException"

    t = logs.create_lookup_table(lookupTableName=f"t_{n}", tableBody="id,name\n1,a\n2,b\n")["lookupTableArn"]
    got = logs.get_lookup_table(lookupTableArn=t)
    assert got["tableBody"] == "id,name\n1,a\n2,b\n"
    desc = [x for x in logs.describe_lookup_tables(lookupTableNamePrefix=f"t_{n}")["lookupTables"]][0]
    assert desc["tableFields"] == ["id", "name"] and desc["recordsCount"] == 2
    logs.update_lookup_table(lookupTableArn=t, tableBody="id\n1\n")
    assert logs.describe_lookup_tables(lookupTableNamePrefix=f"t_{n}")["lookupTables"][0]["recordsCount"] == 1
    logs.delete_lookup_table(lookupTableArn=t)
    assert code_of(logs.get_lookup_table, lookupTableArn=t) == "ResourceNotFoundException"


def test_query_groups_log_object_and_local_absences(logs, gateway):
    g = new_group(logs)
    t = now_ms()
    logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[{"timestamp": t, "message": "hello object"}])
    qid = logs.start_query(logGroupName=g, startTime=t // 1000 - 60, endTime=t // 1000 + 60,
                           queryString="fields @message, @ptr")["queryId"]
    groups = logs.list_log_groups_for_query(queryId=qid)["logGroupIdentifiers"]
    assert len(groups) == 1 and groups[0].endswith(f":log-group:{g}")
    deadline = time.time() + 30
    while (r := logs.get_query_results(queryId=qid))["status"] not in ("Complete", "Failed"):
        assert time.time() < deadline
        time.sleep(0.1)
    ptr = [f["value"] for f in r["results"][0] if f["field"] == "@ptr"][0]
    streamer = gateway.client("logs", inject_host_prefix=False)
    events = list(streamer.get_log_object(logObjectPointer=ptr)["fieldStream"])
    record = json.loads(events[0]["fields"]["data"])
    assert record["@message"] == "hello object"

    logs.put_bearer_token_authentication(logGroupIdentifier=g, bearerTokenAuthenticationEnabled=True)
    assert logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["bearerTokenAuthenticationEnabled"] is True
    # Resources that cannot exist locally: AWS's not-found answers.
    assert code_of(logs.create_import_task, importSourceArn="arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/x",
                   importRoleArn="arn:aws:iam::000000000000:role/r") == "ResourceNotFoundException"
    assert logs.describe_import_tasks()["imports"] == []
    assert code_of(logs.cancel_import_task, importId="x") == "ResourceNotFoundException"
    assert code_of(logs.list_sources_for_s3_table_integration,
                   integrationArn="arn:aws:logs:us-east-1:000000000000:integration/x") == "ResourceNotFoundException"
    assert code_of(logs.get_log_fields, dataSourceName="amazon_vpc", dataSourceType="flow") == "ResourceNotFoundException"
    assert logs.list_aggregate_log_group_summaries(groupBy="DATA_SOURCE_NAME_AND_TYPE")["aggregateLogGroupSummaries"] == []
