"""Leases: one document per (job_id, attempt) that says which worker owns the attempt.

Inserting the lease is the claim. The unique `_id` makes a second claim fail, so a redelivered
request never starts a second copy, and a cancel that arrives before any executor picked the job
up claims it first with a `cancelled` lease so that no executor ever starts it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import mongo

DUPLICATE_KEY = 11000


def lease_id(job_id: str, attempt: int) -> str:
    return f"{job_id}:{attempt}"


class Leases:
    def __init__(self, db: AsyncIOMotorDatabase, worker_id: str) -> None:
        self._leases = db[mongo.LEASES]
        self._worker_id = worker_id

    async def ensure_indexes(self) -> None:
        # The only secondary index (each one costs the embedded server a catalog scan per insert):
        # the worker registry finds a lost worker's recent leases by this range.
        await self._leases.create_index([("worker_id", 1), ("acquired_at", 1)])

    async def claim(
        self, attempts: Sequence[tuple[str, int]], specs: Sequence[dict[str, Any]] | None = None
    ) -> list[bool]:
        """Try to claim each (job_id, attempt); True where this worker now owns it. The attempt's
        spec is kept in the lease so that, if this worker dies, the registry can re-request it."""
        if not attempts:
            return []
        now = datetime.now(UTC)
        documents = [self._document(job_id, attempt, "running", now) for job_id, attempt in attempts]
        for document, spec in zip(documents, specs or (), strict=False):
            document["spec"] = spec
        claimed = [True] * len(documents)
        try:
            await self._leases.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            for write_error in error.details["writeErrors"]:
                if write_error["code"] != DUPLICATE_KEY:
                    raise
                claimed[write_error["index"]] = False
        return claimed

    async def claim_cancelled(self, job_id: str, attempt: int) -> bool:
        """Claim an attempt nobody runs yet, as cancelled. False if someone already holds it."""
        try:
            await self._leases.insert_one(self._document(job_id, attempt, "cancelled", datetime.now(UTC)))
        except DuplicateKeyError:
            return False
        return True

    async def release(self, attempts: Sequence[tuple[str, int]]) -> None:
        """Give back leases of attempts this worker claimed but never started (it is leaving)."""
        if attempts:
            ids = [lease_id(job_id, attempt) for job_id, attempt in attempts]
            await self._leases.delete_many({"_id": {"$in": ids}, "worker_id": self._worker_id, "state": "running"})

    async def holder(self, job_id: str, attempt: int) -> dict[str, Any] | None:
        return await self._leases.find_one({"_id": lease_id(job_id, attempt)})

    def _document(self, job_id: str, attempt: int, state: str, now: datetime) -> dict[str, Any]:
        return {
            "_id": lease_id(job_id, attempt),
            "job_id": job_id,
            "attempt": attempt,
            "worker_id": self._worker_id,
            "state": state,
            "acquired_at": now,
        }
