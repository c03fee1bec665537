"""Kafka glue shared by the aiokafka services: producers, consumers, topic creation, dead-lettering.

Publishing always keys job events by job_id (one job's events stay ordered in one partition) and
carries the W3C trace context in the message headers.
"""

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from pydantic import BaseModel

from shared import telemetry, topics
from shared.events import encode
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
BACKGROUND_FETCH_WAIT_MS = 100


def make_producer(settings: ServiceSettings, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    # A short linger batches bursts without adding noticeable latency to a lone message.
    options: dict[str, Any] = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks=1,
        linger_ms=1,
        max_batch_size=256 * 1024,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: ServiceSettings, *topic_names: str, group_id: str | None, **overrides: Any
) -> AIOKafkaConsumer:
    options: dict[str, Any] = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_records=500,
        # Background consumers poll gently; the executor's request consumer passes the short
        # KAFKA_FETCH_MAX_WAIT_MS because submit-to-start latency depends on it.
        fetch_max_wait_ms=BACKGROUND_FETCH_WAIT_MS,
    )
    options.update(overrides)
    return AIOKafkaConsumer(*topic_names, **options)


async def publish(
    producer: AIOKafkaProducer, topic: str, event: BaseModel, key: str | None = None
) -> "asyncio.Future[Any]":
    """Queue one event for sending and return the delivery future (await it for the broker's ack)."""
    if key is None:
        key = getattr(event, "job_id", None) or getattr(event, "worker_id", None)
    return await producer.send(
        topic,
        value=encode(event),
        key=key.encode() if key else None,
        headers=telemetry.inject_headers(),
    )


async def dead_letter(producer: AIOKafkaProducer, source_topic: str, raw: bytes | None, reason: str) -> None:
    """Park a message no consumer can decode, with the reason; the consumer loop carries on."""
    log.warning("dead-lettering a message from %s: %s", source_topic, reason[:200])
    await producer.send(
        topics.DEAD_LETTER,
        value=raw or b"",
        headers=[("source-topic", source_topic.encode()), ("reason", reason[:1000].encode())],
    )


async def create_topics(
    bootstrap: str, attempts: int = 60, specs: "tuple[topics.TopicSpec, ...] | list[topics.TopicSpec] | None" = None
) -> None:
    """Create every topic in the registry, or those in `specs` (idempotent). Retries while the broker starts."""
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(spec.name, spec.partitions, 1, topic_configs=spec.config)
                for spec in (topics.TOPICS if specs is None else specs)
                if spec.name not in existing
            ]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
            return
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
