"""Request and response shapes for schedules: canonical `/v1/schedules` and seed 004's `/jobs/{id}`."""

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from services.api.schemas import JobCreate, Strict
from shared.schedules import DEFAULT_CATCH_UP_LIMIT, DEFAULT_MISFIRE_POLICY, MisfirePolicy

CRON_DOC = "cron: 5 fields (minute hour day month weekday) or 6 with leading seconds; names and ranges allowed"


class ScheduleCreate(Strict):
    """POST /v1/schedules: a cron expression, a zone and the job to start at every slot."""

    name: str | None = Field(None, max_length=200)
    cron: str = Field(min_length=1, max_length=200, description=CRON_DOC, examples=["*/5 * * * * *"])
    timezone: str = Field("UTC", max_length=64, description="IANA zone, e.g. Europe/Paris")
    job: JobCreate
    paused: bool = False
    misfirePolicy: MisfirePolicy = Field(
        DEFAULT_MISFIRE_POLICY,
        description="what a slot missed while no scheduler ran does: "
        "catch_up (default: fire each, the latest catchUpLimit), fire_once (the latest only), skip",
    )
    catchUpLimit: int = Field(DEFAULT_CATCH_UP_LIMIT, ge=1, le=10_000)
    dependsOn: list[str] = Field(default_factory=list, max_length=100)


class ScheduleUpdate(Strict):
    name: str | None = Field(None, max_length=200)
    cron: str | None = Field(None, min_length=1, max_length=200, description=CRON_DOC)
    timezone: str | None = Field(None, max_length=64)
    job: JobCreate | None = None
    paused: bool | None = None
    misfirePolicy: MisfirePolicy | None = None
    catchUpLimit: int | None = Field(None, ge=1, le=10_000)
    dependsOn: list[str] | None = Field(None, max_length=100)


class SchedulePublic(BaseModel):
    scheduleId: str
    name: str | None = None
    cron: str
    timezone: str
    job: dict[str, Any]
    paused: bool
    misfirePolicy: str
    catchUpLimit: int
    dependsOn: list[str]
    version: int
    api: str
    createdAt: datetime
    updatedAt: datetime
    activeSince: datetime
    nextFireAt: datetime | None = None


class SchedulesPublic(BaseModel):
    data: list[SchedulePublic]
    count: int
    nextCursor: str | None = None


class TriggerAccepted(BaseModel):
    scheduleId: str
    jobId: str
    message: str = "Job triggered"


# -- seed 004 -------------------------------------------------------------------------------------
class Seed004JobCreate(Strict):
    """Seed 004: `{"schedule": "31 10-15 1 * * MON-FRI", "api": "https://...", "type": "ATLEAST_ONCE"}`."""

    schedule: str = Field(min_length=1, max_length=200, description=CRON_DOC)
    api: AnyHttpUrl
    type: Literal["ATLEAST_ONCE"] = "ATLEAST_ONCE"


class Seed004JobUpdate(Strict):
    schedule: str | None = Field(None, min_length=1, max_length=200)
    api: AnyHttpUrl | None = None
    type: Literal["ATLEAST_ONCE"] | None = None
    isActive: bool | None = None


class Seed004JobCreated(BaseModel):
    jobId: str
    message: str = "Job created successfully"


class Seed004Spec(BaseModel):
    schedule: str
    api: str | None
    type: str


class Seed004Job(BaseModel):
    id: str
    spec: Seed004Spec
    createdAt: int
    updatedAt: int
    isActive: bool


class Seed004Execution(BaseModel):
    id: str
    status: Literal["PENDING", "RUNNING", "RETRYING", "SUCCESS", "FAILED"]
    scheduledAt: int | None
    startedAt: int | None
    completedAt: int | None
    duration: float | None
    httpStatus: int | None
    retryCount: int
    error: str | None = None
    trigger: str | None = None


class Seed004Executions(BaseModel):
    jobId: str
    executions: list[Seed004Execution]
