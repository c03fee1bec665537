"""The API's view of job definitions: the built-in registry merged with what
`register-definitions` published on the compacted `definitions` topic.

A background consumer reads the topic from the beginning at startup and then follows it, so no
request ever waits on Kafka. A definition known only from the topic (its code lives on some
executors, not in the API) is listed and accepted for submission; its `params` are checked by
the executors that run it.
"""

import asyncio
import contextlib
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared import kafka, topics
from shared.definitions import DefinitionRegistry, JobContext, JobDefinition, describe
from shared.errors import PermanentError, UndecodableMessage
from shared.events import DefinitionRegistered, decode
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class _AnyParams(BaseModel):
    model_config = ConfigDict(extra="allow")


async def _runs_elsewhere(params: Any, ctx: JobContext) -> None:
    raise PermanentError("this definition's code is not loaded in this process")


class DefinitionCatalog:
    def __init__(self, settings: ServiceSettings, builtins: DefinitionRegistry) -> None:
        self._settings = settings
        self._builtins = builtins
        self._published: dict[tuple[str, int], DefinitionRegistered] = {}
        self.registry = DefinitionRegistry()
        for definition in builtins.all():
            self.registry.register(definition)
        self._task: asyncio.Task[None] | None = None

    def apply(self, registered: DefinitionRegistered) -> None:
        key = (registered.key, registered.version)
        self._published[key] = registered
        if self._builtins.get(*key) is None:
            self.registry.register(JobDefinition(
                key=registered.key, version=registered.version, run=_runs_elsewhere, params=_AnyParams,
                default_max_attempts=registered.default_max_attempts, timeout_seconds=registered.timeout_seconds,
                concurrency_limit=registered.concurrency_limit, capability=registered.capability,
                retry=registered.retry, description=registered.description,
            ))

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

    async def _follow(self) -> None:
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
                    if isinstance(event, DefinitionRegistered):
                        self.apply(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("definitions consumer failed; restarting in 2s")
                await asyncio.sleep(2)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
