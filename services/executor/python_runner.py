"""Runs one attempt of a Python definition: validate params, call the lifecycle hooks around the
run, enforce the timeout, and turn cancellation into the job's abort signal.

On cancel or timeout the job first sees `ctx.abort` and gets the cancel grace period to stop by
itself (seed 002's `ctx.abortSignal`); only then is its task cancelled. A hook that raises is
recorded as a `hook.failed` event and changes nothing else.
"""

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pydantic import ValidationError

from services.executor.outcome import AttemptResult
from shared.definitions import DefinitionRegistry, JobContext, JobDefinition
from shared.events import JobRequested

log = logging.getLogger(__name__)
HOOK_TIMEOUT_SECONDS = 30.0
EmitEvent = Callable[[JobRequested, str, dict[str, Any]], Awaitable[None]]
HOOK_LABELS = {"on_start": "onStart", "on_success": "onSuccess", "on_fail": "onFail", "on_end": "onEnd"}


class CpuPool:
    """A lazily started process pool for CPU-bound job code (spawned, so no forked event loop)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(function, *args))
        except BrokenProcessPool:
            self._pool = None  # a worker died (OOM, killed): the next call starts a fresh pool
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class PythonRunner:
    def __init__(self, definitions: DefinitionRegistry, worker_id: str, emit_event: EmitEvent, cpu: CpuPool) -> None:
        self._definitions = definitions
        self._worker_id = worker_id
        self._emit_event = emit_event
        self._cpu = cpu

    async def run(self, request: JobRequested, abort: asyncio.Event, grace_seconds: float) -> AttemptResult:
        spec = request.spec
        definition = self._definitions.get(spec.definition_key or "", spec.definition_version)
        if definition is None:
            ref = f"{spec.definition_key}@{spec.definition_version}"
            return AttemptResult("failed", retryable=False, error=f"unknown definition {ref}")
        try:
            params = definition.params.model_validate(spec.params)
        except ValidationError as error:
            return AttemptResult("failed", retryable=False, error=f"invalid params: {error}")

        async def emit(name: str, data: dict[str, Any]) -> None:
            await self._emit_event(request, name, data)

        ctx = JobContext(
            job_id=request.job_id,
            attempt=request.attempt,
            worker_id=self._worker_id,
            abort=abort,
            emit_event=emit,
            logger=logging.getLogger(f"job.{definition.key}"),
            run_cpu=self._cpu.run,
            params=params,
        )
        await self._hook(definition, "on_start", ctx)
        result = await self._run_body(definition, params, ctx, spec.timeout_seconds, grace_seconds)
        ctx.result, ctx.error = result.result, result.error
        await self._hook(definition, "on_success" if result.outcome == "succeeded" else "on_fail", ctx)
        await self._hook(definition, "on_end", ctx)
        return result

    async def _run_body(
        self,
        definition: JobDefinition,
        params: Any,
        ctx: JobContext,
        timeout: float | None,
        grace: float,  # noqa: ASYNC109
    ) -> AttemptResult:
        started = time.monotonic()
        task = asyncio.ensure_future(definition.run(params, ctx))
        aborted = asyncio.ensure_future(ctx.abort.wait())
        try:
            done, _ = await asyncio.wait({task, aborted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            aborted.cancel()
        timed_out = task not in done and not ctx.abort.is_set()
        if task not in done:
            ctx.abort.set()  # a timeout is an abort too: the job may clean up within the grace period
            done, _ = await asyncio.wait({task}, timeout=grace)
        if task not in done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if timed_out:
            return AttemptResult("timed_out", error=f"timed out after {timeout}s", duration_ms=_ms_since(started))
        if ctx.abort.is_set() and not (task.done() and not task.cancelled() and task.exception() is None):
            return AttemptResult("cancelled", error="cancelled", duration_ms=_ms_since(started))
        error = task.exception()
        if error is not None:
            return AttemptResult(
                "failed",
                retryable=getattr(error, "retryable", True),
                error=f"{type(error).__name__}: {error}",
                duration_ms=_ms_since(started),
            )
        return AttemptResult("succeeded", result=task.result(), duration_ms=_ms_since(started))

    async def _hook(self, definition: JobDefinition, name: str, ctx: JobContext) -> None:
        hook = definition.hooks.get(name)
        if hook is None:
            return
        try:
            await asyncio.wait_for(hook(ctx), timeout=HOOK_TIMEOUT_SECONDS)
        except Exception as error:  # hooks are user code: record the failure, carry on
            log.warning("%s hook of %s failed for %s: %r", name, definition.ref, ctx.job_id, error)
            with contextlib.suppress(Exception):
                failure = {"hook": HOOK_LABELS[name], "error": f"{type(error).__name__}: {error}"}
                await ctx.emit_event("hook.failed", failure)


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
