"""The API's view of job definitions: the built-in registry merged with what
`register-definitions` published on the compacted `definitions` topic.

A background consumer reads the topic from the beginning at startup and then follows it, so no
request ever waits on Kafka. Each registration is also kept in the API-owned
`definition_records` collection: the embedded broker keeps its log in memory, so at startup the
API loads the records and publishes them again, and registered definitions survive a broker
restart. A definition known only from the topic (its code lives on some
executors, not in the API) is listed and accepted for submission; its `params` are checked by
the executors that run it.
"""

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from motor.motor_asyncio import AsyncIOMotorCollection
from pydantic import BaseModel, ConfigDict

from shared import kafka, topics
from shared.definitions import DefinitionRegistry, JobContext, JobDefinition, describe
from shared.errors import PermanentError, UndecodableMessage
from shared.events import DefinitionRegistered, decode, dump
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class _AnyParams(BaseModel):
    model_config = ConfigDict(extra="allow")


async def _runs_elsewhere(params: Any, ctx: JobContext) -> None:
    raise PermanentError("this definition's code is not loaded in this process")


class DefinitionCatalog:
    def __init__(
        self,
        settings: ServiceSettings,
        builtins: DefinitionRegistry,
        records: AsyncIOMotorCollection | None = None,
        producer: AIOKafkaProducer | None = None,
    ) -> None:
        self._settings = settings
        self._records = records
        self._producer = producer
        self._builtins = builtins
        self._published: dict[tuple[str, int], DefinitionRegistered] = {}
        self.registry = DefinitionRegistry()
        for definition in builtins.all():
            self.registry.register(definition)
        self._task: asyncio.Task[None] | None = None

    def apply(self, registered: DefinitionRegistered) -> bool:
        """Take a registration into the catalog; False when it was already known."""
        key = (registered.key, registered.version)
        known = self._published.get(key)
        if known is not None and known.event_id == registered.event_id:
            return False
        self._published[key] = registered
        if self._builtins.get(*key) is None:
            self.registry.register(
                JobDefinition(
                    key=registered.key,
                    version=registered.version,
                    run=_runs_elsewhere,
                    params=_AnyParams,
                    default_max_attempts=registered.default_max_attempts,
                    timeout_seconds=registered.timeout_seconds,
                    concurrency_limit=registered.concurrency_limit,
                    capability=registered.capability,
                    retry=registered.retry,
                    description=registered.description,
                )
            )
        return True

    def listing(self) -> list[dict[str, Any]]:
        entries = []
        for definition in self.registry.all():
            published = self._published.get((definition.key, definition.version))
            entry = describe(published) if published else definition.metadata()
            entry["registered"] = published is not None
            entry["builtIn"] = self._builtins.get(definition.key, definition.version) is not None
            entries.append(entry)
        return entries

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="definitions-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _restore(self) -> None:
        """Load the stored registrations and publish them again (the broker may have lost them)."""
        if self._records is None:
            return
        restored = [DefinitionRegistered.model_validate(doc["registration"]) async for doc in self._records.find({})]
        for registered in restored:
            self.apply(registered)
        if self._producer is not None and restored:
            deliveries = [
                await kafka.publish(self._producer, topics.DEFINITIONS, registered, key=registered.ref)
                for registered in restored
            ]
            for delivery in deliveries:
                await delivery
        log.info("restored %d registered definitions", len(restored))

    async def _remember(self, registered: DefinitionRegistered) -> None:
        if self._records is not None:
            await self._records.replace_one(
                {"_id": registered.ref}, {"_id": registered.ref, "registration": dump(registered)}, upsert=True
            )

    async def _follow(self) -> None:
        while True:
            try:
                await self._restore()
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not restore registered definitions; retrying in 2s")
                await asyncio.sleep(2)
        while True:
            consumer = kafka.make_consumer(self._settings, topics.DEFINITIONS, group_id=None)
            try:
                await consumer.start()
                async for message in consumer:
                    try:
                        event = decode(message.value)
                    except UndecodableMessage as error:
                        log.warning("ignoring an undecodable definition: %s", str(error)[:200])
                        continue
                    if isinstance(event, DefinitionRegistered) and self.apply(event):
                        try:
                            await self._remember(event)
                        except Exception:
                            # Forget it, so that the restarted consumer's re-read stores it again.
                            self._published.pop((event.key, event.version), None)
                            raise
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("definitions consumer failed; restarting in 2s")
                await asyncio.sleep(2)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
