"""The accepted-request store, written with group commit.

Every accepted job is recorded here before the API answers 2xx, because the embedded broker keeps
its log in memory: what a client was promised must survive a broker restart. Concurrent requests
are gathered into one `insert_many` (no timer: whatever queued up while the previous write ran goes
in the next one), which is how the API keeps MongoDB's per-document cost off the hot path.
"""

import asyncio
import contextlib
import logging
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection
from pymongo.errors import BulkWriteError

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
MAX_BATCH = 1000


class DuplicateRequest(Exception):
    """The idempotency key is already taken by another accepted request."""


class Outbox:
    def __init__(self, collection: AsyncIOMotorCollection) -> None:
        self._collection = collection
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            "idempotency_key", unique=True, partialFilterExpression={"idempotency_key": {"$type": "string"}}
        )

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name="outbox-writer")

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def add(self, document: dict[str, Any]) -> None:
        """Store one document; raises DuplicateRequest if its idempotency key is taken."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((document, done))
        await done

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        failures: dict[int, BaseException] = {}
        try:
            await self._collection.insert_many([document for document, _ in batch], ordered=False)
        except BulkWriteError as error:
            for write_error in error.details["writeErrors"]:
                duplicate = write_error["code"] == DUPLICATE_KEY
                failures[write_error["index"]] = (
                    DuplicateRequest() if duplicate else RuntimeError(write_error["errmsg"])
                )
        except Exception as error:  # database down: every waiter gets the error, nothing is half-done
            log.warning("outbox write failed: %s", error)
            failures = {index: error for index in range(len(batch))}
        for index, (_, done) in enumerate(batch):
            if done.done():
                continue
            if index in failures:
                done.set_exception(failures[index])
            else:
                done.set_result(None)
