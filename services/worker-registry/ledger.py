"""The registry's in-memory view of every worker, folded from heartbeats and job events (pure).

`Ledger` owns one `WorkerState` per worker id. Heartbeats set identity, capabilities and load; a
heartbeat with a new `started_at` is a new incarnation of the same id, and the previous incarnation
is lost. Job events keep, per worker, the attempts it started and has not finished, and its failure
streak. `sweep(now)` re-assesses health and returns the incarnations that are gone (silent past
`offline_after`, stopped, or replaced) so the shell can orphan their attempts. Every change marks the
worker dirty; the shell writes dirty workers in one batch.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import JobFinished, JobStarted, WorkerHeartbeat
from shared.workers import FAILURE_OUTCOMES, WorkerTiming, assess, load_percentage

# A finished attempt is remembered this long: job events arrive on two topics consumed independently,
# so a `job.started` may be read after its `job.finished`, and a lost worker's recent leases are
# checked against it.
FINISHED_MEMORY_SECONDS = 300.0
FINISHED_MEMORY_MAX = 500_000
# After a worker id comes back as a new process, its old attempts are orphaned once the old
# process's last events have had this long to be read.
REPLACED_GRACE_SECONDS = 2.0


def attempt_key(job_id: str, attempt: int) -> str:
    return f"{job_id}:{attempt}"


@dataclass(frozen=True)
class LostIncarnation:
    """A worker process that is gone; its unfinished attempts are to be orphaned."""

    worker_id: str
    started_at: datetime | None
    last_heartbeat_at: datetime | None
    open_attempts: tuple[str, ...]
    why: str
    until: datetime | None = None  # a restarted worker's new process took over at this time


@dataclass
class WorkerState:
    worker_id: str
    host: str = ""
    pid: int = 0
    version: str = ""
    capabilities: list[str] = field(default_factory=list)
    slots: int = 0
    load: float = 0.0
    state: str = "running"
    running_job_ids: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    first_seen_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    consecutive_failures: int = 0
    streak_at: datetime | None = None  # time of the last outcome or release the streak reflects
    jobs_succeeded: int = 0
    jobs_failed: int = 0
    # attempt key -> when it started (job.started seen, job.finished not yet)
    open_attempts: dict[str, datetime] = field(default_factory=dict)
    status: str = "idle"
    health: str = "healthy"
    health_message: str = "Operating normally"
    lost: bool = False  # the current incarnation's attempts have been orphaned
    offline_since: datetime | None = None
    replaced: list[dict[str, Any]] = field(default_factory=list)  # earlier incarnations awaiting orphaning

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.worker_id,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "capabilities": self.capabilities,
            "slots": self.slots,
            "load": self.load,
            "state": self.state,
            "running_job_ids": self.running_job_ids,
            "started_at": self.started_at,
            "first_seen_at": self.first_seen_at,
            "last_heartbeat_at": self.last_heartbeat_at,
            "consecutive_failures": self.consecutive_failures,
            "streak_at": self.streak_at,
            "jobs_succeeded": self.jobs_succeeded,
            "jobs_failed": self.jobs_failed,
            "open_attempts": dict(self.open_attempts),
            "status": self.status,
            "health": self.health,
            "health_message": self.health_message,
            "load_percentage": load_percentage(len(self.running_job_ids), self.slots),
            "lost": self.lost,
            "offline_since": self.offline_since,
            "replaced": list(self.replaced),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "WorkerState":
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in doc.items() if key in known}
        return cls(worker_id=doc["_id"], **values)


class Ledger:
    def __init__(self, timing: WorkerTiming, started_at: datetime | None = None) -> None:
        self.timing = timing
        self.workers: dict[str, WorkerState] = {}
        self.dirty: set[str] = set()
        self.started_at = started_at or datetime.now(UTC)
        self._finished: OrderedDict[str, datetime] = OrderedDict()

    # -- folding -------------------------------------------------------------------------------
    def restore(self, documents: list[dict[str, Any]]) -> None:
        for doc in documents:
            self.workers[doc["_id"]] = WorkerState.from_document(doc)

    def _worker(self, worker_id: str) -> WorkerState:
        if worker_id not in self.workers:
            self.workers[worker_id] = WorkerState(worker_id)
        return self.workers[worker_id]

    def on_heartbeat(self, beat: WorkerHeartbeat) -> None:
        worker = self._worker(beat.worker_id)
        if worker.last_heartbeat_at is not None and beat.occurred_at <= worker.last_heartbeat_at:
            return  # redelivered or out of order
        if _new_incarnation(worker, beat):
            old_keys = [
                key for key, at in worker.open_attempts.items() if beat.started_at is None or at < beat.started_at
            ]
            if not worker.lost:
                worker.replaced.append(
                    {
                        "started_at": worker.started_at,
                        "last_heartbeat_at": worker.last_heartbeat_at,
                        "until": beat.started_at or beat.occurred_at,
                        "open": old_keys,
                        "noted_at": None,
                    }
                )
            for key in old_keys:
                worker.open_attempts.pop(key, None)
            worker.lost = False
            worker.started_at = beat.started_at
        worker.host, worker.pid, worker.version = beat.host, beat.pid, beat.version
        worker.capabilities, worker.slots, worker.load = list(beat.capabilities), beat.slots, beat.load
        worker.state, worker.running_job_ids = beat.state, list(beat.running_job_ids)
        worker.started_at = worker.started_at or beat.started_at
        worker.first_seen_at = worker.first_seen_at or beat.occurred_at
        worker.last_heartbeat_at = beat.occurred_at
        if worker.state != "stopped":
            worker.lost = False
            worker.offline_since = None
        self._reassess(worker, beat.occurred_at)
        self.dirty.add(worker.worker_id)

    def on_started(self, event: JobStarted) -> None:
        key = attempt_key(event.job_id, event.attempt)
        if key in self._finished:
            return
        worker = self._worker(event.worker_id)
        previous = worker.started_at is not None and event.occurred_at < worker.started_at
        if worker.lost or previous:
            # Read after its process was declared gone: the next sweeps orphan it.
            worker.replaced.append(
                {"started_at": None, "last_heartbeat_at": None, "until": None, "open": [key], "noted_at": None}
            )
        else:
            worker.open_attempts[key] = event.occurred_at
        self.dirty.add(worker.worker_id)

    def on_finished(self, event: JobFinished) -> None:
        key = attempt_key(event.job_id, event.attempt)
        if key in self._finished:
            return
        self._remember_finished(key, event.occurred_at)
        if event.worker_id is None:
            return
        worker = self._worker(event.worker_id)
        worker.open_attempts.pop(key, None)
        # Outcomes and releases arrive on different topics: the streak only moves forward in time.
        current = worker.streak_at is None or event.occurred_at >= worker.streak_at
        if event.outcome == "succeeded":
            worker.jobs_succeeded += 1
            if current:
                worker.consecutive_failures = 0
        elif event.outcome in FAILURE_OUTCOMES:
            worker.jobs_failed += 1
            if current:
                worker.consecutive_failures += 1
        if current and event.outcome in FAILURE_OUTCOMES | {"succeeded"}:
            worker.streak_at = event.occurred_at
        self._reassess(worker, event.occurred_at)
        self.dirty.add(worker.worker_id)

    def on_release(self, worker_id: str, job_success: bool, at: datetime) -> None:
        worker = self.workers.get(worker_id)
        if worker is None:
            return
        if worker.streak_at is not None and at < worker.streak_at:
            return
        worker.consecutive_failures = 0 if job_success else worker.consecutive_failures + 1
        worker.streak_at = at
        self._reassess(worker, at)
        self.dirty.add(worker_id)

    def is_finished(self, key: str) -> bool:
        return key in self._finished

    def _remember_finished(self, key: str, at: datetime) -> None:
        self._finished[key] = at
        horizon = at - timedelta(seconds=FINISHED_MEMORY_SECONDS)
        while self._finished and (
            len(self._finished) > FINISHED_MEMORY_MAX or next(iter(self._finished.values())) < horizon
        ):
            self._finished.popitem(last=False)

    # -- time ----------------------------------------------------------------------------------
    def _reassess(self, worker: WorkerState, now: datetime) -> None:
        verdict = assess(
            state=worker.state,
            running=len(worker.running_job_ids),
            consecutive_failures=worker.consecutive_failures,
            last_heartbeat_at=worker.last_heartbeat_at,
            now=max(now, worker.last_heartbeat_at or now),
            timing=self.timing,
        )
        if (verdict.status, verdict.health, verdict.message) != (worker.status, worker.health, worker.health_message):
            worker.status, worker.health, worker.health_message = verdict.status, verdict.health, verdict.message
            self.dirty.add(worker.worker_id)

    def sweep(self, now: datetime) -> list[LostIncarnation]:
        """Re-assess every worker; return incarnations that are gone and whose attempts to orphan."""
        lost: list[LostIncarnation] = []
        # Just after a (re)start the registry may not have read the latest heartbeats yet.
        settled = (now - self.started_at).total_seconds() > self.timing.offline_after
        for worker in self.workers.values():
            self._reassess(worker, now)
            if (
                worker.status == "offline"
                and not worker.lost
                and worker.last_heartbeat_at is not None
                and (settled or worker.state == "stopped")
            ):
                worker.lost = True
                worker.offline_since = now
                why = "stopped" if worker.state == "stopped" else f"no heartbeat for {self.timing.offline_after:.0f}s"
                lost.append(
                    LostIncarnation(
                        worker.worker_id, worker.started_at, worker.last_heartbeat_at, tuple(worker.open_attempts), why
                    )
                )
                worker.open_attempts = {}
                worker.running_job_ids = []
                self.dirty.add(worker.worker_id)
            for old in worker.replaced:
                old["noted_at"] = old["noted_at"] or now
            due = [old for old in worker.replaced if (now - old["noted_at"]).total_seconds() >= REPLACED_GRACE_SECONDS]
            if due:
                worker.replaced = [old for old in worker.replaced if old not in due]
                for old in due:
                    keys = tuple(key for key in old["open"] if not self.is_finished(key))
                    if old["last_heartbeat_at"] is None and not keys:
                        continue
                    lost.append(
                        LostIncarnation(
                            worker.worker_id,
                            old["started_at"],
                            old["last_heartbeat_at"],
                            keys,
                            "restarted" if old["last_heartbeat_at"] else "late start",
                            until=old["until"],
                        )
                    )
                self.dirty.add(worker.worker_id)
        return lost

    def forget_offline(self, now: datetime, retention_seconds: float) -> list[str]:
        """Drop workers offline for longer than `retention_seconds`; return their ids."""
        gone = [
            worker.worker_id
            for worker in self.workers.values()
            if worker.lost
            and not worker.replaced
            and worker.offline_since is not None
            and (now - worker.offline_since).total_seconds() > retention_seconds
        ]
        for worker_id in gone:
            del self.workers[worker_id]
            self.dirty.discard(worker_id)
        return gone

    def take_dirty(self) -> list[dict[str, Any]]:
        documents = [self.workers[worker_id].document() for worker_id in self.dirty if worker_id in self.workers]
        self.dirty.clear()
        return documents


def _new_incarnation(worker: WorkerState, beat: WorkerHeartbeat) -> bool:
    if worker.last_heartbeat_at is None:
        return False
    if beat.started_at is not None and worker.started_at is not None:
        return beat.started_at > worker.started_at
    return beat.pid != worker.pid or beat.host != worker.host
