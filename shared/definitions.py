"""Job definitions: named, versioned Python jobs (`key@version`) with their limits and hooks.

Declare one with the registry's decorator, as seed 002's `jobRegistry.register` does:

    @registry.define("my-job", version=1, params=MyParams, timeout_seconds=60)
    async def my_job(params: MyParams, ctx: JobContext) -> dict: ...

The API validates `params` against the schema; the executor runs the function.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.errors import PermanentError
from shared.events import DefinitionRegistered, RetryPolicy

HOOK_NAMES = ("on_start", "on_success", "on_fail", "on_end")


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class Params(BaseModel):
    """Base for a definition's params: unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


class JobAborted(PermanentError):
    """Raised by a job that saw its abort signal and stopped."""


async def _run_in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(functools.partial(function, *args))


@dataclass
class JobContext:
    """What a running Python job can see and do."""

    job_id: str
    attempt: int
    worker_id: str
    abort: asyncio.Event
    emit_event: Callable[[str, dict[str, Any]], Awaitable[None]]
    logger: logging.Logger
    # Runs a CPU-bound function away from the executor's event loop (a process pool in the executor).
    run_cpu: Callable[..., Awaitable[Any]] = _run_in_thread
    params: Any = None  # the validated params model
    # Set by the runner before the hooks run: the run's result, or its error text.
    result: Any = None
    error: str | None = None

    @property
    def aborted(self) -> bool:
        return self.abort.is_set()


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
    retry: RetryPolicy | None = None  # None: the API's default policy (BACKOFF_* settings)
    description: str = ""
    hooks: dict[str, Hook] = field(default_factory=dict)  # keys from HOOK_NAMES

    def __post_init__(self) -> None:
        unknown = set(self.hooks) - set(HOOK_NAMES)
        if unknown:
            raise ValueError(f"{self.ref}: unknown hooks {sorted(unknown)}; use {HOOK_NAMES}")

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"

    def registration(self, producer: str = "cli") -> DefinitionRegistered:
        """This definition's metadata as the event `register-definitions` publishes."""
        return DefinitionRegistered(
            producer=producer,
            key=self.key,
            version=self.version,
            default_max_attempts=self.default_max_attempts,
            timeout_seconds=self.timeout_seconds,
            concurrency_limit=self.concurrency_limit,
            capability=self.capability,
            retry=self.retry,
            hooks=sorted(_camel(name) for name in self.hooks),
            description=self.description,
            params_schema=self.params.model_json_schema(),
        )

    def metadata(self) -> dict[str, Any]:
        return describe(self.registration())


def describe(registered: DefinitionRegistered) -> dict[str, Any]:
    """A definition in seed 002's `GET /v1/definitions` shape (camelCase), plus what we add."""
    retry = registered.retry
    return {
        "key": registered.key,
        "version": registered.version,
        "defaultMaxAttempts": registered.default_max_attempts,
        "timeoutSeconds": registered.timeout_seconds,
        "concurrencyLimit": registered.concurrency_limit,
        "capability": registered.capability,
        "retryPolicy": None
        if retry is None
        else {
            "baseSeconds": retry.base_seconds,
            "maxSeconds": retry.max_seconds,
            "factor": retry.factor,
            "jitter": retry.jitter,
        },
        "hooks": registered.hooks,
        "description": registered.description,
        "paramsSchema": registered.params_schema,
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class DefinitionRegistry:
    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], JobDefinition] = {}

    def register(self, definition: JobDefinition) -> JobDefinition:
        self._definitions[(definition.key, definition.version)] = definition
        return definition

    def define(self, key: str, version: int = 1, **options: Any) -> Callable[[Run], Run]:
        """Decorator form of `register`. Hooks may be passed as on_start=..., on_success=..., etc."""
        hooks = {name: options.pop(name) for name in HOOK_NAMES if name in options}

        def decorator(run: Run) -> Run:
            self.register(JobDefinition(key=key, version=version, run=run, hooks=hooks, **options))
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


# The other built-ins live in their own modules; importing them here registers them wherever the
# registry is used. They import only names defined above, so either side may be imported first.
from shared import builtin_definitions, video  # noqa: E402, F401
