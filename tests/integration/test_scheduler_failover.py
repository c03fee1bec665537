"""Scheduler failover: two scheduler processes share the `schedules` partitions; kill -9 the one that
owns a schedule and the other takes it over, with every slot in the window fired exactly once."""

import time
from datetime import datetime

from aiokafka.partitioner import murmur2
from pymongo import MongoClient

from shared import mongo, topics
from tests.conftest import StackUnderTest, wait_for


def partition_of(schedule_id: str) -> int:
    spec = next(spec for spec in topics.TOPICS if spec.name == topics.SCHEDULES)
    return (murmur2(schedule_id.encode()) & 0x7FFFFFFF) % spec.partitions


def fired_seconds(running_stack: StackUnderTest, schedule_id: str) -> list[int]:
    response = running_stack.http.get(f"/v1/schedules/{schedule_id}/executions", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return sorted(
        int(datetime.fromisoformat(job["labels"]["slot"].replace("Z", "+00:00")).timestamp())
        for job in response.json()["data"]
        if job["labels"].get("trigger") == "cron"
    )


def test_kill_9_of_the_owner_hands_its_schedules_over(running_stack: StackUnderTest) -> None:
    stack = running_stack.stack
    state = MongoClient(stack.mongo_url, tz_aware=True)["jobstream"][mongo.SCHEDULE_STATE]

    def owners() -> dict[int, str]:
        return {doc["partition"]: doc.get("owner") for doc in state.find({"partition": {"$exists": True}})}

    # Given a second scheduler process beside the stack's own
    first = next(p for p in stack.processes if p.name.startswith("scheduler") and p.alive())
    second = stack.start_service("scheduler", env={"SCHEDULER_INSTANCE_ID": "scheduler-b"}, instance="b")
    wait_for(
        lambda: "scheduler-b" in owners().values() and len(set(owners().values())) == 2,
        timeout=90,
        what="both schedulers to own partitions",
    )

    # And a schedule firing every second
    schedule_id = running_stack.http.post(
        "/v1/schedules",
        json={
            "name": "failover",
            "cron": "* * * * * *",
            "job": {"definitionKey": "noop", "definitionVersion": 1},
        },
    ).json()["scheduleId"]
    wait_for(lambda: len(fired_seconds(running_stack, schedule_id)) >= 3, timeout=60, what="first fires")
    partition = partition_of(schedule_id)
    owner = owners()[partition]
    victim, survivor = (second, first) if owner == "scheduler-b" else (first, second)
    survivor_id = "scheduler-b" if survivor is second else None

    # When the owner is killed with SIGKILL
    killed_at = time.time()
    victim.kill()

    # Then the survivor owns the partition and fires on
    def taken_over() -> bool:
        now_owner = owners().get(partition)
        return now_owner != owner and (survivor_id is None or now_owner == survivor_id)

    wait_for(taken_over, timeout=60, what="the survivor to take the partition over")
    takeover = time.time() - killed_at
    print(f"\nfailover: partition {partition} taken over {takeover:.1f} s after kill -9")
    resumed = wait_for(
        lambda: [s for s in fired_seconds(running_stack, schedule_id) if s > killed_at + takeover + 3],
        timeout=60,
        what="fires after the takeover",
    )
    assert resumed
    running_stack.http.post(f"/v1/schedules/{schedule_id}/pause")
    time.sleep(2)

    # And every second from the first fire to the last fired exactly once, across the kill
    seconds = fired_seconds(running_stack, schedule_id)
    assert len(seconds) == len(set(seconds)), f"a slot fired twice: {seconds}"
    assert seconds == list(range(seconds[0], seconds[-1] + 1)), f"a slot is missing: {seconds}"
    assert seconds[0] < killed_at < seconds[-1]
    running_stack.http.delete(f"/v1/schedules/{schedule_id}")
