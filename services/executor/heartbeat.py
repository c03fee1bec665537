"""Publishes this executor's heartbeat: identity, capabilities, slots, load and running jobs."""

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import psutil
from aiokafka import AIOKafkaProducer

from services.executor.settings import ExecutorSettings
from shared import kafka, topics
from shared.events import WorkerHeartbeat

log = logging.getLogger(__name__)
VERSION = "0.1.0"
STARTED_AT = datetime.now(UTC)  # this process's incarnation


def heartbeat(settings: ExecutorSettings, running: list[str], state: str) -> WorkerHeartbeat:
    return WorkerHeartbeat(
        worker_id=settings.worker_id,
        host=socket.gethostname(),
        pid=os.getpid(),
        version=VERSION,
        capabilities=settings.capability_list(),
        slots=settings.max_concurrent_executions,
        running_job_ids=running,
        load=round(psutil.cpu_percent(interval=None) / 100, 3),
        state=state,  # type: ignore[arg-type]
        started_at=STARTED_AT,
    )


async def publish_heartbeats(
    settings: ExecutorSettings, producer: AIOKafkaProducer, running: Callable[[], list[str]], state: Callable[[], str]
) -> None:
    while True:
        try:
            await kafka.publish(producer, topics.HEARTBEATS, heartbeat(settings, running(), state()))
        except Exception:
            log.exception("heartbeat not sent")
        await asyncio.sleep(settings.heartbeat_interval_seconds)
