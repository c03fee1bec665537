"""Statistics, seed 002 metrics, seed 004 observability and Prometheus, checked against real jobs.

The stack is shared by the whole session, so each test reads the figures before it runs its jobs and
checks the change."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import StackUnderTest, wait_for


def fresh(stack: StackUnderTest, path: str, **params: Any) -> dict[str, Any]:
    response = stack.http.get(path, params={"ttl": 0, **params} if path.startswith("/v1/metrics") else params)
    assert response.status_code == 200, response.text
    return response.json()


def until(stack: StackUnderTest, path: str, check: Callable[[dict], bool], what: str, **params: Any) -> dict:
    return wait_for(lambda: body if check(body := fresh(stack, path, **params)) else None, timeout=60, what=what)


def run_mixed_jobs(stack: StackUnderTest) -> dict[str, str]:
    ids = {f"echo{n}": stack.submit({"definitionKey": "echo", "params": {"message": f"m{n}"}}) for n in range(3)}
    ids["dead"] = stack.submit({"kind": "native", "program": "/bin/false"})
    ids["failed"] = stack.submit({"kind": "native", "program": "/nonexistent/program"})
    for name, job_id in ids.items():
        stack.wait_status(job_id, "succeeded" if name.startswith("echo") else {"failed", "dead_lettered"})
    return ids


def test_seed_002_metrics_count_the_new_jobs(running_stack: StackUnderTest) -> None:
    # Given the figures before
    before = fresh(running_stack, "/v1/metrics")
    echo_before = next(
        (d for d in fresh(running_stack, "/v1/metrics/definitions")["definitions"] if d["definitionKey"] == "echo"),
        {"total": 0, "byStatus": {"succeeded": 0}},
    )
    # When three echo jobs succeed and two native jobs fail
    run_mixed_jobs(running_stack)
    # Then the totals and statuses moved by exactly that
    old = before["summary"]["byStatus"]

    def failed(by_status: dict) -> int:
        return by_status["failed"] + by_status.get("dead_lettered", 0)

    after = until(
        running_stack,
        "/v1/metrics",
        lambda m: (
            m["summary"]["byStatus"]["succeeded"] >= old["succeeded"] + 3
            and failed(m["summary"]["byStatus"]) >= failed(old) + 2
        ),
        "metrics to count the finished jobs",
    )
    by_status = after["summary"]["byStatus"]
    assert after["summary"]["total"] >= before["summary"]["total"] + 5
    assert set(["queued", "running", "succeeded", "failed", "cancelling", "cancelled"]) <= set(by_status)
    assert 0 < after["performance"]["successRate"] < 1
    assert after["performance"]["avgProcessingTime"] >= 0 and after["performance"]["avgQueueTime"] >= 0
    assert after["throughput"]["lastHour"] >= before["throughput"]["lastHour"] + 5
    assert after["throughput"]["lastDay"] >= after["throughput"]["lastHour"]
    assert after["throughput"]["lastWeek"] >= after["throughput"]["lastDay"]
    echo = next(
        d for d in fresh(running_stack, "/v1/metrics/definitions")["definitions"] if d["definitionKey"] == "echo"
    )
    assert echo["definitionVersion"] == 1
    assert echo["total"] - echo_before["total"] >= 3 and echo["successRate"] == 1.0
    assert fresh(running_stack, "/v1/metrics/performance") == fresh(running_stack, "/v1/metrics")["performance"]

    series = fresh(running_stack, "/v1/metrics/throughput", hours=3)["data"]
    assert len(series) == 3
    assert series[-1]["period"].startswith(datetime.now(UTC).strftime("%Y-%m-%dT%H"))
    assert sum(point["completed"] for point in series) >= 3 and sum(point["failed"] for point in series) >= 2


def test_metrics_ttl_serves_the_cached_answer(running_stack: StackUnderTest) -> None:
    # Given an answer cached a moment ago (ttl=0 computes afresh and refreshes the cache)
    cached = fresh(running_stack, "/v1/metrics")
    # When a job finishes and the statistics count it (seen through an uncached endpoint)
    running_stack.wait_status(running_stack.submit({"definitionKey": "noop"}), "succeeded")
    until(
        running_stack, "/observability/metrics", lambda m: m["jobs"]["total"] > cached["summary"]["total"], "new total"
    )
    # Then a long ttl still serves the cached answer and ttl=0 the new one
    assert running_stack.http.get("/v1/metrics", params={"ttl": 3600}).json() == cached
    assert fresh(running_stack, "/v1/metrics")["summary"]["total"] > cached["summary"]["total"]
    assert running_stack.http.get("/v1/metrics/throughput", params={"hours": 169}).status_code == 422
    assert running_stack.http.get("/v1/metrics/throughput", params={"hours": 0}).status_code == 422


def test_stats_shows_totals_failures_cost_and_high_memory_arguments(running_stack: StackUnderTest) -> None:
    before = fresh(running_stack, "/stats")
    # When a job above its memory threshold (40 MB by default) runs twice with the same argument,
    # and one job fails
    for _ in range(2):
        job_id = running_stack.http.post(
            "/jobs", json={"jobName": "hungry", "arguments": ["memory_mb=60", "duration_ms=100", "fail_rate=0"]}
        ).json()["jobId"]
        running_stack.wait_status(job_id, "succeeded")
    running_stack.wait_status(running_stack.submit({"kind": "native", "program": "/nonexistent/x"}), "failed")

    # Then GET /stats counts them, in both seeds' shapes
    # (a job's document is written just before the statistics, so wait for the figures themselves)
    def counted(stats: dict) -> bool:
        arguments = {item["argument"]: item["count"] for item in stats["highMemoryArguments"]["arguments"]}
        return (
            stats["totalJobs"] >= before["totalJobs"] + 3
            and arguments.get("memory_mb=60", 0) >= 2
            and stats["failures"]["total"] > before["failures"]["total"]
        )

    after = until(running_stack, "/stats", counted, "stats to count the jobs")
    assert 0 <= after["overallSuccessRate"] <= 1 and isinstance(after["patterns"], list)
    hour = datetime.now(UTC).hour
    failures_now = {b["hour"]: b["failures"] for b in after["failuresByHour"]}
    failures_then = {b["hour"]: b["failures"] for b in before["failuresByHour"]}
    assert (
        failures_now[hour] - failures_then[hour] >= 1 or failures_now[(hour - 1) % 24] > failures_then[(hour - 1) % 24]
    )
    assert after["failures"]["total"] - before["failures"]["total"] >= 1
    memory = {item["argument"]: item["count"] for item in after["highMemoryArguments"]["arguments"]}
    assert memory.get("memory_mb=60", 0) >= 2
    cost = after["averageJobCost"]
    assert cost["jobs"] > before["averageJobCost"]["jobs"] and cost["average"] > 0
    assert cost["prices"] == {
        "perSecond": 0.05,
        "perCpuPercent": 0.01,
        "perMemoryUnit": 0.1,
        "memoryUnitMb": 256.0,
        "freeMemoryMb": 1024.0,
    }

    # and in another time zone the same failures move to other hours but keep their total
    kolkata = fresh(running_stack, "/stats", tz="Asia/Kolkata", groupBy="hour")
    assert kolkata["failures"]["total"] == sum(b["failures"] for b in kolkata["failuresByHour"])
    by_weekday = fresh(running_stack, "/stats", groupBy="weekday")["failures"]
    assert [b["bucket"] for b in by_weekday["buckets"]][:2] == ["Monday", "Tuesday"]
    bad = running_stack.http.get("/stats", params={"tz": "Mars/Olympus"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_timezone"


def test_observability_lists_executions_and_alerts(running_stack: StackUnderTest) -> None:
    metrics_before = fresh(running_stack, "/observability/metrics")
    ids = run_mixed_jobs(running_stack)

    failed = until(
        running_stack,
        "/observability/executions/failed",
        lambda b: b["count"] == 1,
        "the failed execution",
        jobId=ids["failed"],
    )
    assert failed["executions"][0]["status"] == "FAILED" and failed["executions"][0]["jobId"] == ids["failed"]
    assert fresh(running_stack, "/observability/executions/failed", jobId=ids["echo0"])["count"] == 0

    recent = until(
        running_stack,
        "/observability/executions/recent",
        lambda b: {ids["echo2"], ids["dead"]} <= {e["jobId"] for e in b["executions"]},
        "recent executions",
        limit=50,
    )
    stamps = [e["id"] for e in recent["executions"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    page = fresh(running_stack, "/observability/executions/recent", limit=2)
    next_page = fresh(running_stack, "/observability/executions/recent", limit=2, cursor=page["nextCursor"])
    assert next_page["executions"] and next_page["executions"][0]["id"] < page["executions"][-1]["id"]

    alerts = until(
        running_stack,
        "/observability/alerts",
        lambda b: {ids["dead"], ids["failed"]} <= {a["jobId"] for a in b["alerts"]},
        "alerts for both failures",
        limit=100,
    )
    reasons = {a["jobId"]: a["reason"] for a in alerts["alerts"]}
    assert reasons[ids["dead"]] == "job_dead_lettered" and reasons[ids["failed"]] == "job_failed"
    assert ids["echo0"] not in reasons
    assert fresh(running_stack, "/observability/alerts", limit=1)["count"] == 1

    metrics = until(
        running_stack,
        "/observability/metrics",
        lambda m: m["executions"]["total"] >= metrics_before["executions"]["total"] + 5,
        "execution counts",
    )
    assert metrics["executions"]["failed"] >= metrics_before["executions"]["failed"] + 2
    assert metrics["executions"]["successRate"].endswith("%")
    assert metrics["executions"]["recentHour"] >= 5 and metrics["alerts"]["recentFailures"] >= 2
    assert metrics["jobs"]["total"] >= metrics_before["jobs"]["total"] + 5


def test_health_checks_broker_database_and_lag(running_stack: StackUnderTest) -> None:
    body = until(running_stack, "/observability/health", lambda b: b["status"] == "healthy", "a healthy report")
    assert body["checks"]["broker"]["status"] == "up" and body["checks"]["broker"]["brokers"] >= 1
    assert body["checks"]["database"]["status"] == "up"
    assert "jobstream-analytics" in body["checks"]["consumerLag"]["groups"]


def test_prometheus_metrics_on_the_api_and_every_service(running_stack: StackUnderTest) -> None:
    running_stack.wait_status(running_stack.submit({"definitionKey": "echo", "params": {"message": "p"}}), "succeeded")
    text = wait_for(
        lambda: (
            t
            if 'jobstream_jobs{definition="echo@1",status="succeeded"}'
            in (t := running_stack.http.get("/metrics").text)
            else None
        ),
        what="jobs by status and definition",
    )
    assert "jobstream_queue_depth" in text and "jobstream_consumer_lag{" in text
    expected = {
        "analytics": "jobstream_attempt_duration_seconds_bucket",
        "executor": "jobstream_executor_running",
        "scheduler": "jobstream_scheduler_drift_seconds",
        "worker-registry": "python_info",
    }
    for service, series in expected.items():
        port = running_stack.stack.metrics_ports[service]
        body = wait_for(lambda port=port: _scrape(port), what=f"{service} metrics")
        assert series in body, service


def _scrape(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
