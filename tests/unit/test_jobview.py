"""The job projection fold: order-independent, idempotent, never backwards."""

from datetime import UTC, datetime, timedelta

from services.analytics.jobview import evolve
from shared.events import JobFinished, JobRequested, JobSpec, JobStarted

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = JobSpec(kind="native", program="/bin/true", max_attempts=2)


def requested(attempt: int = 1, reason: str = "submitted") -> JobRequested:
    return JobRequested(
        job_id="j", attempt=attempt, producer="t", spec=SPEC, reason=reason, occurred_at=T0, submitted_at=T0
    )  # type: ignore[arg-type]


def started(attempt: int = 1) -> JobStarted:
    return JobStarted(
        job_id="j", attempt=attempt, producer="t", worker_id="w", occurred_at=T0 + timedelta(seconds=attempt)
    )


def finished(attempt: int = 1, outcome: str = "succeeded", disposition: str = "succeeded") -> JobFinished:
    return JobFinished(
        job_id="j",
        attempt=attempt,
        producer="t",
        outcome=outcome,
        disposition=disposition,  # type: ignore[arg-type]
        exit_code=0 if outcome == "succeeded" else 1,
        occurred_at=T0 + timedelta(seconds=attempt, milliseconds=500),
    )


def fold(*events):
    doc = None
    for event in events:
        if isinstance(event, dict):
            doc = event
            continue
        doc = evolve(doc, event) or doc
    return doc


def test_in_order_lifecycle_ends_succeeded():
    doc = fold(requested(), started(), finished())
    assert doc["status"] == "succeeded"
    assert doc["exit_code"] == 0
    assert doc["started_at"] == T0 + timedelta(seconds=1)
    assert [entry["attempt"] for entry in doc["attempts"]] == [1]


def test_any_arrival_order_gives_the_same_state():
    in_order = fold(requested(), started(), finished())
    for events in (
        [finished(), started(), requested()],
        [started(), finished(), requested()],
        [requested(), finished(), started()],
    ):
        shuffled = fold(*events)
        for key in ("status", "attempt", "exit_code", "started_at", "finished_at", "job_name", "submitted_at"):
            assert shuffled.get(key) == in_order.get(key), key


def test_redelivered_event_is_a_no_op():
    event = started()
    doc = fold(requested(), event)
    assert evolve(doc, event) is None


def test_retry_then_success_counts_attempts():
    doc = fold(requested(), started(), finished(1, "failed", "retry"))
    assert doc["status"] == "retrying"
    doc = evolve(doc, requested(2, "retry"))
    assert doc["status"] == "queued" and doc["attempt"] == 2
    doc = fold(doc, started(2), finished(2))
    assert doc["status"] == "succeeded"
    assert [entry["status"] for entry in doc["attempts"]] == ["failed", "succeeded"]


def test_terminal_state_is_sticky_against_stale_events():
    doc = fold(requested(), started(), finished(1, "cancelled", "cancelled"))
    assert doc["status"] == "cancelled"
    late_start = JobStarted(job_id="j", attempt=1, producer="t", worker_id="late", occurred_at=T0)
    assert fold(doc, late_start)["status"] == "cancelled"


def test_dlq_retry_reopens_a_dead_lettered_job():
    doc = fold(requested(), started(), finished(1, "failed", "dead_lettered"))
    assert doc["status"] == "dead_lettered"
    assert evolve(doc, requested(2, "retry"))["status"] == "dead_lettered"
    assert evolve(doc, requested(2, "dlq_retry"))["status"] == "queued"


def test_a_stale_start_never_changes_who_started_the_attempt_in_any_order():
    stale = JobStarted(job_id="j", attempt=1, producer="t", worker_id="stale", occurred_at=T0 + timedelta(hours=1))
    orders = [
        [requested(), started(), finished(), stale],
        [stale, finished(), started(), requested()],
        [finished(), stale, requested(), started()],
    ]
    for events in orders:
        doc = fold(*events)
        assert doc["worker_id"] == "w" and doc["started_at"] == T0 + timedelta(seconds=1)
        assert doc["attempts"][0]["worker_id"] == "w"


def test_an_outcome_that_carries_its_start_time_is_complete_before_the_start_event_arrives():
    outcome = JobFinished(
        job_id="j",
        attempt=1,
        producer="t",
        outcome="succeeded",
        disposition="succeeded",
        worker_id="w",
        started_at=T0 + timedelta(seconds=1),
        occurred_at=T0 + timedelta(seconds=2),
    )
    doc = fold(requested(), outcome)
    assert doc["status"] == "succeeded"
    assert doc["started_at"] == T0 + timedelta(seconds=1) and doc["worker_id"] == "w"
    assert doc["attempts"][0]["started_at"] == T0 + timedelta(seconds=1)
    assert fold(doc, started())["started_at"] == doc["started_at"]
