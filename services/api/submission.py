"""Accepting a job: record it in the outbox and publish `JobRequested`. Idempotency keys make a
repeated submission return the job that already exists instead of creating a second one."""

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorCollection

from services.api.errors import ApiError
from services.api.outbox import DuplicateRequest, Outbox
from shared import kafka, topics
from shared.events import JobDeferred, JobRequested, JobSpec, dump
from shared.ids import new_job_id

PRODUCER = "api"


@dataclass
class Accepted:
    job_id: str
    created: bool  # False when an idempotency key matched an earlier request


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class JobSubmitter:
    def __init__(self, outbox: Outbox, requests: AsyncIOMotorCollection, producer: AIOKafkaProducer) -> None:
        self._outbox = outbox
        self._requests = requests
        self._producer = producer

    async def submit(
        self,
        spec: JobSpec,
        idempotency_key: str | None = None,
        body: Any = None,
        not_before: datetime | None = None,
        depends_on: list[str] | None = None,
    ) -> Accepted:
        job_id = new_job_id()
        event = JobRequested(job_id=job_id, spec=spec, producer=PRODUCER)
        document: dict[str, Any] = {
            "_id": job_id,
            "accepted_at": datetime.now(UTC),
            "request": dump(event),
        }
        held = not_before is not None or bool(depends_on)
        if held:  # the scheduler holds it (services/scheduler/held.py)
            document.update(not_before=not_before, depends_on=list(depends_on or []))
        if idempotency_key is not None:
            document["idempotency_key"] = idempotency_key
            document["fingerprint"] = fingerprint(body)
        if not held and idempotency_key is None:
            # Nothing to check first, so the outbox write and the publish run side by side: the
            # executor may start the job while the database is still writing, which keeps the
            # database off the submit-to-start path. The client's 2xx still waits for both.
            stored, published = await asyncio.gather(self._store(document), self.publish(event), return_exceptions=True)
            if isinstance(published, BaseException):
                raise stored if isinstance(stored, BaseException) else published
            if isinstance(stored, BaseException):
                raise ApiError(
                    503,
                    "unavailable",
                    f"job {job_id} was published but the job store did not record it: {stored}",
                    jobId=job_id,
                ) from stored
            return Accepted(job_id, created=True)
        try:
            await self._store(document)
        except DuplicateRequest:
            return await self._existing(idempotency_key, document.get("fingerprint"))
        if held:
            await self.publish_command(
                JobDeferred(
                    job_id=job_id,
                    producer=PRODUCER,
                    request=event,
                    not_before=not_before,
                    depends_on=list(depends_on or []),
                )
            )
        else:
            await self.publish(event)
        return Accepted(job_id, created=True)

    async def _store(self, document: dict[str, Any]) -> None:
        try:
            await self._outbox.add(document)
        except DuplicateRequest:
            raise
        except Exception as error:
            raise ApiError(503, "unavailable", f"the job store is unavailable: {error}") from error

    async def publish_command(self, command: JobDeferred) -> None:
        try:
            await (await kafka.publish(self._producer, topics.JOB_CONTROL, command))
        except Exception as error:
            raise ApiError(
                503,
                "unavailable",
                f"job {command.job_id} is stored but the broker did not take it: {error}",
                jobId=command.job_id,
            ) from error

    async def publish(self, event: JobRequested) -> None:
        try:
            delivery = await kafka.publish(self._producer, topics.JOB_REQUESTED, event)
            await delivery
        except Exception as error:
            raise ApiError(
                503,
                "unavailable",
                f"job {event.job_id} is stored but the broker did not take it: {error}",
                jobId=event.job_id,
            ) from error

    async def _existing(self, idempotency_key: str | None, body_fingerprint: str | None) -> Accepted:
        existing = await self._requests.find_one({"idempotency_key": idempotency_key})
        if existing is None:  # the other request's write failed after all
            raise ApiError(409, "conflict", "a request with this idempotency key is being processed; retry")
        if existing.get("fingerprint") != body_fingerprint:
            raise ApiError(
                409,
                "idempotency_conflict",
                "this idempotency key was used with a different request body",
                jobId=existing["_id"],
            )
        return Accepted(existing["_id"], created=False)
