"""Publishing fires: `JobRequested` for each (schedule, slot), sent as whole Kafka batches at the slot.

The work happens before the slot: each schedule's request is JSON-encoded once into a template
(only job id, event id, slot and times change per fire), the messages for a slot are appended to one
batch per partition, and at the slot the batches go out in a single step. That is what keeps the
drift (slot -> broker ack) to milliseconds with ten thousand schedules due in the same second.
"""

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from shared import topics
from shared.events import JobRequested, encode
from shared.schedules import (
    LABEL_SCHEDULE,
    LABEL_SLOT,
    LABEL_TRIGGER,
    Schedule,
    fire_event_id,
    fire_job_id,
    slot_label,
)

log = logging.getLogger(__name__)
PRODUCER = "scheduler"
_JOB = "@@job-id@@"
_EVENT = str(uuid.UUID(int=0x5EC0_0000_0000_4000_8000_0000_0000_0001))
_SLOT = "@@slot@@"
_TIME = "1971-02-03T04:05:06.789012Z"
_TIME_VALUE = datetime(1971, 2, 3, 4, 5, 6, 789012, UTC)


@dataclass
class Template:
    version: int
    text: str

    def render(self, schedule_id: str, slot: float) -> tuple[str, bytes]:
        job_id = fire_job_id(schedule_id, slot)
        label = slot_label(slot)
        text = (
            self.text.replace(_JOB, job_id, 1)
            .replace(_EVENT, str(fire_event_id(schedule_id, slot)), 1)
            .replace(_SLOT, label, 1)
            .replace(_TIME, label)
        )
        return job_id, text.encode()


def template_for(schedule: Schedule) -> Template:
    labels = {**schedule.job.labels, LABEL_SCHEDULE: schedule.schedule_id, LABEL_SLOT: _SLOT, LABEL_TRIGGER: "cron"}
    request = JobRequested(
        job_id=_JOB,
        event_id=uuid.UUID(_EVENT),
        producer=PRODUCER,
        occurred_at=_TIME_VALUE,
        submitted_at=_TIME_VALUE,
        reason="scheduled",
        spec=schedule.job.model_copy(update={"labels": labels}),
    )
    return Template(schedule.version, encode(request).decode())


@dataclass
class DriftLog:
    """Slot -> broker-ack delays of recent fires, for logs, metrics and the benchmark."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))
    fires: int = 0
    failed: int = 0

    def record(self, drift: float, count: int) -> None:
        self.fires += count
        self.samples.extend([drift] * count)


class Firer:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partitions: list[int] = []
        self.drift = DriftLog()

    async def start(self) -> None:
        partitions = await self._producer.partitions_for(topics.JOB_REQUESTED)
        self._partitions = sorted(partitions)

    def _partition(self, job_id: str) -> int:
        return self._partitions[(murmur2(job_id.encode()) & 0x7FFFFFFF) % len(self._partitions)]

    async def fire(self, slot: float, rendered: Iterable[tuple[str, bytes]]) -> int:
        """Send the pre-rendered requests for `slot` at the slot; returns how many were acked.

        Raises when the broker does not take them, so the caller can fire them again.
        """
        if not self._partitions:
            await self.start()
        batches: dict[int, list[list]] = {}  # partition -> [[BatchBuilder, message count], ...]
        count = 0
        for job_id, value in rendered:
            key = job_id.encode()
            open_batches = batches.setdefault(self._partition(job_id), [])
            if not open_batches or open_batches[-1][0].append(key=key, value=value, timestamp=None) is None:
                batch = self._producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"request for {job_id} is larger than a Kafka batch")
                open_batches.append([batch, 0])
            open_batches[-1][1] += 1
            count += 1
        if not count:
            return 0
        for open_batches in batches.values():
            for batch, _ in open_batches:
                batch.close()
        wait = slot - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        futures = []
        for partition, open_batches in batches.items():
            for batch, size in open_batches:
                future = await self._producer.send_batch(batch, topics.JOB_REQUESTED, partition=partition)
                future.add_done_callback(self._recorder(slot, size))
                futures.append(future)
        try:
            await asyncio.gather(*futures)
        except Exception:
            self.drift.failed += count
            raise
        return count

    def _recorder(self, slot: float, size: int):  # noqa: ANN202 - a done-callback
        def record(future: "asyncio.Future[object]") -> None:
            if not future.cancelled() and future.exception() is None:
                self.drift.record(time.time() - slot, size)

        return record
