"""Capability routing on the executor side.

An executor reads `job-requested` in the shared group and runs what it can. A request whose
`spec.capability` it lacks is forwarded, unchanged (same bytes and trace headers), to
`job-requested.<capability>`. Each executor also subscribes, in the same group, to the topic of every
capability it has (and to `job-requested.worker.<id>`, its pinned jobs): Kafka's group assignment
gives a topic's partitions only to members subscribed to it, so a forwarded request runs only on an
executor with that capability, and waits in its topic while there is none.

The common path (the executor has the capability) costs one set lookup. A forwarded request's offset
is marked done only after the broker acknowledged the forward, so a crash re-forwards it (the lease
turns a duplicate into a no-op).
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from services.executor.settings import ExecutorSettings
from shared import kafka, topics
from shared.events import JobRequested
from shared.routing import can_run, is_valid_capability, pinned_capability, required_capability

log = logging.getLogger(__name__)


class CapabilityRouter:
    def __init__(self, settings: ExecutorSettings, producer: AIOKafkaProducer) -> None:
        self.pinned = pinned_capability(settings.worker_id)
        wanted = set(settings.capability_list()) | {self.pinned}
        invalid = sorted(name for name in wanted if not is_valid_capability(name))
        if invalid:
            log.warning("capabilities not usable as topic names are ignored: %s", invalid)
        self.capabilities = wanted - set(invalid)
        self._producer = producer
        self._pending: list[tuple[asyncio.Future[Any], Callable[[], None]]] = []

    def topic_specs(self) -> list[topics.TopicSpec]:
        return [
            topics.TopicSpec(
                topics.capability_topic(name), partitions=1 if name == self.pinned else topics.JOB_PARTITIONS
            )
            for name in sorted(self.capabilities)
        ]

    def subscription(self) -> list[str]:
        return [topics.JOB_REQUESTED] + [spec.name for spec in self.topic_specs()]

    def accepts(self, request: JobRequested) -> bool:
        return can_run(self.capabilities, request.spec)

    async def forward(self, request: JobRequested, value: bytes, headers: Any, done: Callable[[], None]) -> None:
        """Send the request to its capability's topic; `done` runs once the broker has it."""
        capability = required_capability(request.spec)
        assert capability is not None
        if not is_valid_capability(capability):
            await kafka.dead_letter(
                self._producer, topics.JOB_REQUESTED, value, f"capability {capability!r} is not routable"
            )
            done()
            return
        delivery = await self._producer.send(
            topics.capability_topic(capability), value=value, key=request.job_id.encode(), headers=list(headers or ())
        )
        self._pending.append((delivery, done))

    async def flush(self) -> None:
        """Wait for this batch's forwards; a failed one stays unacknowledged and is re-read later."""
        pending, self._pending = self._pending, []
        for delivery, done in pending:
            try:
                await delivery
            except Exception:
                log.exception("forwarding a request failed; it will be re-read after a restart")
                continue
            done()
