"""The worker-registry Faust app: folds heartbeats and job events into the `workers` projection,
detects lost workers on a timer, and ends their orphaned attempts with a `crashed` outcome.

Agents only update the in-memory `Ledger`; one timer re-assesses health, orphans what lost workers
were running, and writes the changed worker documents in a single batch.
"""

import logging
from datetime import UTC, datetime

import faust

from services.worker_registry.ledger import Ledger
from services.worker_registry.orphans import crashed, orphaned_leases
from services.worker_registry.settings import RegistrySettings
from services.worker_registry.store import WorkerStore
from shared import mongo, topics
from shared.errors import UndecodableMessage
from shared.events import JobFinished, JobStarted, ReleaseWorker, WorkerHeartbeat, decode, encode
from shared.streams import faust_app
from shared.workers import WorkerTiming

log = logging.getLogger(__name__)


def _decoded(raw: bytes) -> object | None:
    try:
        return decode(raw)
    except UndecodableMessage:
        return None


def build_app(settings: RegistrySettings, timing: WorkerTiming) -> faust.App:
    app = faust_app(topics.APP_WORKER_REGISTRY, settings, settings.data_dir)
    raw = {"value_serializer": "raw", "key_serializer": "raw"}
    heartbeats = app.topic(topics.HEARTBEATS, **raw)
    job_events = app.topic(topics.JOB_STARTED, topics.JOB_FINISHED, **raw)
    control = app.topic(topics.JOB_CONTROL, **raw)
    finished_topic = app.topic(topics.JOB_FINISHED, **raw)
    ledger = Ledger(timing)
    state: dict[str, WorkerStore] = {}

    @app.task
    async def open_database() -> None:
        store = WorkerStore(mongo.connect(settings, "jobstream-worker-registry"))
        ledger.restore(await store.load())
        state["store"] = store
        log.info(
            "worker registry: %d workers restored; offline after %.1fs of silence",
            len(ledger.workers),
            timing.offline_after,
        )

    @app.agent(heartbeats)
    async def track_heartbeats(stream: faust.StreamT) -> None:
        async for value in stream:
            beat = _decoded(value)
            if isinstance(beat, WorkerHeartbeat):
                ledger.on_heartbeat(beat)

    @app.agent(job_events)
    async def track_attempts(stream: faust.StreamT) -> None:
        async for value in stream:
            event = _decoded(value)
            if isinstance(event, JobStarted):
                ledger.on_started(event)
            elif isinstance(event, JobFinished):
                ledger.on_finished(event)

    @app.agent(control)
    async def track_commands(stream: faust.StreamT) -> None:
        async for value in stream:
            command = _decoded(value)
            if isinstance(command, ReleaseWorker):
                log.info("release %s (job success: %s)", command.worker_id, command.job_success)
                ledger.on_release(command.worker_id, command.job_success, command.occurred_at)

    @app.timer(interval=settings.sweep_interval_seconds)
    async def sweep() -> None:
        store = state.get("store")
        if store is None:
            return
        now = datetime.now(UTC)
        for lost in ledger.sweep(now):
            leases = await orphaned_leases(store.leases, ledger, lost)
            log.warning("worker %s lost (%s): %d orphaned attempts", lost.worker_id, lost.why, len(leases))
            for lease in leases:
                event = crashed(lease, lost, now)
                if event is None:
                    continue
                await finished_topic.send(key=event.job_id.encode(), value=encode(event))
                ledger.on_finished(event)
        await store.delete(ledger.forget_offline(now, settings.worker_retention_seconds))
        await store.write(ledger.take_dirty())

    return app
