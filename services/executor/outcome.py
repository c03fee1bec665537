"""The result of one attempt, whatever its kind, before it becomes a `JobFinished` event."""

from dataclasses import dataclass
from typing import Any

from shared.events import Outcome


@dataclass
class AttemptResult:
    outcome: Outcome
    retryable: bool = True
    exit_code: int | None = None
    duration_ms: float | None = None
    cpu_percent: float | None = None
    peak_rss_bytes: int | None = None
    memory_exceeded: bool = False
    http_status: int | None = None
    error: str | None = None
    output_tail: str | None = None
    result: Any = None
