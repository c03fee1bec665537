"""Orphaned attempts: what a lost worker process was running, found from its leases, and the
`job.finished` (outcome `crashed`) that ends each one.

Evidence: the attempts the ledger saw start on that process and not finish, plus the leases the
process acquired shortly before it went silent (an attempt claimed in its last milliseconds may have
no `job.started`). Each lease carries the attempt's spec, so the crash event follows the normal
retry rules (`shared.retry`): attempts left means `disposition=retry` with `retry_at`, and the
scheduler's retry timer requests the next attempt; none left means dead-lettered.
"""

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection

from services.worker_registry.ledger import Ledger, LostIncarnation
from shared.events import JobFinished, JobSpec
from shared.retry import disposition, retry_at

log = logging.getLogger(__name__)
PRODUCER = "worker-registry"
# How far before its last heartbeat a lost process's leases are examined.
LEASE_WINDOW_SECONDS = 30.0
_ORPHAN_NAMESPACE = uuid.UUID("5b0f3c52-9a1e-4a53-9a57-0a6b1c6f7e01")


async def orphaned_leases(
    leases: AsyncIOMotorCollection, ledger: Ledger, lost: LostIncarnation
) -> list[dict[str, Any]]:
    """The lease documents of `lost`'s attempts that never finished."""
    found: dict[str, dict[str, Any]] = {}
    if lost.open_attempts:
        async for lease in leases.find({"_id": {"$in": list(lost.open_attempts)}}):
            found[lease["_id"]] = lease
    if lost.last_heartbeat_at is not None:
        since = lost.last_heartbeat_at - timedelta(seconds=LEASE_WINDOW_SECONDS)
        # Before the registry started it may have missed those attempts' `job.finished`.
        since = max([since, ledger.started_at] + ([lost.started_at] if lost.started_at else []))
        window: dict[str, Any] = {"$gte": since}
        if lost.until is not None:
            window["$lt"] = lost.until
        async for lease in leases.find({"worker_id": lost.worker_id, "acquired_at": window}):
            found.setdefault(lease["_id"], lease)
    return [
        lease
        for lease in found.values()
        if lease.get("worker_id") == lost.worker_id
        and lease.get("state") == "running"
        and not ledger.is_finished(lease["_id"])
    ]


def crashed(lease: dict[str, Any], lost: LostIncarnation, now: datetime) -> JobFinished | None:
    """The crash event for one orphaned attempt (None if the lease predates specs in leases)."""
    if not lease.get("spec"):
        log.warning("lease %s has no spec; cannot re-request it", lease["_id"])
        return None
    spec = JobSpec.model_validate(lease["spec"])
    attempt = int(lease["attempt"])
    decided = disposition("crashed", True, attempt, spec.max_attempts)
    return JobFinished(
        # Deterministic id: a crash re-announced after a registry restart is deduplicated downstream.
        event_id=uuid.uuid5(_ORPHAN_NAMESPACE, lease["_id"]),
        job_id=lease["job_id"],
        attempt=attempt,
        producer=PRODUCER,
        worker_id=lost.worker_id,
        outcome="crashed",
        disposition=decided,
        error=f"worker {lost.worker_id} lost ({lost.why}); attempt orphaned",
        retry_at=retry_at(spec, attempt, now) if decided == "retry" else None,
        spec=spec if decided == "retry" else None,
    )
