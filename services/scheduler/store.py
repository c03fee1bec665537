"""The scheduler's MongoDB state: its copy of every schedule and, per `schedules` partition, the
slot fired through.

The copy of the schedules is what survives a broker restart (the embedded broker keeps its log in
memory). The watermark is one small document per partition written after each slot, instead of one
write per schedule per fire: every schedule of that partition due at or before `fired_through` has
been fired. A new owner starts from it, and the misfire policy decides about the slots after it.
"""

from datetime import UTC, datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import UpdateOne

from shared import mongo
from shared.schedules import Schedule


def _partition_key(partition: int) -> str:
    return f"schedules-partition-{partition}"


class ScheduleStore:
    def __init__(self, db: AsyncIOMotorDatabase, owner: str) -> None:
        self._schedules = db[mongo.SCHEDULES]
        self._state = db[mongo.SCHEDULE_STATE]
        self._owner = owner

    async def load(self, partitions: set[int]) -> list[tuple[Schedule, int]]:
        """Every stored schedule of these partitions (one scan, filtered here: the filter on a
        low-cardinality field would be a scan anyway on the embedded database)."""
        found = []
        async for document in self._schedules.find({}):
            if document.get("partition") in partitions:
                found.append((Schedule.model_validate(document["schedule"]), document["partition"]))
        return found

    async def get(self, schedule_id: str) -> Schedule | None:
        document = await self._schedules.find_one({"_id": schedule_id})
        return Schedule.model_validate(document["schedule"]) if document else None

    async def version(self, schedule_id: str) -> int:
        document = await self._schedules.find_one({"_id": schedule_id}, {"version": 1})
        return document["version"] if document else 0

    async def save(self, schedule: Schedule, partition: int) -> None:
        await self._schedules.replace_one(
            {"_id": schedule.schedule_id},
            {
                "_id": schedule.schedule_id,
                "version": schedule.version,
                "partition": partition,
                "schedule": schedule.model_dump(mode="json"),
            },
            upsert=True,
        )

    async def delete(self, schedule_id: str) -> None:
        await self._schedules.delete_one({"_id": schedule_id})

    async def watermarks(self, partitions: set[int]) -> dict[int, float]:
        ids = [_partition_key(partition) for partition in partitions]
        found: dict[int, float] = {}
        async for document in self._state.find({"_id": {"$in": ids}}):
            found[document["partition"]] = document["fired_through"]
        return found

    async def save_watermarks(self, watermarks: dict[int, float]) -> None:
        if not watermarks:
            return
        now = datetime.now(UTC)
        await self._state.bulk_write(
            [
                UpdateOne(
                    {"_id": _partition_key(partition)},
                    {"$set": {"partition": partition, "fired_through": slot, "owner": self._owner, "updated_at": now}},
                    upsert=True,
                )
                for partition, slot in watermarks.items()
            ],
            ordered=False,
        )

    async def owners(self) -> dict[int, Any]:
        return {doc["partition"]: doc.get("owner") async for doc in self._state.find({"partition": {"$exists": True}})}
