"""The canonical jobs API: `/v1/jobs`."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schemas import JobAccepted, JobCreate, JobEventsPublic, JobPublic, JobsPublic
from services.api.views import event_public, job_public
from shared.definitions import registry
from shared.events import JobSpec, RetryPolicy

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled", "dead_lettered")


def spec_from_request(body: JobCreate) -> JobSpec:
    retry = RetryPolicy(
        base_seconds=body.retryPolicy.baseSeconds, max_seconds=body.retryPolicy.maxSeconds,
        factor=body.retryPolicy.factor, jitter=body.retryPolicy.jitter,
    ) if body.retryPolicy else RetryPolicy()
    common = dict(
        priority=body.priority, timeout_seconds=body.timeoutSeconds, retry=retry,
        capability=body.capability, labels=body.labels, job_name=body.jobName,
    )
    if body.definitionKey is not None:
        definition = registry.get(body.definitionKey, body.definitionVersion)
        if definition is None:
            versions = registry.versions(body.definitionKey)
            raise ApiError(
                404, "unknown_definition",
                f"no definition {body.definitionKey}@{body.definitionVersion or 'latest'}",
                knownVersions=versions,
            )
        return JobSpec(
            kind="python", definition_key=definition.key, definition_version=definition.version,
            params=body.params, max_attempts=body.maxAttempts or definition.default_max_attempts,
            **{**common, "timeout_seconds": body.timeoutSeconds or definition.timeout_seconds,
               "capability": body.capability or definition.capability},
        )
    if body.kind == "native":
        if not body.program:
            raise ApiError(422, "validation_error", "program: required for kind 'native'", details=[{"field": "program"}])
        return JobSpec(kind="native", program=body.program, args=[str(a) for a in body.args],
                       max_attempts=body.maxAttempts or 1, **common)
    if body.kind == "shell":
        if not body.command:
            raise ApiError(422, "validation_error", "command: required for kind 'shell'", details=[{"field": "command"}])
        return JobSpec(kind="shell", command=body.command, max_attempts=body.maxAttempts or 1,
                       **{**common, "capability": body.capability or "shell"})
    if body.kind == "http.post":
        if body.url is None:
            raise ApiError(422, "validation_error", "url: required for kind 'http.post'", details=[{"field": "url"}])
        return JobSpec(kind="http.post", url=str(body.url), http_body=body.body, http_headers=body.headers,
                       max_attempts=body.maxAttempts or 1, **{**common, "capability": body.capability or "http"})
    raise ApiError(
        422, "validation_error", "give either definitionKey or kind (native, shell, http.post)",
        details=[{"field": "definitionKey"}, {"field": "kind"}],
    )


@router.post("", response_model=JobAccepted, status_code=201)
async def create_job(body: JobCreate, services: ServicesDep, response: Response) -> JobAccepted:
    spec = spec_from_request(body)
    accepted = await services.submitter.submit(
        spec, idempotency_key=body.idempotencyKey, body=body.model_dump(mode="json", exclude={"idempotencyKey"})
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
    entries = sorted(document.get("events", []), key=lambda entry: (entry["occurred_at"], entry["attempt"]))
    return JobEventsPublic(jobId=job_id, events=[event_public(entry) for entry in entries])
