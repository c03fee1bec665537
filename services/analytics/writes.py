"""Idempotent bulk writes: analytics derives every record with a deterministic id, so a duplicate
id on a redelivered or replayed batch means "written before", not an error."""

from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


async def write_idempotent(collection: AsyncIOMotorCollection, operations: list[Any]) -> int:
    """Bulk write (unordered) that ignores duplicate ids; returns how many documents were inserted."""
    if not operations:
        return 0
    try:
        result = await collection.bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        if any(w["code"] != DUPLICATE_KEY for w in error.details["writeErrors"]):
            raise
        return error.details["nInserted"]
    return result.inserted_count
