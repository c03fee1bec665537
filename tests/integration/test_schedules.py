"""Cron schedules end to end: API -> `schedules` topic -> scheduler -> executor -> projection."""

import time
from datetime import datetime

from tests.conftest import StackUnderTest, wait_for


def slots_of(running_stack: StackUnderTest, schedule_id: str) -> list[str]:
    response = running_stack.http.get(f"/v1/schedules/{schedule_id}/executions", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [job["labels"]["slot"] for job in response.json()["data"] if job["labels"].get("trigger") == "cron"]


def assert_every_second_once(slots: list[str]) -> None:
    seconds = sorted(int(datetime.fromisoformat(slot.replace("Z", "+00:00")).timestamp()) for slot in slots)
    assert len(seconds) == len(set(seconds)), f"a slot fired twice: {sorted(slots)}"
    assert seconds == list(range(seconds[0], seconds[-1] + 1)), f"a slot is missing: {sorted(slots)}"


def test_six_field_schedule_fires_every_second_once(running_stack: StackUnderTest) -> None:
    # Given a schedule firing every second an in-process no-op job
    response = running_stack.http.post(
        "/v1/schedules",
        json={
            "name": "every-second",
            "cron": "* * * * * *",
            "job": {"definitionKey": "noop", "definitionVersion": 1},
        },
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    schedule_id = schedule["scheduleId"]
    # Then it is readable at once, with its next fire time
    got = running_stack.http.get(f"/v1/schedules/{schedule_id}")
    assert got.status_code == 200 and got.json()["nextFireAt"] is not None

    # When it has fired for at least 5 seconds
    wait_for(lambda: len(slots_of(running_stack, schedule_id)) >= 6, timeout=60, what="6 fires")
    paused = running_stack.http.post(f"/v1/schedules/{schedule_id}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True

    # Then every second between the first and last fire fired exactly once, and each job succeeded
    slots = slots_of(running_stack, schedule_id)
    assert_every_second_once(slots)
    jobs = running_stack.http.get(f"/v1/schedules/{schedule_id}/executions", params={"limit": 1000}).json()["data"]
    wait_for(
        lambda: all(running_stack.job(job["jobId"])["status"] == "succeeded" for job in jobs),
        timeout=60,
        what="every fired job to succeed",
    )

    # And once paused it stops firing (a slot already in flight may still land)
    time.sleep(2)
    settled = len(slots_of(running_stack, schedule_id))
    time.sleep(3)
    assert len(slots_of(running_stack, schedule_id)) == settled
    running_stack.http.delete(f"/v1/schedules/{schedule_id}")


def test_trigger_now_runs_the_job_once(running_stack: StackUnderTest) -> None:
    schedule_id = running_stack.http.post(
        "/v1/schedules",
        json={
            "cron": "0 0 1 1 *",
            "job": {"kind": "native", "program": "/bin/echo", "args": ["hi"]},
        },
    ).json()["scheduleId"]
    response = running_stack.http.post(f"/v1/schedules/{schedule_id}/trigger")
    assert response.status_code == 202
    job = running_stack.wait_status(response.json()["jobId"], "succeeded")
    assert job["labels"]["schedule_id"] == schedule_id and job["labels"]["trigger"] == "manual"
    listed = wait_for(
        lambda: running_stack.http.get(f"/v1/schedules/{schedule_id}/executions").json()["data"],
        what="the execution listed",
    )
    assert [item["jobId"] for item in listed] == [job["jobId"]]


def test_invalid_schedules_are_refused_with_the_field(running_stack: StackUnderTest) -> None:
    job = {"definitionKey": "noop"}
    cases = [
        ({"cron": "61 * * * * *", "job": job}, "cron.second"),
        ({"cron": "* * * * MON-FUN", "job": job}, "cron.day_of_week"),
        ({"cron": "* * *", "job": job}, "cron"),
        ({"cron": "* * * * *", "timezone": "Mars/Base", "job": job}, "timezone"),
    ]
    for body, field in cases:
        response = running_stack.http.post("/v1/schedules", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"].startswith(f"{field}:"), response.text
    assert running_stack.http.get("/v1/schedules/nope").status_code == 404


def test_schedule_dependencies_refuse_cycles_and_protect_dependencies(running_stack: StackUnderTest) -> None:
    def create(depends_on: list[str]) -> dict:
        return running_stack.http.post(
            "/v1/schedules", json={"cron": "0 0 1 1 *", "job": {"definitionKey": "noop"}, "dependsOn": depends_on}
        )

    first = create([]).json()["scheduleId"]
    second = create([first]).json()["scheduleId"]
    # a cycle first -> second -> first is refused, naming it
    response = running_stack.http.patch(f"/v1/schedules/{first}", json={"dependsOn": [second]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "dependency_cycle"
    assert set(response.json()["error"]["cycle"]) == {first, second}
    # self-dependency and unknown ids are refused
    assert running_stack.http.patch(f"/v1/schedules/{first}", json={"dependsOn": [first]}).status_code == 422
    unknown = create(["0000-nope"])
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_dependency"
    # deleting a dependency is a 409 listing who depends on it
    refused = running_stack.http.delete(f"/v1/schedules/{first}")
    assert refused.status_code == 409 and refused.json()["error"]["dependents"] == [second]
    assert running_stack.http.delete(f"/v1/schedules/{second}").status_code == 200
    assert running_stack.http.delete(f"/v1/schedules/{first}").status_code == 200
    assert running_stack.http.get(f"/v1/schedules/{first}").status_code == 404
