"""Schedules on the API side: validate, record, publish; read back for the three API shapes.

The API owns `schedule_records`: each schedule as the user last set it, written before the
`ScheduleUpserted` / `ScheduleDeleted` event is published, so a GET right after a POST answers at
once and a change the broker did not take is published again at start-up (`republish`). The
scheduler keeps its own copy (`schedules`) from the topic; the two never write each other's.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError

from services.api.dependencies import dependents, find_cycle
from services.api.errors import ApiError
from services.api.submission import JobSubmitter
from shared import kafka, mongo, topics
from shared.cron import CronError, parse
from shared.events import JobSpec
from shared.ids import new_job_id
from shared.schedules import (
    DEFAULT_CATCH_UP_LIMIT,
    DEFAULT_MISFIRE_POLICY,
    LABEL_SCHEDULE,
    LABEL_TRIGGER,
    MisfirePolicy,
    Schedule,
    ScheduleDeleted,
    ScheduleUpserted,
)

log = logging.getLogger(__name__)
PRODUCER = "api"


@dataclass
class ScheduleDraft:
    """What a create request asks for, in any of the three shapes."""

    cron: str
    job: JobSpec
    timezone: str = "UTC"
    name: str | None = None
    paused: bool = False
    misfire_policy: MisfirePolicy = DEFAULT_MISFIRE_POLICY
    catch_up_limit: int = DEFAULT_CATCH_UP_LIMIT
    depends_on: list[str] = field(default_factory=list)
    api: str = "v1"
    original: dict[str, Any] = field(default_factory=dict)


def validate_cron(cron: str, timezone: str, field_prefix: str = "") -> None:
    try:
        parse(cron, timezone)
    except CronError as error:
        name = error.field if not field_prefix else error.field.replace("schedule", field_prefix, 1)
        raise ApiError(422, "invalid_schedule", f"{name}: {error.message}", details=[{"field": name}]) from None


class ScheduleService:
    def __init__(self, db: AsyncIOMotorDatabase, producer: AIOKafkaProducer, submitter: JobSubmitter) -> None:
        self._records = db[mongo.SCHEDULE_RECORDS]
        self._jobs = db[mongo.JOBS]
        self._runs = db[mongo.SCHEDULE_RUNS]
        self._producer = producer
        self._submitter = submitter

    # -- writes ------------------------------------------------------------------------------
    async def create(self, draft: ScheduleDraft, cron_field: str = "") -> Schedule:
        validate_cron(draft.cron, draft.timezone, cron_field)
        schedule_id = new_job_id()
        await self._check_dependencies(schedule_id, draft.depends_on)
        now = datetime.now(UTC)
        schedule = Schedule(
            schedule_id=schedule_id,
            name=draft.name,
            cron=" ".join(draft.cron.split()),
            timezone=draft.timezone,
            job=draft.job,
            paused=draft.paused,
            misfire_policy=draft.misfire_policy,
            catch_up_limit=draft.catch_up_limit,
            depends_on=draft.depends_on,
            active_since=now,
            created_at=now,
            updated_at=now,
            api=draft.api,
            original=draft.original,  # type: ignore[arg-type]
        )
        try:
            await self._records.insert_one(self._document(schedule))
        except DuplicateKeyError:  # pragma: no cover - ids are random
            raise ApiError(409, "conflict", "schedule id collision; retry") from None
        except Exception as error:
            raise ApiError(503, "unavailable", f"the schedule store is unavailable: {error}") from error
        await self._publish(ScheduleUpserted(schedule_id=schedule_id, producer=PRODUCER, schedule=schedule))
        return schedule

    async def update(self, schedule_id: str, changes: dict[str, Any], cron_field: str = "") -> Schedule:
        """Apply `changes` (Schedule field names) to the current version; 409 if someone else won."""
        current = await self.require(schedule_id)
        merged = {**current.model_dump(), **changes}
        validate_cron(merged["cron"], merged["timezone"], cron_field)
        merged["cron"] = " ".join(merged["cron"].split())
        if "depends_on" in changes:
            await self._check_dependencies(schedule_id, merged["depends_on"])
        now = datetime.now(UTC)
        timing_changed = (merged["cron"], merged["timezone"]) != (current.cron, current.timezone)
        resumed = current.paused and not merged["paused"]
        merged.update(
            version=current.version + 1,
            updated_at=now,
            active_since=now if timing_changed or resumed else current.active_since,
        )
        schedule = Schedule.model_validate(merged)
        result = await self._records.replace_one(
            {"_id": schedule_id, "version": current.version}, self._document(schedule)
        )
        if result.matched_count == 0:
            raise ApiError(409, "conflict", f"schedule {schedule_id} changed meanwhile; retry the update")
        await self._publish(ScheduleUpserted(schedule_id=schedule_id, producer=PRODUCER, schedule=schedule))
        return schedule

    async def delete(self, schedule_id: str) -> None:
        current = await self.require(schedule_id)
        graph = await self._graph()
        waiting = dependents(graph, schedule_id)
        if waiting:
            raise ApiError(
                409,
                "has_dependents",
                f"schedule {schedule_id} is a dependency of {', '.join(waiting)}; remove the dependency first",
                dependents=waiting,
            )
        result = await self._records.update_one(
            {"_id": schedule_id, "version": current.version},
            {"$set": {"deleted": True, "version": current.version + 1, "updated_at": datetime.now(UTC)}},
        )
        if result.matched_count == 0:
            raise ApiError(409, "conflict", f"schedule {schedule_id} changed meanwhile; retry the delete")
        await self._publish(ScheduleDeleted(schedule_id=schedule_id, version=current.version + 1, producer=PRODUCER))

    async def trigger(self, schedule_id: str) -> str:
        """Run the schedule's job now, outside its cron (recorded among its executions)."""
        schedule = await self.require(schedule_id)
        labels = {**schedule.job.labels, LABEL_SCHEDULE: schedule_id, LABEL_TRIGGER: "manual"}
        accepted = await self._submitter.submit(schedule.job.model_copy(update={"labels": labels}))
        return accepted.job_id

    async def republish(self) -> int:
        """Publish records whose last change the broker did not confirm (called at start-up)."""
        count = 0
        async for document in self._records.find({}):
            if document.get("published_version", 0) >= document["version"]:
                continue
            try:
                await self._publish_document(document)
                count += 1
            except ApiError as error:
                log.warning("republishing schedule %s failed: %s", document["_id"], error.detail)
        return count

    # -- reads -------------------------------------------------------------------------------
    async def get(self, schedule_id: str) -> Schedule | None:
        document = await self._records.find_one({"_id": schedule_id})
        if document is None or document.get("deleted"):
            return None
        return Schedule.model_validate(document["schedule"])

    async def require(self, schedule_id: str) -> Schedule:
        schedule = await self.get(schedule_id)
        if schedule is None:
            raise ApiError(404, "schedule_not_found", f"no schedule {schedule_id}")
        return schedule

    async def page(
        self, limit: int, cursor: str | None, filters: dict[str, Any] | None = None
    ) -> tuple[list[Schedule], str | None]:
        query: dict[str, Any] = {"deleted": {"$ne": True}, **(filters or {})}
        if cursor:
            query["_id"] = {"$lt": cursor}
        documents = await self._records.find(query).sort("_id", -1).limit(limit + 1).to_list(limit + 1)
        next_cursor = documents[limit - 1]["_id"] if len(documents) > limit else None
        return [Schedule.model_validate(doc["schedule"]) for doc in documents[:limit]], next_cursor

    async def executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> list[dict[str, Any]]:
        """The schedule's jobs, newest first: ids from `schedule_runs` (index schedule_id, _id),
        then the documents from the `jobs` projection."""
        query: dict[str, Any] = {"schedule_id": schedule_id}
        if cursor:
            query["_id"] = {"$lt": cursor}
        runs = await self._runs.find(query, {"_id": 1}).sort("_id", -1).limit(limit).to_list(limit)
        ids = [run["_id"] for run in runs]
        if not ids:
            return []
        found = {doc["_id"]: doc async for doc in self._jobs.find({"_id": {"$in": ids}}, {"event_ids": 0, "events": 0})}
        return [found[job_id] for job_id in ids if job_id in found]

    # -- helpers -----------------------------------------------------------------------------
    async def _graph(self) -> dict[str, list[str]]:
        graph: dict[str, list[str]] = {}
        async for document in self._records.find({"deleted": {"$ne": True}}, {"schedule.depends_on": 1}):
            graph[document["_id"]] = list(document.get("schedule", {}).get("depends_on") or [])
        return graph

    async def _check_dependencies(self, schedule_id: str, depends_on: list[str]) -> None:
        if not depends_on:
            return
        if schedule_id in depends_on:
            raise ApiError(
                422,
                "invalid_dependency",
                f"dependencies: schedule {schedule_id} cannot depend on itself",
                details=[{"field": "dependencies"}],
            )
        graph = await self._graph()
        unknown = sorted(set(depends_on) - set(graph))
        if unknown:
            raise ApiError(
                422,
                "unknown_dependency",
                f"dependencies: unknown ids {', '.join(unknown)}",
                unknown=unknown,
                details=[{"field": "dependencies"}],
            )
        graph[schedule_id] = list(depends_on)
        cycle = find_cycle(graph)
        if cycle:
            raise ApiError(
                422,
                "dependency_cycle",
                f"dependencies: would create a cycle {' -> '.join(cycle)}",
                cycle=cycle,
                details=[{"field": "dependencies"}],
            )

    @staticmethod
    def _document(schedule: Schedule) -> dict[str, Any]:
        return {
            "_id": schedule.schedule_id,
            "version": schedule.version,
            "published_version": 0,
            "deleted": False,
            "schedule": schedule.model_dump(mode="json"),
        }

    async def _publish(self, event: ScheduleUpserted | ScheduleDeleted) -> None:
        try:
            delivery = await kafka.publish(self._producer, topics.SCHEDULES, event, key=event.schedule_id)
            await delivery
        except Exception as error:
            raise ApiError(
                503,
                "unavailable",
                f"schedule {event.schedule_id} is stored but the broker did not take the change: {error}; "
                "it is published again when the API restarts",
                scheduleId=event.schedule_id,
            ) from error
        version = event.schedule.version if isinstance(event, ScheduleUpserted) else event.version
        await self._records.update_one(
            {"_id": event.schedule_id, "published_version": {"$lt": version}}, {"$set": {"published_version": version}}
        )

    async def _publish_document(self, document: dict[str, Any]) -> None:
        if document.get("deleted"):
            await self._publish(
                ScheduleDeleted(schedule_id=document["_id"], version=document["version"], producer=PRODUCER)
            )
        else:
            schedule = Schedule.model_validate(document["schedule"])
            await self._publish(
                ScheduleUpserted(schedule_id=schedule.schedule_id, producer=PRODUCER, schedule=schedule)
            )
