"""The API's read side of the `workers` projection (written only by the worker registry): a cached
snapshot of every worker, seed 003's views of it, and the capability check that jobs and manual
assignments go through.

The collection holds one small document per worker, so a snapshot is one cheap read; it is cached
for `max_age` seconds so that job submission does not add a database read per request.
"""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection

from services.api.errors import ApiError
from shared.routing import required_capability
from shared.workers import WorkerTiming, format_uptime, is_available, is_live, load_percentage

SNAPSHOT_MAX_AGE_SECONDS = 0.5


class WorkerDirectory:
    def __init__(self, workers: AsyncIOMotorCollection, timing: WorkerTiming) -> None:
        self._workers = workers
        self.timing = timing
        self._snapshot: list[dict[str, Any]] = []
        self._taken_at = float("-inf")
        self._lock = asyncio.Lock()

    async def all(self, max_age: float = SNAPSHOT_MAX_AGE_SECONDS) -> list[dict[str, Any]]:
        if time.monotonic() - self._taken_at <= max_age:
            return self._snapshot
        async with self._lock:  # one read refreshes the snapshot for every waiting request
            if time.monotonic() - self._taken_at > max_age:
                documents = await self._workers.find({}, {"open_attempts": 0, "replaced": 0}).to_list(None)
                self._snapshot = sorted(documents, key=lambda doc: doc["_id"])
                self._taken_at = time.monotonic()
        return self._snapshot

    async def get(self, worker_id: str) -> dict[str, Any] | None:
        return next((doc for doc in await self.all() if doc["_id"] == worker_id), None)

    async def compatibility(self, capability: str) -> "Compatibility":
        return compatibility(await self.all(), capability, datetime.now(UTC), self.timing)


class Compatibility:
    """Which workers can run a capability, which could start it now, and the cluster around them."""

    def __init__(self, workers: list[dict[str, Any]], capability: str, now: datetime, timing: WorkerTiming) -> None:
        self.capability = capability
        capable = [doc for doc in workers if capability in (doc.get("capabilities") or [])]
        self.compatible = [doc["_id"] for doc in capable]
        self.live = [doc["_id"] for doc in capable if is_live(doc, now, timing)]
        self.available = [doc["_id"] for doc in capable if is_available(doc, now, timing)]
        self.cluster = cluster_status(workers, now, timing)

    def error_fields(self) -> dict[str, Any]:
        """Seed 003's error body, without the `error` message itself."""
        if self.available:
            suggestion = f"Try assigning to: {', '.join(self.available)}"
        elif self.live:
            suggestion = f"All compatible workers are busy or draining ({', '.join(self.live)}); retry shortly"
        else:
            suggestion = (
                f"Start an executor with WORKER_CAPABILITIES including '{self.capability}', "
                "or submit with queueIfNoWorker=true to wait for one"
            )
        return {
            "compatibleWorkers": self.compatible,
            "availableCompatibleWorkers": self.available,
            "clusterStatus": self.cluster,
            "suggestions": suggestion,
        }


def compatibility(workers: list[dict[str, Any]], capability: str, now: datetime, timing: WorkerTiming) -> Compatibility:
    return Compatibility(workers, capability, now, timing)


def effective(doc: dict[str, Any], now: datetime, timing: WorkerTiming) -> tuple[str, str, str]:
    """Status, health and message, re-checked against the heartbeat age (the registry may lag)."""
    if not is_live(doc, now, timing):
        message = doc.get("health_message") if doc.get("status") == "offline" else "No recent heartbeat"
        return "offline", "offline", message or "Offline"
    return doc.get("status") or "idle", doc.get("health") or "healthy", doc.get("health_message") or ""


def cluster_status(workers: list[dict[str, Any]], now: datetime, timing: WorkerTiming) -> dict[str, int]:
    statuses = [effective(doc, now, timing)[0] for doc in workers]
    return {
        "totalWorkers": len(workers),
        "activeWorkers": sum(status != "offline" for status in statuses),
        "idleWorkers": statuses.count("idle"),
        "busyWorkers": statuses.count("busy"),
        "drainingWorkers": statuses.count("draining"),
        "offlineWorkers": statuses.count("offline"),
    }


def worker_public(doc: dict[str, Any], now: datetime, timing: WorkerTiming) -> dict[str, Any]:
    """Seed 003's worker shape, plus what jobstream knows beyond it."""
    status, health, message = effective(doc, now, timing)
    running = list(doc.get("running_job_ids") or []) if status != "offline" else []
    started_at = doc.get("started_at")
    uptime = (now - started_at).total_seconds() if started_at and status != "offline" else 0.0
    slots = int(doc.get("slots") or 0)
    return {
        "id": doc["_id"],
        "status": status,
        "capabilities": doc.get("capabilities") or [],
        "host": doc.get("host"),
        "pid": doc.get("pid"),
        "version": doc.get("version"),
        "uptime": format_uptime(uptime),
        "uptimeSeconds": round(uptime, 1),
        "loadPercentage": load_percentage(len(running), slots),
        "cpuLoad": doc.get("load"),
        "slots": slots,
        "runningJobIds": running,
        "startedAt": started_at,
        "jobsSucceeded": doc.get("jobs_succeeded", 0),
        "jobsFailed": doc.get("jobs_failed", 0),
        "healthStatus": {
            "status": health,
            "message": message,
            "consecutiveFailures": doc.get("consecutive_failures", 0),
            "lastPing": doc.get("last_heartbeat_at"),
        },
    }


def cluster_stats(workers: list[dict[str, Any]], now: datetime, timing: WorkerTiming) -> dict[str, Any]:
    public = [worker_public(doc, now, timing) for doc in workers]
    live = [worker for worker in public if worker["status"] != "offline"]
    capabilities = sorted({cap for worker in public for cap in worker["capabilities"]})
    health: dict[str, int] = {}
    for worker in public:
        health[worker["healthStatus"]["status"]] = health.get(worker["healthStatus"]["status"], 0) + 1
    total_slots = sum(worker["slots"] for worker in live)
    used_slots = sum(len(worker["runningJobIds"]) for worker in live)
    return {
        "clusterStatus": cluster_status(workers, now, timing),
        "health": health,
        "capabilities": {
            cap: {
                "workers": sum(cap in worker["capabilities"] for worker in public),
                "activeWorkers": sum(cap in worker["capabilities"] for worker in live),
                "availableWorkers": sum(
                    cap in doc.get("capabilities", []) and is_available(doc, now, timing) for doc in workers
                ),
            }
            for cap in capabilities
        },
        "slots": {"total": total_slots, "used": used_slots},
        "loadPercentage": load_percentage(used_slots, total_slots),
        "jobsSucceeded": sum(worker["jobsSucceeded"] for worker in public),
        "jobsFailed": sum(worker["jobsFailed"] for worker in public),
        "timing": {
            "heartbeatIntervalSeconds": timing.heartbeat_interval_seconds,
            "unresponsiveAfterSeconds": timing.unresponsive_after,
            "offlineAfterSeconds": timing.offline_after,
        },
    }


async def require_live_worker(services: Any, spec: Any, queue_if_no_worker: bool) -> None:
    """Refuse a job no live executor can run (503 `no_compatible_worker`, seed 003's fields inside
    the error), unless the client asked to queue it until such an executor appears."""
    capability = required_capability(spec)
    if capability is None or queue_if_no_worker:
        return
    found = await services.workers.compatibility(capability)
    if not found.live:
        raise ApiError(
            503,
            "no_compatible_worker",
            f"no live worker supports '{capability}' jobs; set queueIfNoWorker=true to queue it until one appears",
            capability=capability,
            **found.error_fields(),
        )
