import os
import socket
from pathlib import Path

from pydantic import Field, field_validator

from shared.settings import ServiceSettings

BUNDLED_DUMMY_JOB = str(Path(__file__).with_name("dummy_job.py"))
_UNITS = {"": 1, "B": 1, "KB": 1024, "K": 1024, "MB": 1024**2, "M": 1024**2, "GB": 1024**3, "G": 1024**3}


def parse_bytes(text: str | int) -> int:
    """'40MB' -> 41943040. Seed 000 writes memory thresholds with units."""
    if isinstance(text, int):
        return text
    value = text.strip().upper()
    number = value.rstrip("KMGB")
    unit = value[len(number) :]
    if unit not in _UNITS or not number:
        raise ValueError(f"not a size: {text!r} (use e.g. 40MB, 512KB, 1GB)")
    return int(float(number) * _UNITS[unit])


class ExecutorSettings(ServiceSettings):
    worker_id: str = Field(default_factory=lambda: f"worker-{socket.gethostname()}-{os.getpid()}", alias="WORKER_ID")
    max_concurrent_executions: int = Field(10, ge=1, le=10_000, alias="MAX_CONCURRENT_EXECUTIONS")
    prefetch: int = Field(2000, ge=1, alias="EXECUTOR_PREFETCH")
    claim_ahead: int = Field(50, ge=0, le=10_000, alias="EXECUTOR_CLAIM_AHEAD")
    heartbeat_interval_seconds: float = Field(10.0, gt=0, alias="HEARTBEAT_INTERVAL_SECONDS")
    lease_duration_seconds: float = Field(60.0, gt=0, alias="LEASE_DURATION_SECONDS")
    cancel_grace_ms: int = Field(5000, ge=0, alias="CANCEL_GRACE_MS")
    job_script_path: str = Field(BUNDLED_DUMMY_JOB, alias="JOB_SCRIPT_PATH")
    default_memory_threshold: int = Field(40 * 1024**2, alias="DEFAULT_MEMORY_THRESHOLD")
    kill_on_memory_threshold: bool = Field(False, alias="KILL_ON_MEMORY_THRESHOLD")
    sample_interval_ms: int = Field(200, ge=10, alias="SAMPLE_INTERVAL_MS")
    capabilities: str = Field("script,native,shell,api,http,python", alias="WORKER_CAPABILITIES")
    worker_tags: str = Field("", alias="WORKER_TAGS")
    http_timeout_seconds: float = Field(30.0, gt=0, alias="HTTP_TIMEOUT_SECONDS")
    # Processes for CPU-bound Python job code (ctx.run_cpu), started on first use.
    cpu_workers: int = Field(2, ge=1, le=64, alias="CPU_WORKERS")

    @field_validator("default_memory_threshold", mode="before")
    @classmethod
    def _size(cls, value: str | int) -> int:
        return parse_bytes(value)

    def capability_list(self) -> list[str]:
        items = [c.strip() for c in f"{self.capabilities},{self.worker_tags}".split(",")]
        return sorted({c for c in items if c})
