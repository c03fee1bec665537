"""Which accepted jobs are published again after a restart."""

from services.api.recovery import recovered_request
from shared.events import JobRequested, JobSpec, dump

REQUEST = JobRequested(job_id="j", producer="api", spec=JobSpec(kind="native", program="/bin/true", max_attempts=3))
DOC = {"_id": "j", "request": dump(REQUEST)}


def test_a_job_the_projection_never_saw_is_published_with_its_original_event() -> None:
    again = recovered_request(DOC, None)
    assert again == REQUEST


def test_a_queued_retry_is_published_for_its_current_attempt_with_a_stable_id() -> None:
    first = recovered_request(DOC, {"status": "queued", "attempt": 2})
    second = recovered_request(DOC, {"status": "queued", "attempt": 2})
    assert first.attempt == 2 and first.reason == "recovered"
    assert first.event_id == second.event_id != REQUEST.event_id


def test_started_waiting_or_finished_jobs_are_left_alone() -> None:
    for status in ("running", "retrying", "succeeded", "failed", "dead_lettered", "cancelled"):
        assert recovered_request(DOC, {"status": status, "attempt": 1}) is None
