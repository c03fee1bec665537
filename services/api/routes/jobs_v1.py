"""The canonical jobs API: `/v1/jobs`."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schemas import JobAccepted, JobCreate, JobEventsPublic, JobPublic, JobsPublic
from services.api.specs import spec_from_request
from services.api.views import event_public, job_public
from services.api.workers import require_live_worker

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
# Stored times have millisecond precision, so a fast attempt's events can share a timestamp; the
# lifecycle order breaks the tie.
_LIFECYCLE_ORDER = {"job.requested": 0, "job.started": 1, "job.finished": 3}


def _event_order(entry: dict) -> tuple:
    return entry["attempt"], entry["occurred_at"], _LIFECYCLE_ORDER.get(entry["type"], 2)


JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled", "dead_lettered")


async def require_known_jobs(services: ServicesDep, job_ids: list[str]) -> None:
    unknown = [job_id for job_id in dict.fromkeys(job_ids) if await services.jobs.get(job_id) is None]
    if unknown:
        raise ApiError(
            422,
            "unknown_dependency",
            f"dependsOn: unknown job ids {', '.join(unknown)}",
            unknown=unknown,
            details=[{"field": "dependsOn"}],
        )


@router.post("", response_model=JobAccepted, status_code=201)
async def create_job(body: JobCreate, services: ServicesDep, response: Response, request: Request) -> JobAccepted:
    definitions = request.app.state.definitions.registry
    spec = spec_from_request(body, definitions, services.settings.default_retry_policy())
    await require_live_worker(services, spec, body.queueIfNoWorker)
    await require_known_jobs(services, body.dependsOn)
    accepted = await services.submitter.submit(
        spec,
        idempotency_key=body.idempotencyKey,
        body=body.model_dump(mode="json", exclude={"idempotencyKey"}),
        not_before=body.runAt or body.notBefore,
        depends_on=body.dependsOn,
    )
    if not accepted.created:
        response.status_code = 200
        existing = await services.jobs.get(accepted.job_id)
        status = (existing or {}).get("status") or "queued"
        return JobAccepted(jobId=accepted.job_id, status=status, created=False)
    return JobAccepted(jobId=accepted.job_id, status="queued")


@router.get("", response_model=JobsPublic)
async def list_jobs(
    services: ServicesDep,
    status: Annotated[Literal[JOB_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
    definitionKey: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    order: Annotated[Literal["desc", "asc"], Query()] = "desc",
) -> JobsPublic:
    filters: dict[str, str] = {}
    if status:
        filters["status"] = status
    if definitionKey:
        filters["definition_key"] = definitionKey
    documents, next_cursor = await services.jobs.page(filters, limit, cursor, descending=order == "desc")
    return JobsPublic(data=[job_public(doc) for doc in documents], count=len(documents), nextCursor=next_cursor)


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: str, services: ServicesDep) -> JobPublic:
    document = await services.jobs.get(job_id)
    if document is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    return job_public(document)


@router.get("/{job_id}/events", response_model=JobEventsPublic)
async def job_events(job_id: str, services: ServicesDep) -> JobEventsPublic:
    document = await services.jobs.get(job_id)
    if document is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    entries = sorted(document.get("events", []), key=_event_order)
    return JobEventsPublic(jobId=job_id, events=[event_public(entry) for entry in entries])
