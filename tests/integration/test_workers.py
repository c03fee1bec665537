"""Seeds 002/003 workers end to end: the registry's projection, capability routing, health when
heartbeats stop, drain, and orphan recovery after kill -9 (extra executor processes per test)."""

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from infra.processes import ManagedProcess
from shared import topics
from shared.events import WorkerHeartbeat, encode
from tests.conftest import StackUnderTest, wait_for

StartExecutor = Callable[..., ManagedProcess]


@pytest.fixture
def start_executor(running_stack: StackUnderTest) -> Iterator[StartExecutor]:
    """Start extra executor processes; each is stopped (and forgotten by the stack) at the end."""
    started: list[ManagedProcess] = []

    def start(worker_id: str, capabilities: str, slots: int = 10, wait: bool = True) -> ManagedProcess:
        process = running_stack.stack.start_service(
            "executor",
            instance=worker_id,
            env={"WORKER_ID": worker_id, "WORKER_CAPABILITIES": capabilities, "MAX_CONCURRENT_EXECUTIONS": str(slots)},
        )
        started.append(process)
        if wait:
            wait_for(lambda: worker(running_stack, worker_id).get("status") == "idle", 60, 0.3, f"{worker_id} live")
        return process

    yield start
    for process in started:
        process.stop(grace=20)
        if process in running_stack.stack.processes:
            running_stack.stack.processes.remove(process)


def worker(running_stack: StackUnderTest, worker_id: str) -> dict[str, Any]:
    response = running_stack.http.get(f"/api/workers/{worker_id}")
    return response.json() if response.status_code == 200 else {}


def submit_native(running_stack: StackUnderTest, capability: str, seconds: float, **extra: Any) -> str:
    return running_stack.submit(
        {"kind": "native", "program": "/bin/sleep", "args": [str(seconds)], "capability": capability, **extra}
    )


def test_registry_lists_the_stack_executor_in_seed_003_shape(running_stack: StackUnderTest) -> None:
    # Given the session stack's executor heartbeating
    workers = running_stack.http.get("/api/workers").json()
    # Then it is listed, live, with seed 003's fields
    live = [w for w in workers["workers"] if w["status"] != "offline"]
    assert live, workers
    one = live[0]
    assert set(one["healthStatus"]) == {"status", "message", "consecutiveFailures", "lastPing"}
    assert one["healthStatus"]["status"] in ("healthy", "warning", "degraded")
    assert "script" in one["capabilities"] and isinstance(one["loadPercentage"], int) and one["uptime"]
    assert workers["clusterStatus"]["activeWorkers"] >= 1
    stats = running_stack.http.get("/api/workers/stats").json()
    assert stats["clusterStatus"]["totalWorkers"] >= 1 and stats["capabilities"]["script"]["activeWorkers"] >= 1
    assert running_stack.http.get("/api/workers/nobody").status_code == 404

    # When a manual job outcome is released as a failure, then as a success (seed 003's release)
    before = one["healthStatus"]["consecutiveFailures"]
    response = running_stack.http.post(f"/api/workers/{one['id']}/release", json={"jobSuccess": False})
    assert response.status_code == 202, response.text
    # Then the failure streak follows
    wait_for(
        lambda: worker(running_stack, one["id"])["healthStatus"]["consecutiveFailures"] == before + 1,
        30,
        0.2,
        "failure counted",
    )
    running_stack.http.post(f"/api/workers/{one['id']}/release", json={"jobSuccess": True})
    wait_for(lambda: worker(running_stack, one["id"])["healthStatus"]["consecutiveFailures"] == 0, 30, 0.2, "reset")


def test_capability_routing_refusal_queueing_and_assignment(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given no worker with capability "gpu": a job needing it is refused in seed 003's shape
    refused = running_stack.http.post("/v1/jobs", json={"kind": "native", "program": "/bin/true", "capability": "gpu"})
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "no_compatible_worker" and error["compatibleWorkers"] == []
    assert error["availableCompatibleWorkers"] == [] and error["clusterStatus"]["activeWorkers"] >= 1
    assert "queueIfNoWorker" in error["suggestions"]

    # When the client asks to queue it, it is accepted and waits
    waiting = submit_native(running_stack, "gpu", 0.1, queueIfNoWorker=True)
    time.sleep(2)
    assert running_stack.job(waiting)["status"] == "queued"

    # When an executor with "gpu" starts, the waiting job and new gpu jobs run there, and only there
    start_executor("w-gpu", "gpu")
    later = [submit_native(running_stack, "gpu", 0.1) for _ in range(6)]
    jobs = [running_stack.wait_status(job_id, "succeeded") for job_id in [waiting, *later]]
    assert {job["workerId"] for job in jobs} == {"w-gpu"}
    # and jobs the gpu worker cannot run never land on it
    plain = [running_stack.submit({"definitionKey": "noop"}) for _ in range(6)]
    assert all(running_stack.wait_status(job_id, "succeeded")["workerId"] != "w-gpu" for job_id in plain)

    listed = running_stack.http.get("/api/workers/capability/gpu").json()
    assert [w["id"] for w in listed["workers"]] == ["w-gpu"] and listed["availableWorkers"] == ["w-gpu"]

    # Then assigning a gpu job to a worker without gpu is refused with the compatible workers named
    other = next(
        w["id"]
        for w in running_stack.http.get("/v1/workers").json()["data"]
        if "gpu" not in w["capabilities"] and w["status"] != "offline"
    )
    mismatch = running_stack.http.post("/api/workers/assign", json={"workerId": other, "jobId": later[0]})
    assert mismatch.status_code == 400
    body = mismatch.json()
    assert body["error"] == f"Worker {other} doesn't support 'gpu' commands"
    assert body["compatibleWorkers"] == ["w-gpu"] and body["availableCompatibleWorkers"] == ["w-gpu"]
    assert set(body["clusterStatus"]) >= {
        "totalWorkers",
        "activeWorkers",
        "idleWorkers",
        "busyWorkers",
        "offlineWorkers",
    }
    assert body["suggestions"] == "Try assigning to: w-gpu"


def test_health_goes_unresponsive_then_offline_when_heartbeats_stop(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given a live, healthy worker
    process = start_executor("w-pause", "pause")
    assert worker(running_stack, "w-pause")["healthStatus"]["status"] == "healthy"
    # When it stops heartbeating (frozen with SIGSTOP)
    process.signal(signal.SIGSTOP)
    try:
        # Then it turns unresponsive, then offline
        wait_for(
            lambda: worker(running_stack, "w-pause")["healthStatus"]["status"] == "unresponsive",
            30,
            0.2,
            "unresponsive",
        )
        wait_for(lambda: worker(running_stack, "w-pause")["status"] == "offline", 30, 0.2, "offline")
        assert worker(running_stack, "w-pause")["healthStatus"]["status"] == "offline"
        # and no job needing its capability is accepted any more
        assert (
            running_stack.http.post(
                "/v1/jobs", json={"kind": "native", "program": "/bin/true", "capability": "pause"}
            ).status_code
            == 503
        )
    finally:
        process.signal(signal.SIGCONT)
    # When it resumes, it is healthy again
    wait_for(lambda: worker(running_stack, "w-pause")["healthStatus"]["status"] == "healthy", 30, 0.2, "healthy again")


def test_drain_finishes_running_jobs_then_the_executor_exits(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given a worker running three 6-second jobs (long enough to outlast a group rebalance)
    process = start_executor("w-drain", "drainable")
    job_ids = [submit_native(running_stack, "drainable", 6) for _ in range(3)]
    wait_for(lambda: len(worker(running_stack, "w-drain")["runningJobIds"]) == 3, 60, 0.2, "3 running")
    # When it is drained
    response = running_stack.http.post("/v1/workers/w-drain/drain")
    assert response.status_code == 202, response.text
    wait_for(lambda: worker(running_stack, "w-drain")["status"] == "draining", 10, 0.1, "draining")
    # and a new job for it arrives meanwhile (queued until a drainable worker exists)
    late = submit_native(running_stack, "drainable", 0.1)
    # Then the running jobs succeed there, the process exits by itself, and the worker is offline
    jobs = [running_stack.wait_status(job_id, "succeeded") for job_id in job_ids]
    assert {job["workerId"] for job in jobs} == {"w-drain"}
    wait_for(lambda: not process.alive(), 30, 0.2, "executor exit")
    assert process.popen is not None and process.popen.returncode == 0
    wait_for(lambda: worker(running_stack, "w-drain")["status"] == "offline", 15, 0.2, "offline")
    assert running_stack.job(late)["status"] == "queued"
    # When another drainable worker starts, the late job runs there
    start_executor("w-drain-2", "drainable")
    assert running_stack.wait_status(late, "succeeded")["workerId"] == "w-drain-2"


def test_drain_hands_requests_claimed_ahead_to_the_next_worker(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given four 8-second jobs waiting for a worker with their capability, and a one-slot worker
    # that starts and reads them in one go: it runs one and holds the leases of the other three
    # (claimed ahead of its free slots)
    job = {"kind": "native", "program": "/bin/sleep", "args": ["8"], "capability": "handoff", "queueIfNoWorker": True}
    response = running_stack.http.post("/v1/jobs/batch", json={"jobs": [job] * 4})
    assert response.status_code == 201, response.text
    job_ids = [item["jobId"] for item in response.json()["data"]]
    process = start_executor("w-handoff", "handoff", slots=1, wait=False)
    leases = MongoClient(running_stack.stack.mongo_url)["jobstream"]["leases"]
    first_attempts = {"_id": {"$in": [f"{job_id}:1" for job_id in job_ids]}}

    def all_claimed() -> bool:
        return [lease["worker_id"] for lease in leases.find(first_attempts)] == ["w-handoff"] * 4

    wait_for(all_claimed, 60, 0.1, "four leases claimed in one round trip")
    running = wait_for(
        lambda: [j for j in job_ids if running_stack.job(j)["status"] == "running"], 10, 0.1, "one running"
    )
    waiting = [job_id for job_id in job_ids if job_id not in running]
    assert len(running) == 1
    wait_for(lambda: worker(running_stack, "w-handoff").get("status") == "busy", 30, 0.2, "registered")
    # When it is drained
    assert running_stack.http.post("/v1/workers/w-handoff/drain").status_code == 202
    wait_for(lambda: worker(running_stack, "w-handoff")["status"] == "draining", 5, 0.1, "draining")
    # Then it gives the claimed leases back at once, finishes its running job and exits
    wait_for(lambda: len(list(leases.find(first_attempts))) == 1, 5, 0.1, "claimed leases released")
    assert running_stack.wait_status(running[0], "succeeded")["workerId"] == "w-handoff"
    wait_for(lambda: not process.alive(), 30, 0.2, "executor exit")
    assert {running_stack.job(job_id)["status"] for job_id in waiting} == {"queued"}
    # and the next worker with that capability runs the other three
    start_executor("w-handoff-2", "handoff")
    for job_id in waiting:
        assert running_stack.wait_status(job_id, "succeeded", timeout=60)["workerId"] == "w-handoff-2"


def test_kill_9_mid_jobs_reruns_every_attempt_elsewhere_and_loses_nothing(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given an executor running 24 eight-second jobs (3 attempts each), and a second one joining mid-load
    victim = start_executor("w-kill-1", "killtest", slots=30)
    retry = {"baseSeconds": 0.5, "maxSeconds": 1, "factor": 1, "jitter": 0}
    job_ids = [submit_native(running_stack, "killtest", 8, maxAttempts=3, retryPolicy=retry) for _ in range(24)]
    wait_for(lambda: len(worker(running_stack, "w-kill-1")["runningJobIds"]) >= 20, 60, 0.2, ">= 20 in flight")
    in_flight = set(worker(running_stack, "w-kill-1")["runningJobIds"])
    start_executor("w-kill-2", "killtest", slots=30, wait=False)
    time.sleep(1)

    # When the first executor is killed with SIGKILL
    victim.signal(signal.SIGKILL)
    killed_at = time.monotonic()

    # Then every job still succeeds: the killed attempts end as crashed and run again on the survivor
    jobs = [
        running_stack.wait_status(job_id, {"succeeded", "failed", "dead_lettered"}, timeout=120) for job_id in job_ids
    ]
    recovered_in = time.monotonic() - killed_at
    lost = [job["jobId"] for job in jobs if job["status"] != "succeeded"]
    rerun = [job for job in jobs if job["jobId"] in in_flight]
    duplicates = sum(sum(a["status"] == "succeeded" for a in job["attempts"]) > 1 for job in jobs)
    print(
        f"\nkill -9: {len(in_flight)} attempts in flight on the killed executor, {len(jobs)} jobs, "
        f"{len(lost)} lost, {duplicates} duplicate runs, all done {recovered_in:.1f}s after the kill"
    )
    assert lost == []
    assert duplicates == 0
    for job in rerun:
        crashed = [a for a in job["attempts"] if a["status"] == "crashed"]
        assert [a["workerId"] for a in crashed] == ["w-kill-1"], job["attempts"]
        assert job["workerId"] == "w-kill-2" and job["attempt"] == crashed[0]["attempt"] + 1
    assert len(in_flight) >= 20 and len(rerun) == len(in_flight)
    wait_for(lambda: worker(running_stack, "w-kill-1")["status"] == "offline", 30, 0.2, "killed worker offline")

    # When the killed worker comes back under the same id
    start_executor("w-kill-1", "killtest", slots=30)
    time.sleep(3)
    # Then none of its old attempts runs again
    again = [running_stack.job(job_id) for job_id in job_ids]
    assert [job["attempt"] for job in again] == [job["attempt"] for job in jobs]
    assert all(job["status"] == "succeeded" for job in again)


def test_attempt_claimed_but_never_started_is_recovered_from_the_lease(
    running_stack: StackUnderTest, start_executor: StartExecutor
) -> None:
    # Given a job waiting for a "ghost" worker, and a ghost worker that heartbeats and claims its
    # attempt (the lease) but dies before publishing job.started
    retry = {"baseSeconds": 0.2, "maxSeconds": 1, "factor": 1, "jitter": 0}
    job_id = submit_native(running_stack, "ghost", 0.1, queueIfNoWorker=True, maxAttempts=2, retryPolicy=retry)
    database = MongoClient(running_stack.stack.mongo_url, tz_aware=True)["jobstream"]
    spec = database["job_requests"].find_one({"_id": job_id})["request"]["spec"]
    started_at = datetime.now(UTC)

    async def heartbeats(count: int) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=running_stack.stack.bootstrap)
        await producer.start()
        try:
            for _ in range(count):
                beat = WorkerHeartbeat(
                    worker_id="w-ghost",
                    host="ghost",
                    pid=1,
                    version="test",
                    capabilities=["ghost"],
                    slots=1,
                    running_job_ids=[],
                    started_at=started_at,
                )
                await producer.send_and_wait(topics.HEARTBEATS, encode(beat), key=b"w-ghost")
                await asyncio.sleep(0.5)
        finally:
            await producer.stop()

    asyncio.run(heartbeats(2))
    wait_for(lambda: worker(running_stack, "w-ghost").get("status") == "idle", 30, 0.2, "ghost live")
    database["leases"].insert_one(
        {
            "_id": f"{job_id}:1",
            "job_id": job_id,
            "attempt": 1,
            "worker_id": "w-ghost",
            "state": "running",
            "acquired_at": datetime.now(UTC),
            "spec": spec,
        }
    )
    asyncio.run(heartbeats(2))

    # When its heartbeats stop, then the attempt ends as crashed (nothing else knew it was claimed)
    wait_for(
        lambda: any(a["status"] == "crashed" for a in running_stack.job(job_id)["attempts"]),
        60,
        0.3,
        "attempt 1 crashed",
    )
    # and when a real ghost-capable executor starts, attempt 2 runs there (attempt 1 stays the ghost's)
    start_executor("w-ghost-2", "ghost")
    job = running_stack.wait_status(job_id, "succeeded")
    assert (job["attempt"], job["workerId"]) == (2, "w-ghost-2")
    assert [(a["attempt"], a["status"], a["workerId"]) for a in job["attempts"]][0] == (1, "crashed", "w-ghost")
