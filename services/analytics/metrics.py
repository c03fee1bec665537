"""Prometheus figures the analytics process updates as it projects (see shared/metrics.py)."""

from collections.abc import Sequence

from services.analytics.contributions import definition_id, millis
from services.analytics.projections import Change
from shared import metrics


def observe_changes(changes: Sequence[Change]) -> None:
    for change in changes:
        before, after = change.before or {}, change.after
        definition = definition_id(after).split(":", 1)[1]
        if before.get("status") != after.get("status") and after.get("status"):
            metrics.JOB_TRANSITIONS.labels(after["status"], definition).inc()
        known = {entry["attempt"] for entry in before.get("attempts", []) if entry.get("finished_at")}
        for entry in after.get("attempts", []):
            if entry.get("finished_at") and entry["attempt"] not in known and entry.get("duration_ms") is not None:
                metrics.ATTEMPT_DURATION.labels(definition, entry.get("outcome") or "unknown").observe(
                    entry["duration_ms"] / 1000
                )
        if not before.get("started_at") and after.get("started_at") and after.get("submitted_at"):
            wait = max(0, millis(after["started_at"]) - millis(after["submitted_at"])) / 1000
            metrics.QUEUE_WAIT.labels(definition).observe(wait)
