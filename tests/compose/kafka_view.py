"""Reads the compose project's Kafka from the host (librdkafka through Debian's
python3-confluent-kafka): whole topics up to their end, and consumer group membership."""

import time

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient


def watermarks(consumer, tp, deadline):
    """(low, high) of a partition; retried while leadership moves (e.g. just after a broker
    restart), until the caller's deadline."""
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=10)
        except KafkaException as e:
            if time.monotonic() > deadline:
                raise AssertionError(f"watermarks of {tp.topic}/{tp.partition}: {e}") from None
            time.sleep(0.5)


def read_topic(brokers, topic, timeout=60):
    """Every record of `topic` from the oldest to the end offsets as of the call:
    a list of (partition, offset, key, headers dict, value). Raises if it cannot get there."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "compose-test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        meta = consumer.list_topics(topic, timeout=timeout)
        if meta.topics[topic].error is not None:
            raise AssertionError(f"topic {topic}: {meta.topics[topic].error}")
        ends = {}
        deadline = time.monotonic() + timeout
        for p in meta.topics[topic].partitions:
            low, high = watermarks(consumer, TopicPartition(topic, p), deadline)
            if high > low:
                ends[p] = (low, high)
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        records, done = [], {p for p in ends if ends[p][0] >= ends[p][1]}
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic} did not reach its end within {timeout}s")
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise AssertionError(f"reading {topic}: {msg.error()}")
            headers = {k: (v.decode() if v is not None else None) for k, v in (msg.headers() or [])}
            records.append((msg.partition(), msg.offset(), msg.key(), headers, msg.value()))
            if msg.offset() + 1 >= ends[msg.partition()][1]:
                done.add(msg.partition())
        return records
    finally:
        consumer.close()


def group_members(brokers, client_id):
    """{group: member count} for the groups whose members identify as `client_id`, or as one of
    its stages (`client_id-<stage>`: dropbox-worker-fanout, dropbox-worker-poll)."""
    admin = AdminClient({"bootstrap.servers": brokers})
    out = {}
    for group in admin.list_groups(timeout=30):
        ids = {m.client_id for m in group.members}
        if any(i == client_id or i.startswith(client_id + "-") for i in ids):
            out[group.id] = len(group.members)
    return out


def group_lag(brokers, group, topic):
    """Records of `topic` not yet committed by `group` (a partition without a commit counts
    from its oldest record)."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group,
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=30)
        parts = [TopicPartition(topic, p) for p in meta.topics[topic].partitions]
        lag = 0
        for tp in consumer.committed(parts, timeout=30):
            low, high = watermarks(consumer, tp, time.monotonic() + 30)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()
