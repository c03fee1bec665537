"""Seed 003's `/api/jobs`: scheduled jobs with a command, priority, dependencies and retry policy.

Each is a schedule (one model, services/api/schedules.py). The command is typed as seed 003 says:
`script:<path>` runs the program at <path> (no shell), `http(s)://...` is an HTTP POST, anything
else is a shell command (seed 003 defines it as one). Dependencies are other seed 003 job ids:
the scheduler fires a job only after the latest run of each dependency at or before the same slot
has succeeded (dependency order); cycles are refused with a 422 naming them, and deleting a job
others depend on is a 409 listing them. Status and history come from the `jobs` projection.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schedule_views import next_fire
from services.api.schedules import ScheduleDraft
from shared.events import JobSpec, RetryPolicy
from shared.schedules import LABEL_TRIGGER, Schedule

router = APIRouter(prefix="/api/jobs", tags=["scheduled jobs (seed 003)"])
Priority = Literal["High", "Medium", "Low"]
PRIORITY_VALUE = {"High": 10, "Medium": 0, "Low": -10}
SEED_STATUS = {
    "queued": "pending",
    "retrying": "running",
    "running": "running",
    "succeeded": "success",
    "failed": "failed",
    "dead_lettered": "failed",
    "cancelled": "failed",
}
HISTORY_LIMIT = 1000


class RetryPolicyObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    maxRetries: int = Field(0, ge=0, le=99)
    backoffSeconds: float = Field(1.0, ge=0, le=3600)


def _retries(value: int | RetryPolicyObject | None) -> tuple[int, float]:
    if value is None:
        return 0, 1.0
    if isinstance(value, int):
        return value, 1.0
    return value.maxRetries, value.backoffSeconds


class Seed003JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    schedule: str = Field(min_length=1, max_length=200, description="cron, e.g. `0 3 * * *`")
    command: str = Field(min_length=1, max_length=100_000)
    priority: Priority = "Medium"
    dependencies: list[str] = Field(default_factory=list, max_length=100)
    retryPolicy: Annotated[int, Field(ge=0, le=99)] | RetryPolicyObject | None = None
    timezone: str = Field("UTC", max_length=64)

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        command_type(value)  # raises ValueError for an empty script path
        return value


class Seed003JobUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    schedule: str | None = Field(None, min_length=1, max_length=200)
    command: str | None = Field(None, min_length=1, max_length=100_000)
    priority: Priority | None = None
    dependencies: list[str] | None = Field(None, max_length=100)
    retryPolicy: Annotated[int, Field(ge=0, le=99)] | RetryPolicyObject | None = None
    timezone: str | None = Field(None, max_length=64)


def command_type(command: str) -> Literal["script", "api", "shell"]:
    if command.startswith("script:"):
        if not command[len("script:") :].strip():
            raise ValueError("script: needs a path, e.g. script:/path/to/report.js")
        return "script"
    if command.startswith(("http://", "https://")):
        return "api"
    return "shell"


def job_spec(command: str, priority: str, retry_policy: int | RetryPolicyObject | None, name: str) -> JobSpec:
    retries, backoff = _retries(retry_policy)
    kind = command_type(command)
    common: dict[str, Any] = dict(
        job_name=name,
        priority=PRIORITY_VALUE[priority],
        max_attempts=retries + 1,
        retry=RetryPolicy(base_seconds=backoff, max_seconds=max(backoff, 1.0) * 32, factor=2.0),
        labels={"api": "seed-003"},
    )
    if kind == "script":
        return JobSpec(kind="native", program=command[len("script:") :].strip(), capability="script", **common)
    if kind == "api":
        return JobSpec(kind="http.post", url=command, capability="http", **common)
    return JobSpec(kind="shell", command=command, capability="shell", **common)


async def _runs(services: ServicesDep, schedule_id: str) -> list[dict[str, Any]]:
    return await services.schedules.executions(schedule_id, HISTORY_LIMIT)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def job_view(schedule: Schedule, last: dict[str, Any] | None) -> dict[str, Any]:
    original = schedule.original
    upcoming = next_fire(schedule)
    return {
        "_id": schedule.schedule_id,
        "id": schedule.schedule_id,
        "name": schedule.name,
        "schedule": schedule.cron,
        "timezone": schedule.timezone,
        "command": original.get("command"),
        "type": command_type(original.get("command") or "") if original.get("command") else schedule.job.kind,
        "priority": original.get("priority", "Medium"),
        "dependencies": schedule.depends_on,
        "retryPolicy": original.get("retryPolicy", 0),
        "status": "paused" if schedule.paused else SEED_STATUS.get((last or {}).get("status") or "", "pending"),
        "lastRun": _iso((last or {}).get("submitted_at")),
        "nextRun": _iso(upcoming),
        "createdAt": _iso(schedule.created_at),
        "updatedAt": _iso(schedule.updated_at),
    }


def statistics(runs: list[dict[str, Any]]) -> dict[str, Any]:
    finished = [run for run in runs if run.get("status") in ("succeeded", "failed", "dead_lettered", "cancelled")]
    succeeded = sum(1 for run in finished if run["status"] == "succeeded")
    durations = [run["duration_ms"] for run in finished if run.get("duration_ms") is not None]
    return {
        "totalRuns": len(runs),
        "successCount": succeeded,
        "failureCount": len(finished) - succeeded,
        "successRate": round(100 * succeeded / len(finished), 2) if finished else None,
        "averageDurationMs": round(sum(durations) / len(durations), 3) if durations else None,
    }


def run_view(run: dict[str, Any]) -> dict[str, Any]:
    labels = run.get("labels") or {}
    return {
        "executionId": run["_id"],
        "status": SEED_STATUS.get(run.get("status") or "queued", "pending"),
        "trigger": labels.get(LABEL_TRIGGER),
        "scheduledAt": labels.get("slot") or _iso(run.get("submitted_at")),
        "startedAt": _iso(run.get("started_at")),
        "finishedAt": _iso(run.get("finished_at")),
        "durationMs": run.get("duration_ms"),
        "exitCode": run.get("exit_code"),
        "httpStatus": run.get("http_status"),
        "retries": max(0, (run.get("attempt") or 1) - 1),
        "workerId": run.get("worker_id"),
        "error": run.get("error"),
        "output": run.get("output_tail"),
    }


async def _require_seed_job(services: ServicesDep, job_id: str) -> Schedule:
    return await services.schedules.require(job_id)


@router.post("", status_code=201)
async def create_job(body: Seed003JobCreate, services: ServicesDep) -> dict[str, Any]:
    draft = ScheduleDraft(
        cron=body.schedule,
        timezone=body.timezone,
        name=body.name,
        depends_on=body.dependencies,
        api="seed-003",
        job=job_spec(body.command, body.priority, body.retryPolicy, body.name),
        original=body.model_dump(mode="json"),
    )
    return job_view(await services.schedules.create(draft), None)


@router.get("")
async def list_jobs(
    services: ServicesDep,
    status: Annotated[Literal["pending", "running", "success", "failed", "paused"] | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[dict[str, Any]]:
    schedules, _ = await services.schedules.page(limit, None)
    views = []
    for schedule in schedules:
        if priority and schedule.original.get("priority", "Medium") != priority:
            continue
        last = await services.schedules.executions(schedule.schedule_id, 1)
        view = job_view(schedule, last[0] if last else None)
        if status and view["status"] != status:
            continue
        views.append(view)
    return views


@router.get("/{job_id}")
async def get_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    schedule = await _require_seed_job(services, job_id)
    last = await services.schedules.executions(job_id, 1)
    return job_view(schedule, last[0] if last else None)


@router.put("/{job_id}")
async def update_job(job_id: str, body: Seed003JobUpdate, services: ServicesDep) -> dict[str, Any]:
    current = await _require_seed_job(services, job_id)
    given = body.model_dump(mode="json", exclude_unset=True)
    original = {**current.original, **given}
    changes: dict[str, Any] = {"original": original}
    if body.schedule is not None:
        changes["cron"] = body.schedule
    if body.timezone is not None:
        changes["timezone"] = body.timezone
    if body.name is not None:
        changes["name"] = body.name
    if body.dependencies is not None:
        changes["depends_on"] = body.dependencies
    if {"command", "priority", "retryPolicy", "name"} & set(given):
        command = original.get("command")
        if command is None:
            raise ApiError(422, "validation_error", f"command: job {job_id} was not created with a command")
        try:
            changes["job"] = job_spec(
                command,
                original.get("priority", "Medium"),
                original.get("retryPolicy"),
                original.get("name") or current.name or "",
            )
        except ValueError as error:
            raise ApiError(422, "validation_error", f"command: {error}") from None
    schedule = await services.schedules.update(job_id, changes)
    last = await services.schedules.executions(job_id, 1)
    return job_view(schedule, last[0] if last else None)


@router.delete("/{job_id}")
async def delete_job(job_id: str, services: ServicesDep) -> dict[str, str]:
    await services.schedules.delete(job_id)
    return {"message": "Job deleted successfully", "id": job_id}


@router.get("/{job_id}/status")
async def job_status(job_id: str, services: ServicesDep) -> dict[str, Any]:
    schedule = await _require_seed_job(services, job_id)
    runs = await _runs(services, job_id)
    view = job_view(schedule, runs[0] if runs else None)
    return {
        "jobId": job_id,
        "name": schedule.name,
        "status": view["status"],
        "lastRun": view["lastRun"],
        "nextRun": view["nextRun"],
        **statistics(runs),
    }


@router.get("/{job_id}/history")
async def job_history(
    job_id: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    await _require_seed_job(services, job_id)
    runs = await _runs(services, job_id)
    return {"jobId": job_id, "executions": [run_view(run) for run in runs[:limit]], "statistics": statistics(runs)}


@router.post("/{job_id}/execute", status_code=202)
async def execute_job(job_id: str, services: ServicesDep) -> dict[str, str]:
    execution_id = await services.schedules.trigger(job_id)
    return {"message": "Job execution started", "jobId": job_id, "executionId": execution_id}
