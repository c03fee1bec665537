"""Cron schedules: ownership by `schedules` partition, one tick per second, misfires.

Each scheduler process owns the schedules of the `schedules` partitions its consumer group gave it;
a rebalance after a crash hands them to a survivor (the failover). One APScheduler job ticks every
second, `lead` before the slot: it takes every schedule due in the coming slot from the plan,
renders the requests and sends them in batches at the slot (firing.py).

What a new owner fires for slots it did not see is decided from the partition's watermark and the
schedule's misfire policy (misfire.py); a slot fired twice across a failover has the same job id
and event id, so it is dropped downstream.
"""

import asyncio
import logging
import math
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.scheduler.firing import Firer, Template, template_for
from services.scheduler.held import HeldJobs
from services.scheduler.misfire import Catchup, slots_to_fire
from services.scheduler.plan import SlotPlan
from services.scheduler.store import ScheduleStore
from shared.cron import Cron, CronError, parse
from shared.events import JobDeferred, JobRequested
from shared.schedules import Schedule, ScheduleDeleted, ScheduleUpserted, fire_job_id, slot_label

log = logging.getLogger(__name__)
TICK_JOB_ID = "cron-tick"


class CronScheduler:
    def __init__(
        self,
        store: ScheduleStore,
        firer: Firer,
        grace_seconds: float = 2.0,
        lead_seconds: float = 0.5,
        held: HeldJobs | None = None,
    ) -> None:
        self._store = store
        self._held = held
        self._firer = firer
        self._grace = grace_seconds
        self._lead = lead_seconds
        self._plan = SlotPlan(horizon=time.time())
        self._schedules: dict[str, Schedule] = {}  # owned schedules only
        self._partition: dict[str, int] = {}
        self._templates: dict[str, Template] = {}
        self._crons: dict[tuple[str, str], Cron] = {}
        self._owned: set[int] = set()
        self._watermarks: dict[int, float] = {}
        self._retry: list[tuple[float, list[str]]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._marks_task: asyncio.Task[None] | None = None
        self._marks_dirty = False

    @property
    def owned_partitions(self) -> set[int]:
        return set(self._owned)

    def __len__(self) -> int:
        return len(self._schedules)

    def start(self, scheduler: AsyncIOScheduler) -> None:
        first = math.ceil(time.time()) + 1 - self._lead
        scheduler.add_job(
            self.tick,
            trigger="interval",
            seconds=1,
            start_date=datetime.fromtimestamp(first, UTC),
            id=TICK_JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    # -- ownership ---------------------------------------------------------------------------
    async def assign(self, partitions: set[int]) -> None:
        new = set(partitions) - self._owned
        if not new:
            return
        marks = await self._store.watermarks(new)
        for partition in new:
            self._watermarks[partition] = marks.get(partition, 0.0)
        loaded = await self._store.load(new)
        # Owned only once loaded: `tick` advances the watermark of every owned partition, and doing
        # that while the schedules were still loading silently skipped the slots missed during the
        # failover (seen in the kill -9 test).
        self._owned |= new
        catchup: dict[float, list[str]] = {}
        decided: dict[tuple, Catchup] = {}  # schedules alike share one misfire decision
        now = time.time()
        for schedule, partition in loaded:
            for slot in self._install(schedule, partition, now=now, decided=decided):
                catchup.setdefault(slot, []).append(schedule.schedule_id)
        for slot in sorted(catchup):  # one batch per slot, not one per schedule
            self._spawn(self._fire(slot, catchup[slot]))
        late = sum(1 for slot in catchup for _ in catchup[slot] if slot < now - self._grace)
        if late:
            log.warning("%d missed fires (older than %.1f s) fire now per their misfire policy", late, self._grace)
        self._save_watermarks()  # records the new owner at once
        log.info("now own schedules partitions %s: %d schedules", sorted(self._owned), len(loaded))

    def revoke(self, partitions: set[int]) -> None:
        for schedule_id, partition in list(self._partition.items()):
            if partition in partitions:
                self._forget(schedule_id)
        self._owned -= set(partitions)
        for partition in partitions:
            self._watermarks.pop(partition, None)
        log.info("gave up schedules partitions %s", sorted(partitions))

    # -- schedule changes ----------------------------------------------------------------------
    async def apply(self, event: ScheduleUpserted | ScheduleDeleted, partition: int) -> None:
        current = self._schedules.get(event.schedule_id)
        if isinstance(event, ScheduleUpserted):
            if current is not None and current.version >= event.schedule.version:
                return
            await self._store.save(event.schedule, partition)
            if partition in self._owned:
                for slot in self._install(event.schedule, partition, previous=current):
                    self._spawn(self._fire(slot, [event.schedule_id]))
        else:
            if current is not None and current.version > event.version:
                return
            await self._store.delete(event.schedule_id)
            self._forget(event.schedule_id)

    def _install(
        self,
        schedule: Schedule,
        partition: int,
        previous: Schedule | None = None,
        now: float | None = None,
        decided: dict[tuple, Catchup] | None = None,
    ) -> list[float]:
        """Plan a schedule; returns the past slots its misfire policy fires now."""
        schedule_id = schedule.schedule_id
        self._schedules[schedule_id] = schedule
        self._partition[schedule_id] = partition
        self._templates.pop(schedule_id, None)
        if schedule.paused:
            self._plan.remove(schedule_id)
            return []
        unchanged = (
            previous is not None
            and not previous.paused
            and schedule_id in self._plan
            and (
                (previous.cron, previous.timezone, previous.active_since)
                == (schedule.cron, schedule.timezone, schedule.active_since)
            )
        )
        if unchanged:
            return []
        try:
            cron = self._cron(schedule.cron, schedule.timezone)
        except CronError as error:
            log.error("schedule %s has an invalid cron (%s); not planned", schedule_id, error)
            self._plan.remove(schedule_id)
            return []
        floor = max(schedule.active_since.timestamp(), self._watermarks.get(partition, 0.0))
        now = time.time() if now is None else now
        # Slots are whole seconds, so floors within one second give the same answer.
        key = (cron, schedule.misfire_policy, schedule.catch_up_limit, math.floor(floor), now, self._plan.horizon)
        catchup = (decided or {}).get(key)
        if catchup is None:
            catchup = slots_to_fire(
                cron,
                schedule.misfire_policy,
                schedule.catch_up_limit,
                math.floor(floor),
                now,
                self._plan.horizon,
                self._grace,
            )
            if decided is not None:
                decided[key] = catchup
        self._plan.add(schedule_id, cron)
        if decided is None and (catchup.missed or catchup.dropped):
            log.warning(
                "schedule %s: %d missed slots fire now (policy %s)%s",
                schedule_id,
                catchup.missed,
                schedule.misfire_policy,
                "; older missed slots skipped" if catchup.dropped else "",
            )
        return catchup.slots

    def _cron(self, expression: str, timezone: str) -> Cron:
        key = (expression, timezone)
        cron = self._crons.get(key)
        if cron is None:
            cron = self._crons[key] = parse(expression, timezone)
        return cron

    def _forget(self, schedule_id: str) -> None:
        self._schedules.pop(schedule_id, None)
        self._partition.pop(schedule_id, None)
        self._templates.pop(schedule_id, None)
        self._plan.remove(schedule_id)

    # -- firing --------------------------------------------------------------------------------
    async def tick(self) -> None:
        target = math.ceil(time.time())
        due, self._retry = self._retry + self._plan.due(target), []
        succeeded = True
        for slot, schedule_ids in due:
            succeeded = await self._fire(slot, schedule_ids) and succeeded
        if succeeded:
            for partition in self._owned:
                self._watermarks[partition] = max(self._watermarks.get(partition, 0.0), float(target))
            self._save_watermarks()

    async def _fire(self, slot: float, schedule_ids: list[str]) -> bool:
        rendered = []
        label = slot_label(slot)
        for schedule_id in schedule_ids:
            schedule = self._schedules.get(schedule_id)
            if schedule is None or schedule.paused or slot <= schedule.active_since.timestamp():
                continue
            template = self._templates.get(schedule_id)
            if template is None or template.version != schedule.version:
                template = self._templates[schedule_id] = template_for(schedule)
            fire = template.render(schedule_id, slot, label)
            if schedule.depends_on and self._held is not None and await self._hold(schedule, slot, fire[1]):
                continue
            rendered.append(fire)
        try:
            await self._firer.fire(slot, rendered)
        except Exception as error:  # the broker did not take them: try again next tick
            log.warning("firing %d schedules for slot %s failed (%r); retrying", len(rendered), slot, error)
            self._retry.append((slot, schedule_ids))
            return False
        return True

    async def _hold(self, schedule: Schedule, slot: float, request: bytes) -> bool:
        """Seed 003 dependency order: hold this fire until the latest run at or before `slot` of
        every schedule it depends on has succeeded. False when no dependency has run yet."""
        upstream = []
        for dependency_id in schedule.depends_on:
            dependency = self._schedules.get(dependency_id) or await self._store.get(dependency_id)
            if dependency is None:
                continue
            try:
                cron = self._cron(dependency.cron, dependency.timezone)
            except CronError:
                continue
            latest = cron.slots_between(dependency.active_since.timestamp(), slot, limit=1)
            if latest:
                upstream.append(fire_job_id(dependency_id, latest[-1]))
        if not upstream:
            return False
        fire = JobRequested.model_validate_json(request)
        assert self._held is not None
        await self._held.add(JobDeferred(job_id=fire.job_id, producer="scheduler", request=fire, depends_on=upstream))
        return True

    def _spawn(self, coroutine) -> None:  # noqa: ANN001
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _save_watermarks(self) -> None:
        if self._marks_task is not None and not self._marks_task.done():
            self._marks_dirty = True
            return
        self._marks_task = asyncio.get_running_loop().create_task(self._write_watermarks())

    async def _write_watermarks(self) -> None:
        while True:
            self._marks_dirty = False
            snapshot = {
                partition: self._watermarks[partition] for partition in self._owned if partition in self._watermarks
            }
            try:
                await self._store.save_watermarks(snapshot)
            except Exception as error:
                log.warning("saving watermarks failed: %r", error)
            if not self._marks_dirty:
                return
