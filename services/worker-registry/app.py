"""The worker-registry Faust app: folds heartbeats into the `workers` projection."""

import faust

from services.worker_registry.settings import RegistrySettings
from shared import mongo, topics
from shared.errors import UndecodableMessage
from shared.events import WorkerHeartbeat, decode
from shared.streams import faust_app


def build_app(settings: RegistrySettings) -> faust.App:
    app = faust_app(topics.APP_WORKER_REGISTRY, settings, settings.data_dir)
    heartbeats = app.topic(topics.HEARTBEATS, value_serializer="raw", key_serializer="raw")
    state: dict = {}

    @app.task
    async def open_database() -> None:
        state["workers"] = mongo.connect(settings, "jobstream-worker-registry")[mongo.WORKERS]

    @app.agent(heartbeats)
    async def track(stream: faust.StreamT) -> None:
        async for raw in stream:
            try:
                beat = decode(raw)
            except UndecodableMessage:
                continue
            if not isinstance(beat, WorkerHeartbeat):
                continue
            while "workers" not in state:
                await app.sleep(0.05)
            await state["workers"].update_one(
                {"_id": beat.worker_id},
                {"$set": {
                    "host": beat.host, "pid": beat.pid, "version": beat.version,
                    "capabilities": beat.capabilities, "slots": beat.slots,
                    "running_job_ids": beat.running_job_ids, "load": beat.load,
                    "state": beat.state, "last_heartbeat_at": beat.occurred_at,
                }, "$setOnInsert": {"first_seen_at": beat.occurred_at}},
                upsert=True,
            )

    return app
