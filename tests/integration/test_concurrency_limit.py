"""A definition's concurrencyLimit holds across every executor, and jobs waiting for a slot of
their definition do not hold executor slots."""

from collections.abc import Iterator
from datetime import datetime

import pytest

from infra.processes import ManagedProcess
from services.executor.settings import ExecutorSettings
from tests.conftest import StackUnderTest, wait_for

SECOND_WORKER = "limit-test-b"


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    points = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda point: (point[0], point[1]),
    )
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    return peak


@pytest.fixture
def second_executor(running_stack: StackUnderTest) -> Iterator[ManagedProcess]:
    process = running_stack.stack.start_service("executor", env={"WORKER_ID": SECOND_WORKER}, instance="b")
    try:

        def ran_on_second() -> bool:
            job_id = running_stack.submit({"definitionKey": "noop"})
            return running_stack.wait_status(job_id, "succeeded")["workerId"] == SECOND_WORKER

        wait_for(ran_on_second, 120, interval=0.2, what="the second executor to get partitions")
        yield process
    finally:
        process.stop()
        running_stack.stack.processes.remove(process)


def intervals_of(jobs: list[dict]) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(job["startedAt"]), datetime.fromisoformat(job["finishedAt"])) for job in jobs]


def test_jobs_waiting_for_their_definition_hold_no_executor_slot(running_stack: StackUnderTest) -> None:
    # Given more sleep.limited@1 jobs (concurrencyLimit 2, 2 s each) than the executor has slots
    slots = ExecutorSettings.model_fields["max_concurrent_executions"].default
    limited = [
        running_stack.submit({"definitionKey": "sleep.limited", "params": {"seconds": 2}}) for _ in range(slots + 1)
    ]
    running_stack.wait_status(limited[0], "running")
    # When an unlimited job arrives behind them
    quick = running_stack.submit({"definitionKey": "echo", "params": {"message": "not stuck"}})

    # Then it runs at once: it finishes before even the first limited job does
    echo = running_stack.wait_status(quick, "succeeded")
    jobs = [running_stack.wait_status(job_id, "succeeded", timeout=120) for job_id in limited]
    assert echo["finishedAt"] < min(job["finishedAt"] for job in jobs)
    assert max_overlap(intervals_of(jobs)) == 2


def test_concurrency_limit_holds_across_two_executors(
    running_stack: StackUnderTest, second_executor: ManagedProcess
) -> None:
    # Given two executors, and 16 jobs of sleep.limited@1 (concurrencyLimit 2) spread over both
    limited = [running_stack.submit({"definitionKey": "sleep.limited", "params": {"seconds": 0.5}}) for _ in range(16)]
    jobs = [running_stack.wait_status(job_id, "succeeded", timeout=120) for job_id in limited]

    # Then both executors ran some, and never more than two ran at once
    workers = {job["workerId"] for job in jobs}
    assert len(workers) == 2 and SECOND_WORKER in workers
    assert max_overlap(intervals_of(jobs)) == 2
