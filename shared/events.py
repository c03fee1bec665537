"""The event and command models that travel on Kafka, decoded in one place.

Every message is a frozen, versioned pydantic model with the envelope from DESIGN.md. A breaking
change is a new `schema_version` plus an upcaster in `decode`, never an edit in place.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import UndecodableMessage


def utcnow() -> datetime:
    return datetime.now(UTC)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(Frozen):
    """How failed attempts are retried: `delay = min(max, base * factor**(attempt-1))` +/- jitter."""

    base_seconds: float = Field(1.0, ge=0, le=86_400)
    max_seconds: float = Field(3600.0, ge=0, le=7 * 86_400)
    factor: float = Field(2.0, ge=1, le=10)
    jitter: float = Field(0.3, ge=0, le=1, description="fraction of the delay added or removed at random")


JobKind = Literal["native", "shell", "http.post", "python"]


class JobSpec(Frozen):
    """What to run and how. Carried by every `JobRequested` so any executor can run it."""

    kind: JobKind
    job_name: str | None = None
    # native: program + argv, never through a shell. program None = the executor's JOB_SCRIPT_PATH,
    # called with job_name then args (seeds 000 and 001).
    program: str | None = None
    args: list[str] = Field(default_factory=list)
    # shell: only when a definition explicitly says it is a shell job.
    command: str | None = None
    # http.post
    url: str | None = None
    http_body: Any = None
    http_headers: dict[str, str] = Field(default_factory=dict)
    # python definitions
    definition_key: str | None = None
    definition_version: int | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    priority: int = 0
    max_attempts: int = Field(1, ge=1, le=100)
    timeout_seconds: float | None = Field(None, gt=0)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    capability: str | None = None
    memory_threshold_bytes: int | None = None
    kill_on_memory_threshold: bool = False
    labels: dict[str, str] = Field(default_factory=dict)


class Envelope(Frozen):
    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    job_id: str
    attempt: int = Field(1, ge=1)
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str


class JobRequested(Envelope):
    type: Literal["job.requested"] = "job.requested"
    spec: JobSpec
    submitted_at: datetime = Field(default_factory=utcnow)
    reason: Literal["submitted", "retry", "scheduled", "dlq_retry", "recovered", "orphaned"] = "submitted"


class JobStarted(Envelope):
    type: Literal["job.started"] = "job.started"
    worker_id: str
    pid: int | None = None


Outcome = Literal["succeeded", "failed", "timed_out", "cancelled", "crashed"]
# What the job as a whole does after this attempt.
Disposition = Literal["succeeded", "retry", "failed", "dead_lettered", "cancelled"]


class JobFinished(Envelope):
    type: Literal["job.finished"] = "job.finished"
    worker_id: str | None = None
    # When the attempt started (its JobStarted time), so the outcome alone tells the whole attempt:
    # topics are consumed independently and the start event may be folded after this one.
    started_at: datetime | None = None
    outcome: Outcome
    disposition: Disposition
    exit_code: int | None = None
    duration_ms: float | None = None
    cpu_percent: float | None = None
    peak_rss_bytes: int | None = None
    memory_exceeded: bool = False
    http_status: int | None = None
    error: str | None = None
    output_tail: str | None = None
    result: Any = None
    # Set when disposition == "retry": the scheduler re-requests the next attempt at retry_at.
    retry_at: datetime | None = None
    spec: JobSpec | None = None


class JobProgressed(Envelope):
    """Progress or hook event emitted while an attempt runs (`ctx.emit_event`)."""

    type: Literal["job.progressed"] = "job.progressed"
    name: str
    data: dict[str, Any] = Field(default_factory=dict)


class CancelJob(Envelope):
    """Command: stop the job. A queued attempt never starts; a running one is terminated."""

    type: Literal["job.cancel"] = "job.cancel"
    reason: str = "requested"


class WorkerHeartbeat(Frozen):
    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    type: Literal["worker.heartbeat"] = "worker.heartbeat"
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = "executor"
    worker_id: str
    host: str
    pid: int
    version: str
    capabilities: list[str]
    slots: int
    running_job_ids: list[str]
    load: float = 0.0
    state: Literal["running", "draining", "stopped"] = "running"
    # When this process started: a restart under the same worker_id is a new incarnation, whose
    # predecessor's attempts the worker registry treats as orphaned.
    started_at: datetime | None = None


class WorkerCommand(Frozen):
    """Base of commands addressed to one executor on `job-control` (keyed by worker_id)."""

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = "api"
    worker_id: str


class DrainWorker(WorkerCommand):
    """Command: the executor takes no new jobs, finishes its running ones, then exits."""

    type: Literal["worker.drain"] = "worker.drain"
    reason: str = "requested"


class ReleaseWorker(WorkerCommand):
    """Command (seed 003's release): record a manual job outcome in the worker's failure tracking."""

    type: Literal["worker.release"] = "worker.release"
    job_success: bool = True


class DefinitionRegistered(Frozen):
    """A job definition's metadata, published by `jobstream register-definitions` to the compacted
    `definitions` topic (keyed `key@version`, so the latest declaration of each one is kept)."""

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    type: Literal["definition.registered"] = "definition.registered"
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = "cli"
    key: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    default_max_attempts: int = Field(1, ge=1, le=100)
    timeout_seconds: float | None = None
    concurrency_limit: int | None = None
    capability: str = "python"
    retry: RetryPolicy | None = None
    hooks: list[str] = Field(default_factory=list)
    description: str = ""
    params_schema: dict[str, Any] = Field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"


class JobAlerted(Envelope):
    """An alert raised by analytics when a job fails or is dead-lettered (topic `alerts`).
    `alert_id` is deterministic, so sinks can drop a redelivered alert."""

    type: Literal["job.alerted"] = "job.alerted"
    alert_id: str
    severity: Literal["warning", "error", "critical"]
    reason: Literal["job_failed", "job_dead_lettered"]
    message: str
    job_name: str | None = None
    definition_key: str | None = None
    error: str | None = None
    exit_code: int | None = None


class JobDeferred(Envelope):
    """Command to the scheduler: hold `request` until `not_before` and until every job in
    `depends_on` has succeeded; if one of them fails, the job fails as `upstream_failed`."""

    type: Literal["job.deferred"] = "job.deferred"
    request: JobRequested
    not_before: datetime | None = None
    depends_on: list[str] = Field(default_factory=list)


JobEvent = Annotated[JobRequested | JobStarted | JobFinished | JobProgressed | CancelJob, Field(discriminator="type")]
AnyEvent = Annotated[
    JobRequested
    | JobStarted
    | JobFinished
    | JobProgressed
    | CancelJob
    | WorkerHeartbeat
    | DrainWorker
    | ReleaseWorker
    | DefinitionRegistered
    | JobAlerted
    | JobDeferred,
    Field(discriminator="type"),
]
_any_event: TypeAdapter[Any] = TypeAdapter(AnyEvent)


def encode(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


def decode(raw: bytes) -> Any:
    """Decode one message into its event model, or raise `UndecodableMessage` with the reason."""
    try:
        return _any_event.validate_json(raw)
    except ValidationError as error:
        raise UndecodableMessage(str(error)) from error


def dump(event: BaseModel) -> dict[str, Any]:
    """JSON-compatible dict (datetimes as ISO strings), for MongoDB documents and API bodies."""
    return event.model_dump(mode="json")
