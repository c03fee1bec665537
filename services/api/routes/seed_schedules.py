"""Seed 004's schedule views on `/jobs/{id}`: update, get, delete, trigger, executions.

`POST /jobs` with `{"schedule", "api", "type"}` is in seed_jobs.py (it shares the path with seed
001's ad-hoc body). A seed 004 job is a schedule whose job is an HTTP POST to `api`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import ServicesDep
from services.api.schedule_schemas import (
    Seed004Executions,
    Seed004Job,
    Seed004JobCreate,
    Seed004JobCreated,
    Seed004JobUpdate,
)
from services.api.schedule_views import seed_004_execution, seed_004_job, seed_004_job_spec
from services.api.schedules import ScheduleDraft, ScheduleService

router = APIRouter(tags=["seed compatibility"])


async def create_seed_004(
    body: Seed004JobCreate, schedules: ScheduleService, timeout_seconds: float
) -> Seed004JobCreated:
    draft = ScheduleDraft(
        cron=body.schedule,
        job=seed_004_job_spec(str(body.api), timeout_seconds),
        api="seed-004",
        original=body.model_dump(mode="json"),
    )
    schedule = await schedules.create(draft)
    return Seed004JobCreated(jobId=schedule.schedule_id)


@router.put("/jobs/{job_id}", response_model=Seed004Job)
async def update_job(job_id: str, body: Seed004JobUpdate, services: ServicesDep) -> Seed004Job:
    current = await services.schedules.require(job_id)
    changes: dict[str, Any] = {}
    if body.schedule is not None:
        changes["cron"] = body.schedule
    if body.api is not None:
        changes["job"] = current.job.model_copy(update={"url": str(body.api)})
    if body.isActive is not None:
        changes["paused"] = not body.isActive
    if body.type is not None:
        changes["original"] = {**current.original, "type": body.type}
    return seed_004_job(await services.schedules.update(job_id, changes))


@router.get("/jobs/{job_id}", response_model=Seed004Job)
async def get_job(job_id: str, services: ServicesDep) -> Seed004Job:
    return seed_004_job(await services.schedules.require(job_id))


@router.delete("/jobs/{job_id}")
async def delete_job(job_id: str, services: ServicesDep) -> dict[str, str]:
    await services.schedules.delete(job_id)
    return {"message": "Job deleted successfully"}


@router.post("/jobs/{job_id}/trigger", status_code=202)
async def trigger_job(job_id: str, services: ServicesDep) -> dict[str, str]:
    execution_id = await services.schedules.trigger(job_id)
    return {"message": "Job triggered", "executionId": execution_id}


@router.get("/jobs/{job_id}/executions", response_model=Seed004Executions)
async def job_executions(
    job_id: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 10
) -> Seed004Executions:
    await services.schedules.require(job_id)
    documents = await services.schedules.executions(job_id, limit)
    return Seed004Executions(jobId=job_id, executions=[seed_004_execution(doc) for doc in documents])
