"""The dead-letter queue projection: one `dlq` document per job that is dead-lettered now.

Derived from each job's `Change(before, after)`: a dead-lettered job is upserted (on entering the
queue, and again if a late event fills in its document), a job leaving it (reopened by a
`dlq_retry` request) is deleted. Other jobs never write here, so the queue costs nothing on the
hot path (an index on `jobs.status` would slow every job write by a third to a half on the embedded
database). Writes are idempotent (upsert and delete by `_id`), so
they run before the `jobs` write and a replayed batch repeats them harmlessly.

The document is the job document without its event log, plus `dead_lettered_at`, so the API can
answer `GET /v1/dlq` with one keyset-ordered read of a small collection.
"""

from typing import Any

from pymongo import DeleteOne, ReplaceOne

DEAD_LETTERED = "dead_lettered"
_DROPPED = ("events", "event_ids", "stats_batch", "stats_delta")


def _was_retried_from_dlq(document: dict[str, Any]) -> bool:
    return any(entry.get("reason") == "dlq_retry" for entry in document.get("events", ()))


def dlq_document(job: dict[str, Any]) -> dict[str, Any]:
    document = {key: value for key, value in job.items() if key not in _DROPPED}
    document["dead_lettered_at"] = job.get("finished_at") or job.get("updated_at")
    return document


def dlq_operation(before: dict[str, Any] | None, after: dict[str, Any]) -> Any | None:
    """The write one job change needs in `dlq`, or None (the common case)."""
    was = before.get("status") if before is not None else None
    now = after.get("status")
    if now == DEAD_LETTERED:
        # Also when it was dead-lettered already: a job's topics are read independently, so its
        # `job.requested` (definition key, params) may be folded in after the final `job.finished`.
        return ReplaceOne({"_id": after["_id"]}, dlq_document(after), upsert=True)
    # `before` is None when the job was not in the cache: only a job ever retried from the queue
    # can be in it, so only such a job pays for a (no-op) delete.
    if was == DEAD_LETTERED or (before is None and _was_retried_from_dlq(after)):
        return DeleteOne({"_id": after["_id"]})
    return None


def dlq_correction(planned_status: str | None, after: dict[str, Any]) -> Any | None:
    """After the `jobs` write (which may have rebased a change onto the stored document)."""
    final = after.get("status")
    if final == DEAD_LETTERED:
        # Even when it was planned as dead-lettered: the rebased document is the complete one.
        return ReplaceOne({"_id": after["_id"]}, dlq_document(after), upsert=True)
    if final == planned_status:
        return None
    if planned_status == DEAD_LETTERED:
        return DeleteOne({"_id": after["_id"]})
    return None
