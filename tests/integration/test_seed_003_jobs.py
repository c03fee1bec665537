"""Seed 003's `/api/jobs`: scheduled jobs with typed commands, priorities, dependencies, status and history."""

from datetime import datetime

from tests.conftest import StackUnderTest, wait_for


def create(running_stack: StackUnderTest, **body: object) -> dict:
    payload = {
        "name": "job",
        "schedule": "0 3 * * *",
        "command": "script:/bin/true",
        "priority": "High",
        "dependencies": [],
        "retryPolicy": 3,
        **body,
    }
    response = running_stack.http.post("/api/jobs", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def test_crud_and_command_types(running_stack: StackUnderTest) -> None:
    # Given seed 003's example body
    job = create(running_stack, name="Daily Report Generation", command="script:/path/to/report.js")
    assert job["type"] == "script" and job["priority"] == "High" and job["status"] == "pending"
    assert job["nextRun"] is not None and job["retryPolicy"] == 3
    assert create(running_stack, command="https://api.example.com/test")["type"] == "api"
    assert create(running_stack, command='echo "Hello"')["type"] == "shell"

    # Then it can be read, updated with seed 003's update body, filtered and deleted
    job_id = job["id"]
    assert running_stack.http.get(f"/api/jobs/{job_id}").json()["name"] == "Daily Report Generation"
    updated = running_stack.http.put(
        f"/api/jobs/{job_id}", json={"schedule": "*/10 * * * *", "priority": "Medium", "retryPolicy": 2}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["schedule"] == "*/10 * * * *" and updated.json()["priority"] == "Medium"
    listed = running_stack.http.get("/api/jobs", params={"priority": "Medium", "status": "pending"}).json()
    assert job_id in [item["id"] for item in listed]
    assert all(item["priority"] == "Medium" for item in listed)
    assert running_stack.http.delete(f"/api/jobs/{job_id}").status_code == 200
    assert running_stack.http.get(f"/api/jobs/{job_id}").status_code == 404


def test_bad_input(running_stack: StackUnderTest) -> None:
    for body in (
        {"schedule": "0 25 * * *"},
        {"priority": "Urgent"},
        {"command": "script:"},
        {"dependencies": ["nope"]},
    ):
        payload = {"name": "x", "schedule": "0 3 * * *", "command": "ls -la", **body}
        response = running_stack.http.post("/api/jobs", json=payload)
        assert response.status_code == 422, (body, response.text)


def test_dependencies_cycles_and_delete_protection(running_stack: StackUnderTest) -> None:
    first = create(running_stack, name="extract")["id"]
    second = create(running_stack, name="load", dependencies=[first])["id"]
    cycle = running_stack.http.put(f"/api/jobs/{first}", json={"dependencies": [second]})
    assert cycle.status_code == 422 and cycle.json()["error"]["code"] == "dependency_cycle"
    assert (
        f"{first} -> {second} -> {first}" in cycle.json()["error"]["message"]
        or f"{second} -> {first} -> {second}" in cycle.json()["error"]["message"]
    )
    refused = running_stack.http.delete(f"/api/jobs/{first}")
    assert refused.status_code == 409 and refused.json()["error"]["dependents"] == [second]


def test_execute_status_and_history(running_stack: StackUnderTest) -> None:
    job_id = create(running_stack, name="echo", command="script:/bin/echo")["id"]
    executed = running_stack.http.post(f"/api/jobs/{job_id}/execute")
    assert executed.status_code == 202
    running_stack.wait_status(executed.json()["executionId"], "succeeded")
    status = wait_for(
        lambda: (s := running_stack.http.get(f"/api/jobs/{job_id}/status").json())["status"] == "success" and s,
        what="status success",
    )
    assert status["totalRuns"] == 1 and status["successCount"] == 1 and status["successRate"] == 100
    history = running_stack.http.get(f"/api/jobs/{job_id}/history").json()
    assert [run["executionId"] for run in history["executions"]] == [executed.json()["executionId"]]
    assert history["executions"][0]["status"] == "success" and history["executions"][0]["trigger"] == "manual"


def test_scheduled_dependencies_run_in_dependency_order(running_stack: StackUnderTest) -> None:
    # Given an upstream job taking 1.5 s every 4 seconds and a downstream job on the same schedule
    upstream = create(running_stack, name="upstream", schedule="*/4 * * * * *", command="sleep 1.5")["id"]
    downstream = create(
        running_stack, name="downstream", schedule="*/4 * * * * *", command="script:/bin/true", dependencies=[upstream]
    )["id"]

    def runs(job_id: str) -> list[dict]:
        return running_stack.http.get(f"/api/jobs/{job_id}/history").json()["executions"]

    # When both have run a few slots
    wait_for(
        lambda: len([r for r in runs(downstream) if r["status"] == "success"]) >= 2,
        timeout=90,
        what="two downstream runs",
    )
    for job_id in (downstream, upstream):
        running_stack.http.put(f"/api/jobs/{job_id}", json={"schedule": "0 3 1 1 *"})

    # Then each downstream run of a slot started after the upstream run of that slot finished
    upstream_by_slot = {run["scheduledAt"]: run for run in runs(upstream)}
    checked = 0
    for run in runs(downstream):
        if run["status"] != "success":
            continue
        before = upstream_by_slot[run["scheduledAt"]]
        assert before["status"] == "success"
        assert datetime.fromisoformat(run["startedAt"]) >= datetime.fromisoformat(before["finishedAt"])
        checked += 1
    assert checked >= 2
