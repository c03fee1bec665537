"""Projections are idempotent: a redelivered event changes nothing and an older one never moves a
job's state backwards."""

import asyncio
from uuid import uuid4

from aiokafka import AIOKafkaProducer

from shared import topics
from shared.events import JobStarted, encode
from tests.conftest import StackUnderTest, wait_for


async def _publish(bootstrap: str, topic: str, *events: JobStarted) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, encode(event), key=event.job_id.encode())
    finally:
        await producer.stop()


def test_replayed_and_stale_events_do_not_change_a_finished_job(running_stack: StackUnderTest) -> None:
    # Given a job that has succeeded
    job_id = running_stack.submit({"definitionKey": "echo", "params": {"message": "once"}})
    before = running_stack.wait_status(job_id, "succeeded")
    events_before = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
    started_id = next(e["eventId"] for e in events_before if e["type"] == "job.started")

    # When its start event is delivered again (same event id), then a stale start (new id) follows
    # on the same partition, so it is processed after the duplicate
    duplicate = JobStarted(event_id=started_id, job_id=job_id, attempt=1, producer="test", worker_id="replayed")
    stale = JobStarted(event_id=uuid4(), job_id=job_id, attempt=1, producer="test", worker_id="stale")
    asyncio.run(_publish(running_stack.stack.bootstrap, topics.JOB_STARTED, duplicate, stale))

    def stale_seen() -> list | None:
        events = running_stack.http.get(f"/v1/jobs/{job_id}/events").json()["events"]
        return events if any(e["eventId"] == str(stale.event_id) for e in events) else None

    events_after = wait_for(stale_seen, timeout=20, what="the stale event to be projected")

    # Then the duplicate added nothing, and the stale event is on record but the job is still succeeded
    assert len(events_after) == len(events_before) + 1
    after = running_stack.job(job_id)
    assert after["status"] == "succeeded"
    assert after["finishedAt"] == before["finishedAt"]
    assert after["result"] == {"message": "once"}
