"""Consumer lag: how far each consumer group is behind the end of the topics it reads.

Used by the API's health check and its Prometheus `/metrics`. One admin client and one group-less
consumer (for end offsets) are kept open; figures are cached briefly, so a busy scraper or health
probe does not turn into a stream of broker requests.
"""

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import topics

JOB_TOPICS = (topics.JOB_REQUESTED, topics.JOB_STARTED, topics.JOB_FINISHED, topics.JOB_EVENTS)
GROUPS: dict[str, tuple[str, ...]] = {
    topics.APP_ANALYTICS: JOB_TOPICS,
    topics.GROUP_EXECUTOR: (topics.JOB_REQUESTED,),
    topics.GROUP_SCHEDULER: (topics.JOB_FINISHED, topics.JOB_CONTROL),
    topics.APP_WORKER_REGISTRY: (topics.HEARTBEATS,),
}


class LagMonitor:
    def __init__(self, bootstrap: str, cache_seconds: float = 2.0, timeout: float = 5.0) -> None:
        self._bootstrap = bootstrap
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._cached: tuple[float, dict[str, dict[str, int]]] | None = None
        self._lock = asyncio.Lock()

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=int(self._timeout * 1000))
            consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False)
            await admin.start()
            await consumer.start()
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer

    async def lag(self) -> dict[str, dict[str, int]]:
        """group -> topic -> messages behind (end offset minus committed offset, summed over partitions).

        On the embedded broker (Tansu 0.6) this is a lower bound: its end offsets count record
        batches, not records, when a producer batched several records (measured 2026-11-23)."""
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._cache_seconds:
                return self._cached[1]
            figures = await asyncio.wait_for(self._measure(), self._timeout)
            self._cached = (time.monotonic(), figures)
            return figures

    async def _measure(self) -> dict[str, dict[str, int]]:
        admin, consumer = await self._clients()
        partitions = [
            TopicPartition(topic, partition)
            for topic in sorted({topic for names in GROUPS.values() for topic in names})
            for partition in sorted(consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))
        ]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        result: dict[str, dict[str, int]] = {}
        for group, names in GROUPS.items():
            # Partitions are named explicitly: Tansu drops the connection on an "all partitions" fetch.
            wanted = [partition for partition in ends if partition.topic in names]
            committed: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group, partitions=wanted)
            per_topic = dict.fromkeys(names, 0)
            for partition, end in ends.items():
                if partition.topic not in per_topic:
                    continue
                meta = committed.get(partition)
                offset = meta.offset if meta is not None and meta.offset >= 0 else 0
                per_topic[partition.topic] += max(0, end - offset)
            result[group] = per_topic
        return result

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - the public API has no refresh call
    return consumer.partitions_for_topic(topic) or set()
