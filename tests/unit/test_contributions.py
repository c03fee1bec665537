"""Statistics deltas: derived from a job's before/after documents, so they add up to the statistics
of the final documents whatever order events arrive in, and a redelivered event adds nothing."""

from datetime import UTC, datetime, timedelta

from services.analytics.contributions import contribution, delta, merge
from services.analytics.jobview import evolve
from services.analytics.records import alert_for, execution_records
from shared.cost import CostSettings
from shared.events import JobFinished, JobRequested, JobSpec, JobStarted

T0 = datetime(2026, 11, 23, 9, 58, 30, 123456, tzinfo=UTC)
COST = CostSettings()
SPEC = JobSpec(kind="native", job_name="report-12345", args=["memory_mb=60", "--fast"], max_attempts=2)


def lifecycle(job_id: str = "j1") -> list:
    return [
        JobRequested(job_id=job_id, producer="t", spec=SPEC, occurred_at=T0, submitted_at=T0),
        JobStarted(job_id=job_id, producer="t", worker_id="w1", occurred_at=T0 + timedelta(seconds=1)),
        JobFinished(
            job_id=job_id,
            producer="t",
            worker_id="w1",
            outcome="failed",
            disposition="retry",
            exit_code=1,
            duration_ms=1500.4,
            cpu_percent=12.5,
            peak_rss_bytes=70 * 2**20,
            memory_exceeded=True,
            occurred_at=T0 + timedelta(seconds=2.5),
        ),
        JobRequested(
            job_id=job_id, attempt=2, producer="t", spec=SPEC, reason="retry", occurred_at=T0 + timedelta(seconds=3)
        ),
        JobStarted(job_id=job_id, attempt=2, producer="t", worker_id="w2", occurred_at=T0 + timedelta(seconds=4)),
        JobFinished(
            job_id=job_id,
            attempt=2,
            producer="t",
            worker_id="w2",
            outcome="failed",
            disposition="dead_lettered",
            exit_code=1,
            duration_ms=700,
            cpu_percent=3,
            peak_rss_bytes=2**20,
            occurred_at=T0 + timedelta(minutes=2),
        ),
    ]


def incremental(events: list) -> dict:
    """Apply events one by one, summing each change's delta, as the pipeline does per batch."""
    doc, total = None, {}
    for event in events:
        after = evolve(doc, event)
        if after is None:
            continue
        merge(total, delta(contribution(doc, COST), contribution(after, COST)))
        doc = after
    return total, doc


def test_deltas_sum_to_the_final_contribution_in_any_order() -> None:
    events = lifecycle()
    in_order, doc = incremental(events)
    assert in_order == contribution(doc, COST)
    shuffled, _ = incremental([events[5], events[2], events[0], events[4], events[1], events[3]])
    assert shuffled == in_order


def test_redelivered_events_add_nothing() -> None:
    events = lifecycle()
    once, _ = incremental(events)
    twice, _ = incremental(events + events[::-1])
    assert twice == once


def test_a_dead_lettered_job_counts_once_with_both_failed_attempts() -> None:
    total, _ = incremental(lifecycle())
    summary = total["summary"]
    assert summary["jobs.total"] == 1 and summary["jobs.status.dead_lettered"] == 1
    assert "jobs.status.queued" not in summary and "jobs.status.running" not in summary
    assert summary["terminal.failed"] == 1 and summary["terminal.retried"] == 1
    assert summary["executions.n"] == 2 and summary["executions.failed"] == 2
    assert summary["cost.n"] == 1 and summary["cost.duration_ms"] == 1500 + 700
    assert summary["queue.ms"] == 1000  # first start minus submission, whole milliseconds
    # failures by UTC quarter hour: 09:58 -> quarter 3 of hour 09, 10:00:30 -> quarter 0 of hour 10
    assert total["fail:2026-11"] == {"q.23093": 1, "q.23100": 1, "m.58": 1, "m.00": 1}
    assert total["highmem"] == {"jobs": 1, "args.memory_mb=60": 1, "args.--fast": 1}
    assert total["pat:arg"] == {"v.--fast.n": 1, "v.memory_mb=60.n": 1}
    assert total["pat:name"] == {"v.report-#.n": 1}


def test_one_alert_per_failure_and_one_execution_per_attempt() -> None:
    events = lifecycle()
    doc = None
    alerts = []
    for event in events:
        after = evolve(doc, event) or doc
        if (alert := alert_for(doc, after)) is not None:
            alerts.append(alert)
        doc = after
    assert [alert.reason for alert in alerts] == ["job_dead_lettered"]
    assert alert_for(doc, doc) is None
    records = execution_records(doc)
    assert sorted(record["attempt"] for record in records.values()) == [1, 2]
    assert all(record["status"] == "FAILED" for record in records.values())
    assert execution_records(doc) == records  # same ids every time
