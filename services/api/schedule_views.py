"""Schedules and their executions in each API's shape."""

import time
from datetime import UTC, datetime
from typing import Any

from services.api.schedule_schemas import (
    SchedulePublic,
    Seed004Execution,
    Seed004Job,
    Seed004Spec,
)
from shared.cron import CronError, parse
from shared.events import JobSpec, RetryPolicy
from shared.schedules import LABEL_SLOT, LABEL_TRIGGER, Schedule

# Seed 004: "up to 3 retries with exponential backoff" on network errors and 5xx.
SEED_004_RETRIES = 3
SEED_004_RETRY = RetryPolicy(base_seconds=1.0, max_seconds=8.0, factor=2.0, jitter=0.1)
_SEED_004_STATUS = {
    "queued": "PENDING",
    "running": "RUNNING",
    "retrying": "RETRYING",
    "succeeded": "SUCCESS",
    "failed": "FAILED",
    "dead_lettered": "FAILED",
    "cancelled": "FAILED",
}


def next_fire(schedule: Schedule) -> datetime | None:
    if schedule.paused:
        return None
    try:
        cron = parse(schedule.cron, schedule.timezone)
    except CronError:
        return None
    return datetime.fromtimestamp(cron.next_after(time.time()), UTC)


def schedule_public(schedule: Schedule) -> SchedulePublic:
    return SchedulePublic(
        scheduleId=schedule.schedule_id,
        name=schedule.name,
        cron=schedule.cron,
        timezone=schedule.timezone,
        job=schedule.job.model_dump(mode="json", exclude_defaults=True),
        paused=schedule.paused,
        misfirePolicy=schedule.misfire_policy,
        catchUpLimit=schedule.catch_up_limit,
        dependsOn=schedule.depends_on,
        version=schedule.version,
        api=schedule.api,
        createdAt=schedule.created_at,
        updatedAt=schedule.updated_at,
        activeSince=schedule.active_since,
        nextFireAt=next_fire(schedule),
    )


def seed_004_job_spec(url: str, timeout_seconds: float) -> JobSpec:
    return JobSpec(
        kind="http.post",
        url=url,
        max_attempts=SEED_004_RETRIES + 1,
        retry=SEED_004_RETRY,
        timeout_seconds=timeout_seconds,
        capability="http",
        labels={"api": "seed-004"},
    )


def _millis(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def seed_004_job(schedule: Schedule) -> Seed004Job:
    return Seed004Job(
        id=schedule.schedule_id,
        spec=Seed004Spec(
            schedule=schedule.cron, api=schedule.job.url, type=schedule.original.get("type", "ATLEAST_ONCE")
        ),
        createdAt=_millis(schedule.created_at) or 0,
        updatedAt=_millis(schedule.updated_at) or 0,
        isActive=not schedule.paused,
    )


def seed_004_execution(doc: dict[str, Any]) -> Seed004Execution:
    labels = doc.get("labels") or {}
    attempt = max(1, doc.get("attempt") or 1)
    attempts = doc.get("attempts") or []
    first_start = min((entry["started_at"] for entry in attempts if entry.get("started_at")), default=None)
    started = first_start or doc.get("started_at")
    finished = (
        doc.get("finished_at") if doc.get("status") in ("succeeded", "failed", "dead_lettered", "cancelled") else None
    )
    started_ms, finished_ms = _millis(started), _millis(finished)
    return Seed004Execution(
        id=doc["_id"],
        status=_SEED_004_STATUS.get(doc.get("status") or "queued", "PENDING"),  # type: ignore[arg-type]
        scheduledAt=_millis(labels.get(LABEL_SLOT) or doc.get("submitted_at")),
        startedAt=started_ms,
        completedAt=finished_ms,
        duration=float(finished_ms - started_ms) if started_ms is not None and finished_ms is not None else None,
        httpStatus=doc.get("http_status"),
        retryCount=attempt - 1,
        error=doc.get("error"),
        trigger=labels.get(LABEL_TRIGGER),
    )
