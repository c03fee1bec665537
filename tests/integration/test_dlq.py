"""Seed 002's dead-letter queue end to end: a job out of attempts is listed, can be read, and can
be retried from there with a new attempt budget."""

from pathlib import Path

from tests.conftest import StackUnderTest, wait_for


def in_dlq(running_stack: StackUnderTest, job_id: str) -> dict | None:
    response = running_stack.http.get(f"/v1/dlq/{job_id}")
    return response.json() if response.status_code == 200 else None


def test_dead_lettered_job_is_listed_and_readable(running_stack: StackUnderTest) -> None:
    # Given failing@1 with two attempts
    job_id = running_stack.submit(
        {
            "definitionKey": "failing",
            "maxAttempts": 2,
            "retryPolicy": {"baseSeconds": 0.2, "jitter": 0},
        }
    )
    running_stack.wait_status(job_id, "dead_lettered")

    # Then it is in the dead-letter queue with its attempts and last error
    entry = wait_for(lambda: in_dlq(running_stack, job_id), 30, what="the DLQ entry")
    assert entry["dlqJobId"] == job_id and entry["definitionKey"] == "failing"
    assert entry["attempts"] == 2 and entry["maxAttempts"] == 2
    assert "always fails" in entry["error"]
    assert [attempt["status"] for attempt in entry["history"]] == ["failed", "failed"]
    listed = running_stack.http.get("/v1/dlq", params={"definitionKey": "failing", "limit": 1000}).json()
    assert job_id in [item["jobId"] for item in listed["data"]]
    assert all(item["definitionKey"] == "failing" for item in listed["data"])


def test_dlq_pages_with_limit_and_offset(running_stack: StackUnderTest) -> None:
    ids = [running_stack.submit({"definitionKey": "failing", "maxAttempts": 1}) for _ in range(3)]
    for job_id in ids:
        running_stack.wait_status(job_id, "dead_lettered")
        wait_for(lambda job_id=job_id: in_dlq(running_stack, job_id), 30, what="the DLQ entry")
    # Newest first: the three jobs just made lead the queue of failing@1
    first = running_stack.http.get("/v1/dlq", params={"definitionKey": "failing", "limit": 2}).json()
    second = running_stack.http.get("/v1/dlq", params={"definitionKey": "failing", "limit": 1, "offset": 2}).json()
    assert [item["jobId"] for item in first["data"]] == [ids[2], ids[1]], (ids, first)
    assert first["nextOffset"] == 2
    assert [item["jobId"] for item in second["data"]] == [ids[0]]


def test_retry_from_the_dlq_runs_the_job_again(running_stack: StackUnderTest, tmp_path: Path) -> None:
    # Given a native job that fails while a file is missing, dead-lettered after its one attempt
    marker = tmp_path / "ready"
    job_id = running_stack.submit({"kind": "native", "program": "/usr/bin/test", "args": ["-f", str(marker)]})
    running_stack.wait_status(job_id, "dead_lettered")
    wait_for(lambda: in_dlq(running_stack, job_id), 30, what="the DLQ entry")

    # When the cause is fixed and the job is retried from the queue with two more attempts
    marker.touch()
    response = running_stack.http.post(f"/v1/dlq/{job_id}/retry", json={"maxAttempts": 2})
    assert response.status_code == 202, response.text
    assert response.json() == {"jobId": job_id, "status": "queued", "attempt": 2, "maxAttempts": 3}

    # Then the second attempt succeeds and the job leaves the queue
    job = running_stack.wait_status(job_id, "succeeded")
    assert [attempt["exitCode"] for attempt in job["attempts"]] == [1, 0]
    wait_for(lambda: in_dlq(running_stack, job_id) is None, 30, what="the job to leave the DLQ")
    events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
    assert [e["data"].get("reason") for e in events if e["type"] == "job.requested"] == ["submitted", "dlq_retry"]


def test_retry_without_body_gives_the_original_attempts_again(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit(
        {
            "definitionKey": "failing",
            "maxAttempts": 2,
            "retryPolicy": {"baseSeconds": 0.2, "jitter": 0},
        }
    )
    running_stack.wait_status(job_id, "dead_lettered")
    wait_for(lambda: in_dlq(running_stack, job_id), 30, what="the DLQ entry")
    response = running_stack.http.post(f"/v1/dlq/{job_id}/retry")
    assert response.status_code == 202
    assert response.json()["attempt"] == 3 and response.json()["maxAttempts"] == 4
    # It fails twice more and is back in the queue with four attempts
    entry = wait_for(
        lambda: (found := in_dlq(running_stack, job_id)) and found["attempts"] == 4 and found,
        60,
        what="the job back in the DLQ after four attempts",
    )
    assert [attempt["attempt"] for attempt in entry["history"]] == [1, 2, 3, 4]


def test_dlq_bad_requests(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "fine"}})
    running_stack.wait_status(job_id, "succeeded")
    for response in (
        running_stack.http.get(f"/v1/dlq/{job_id}"),
        running_stack.http.post(f"/v1/dlq/{job_id}/retry"),
        running_stack.http.get("/v1/dlq/no-such-job"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "dlq_job_not_found"
    assert running_stack.http.get("/v1/dlq", params={"limit": 1001}).status_code == 422
    assert running_stack.http.get("/v1/dlq", params={"offset": -1}).status_code == 422
    response = running_stack.http.post(f"/v1/dlq/{job_id}/retry", json={"maxAttempts": 0})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "maxAttempts"
