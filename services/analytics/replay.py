"""Rebuild every analytics projection from the Kafka topics into fresh collections.

`python -m services.analytics replay --prefix replay_` (or `jobstream replay`) reads every job topic
from its first offset until it has caught up (a fetch returns nothing), through the same `Pipeline` the live
app runs, into `<prefix>jobs`, `<prefix>stats`, `<prefix>executions`, `<prefix>failed_executions`
and `<prefix>alerts`. No alert is published again. Compare the result with the live collections, or
swap it in (rename) after a change to a projection's code.

The broker must still hold the events: the embedded broker keeps its log in memory only, so after a
broker restart a replay rebuilds only what the broker has seen since.
"""

import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.analytics.pipeline import Collections, Pipeline
from services.analytics.settings import AnalyticsSettings
from shared import mongo, topics
from shared.cost import CostSettings
from shared.errors import UndecodableMessage
from shared.events import JobFinished, JobProgressed, JobRequested, JobStarted, decode

log = logging.getLogger(__name__)
JOB_TOPICS = (topics.JOB_REQUESTED, topics.JOB_STARTED, topics.JOB_FINISHED, topics.JOB_EVENTS)
PROJECTED = (JobRequested, JobStarted, JobFinished, JobProgressed)


@dataclass
class ReplayResult:
    collections: Collections
    messages: int
    jobs_changed: int
    seconds: float


async def replay(settings: AnalyticsSettings, prefix: str, batch_size: int = 1000) -> ReplayResult:
    if not prefix:
        raise ValueError("a replay needs a prefix: it must not overwrite the live collections")
    started = time.monotonic()
    db = mongo.connect(settings, "jobstream-replay")
    collections = Collections.prefixed(prefix)
    for name in collections.__dict__.values():
        await db.drop_collection(name)
    pipeline = Pipeline(db, CostSettings(), instance="replay", collections=collections, cache_size=settings.cache_size)
    await pipeline.start()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=batch_size
    )
    await consumer.start()
    messages = changed = 0
    try:
        await consumer.topics()  # a full metadata request: every partition of every topic is known after it
        partitions = [
            TopicPartition(topic, partition)
            for topic in JOB_TOPICS
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        # The embedded broker under-reports a partition's end offset when records were produced in
        # batches (it counts batches), so the end offsets only tell where to start looking: the
        # replay reads on until a fetch comes back empty.
        ends = await consumer.end_offsets(partitions)
        while True:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=batch_size)
            events = []
            for records in fetched.values():
                for record in records:
                    messages += 1
                    try:
                        event = decode(record.value)
                    except UndecodableMessage:
                        continue
                    if isinstance(event, PROJECTED):
                        events.append(event)
            if events:
                changed += len(await pipeline.process(events))
            if not fetched and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
    finally:
        await consumer.stop()
        db.client.close()
    return ReplayResult(collections, messages, changed, time.monotonic() - started)
