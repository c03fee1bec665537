"""Runs one native process (argv list, never a shell unless the caller passes /bin/sh -c) and
measures it.

Written by hand because no library gives all of this on asyncio: exact per-child CPU time
(`os.wait4`), exit notification without a watcher thread (a pidfd on the event loop), a bounded
output tail, and termination of the whole process group with a grace period.

Peak memory is the kernel's high-water mark (VmHWM) of each process in the tree, read while it
runs. `ru_maxrss` from wait4 cannot be used: Linux folds the forking parent's RSS into it at exec,
so every child of a 70 MB executor would "peak" at 70 MB. Because VmHWM only grows, reading it
often early (5, 20, 50, 100 ms) and then every sample interval catches the peak of all but the
very shortest processes.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass

import psutil

OUTPUT_TAIL_BYTES = 4096
EARLY_SAMPLES = (0.005, 0.015, 0.03, 0.05)


@dataclass
class ProcessResult:
    exit_code: int  # negative: killed by that signal
    duration_ms: float
    cpu_percent: float
    peak_rss_bytes: int
    output_tail: str
    memory_exceeded: bool
    stop_reason: str | None  # "timeout", "cancelled", "memory" when we stopped it


class NativeProcess:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        self.argv = argv
        self._env = env
        self._cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self._stop_reason: str | None = None
        self._exited = asyncio.Event()
        self._tail = bytearray()

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        self._popen = subprocess.Popen(  # noqa: S603 - argv list, no shell
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches grandchildren
            env=self._env,
            cwd=self._cwd,
            close_fds=True,
        )
        self._started = time.monotonic()
        loop = asyncio.get_running_loop()
        assert self._popen.stdout is not None
        output_fd = self._popen.stdout.fileno()
        os.set_blocking(output_fd, False)
        loop.add_reader(output_fd, self._read_output, output_fd)
        self._pidfd = os.pidfd_open(self._popen.pid)
        loop.add_reader(self._pidfd, self._exited.set)

    def _read_output(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            asyncio.get_running_loop().remove_reader(fd)
            return
        self._tail += chunk
        del self._tail[:-OUTPUT_TAIL_BYTES]

    async def wait(
        self,
        timeout: float | None,
        memory_threshold: int | None,
        kill_on_memory: bool,
        sample_interval: float,
        grace: float,
    ) -> ProcessResult:
        assert self._popen is not None
        peak = 0
        memory_exceeded = False
        deadline = None if timeout is None else self._started + timeout
        steps = iter(EARLY_SAMPLES)
        while not self._exited.is_set():
            step = next(steps, sample_interval)
            wait_for = step if deadline is None else min(step, max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exited.wait(), wait_for)
            if self._exited.is_set():
                break
            peak = max(peak, _tree_peak_rss(self._popen.pid))
            if memory_threshold is not None and peak > memory_threshold:
                memory_exceeded = True
                if kill_on_memory and self._stop_reason is None:
                    self.stop("memory", grace)
            if deadline is not None and time.monotonic() >= deadline and self._stop_reason is None:
                self.stop("timeout", grace)
        return self._reap(peak, memory_exceeded)

    def stop(self, reason: str, grace: float) -> None:
        """SIGTERM the process group now and SIGKILL it after `grace` seconds if still alive."""
        if self._popen is None or self._exited.is_set():
            return
        self._stop_reason = self._stop_reason or reason
        self._signal(signal.SIGTERM)
        asyncio.get_running_loop().call_later(grace, self._signal, signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self._popen is not None and not self._exited.is_set():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._popen.pid, signum)

    def _reap(self, peak: int, memory_exceeded: bool) -> ProcessResult:
        assert self._popen is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # The leader is a zombie until reaped, so the group id is still ours: clear out any
        # children it left behind before reaping.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signal.SIGKILL)
        _, status, usage = os.wait4(self._popen.pid, 0)
        exit_code = os.waitstatus_to_exitcode(status)
        self._popen.returncode = exit_code  # we reaped it; keep Popen from waiting again
        assert self._popen.stdout is not None
        fd = self._popen.stdout.fileno()
        self._read_output(fd)
        loop.remove_reader(fd)
        self._popen.stdout.close()
        elapsed = max(1e-6, time.monotonic() - self._started)
        return ProcessResult(
            exit_code=exit_code,
            duration_ms=round(elapsed * 1000, 3),
            cpu_percent=round(100 * (usage.ru_utime + usage.ru_stime) / elapsed, 2),
            peak_rss_bytes=peak,
            output_tail=self._tail.decode(errors="replace"),
            memory_exceeded=memory_exceeded,
            stop_reason=self._stop_reason,
        )


def _tree_peak_rss(pid: int) -> int:
    """Sum of the high-water RSS of the process and its descendants, in bytes."""
    try:
        pids = [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return 0
    return sum(_high_water_rss(each) for each in pids)


def _high_water_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return 0
