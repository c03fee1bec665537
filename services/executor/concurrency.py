"""Per-definition concurrency limits that hold across every executor.

A definition `key@version` with `concurrencyLimit` N has N slot documents' worth of `_id`s in the
executor-owned `concurrency_slots` collection: `key@version:0` .. `key@version:N-1`. Inserting one
is taking the slot (the unique `_id` makes it atomic across executors), deleting it gives it back.
No counting, no find_one_and_update: only inserts and deletes by `_id`, which stay cheap on the
embedded database.

A slot carries an expiry that its holder pushes forward every heartbeat interval; a slot whose
holder died (expired) is reclaimed by the next executor that finds the definition full.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError

from shared import mongo
from shared.definitions import DefinitionRegistry
from shared.events import JobRequested

log = logging.getLogger(__name__)
STALE_CHECK_SECONDS = 2.0


def definition_limit(registry: DefinitionRegistry) -> Callable[[JobRequested], tuple[str, int] | None]:
    """(key@version, concurrencyLimit) of a request's definition, or None when it has no limit."""

    def limit_of(request: JobRequested) -> tuple[str, int] | None:
        spec = request.spec
        if spec.kind != "python" or spec.definition_key is None:
            return None
        definition = registry.get(spec.definition_key, spec.definition_version)
        if definition is None or not definition.concurrency_limit:
            return None
        return definition.ref, definition.concurrency_limit

    return limit_of


def slot_ids(ref: str, limit: int) -> list[str]:
    return [f"{ref}:{n}" for n in range(limit)]


class ConcurrencySlots:
    def __init__(self, db: AsyncIOMotorDatabase, worker_id: str, lease_seconds: float) -> None:
        self._slots = db[mongo.CONCURRENCY_SLOTS]
        self._worker_id = worker_id
        self._lease = timedelta(seconds=lease_seconds)
        self._held: dict[str, str] = {}  # slot id -> holder (the attempt's lease id)
        self._stale_checked: dict[str, float] = {}

    def held(self) -> dict[str, str]:
        return dict(self._held)

    async def acquire(self, ref: str, limit: int, holder: str) -> str | None:
        """Take a free slot of `ref` for `holder`; None when all `limit` slots are taken."""
        candidates = [slot for slot in slot_ids(ref, limit) if slot not in self._held]
        for slot in candidates:
            if await self._insert(slot, ref, holder):
                return slot
        if await self._reclaim_expired(ref, candidates):
            for slot in candidates:
                if await self._insert(slot, ref, holder):
                    return slot
        return None

    async def release(self, slot: str) -> None:
        holder = self._held.pop(slot, None)
        if holder is not None:
            await self._slots.delete_one({"_id": slot, "holder": holder})

    async def refresh(self) -> None:
        """Push our slots' expiry forward (called every heartbeat interval)."""
        if self._held:
            await self._slots.update_many(
                {"_id": {"$in": list(self._held)}, "worker_id": self._worker_id},
                {"$set": {"expires_at": datetime.now(UTC) + self._lease}},
            )

    async def _insert(self, slot: str, ref: str, holder: str) -> bool:
        now = datetime.now(UTC)
        document: dict[str, Any] = {
            "_id": slot,
            "definition": ref,
            "holder": holder,
            "worker_id": self._worker_id,
            "acquired_at": now,
            "expires_at": now + self._lease,
        }
        try:
            await self._slots.insert_one(document)
        except DuplicateKeyError:
            return False
        self._held[slot] = holder
        return True

    async def _reclaim_expired(self, ref: str, candidates: list[str]) -> bool:
        """Delete slots whose holder stopped refreshing them (a dead executor). Rate-limited."""
        if time.monotonic() - self._stale_checked.get(ref, 0.0) < STALE_CHECK_SECONDS:
            return False
        self._stale_checked[ref] = time.monotonic()
        now = datetime.now(UTC)
        reclaimed = False
        async for document in self._slots.find({"_id": {"$in": candidates}}):
            if document["expires_at"] < now:
                result = await self._slots.delete_one({"_id": document["_id"], "expires_at": document["expires_at"]})
                if result.deleted_count:
                    log.warning("reclaimed slot %s from %s (expired)", document["_id"], document.get("worker_id"))
                    reclaimed = True
        return reclaimed
