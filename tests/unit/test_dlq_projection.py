"""Which job changes write the dead-letter queue (pure)."""

from pymongo import DeleteOne, ReplaceOne

from services.analytics.dlq import dlq_correction, dlq_operation


def job(status: str | None, attempt: int = 1, **extra) -> dict:
    return {"_id": "j1", "status": status, "attempt": attempt, "events": [], "event_ids": [], **extra}


def test_entering_the_queue_upserts_without_the_event_log() -> None:
    operation = dlq_operation(job("running", 2), job("dead_lettered", 2, finished_at="t"))
    assert isinstance(operation, ReplaceOne)
    assert operation._doc["dead_lettered_at"] == "t" and "events" not in operation._doc


def test_ordinary_changes_write_nothing() -> None:
    assert dlq_operation(None, job("queued")) is None
    assert dlq_operation(job("queued"), job("succeeded")) is None


def test_a_late_event_refreshes_a_dead_lettered_entry() -> None:
    # job.requested (definition key) folded in after job.finished: the entry must get the key
    operation = dlq_operation(job("dead_lettered", 2), job("dead_lettered", 2, definition_key="failing"))
    assert isinstance(operation, ReplaceOne) and operation._doc["definition_key"] == "failing"


def test_leaving_the_queue_deletes() -> None:
    assert isinstance(dlq_operation(job("dead_lettered", 2), job("queued", 3)), DeleteOne)
    retried = job("queued", 3, events=[{"type": "job.requested", "reason": "dlq_retry"}])
    assert isinstance(dlq_operation(None, retried), DeleteOne)  # cache miss: delete to be sure


def test_correction_after_a_rebase() -> None:
    assert isinstance(dlq_correction("dead_lettered", job("dead_lettered")), ReplaceOne)  # complete document
    assert isinstance(dlq_correction("queued", job("dead_lettered")), ReplaceOne)
    assert isinstance(dlq_correction("dead_lettered", job("queued", 3)), DeleteOne)
    assert dlq_correction("queued", job("running")) is None
