"""Durable timers: a `JobRequested` to publish at a given time (delayed retries, one-off runs).

The timer is stored in MongoDB before APScheduler holds it in memory, so a restarted scheduler
reloads every pending timer. The request inside a timer is built once, with its event id, so a
timer fired twice (crash between publish and delete) produces the same attempt, which the
executor's lease turns into a no-op.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError

from shared import kafka, mongo, topics
from shared.events import JobFinished, JobRequested, dump

log = logging.getLogger(__name__)
PRODUCER = "scheduler"


class Timers:
    def __init__(self, db: AsyncIOMotorDatabase, producer: AIOKafkaProducer, scheduler: AsyncIOScheduler) -> None:
        self._timers = db[mongo.TIMERS]
        self._producer = producer
        self._scheduler = scheduler

    async def load(self) -> int:
        count = 0
        async for document in self._timers.find({}):
            self._arm(document)
            count += 1
        return count

    async def on_finished(self, finished: JobFinished) -> None:
        if finished.disposition != "retry" or finished.spec is None:
            return
        request = JobRequested(
            job_id=finished.job_id, attempt=finished.attempt + 1, producer=PRODUCER, spec=finished.spec, reason="retry"
        )
        await self.add(request, finished.retry_at or datetime.now(UTC))

    async def add(self, request: JobRequested, due_at: datetime) -> None:
        document = {
            "_id": f"{request.job_id}:{request.attempt}",
            "job_id": request.job_id,
            "due_at": due_at,
            "request": dump(request),
        }
        try:
            await self._timers.insert_one(document)
        except DuplicateKeyError:
            return  # redelivered event: the timer already exists
        self._arm(document)

    async def cancel_job(self, job_id: str, reason: str) -> int:
        """Drop a cancelled job's pending timers; its waiting attempt ends as cancelled."""
        removed = 0
        async for document in self._timers.find({"job_id": job_id}):
            if self._scheduler.get_job(document["_id"]):
                self._scheduler.remove_job(document["_id"])
            request = JobRequested.model_validate(document["request"])
            cancelled = JobFinished(
                job_id=job_id,
                attempt=request.attempt,
                producer=PRODUCER,
                outcome="cancelled",
                disposition="cancelled",
                error=f"cancelled while waiting to run: {reason}",
            )
            await (await kafka.publish(self._producer, topics.JOB_FINISHED, cancelled))
            await self._timers.delete_one({"_id": document["_id"]})
            removed += 1
        return removed

    def _arm(self, document: dict[str, Any]) -> None:
        self._scheduler.add_job(
            self._fire,
            trigger="date",
            run_date=document["due_at"],
            args=[document["_id"]],
            id=document["_id"],
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _fire(self, timer_id: str) -> None:
        document = await self._timers.find_one({"_id": timer_id})
        if document is None:
            return
        request = JobRequested.model_validate(document["request"])
        await (await kafka.publish(self._producer, topics.JOB_REQUESTED, request))
        await self._timers.delete_one({"_id": timer_id})
        log.info("requested %s attempt %d (%s)", request.job_id, request.attempt, request.reason)
