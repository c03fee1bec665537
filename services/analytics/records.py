"""Records derived from a job's change (pure): execution history entries and alerts.

Their ids are deterministic and time-ordered (`shared.ids.time_id`), so deriving them again from a
redelivered or replayed event gives the same record, and lists page newest-first by `_id`.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from services.analytics.contributions import FAILED_ATTEMPT, millis
from shared.events import JobAlerted
from shared.ids import time_id

ALERTING = {"failed": ("error", "job_failed"), "dead_lettered": ("critical", "job_dead_lettered")}
_SEED_STATUS = {"succeeded": "SUCCESS", "cancelled": "CANCELLED"}


def execution_records(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One record per finished attempt of `doc`, keyed by record id."""
    records = {}
    for entry in doc.get("attempts", []):
        finished_at: datetime | None = entry.get("finished_at")
        if finished_at is None or entry.get("outcome") is None:
            continue
        record_id = time_id(millis(finished_at), f"execution:{doc['_id']}:{entry['attempt']}")
        records[record_id] = {
            "_id": record_id,
            "sk": record_id,  # indexed copy of _id: the embedded database scans for a range on _id
            "job_id": doc["_id"],
            "attempt": entry["attempt"],
            "status": _SEED_STATUS.get(entry["outcome"], "FAILED"),
            "outcome": entry["outcome"],
            "failed": entry["outcome"] in FAILED_ATTEMPT,
            "job_name": doc.get("job_name"),
            "definition_key": doc.get("definition_key"),
            "scheduled_at": doc.get("submitted_at"),
            "started_at": entry.get("started_at"),
            "finished_at": finished_at,
            "duration_ms": entry.get("duration_ms"),
            "exit_code": entry.get("exit_code"),
            "http_status": entry.get("http_status"),
            "error": entry.get("error"),
            "worker_id": entry.get("worker_id"),
            "retry_count": entry["attempt"] - 1,
        }
    return records


def changed_executions(before: dict[str, Any] | None, after: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(new records, records whose content changed) between two versions of a job."""
    old = execution_records(before) if before else {}
    new = execution_records(after)
    added = [record for record_id, record in new.items() if record_id not in old]
    changed = [record for record_id, record in new.items() if record_id in old and old[record_id] != record]
    return added, changed


def alert_for(before: dict[str, Any] | None, after: dict[str, Any], producer: str = "analytics") -> JobAlerted | None:
    """An alert when a job has just become failed or dead-lettered (once per attempt)."""
    status = after.get("status")
    if status not in ALERTING:
        return None
    if before is not None and before.get("status") == status and before.get("attempt") == after.get("attempt"):
        return None
    severity, reason = ALERTING[status]
    moment: datetime = after.get("finished_at") or after["updated_at"]
    alert_id = time_id(millis(moment), f"alert:{after['_id']}:{after.get('attempt')}:{status}")
    name = after.get("job_name") or after.get("definition_key") or after.get("kind")
    subject = f"job {name} ({after['_id']})" if name else f"job {after['_id']}"
    attempts = after.get("attempt") or 1
    verb = "was dead-lettered" if status == "dead_lettered" else "failed"
    detail = f": {after['error']}" if after.get("error") else ""
    return JobAlerted(
        event_id=UUID(alert_id),
        job_id=after["_id"],
        attempt=attempts,
        occurred_at=moment,
        producer=producer,
        alert_id=alert_id,
        severity=severity,  # type: ignore[arg-type]
        reason=reason,  # type: ignore[arg-type]
        message=f"{subject} {verb} after {attempts} attempt{'s' if attempts != 1 else ''}{detail}"[:2000],
        job_name=after.get("job_name"),
        definition_key=after.get("definition_key"),
        error=(after.get("error") or None) and after["error"][:2000],
        exit_code=after.get("exit_code"),
    )


def alert_document(alert: JobAlerted) -> dict[str, Any]:
    return {
        "_id": alert.alert_id,
        "sk": alert.alert_id,
        "job_id": alert.job_id,
        "attempt": alert.attempt,
        "severity": alert.severity,
        "reason": alert.reason,
        "message": alert.message,
        "job_name": alert.job_name,
        "definition_key": alert.definition_key,
        "error": alert.error,
        "exit_code": alert.exit_code,
        "occurred_at": alert.occurred_at,
    }


def alert_from_document(doc: dict[str, Any]) -> JobAlerted:
    fields = {key: value for key, value in doc.items() if key not in ("_id", "sk")}
    return JobAlerted(event_id=UUID(doc["_id"]), alert_id=doc["_id"], producer="analytics", **fields)
