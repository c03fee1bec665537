"""One batch of job events through every analytics projection, in crash-safe order.

`jobs` (the job documents), `executions` / `failed_executions` (one record per finished attempt),
`alerts` (failures and dead-lettering) and `stats` (incremental statistics) are all derived from the
same `Change(before, after)` of each job; the order of the writes and the journal that makes the
statistics exactly-once are described in `stats_store.py`. The live Faust agent and the replay
command both run this class, with different collection names.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import InsertOne, ReplaceOne

from services.analytics import metrics
from services.analytics.contributions import Counters, contribution, delta, merge
from services.analytics.dlq import dlq_correction, dlq_operation
from services.analytics.jobview import Event
from services.analytics.projections import Change, JobProjection
from services.analytics.records import alert_document, alert_for, alert_from_document, changed_executions
from services.analytics.schedule_runs import ScheduleRuns
from services.analytics.stats_store import StatsStore, pack
from services.analytics.writes import write_idempotent
from shared import mongo
from shared.cost import CostSettings
from shared.events import JobAlerted

log = logging.getLogger(__name__)
PublishAlerts = Callable[[list[JobAlerted]], Awaitable[None]]


@dataclass(frozen=True)
class Collections:
    jobs: str = mongo.JOBS
    stats: str = mongo.STATS
    executions: str = mongo.EXECUTIONS
    failed_executions: str = mongo.FAILED_EXECUTIONS
    alerts: str = mongo.ALERTS
    dlq: str = mongo.DLQ
    schedule_runs: str = mongo.SCHEDULE_RUNS

    @classmethod
    def prefixed(cls, prefix: str) -> "Collections":
        base = cls()
        return cls(**{name: prefix + value for name, value in base.__dict__.items()})


class Pipeline:
    def __init__(
        self,
        db: AsyncIOMotorDatabase,
        cost: CostSettings,
        instance: str = "0",
        collections: Collections = Collections(),  # noqa: B008 - frozen
        cache_size: int = 50_000,
        publish_alerts: PublishAlerts | None = None,
    ) -> None:
        self.collections = collections
        self.jobs = JobProjection(db, cache_size, collections.jobs)
        self._executions = db[collections.executions]
        self._failed = db[collections.failed_executions]
        self._alerts = db[collections.alerts]
        self._dlq = db[collections.dlq]
        self._schedule_runs = ScheduleRuns(db[collections.schedule_runs], db[collections.jobs])
        self._stats = db[collections.stats]
        self.stats = StatsStore(self._stats, db[collections.jobs], instance)
        self._cost = cost
        self._publish = publish_alerts

    async def start(self) -> None:
        await self.jobs.ensure_indexes()
        await self._schedule_runs.start()
        await self._alerts.create_index("job_id")
        await self._failed.create_index("job_id")
        await self._dlq.create_index([("definition_key", 1), ("_id", -1)])
        for collection in (self._alerts, self._executions, self._failed, self._stats):
            await collection.create_index("sk")
        job_ids = await self.stats.recover()
        if job_ids and self._publish is not None:
            # The crash may have come before the last batch's alerts were published: send them again
            # (sinks drop duplicates by alert id).
            resend = [alert_from_document(doc) async for doc in self._alerts.find({"job_id": {"$in": job_ids}})]
            if resend:
                await self._publish(resend)

    def forget(self) -> None:
        self.jobs.forget()

    async def process(self, events: Sequence[Event]) -> list[Change]:
        changes = await self.jobs.fold(events)
        if not changes:
            return changes
        # Derived records are written first (idempotent). A job missing from the cache looks new
        # here, so these may repeat records already stored: same ids, ignored as duplicates.
        await self._write_records(changes, [a for change in changes if (a := alert_for(change.before, change.after))])
        batch = self.stats.next_batch()
        await self.stats.journal(batch, [change.after["_id"] for change in changes])
        deltas: dict[str, Counters] = {}

        def prepare(change: Change) -> None:
            change_delta = delta(contribution(change.before, self._cost), contribution(change.after, self._cost))
            deltas[change.after["_id"]] = change_delta
            change.after["stats_batch"] = batch
            change.after["stats_delta"] = pack(change_delta)

        planned = {change.after["_id"]: change.after.get("status") for change in changes}
        await self.jobs.write(changes, events, prepare)
        # A job folded without its stored document (cache miss) was rebased by the write: write
        # dead-lettered jobs again from the final document, drop those that turned out not to be.
        fixes = [op for change in changes if (op := dlq_correction(planned[change.after["_id"]], change.after))]
        if fixes:
            await self._dlq.bulk_write(fixes, ordered=False)
        total: Counters = {}
        for change_delta in deltas.values():
            merge(total, change_delta)
        await self.stats.apply(total, batch)
        metrics.observe_changes(changes)
        # Published only for real transitions: the write corrected `before` for jobs that existed.
        alerts = [alert for change in changes if (alert := alert_for(change.before, change.after))]
        if alerts and self._publish is not None:
            await self._publish(alerts)
        return changes

    async def _write_records(self, changes: list[Change], alerts: list[JobAlerted]) -> None:
        executions: list[Any] = []
        failed: list[Any] = []
        for change in changes:
            added, updated = changed_executions(change.before, change.after)
            for record in added:
                executions.append(InsertOne(record))
                if record["failed"]:
                    failed.append(InsertOne(record))
            for record in updated:
                executions.append(ReplaceOne({"_id": record["_id"]}, record, upsert=True))
                if record["failed"]:
                    failed.append(ReplaceOne({"_id": record["_id"]}, record, upsert=True))
        await write_idempotent(self._executions, executions)
        await write_idempotent(self._failed, failed)
        await write_idempotent(self._alerts, [InsertOne(alert_document(alert)) for alert in alerts])
        await self._schedule_runs.record(changes)
        dead_letters = [op for change in changes if (op := dlq_operation(change.before, change.after)) is not None]
        if dead_letters:
            await self._dlq.bulk_write(dead_letters, ordered=False)
