"""moto's server (the pinned moto in .venv) with its SQS hot paths fixed.

The local runner starts this instead of `moto_server`; it takes the same
arguments. Profiled under the cart benchmark, moto 5.2.5 spent most of its
time, and up to 90 % of a core, recomputing things per message:

- `Queue.attributes` builds every attribute of the queue, including the
  three approximate message counts, each a scan of every message in the
  queue with two clock reads per message. moto reads it three times for
  each message sent (to look up `ContentBasedDeduplication`) and several
  times for each message received (to look up `MessageRetentionPeriod`),
  so each send and receive costs time in proportion to the queue's
  backlog, and a backlog makes itself worse.
- Its clock reads go through `datetime` arithmetic.
- To route each request, its server lists moto's package folder and asks
  the file system whether each of its 150-odd entries is a folder
  (`moto.backends.list_of_moto_modules`), holding a lock that every request
  waits on.
- werkzeug formats a log line per request, which the runner discards.

Here the counts are computed only where they are asked for
(`GetQueueAttributes`), the clock is read with `time.time()`, the folder
is listed once, and the request log is off. Nothing else changes: same
API, same answers. The upstream fix is written down in docs/moto.md.
"""

import json
import logging
import sys
import time

import moto.backends as backends
import moto.sqs.models as sqs_models
from moto.core.utils import camelcase_to_underscores
from moto.server import main

# The attributes whose values scan every message.
COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)

Queue = sqs_models.Queue
SQSBackend = sqs_models.SQSBackend
full_attributes = Queue.attributes.fget
full_get_queue_attributes = SQSBackend.get_queue_attributes


# Python names of the attributes, converted once rather than per read.
PYTHON_NAMES = {
    name: camelcase_to_underscores(name)
    for name in Queue.BASE_ATTRIBUTES + Queue.FIFO_ATTRIBUTES + Queue.KMS_ATTRIBUTES
}


def attributes_without_counts(queue):
    """The queue's attributes as moto's `Queue.attributes` builds them, less
    the message counts (`self_test` checks that the rest is the same)."""
    names = [name for name in Queue.BASE_ATTRIBUTES if name not in COUNTS]
    if queue.fifo_queue:
        names += Queue.FIFO_ATTRIBUTES
    if queue.kms_master_key_id:
        names += Queue.KMS_ATTRIBUTES
    result = {name: getattr(queue, PYTHON_NAMES[name]) for name in names}
    if queue.policy:
        result["Policy"] = queue.policy
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    return {name: str(value).lower() if isinstance(value, bool) else value for name, value in result.items()}


def get_queue_attributes(backend, queue_name, attribute_names):
    """`GetQueueAttributes`: the counts are computed here, when asked for."""
    attributes = dict(full_get_queue_attributes(backend, queue_name, attribute_names))
    queue = backend.get_queue(queue_name)
    for name in COUNTS:
        if "All" in attribute_names or name in attribute_names:
            attributes[name] = getattr(queue, PYTHON_NAMES[name])
    return attributes


def is_message_valid_based_on_retention_period(backend, queue_name, message):
    retention_seconds = int(backend.get_queue(queue_name).message_retention_period)
    return retention_seconds + message.sent_timestamp / 1000 > time.time()


def unix_time(dt=None):
    return time.time() if dt is None else original_unix_time(dt)


def unix_time_millis(dt=None):
    return time.time() * 1000.0 if dt is None else original_unix_time_millis(dt)


original_list_of_moto_modules = backends.list_of_moto_modules
MOTO_MODULES = tuple(original_list_of_moto_modules())


def list_of_moto_modules():
    """moto's service packages: they do not change while it runs."""
    return MOTO_MODULES


original_unix_time = sqs_models.unix_time
original_unix_time_millis = sqs_models.unix_time_millis

Queue.attributes = property(attributes_without_counts)
SQSBackend.get_queue_attributes = get_queue_attributes
SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
sqs_models.unix_time = unix_time
backends.list_of_moto_modules = list_of_moto_modules
sqs_models.unix_time_millis = unix_time_millis


def self_test():
    """Checks the fixes against moto's own code on queues like the template's."""
    backend = sqs_models.sqs_backends["123456789012"]["us-east-1"]
    dlq = backend.create_queue("check-dlq.fifo", FifoQueue="true")
    queues = [
        backend.create_queue("check-standard", VisibilityTimeout="60"),
        backend.create_queue(
            "check.fifo",
            FifoQueue="true",
            ContentBasedDeduplication="false",
            RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": 5}),
        ),
    ]
    for queue in queues:
        group = {"group_id": "g", "deduplication_id": "d"} if queue.fifo_queue else {}
        backend.send_message(queue.name, "body", **group)
        expected = {name: value for name, value in full_attributes(queue).items() if name not in COUNTS}
        assert attributes_without_counts(queue) == expected, (attributes_without_counts(queue), expected)
        counts = backend.get_queue_attributes(queue.name, ["All"])
        assert counts["ApproximateNumberOfMessages"] == 1, counts
        assert backend.get_queue_attributes(queue.name, ["ApproximateNumberOfMessagesNotVisible"]) == {
            "ApproximateNumberOfMessagesNotVisible": 0
        }
        received = backend.receive_message(queue.name, 10, 0, 30)
        assert len(received) == 1, received
        assert full_get_queue_attributes(backend, queue.name, ["MessageRetentionPeriod"])
        assert abs(unix_time_millis() - original_unix_time_millis()) < 1000
    assert "sqs" in list_of_moto_modules()
    assert tuple(original_list_of_moto_modules()) == list_of_moto_modules()
    print("moto_server.py: the fixes agree with moto")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        main()
