"""Seed 004's curl examples against a local HTTP sink (loopback only): HTTP POST schedules with
retries on 5xx, none on 4xx, and execution records."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import StackUnderTest, wait_for


class Sink:
    def __init__(self) -> None:
        self.posts: list[tuple[str, float]] = []

    def count(self, path: str) -> int:
        return sum(1 for seen, _ in self.posts if seen == path)


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Sink, str]]:
    recorded = Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            recorded.posts.append((self.path, time.time()))
            status = 500 if self.path.startswith("/fail") else 404 if self.path.startswith("/missing") else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def executions(running_stack: StackUnderTest, job_id: str, limit: int = 50) -> list[dict]:
    response = running_stack.http.get(f"/jobs/{job_id}/executions", params={"limit": limit})
    assert response.status_code == 200, response.text
    return response.json()["executions"]


def test_seed_004_schedule_lifecycle(running_stack: StackUnderTest, sink: tuple[Sink, str]) -> None:
    recorded, base = sink
    # Given seed 004's create example, firing every second
    response = running_stack.http.post(
        "/jobs", json={"schedule": "* * * * * *", "api": f"{base}/foo", "type": "ATLEAST_ONCE"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "Job created successfully"
    job_id = body["jobId"]

    # Then GET /jobs/{id} shows the spec at once
    got = running_stack.http.get(f"/jobs/{job_id}").json()
    assert got["spec"] == {"schedule": "* * * * * *", "api": f"{base}/foo", "type": "ATLEAST_ONCE"}
    assert got["isActive"] is True and got["createdAt"] <= got["updatedAt"]

    # When it has fired a few times, the sink got the POSTs and executions are recorded
    wait_for(lambda: recorded.count("/foo") >= 3, timeout=60, what="3 POSTs")
    done = wait_for(
        lambda: [e for e in executions(running_stack, job_id) if e["status"] == "SUCCESS"][:2],
        timeout=60,
        what="2 successful executions",
    )
    for execution in done:
        assert execution["httpStatus"] == 200 and execution["retryCount"] == 0
        assert execution["scheduledAt"] <= execution["startedAt"] <= execution["completedAt"]
        assert execution["duration"] == execution["completedAt"] - execution["startedAt"]
    assert len(executions(running_stack, job_id, limit=2)) == 2

    # When it is deactivated, the POSTs stop
    updated = running_stack.http.put(f"/jobs/{job_id}", json={"isActive": False})
    assert updated.status_code == 200 and updated.json()["isActive"] is False
    time.sleep(2)
    before = recorded.count("/foo")
    time.sleep(3)
    assert recorded.count("/foo") == before

    # And a trigger runs it once more, now
    triggered = running_stack.http.post(f"/jobs/{job_id}/trigger")
    assert triggered.status_code == 202
    wait_for(lambda: recorded.count("/foo") == before + 1, timeout=30, what="the triggered POST")

    # And PUT changes the target; DELETE removes it
    moved = running_stack.http.put(f"/jobs/{job_id}", json={"api": f"{base}/bar", "schedule": "0 0 * * *"})
    assert moved.json()["spec"]["api"] == f"{base}/bar" and moved.json()["spec"]["schedule"] == "0 0 * * *"
    assert running_stack.http.delete(f"/jobs/{job_id}").status_code == 200
    assert running_stack.http.get(f"/jobs/{job_id}").status_code == 404


def test_5xx_is_retried_three_times_and_4xx_fails_at_once(
    running_stack: StackUnderTest, sink: tuple[Sink, str]
) -> None:
    recorded, base = sink
    failing = running_stack.http.post("/jobs", json={"schedule": "0 0 1 1 *", "api": f"{base}/fail-5xx"}).json()[
        "jobId"
    ]
    missing = running_stack.http.post("/jobs", json={"schedule": "0 0 1 1 *", "api": f"{base}/missing"}).json()["jobId"]
    running_stack.http.post(f"/jobs/{failing}/trigger")
    running_stack.http.post(f"/jobs/{missing}/trigger")

    failed = wait_for(
        lambda: [e for e in executions(running_stack, failing) if e["status"] == "FAILED"],
        timeout=90,
        what="the 5xx execution to fail",
    )[0]
    assert failed["retryCount"] == 3 and failed["httpStatus"] == 500 and failed["error"] == "HTTP 500"
    assert recorded.count("/fail-5xx") == 4

    not_found = wait_for(
        lambda: [e for e in executions(running_stack, missing) if e["status"] == "FAILED"],
        timeout=60,
        what="the 4xx execution to fail",
    )[0]
    assert not_found["retryCount"] == 0 and not_found["httpStatus"] == 404
    assert recorded.count("/missing") == 1


def test_seed_004_bad_input(running_stack: StackUnderTest) -> None:
    cases = [
        {"schedule": "99 * * * * *", "api": "http://127.0.0.1:1/x", "type": "ATLEAST_ONCE"},
        {"schedule": "* * * * * *", "api": "ftp://example.com/x", "type": "ATLEAST_ONCE"},
        {"schedule": "* * * * * *", "api": "http://127.0.0.1:1/x", "type": "EXACTLY_ONCE"},
        {"schedule": "* * * * * *", "type": "ATLEAST_ONCE"},
    ]
    for body in cases:
        response = running_stack.http.post("/jobs", json=body)
        assert response.status_code == 422, response.text
        assert "error" in response.json()
    assert running_stack.http.post("/jobs", json={"neither": 1}).status_code == 422
    assert running_stack.http.get("/jobs/does-not-exist").status_code == 404
