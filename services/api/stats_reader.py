"""Reads the analytics `stats` documents by known ids (`$in`) or by a range on the indexed `sk`
copy of `_id` (layout in shared/stats_keys.py); never a scan of the jobs, never a range on `_id`
(a full scan on the embedded database)."""

from datetime import datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import mongo, stats_keys

COUNTERS = ("completed", "failed", "executions", "executions_failed")


def number(document: dict[str, Any] | None, path: str) -> int:
    value: Any = document or {}
    for part in path.split("."):
        if not isinstance(value, dict):
            return 0
        value = value.get(part, 0)
    return value if isinstance(value, int | float) else 0


class StatsReader:
    def __init__(self, db: AsyncIOMotorDatabase, collection: str = mongo.STATS) -> None:
        self._stats = db[collection]

    async def by_ids(self, *ids: str) -> dict[str, dict[str, Any]]:
        found = await self._stats.find({"_id": {"$in": list(ids)}}).to_list(None)
        return {document["_id"]: document for document in found}

    async def prefixed(self, prefix: str) -> list[dict[str, Any]]:
        return await self._stats.find({"sk": stats_keys.prefix_range(prefix)}).to_list(None)

    async def patterns(self) -> list[dict[str, Any]]:
        return list((await self.by_ids(*(stats_keys.pattern(f) for f in stats_keys.FEATURES))).values())

    async def summary(self) -> dict[str, Any]:
        return (await self.by_ids(stats_keys.SUMMARY)).get(stats_keys.SUMMARY, {})

    async def days(self, now: datetime, hours: int) -> dict[str, dict[str, Any]]:
        """The day documents covering the `hours` hours up to now."""
        first = now - timedelta(hours=hours - 1)
        ids = {stats_keys.day(first + timedelta(days=n)) for n in range((now.date() - first.date()).days + 1)}
        return await self.by_ids(*ids)

    async def hours(self, now: datetime, hours: int) -> list[tuple[datetime, dict[str, int]]]:
        """Counters of each of the `hours` UTC hours ending with the current one, oldest first."""
        days = await self.days(now, hours)
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        series = []
        for index in range(hours):
            moment = start + timedelta(hours=index)
            document = days.get(stats_keys.day(moment), {})
            series.append((moment, {c: number(document, stats_keys.hour_field(moment, c)) for c in COUNTERS}))
        return series

    async def last_hour(self, now: datetime) -> dict[str, int]:
        """Sums of the per-minute counters over the 60 minutes up to now."""
        days = await self.days(now, 2)
        totals = dict.fromkeys(COUNTERS, 0)
        for offset in range(60):
            moment = now - timedelta(minutes=offset)
            document = days.get(stats_keys.day(moment), {})
            for counter in COUNTERS:
                totals[counter] += number(document, stats_keys.minute_field(moment, counter))
        return totals

    async def throughput_windows(self, now: datetime) -> dict[str, int]:
        week = await self.hours(now, 168)
        hour = await self.last_hour(now)

        def finished(counters: dict[str, int]) -> int:
            return counters["completed"] + counters["failed"]

        return {
            "lastHour": finished(hour),
            "lastDay": sum(finished(counters) for _, counters in week[-24:]),
            "lastWeek": sum(finished(counters) for _, counters in week),
        }
