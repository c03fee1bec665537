"""The canonical schedules API: `/v1/schedules`."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import ServicesDep
from services.api.schedule_schemas import (
    ScheduleCreate,
    SchedulePublic,
    SchedulesPublic,
    ScheduleUpdate,
    TriggerAccepted,
)
from services.api.schedule_views import schedule_public
from services.api.schedules import ScheduleDraft
from services.api.schemas import JobCreate, JobsPublic
from services.api.specs import spec_from_request
from services.api.views import job_public
from shared.definitions import registry
from shared.events import JobSpec

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


def job_spec(body: JobCreate, services: ServicesDep) -> JobSpec:
    return spec_from_request(body, registry, services.settings.default_retry_policy())


@router.post("", response_model=SchedulePublic, status_code=201)
async def create_schedule(body: ScheduleCreate, services: ServicesDep) -> SchedulePublic:
    draft = ScheduleDraft(
        cron=body.cron,
        timezone=body.timezone,
        job=job_spec(body.job, services),
        name=body.name,
        paused=body.paused,
        misfire_policy=body.misfirePolicy,
        catch_up_limit=body.catchUpLimit,
        depends_on=body.dependsOn,
    )
    return schedule_public(await services.schedules.create(draft, cron_field="cron"))


@router.get("", response_model=SchedulesPublic)
async def list_schedules(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> SchedulesPublic:
    schedules, next_cursor = await services.schedules.page(limit, cursor)
    return SchedulesPublic(data=[schedule_public(s) for s in schedules], count=len(schedules), nextCursor=next_cursor)


@router.get("/{schedule_id}", response_model=SchedulePublic)
async def get_schedule(schedule_id: str, services: ServicesDep) -> SchedulePublic:
    return schedule_public(await services.schedules.require(schedule_id))


@router.patch("/{schedule_id}", response_model=SchedulePublic)
async def update_schedule(schedule_id: str, body: ScheduleUpdate, services: ServicesDep) -> SchedulePublic:
    changes: dict[str, Any] = {}
    fields = body.model_fields_set
    for source, target in (
        ("name", "name"),
        ("cron", "cron"),
        ("timezone", "timezone"),
        ("paused", "paused"),
        ("misfirePolicy", "misfire_policy"),
        ("catchUpLimit", "catch_up_limit"),
        ("dependsOn", "depends_on"),
    ):
        value = getattr(body, source)
        if source in fields and (value is not None or source == "name"):
            changes[target] = value
    if body.job is not None:
        changes["job"] = job_spec(body.job, services)
    return schedule_public(await services.schedules.update(schedule_id, changes, cron_field="cron"))


@router.post("/{schedule_id}/pause", response_model=SchedulePublic)
async def pause_schedule(schedule_id: str, services: ServicesDep) -> SchedulePublic:
    return schedule_public(await services.schedules.update(schedule_id, {"paused": True}))


@router.post("/{schedule_id}/resume", response_model=SchedulePublic)
async def resume_schedule(schedule_id: str, services: ServicesDep) -> SchedulePublic:
    return schedule_public(await services.schedules.update(schedule_id, {"paused": False}))


@router.delete("/{schedule_id}")
async def delete_schedule(schedule_id: str, services: ServicesDep) -> dict[str, Any]:
    await services.schedules.delete(schedule_id)
    return {"scheduleId": schedule_id, "deleted": True}


@router.post("/{schedule_id}/trigger", response_model=TriggerAccepted, status_code=202)
async def trigger_schedule(schedule_id: str, services: ServicesDep) -> TriggerAccepted:
    return TriggerAccepted(scheduleId=schedule_id, jobId=await services.schedules.trigger(schedule_id))


@router.get("/{schedule_id}/executions", response_model=JobsPublic)
async def schedule_executions(
    schedule_id: str,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JobsPublic:
    await services.schedules.require(schedule_id)
    documents = await services.schedules.executions(schedule_id, limit + 1, cursor)
    next_cursor = documents[limit - 1]["_id"] if len(documents) > limit else None
    documents = documents[:limit]
    return JobsPublic(data=[job_public(doc) for doc in documents], count=len(documents), nextCursor=next_cursor)
