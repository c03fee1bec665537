"""Re-publishing accepted jobs after a restart.

The embedded broker keeps its log in memory, so when the machine (or the broker) restarts, requests
the API had accepted but no executor had started are gone from Kafka. They are still in the API's
outbox (`job_requests`). At start-up the API walks the outbox of the last `RECOVERY_WINDOW_HOURS`
and publishes again every job the `jobs` projection has never seen, or still shows as `queued`.

Publishing again is safe: a job the projection has not seen gets its original event (same event
id, so projections drop it if they had it after all), and an executor claims each attempt with a
lease, so an attempt that did run is not run twice. Jobs shown `running` are left to orphan
detection (their executor is gone), `retrying` ones to the scheduler's durable timers.
"""

import logging
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorCollection

from shared import kafka, topics
from shared.events import JobRequested
from shared.ids import id_floor

log = logging.getLogger(__name__)
PAGE = 500


def recovered_request(request_doc: dict[str, Any], state: dict[str, Any] | None) -> JobRequested | None:
    """The request to publish again for one accepted job, or None when nothing was lost."""
    original = JobRequested.model_validate(request_doc["request"])
    if state is None:
        return original
    if state.get("status") != "queued":
        return None
    attempt = max(1, state.get("attempt") or 1)
    if attempt == 1:
        return original
    return original.model_copy(
        update={
            "attempt": attempt,
            "reason": "recovered",
            # Deterministic, so restarting twice does not add a second event to the job's history.
            "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"jobstream:recovered:{original.job_id}:{attempt}"),
        }
    )


class RequestRecovery:
    def __init__(
        self,
        requests: AsyncIOMotorCollection,
        jobs: AsyncIOMotorCollection,
        producer: AIOKafkaProducer,
        window_hours: float,
    ) -> None:
        self._requests = requests
        self._jobs = jobs
        self._producer = producer
        self._window_hours = window_hours

    async def run(self) -> int:
        try:
            return await self._run()
        except Exception:  # recovery must never take the API down; the next start tries again
            log.exception("re-publishing accepted jobs failed")
            return 0

    async def _run(self) -> int:
        if self._window_hours <= 0:
            return 0
        since = id_floor(int((time.time() - self._window_hours * 3600) * 1000))
        republished = 0
        page: list[dict[str, Any]] = []
        async for document in self._requests.find({"_id": {"$gte": since}}, {"request": 1}):
            page.append(document)
            if len(page) == PAGE:
                republished += await self._recover(page)
                page = []
        if page:
            republished += await self._recover(page)
        if republished:
            log.info("re-published %d accepted jobs that had not started", republished)
        return republished

    async def _recover(self, page: list[dict[str, Any]]) -> int:
        ids = [document["_id"] for document in page]
        states = {
            state["_id"]: state async for state in self._jobs.find({"_id": {"$in": ids}}, {"status": 1, "attempt": 1})
        }
        deliveries = []
        for document in page:
            request = recovered_request(document, states.get(document["_id"]))
            if request is not None:
                deliveries.append(await kafka.publish(self._producer, topics.JOB_REQUESTED, request))
        for delivery in deliveries:
            await delivery
        return len(deliveries)
