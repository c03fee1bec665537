"""Read side of the API: point reads and keyset-paged lists over the `jobs` projection.

Newest-first lists page through growing time windows on `sk`, the indexed copy of the time-ordered
`_id` (services/api/recent.py), never by `skip` or a full sort: both, and any range on `_id` itself,
are full scans on the embedded database. Oldest-first lists (`order=asc`) sort on `_id` and are only
fast on a real MongoDB. A job the API accepted but the projection has not yet seen is answered from
the API's own outbox, so a GET right after a POST never 404s.
"""

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase

from services.api.recent import newest_first
from services.api.views import queued_from_request
from shared import mongo

LIST_FIELDS = {"event_ids": 0, "events": 0}


class JobQueries:
    def __init__(self, db: AsyncIOMotorDatabase) -> None:
        self._jobs = db[mongo.JOBS]
        self._requests = db[mongo.JOB_REQUESTS]

    async def get(self, job_id: str) -> dict[str, Any] | None:
        document = await self._jobs.find_one({"_id": job_id})
        if document is not None and document.get("submitted_at") is not None:
            return document
        request = await self._requests.find_one({"_id": job_id})
        if request is None:
            return document
        accepted = queued_from_request(request)
        return {**accepted, **(document or {})} if document else accepted

    async def page(
        self, filters: dict[str, Any], limit: int, cursor: str | None, descending: bool = True
    ) -> tuple[list[dict[str, Any]], str | None]:
        if descending:
            return await newest_first(self._jobs, limit, cursor, filters, LIST_FIELDS)
        query = dict(filters)
        if cursor:
            query["_id"] = {"$gt": cursor}
        documents = await self._jobs.find(query, LIST_FIELDS).sort("_id", 1).limit(limit + 1).to_list(limit + 1)
        next_cursor = documents[limit - 1]["_id"] if len(documents) > limit else None
        return documents[:limit], next_cursor
