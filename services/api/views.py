"""Turn projection documents into API responses (canonical and seed shapes)."""

from typing import Any

from services.api.schemas import AttemptPublic, JobEventPublic, JobPublic, SeedJobListItem

_SEED_STATUS = {
    "queued": "queued",
    "running": "running",
    "retrying": "retrying",
    "succeeded": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
    "dead_lettered": "failed",
}


def job_public(doc: dict[str, Any]) -> JobPublic:
    attempts = [
        AttemptPublic(
            attempt=entry["attempt"],
            status=entry.get("status"),
            workerId=entry.get("worker_id"),
            startedAt=entry.get("started_at"),
            finishedAt=entry.get("finished_at"),
            durationMs=entry.get("duration_ms"),
            exitCode=entry.get("exit_code"),
            cpuPercent=entry.get("cpu_percent"),
            peakRssBytes=entry.get("peak_rss_bytes"),
            httpStatus=entry.get("http_status"),
            error=entry.get("error"),
        )
        for entry in doc.get("attempts", [])
    ]
    attempt = max(1, doc.get("attempt") or 1)
    return JobPublic(
        jobId=doc["_id"],
        status=doc.get("status") or "queued",
        kind=doc.get("kind"),
        jobName=doc.get("job_name"),
        definitionKey=doc.get("definition_key"),
        definitionVersion=doc.get("definition_version"),
        params=doc.get("params") or {},
        args=doc.get("args") or [],
        priority=doc.get("priority") or 0,
        attempt=attempt,
        maxAttempts=doc.get("max_attempts") or 1,
        retries=attempt - 1,
        createdAt=doc.get("submitted_at"),
        startedAt=doc.get("started_at"),
        finishedAt=doc.get("finished_at"),
        durationMs=doc.get("duration_ms"),
        exitCode=doc.get("exit_code"),
        cpuPercent=doc.get("cpu_percent"),
        peakRssBytes=doc.get("peak_rss_bytes"),
        memoryExceeded=bool(doc.get("memory_exceeded")),
        httpStatus=doc.get("http_status"),
        error=doc.get("error"),
        outputTail=doc.get("output_tail"),
        result=doc.get("result"),
        workerId=doc.get("worker_id"),
        retryAt=doc.get("retry_at"),
        labels=doc.get("labels") or {},
        attempts=attempts,
    )


def queued_from_request(request_doc: dict[str, Any]) -> dict[str, Any]:
    """A job the API accepted but the projection has not caught up with yet, as a jobs document."""
    request = request_doc["request"]
    spec = request["spec"]
    return {
        "_id": request_doc["_id"],
        "status": "queued",
        "attempt": 1,
        "kind": spec["kind"],
        "job_name": spec.get("job_name") or spec.get("definition_key"),
        "definition_key": spec.get("definition_key"),
        "definition_version": spec.get("definition_version"),
        "params": spec.get("params") or {},
        "args": spec.get("args") or [],
        "priority": spec.get("priority", 0),
        "max_attempts": spec.get("max_attempts", 1),
        "labels": spec.get("labels") or {},
        "submitted_at": request_doc.get("accepted_at"),
        "events": [],
    }


def event_public(entry: dict[str, Any]) -> JobEventPublic:
    data = {key: value for key, value in entry.items() if key not in ("event_id", "type", "attempt", "occurred_at")}
    return JobEventPublic(
        eventId=entry["event_id"],
        type=entry["type"],
        attempt=entry["attempt"],
        occurredAt=entry["occurred_at"],
        data=data,
    )


def seed_list_item(doc: dict[str, Any]) -> SeedJobListItem:
    status = _SEED_STATUS.get(doc.get("status") or "queued", "queued")
    if status == "failed" and doc.get("outcome") == "crashed":
        status = "crashed"
    attempt = max(1, doc.get("attempt") or 1)
    return SeedJobListItem(
        jobId=doc["_id"],
        jobName=doc.get("job_name"),
        args=doc.get("args") or [],
        status=status,  # type: ignore[arg-type]
        retries=attempt - 1,
        exitCode=doc.get("exit_code"),
        duration=doc.get("duration_ms"),
    )
