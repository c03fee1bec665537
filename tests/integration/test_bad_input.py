"""Bad input gets a 4xx with a machine-readable body, never a 500, and loses nothing accepted."""

import pytest

from tests.conftest import StackUnderTest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"arguments": ["a"]}, "jobName"),
        ({"jobName": "", "arguments": []}, "jobName"),
        ({"jobName": 42, "arguments": []}, "jobName"),
        ({"jobName": "x", "arguments": "not-a-list"}, "arguments"),
        ({"jobName": "x", "arguments": [{"nested": "object"}]}, "arguments.0"),
        ({"jobName": "x", "arguments": [], "extra": 1}, "extra"),
    ],
)
def test_seed_post_jobs_rejects_bad_fields(running_stack: StackUnderTest, body: dict, field: str) -> None:
    response = running_stack.http.post("/jobs", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(detail["field"] and detail["field"].startswith(field) for detail in error["details"]), error


@pytest.mark.parametrize("path", ["/jobs", "/v1/jobs"])
def test_non_json_body_is_a_400(running_stack: StackUnderTest, path: str) -> None:
    response = running_stack.http.post(path, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_body_that_is_not_an_object_is_a_422(running_stack: StackUnderTest) -> None:
    response = running_stack.http.post("/jobs", json=["jobName", "x"])
    assert response.status_code == 422


def test_oversized_body_is_a_413(running_stack: StackUnderTest) -> None:
    huge = {"jobName": "x", "arguments": ["a" * 5000] * 20}  # about 100 KB, over the 64 KB test limit
    response = running_stack.http.post("/jobs", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"definitionKey": "no-such-definition"}, 404, "unknown_definition"),
        ({"definitionKey": "echo", "definitionVersion": 99}, 404, "unknown_definition"),
        ({"definitionKey": "echo", "priority": 10**9}, 422, "validation_error"),
        ({"definitionKey": "echo", "maxAttempts": 0}, 422, "validation_error"),
        ({"definitionKey": "echo", "timeoutSeconds": -1}, 422, "validation_error"),
        ({"kind": "native"}, 422, "validation_error"),
        ({"kind": "http.post", "url": "ftp://example.invalid/x"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_v1_bad_requests(running_stack: StackUnderTest, body: dict, status: int, code: str) -> None:
    response = running_stack.http.post("/v1/jobs", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_unknown_job_id_is_a_404(running_stack: StackUnderTest) -> None:
    for path in ("/v1/jobs/does-not-exist", "/v1/jobs/does-not-exist/events"):
        response = running_stack.http.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"


def test_bad_query_parameters_are_a_422(running_stack: StackUnderTest) -> None:
    assert running_stack.http.get("/v1/jobs", params={"limit": 0}).status_code == 422
    assert running_stack.http.get("/v1/jobs", params={"status": "exploded"}).status_code == 422


def test_rejected_requests_lose_nothing_already_accepted(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "keep me"}})
    for _ in range(5):
        running_stack.http.post("/jobs", content=b"garbage", headers={"content-type": "application/json"})
    job = running_stack.wait_status(job_id, "succeeded")
    assert job["result"] == {"message": "keep me"}
