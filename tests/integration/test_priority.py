"""Priority under backlog (seed 002): with one busy executor, 500 low-priority jobs then 20
high-priority ones, all 20 high ones start before the 100th low one."""

import time
from datetime import datetime

from tests.conftest import StackUnderTest
from tests.integration.busy import busy_executor, release  # noqa: F401 - fixture


def submit_batch(running_stack: StackUnderTest, count: int, priority: int) -> list[str]:
    body = {"jobs": [{"definitionKey": "noop", "priority": priority} for _ in range(count)]}
    response = running_stack.http.post("/v1/jobs/batch", json=body, timeout=60)
    assert response.status_code == 201, response.text
    return [item["jobId"] for item in response.json()["data"]]


def started(running_stack: StackUnderTest, job_ids: list[str]) -> list[datetime]:
    return [
        datetime.fromisoformat(running_stack.wait_status(job_id, "succeeded", timeout=120)["startedAt"])
        for job_id in job_ids
    ]


def test_high_priority_jobs_overtake_the_backlog(running_stack: StackUnderTest, busy_executor: list[str]) -> None:  # noqa: F811
    # Given a busy executor, 500 low-priority jobs, then 20 high-priority ones
    low = submit_batch(running_stack, 500, priority=1)
    high = submit_batch(running_stack, 20, priority=10)
    # (the API answered once the broker had them; give the executor a moment to read them all)
    time.sleep(3)

    # When the executor's slots free up
    release(running_stack, busy_executor)

    # Then every high-priority job started before the 100th low-priority one
    low_started = sorted(started(running_stack, low))
    high_started = started(running_stack, high)
    assert max(high_started) < low_started[99]
