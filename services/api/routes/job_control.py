"""Job control: `POST /v1/jobs/{id}/cancel`.

The API does not stop anything itself: it publishes a `CancelJob` command for the job's current
attempt on the control topic. Every executor reads that topic; the one running the attempt
terminates it, and if nobody runs it yet an executor claims it as cancelled so it never starts.
The scheduler drops the job's pending retry timers.
"""

from fastapi import APIRouter

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schemas import JobCancelAccepted
from shared import kafka, topics
from shared.events import CancelJob

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "dead_lettered"})
PRODUCER = "api"


@router.post("/{job_id}/cancel", response_model=JobCancelAccepted, status_code=202)
async def cancel_job(job_id: str, services: ServicesDep) -> JobCancelAccepted:
    document = await services.jobs.get(job_id)
    if document is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    status = document.get("status") or "queued"
    if status in TERMINAL:
        raise ApiError(409, "job_finished", f"job {job_id} already finished: {status}", jobId=job_id, status=status)
    command = CancelJob(job_id=job_id, attempt=max(1, document.get("attempt") or 1), producer=PRODUCER)
    try:
        await (await kafka.publish(services.producer, topics.JOB_CONTROL, command))
    except Exception as error:
        raise ApiError(503, "unavailable", f"the broker did not take the cancel command: {error}") from error
    return JobCancelAccepted(jobId=job_id, status="cancelling", attempt=command.attempt)
