"""Reads the analytics `stats` documents: point reads by `_id` and ranges on `_id` only
(layout in shared/stats_keys.py), never a scan of the jobs."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from shared import mongo, stats_keys


def _number(document: dict[str, Any] | None, path: str) -> int:
    value: Any = document or {}
    for part in path.split("."):
        if not isinstance(value, dict):
            return 0
        value = value.get(part, 0)
    return value if isinstance(value, int | float) else 0


number = _number


class StatsReader:
    def __init__(self, db: AsyncIOMotorDatabase, collection: str = mongo.STATS) -> None:
        self._stats = db[collection]

    async def by_ids(self, *ids: str) -> dict[str, dict[str, Any]]:
        found = await self._stats.find({"_id": {"$in": list(ids)}}).to_list(None)
        return {document["_id"]: document for document in found}

    async def prefixed(self, prefix: str) -> list[dict[str, Any]]:
        return await self._stats.find({"_id": stats_keys.prefix_range(prefix)}).to_list(None)

    async def between(self, first: str, last: str) -> list[dict[str, Any]]:
        return await self._stats.find({"_id": {"$gte": first, "$lte": last}}).to_list(None)

    async def summary(self) -> dict[str, Any]:
        return (await self.by_ids(stats_keys.SUMMARY)).get(stats_keys.SUMMARY, {})

    async def hours(self, now: datetime, hours: int) -> dict[str, dict[str, Any]]:
        first = stats_keys.hour(now - timedelta(hours=hours - 1))
        return {doc["_id"]: doc for doc in await self.between(first, stats_keys.hour(now))}

    async def last_hour(self, now: datetime) -> dict[str, int]:
        """Sums of the per-minute counters over the 60 minutes up to now."""
        documents = await self.between(stats_keys.minute(now - timedelta(minutes=59)), stats_keys.minute(now))
        fields = ("completed", "failed", "executions", "executions_failed")
        return {field: sum(_number(doc, field) for doc in documents) for field in fields}

    async def throughput_windows(self, now: datetime) -> dict[str, int]:
        week, hour = await asyncio.gather(self.hours(now, 168), self.last_hour(now))
        day_floor = stats_keys.hour(now - timedelta(hours=23))

        def finished(doc: dict[str, Any]) -> int:
            return _number(doc, "completed") + _number(doc, "failed")

        return {
            "lastHour": hour["completed"] + hour["failed"],
            "lastDay": sum(finished(doc) for key, doc in week.items() if key >= day_floor),
            "lastWeek": sum(finished(doc) for doc in week.values()),
        }
