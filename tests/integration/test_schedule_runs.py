"""Upgrading a database from before `schedule_runs`: the scheduled jobs are copied through the old
`jobs` index, which is then dropped."""

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from services.analytics.schedule_runs import LEGACY_INDEX, ScheduleRuns
from tests.conftest import StackUnderTest


@pytest.mark.asyncio
async def test_old_databases_are_migrated_and_lose_the_costly_index(running_stack: StackUnderTest) -> None:
    client = AsyncIOMotorClient(running_stack.stack.mongo_url, tz_aware=True)
    await client.drop_database("jobstream_migration_test")
    db = client["jobstream_migration_test"]
    # Given a jobs collection as older versions wrote it
    await db.jobs.create_index([("labels.schedule_id", 1), ("_id", -1)], sparse=True)
    await db.jobs.insert_many(
        [
            {"_id": "0001", "labels": {"schedule_id": "nightly"}},
            {"_id": "0002", "labels": {}},
            {"_id": "0003", "labels": {"schedule_id": "hourly"}},
        ]
    )
    assert LEGACY_INDEX in await db.jobs.index_information()
    # When analytics starts (twice: the second start must find nothing to do)
    for _ in range(2):
        await ScheduleRuns(db.schedule_runs, db.jobs).start()
    # Then each scheduled job is findable under its schedule, and the old index is gone
    runs = await db.schedule_runs.find({}).sort("_id", 1).to_list(None)
    assert runs == [{"_id": "0001", "schedule_id": "nightly"}, {"_id": "0003", "schedule_id": "hourly"}]
    assert LEGACY_INDEX not in await db.jobs.index_information()
    await client.drop_database("jobstream_migration_test")
    client.close()
