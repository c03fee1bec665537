"""A fixture that makes the executor busy: every slot held by a top-priority `sleep@1` job that
runs until it is cancelled, so that whatever is submitted next waits in the executor's queue."""

from collections.abc import Iterator

import pytest

from services.executor.settings import ExecutorSettings
from tests.conftest import StackUnderTest

SLOTS = ExecutorSettings.model_fields["max_concurrent_executions"].default
TERMINAL = {"cancelled", "succeeded", "failed", "dead_lettered"}


def release(running_stack: StackUnderTest, blockers: list[str]) -> None:
    for job_id in blockers:
        running_stack.http.post(f"/v1/jobs/{job_id}/cancel")


@pytest.fixture
def busy_executor(running_stack: StackUnderTest) -> Iterator[list[str]]:
    blockers = [
        running_stack.submit({"definitionKey": "sleep", "params": {"seconds": 300}, "priority": 1000})
        for _ in range(SLOTS)
    ]
    try:
        for job_id in blockers:
            running_stack.wait_status(job_id, "running")
        yield blockers
    finally:
        release(running_stack, blockers)
        for job_id in blockers:
            running_stack.wait_status(job_id, TERMINAL)
