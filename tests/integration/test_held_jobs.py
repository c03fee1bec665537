"""Delayed runs (`runAt` / `notBefore`) and job dependencies (`dependsOn`) held by the scheduler."""

from datetime import UTC, datetime, timedelta

from tests.conftest import StackUnderTest, wait_for


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_run_at_starts_the_job_at_that_time(running_stack: StackUnderTest) -> None:
    # Given a job that may start only 4 seconds from now
    run_at = datetime.now(UTC) + timedelta(seconds=4)
    job_id = running_stack.submit({"kind": "native", "program": "/bin/true", "runAt": run_at.isoformat()})
    # Then it is readable at once and not started before its time
    assert running_stack.job(job_id)["status"] == "queued"
    job = running_stack.wait_status(job_id, "succeeded", timeout=60)
    assert parse(job["startedAt"]) >= run_at


def test_dependent_job_runs_after_its_dependency_and_fails_when_it_fails(running_stack: StackUnderTest) -> None:
    # Given a 2-second job, a job that fails, and jobs depending on each
    slow = running_stack.submit({"kind": "native", "program": "/bin/sleep", "args": ["2"]})
    failing = running_stack.submit({"kind": "native", "program": "/bin/false"})
    after_slow = running_stack.submit({"kind": "native", "program": "/bin/true", "dependsOn": [slow]})
    after_failing = running_stack.submit({"kind": "native", "program": "/bin/true", "dependsOn": [slow, failing]})

    # Then the first waits for the slow one and runs after it
    done = running_stack.wait_status(after_slow, "succeeded", timeout=60)
    upstream = running_stack.job(slow)
    assert parse(done["startedAt"]) >= parse(upstream["finishedAt"])

    # And the second fails as upstream_failed without running
    failed = running_stack.wait_status(after_failing, "failed", timeout=60)
    assert failed["error"].startswith(f"upstream_failed: dependency {failing}")
    assert failed["startedAt"] is None


def test_unknown_dependency_is_refused(running_stack: StackUnderTest) -> None:
    response = running_stack.http.post(
        "/v1/jobs",
        json={"kind": "native", "program": "/bin/true", "dependsOn": ["01a20000-0000-7000-8000-000000000000"]},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_dependency"
    naive = running_stack.http.post(
        "/v1/jobs", json={"kind": "native", "program": "/bin/true", "runAt": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422


def test_delayed_job_survives_a_scheduler_restart(running_stack: StackUnderTest) -> None:
    stack = running_stack.stack
    # Given a job held until 6 seconds from now
    run_at = datetime.now(UTC) + timedelta(seconds=6)
    job_id = running_stack.submit({"kind": "native", "program": "/bin/true", "runAt": run_at.isoformat()})
    wait_for(lambda: True, timeout=1)
    # When every scheduler is killed -9 and a new one starts
    import time

    time.sleep(1.5)  # the command reaches the scheduler and is stored
    for process in [p for p in stack.processes if p.name.startswith("scheduler") and p.alive()]:
        process.kill()
    stack.start_service("scheduler", instance="after-restart")
    # Then the job still runs, at or after its time
    job = running_stack.wait_status(job_id, "succeeded", timeout=90)
    assert parse(job["startedAt"]) >= run_at
