"""The Kafka adapter against the real broker: keyed publish, batches, commit and resume."""

from __future__ import annotations

from events import topics
from events.kafka import KafkaBatchConsumer, KafkaPublisher, OutgoingMessage


def drain(consumer: KafkaBatchConsumer, expected: int) -> list[bytes]:
    seen: list[bytes] = []
    for _ in range(100):
        seen += [r.value or b"" for r in consumer.poll_batch(200, 500)]
        if len(seen) >= expected:
            break
    return seen


def test_consumer_resumes_after_the_last_committed_offset(broker: str) -> None:
    publisher = KafkaPublisher(broker)
    publisher.publish(
        OutgoingMessage(topics.INCIDENTS, "wuhan", f"m{i}".encode()) for i in range(10)
    )
    first = KafkaBatchConsumer(broker, [topics.INCIDENTS], "g-resume", max_poll_interval_ms=3000)
    batch = []
    while len(batch) < 10:
        batch += first.poll_batch(200, 10)
    first.commit(batch[:4])  # all ten share one key, hence one partition, in order
    first.close()
    publisher.publish([OutgoingMessage(topics.INCIDENTS, "wuhan", b"m10")])
    second = KafkaBatchConsumer(broker, [topics.INCIDENTS], "g-resume", max_poll_interval_ms=3000)
    assert drain(second, 7) == [f"m{i}".encode() for i in range(4, 11)]
    second.close()
    publisher.close()


def test_records_of_one_key_keep_their_order(broker: str) -> None:
    publisher = KafkaPublisher(broker)
    publisher.publish(
        OutgoingMessage(topics.INCIDENTS, key, f"{key}-{i}".encode())
        for i in range(50)
        for key in ("wuhan", "yichang", "enshi")
    )
    consumer = KafkaBatchConsumer(broker, [topics.INCIDENTS], "g-order", max_poll_interval_ms=3000)
    seen = drain(consumer, 150)
    for key in ("wuhan", "yichang", "enshi"):
        mine = [v.decode() for v in seen if v.decode().startswith(key)]
        assert mine == [f"{key}-{i}" for i in range(50)]
    consumer.close()
    publisher.close()
