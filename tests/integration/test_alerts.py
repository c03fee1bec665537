"""Alerts reach the webhook sink (with retries) and stay in the `alerts` projection."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import StackUnderTest, wait_for


class Receiver:
    def __init__(self, port: int, fail_first: int) -> None:
        self.bodies: list[dict] = []
        self.calls = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                receiver.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook(running_stack: StackUnderTest) -> Iterator[Receiver]:
    receiver = Receiver(running_stack.webhook_port, fail_first=0)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_failed_job_is_posted_to_the_webhook_after_a_retry(running_stack: StackUnderTest, webhook: Receiver) -> None:
    # Given a webhook that answers 503 to the first delivery
    webhook.fail_first = 1
    # When a job fails
    job_id = running_stack.submit({"kind": "native", "program": "/nonexistent/for-alert"})
    running_stack.wait_status(job_id, "failed")
    # Then the alert arrives after the retry, with the fields a receiver needs
    body = wait_for(
        lambda: next((b for b in webhook.bodies if b["jobId"] == job_id), None), timeout=60, what="the webhook delivery"
    )
    assert body["reason"] == "job_failed" and body["severity"] == "error" and body["alertId"]
    assert webhook.calls >= 2
    # and it is persisted under the same id
    listed = running_stack.http.get("/observability/alerts", params={"limit": 200}).json()["alerts"]
    assert body["alertId"] in {alert["id"] for alert in listed}
