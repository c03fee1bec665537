"""Rebuild every analytics projection from the Kafka topics into fresh collections.

`python -m services.analytics replay --prefix replay_` (or `jobstream replay`) reads every job topic
from its first offset up to the end offsets seen at the start, through the same `Pipeline` the live
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
        await consumer._client.force_metadata_update()  # noqa: SLF001 - learn the partitions before assigning
        partitions = [
            TopicPartition(topic, partition)
            for topic in JOB_TOPICS
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            events = []
            for partition, records in fetched.items():
                for record in records:
                    if record.offset >= ends[partition]:
                        continue
                    messages += 1
                    try:
                        event = decode(record.value)
                    except UndecodableMessage:
                        continue
                    if isinstance(event, PROJECTED):
                        events.append(event)
            if events:
                changed += len(await pipeline.process(events))
            for partition in list(remaining):
                if await consumer.position(partition) >= ends[partition]:
                    remaining.discard(partition)
    finally:
        await consumer.stop()
        db.client.close()
    return ReplayResult(collections, messages, changed, time.monotonic() - started)
