"""What one job document adds to the statistics (pure).

`contribution(doc)` maps a job document to the counters it accounts for (`{stats _id: {field: n}}`,
layout in `shared/stats_keys.py`). The statistics are the sum of every job's contribution, so a
batch updates them by `delta(before, after)` of each changed job. A job's status changes once per
attempt and a redelivered event changes no document, so deltas derived this way never count twice;
replaying every event into empty collections gives the same sums.

Every value is an integer (milliseconds, hundredths of a percent), so sums are exact and do not
depend on the order they were added in.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from services.analytics.features import features
from shared import stats_keys
from shared.cost import CostSettings, memory_units
from shared.stats_keys import encode_field

Counters = dict[str, dict[str, int]]
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "dead_lettered"})
FAILED_JOB = frozenset({"failed", "dead_lettered"})
FAILED_ATTEMPT = frozenset({"failed", "timed_out", "crashed"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def millis(moment: datetime) -> int:
    """Whole milliseconds since the epoch: MongoDB keeps milliseconds, so a document read back from
    the database and the same document still in memory give the same figure."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def definition_id(doc: dict[str, Any]) -> str:
    return stats_keys.definition(
        doc.get("definition_key") or doc.get("kind") or "unknown", doc.get("definition_version")
    )


def contribution(doc: dict[str, Any] | None, cost: CostSettings) -> Counters:
    counters: Counters = defaultdict(lambda: defaultdict(int))
    if doc is None or doc.get("status") is None:
        return {}
    status = doc["status"]

    def add(targets: tuple[str, ...], field: str, amount: int = 1) -> None:
        for target in targets:
            counters[target][field] += amount

    jobs = (stats_keys.SUMMARY, definition_id(doc))
    add(jobs, "jobs.total")
    add(jobs, f"jobs.status.{status}")
    started = [entry["started_at"] for entry in doc.get("attempts", []) if entry.get("started_at")]
    if started and doc.get("submitted_at"):
        add(jobs, "queue.ms", max(0, millis(min(started)) - millis(doc["submitted_at"])))
        add(jobs, "queue.n")
    for entry in doc.get("attempts", []):
        _attempt(entry, add)
    if status in TERMINAL:
        _terminal(doc, status, jobs, add, cost)
    if any(entry.get("memory_exceeded") for entry in doc.get("attempts", [])) or doc.get("memory_exceeded"):
        add((stats_keys.HIGH_MEMORY,), "jobs")
        for arg in sorted({str(arg) for arg in doc.get("args") or []}):
            add((stats_keys.HIGH_MEMORY,), f"args.{encode_field(arg[:200])}")
    return {target: {field: n for field, n in fields.items() if n} for target, fields in counters.items()}


def _attempt(entry: dict[str, Any], add: Any) -> None:
    finished_at, outcome = entry.get("finished_at"), entry.get("outcome")
    if finished_at is None or outcome is None:
        return
    failed = outcome in FAILED_ATTEMPT
    add((stats_keys.SUMMARY,), "executions.n")
    if outcome == "succeeded":
        add((stats_keys.SUMMARY,), "executions.succeeded")
    if failed:
        add((stats_keys.SUMMARY,), "executions.failed")
    if entry.get("duration_ms") is not None:
        add((stats_keys.SUMMARY,), "executions.ms", round(entry["duration_ms"]))
        add((stats_keys.SUMMARY,), "executions.ms_n")
    _throughput(add, finished_at, "executions")
    if failed:
        _throughput(add, finished_at, "executions_failed")
        month = stats_keys.failures_month(finished_at)
        add((month,), f"q.{stats_keys.quarter_field(finished_at)}")
        add((month,), f"m.{finished_at.minute:02d}")


def _terminal(doc: dict[str, Any], status: str, jobs: tuple[str, ...], add: Any, cost: CostSettings) -> None:
    add(jobs, "terminal.n")
    add(jobs, f"terminal.{'failed' if status in FAILED_JOB else status}")
    if (doc.get("attempt") or 1) > 1:
        add(jobs, "terminal.retried")
    if doc.get("duration_ms") is not None:
        add(jobs, "processing.ms", round(doc["duration_ms"]))
        add(jobs, "processing.n")
    finished_at = doc.get("finished_at")
    if finished_at is not None and status != "cancelled":
        _throughput(add, finished_at, "completed" if status == "succeeded" else "failed")
    measured = [entry for entry in doc.get("attempts", []) if entry.get("duration_ms") is not None]
    if measured:
        add((stats_keys.SUMMARY,), "cost.n")
        add((stats_keys.SUMMARY,), "cost.duration_ms", sum(round(entry["duration_ms"]) for entry in measured))
        add(
            (stats_keys.SUMMARY,),
            "cost.cpu_centi",
            sum(round((entry.get("cpu_percent") or 0) * 100) for entry in measured),
        )
        add(
            (stats_keys.SUMMARY,),
            "cost.memory_units",
            sum(memory_units(entry.get("peak_rss_bytes"), cost) for entry in measured),
        )
    if status in ("succeeded", *FAILED_JOB):
        succeeded = 1 if status == "succeeded" else 0
        for feature, value in features(doc):
            target = (stats_keys.pattern(feature),)
            add(target, f"v.{encode_field(value)}.n")
            add(target, f"v.{encode_field(value)}.ok", succeeded)


def _throughput(add: Any, moment: datetime, counter: str) -> None:
    day = (stats_keys.day(moment),)
    add(day, stats_keys.hour_field(moment, counter))
    add(day, stats_keys.minute_field(moment, counter))


def delta(before: Counters, after: Counters) -> Counters:
    """after - before, without zero entries."""
    result: Counters = {}
    for target in set(before) | set(after):
        old, new = before.get(target, {}), after.get(target, {})
        fields = {field: new.get(field, 0) - old.get(field, 0) for field in set(old) | set(new)}
        fields = {field: n for field, n in fields.items() if n}
        if fields:
            result[target] = fields
    return result


def merge(into: Counters, more: Counters) -> Counters:
    for target, fields in more.items():
        bucket = into.setdefault(target, {})
        for field, n in fields.items():
            bucket[field] = bucket.get(field, 0) + n
            if not bucket[field]:
                del bucket[field]
        if not bucket:
            del into[target]
    return into
