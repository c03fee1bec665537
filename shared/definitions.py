"""Job definitions: named, versioned Python jobs (`key@version`) with their limits and hooks.

Declare one with the registry's decorator, as seed 002's `jobRegistry.register` does:

    @registry.define("my-job", version=1, params=MyParams, timeout_seconds=60)
    async def my_job(params: MyParams, ctx: JobContext) -> dict: ...

The API validates `params` against the schema; the executor runs the function.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


@dataclass
class JobContext:
    """What a running Python job can see and do."""

    job_id: str
    attempt: int
    worker_id: str
    abort: asyncio.Event
    emit_event: Callable[[str, dict[str, Any]], Awaitable[None]]
    logger: logging.Logger


Run = Callable[[Any, JobContext], Awaitable[Any]]
Hook = Callable[[JobContext], Awaitable[None]]


@dataclass
class JobDefinition:
    key: str
    version: int
    run: Run
    params: type[BaseModel] = NoParams
    default_max_attempts: int = 1
    timeout_seconds: float | None = None
    concurrency_limit: int | None = None
    capability: str = "python"
    hooks: dict[str, Hook] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"


class DefinitionRegistry:
    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], JobDefinition] = {}

    def register(self, definition: JobDefinition) -> JobDefinition:
        self._definitions[(definition.key, definition.version)] = definition
        return definition

    def define(self, key: str, version: int = 1, **options: Any) -> Callable[[Run], Run]:
        def decorator(run: Run) -> Run:
            self.register(JobDefinition(key=key, version=version, run=run, **options))
            return run

        return decorator

    def get(self, key: str, version: int | None = None) -> JobDefinition | None:
        if version is None:
            versions = self.versions(key)
            return self._definitions[(key, versions[-1])] if versions else None
        return self._definitions.get((key, version))

    def versions(self, key: str) -> list[int]:
        return sorted(version for (k, version) in self._definitions if k == key)

    def all(self) -> list[JobDefinition]:
        return sorted(self._definitions.values(), key=lambda d: (d.key, d.version))


registry = DefinitionRegistry()


class EchoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = ""


@registry.define("noop", version=1)
async def noop(params: NoParams, ctx: JobContext) -> None:
    """Does nothing: measures the platform's own overhead."""


@registry.define("echo", version=1, params=EchoParams, default_max_attempts=1, timeout_seconds=60)
async def echo(params: EchoParams, ctx: JobContext) -> dict[str, str]:
    ctx.logger.info("echo %s: %s", ctx.job_id, params.message)
    return {"message": params.message}


@registry.define("failing", version=1, default_max_attempts=3, timeout_seconds=60)
async def failing(params: NoParams, ctx: JobContext) -> None:
    raise RuntimeError("this job always fails (failing@1)")
