"""The job read model as a pure fold: `evolve(document, event) -> document | None`.

Events for one job arrive on several topics, and topics are consumed independently, so a job's
`job.started` can be seen before its `job.requested`. The fold therefore orders by
`(attempt, phase)` instead of arrival: an older event fills in fields but never moves the status
back. A document remembers the ids of the events it applied, which makes redelivery a no-op.
"""

from datetime import datetime
from typing import Any

from shared.events import JobFinished, JobProgressed, JobRequested, JobStarted

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "dead_lettered"})
MAX_EVENTS_KEPT = 500

_PHASE = {"job.requested": 0, "job.started": 1, "job.finished": 2}
_STATUS_AFTER_FINISH = {
    "succeeded": "succeeded",
    "retry": "retrying",
    "failed": "failed",
    "dead_lettered": "dead_lettered",
    "cancelled": "cancelled",
}

Event = JobRequested | JobStarted | JobFinished | JobProgressed


def new_document(job_id: str) -> dict[str, Any]:
    return {
        "_id": job_id,
        "sk": job_id,  # indexed copy of _id: the embedded database scans for any range on _id
        "status": None,
        "attempt": 0,
        "phase": -1,
        "attempts": [],
        "events": [],
        "event_ids": [],
    }


def evolve(document: dict[str, Any] | None, event: Event) -> dict[str, Any] | None:
    """Apply one event; return the new document, or None when the event changes nothing."""
    base = document if document is not None else new_document(event.job_id)
    event_id = str(event.event_id)
    if event_id in base["event_ids"]:
        return None
    doc = {**base, "attempts": list(base["attempts"]), "events": list(base["events"])}
    doc["event_ids"] = (base["event_ids"] + [event_id])[-MAX_EVENTS_KEPT:]
    doc["events"] = (doc["events"] + [_event_entry(event)])[-MAX_EVENTS_KEPT:]
    doc["updated_at"] = event.occurred_at

    if isinstance(event, JobRequested):
        _apply_requested(doc, event)
    elif isinstance(event, JobStarted):
        _apply_started(doc, event)
    elif isinstance(event, JobFinished):
        _apply_finished(doc, event)
    return doc


def _is_newer(doc: dict[str, Any], event: Event) -> bool:
    return (event.attempt, _PHASE[event.type]) > (doc["attempt"], doc["phase"])


def _advance(doc: dict[str, Any], event: Event, status: str) -> None:
    doc["attempt"], doc["phase"], doc["status"] = event.attempt, _PHASE[event.type], status


def _apply_requested(doc: dict[str, Any], event: JobRequested) -> None:
    spec = event.spec
    if event.attempt == 1 or "submitted_at" not in doc:
        doc.update(
            kind=spec.kind,
            job_name=spec.job_name or spec.definition_key,
            program=spec.program,
            args=list(spec.args),
            command=spec.command,
            url=spec.url,
            definition_key=spec.definition_key,
            definition_version=spec.definition_version,
            params=spec.params,
            priority=spec.priority,
            capability=spec.capability,
            labels=spec.labels,
            timeout_seconds=spec.timeout_seconds,
            submitted_at=event.submitted_at,
        )
    doc["max_attempts"] = max(spec.max_attempts, doc.get("max_attempts") or 0)
    reopens = event.reason == "dlq_retry"
    if _is_newer(doc, event) and (doc["status"] not in TERMINAL_STATUSES or reopens):
        _advance(doc, event, "queued")
    # When the latest attempt was requested, whether or not its start was seen first (order-independent).
    latest = (doc.get("queued_attempt", 0), doc.get("queued_at"))
    if latest[1] is None or (event.attempt, event.occurred_at) > latest:
        doc["queued_at"], doc["queued_attempt"] = event.occurred_at, event.attempt


def _attempt_entry(doc: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The attempt's entry in `doc`, copied so the document we started from stays unchanged."""
    others = [entry for entry in doc["attempts"] if entry["attempt"] != attempt]
    previous = [entry for entry in doc["attempts"] if entry["attempt"] == attempt]
    entry = dict(previous[0]) if previous else {"attempt": attempt}
    doc["attempts"] = sorted(others + [entry], key=lambda item: item["attempt"])
    return entry


def _apply_started(doc: dict[str, Any], event: JobStarted) -> None:
    _record_start(doc, event.attempt, event.occurred_at, event.worker_id)
    _attempt_entry(doc, event.attempt).setdefault("status", "running")
    if _is_newer(doc, event) and doc["status"] not in TERMINAL_STATUSES:
        _advance(doc, event, "running")


def _record_start(doc: dict[str, Any], attempt: int, started_at: datetime, worker_id: str | None) -> None:
    """An attempt's start is its earliest start seen (from its start event or its outcome): a
    redelivered or stale start arriving later, in any order, must not change it."""
    entry = _attempt_entry(doc, attempt)
    if entry.get("started_at") is None or started_at < entry["started_at"]:
        entry.update(started_at=started_at, worker_id=worker_id or entry.get("worker_id"))
    latest = (doc.get("started_attempt", 0), doc.get("started_at"))
    if attempt > latest[0] or (attempt == latest[0] and started_at < latest[1]):
        doc.update(started_at=started_at, worker_id=worker_id or doc.get("worker_id"), started_attempt=attempt)


def _apply_finished(doc: dict[str, Any], event: JobFinished) -> None:
    if event.started_at is not None:
        _record_start(doc, event.attempt, event.started_at, event.worker_id)
    outcome_fields = dict(
        outcome=event.outcome,
        exit_code=event.exit_code,
        duration_ms=event.duration_ms,
        cpu_percent=event.cpu_percent,
        peak_rss_bytes=event.peak_rss_bytes,
        memory_exceeded=event.memory_exceeded,
        http_status=event.http_status,
        error=event.error,
    )
    entry = _attempt_entry(doc, event.attempt)
    entry.update(
        outcome_fields,
        status=event.outcome,
        finished_at=event.occurred_at,
        worker_id=event.worker_id or entry.get("worker_id"),
    )
    if event.spec is not None and not doc.get("labels"):
        # A job that ends without ever being requested (the scheduler fails a held job as
        # upstream_failed) is still found by its labels, e.g. among a schedule's executions.
        doc.update(
            kind=event.spec.kind,
            job_name=event.spec.job_name or event.spec.definition_key,
            labels=event.spec.labels,
            priority=event.spec.priority,
        )
    if not _is_newer(doc, event):
        return
    if doc["status"] in TERMINAL_STATUSES and event.attempt <= doc["attempt"]:
        return
    _advance(doc, event, _STATUS_AFTER_FINISH[event.disposition])
    doc.update(
        outcome_fields,
        finished_at=event.occurred_at,
        result=event.result,
        output_tail=event.output_tail,
        retry_at=event.retry_at,
        worker_id=event.worker_id or doc.get("worker_id"),
    )


def _event_entry(event: Event) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "event_id": str(event.event_id),
        "type": event.type,
        "attempt": event.attempt,
        "occurred_at": event.occurred_at,
    }
    if isinstance(event, JobFinished):
        entry.update(outcome=event.outcome, disposition=event.disposition, error=event.error)
    elif isinstance(event, JobStarted):
        entry.update(worker_id=event.worker_id)
    elif isinstance(event, JobProgressed):
        entry.update(name=event.name, data=event.data)
    elif isinstance(event, JobRequested):
        entry.update(reason=event.reason)
    return entry
