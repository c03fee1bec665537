"""Idempotency keys (seed 002): the same key and body return the existing job; the same key with
another body is a 409; concurrent duplicates create exactly one job."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import StackUnderTest


def test_same_key_and_body_returns_the_same_job(running_stack: StackUnderTest) -> None:
    body = {"definitionKey": "echo", "params": {"message": "once"}, "idempotencyKey": f"k-{uuid.uuid4()}"}
    first = running_stack.http.post("/v1/jobs", json=body)
    second = running_stack.http.post("/v1/jobs", json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["jobId"] == first.json()["jobId"]
    assert second.json()["created"] is False
    job = running_stack.wait_status(first.json()["jobId"], "succeeded")
    assert job["result"] == {"message": "once"}


def test_same_key_with_another_body_is_a_409(running_stack: StackUnderTest) -> None:
    key = f"k-{uuid.uuid4()}"
    first = running_stack.http.post(
        "/v1/jobs", json={"definitionKey": "echo", "params": {"message": "a"}, "idempotencyKey": key}
    )
    other = running_stack.http.post(
        "/v1/jobs", json={"definitionKey": "echo", "params": {"message": "b"}, "idempotencyKey": key}
    )
    assert first.status_code == 201
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert other.json()["error"]["jobId"] == first.json()["jobId"]


def test_parallel_duplicates_create_one_job(running_stack: StackUnderTest) -> None:
    # Given 24 clients sending the same request with the same key at the same moment
    body = {"definitionKey": "echo", "params": {"message": "parallel"}, "idempotencyKey": f"k-{uuid.uuid4()}"}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=running_stack.stack.api_url, timeout=30) as client:
            return client.post("/v1/jobs", json=body)

    with ThreadPoolExecutor(max_workers=24) as pool:
        responses = list(pool.map(post, range(24)))

    # Then exactly one created the job and every one got its id
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 23 + [201]
    job_ids = {response.json()["jobId"] for response in responses}
    assert len(job_ids) == 1
    [job_id] = job_ids
    job = running_stack.wait_status(job_id, "succeeded")
    assert len(job["attempts"]) == 1
