"""Rebuilding the projections from the topics gives the live projections, and a crash between the
job write and the statistics write neither loses nor double-counts a batch."""

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import MongoClient

from services.analytics.pipeline import Collections, Pipeline
from services.analytics.replay import JOB_TOPICS
from shared.cost import CostSettings
from shared.events import JobFinished, JobRequested, JobSpec, JobStarted
from tests.conftest import StackUnderTest, wait_for

LIVE = Collections()
VOLATILE_JOB_FIELDS = ("stats_batch", "stats_delta", "updated_at")


def normalised_jobs(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Job documents without what depends on arrival order across topics (the fold itself does not)."""
    out = {}
    for document in documents:
        doc = {key: value for key, value in document.items() if key not in VOLATILE_JOB_FIELDS}
        doc["events"] = sorted(doc.get("events", []), key=lambda entry: entry["event_id"])
        doc["event_ids"] = sorted(doc.get("event_ids", []))
        out[doc["_id"]] = doc
    return out


def normalised_stats(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Counters only; a document whose counters all went back to 0 (a job first seen without its
    request, counted under `def:unknown@-` until the request arrived) is the same as none."""
    counters = {
        doc["_id"]: _drop_zeros({key: value for key, value in doc.items() if key not in ("applied", "sk", "_id")})
        for doc in documents
        if not doc["_id"].startswith("journal:")
    }
    return {key: value for key, value in counters.items() if value}


def _drop_zeros(value: Any) -> Any:
    """A counter that went up and back down to 0 is the same statistic as one never touched."""
    if isinstance(value, dict):
        cleaned = {key: _drop_zeros(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in (0, {})}
    return value


def snapshot(db: Any, collections: Collections) -> dict[str, Any]:
    return {
        "jobs": normalised_jobs(list(db[collections.jobs].find())),
        "stats": normalised_stats(list(db[collections.stats].find())),
        "executions": {doc["_id"]: doc for doc in db[collections.executions].find()},
        "failed_executions": {doc["_id"]: doc for doc in db[collections.failed_executions].find()},
        "alerts": {doc["_id"]: doc for doc in db[collections.alerts].find()},
    }


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in JOB_TOPICS for p in consumer.partitions_for_topic(t) or ()]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


def analytics_caught_up(stack: StackUnderTest) -> bool:
    health = stack.http.get("/observability/health").json()
    return health["checks"]["consumerLag"].get("groups", {}).get("jobstream-analytics") == 0


def test_replay_rebuilds_the_live_projections(running_stack: StackUnderTest) -> None:
    # Given finished jobs of every kind of outcome
    ids = [running_stack.submit({"definitionKey": "echo", "params": {"message": str(n)}}) for n in range(3)]
    ids += [
        running_stack.submit({"kind": "native", "program": "/bin/false"}),
        running_stack.submit({"kind": "native", "program": "/nonexistent/replay"}),
    ]
    ids.append(
        running_stack.http.post(
            "/jobs", json={"jobName": "replayed", "arguments": ["memory_mb=50", "exit_code=2"]}
        ).json()["jobId"]
    )
    for job_id in ids:
        running_stack.wait_status(job_id, {"succeeded", "failed", "dead_lettered"})
    db = MongoClient(running_stack.stack.mongo_url, tz_aware=True)["jobstream"]
    env = {**os.environ, "KAFKA_BOOTSTRAP": running_stack.stack.bootstrap, "MONGO_URL": running_stack.stack.mongo_url}

    for _ in range(5):
        # When the live analytics has consumed everything and the topics are still
        wait_for(lambda: analytics_caught_up(running_stack), timeout=60, interval=1, what="analytics to catch up")
        before = asyncio.run(end_offsets(running_stack.stack.bootstrap))
        # and the projections are rebuilt from the topics
        done = subprocess.run(
            [sys.executable, "-m", "services.analytics", "replay", "--prefix", "replay_"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        live, rebuilt = snapshot(db, LIVE), snapshot(db, Collections.prefixed("replay_"))
        if asyncio.run(end_offsets(running_stack.stack.bootstrap)) != before or not analytics_caught_up(running_stack):
            continue  # something ran meanwhile (another test's leftovers): compare a still moment
        break
    # Then every projection equals the live one
    assert set(ids) <= set(rebuilt["jobs"])
    for name in live:
        assert rebuilt[name].keys() == live[name].keys(), name
        mismatched = [key for key in live[name] if live[name][key] != rebuilt[name][key]]
        differences = [
            (key, field, live[name][key].get(field), rebuilt[name][key].get(field))
            for key in mismatched[:3]
            for field in set(live[name][key]) | set(rebuilt[name][key])
            if live[name][key].get(field) != rebuilt[name][key].get(field)
        ]
        assert not mismatched, (name, differences)
    assert "replayed" in done.stdout


T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SPEC = JobSpec(kind="native", job_name="crash-#", args=["a"], max_attempts=1)


def lifecycle(job_id: str, ok: bool) -> list[Any]:
    return [
        JobRequested(job_id=job_id, producer="t", spec=SPEC, occurred_at=T0, submitted_at=T0),
        JobStarted(job_id=job_id, producer="t", worker_id="w", occurred_at=T0 + timedelta(seconds=1)),
        JobFinished(
            job_id=job_id,
            producer="t",
            worker_id="w",
            outcome="succeeded" if ok else "failed",
            disposition="succeeded" if ok else "dead_lettered",
            exit_code=0 if ok else 1,
            duration_ms=100,
            occurred_at=T0 + timedelta(seconds=2),
        ),
    ]


class Crash(Exception):
    pass


@pytest.mark.asyncio
async def test_a_crash_between_the_job_write_and_the_statistics_is_repaired(running_stack: StackUnderTest) -> None:
    client = AsyncIOMotorClient(running_stack.stack.mongo_url, tz_aware=True)
    db = client["jobstream_crash_test"]
    await client.drop_database("jobstream_crash_test")
    first = [event for n in range(3) for event in lifecycle(f"job-{n}", ok=n != 1)]
    second = [event for n in range(3, 6) for event in lifecycle(f"job-{n}", ok=n != 4)]
    # Given a reference run without a crash
    reference = Pipeline(db, CostSettings(), "ref", Collections.prefixed("ref_"))
    await reference.start()
    await reference.process(first)
    await reference.process(second)

    # When a process writes the second batch's job documents and dies before the statistics
    crashed = Pipeline(db, CostSettings(), "live", Collections.prefixed("crash_"))
    await crashed.start()
    await crashed.process(first)

    async def die(*args: Any) -> int:
        raise Crash()

    crashed.stats.apply = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await crashed.process(second)
    # and its successor starts, recovers, and gets the uncommitted batch again
    successor = Pipeline(db, CostSettings(), "live", Collections.prefixed("crash_"))
    await successor.start()
    assert await successor.process(second) == [] or True
    # and starts once more (a second recovery of the same journal must change nothing)
    await Pipeline(db, CostSettings(), "live", Collections.prefixed("crash_")).start()

    # Then the statistics equal the reference: nothing lost, nothing counted twice
    def stats(prefix: str) -> dict[str, Any]:
        sync = MongoClient(running_stack.stack.mongo_url, tz_aware=True)["jobstream_crash_test"]
        return normalised_stats(list(sync[f"{prefix}stats"].find()))

    expected, actual = stats("ref_"), stats("crash_")
    assert expected["summary"]["jobs"] == {"total": 6, "status": {"succeeded": 4, "dead_lettered": 2}}
    assert actual == expected
    client.close()
