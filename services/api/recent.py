"""Newest-first pages over collections whose `_id` is a time-ordered UUIDv7 (jobs, executions, alerts).

The embedded database scans the whole collection for any range on `_id`, so these collections keep an
indexed copy of `_id` in `sk`, and pages are read through growing time windows below the cursor: the
last minute, then 4x wider each time, until the page is full. Each query is a selective range on `sk`.
"""

import time
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection

from shared.ids import id_floor, id_millis

FIRST_WINDOW_MS = 60_000
GROWTH = 4
MAX_WINDOWS = 16  # 1 minute * 4**15 is far more than any history


async def newest_first(
    collection: AsyncIOMotorCollection,
    limit: int,
    before: str | None = None,
    filters: dict[str, Any] | None = None,
    fields: dict[str, int] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` documents with `_id < before` (or all), newest first, and the next cursor."""
    upper_ms = id_millis(before) if before else int(time.time() * 1000) + 60_000
    upper_id = before or id_floor(upper_ms + 1)
    found: list[dict[str, Any]] = []
    width = FIRST_WINDOW_MS
    for index in range(MAX_WINDOWS):
        lower_ms = max(0, upper_ms - width) if index < MAX_WINDOWS - 1 else 0
        query = {**(filters or {}), "sk": {"$lt": upper_id, "$gte": id_floor(lower_ms)}}
        batch = await collection.find(query, fields).sort("sk", -1).limit(limit - len(found)).to_list(None)
        found.extend(batch)
        if len(found) >= limit or lower_ms == 0:
            break
        upper_id, upper_ms = id_floor(lower_ms), lower_ms
        width *= GROWTH
    next_cursor = found[-1]["_id"] if len(found) >= limit else None
    return found, next_cursor
