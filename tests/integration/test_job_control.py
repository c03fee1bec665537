"""Seed 002's job control end to end: cancel a queued job, a running native job and a running
Python definition; cancelling a finished or unknown job is refused."""

from datetime import datetime

from tests.conftest import StackUnderTest, wait_for
from tests.integration.busy import busy_executor  # noqa: F401 - fixture


def cancel(running_stack: StackUnderTest, job_id: str) -> dict:
    response = running_stack.http.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202, response.text
    return response.json()


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_cancelled_queued_job_never_starts(running_stack: StackUnderTest, busy_executor: list[str]) -> None:  # noqa: F811
    # Given a job waiting behind a fully busy executor
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "never"}, "priority": -1000})
    assert running_stack.job(job_id)["status"] == "queued"

    # When it is cancelled
    accepted = cancel(running_stack, job_id)
    assert accepted == {"jobId": job_id, "status": "cancelling", "attempt": 1}

    # Then it ends cancelled without ever starting, even once the executor has free slots again
    job = running_stack.wait_status(job_id, "cancelled")
    for blocker in busy_executor:
        cancel(running_stack, blocker)
    for blocker in busy_executor:
        running_stack.wait_status(blocker, "cancelled")
    job = running_stack.job(job_id)
    assert job["status"] == "cancelled"
    assert job["startedAt"] is None
    assert all(attempt.get("startedAt") is None for attempt in job["attempts"])
    events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
    assert "job.started" not in [event["type"] for event in events]


def test_cancel_running_python_job_sets_its_abort_signal(running_stack: StackUnderTest) -> None:
    # Given a running sleep@1 job that would sleep five minutes
    job_id = running_stack.submit({"definitionKey": "sleep", "params": {"seconds": 300}})
    running_stack.wait_status(job_id, "running")

    # When it is cancelled
    cancel(running_stack, job_id)

    # Then the job saw ctx.abort (it reports how long it had slept) and the attempt ends cancelled
    job = running_stack.wait_status(job_id, "cancelled", timeout=30)
    assert seconds_between(job["startedAt"], job["finishedAt"]) < 60

    def aborted_event() -> list[dict]:
        events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
        return [
            event for event in events if event["type"] == "job.progressed" and event["data"].get("name") == "aborted"
        ]

    [event] = wait_for(aborted_event, 15, what="the job's own 'aborted' event")
    assert event["data"]["data"]["afterSeconds"] < 60


def test_cancel_running_native_job_terminates_the_process(running_stack: StackUnderTest) -> None:
    # Given a running native `/bin/sleep 30`
    job_id = running_stack.submit({"kind": "native", "program": "/bin/sleep", "args": ["30"]})
    running_stack.wait_status(job_id, "running")

    # When it is cancelled
    cancel(running_stack, job_id)

    # Then SIGTERM ends it long before its 30 seconds are up
    job = running_stack.wait_status(job_id, "cancelled", timeout=25)
    assert job["exitCode"] == -15
    assert job["durationMs"] < 25_000


def test_cancel_finished_job_is_a_409(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "done"}})
    running_stack.wait_status(job_id, "succeeded")
    response = running_stack.http.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    assert running_stack.job(job_id)["status"] == "succeeded"


def test_cancel_unknown_job_is_a_404(running_stack: StackUnderTest) -> None:
    response = running_stack.http.post("/v1/jobs/no-such-job/cancel")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"


def test_cancel_while_waiting_for_a_retry(running_stack: StackUnderTest) -> None:
    # Given a failing job waiting 60 s before its second attempt
    job_id = running_stack.submit(
        {
            "definitionKey": "failing",
            "maxAttempts": 3,
            "retryPolicy": {"baseSeconds": 60, "jitter": 0},
        }
    )
    running_stack.wait_status(job_id, "retrying")
    # When it is cancelled
    cancel(running_stack, job_id)
    # Then it ends cancelled without a second attempt
    job = running_stack.wait_status(job_id, "cancelled", timeout=30)
    assert [attempt["attempt"] for attempt in job["attempts"] if attempt.get("startedAt")] == [1]


def test_native_timeout_ends_the_attempt_as_timed_out(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"kind": "native", "program": "/bin/sleep", "args": ["30"], "timeoutSeconds": 0.5})
    job = running_stack.wait_status(job_id, {"dead_lettered", "failed"}, timeout=30)
    assert job["attempts"][0]["status"] == "timed_out"
    assert job["durationMs"] < 25_000
