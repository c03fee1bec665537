"""Accepted jobs survive the loss of the broker's log: the API publishes them again at start-up."""

import asyncio

from motor.motor_asyncio import AsyncIOMotorClient

from shared import mongo
from shared.events import JobRequested, JobSpec, dump
from shared.ids import new_job_id
from tests.conftest import StackUnderTest


async def _store_accepted_but_unpublished(mongo_url: str, request: JobRequested) -> None:
    # What the outbox holds for a job whose Kafka message died with the broker.
    client = AsyncIOMotorClient(mongo_url)
    try:
        await client["jobstream"][mongo.JOB_REQUESTS].insert_one(
            {"_id": request.job_id, "accepted_at": request.occurred_at, "request": dump(request)}
        )
    finally:
        client.close()


def test_api_restart_republishes_jobs_that_never_reached_an_executor(running_stack: StackUnderTest) -> None:
    # Given a job the API accepted whose request never reached Kafka
    request = JobRequested(
        job_id=new_job_id(),
        producer="api",
        spec=JobSpec(kind="python", definition_key="echo", definition_version=1, params={"message": "lost?"}),
    )
    asyncio.run(_store_accepted_but_unpublished(running_stack.stack.mongo_url, request))

    # When the API restarts
    api = next(process for process in running_stack.stack.processes if process.name == "api")
    api.stop()
    running_stack.stack.processes.remove(api)
    restarted = running_stack.stack.start_service("api")
    restarted.wait_for_port(running_stack.stack.settings.api_port, 60)

    # Then the job runs to the end, exactly once
    job = running_stack.wait_status(request.job_id, "succeeded", timeout=60)
    assert job["result"] == {"message": "lost?"}
    assert len(job["attempts"]) == 1
