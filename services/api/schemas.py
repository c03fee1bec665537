"""Request and response shapes: the canonical `/v1` API and the seeds' own shapes.

Field names are camelCase on the wire, as in every seed; the internal `JobSpec` is snake_case.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from shared.events import JobKind
from shared.topics import CAPABILITY_PATTERN

Argument = str | int | float | bool


def _as_strings(values: list[Argument]) -> list[str]:
    # Arguments become argv entries; numbers are accepted for convenience and passed as text.
    return [str(value).lower() if isinstance(value, bool) else str(value) for value in values]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdHocJobCreate(Strict):
    """Seeds 000 and 001: run the configured job script with a name and arguments."""

    jobName: str = Field(min_length=1, max_length=200)
    arguments: list[Argument] = Field(default_factory=list, max_length=1000)

    @field_validator("arguments")
    @classmethod
    def _argument_length(cls, values: list[Argument]) -> list[Argument]:
        if any(len(str(value)) > 10_000 for value in values):
            raise ValueError("each argument must be at most 10000 characters")
        return values

    def argv(self) -> list[str]:
        return _as_strings(self.arguments)


class AdHocJobAccepted(BaseModel):
    jobId: str
    status: str


class RetryPolicyIn(Strict):
    baseSeconds: float = Field(1.0, ge=0, le=86_400)
    maxSeconds: float = Field(3600.0, ge=0, le=7 * 86_400)
    factor: float = Field(2.0, ge=1, le=10)
    jitter: float = Field(0.3, ge=0, le=1)


class JobCreate(Strict):
    """POST /v1/jobs. Either a definition (`definitionKey`, `definitionVersion`, `params`) or an
    execution kind with its target: `native` (program + args), `shell` (command), `http.post` (url)."""

    definitionKey: str | None = Field(None, min_length=1, max_length=200)
    definitionVersion: int | None = Field(None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    kind: JobKind | None = None
    jobName: str | None = Field(None, max_length=200)
    program: str | None = Field(None, min_length=1, max_length=4096)
    args: list[Argument] = Field(default_factory=list, max_length=1000)
    command: str | None = Field(None, min_length=1, max_length=100_000)
    url: AnyHttpUrl | None = None
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    priority: int = Field(0, ge=-1000, le=1000)
    maxAttempts: int | None = Field(None, ge=1, le=100)
    timeoutSeconds: float | None = Field(None, gt=0, le=7 * 86_400)
    retryPolicy: RetryPolicyIn | None = None
    idempotencyKey: str | None = Field(None, min_length=1, max_length=200)
    capability: str | None = Field(None, min_length=1, max_length=100, pattern=CAPABILITY_PATTERN)
    # Native and shell jobs: flag (and optionally kill) a process tree whose peak memory crosses this.
    memoryThresholdBytes: int | None = Field(None, ge=1024 * 1024, le=2**40)
    killOnMemoryThreshold: bool = False
    # When no live executor has the capability: False answers 503 `no_compatible_worker`; True
    # accepts the job, which waits until an executor with that capability starts.
    queueIfNoWorker: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    # Delayed and dependent runs: the scheduler holds the job until runAt/notBefore (the same thing)
    # and until every job in dependsOn has succeeded; it fails as upstream_failed if one fails.
    runAt: datetime | None = None
    notBefore: datetime | None = None
    dependsOn: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("runAt", "notBefore")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-23T10:00:00Z")
        return value


class JobAccepted(BaseModel):
    jobId: str
    status: str
    created: bool = True


class JobCancelAccepted(BaseModel):
    jobId: str
    status: str
    attempt: int


class AttemptPublic(BaseModel):
    attempt: int
    status: str | None = None
    workerId: str | None = None
    startedAt: datetime | None = None
    finishedAt: datetime | None = None
    durationMs: float | None = None
    exitCode: int | None = None
    cpuPercent: float | None = None
    peakRssBytes: int | None = None
    httpStatus: int | None = None
    error: str | None = None


class JobPublic(BaseModel):
    jobId: str
    status: str
    kind: str | None = None
    jobName: str | None = None
    definitionKey: str | None = None
    definitionVersion: int | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=list)
    priority: int = 0
    attempt: int = 1
    maxAttempts: int = 1
    retries: int = 0
    createdAt: datetime | None = None
    startedAt: datetime | None = None
    finishedAt: datetime | None = None
    durationMs: float | None = None
    exitCode: int | None = None
    cpuPercent: float | None = None
    peakRssBytes: int | None = None
    memoryExceeded: bool = False
    httpStatus: int | None = None
    error: str | None = None
    outputTail: str | None = None
    result: Any = None
    workerId: str | None = None
    retryAt: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    attempts: list[AttemptPublic] = Field(default_factory=list)


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int
    nextCursor: str | None = None


class JobEventPublic(BaseModel):
    eventId: str
    type: str
    attempt: int
    occurredAt: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class JobEventsPublic(BaseModel):
    jobId: str
    events: list[JobEventPublic]


class SeedJobListItem(BaseModel):
    """Seed 001's `GET /jobs` entry."""

    jobId: str
    jobName: str | None
    args: list[str]
    status: Literal["queued", "running", "completed", "failed", "crashed", "retrying", "cancelled"]
    retries: int
    exitCode: int | None
    duration: float | None
