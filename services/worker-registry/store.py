"""The `workers` collection (this service is its only writer): loaded once at start, then written
in batches, one replace per changed worker (the embedded database is slow per write, DESIGN.md)."""

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ReplaceOne

from shared import mongo


class WorkerStore:
    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self.workers = db[mongo.WORKERS]
        self.leases = db[mongo.LEASES]

    async def load(self) -> list[dict[str, Any]]:
        return await self.workers.find({}).to_list(None)

    async def write(self, documents: list[dict[str, Any]]) -> None:
        if documents:
            await self.workers.bulk_write(
                [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in documents], ordered=False
            )

    async def delete(self, worker_ids: list[str]) -> None:
        if worker_ids:
            await self.workers.delete_many({"_id": {"$in": worker_ids}})
