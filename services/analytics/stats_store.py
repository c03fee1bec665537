"""Writes statistics deltas to the `stats` collection exactly once per batch, crash or not.

A batch is written in this order:
  1. derived records (executions, alerts): idempotent inserts with deterministic ids;
  2. the journal `journal:<instance>` = {batch: N, job_ids}; each job document written in step 3
     carries `stats_batch: N` and its own `stats_delta`, in the same write as the job itself;
  3. the job documents;
  4. the summed deltas, one `$inc` per stats document, guarded by `applied.<instance> != N`.

A crash between 3 and 4 would otherwise lose the batch's counts for good: redelivered events change
no job document (their ids are already applied), so no delta would be derived again. On start-up,
`recover()` re-reads the journal, sums the `stats_delta` of the journal's jobs that were written
(`stats_batch == N`) and applies it with the same guard. The guard makes a stats document that already
took batch N skip it, so a crash in the middle of step 4 is also repaired without double counting.
Jobs the crash left unwritten are redelivered and counted in a later batch. Batches are numbered per
instance (ANALYTICS_INSTANCE) and applied in order by one writer per instance.
"""

import logging
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.analytics.contributions import Counters, merge
from shared import stats_keys

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000


def pack(counters: Counters) -> list[list[Any]]:
    """Counters as [target, field, n] triples: field paths contain dots, which a stored key may not."""
    return [[target, field, n] for target, fields in counters.items() for field, n in fields.items()]


def unpack(triples: list[list[Any]]) -> Counters:
    counters: Counters = {}
    for target, field, n in triples:
        merge(counters, {target: {field: n}})
    return counters


class StatsStore:
    def __init__(self, stats: AsyncIOMotorCollection, jobs: AsyncIOMotorCollection, instance: str) -> None:
        self._stats = stats
        self._jobs = jobs
        self._instance = instance
        self._journal_id = stats_keys.journal(instance)
        self.batch = 0

    async def recover(self) -> list[str]:
        """Finish the last batch if a crash interrupted it; returns its job ids (for alert resends)."""
        journal = await self._stats.find_one({"_id": self._journal_id})
        if journal is None:
            return []
        self.batch = journal["batch"]
        written = self._jobs.find({"_id": {"$in": journal["job_ids"]}}, {"stats_batch": 1, "stats_delta": 1})
        total: Counters = {}
        async for job in written:
            if job.get("stats_batch") == self.batch:
                merge(total, unpack(job.get("stats_delta") or []))
        applied = await self.apply(total, self.batch)
        if applied:
            log.warning("recovered batch %d: applied %d stats documents a crash had left out", self.batch, applied)
        return list(journal["job_ids"])

    def next_batch(self) -> int:
        self.batch += 1
        return self.batch

    async def journal(self, batch: int, job_ids: list[str]) -> None:
        await self._stats.replace_one(
            {"_id": self._journal_id}, {"_id": self._journal_id, "batch": batch, "job_ids": job_ids}, upsert=True
        )

    async def apply(self, total: Counters, batch: int) -> int:
        """`$inc` each document by its delta unless it has taken this batch already; returns how many did."""
        guard = f"applied.{self._instance}"
        operations = [
            UpdateOne(
                {"_id": target, guard: {"$ne": batch}},
                {"$inc": fields, "$set": {guard: batch, "sk": target}},
                upsert=True,
            )
            for target, fields in total.items()
            if fields
        ]
        if not operations:
            return 0
        try:
            result = await self._stats.bulk_write(operations, ordered=False)
        except BulkWriteError as error:
            # The guard did not match because the document already took this batch, so the upsert
            # tried to insert its _id again: that is the "already applied" answer.
            others = [w for w in error.details["writeErrors"] if w["code"] != DUPLICATE_KEY]
            if others:
                raise
            return len(operations) - len(error.details["writeErrors"])
        except DuplicateKeyError:
            return 0
        return result.upserted_count + result.modified_count
