"""The seeds' `/jobs` shapes on one path.

`POST /jobs` carries two different bodies in the seeds: seed 000/001's ad-hoc run
(`{"jobName", "arguments"}`) and seed 004's HTTP schedule (`{"schedule", "api", "type"}`). They are
told apart by their fields.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.routes.seed_schedules import create_seed_004
from services.api.schedule_schemas import Seed004JobCreate
from services.api.schemas import AdHocJobAccepted, AdHocJobCreate, SeedJobListItem
from services.api.views import seed_list_item
from shared.events import JobSpec, RetryPolicy

router = APIRouter(tags=["seed compatibility"])

AD_HOC_EXAMPLE = {"jobName": "task-123", "arguments": ["input1", "output2"]}
SCHEDULE_EXAMPLE = {"schedule": "31 10-15 1 * * MON-FRI", "api": "https://localhost:4444/foo", "type": "ATLEAST_ONCE"}


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {error}") from error


def _validate(model: type, body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from error


def ad_hoc_spec(body: AdHocJobCreate, max_retries: int, retry_delay_seconds: float) -> JobSpec:
    # Seeds 000/001 retry after a fixed delay: factor 1 and no jitter.
    return JobSpec(
        kind="native",
        job_name=body.jobName,
        args=body.argv(),
        max_attempts=max_retries + 1,
        retry=RetryPolicy(
            base_seconds=retry_delay_seconds, max_seconds=max(retry_delay_seconds, 1), factor=1, jitter=0
        ),
        capability="script",
        labels={"api": "seed-001"},
    )


@router.post(
    "/jobs",
    status_code=200,
    response_model=AdHocJobAccepted,
    openapi_extra={"requestBody": {"content": {"application/json": {"example": AD_HOC_EXAMPLE}}}},
)
async def start_job(request: Request, services: ServicesDep) -> Any:
    """Seed 000/001: `{"jobName", "arguments"}` starts a native job with the configured script.
    Seed 004: `{"schedule", "api", "type"}` creates an HTTP POST schedule and answers `{"jobId", "message"}`."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object")
    if "jobName" in body or "arguments" in body:
        create = _validate(AdHocJobCreate, body)
        spec = ad_hoc_spec(create, services.settings.default_max_retries, services.settings.retry_delay_seconds)
        accepted = await services.submitter.submit(spec)
        return AdHocJobAccepted(jobId=accepted.job_id, status="queued")
    if "schedule" in body or "api" in body:
        create = _validate(Seed004JobCreate, body)
        created = await create_seed_004(create, services.schedules, services.settings.http_job_timeout_seconds)
        return JSONResponse(created.model_dump(), status_code=201)
    raise ApiError(
        422,
        "unknown_body_shape",
        'POST /jobs takes {"jobName", "arguments"} (ad-hoc run) or {"schedule", "api", "type"} (HTTP schedule)',
        acceptedShapes=[AD_HOC_EXAMPLE, SCHEDULE_EXAMPLE],
    )


@router.get("/jobs", response_model=list[SeedJobListItem])
async def list_jobs(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> list[SeedJobListItem]:
    """Seed 001: every job with status, retries, exit code and duration (newest first, paged)."""
    documents, _ = await services.jobs.page({}, limit, cursor)
    return [seed_list_item(doc) for doc in documents]
