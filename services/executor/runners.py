"""How each kind of job runs: native program, shell command, HTTP POST, Python definition.

Every runner returns an `AttemptResult`; none raises for a job failure. `AttemptControl` is the
handle the worker uses to cancel an attempt, whatever its kind.
"""

import asyncio
import logging
import sys
import time

import aiohttp

from services.executor.outcome import AttemptResult
from services.executor.process import NativeProcess, ProcessResult
from services.executor.python_runner import CpuPool, EmitEvent, PythonRunner
from services.executor.settings import ExecutorSettings
from shared.definitions import DefinitionRegistry
from shared.events import JobRequested, JobSpec

log = logging.getLogger(__name__)


class AttemptControl:
    """Lets the worker stop an attempt: sets the Python job's abort signal, signals the process."""

    def __init__(self, grace_seconds: float) -> None:
        self.abort = asyncio.Event()
        self.process: NativeProcess | None = None
        self.grace_seconds = grace_seconds
        self.cancel_reason: str | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        self.cancel_reason = self.cancel_reason or reason
        self.abort.set()
        if self.process is not None:
            self.process.stop("cancelled", self.grace_seconds)


class Runners:
    def __init__(self, settings: ExecutorSettings, definitions: DefinitionRegistry, emit_event: EmitEvent) -> None:
        self._settings = settings
        self._definitions = definitions
        self._http: aiohttp.ClientSession | None = None
        self._cpu = CpuPool(settings.cpu_workers)
        self._python = PythonRunner(definitions, settings.worker_id, emit_event, self._cpu)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._cpu.close()

    async def run(self, request: JobRequested, control: AttemptControl) -> AttemptResult:
        spec = request.spec
        if spec.kind == "native":
            program = spec.program or self._settings.job_script_path
            args = [spec.job_name or "job", *spec.args] if spec.program is None else list(spec.args)
            return await self._run_process(_program_argv(program) + args, spec, control)
        if spec.kind == "shell":
            return await self._run_process(["/bin/sh", "-c", spec.command or ""], spec, control)
        if spec.kind == "http.post":
            return await self._run_http_post(spec)
        return await self._python.run(request, control.abort, control.grace_seconds)

    async def _run_process(self, argv: list[str], spec: JobSpec, control: AttemptControl) -> AttemptResult:
        process = NativeProcess(argv)
        try:
            process.start()
        except OSError as error:
            return AttemptResult("failed", retryable=False, error=f"cannot start {argv[0]!r}: {error}")
        control.process = process
        if control.abort.is_set():
            process.stop("cancelled", control.grace_seconds)
        threshold = spec.memory_threshold_bytes or self._settings.default_memory_threshold
        result = await process.wait(
            timeout=spec.timeout_seconds,
            memory_threshold=threshold,
            kill_on_memory=spec.kill_on_memory_threshold or self._settings.kill_on_memory_threshold,
            sample_interval=self._settings.sample_interval_ms / 1000,
            grace=control.grace_seconds,
        )
        return _process_outcome(result)

    async def _run_http_post(self, spec: JobSpec) -> AttemptResult:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=spec.timeout_seconds or self._settings.http_timeout_seconds)
        started = time.monotonic()
        try:
            async with self._http.post(
                spec.url or "", json=spec.http_body, headers=spec.http_headers, timeout=timeout
            ) as response:
                body = await response.text()
                status = response.status
        except TimeoutError:
            return AttemptResult("timed_out", error="HTTP request timed out", duration_ms=_ms_since(started))
        except aiohttp.ClientError as error:
            return AttemptResult("failed", error=f"HTTP request failed: {error}", duration_ms=_ms_since(started))
        result = AttemptResult(
            "succeeded" if status < 400 else "failed",
            # seed 004: network errors and 5xx are retried; a 4xx will not get better.
            retryable=status >= 500,
            http_status=status,
            duration_ms=_ms_since(started),
            output_tail=body[-4096:],
        )
        if status >= 400:
            result.error = f"HTTP {status}"
        return result


def _program_argv(program: str) -> list[str]:
    # A .py job script runs with this interpreter, so it works without an executable bit.
    return [sys.executable, program] if program.endswith(".py") else [program]


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


def _process_outcome(result: ProcessResult) -> AttemptResult:
    metrics = dict(
        exit_code=result.exit_code,
        duration_ms=result.duration_ms,
        cpu_percent=result.cpu_percent,
        peak_rss_bytes=result.peak_rss_bytes,
        memory_exceeded=result.memory_exceeded,
        output_tail=result.output_tail,
    )
    if result.stop_reason == "cancelled":
        return AttemptResult("cancelled", error="cancelled", **metrics)
    if result.stop_reason == "timeout":
        return AttemptResult("timed_out", error="timed out", **metrics)
    if result.stop_reason == "memory":
        return AttemptResult("failed", error="killed: memory threshold exceeded", **metrics)
    if result.exit_code == 0:
        return AttemptResult("succeeded", **metrics)
    if result.exit_code < 0:
        return AttemptResult("crashed", error=f"killed by signal {-result.exit_code}", **metrics)
    return AttemptResult("failed", error=f"exit code {result.exit_code}", **metrics)
