"""Batch submission: `POST /v1/jobs/batch` accepts up to 1,000 jobs in one request.

Every job is validated before any is accepted (one bad job rejects the batch with a 422 naming its
index). Accepted jobs share one outbox write and one burst of Kafka produces, which is what makes a
batch cheaper per job than single requests.
"""

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schemas import JobCreate
from services.api.specs import spec_from_request
from services.api.workers import require_live_worker

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
MAX_BATCH = 1000


class JobsBatchCreate(BaseModel):
    jobs: list[JobCreate] = Field(min_length=1, max_length=MAX_BATCH)


class BatchItem(BaseModel):
    jobId: str | None = None
    status: str
    created: bool = True
    error: dict | None = None


class JobsBatchAccepted(BaseModel):
    data: list[BatchItem]
    count: int


@router.post("/batch", response_model=JobsBatchAccepted, status_code=201)
async def create_jobs(body: JobsBatchCreate, services: ServicesDep, request: Request) -> JobsBatchAccepted:
    specs = []
    default_retry = services.settings.default_retry_policy()
    for index, job in enumerate(body.jobs):
        try:
            specs.append(spec_from_request(job, request.app.state.definitions.registry, default_retry))
            await require_live_worker(services, specs[-1], job.queueIfNoWorker)
        except ApiError as error:
            raise ApiError(error.status_code, error.code, f"jobs.{index}: {error.detail}", index=index) from error
    outcomes = await asyncio.gather(
        *(
            services.submitter.submit(spec, job.idempotencyKey, job.model_dump(mode="json", exclude={"idempotencyKey"}))
            for spec, job in zip(specs, body.jobs, strict=True)
        ),
        return_exceptions=True,
    )
    items = []
    for outcome in outcomes:
        if isinstance(outcome, ApiError):
            items.append(
                BatchItem(
                    status="rejected",
                    created=False,
                    error={"code": outcome.code, "message": str(outcome.detail), **outcome.extra},
                )
            )
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            items.append(BatchItem(jobId=outcome.job_id, status="queued", created=outcome.created))
    return JobsBatchAccepted(data=items, count=len(items))
