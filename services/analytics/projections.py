"""Writes the `jobs` read model in batches.

A batch of events is folded per job in memory (`jobview.evolve`) and each changed job becomes one
write: an insert for a job seen for the first time, a replace otherwise. A short job's requested,
started and finished events usually land in one batch, so it costs a single insert. Documents are
kept in a bounded LRU cache so the fold never reads MongoDB on the hot path: a job missing from the
cache is assumed new and inserted; if the insert hits an existing document (after a restart, a
replay or a partition move) that job alone is re-read and its events folded onto the stored
document. The cache is cleared whenever Kafka partitions move, because another process may have
written those jobs meanwhile.
"""

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from services.analytics.jobview import Event, evolve
from shared import mongo

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000


@dataclass
class Change:
    """One job's document before and after a batch (before is None for a new job)."""

    before: dict[str, Any] | None
    after: dict[str, Any]


class JobProjection:
    def __init__(self, db: AsyncIOMotorDatabase, cache_size: int = 50_000, collection: str = mongo.JOBS) -> None:
        self._jobs = db[collection]
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size

    async def ensure_indexes(self) -> None:
        # `sk` is the only secondary index: the embedded database pays for every index on every
        # write of a job document (a schedule's jobs are found through `schedule_runs` instead).
        await self._jobs.create_index("sk")

    def forget(self) -> None:
        self._cache.clear()

    async def apply(self, events: Sequence[Event]) -> list[Change]:
        changes = await self.fold(events)
        if changes:
            await self.write(changes, events)
        return changes

    async def fold(self, events: Sequence[Event]) -> list[Change]:
        """Fold a batch into the current documents without writing them."""
        job_ids = list(dict.fromkeys(event.job_id for event in events))
        stored = await self._load(job_ids)
        current = dict(stored)
        for event in events:
            updated = evolve(current.get(event.job_id), event)
            if updated is not None:
                current[event.job_id] = updated
        return [
            Change(stored.get(job_id), current[job_id])
            for job_id in job_ids
            if job_id in current and current[job_id] is not stored.get(job_id)
        ]

    async def _load(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        # Optimistic: not cached means new. `_write` corrects the rare job that already exists.
        return {job_id: self._cache[job_id] for job_id in job_ids if job_id in self._cache}

    async def write(
        self, changes: list[Change], events: Sequence[Event], prepare: Callable[[Change], None] | None = None
    ) -> None:
        """Write folded changes; `prepare` may add fields to each document just before it is written
        (also to a document rebased onto a concurrent writer's version)."""
        for change in changes:
            if prepare is not None:
                prepare(change)
        operations = [
            InsertOne(change.after) if change.before is None else ReplaceOne({"_id": change.after["_id"]}, change.after)
            for change in changes
        ]
        try:
            await self._jobs.bulk_write(operations, ordered=False)
        except BulkWriteError as error:
            conflicts = [changes[w["index"]] for w in error.details["writeErrors"] if w["code"] == DUPLICATE_KEY]
            if len(conflicts) != len(error.details["writeErrors"]):
                raise
            await self._rebase(conflicts, events, prepare)
        for change in changes:
            self._remember(change.after)

    async def _rebase(
        self, conflicts: list[Change], events: Sequence[Event], prepare: Callable[[Change], None] | None
    ) -> None:
        """These jobs already had documents: fold the batch's events onto the stored ones."""
        log.info("folding %d batches onto stored job documents", len(conflicts))
        for change in conflicts:
            job_id = change.after["_id"]
            stored = await self._jobs.find_one({"_id": job_id})
            document = stored
            for event in events:
                if event.job_id == job_id:
                    document = evolve(document, event) or document
            assert document is not None
            changed = document is not stored
            # Statistics read before -> after: make them see the stored state, not "new job".
            change.before, change.after = stored, (document if changed else dict(document))
            if prepare is not None:
                prepare(change)
            if changed:
                await self._jobs.replace_one({"_id": job_id}, change.after, upsert=True)

    def _remember(self, document: dict[str, Any]) -> None:
        self._cache[document["_id"]] = document
        self._cache.move_to_end(document["_id"])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
