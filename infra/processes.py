"""Child processes the dev stack supervises: start, wait for a port, stop with a grace period.

Children get PR_SET_PDEATHSIG so that even if the supervisor is killed with SIGKILL, no broker,
database or service is left running behind it.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    nice: int = 0  # added to the child's niceness: lower CPU priority for background work
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "ManagedProcess":
        output = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in stop()
        self._output = output
        self.popen = subprocess.Popen(  # noqa: S603 - fixed argv
            self.argv,
            env={**os.environ, **self.env},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=self._prepare_child,  # noqa: PLW1509 - only calls prctl and nice
        )
        return self

    def _prepare_child(self) -> None:
        _die_with_parent()
        if self.nice:
            os.nice(self.nice)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def stop(self, grace: float = 10.0) -> int | None:
        if self.popen is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(5)
        if getattr(self, "_output", None):
            self._output.close()
        return self.popen.returncode

    def kill(self) -> None:
        """kill -9, as a crashed machine would."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(5)

    def wait_for_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_in_use(port):
                return
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode if self.popen else '?'}{self._log_hint()}"
                )
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not open port {port} within {timeout:.0f}s{self._log_hint()}")

    def _log_hint(self) -> str:
        return f" (see {self.log_path})" if self.log_path else ""
