"""Seeds 000/001 end to end: ad-hoc native jobs through the API, Kafka, the executor and the projection."""

import sys

from services.executor.settings import BUNDLED_DUMMY_JOB as DUMMY_JOB
from tests.conftest import StackUnderTest, wait_for


def seed_job(running_stack: StackUnderTest, job_id: str) -> dict:
    listed = running_stack.http.get("/jobs", params={"limit": 1000}).json()
    return next((job for job in listed if job["jobId"] == job_id), {})


def test_adhoc_job_completes_with_exit_code_and_metrics(running_stack: StackUnderTest) -> None:
    # Given a seed-001 request for the bundled dummy job that holds 10 MB for 400 ms
    response = running_stack.http.post(
        "/jobs", json={"jobName": "report-7", "arguments": ["duration_ms=400", "memory_mb=10", "fail_rate=0"]}
    )
    # Then it is accepted at once in seed 001's shape
    assert response.status_code == 200
    accepted = response.json()
    assert set(accepted) == {"jobId", "status"}

    # When it has run
    job = running_stack.wait_status(accepted["jobId"], "succeeded")

    # Then exit code, duration, CPU and peak memory are recorded
    assert job["exitCode"] == 0
    assert job["durationMs"] >= 400
    assert job["peakRssBytes"] >= 10 * 1024 * 1024
    assert job["cpuPercent"] is not None and job["cpuPercent"] >= 0
    assert job["memoryExceeded"] is False  # interpreter + 10 MB is under the 40 MB default threshold
    listed = seed_job(running_stack, accepted["jobId"])
    assert listed["status"] == "completed"
    assert listed["jobName"] == "report-7"
    assert listed["args"] == ["duration_ms=400", "memory_mb=10", "fail_rate=0"]
    assert listed["retries"] == 0 and listed["exitCode"] == 0 and listed["duration"] >= 400


def test_memory_above_threshold_is_recorded(running_stack: StackUnderTest) -> None:
    job_id = running_stack.http.post(
        "/jobs", json={"jobName": "big", "arguments": ["memory_mb=60", "duration_ms=300", "fail_rate=0"]}
    ).json()["jobId"]
    job = running_stack.wait_status(job_id, "succeeded")
    assert job["memoryExceeded"] is True
    assert job["peakRssBytes"] >= 60 * 1024 * 1024


def test_failing_job_is_retried_then_fails(running_stack: StackUnderTest) -> None:
    # Given a job that always exits 3, and DEFAULT_MAX_RETRIES=1 (seed 000's default)
    job_id = running_stack.http.post("/jobs", json={"jobName": "always-fails", "arguments": ["exit_code=3"]}).json()[
        "jobId"
    ]

    # When it has run out of attempts
    job = running_stack.wait_status(job_id, {"dead_lettered", "failed"})

    # Then it ran twice, both attempts failed with exit code 3, and seed 001 reports it failed
    assert [attempt["exitCode"] for attempt in job["attempts"]] == [3, 3]
    assert job["retries"] == 1
    listed = seed_job(running_stack, job_id)
    assert listed["status"] == "failed" and listed["retries"] == 1 and listed["exitCode"] == 3


def test_concurrent_jobs_run_at_the_same_time(running_stack: StackUnderTest) -> None:
    ids = [
        running_stack.http.post(
            "/jobs", json={"jobName": f"parallel-{n}", "arguments": ["duration_ms=1500", "fail_rate=0"]}
        ).json()["jobId"]
        for n in range(4)
    ]
    jobs = [running_stack.wait_status(job_id, "succeeded") for job_id in ids]
    # Every job started before any of them finished: they overlapped in time.
    assert max(job["startedAt"] for job in jobs) < min(job["finishedAt"] for job in jobs)


def test_shell_metacharacters_reach_the_program_literally(running_stack: StackUnderTest) -> None:
    tricky = ["; rm -rf /", "$(id)", "`whoami`", "'quoted' \"double\"", "a && b | c > /tmp/x"]
    job_id = running_stack.submit({"kind": "native", "program": "/bin/echo", "args": tricky})
    job = running_stack.wait_status(job_id, "succeeded")
    assert job["outputTail"] == " ".join(tricky) + "\n"


def test_get_right_after_post_finds_the_job(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"kind": "native", "program": "/bin/sleep", "args": ["0.2"]})
    response = running_stack.http.get(f"/v1/jobs/{job_id}")
    assert response.status_code == 200
    assert response.json()["status"] in {"queued", "running", "succeeded"}


def test_job_events_are_listed_in_order(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "echo", "definitionVersion": 1, "params": {"message": "hi"}})
    running_stack.wait_status(job_id, "succeeded")

    # The three events travel on three topics: the status can read "succeeded" a moment before
    # the requested and started events are folded in, so wait for all of them.
    def all_three() -> list | None:
        events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
        return events if len(events) >= 3 else None

    events = wait_for(all_three, timeout=20, what="three lifecycle events")
    assert [event["type"] for event in events] == ["job.requested", "job.started", "job.finished"]


def test_v1_list_filters_by_status_and_pages(running_stack: StackUnderTest) -> None:
    ids = [running_stack.submit({"definitionKey": "echo", "params": {"message": str(n)}}) for n in range(3)]
    for job_id in ids:
        running_stack.wait_status(job_id, "succeeded")
    first = running_stack.http.get("/v1/jobs", params={"status": "succeeded", "limit": 2}).json()
    assert first["count"] == 2 and first["nextCursor"]
    assert all(job["status"] == "succeeded" for job in first["data"])
    second = running_stack.http.get(
        "/v1/jobs", params={"status": "succeeded", "limit": 2, "cursor": first["nextCursor"]}
    ).json()
    first_ids = {job["jobId"] for job in first["data"]}
    assert not first_ids & {job["jobId"] for job in second["data"]}
    # Newest first: the three jobs just made lead the list, in reverse order of submission.
    assert [job["jobId"] for job in first["data"]] == [ids[2], ids[1]]


def test_trace_spans_api_executor_and_projection(running_stack: StackUnderTest) -> None:
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "traced"}})
    running_stack.wait_status(job_id, "succeeded")

    def spans_for_job() -> dict[str, set[str]] | None:
        spans = running_stack.spans()
        executor = [s for s in spans if s["attributes"].get("job.id") == job_id and s["name"].startswith("run ")]
        if not executor:
            return None
        trace_id = executor[0]["context"]["trace_id"]
        services = {s["resource"]["attributes"]["service.name"] for s in spans if s["context"]["trace_id"] == trace_id}
        return {"services": services} if {"api", "executor", "analytics"} <= services else None

    found = wait_for(spans_for_job, timeout=15, what="one trace across api, executor and analytics")
    assert {"api", "executor", "analytics"} <= found["services"]


def test_batch_submission_accepts_many_jobs_at_once(running_stack: StackUnderTest) -> None:
    jobs = [{"definitionKey": "echo", "params": {"message": f"m{n}"}} for n in range(25)]
    response = running_stack.http.post("/v1/jobs/batch", json={"jobs": jobs})
    assert response.status_code == 201, response.text
    items = response.json()["data"]
    assert len(items) == 25 and len({item["jobId"] for item in items}) == 25
    results = [running_stack.wait_status(item["jobId"], "succeeded")["result"]["message"] for item in items]
    assert results == [f"m{n}" for n in range(25)]


def test_batch_with_one_bad_job_is_rejected_whole(running_stack: StackUnderTest) -> None:
    jobs = [{"definitionKey": "echo"}, {"definitionKey": "no-such-definition"}]
    response = running_stack.http.post("/v1/jobs/batch", json={"jobs": jobs})
    assert response.status_code == 404
    assert response.json()["error"]["index"] == 1


def test_process_over_its_memory_threshold_is_killed_when_asked(running_stack: StackUnderTest) -> None:
    # Given a job that would hold 200 MB for 20 s, with a 64 MB threshold that kills
    job_id = running_stack.submit(
        {
            "kind": "native",
            "program": sys.executable,
            "args": [str(DUMMY_JOB), "greedy", "memory_mb=200", "duration_ms=20000", "fail_rate=0"],
            "memoryThresholdBytes": 64 * 1024 * 1024,
            "killOnMemoryThreshold": True,
        }
    )
    # Then it is stopped long before its 20 s are up, and the run says why
    job = running_stack.wait_status(job_id, {"failed", "dead_lettered"}, timeout=30)
    assert job["memoryExceeded"] is True
    assert "memory" in job["error"]
    assert job["durationMs"] < 15_000
