"""Worker health and status rules (seed 003's shapes), shared by the worker registry that keeps the
`workers` projection and the API that reads it. Pure functions: time is passed in.

Status is what the worker is doing: `idle`, `busy` (runs at least one attempt), `draining` (finishing
its attempts before it stops) or `offline` (stopped, or heartbeats missing for `offline_after`).
Health is how far it can be trusted: `healthy`, `warning` and `degraded` by consecutive job failures,
`unresponsive` when heartbeats are late, `offline` when it is gone. A worker whose heartbeats arrive is
never offline, however busy it is.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Status = Literal["idle", "busy", "draining", "offline"]
Health = Literal["healthy", "warning", "degraded", "offline", "unresponsive"]

WARNING_AFTER_FAILURES = 3
DEGRADED_AFTER_FAILURES = 5
FAILURE_OUTCOMES = frozenset({"failed", "timed_out", "crashed"})


class WorkerTiming(BaseSettings):
    """Heartbeat timing, from the same variables the executors read."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    heartbeat_interval_seconds: float = Field(10.0, gt=0, alias="HEARTBEAT_INTERVAL_SECONDS")
    lease_duration_seconds: float = Field(60.0, gt=0, alias="LEASE_DURATION_SECONDS")
    offline_after_override: float | None = Field(None, gt=0, alias="WORKER_OFFLINE_AFTER_SECONDS")

    @property
    def unresponsive_after(self) -> float:
        """Two heartbeats missed (and a half interval of slack)."""
        return 2.5 * self.heartbeat_interval_seconds

    @property
    def offline_after(self) -> float:
        """Silence after which the worker is gone and its attempts are orphaned: half the lease, so
        that detection plus re-request fits in LEASE_DURATION_SECONDS, but never before 3 beats."""
        if self.offline_after_override is not None:
            return self.offline_after_override
        return max(3 * self.heartbeat_interval_seconds, self.lease_duration_seconds / 2)


@dataclass(frozen=True)
class Assessment:
    status: Status
    health: Health
    message: str


def silence_seconds(last_heartbeat_at: datetime | None, now: datetime) -> float:
    if last_heartbeat_at is None:
        return float("inf")
    return max(0.0, (now - last_heartbeat_at).total_seconds())


def assess(
    *,
    state: str,
    running: int,
    consecutive_failures: int,
    last_heartbeat_at: datetime | None,
    now: datetime,
    timing: WorkerTiming,
) -> Assessment:
    """The worker's status and health now, from its last heartbeat and failure streak."""
    silence = silence_seconds(last_heartbeat_at, now)
    if state == "stopped":
        return Assessment("offline", "offline", "Stopped")
    if silence > timing.offline_after:
        return Assessment("offline", "offline", f"No heartbeat for {silence:.0f}s")
    status: Status = "draining" if state == "draining" else ("busy" if running > 0 else "idle")
    if silence > timing.unresponsive_after:
        return Assessment(status, "unresponsive", f"Heartbeat late by {silence:.0f}s")
    if consecutive_failures >= DEGRADED_AFTER_FAILURES:
        return Assessment(status, "degraded", f"{consecutive_failures} consecutive job failures")
    if consecutive_failures >= WARNING_AFTER_FAILURES:
        return Assessment(status, "warning", f"{consecutive_failures} consecutive job failures")
    return Assessment(status, "healthy", "Operating normally")


def is_live(document: dict[str, Any], now: datetime, timing: WorkerTiming) -> bool:
    """Heartbeating and not stopped (whatever the registry last wrote, the silence is re-checked)."""
    return (
        document.get("state") != "stopped"
        and document.get("status") != "offline"
        and silence_seconds(document.get("last_heartbeat_at"), now) <= timing.offline_after
    )


def is_available(document: dict[str, Any], now: datetime, timing: WorkerTiming) -> bool:
    """Live, not draining, responsive, with a free slot: a job given now would start at once."""
    running = len(document.get("running_job_ids") or [])
    return (
        is_live(document, now, timing)
        and document.get("state") == "running"
        and document.get("health") not in ("unresponsive", "offline")
        and running < max(1, int(document.get("slots") or 1))
    )


def load_percentage(running: int, slots: int) -> int:
    return min(100, round(100 * running / slots)) if slots > 0 else 0


def format_uptime(seconds: float) -> str:
    """Seed 003 writes uptime as `2h 45m`."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
