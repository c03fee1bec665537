"""Seed 002's definitions end to end: params validated against the definition's schema, the
built-in definitions doing real work, progress events, lifecycle hooks and timeouts."""

import pytest

from tests.conftest import StackUnderTest, wait_for


def events_named(running_stack: StackUnderTest, job_id: str, prefix: str = "") -> list[dict]:
    events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
    return [e["data"] for e in events if e["type"] == "job.progressed" and e["data"]["name"].startswith(prefix)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"definitionKey": "compute.math", "params": {"operation": "divide", "numbers": [1]}}, "params.operation"),
        ({"definitionKey": "compute.math", "params": {"operation": "sum", "numbers": [1, "x"]}}, "params.numbers.1"),
        ({"definitionKey": "compute.math", "params": {"operation": "sum"}}, "params.numbers"),
        ({"definitionKey": "echo", "params": {"message": "hi", "bogus": 1}}, "params.bogus"),
        ({"definitionKey": "call.api", "params": {"endpoint": "not a url"}}, "params.endpoint"),
        ({"definitionKey": "process.batch", "params": {"items": [1], "batchSize": 0}}, "params.batchSize"),
    ],
)
def test_params_failing_the_schema_are_a_422_naming_the_field(
    running_stack: StackUnderTest, body: dict, field: str
) -> None:
    response = running_stack.http.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field
    assert error["message"].startswith(field)


def test_unknown_version_lists_the_known_ones(running_stack: StackUnderTest) -> None:
    response = running_stack.http.post("/v1/jobs", json={"definitionKey": "compute.math", "definitionVersion": 7})
    assert response.status_code == 404
    assert response.json()["error"]["knownVersions"] == [1]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"operation": "sum", "numbers": [1, 2, 3, 4]}, {"sum": 10}),
        ({"operation": "product", "numbers": [2, 3, 7]}, {"product": 42}),
        ({"operation": "product", "numbers": [10**12, 10**12]}, {"product": str(10**24)}),
        ({"operation": "fibonacci", "numbers": [10, 25]}, {"fibonacci": {"10": 55, "25": 75025}}),
        (
            {"operation": "prime", "numbers": [97, 100]},
            {"prime": {"97": {"isPrime": True, "primesUpTo": 25}, "100": {"isPrime": False, "primesUpTo": 25}}},
        ),
    ],
)
def test_compute_math(running_stack: StackUnderTest, params: dict, expected: dict) -> None:
    job_id = running_stack.submit({"definitionKey": "compute.math", "definitionVersion": 1, "params": params})
    result = running_stack.wait_status(job_id, "succeeded")["result"]
    assert {key: result[key] for key in expected} == expected


def test_cpu_bound_job_does_not_stall_the_executor(running_stack: StackUnderTest) -> None:
    # Given a recursive fibonacci(37) (seconds of CPU) computing in the executor's process pool
    slow = running_stack.submit(
        {"definitionKey": "compute.math", "params": {"operation": "fibonacci", "numbers": [37]}}
    )
    running_stack.wait_status(slow, "running")
    # When quick jobs arrive meanwhile
    quick = [running_stack.submit({"definitionKey": "echo", "params": {"message": str(n)}}) for n in range(3)]
    # Then they complete before the computation does
    quick_jobs = [running_stack.wait_status(job_id, "succeeded") for job_id in quick]
    slow_job = running_stack.wait_status(slow, "succeeded", timeout=120)
    assert slow_job["result"]["fibonacci"] == {"37": 24157817}
    assert max(job["finishedAt"] for job in quick_jobs) < slow_job["finishedAt"]


def test_process_data_aggregates_a_generated_dataset(running_stack: StackUnderTest) -> None:
    body = {
        "definitionKey": "process.data",
        "params": {"dataset": "sales-2024", "operation": "aggregate", "size": 5000},
    }
    first = running_stack.wait_status(running_stack.submit(body), "succeeded")["result"]
    second = running_stack.wait_status(running_stack.submit(body), "succeeded")["result"]
    assert first["records"] == 5000
    assert sum(group["count"] for group in first["groups"].values()) == 5000
    assert first["groups"] == second["groups"]  # the same dataset name gives the same data


def test_process_data_filters_inline_records(running_stack: StackUnderTest) -> None:
    records = [{"id": n, "amount": n * 10.0} for n in range(10)]
    job_id = running_stack.submit(
        {
            "definitionKey": "process.data",
            "params": {"dataset": "inline", "operation": "filter", "records": records, "minAmount": 65},
        }
    )
    result = running_stack.wait_status(job_id, "succeeded")["result"]
    assert result["matched"] == 3
    assert [record["id"] for record in result["sample"]] == [7, 8, 9]


def test_call_api_makes_a_real_http_request(running_stack: StackUnderTest) -> None:
    endpoint = f"{running_stack.stack.api_url}/healthz"
    job_id = running_stack.submit({"definitionKey": "call.api", "params": {"endpoint": endpoint, "method": "GET"}})
    result = running_stack.wait_status(job_id, "succeeded")["result"]
    assert result["status"] == 200
    assert result["body"] == {"status": "ok"}


def test_call_api_4xx_fails_without_retry(running_stack: StackUnderTest) -> None:
    endpoint = f"{running_stack.stack.api_url}/no-such-path"
    job_id = running_stack.submit({"definitionKey": "call.api", "params": {"endpoint": endpoint}})
    job = running_stack.wait_status(job_id, {"failed", "dead_lettered"})
    assert job["status"] == "failed"
    assert len(job["attempts"]) == 1
    assert "HTTP 404" in job["error"]


def test_process_batch_reports_progress_per_batch(running_stack: StackUnderTest) -> None:
    items = [f"item{n}" for n in range(12)]
    job_id = running_stack.submit({"definitionKey": "process.batch", "params": {"items": items, "batchSize": 5}})
    job = running_stack.wait_status(job_id, "succeeded")
    assert job["result"]["processed"] == 12 and job["result"]["batches"] == 3
    progress = wait_for(
        lambda: (found := events_named(running_stack, job_id, "progress")) and len(found) == 3 and found,
        15,
        what="three progress events",
    )
    assert [event["data"]["processed"] for event in progress] == [5, 10, 12]
    assert progress[-1]["data"]["percent"] == 100.0


def test_hooks_run_around_a_successful_job(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "hooked", "params": {}})
    running_stack.wait_status(job_id, "succeeded")
    hooks = wait_for(
        lambda: (found := events_named(running_stack, job_id, "hook.")) and len(found) == 3 and found,
        15,
        what="three hook events",
    )
    assert [event["name"] for event in hooks] == ["hook.onStart", "hook.onSuccess", "hook.onEnd"]


def test_a_raising_hook_is_recorded_and_the_executor_carries_on(running_stack: StackUnderTest) -> None:
    # Given a failing job whose onStart and onFail hooks raise
    job_id = running_stack.submit(
        {"definitionKey": "hooked", "params": {"fail": True, "raiseIn": ["onStart", "onFail"]}}
    )
    job = running_stack.wait_status(job_id, {"failed", "dead_lettered"})
    # Then the job's own failure is what is reported, each hook failure is an event
    assert "asked to fail" in job["error"]
    events = wait_for(
        lambda: (found := events_named(running_stack, job_id, "hook")) and len(found) == 5 and found,
        15,
        what="hook events",
    )
    failures = [event["data"]["hook"] for event in events if event["name"] == "hook.failed"]
    assert failures == ["onStart", "onFail"]
    assert "onEnd" in [event["name"].removeprefix("hook.") for event in events]
    # And the executor still runs jobs
    echo = running_stack.submit({"definitionKey": "echo", "params": {"message": "still here"}})
    assert running_stack.wait_status(echo, "succeeded")["result"] == {"message": "still here"}


def test_timeout_ends_the_attempt_as_timed_out_then_retries(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit(
        {
            "definitionKey": "sleep",
            "params": {"seconds": 60},
            "timeoutSeconds": 0.5,
            "maxAttempts": 2,
            "retryPolicy": {"baseSeconds": 0.2, "jitter": 0},
        }
    )
    job = running_stack.wait_status(job_id, "dead_lettered", timeout=60)
    assert [attempt["status"] for attempt in job["attempts"]] == ["timed_out", "timed_out"]
    assert all(attempt["durationMs"] < 30_000 for attempt in job["attempts"])
