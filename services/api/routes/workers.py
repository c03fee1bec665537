"""Workers: seed 003's `/api/workers` API and the canonical `/v1/workers`.

Reads come from the `workers` projection (the worker registry writes it). Commands go out on
`job-control`: drain (`DrainWorker`) and seed 003's release (`ReleaseWorker`). A manual assignment
(`POST /api/workers/assign`) checks the capability and pins the queued job to that worker by routing
it to the worker's own capability `worker.<id>`.

Seed 003 answers errors as `{"error": "<message>", ...}`; its paths keep that shape (with a `code`).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.workers import cluster_stats, effective, worker_public
from shared import kafka, mongo, topics
from shared.events import DrainWorker, JobRequested, JobSpec, ReleaseWorker
from shared.routing import pinned_capability

seed = APIRouter(prefix="/api/workers", tags=["workers (seed 003)"])
canonical = APIRouter(prefix="/v1/workers", tags=["workers"])
PRODUCER = "api"


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workerId: str = Field(min_length=1, max_length=200)
    jobId: str = Field(min_length=1, max_length=200)


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobSuccess: bool = True


class DrainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("requested", max_length=500)


def seed_error(status: int, code: str, message: str, **fields: Any) -> JSONResponse:
    return JSONResponse({"error": message, "code": code, **fields}, status_code=status)


def _now() -> datetime:
    return datetime.now(UTC)


async def _publish(services: Any, command: Any) -> None:
    try:
        await (await kafka.publish(services.producer, topics.JOB_CONTROL, command))
    except Exception as error:
        raise ApiError(503, "unavailable", f"the broker did not take the command: {error}") from error


# -- seed 003 ----------------------------------------------------------------------------------
@seed.get("")
async def list_workers(services: ServicesDep) -> dict[str, Any]:
    """Every worker with cluster statistics and which workers have each capability."""
    workers, now, timing = await services.workers.all(), _now(), services.workers.timing
    public = [worker_public(doc, now, timing) for doc in workers]
    matrix: dict[str, list[str]] = {}
    for worker in public:
        for capability in worker["capabilities"]:
            matrix.setdefault(capability, []).append(worker["id"])
    stats = cluster_stats(workers, now, timing)
    return {"workers": public, "count": len(public), "clusterStatus": stats["clusterStatus"], "capabilities": matrix}


@seed.get("/stats")
async def stats(services: ServicesDep) -> dict[str, Any]:
    return cluster_stats(await services.workers.all(), _now(), services.workers.timing)


@seed.get("/capability/{capability}")
async def by_capability(capability: str, services: ServicesDep) -> dict[str, Any]:
    compatible = await services.workers.compatibility(capability)
    now, timing = _now(), services.workers.timing
    workers = [
        worker_public(doc, now, timing)
        for doc in await services.workers.all()
        if capability in (doc.get("capabilities") or [])
    ]
    return {
        "capability": capability,
        "workers": workers,
        "count": len(workers),
        "activeWorkers": compatible.live,
        "availableWorkers": compatible.available,
    }


@seed.get("/{worker_id}", response_model=None)
async def get_worker(worker_id: str, services: ServicesDep) -> dict[str, Any] | JSONResponse:
    document = await services.workers.get(worker_id)
    if document is None:
        return seed_error(404, "worker_not_found", f"Worker {worker_id} not found")
    return worker_public(document, _now(), services.workers.timing)


@seed.post("/assign", response_model=None)
async def assign(body: AssignBody, services: ServicesDep) -> dict[str, Any] | JSONResponse:
    """Pin a queued job to a worker that has the job's capability and a free slot."""
    worker = await services.workers.get(body.workerId)
    if worker is None:
        return seed_error(404, "worker_not_found", f"Worker {body.workerId} not found")
    request = await services.db[mongo.JOB_REQUESTS].find_one({"_id": body.jobId})
    job = await services.jobs.get(body.jobId)
    if request is None or job is None:
        return seed_error(
            404, "job_not_found", f"Job {body.jobId} not found (only jobs submitted through the API can be assigned)"
        )
    spec = JobSpec.model_validate(request["request"]["spec"])
    needed = spec.capability or spec.kind
    compatible = await services.workers.compatibility(needed)
    if spec.capability and spec.capability not in (worker.get("capabilities") or []):
        return seed_error(
            400,
            "capability_mismatch",
            f"Worker {body.workerId} doesn't support '{needed}' commands",
            **compatible.error_fields(),
        )
    if body.workerId not in compatible.available and spec.capability:
        status = effective(worker, _now(), services.workers.timing)[0]
        return seed_error(
            409,
            "worker_unavailable",
            f"Worker {body.workerId} is {status} and cannot take a job now",
            **compatible.error_fields(),
        )
    if (job.get("status") or "queued") != "queued":
        return seed_error(409, "job_already_started", f"Job {body.jobId} is already {job.get('status')}")
    pinned = spec.model_copy(update={"capability": pinned_capability(body.workerId)})
    event = JobRequested(
        job_id=body.jobId, attempt=max(1, job.get("attempt") or 1), spec=pinned, producer=PRODUCER, reason="recovered"
    )
    await services.submitter.publish(event)
    return {
        "message": f"Job {body.jobId} assigned to worker {body.workerId}",
        "workerId": body.workerId,
        "jobId": body.jobId,
        "capability": needed,
        "note": "the job runs on this worker unless another executor started it first",
    }


@seed.post("/{worker_id}/release", status_code=202, response_model=None)
async def release(
    worker_id: str, services: ServicesDep, body: ReleaseBody | None = None
) -> dict[str, Any] | JSONResponse:
    """Seed 003: record a manual job outcome in the worker's consecutive-failure tracking."""
    if await services.workers.get(worker_id) is None:
        return seed_error(404, "worker_not_found", f"Worker {worker_id} not found")
    success = body.jobSuccess if body else True
    await _publish(services, ReleaseWorker(worker_id=worker_id, job_success=success, producer=PRODUCER))
    return {"message": f"Worker {worker_id} released", "workerId": worker_id, "jobSuccess": success}


# -- canonical ---------------------------------------------------------------------------------
@canonical.get("")
async def list_v1(
    services: ServicesDep,
    capability: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(pattern="^(idle|busy|draining|offline)$")] = None,
) -> dict[str, Any]:
    now, timing = _now(), services.workers.timing
    workers = [worker_public(doc, now, timing) for doc in await services.workers.all()]
    if capability:
        workers = [worker for worker in workers if capability in worker["capabilities"]]
    if status:
        workers = [worker for worker in workers if worker["status"] == status]
    return {"data": workers, "count": len(workers)}


@canonical.get("/{worker_id}")
async def get_v1(worker_id: str, services: ServicesDep) -> dict[str, Any]:
    document = await services.workers.get(worker_id)
    if document is None:
        raise ApiError(404, "worker_not_found", f"no worker {worker_id}")
    return worker_public(document, _now(), services.workers.timing)


@canonical.post("/{worker_id}/drain", status_code=202)
async def drain(worker_id: str, services: ServicesDep, body: DrainBody | None = None) -> dict[str, Any]:
    """The executor takes no new jobs, finishes its running ones, then exits."""
    document = await services.workers.get(worker_id)
    if document is None:
        raise ApiError(404, "worker_not_found", f"no worker {worker_id}")
    status = effective(document, _now(), services.workers.timing)[0]
    if status == "offline":
        raise ApiError(409, "worker_offline", f"worker {worker_id} is offline")
    reason = body.reason if body else "requested"
    await _publish(services, DrainWorker(worker_id=worker_id, reason=reason, producer=PRODUCER))
    return {"workerId": worker_id, "status": "draining", "runningJobIds": document.get("running_job_ids") or []}
