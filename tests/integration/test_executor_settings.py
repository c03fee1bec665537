"""Seed 002's executor settings on a dedicated executor: MAX_CONCURRENT_EXECUTIONS,
CANCEL_GRACE_MS and LEASE_DURATION_SECONDS (a killed executor's concurrency slots expire and are
reclaimed). Jobs are pinned to it with the capability `worker.<WORKER_ID>`, with `queueIfNoWorker`
because heartbeats do not list that implicit capability."""

from collections.abc import Iterator
from datetime import datetime

import pytest

from infra.processes import ManagedProcess
from tests.conftest import StackUnderTest, wait_for
from tests.integration.test_concurrency_limit import max_overlap

WORKER = "settings-c"
PIN = {"capability": f"worker.{WORKER}", "queueIfNoWorker": True}


@pytest.fixture(scope="module")
def small_executor(running_stack: StackUnderTest) -> Iterator[ManagedProcess]:
    process = running_stack.stack.start_service(
        "executor",
        instance="c",
        env={
            "WORKER_ID": WORKER,
            "MAX_CONCURRENT_EXECUTIONS": "2",
            "CANCEL_GRACE_MS": "300",
            "LEASE_DURATION_SECONDS": "3",
            "HEARTBEAT_INTERVAL_SECONDS": "1",
        },
    )
    try:

        def runs_pinned_job() -> bool:
            job_id = running_stack.submit({"definitionKey": "noop", **PIN})
            return running_stack.wait_status(job_id, "succeeded")["workerId"] == WORKER

        wait_for(runs_pinned_job, 120, interval=0.5, what=f"executor {WORKER} to run pinned jobs")
        yield process
    finally:
        process.stop()
        running_stack.stack.processes.remove(process)


def test_max_concurrent_executions(running_stack: StackUnderTest, small_executor: ManagedProcess) -> None:
    ids = [running_stack.submit({"definitionKey": "sleep", "params": {"seconds": 0.5}, **PIN}) for _ in range(6)]
    jobs = [running_stack.wait_status(job_id, "succeeded") for job_id in ids]
    assert {job["workerId"] for job in jobs} == {WORKER}
    intervals = [(datetime.fromisoformat(j["startedAt"]), datetime.fromisoformat(j["finishedAt"])) for j in jobs]
    assert max_overlap(intervals) == 2


def test_cancel_grace_then_sigkill(running_stack: StackUnderTest, small_executor: ManagedProcess) -> None:
    # Given a shell job that ignores SIGTERM, on an executor with CANCEL_GRACE_MS=300
    job_id = running_stack.submit({"kind": "shell", "command": "trap '' TERM; sleep 30", **PIN})
    running_stack.wait_status(job_id, "running")
    # When it is cancelled
    assert running_stack.http.post(f"/v1/jobs/{job_id}/cancel").status_code == 202
    # Then SIGKILL ends it once the short grace period is over (the default grace is 5 s)
    job = running_stack.wait_status(job_id, "cancelled", timeout=30)
    assert job["exitCode"] == -9
    assert job["durationMs"] < 4000


def test_slots_of_a_killed_executor_expire(running_stack: StackUnderTest, small_executor: ManagedProcess) -> None:
    # Given the dedicated executor holding both slots of sleep.limited@1 (concurrencyLimit 2)
    held = [
        running_stack.submit({"definitionKey": "sleep.limited", "params": {"seconds": 300}, **PIN}) for _ in range(2)
    ]
    for job_id in held:
        running_stack.wait_status(job_id, "running")
    # When it is killed -9, so it never gives them back
    small_executor.kill()
    # Then after LEASE_DURATION_SECONDS another executor reclaims a slot and runs the definition
    job_id = running_stack.submit({"definitionKey": "sleep.limited", "params": {"seconds": 0.1}})
    job = running_stack.wait_status(job_id, "succeeded", timeout=90)
    assert job["workerId"] != WORKER
