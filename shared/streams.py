"""The Faust app factory every jobstream stream processor uses, configured for the broker's
group-membership timing (DESIGN.md) and for raw values that `shared.events.decode` parses."""

from pathlib import Path

import faust

from shared import topics
from shared.settings import ServiceSettings


def faust_app(app_id: str, settings: ServiceSettings, data_dir: str) -> faust.App:
    directory = Path(data_dir) / app_id
    directory.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_ms / 1000,
        consumer_auto_offset_reset="earliest",
        topic_partitions=topics.JOB_PARTITIONS,
        topic_replication_factor=1,
        web_enabled=False,
        datadir=str(directory),
        store="memory://",
    )
