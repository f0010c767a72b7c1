"""SNS fidelity (issue 25): regional endpoints refuse other regions' ARNs,
empty-account ARNs mean the caller's account, email subscriptions are
confirmed at once, lambda endpoints are checked, tagging ARNs validated."""

import uuid

import botocore
import pytest

ACCOUNT = "000000000000"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def sns(gateway):
    return gateway.client("sns")


def test_topic_and_subscription_arns_of_another_region_are_invalid(gateway, sns):
    topic = sns.create_topic(Name=f"fid-{uid()}")["TopicArn"]
    other = topic.replace(":us-east-1:", ":eu-west-1:")
    for call in (
        lambda: sns.get_topic_attributes(TopicArn=other),
        lambda: sns.publish(TopicArn=other, Message="m"),
        lambda: sns.subscribe(TopicArn=other, Protocol="email", Endpoint="a@example.com"),
    ):
        err = error_of(call)
        assert err["Error"]["Code"] == "InvalidParameter", err
    sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    err = error_of(sns.get_subscription_attributes,
                   SubscriptionArn=sub.replace(":us-east-1:", ":eu-west-1:"))
    assert err["Error"]["Code"] == "InvalidParameter", err
    # Another account's topic of this region is served by its owner.
    err = error_of(sns.get_topic_attributes, TopicArn=topic.replace(ACCOUNT, "111122223333"))
    assert err["Error"]["Code"] == "NotFound", err


def test_an_empty_account_field_means_the_callers_account(sns):
    name = f"fid-{uid()}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    no_account = f"arn:aws:sns:us-east-1::{name}"
    attrs = sns.get_topic_attributes(TopicArn=no_account)["Attributes"]
    assert attrs["TopicArn"] == topic
    assert sns.publish(TopicArn=no_account, Message="hi")["MessageId"]
    sns.set_topic_attributes(TopicArn=no_account, AttributeName="DisplayName", AttributeValue="d")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "d"


@pytest.mark.parametrize("protocol", ["email", "email-json"])
def test_email_subscriptions_are_confirmed_at_once(sns, protocol):
    topic = sns.create_topic(Name=f"fid-{uid()}")["TopicArn"]
    out = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=f"{uid()}@example.com")
    arn = out["SubscriptionArn"]
    assert arn.startswith(topic + ":"), out
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attrs["PendingConfirmation"] == "false"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [arn]


@pytest.mark.parametrize("endpoint", [
    "arn:aws:lambda:us-east-1:123:function:f",           # account not 12 digits
    "arn:aws:lambda:us-east-1:000000000000:layer:f",      # not a function
    "arn:aws:lambda:us-east-1:000000000000:function:",    # no name
    "arn:aws:lambda:us-east-1:000000000000:function:a b",  # bad name
    "arn:aws:lambda::000000000000:function:f",           # no region
    "arn:aws:sqs:us-east-1:000000000000:function:f",      # not lambda
])
def test_lambda_subscriptions_need_a_function_arn(sns, endpoint):
    topic = sns.create_topic(Name=f"fid-{uid()}")["TopicArn"]
    err = error_of(sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint=endpoint)
    assert err["Error"]["Code"] == "InvalidParameter", err


def test_lambda_subscription_with_a_function_arn_and_qualifier(sns):
    topic = sns.create_topic(Name=f"fid-{uid()}")["TopicArn"]
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-fn:live"
    arn = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    assert arn.startswith(topic + ":")


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:sns", "arn:aws"])
def test_tagging_a_malformed_arn_is_invalid_parameter(sns, arn):
    for call in (
        lambda: sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: sns.untag_resource(ResourceArn=arn, TagKeys=["k"]),
        lambda: sns.list_tags_for_resource(ResourceArn=arn),
    ):
        err = error_of(call)
        assert err["Error"]["Code"] == "InvalidParameter", err


def test_tagging_a_missing_topic_is_resource_not_found(sns):
    err = error_of(sns.list_tags_for_resource, ResourceArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:nope-{uid()}")
    assert err["Error"]["Code"] == "ResourceNotFound", err


def test_http_endpoints_with_userinfo_get_basic_auth(gateway, sns):
    import base64
    import json as jsonlib
    from test_sns import Receiver

    receiver = Receiver()
    try:
        topic = sns.create_topic(Name=f"fid-{uid()}")["TopicArn"]
        url = receiver.url.replace("http://", "http://alice:s%40cret@")
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)
        path, headers, body = receiver.next()
        assert path == "/hook"
        assert headers["authorization"] == "Basic " + base64.b64encode(b"alice:s@cret").decode()
        assert jsonlib.loads(body)["Type"] == "SubscriptionConfirmation"
    finally:
        receiver.close()
