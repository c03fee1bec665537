"""The dead-letter queue: reading the analytics-owned `dlq` projection (one document per job that
is dead-lettered now) and retrying a job from there.

Why a projection of its own and not a query on `jobs`: `status == "dead_lettered"` on `jobs` takes
0.7 s on 30,000 jobs on the embedded database without an index, and the `(status, _id)` index that
makes it 15 ms slows every job write by a third to a half. The `dlq` collection is written only when
a job enters or leaves the queue, and it is small, so `offset` paging on it stays cheap.

A retry publishes `JobRequested` for attempt last+1 with reason `dlq_retry` and a fresh attempt
budget; the projection reopens the job and removes it from the queue. Two concurrent retries
publish the same attempt number, so the executor's lease lets only one of them run.
"""

from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorDatabase

from services.api.errors import ApiError
from shared import kafka, mongo, topics
from shared.events import JobRequested, JobSpec

DEAD_LETTERED = "dead_lettered"
PRODUCER = "api"
MAX_ATTEMPTS = JobSpec.model_fields["max_attempts"].metadata[-1].le  # type: ignore[attr-defined]


class DeadLetters:
    def __init__(self, db: AsyncIOMotorDatabase, producer: AIOKafkaProducer) -> None:
        self._dlq = db[mongo.DLQ]  # read only: the analytics service writes it
        self._requests = db[mongo.JOB_REQUESTS]
        self._leases = db[mongo.LEASES]  # read only (the executor writes it): the spec each attempt ran
        self._producer = producer

    async def page(self, definition_key: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"status": DEAD_LETTERED}
        if definition_key:
            query["definition_key"] = definition_key
        cursor = self._dlq.find(query).sort("_id", -1).skip(offset).limit(limit)
        return await cursor.to_list(limit)

    async def get(self, job_id: str) -> dict[str, Any]:
        document = await self._dlq.find_one({"_id": job_id})
        if document is None or document.get("status") != DEAD_LETTERED:
            raise ApiError(404, "dlq_job_not_found", f"job {job_id} is not in the dead-letter queue")
        return document

    async def retry(self, job_id: str, max_attempts: int | None) -> JobRequested:
        document = await self.get(job_id)
        last = max(1, document.get("attempt") or 1)
        accepted = await self._requests.find_one({"_id": job_id}, {"request.spec": 1})
        original = JobSpec.model_validate(accepted["request"]["spec"]) if accepted else None
        spec = await self._spec(document, last, original)
        # Default budget: as many attempts as the job was first given (1 when that is unknown).
        budget = max_attempts or (original.max_attempts if original else 1)
        if last + budget > MAX_ATTEMPTS:
            raise ApiError(
                409,
                "attempts_exhausted",
                f"job {job_id} has used {last} attempts; at most {MAX_ATTEMPTS - last} more can be given",
                jobId=job_id,
            )
        request = JobRequested(
            job_id=job_id,
            attempt=last + 1,
            producer=PRODUCER,
            reason="dlq_retry",
            spec=spec.model_copy(update={"max_attempts": last + budget}),
        )
        try:
            await (await kafka.publish(self._producer, topics.JOB_REQUESTED, request))
        except Exception as error:
            raise ApiError(503, "unavailable", f"the broker did not take the retry: {error}") from error
        return request

    async def _spec(self, document: dict[str, Any], last_attempt: int, original: JobSpec | None) -> JobSpec:
        """The spec the job last ran with: its lease, else the accepted request, else the projection."""
        # The executor's lease id is "<job_id>:<attempt>" (services/executor/leases.py).
        lease = await self._leases.find_one({"_id": f"{document['_id']}:{last_attempt}"}, {"spec": 1})
        if lease and lease.get("spec"):
            return JobSpec.model_validate(lease["spec"])
        if original is not None:
            return original
        fields = (
            "kind",
            "job_name",
            "program",
            "args",
            "command",
            "url",
            "definition_key",
            "definition_version",
            "params",
            "priority",
            "capability",
            "labels",
            "timeout_seconds",
        )
        known = {name: document[name] for name in fields if document.get(name) is not None}
        return JobSpec.model_validate({**known, "max_attempts": document.get("max_attempts") or 1})
