"""CloudFormation types of CloudWatch Logs and CloudWatch through boto3
create_stack / delete_stack: LogGroup, LogStream, MetricFilter (applied to
events put afterwards), SubscriptionFilter to a Kinesis stream, Destination,
Alarm, CompositeAlarm, Dashboard."""

import json
import time
import uuid

from stacks import wait

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/cfn/${AWS::StackName}"
      RetentionInDays: 7
  Stream:
    Type: AWS::Logs::LogStream
    Properties:
      LogGroupName: !Ref Group
      LogStreamName: app
  Errors:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref Group
      FilterName: errors
      FilterPattern: "ERROR"
      MetricTransformations:
        - MetricName: ErrorCount
          MetricNamespace: !Sub "Cfn/${AWS::StackName}"
          MetricValue: "1"
          DefaultValue: 0
  Records:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
  Sub:
    Type: AWS::Logs::SubscriptionFilter
    Properties:
      LogGroupName: !Ref Group
      FilterName: to-kinesis
      FilterPattern: ""
      DestinationArn: !GetAtt Records.Arn
      RoleArn: arn:aws:iam::000000000000:role/cwl
  Dest:
    Type: AWS::Logs::Destination
    Properties:
      DestinationName: !Sub "dest-${AWS::StackName}"
      TargetArn: !GetAtt Records.Arn
      RoleArn: arn:aws:iam::000000000000:role/cwl
      DestinationPolicy: '{"Version":"2012-10-17","Statement":[]}'
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub "errors-${AWS::StackName}"
      Namespace: !Sub "Cfn/${AWS::StackName}"
      MetricName: ErrorCount
      Statistic: Sum
      Period: "60"
      EvaluationPeriods: "1"
      Threshold: "0"
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
  Composite:
    Type: AWS::CloudWatch::CompositeAlarm
    Properties:
      AlarmName: !Sub "composite-${AWS::StackName}"
      AlarmRule: !Sub "ALARM(${Alarm})"
  Board:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: !Sub "board-${AWS::StackName}"
      DashboardBody: '{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":3,"properties":{"markdown":"hi"}}]}'
Outputs:
  AlarmArn:
    Value: !GetAtt Alarm.Arn
  DestArn:
    Value: !GetAtt Dest.Arn
"""


def test_logs_and_cloudwatch_stack(gateway):
    cf, logs, cw = (gateway.client(s) for s in ("cloudformation", "logs", "cloudwatch"))
    name = f"lg{uuid.uuid4().hex[:8]}"
    cf.create_stack(StackName=name, TemplateBody=TEMPLATE)
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", cf.describe_stack_events(StackName=name)["StackEvents"][:3]
    outs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    group = f"/cfn/{name}"

    assert logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"] == "app"
    mf = logs.describe_metric_filters(logGroupName=group)["metricFilters"][0]
    assert mf["filterName"] == "errors" and mf["metricTransformations"][0]["defaultValue"] == 0
    sub = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"][0]
    assert sub["destinationArn"].endswith(":stream/" + sub["destinationArn"].rsplit("/", 1)[1])
    dest = logs.describe_destinations(DestinationNamePrefix=f"dest-{name}")["destinations"][0]
    assert dest["arn"] == outs["DestArn"] and dest["accessPolicy"]
    alarm = cw.describe_alarms(AlarmNames=[f"errors-{name}"])["MetricAlarms"][0]
    assert alarm["AlarmArn"] == outs["AlarmArn"] and alarm["Period"] == 60 and alarm["Threshold"] == 0
    comp = cw.describe_alarms(AlarmNames=[f"composite-{name}"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]
    assert comp["AlarmRule"] == f"ALARM(errors-{name})"
    assert "widgets" in cw.get_dashboard(DashboardName=f"board-{name}")["DashboardBody"]

    # The metric filter made by the stack turns log lines into the metric.
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "ERROR boom"}])
    deadline, total = time.time() + 30, 0
    while time.time() < deadline and total < 1:
        pts = cw.get_metric_statistics(Namespace=f"Cfn/{name}", MetricName="ErrorCount",
                                       StartTime=time.time() - 600, EndTime=time.time() + 60, Period=60,
                                       Statistics=["Sum"])["Datapoints"]
        total = sum(p["Sum"] for p in pts)
        time.sleep(0.2)
    assert total == 1

    stack_id = stack["StackId"]
    cf.delete_stack(StackName=name)
    assert wait(cf, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert not cw.describe_alarms(AlarmNamePrefix=f"errors-{name}")["MetricAlarms"]
    assert not cw.list_dashboards(DashboardNamePrefix=f"board-{name}")["DashboardEntries"]
    assert not logs.describe_destinations(DestinationNamePrefix=f"dest-{name}")["destinations"]
