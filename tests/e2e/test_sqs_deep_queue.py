"""A deep queue's attributes are counted in pages: reading every message at
once made GetQueueAttributes exceed the plugin's memory limit (found by
`make bench`: ~100k messages under the default 128 MiB). Here the SQS
plugin gets 16 MiB and the queue holds ~15 MiB of message bodies. The
counts come from the visibility index (the visible messages counted by the
store, only the hidden ones read): in flight and delayed are told apart by
reading those rows."""

import concurrent.futures as cf

from conftest import ROOT


def sqs_in_16_mib(make_gateway, tmp_path):
    """An SQS client of a gateway serving SQS alone, its plugin given 16 MiB."""
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(
        "[plugins.sqs]\n"
        f'path = "{ROOT}/target/wasm32-wasip2/plugin/sqs.wasm"\n'
        "memory_mb = 16\n"
    )
    return make_gateway(plugins_file=plugins, env={"SERVICES": "sqs"}).client("sqs")


def test_counts_of_a_queue_larger_than_the_plugin_memory(make_gateway, tmp_path):
    sqs = sqs_in_16_mib(make_gateway, tmp_path)
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    body = "x" * 1024
    batches, per = 1_500, 10

    def send(i):
        entries = [{"Id": str(j), "MessageBody": body} for j in range(per)]
        out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not out.get("Failed"), out
    with cf.ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(batches)))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    delayed = [{"Id": str(j), "MessageBody": "later", "DelaySeconds": 120} for j in range(3)]
    assert not sqs.send_message_batch(QueueUrl=url, Entries=delayed).get("Failed")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == batches * per - len(got)
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == len(got)
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == 3
    # A message received again with VisibilityTimeout=0 is visible at once.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])
    assert int(attrs["Attributes"]["ApproximateNumberOfMessages"]) == batches * per - len(got) + 1
    assert int(attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) == len(got) - 1


def test_fifo_receive_pages_a_queue_larger_than_the_plugin_memory(make_gateway, tmp_path):
    # A FIFO receive read the whole queue to find the blocked groups, so a
    # queue past the plugin's memory (here 16 MiB) could not be received
    # from at all; it now reads the in-flight messages from the visibility
    # index and the queue a page at a time, in sequence order.
    sqs = sqs_in_16_mib(make_gateway, tmp_path)
    url = sqs.create_queue(QueueName="deep.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    pad = "x" * 1024
    groups, per, batches = 3, 10, 1_500
    for i in range(batches):
        entries = [{"Id": str(j), "MessageBody": f"{i * per + j} {pad}", "MessageGroupId": f"g{(i * per + j) % groups}",
                    "MessageDeduplicationId": str(i * per + j)} for j in range(per)]
        out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not out.get("Failed"), out

    def receive():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                  MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", [])
        return [(m["Attributes"]["MessageGroupId"], int(m["Body"].split()[0]), m["ReceiptHandle"]) for m in got]

    first = receive()
    assert [n for _, n, _ in first] == list(range(10))
    # Every group now has messages in flight: nothing more until they go.
    assert receive() == []
    deleted = [h for g, _, h in first if g == "g1"]
    for handle in deleted:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    after = receive()
    assert {g for g, _, _ in after} == {"g1"}
    assert [n for _, n, _ in after] == [n for n in range(10, 40) if n % groups == 1]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    in_flight = len(first) - len(deleted) + len(after)
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == in_flight
    assert int(attrs["ApproximateNumberOfMessages"]) == batches * per - len(deleted) - in_flight
