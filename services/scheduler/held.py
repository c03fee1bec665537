"""Held jobs: requests that wait for a start time (`runAt` / `notBefore`) and for the jobs they
depend on (`dependsOn`; seed 003's dependencies between scheduled jobs).

A held job is stored in `held_jobs` before its command is acknowledged, so it survives a scheduler
restart. Each held job belongs to the `job-control` partition of its job id; the scheduler process
that has that partition checks it once a second (`check`): when the time has come and every
upstream job has succeeded the request is published; when an upstream job failed, was cancelled or
dead-lettered, the job fails as `upstream_failed` without running. Upstream states are point reads
of the `jobs` projection (read only). The decision itself is the pure `decide`.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError

from services.scheduler.firing import murmur2
from shared import kafka, mongo, topics
from shared.events import JobDeferred, JobFinished, JobRequested, dump

log = logging.getLogger(__name__)
PRODUCER = "scheduler"
FAILED_UPSTREAM = frozenset({"failed", "dead_lettered", "cancelled"})
_NAMESPACE = uuid.UUID("3b0a4f5e-1d7c-4c39-9a0e-6c1f2f3d8b11")


@dataclass(frozen=True)
class Decision:
    action: str  # "wait" | "release" | "fail"
    reason: str | None = None


def decide(now: datetime, not_before: datetime | None, upstream: dict[str, str | None]) -> Decision:
    """What a held job does now, given each upstream job's status (None = not known yet)."""
    for job_id, status in sorted(upstream.items()):
        if status in FAILED_UPSTREAM:
            return Decision("fail", f"upstream_failed: dependency {job_id} ended {status}")
    if not_before is not None and now < not_before:
        return Decision("wait")
    if any(status != "succeeded" for status in upstream.values()):
        return Decision("wait")
    return Decision("release")


class HeldJobs:
    def __init__(
        self, db: AsyncIOMotorDatabase, producer: AIOKafkaProducer, owned: Callable[[int], bool], partitions: int
    ) -> None:
        self._held = db[mongo.HELD_JOBS]
        self._jobs = db[mongo.JOBS]
        self._producer = producer
        self._owned = owned
        self._partitions = partitions
        self._entries: dict[str, dict[str, Any]] = {}
        self._seen_partitions: frozenset[int] = frozenset()

    def partition_of(self, job_id: str) -> int:
        return (murmur2(job_id.encode()) & 0x7FFFFFFF) % self._partitions

    async def load(self) -> int:
        self._entries = {document["_id"]: document async for document in self._held.find({})}
        return len(self._entries)

    async def add(self, deferred: JobDeferred) -> None:
        document = {
            "_id": deferred.request.job_id,
            "partition": self.partition_of(deferred.request.job_id),
            "request": dump(deferred.request),
            "not_before": deferred.not_before,
            "depends_on": list(deferred.depends_on),
            "held_at": datetime.now(UTC),
        }
        try:
            await self._held.insert_one(document)
        except DuplicateKeyError:
            return  # redelivered command
        self._entries[document["_id"]] = document

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._entries

    async def cancel(self, job_id: str, reason: str) -> bool:
        document = self._entries.pop(job_id, None)
        if document is None:
            return False
        request = JobRequested.model_validate(document["request"])
        await self._finish(request, "cancelled", f"cancelled while waiting to run: {reason}")
        await self._held.delete_one({"_id": job_id})
        return True

    async def check(self) -> None:
        owned = frozenset(partition for partition in range(self._partitions) if self._owned(partition))
        if owned != self._seen_partitions:  # a rebalance (failover): read what the last owner held
            self._seen_partitions = owned
            await self.load()
        mine = [doc for doc in self._entries.values() if self._owned(doc["partition"])]
        if not mine:
            return
        upstream_ids = sorted({job_id for doc in mine for job_id in doc["depends_on"]})
        statuses: dict[str, str | None] = {}
        if upstream_ids:
            async for job in self._jobs.find({"_id": {"$in": upstream_ids}}, {"status": 1}):
                statuses[job["_id"]] = job.get("status")
        now = datetime.now(UTC)
        for document in mine:
            not_before = document.get("not_before")
            if not_before is not None and not_before.tzinfo is None:
                not_before = not_before.replace(tzinfo=UTC)
            decision = decide(now, not_before, {job_id: statuses.get(job_id) for job_id in document["depends_on"]})
            if decision.action == "wait":
                continue
            request = JobRequested.model_validate(document["request"])
            try:
                if decision.action == "release":
                    await (await kafka.publish(self._producer, topics.JOB_REQUESTED, request))
                    log.info("released held job %s", request.job_id)
                else:
                    await self._finish(request, "failed", decision.reason or "upstream_failed")
                    log.info("held job %s failed: %s", request.job_id, decision.reason)
            except Exception as error:  # broker down: keep it held, try again next second
                log.warning("releasing held job %s failed: %r", request.job_id, error)
                continue
            await self._held.delete_one({"_id": request.job_id})
            self._entries.pop(request.job_id, None)

    async def _finish(self, request: JobRequested, outcome: str, error: str) -> None:
        finished = JobFinished(
            event_id=uuid.uuid5(_NAMESPACE, f"{request.job_id}:{request.attempt}:{outcome}"),
            job_id=request.job_id,
            attempt=request.attempt,
            producer=PRODUCER,
            outcome=outcome,  # type: ignore[arg-type]
            disposition=outcome,
            error=error,
            spec=request.spec,  # type: ignore[arg-type]
        )
        await (await kafka.publish(self._producer, topics.JOB_FINISHED, finished))
