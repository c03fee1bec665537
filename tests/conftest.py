"""Session fixtures: the real embedded broker and database, and every service as its own process,
started once per test session on free ports (the same `infra.stack.Stack` that `make run` uses)."""

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.processes import free_port
from infra.stack import Stack, StackSettings

READY_TIMEOUT = 120.0


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


class StackUnderTest:
    """The running stack plus helpers the tests share."""

    webhook_port: int = 0  # ALERT_WEBHOOK_URL points here (tests/integration/test_alerts.py listens)

    def __init__(self, stack: Stack, data_dir: Path) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.http = httpx.Client(base_url=stack.api_url, timeout=10.0)

    @property
    def traces_file(self) -> Path:
        return self.data_dir / "traces.jsonl"

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_status(self, job_id: str, statuses: set[str] | str, timeout: float = 60.0) -> dict[str, Any]:
        wanted = {statuses} if isinstance(statuses, str) else statuses

        def reached() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] in wanted else None

        return wait_for(reached, timeout, what=f"job {job_id} to reach {sorted(wanted)}")

    def submit(self, body: dict[str, Any]) -> str:
        response = self.http.post("/v1/jobs", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()["jobId"]

    def spans(self) -> list[dict[str, Any]]:
        if not self.traces_file.exists():
            return []
        return [json.loads(line) for line in self.traces_file.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    data_dir = tmp_path_factory.mktemp("stack")
    settings = StackSettings(
        KAFKA_PORT=free_port(),
        MONGO_PORT=free_port(),
        PORT=free_port(),
        DATA_DIR=data_dir,
        EXECUTORS=1,
    )
    webhook_port = free_port()
    stack = Stack(
        settings,
        log_to_files=True,
        metrics_ports={name: free_port() for name in ("analytics", "worker-registry", "executor", "scheduler")},
        env={
            "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/alerts",
            "ALERT_WEBHOOK_ATTEMPTS": "3",
            "ALERT_WEBHOOK_BACKOFF_SECONDS": "0.2",
            "TRACING_EXPORTER": "jsonl",
            "TRACING_FILE": str(data_dir / "traces.jsonl"),
            "HEARTBEAT_INTERVAL_SECONDS": "1",
            "LEASE_DURATION_SECONDS": "16",  # a silent worker is offline (attempts orphaned) after 8 s
            "RETRY_DELAY": "200ms",
            "MAX_BODY_BYTES": str(64 * 1024),
            "LOG_LEVEL": os.environ.get("TEST_LOG_LEVEL", "INFO"),
        },
    )
    try:
        stack.start_servers()
        stack.create_topics()
        stack.start_services()
        under_test = StackUnderTest(stack, data_dir)
        under_test.webhook_port = webhook_port
        # Jobs that need a capability are refused while no live worker has it: wait for the registry.
        wait_for(
            lambda: under_test.http.get("/v1/workers", params={"status": "idle"}).json().get("count"),
            READY_TIMEOUT,
            interval=0.5,
            what="a live worker in the registry",
        )
        # Ready means a job makes the whole trip: API -> executor -> analytics projection.
        probe = under_test.submit({"definitionKey": "noop", "definitionVersion": 1})
        under_test.wait_status(probe, "succeeded", timeout=READY_TIMEOUT)
        yield under_test
    except BaseException:
        print(f"stack logs are in {data_dir / 'logs'}")
        raise
    finally:
        stack.stop()
