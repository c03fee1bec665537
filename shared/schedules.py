"""Schedules: the one model behind `/v1/schedules`, seed 004's `/jobs` and seed 003's `/api/jobs`,
the events that carry it on the compacted `schedules` topic, and the identity of a fire.

The API validates and publishes `ScheduleUpserted` / `ScheduleDeleted` keyed by schedule_id; the
scheduler that owns the key's partition fires it. A fire is identified by `(schedule_id, slot)`:
its job id and event id are derived from that pair, so a slot fired twice (failover) is the same
job and attempt, which the executor's lease and the projection's event-id dedupe drop.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from shared.errors import UndecodableMessage
from shared.events import Frozen, JobSpec, utcnow

MisfirePolicy = Literal["skip", "fire_once", "catch_up"]
DEFAULT_MISFIRE_POLICY: MisfirePolicy = "catch_up"
DEFAULT_CATCH_UP_LIMIT = 100

# Labels every fired job carries (the `jobs` projection has an index on labels.schedule_id).
LABEL_SCHEDULE = "schedule_id"
LABEL_SLOT = "slot"
LABEL_TRIGGER = "trigger"  # "cron" or "manual"


class Schedule(Frozen):
    """A cron schedule and the job it starts. `version` increases with every change."""

    schedule_id: str
    version: int = Field(1, ge=1)
    name: str | None = None
    cron: str
    timezone: str = "UTC"
    job: JobSpec
    paused: bool = False
    misfire_policy: MisfirePolicy = DEFAULT_MISFIRE_POLICY
    catch_up_limit: int = Field(DEFAULT_CATCH_UP_LIMIT, ge=1, le=10_000)
    depends_on: list[str] = Field(default_factory=list)
    # Slots at or before this instant never fire: set on create, resume and cron/zone change.
    active_since: datetime
    created_at: datetime
    updated_at: datetime
    api: Literal["v1", "seed-003", "seed-004"] = "v1"
    # The request as the seed API received it, to answer in its own shape.
    original: dict[str, Any] = Field(default_factory=dict)


class ScheduleUpserted(Frozen):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: Literal[1] = 1
    type: Literal["schedule.upserted"] = "schedule.upserted"
    schedule_id: str
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str
    schedule: Schedule


class ScheduleDeleted(Frozen):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: Literal[1] = 1
    type: Literal["schedule.deleted"] = "schedule.deleted"
    schedule_id: str
    version: int
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str


ScheduleEvent = Annotated[ScheduleUpserted | ScheduleDeleted, Field(discriminator="type")]
_schedule_event: TypeAdapter[Any] = TypeAdapter(ScheduleEvent)


def decode_schedule_event(raw: bytes) -> ScheduleUpserted | ScheduleDeleted:
    try:
        return _schedule_event.validate_json(raw)
    except ValidationError as error:
        raise UndecodableMessage(str(error)) from error


def slot_label(slot: float) -> str:
    return datetime.fromtimestamp(slot, UTC).isoformat().replace("+00:00", "Z")


def fire_ids(schedule_id: str, slot: float) -> tuple[str, str]:
    """(job id, event id) of the fire of `schedule_id` at `slot`, both derived from one sha256.

    The job id has the UUIDv7 layout (the slot's milliseconds, then hash bits), so it sorts by slot
    like every other job id; the event id is a name-based UUID (version 8 layout). Built as text,
    without uuid objects: the scheduler makes ten thousand of these right before a slot.
    """
    millis = round(slot * 1000)
    digest = hashlib.sha256(f"{schedule_id}@{millis}".encode()).hexdigest()
    stamp = f"{millis & 0xFFFFFFFFFFFF:012x}"
    job_variant, event_variant = _VARIANT[int(digest[3], 16) & 3], _VARIANT[int(digest[48], 16) & 3]
    job_id = f"{stamp[:8]}-{stamp[8:]}-7{digest[0:3]}-{job_variant}{digest[4:7]}-{digest[7:19]}"
    event_id = f"{digest[32:40]}-{digest[40:44]}-8{digest[45:48]}-{event_variant}{digest[49:52]}-{digest[52:64]}"
    return job_id, event_id


_VARIANT = "89ab"


def fire_job_id(schedule_id: str, slot: float) -> str:
    return fire_ids(schedule_id, slot)[0]


def fire_event_id(schedule_id: str, slot: float) -> uuid.UUID:
    return uuid.UUID(fire_ids(schedule_id, slot)[1])
