"""Seed 002's dead-letter queue: `GET /v1/dlq`, `GET /v1/dlq/{id}`, `POST /v1/dlq/{id}/retry`.
A DLQ entry's id is its job id."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.api.dlq import DeadLetters
from services.api.schemas import AttemptPublic, JobPublic
from services.api.views import job_public

router = APIRouter(prefix="/v1/dlq", tags=["dead-letter queue"])


class DlqRetry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    maxAttempts: int | None = Field(None, ge=1, le=100, description="attempts for this retry (default: as first given)")


class DlqEntryPublic(BaseModel):
    dlqJobId: str
    jobId: str
    definitionKey: str | None = None
    definitionVersion: int | None = None
    kind: str | None = None
    jobName: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    attempts: int
    maxAttempts: int
    error: str | None = None
    exitCode: int | None = None
    deadLetteredAt: datetime | None = None
    createdAt: datetime | None = None
    history: list[AttemptPublic] = Field(default_factory=list)


class DlqPagePublic(BaseModel):
    data: list[DlqEntryPublic]
    count: int
    limit: int
    offset: int
    nextOffset: int | None = None


class DlqRetryAccepted(BaseModel):
    jobId: str
    status: str
    attempt: int
    maxAttempts: int


def dead_letters(request: Request) -> DeadLetters:
    state = request.app.state
    if getattr(state, "dead_letters", None) is None:
        services = state.services
        state.dead_letters = DeadLetters(services.db, services.producer)
    return state.dead_letters


def entry(doc: dict[str, Any]) -> DlqEntryPublic:
    job: JobPublic = job_public(doc)
    return DlqEntryPublic(
        dlqJobId=job.jobId,
        jobId=job.jobId,
        definitionKey=job.definitionKey,
        definitionVersion=job.definitionVersion,
        kind=job.kind,
        jobName=job.jobName,
        params=job.params,
        attempts=job.attempt,
        maxAttempts=job.maxAttempts,
        error=job.error,
        exitCode=job.exitCode,
        deadLetteredAt=doc.get("dead_lettered_at") or job.finishedAt,
        createdAt=job.createdAt,
        history=job.attempts,
    )


@router.get("", response_model=DlqPagePublic)
async def list_dead_letters(
    request: Request,
    definitionKey: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> DlqPagePublic:
    documents = await dead_letters(request).page(definitionKey, limit, offset)
    return DlqPagePublic(
        data=[entry(doc) for doc in documents],
        count=len(documents),
        limit=limit,
        offset=offset,
        nextOffset=offset + limit if len(documents) == limit else None,
    )


@router.get("/{job_id}", response_model=DlqEntryPublic)
async def get_dead_letter(job_id: str, request: Request) -> DlqEntryPublic:
    return entry(await dead_letters(request).get(job_id))


@router.post("/{job_id}/retry", response_model=DlqRetryAccepted, status_code=202)
async def retry_dead_letter(
    job_id: str, request: Request, body: Annotated[DlqRetry | None, Body()] = None
) -> DlqRetryAccepted:
    requested = await dead_letters(request).retry(job_id, body.maxAttempts if body else None)
    return DlqRetryAccepted(
        jobId=job_id, status="queued", attempt=requested.attempt, maxAttempts=requested.spec.max_attempts
    )
