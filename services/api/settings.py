from pydantic import Field, field_validator

from shared.events import RetryPolicy
from shared.settings import ServiceSettings, millis_to_seconds


class ApiSettings(ServiceSettings):
    host: str = Field("127.0.0.1", alias="API_HOST")
    port: int = Field(8000, ge=1, le=65535, alias="PORT")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, alias="MAX_BODY_BYTES")
    # At start-up, accepted jobs of this many past hours that never started are published again
    # (the embedded broker loses its log on restart). 0 turns it off.
    recovery_window_hours: float = Field(24.0, ge=0, alias="RECOVERY_WINDOW_HOURS")
    # Seeds 000/001: ad-hoc jobs are retried DEFAULT_MAX_RETRIES times, RETRY_DELAY apart.
    default_max_retries: int = Field(1, ge=0, le=99, alias="DEFAULT_MAX_RETRIES")
    retry_delay_seconds: float = Field(1.0, alias="RETRY_DELAY")
    # Seed 004 HTTP POST schedules: the request timeout of each attempt.
    http_job_timeout_seconds: float = Field(30.0, gt=0, le=3600, alias="HTTP_JOB_TIMEOUT_SECONDS")
    metrics_cache_ttl_seconds: float = Field(30.0, alias="METRICS_CACHE_TTL_SECONDS")
    # GET /stats pattern discovery: jobs needed on both sides, false discovery rate, smallest difference
    stats_pattern_min_support: int = Field(20, ge=2, alias="STATS_PATTERN_MIN_SUPPORT")
    stats_pattern_alpha: float = Field(0.05, gt=0, lt=1, alias="STATS_PATTERN_ALPHA")
    stats_pattern_min_difference: float = Field(0.05, ge=0, le=1, alias="STATS_PATTERN_MIN_DIFFERENCE")
    # /observability/health: consumer lag (messages) above which the platform reports "degraded"
    health_lag_degraded: int = Field(10_000, ge=0, alias="HEALTH_LAG_DEGRADED")
    # Seed 002: the retry policy of jobs that name none (and whose definition names none).
    backoff_base_seconds: float = Field(1.0, ge=0, le=86_400, alias="BACKOFF_BASE_SECONDS")
    backoff_max_seconds: float = Field(3600.0, ge=0, le=7 * 86_400, alias="BACKOFF_MAX_SECONDS")
    backoff_factor: float = Field(2.0, ge=1, le=10, alias="BACKOFF_FACTOR")
    # A fraction (0.3) as in seed 002; values above 1 are read as percent (30 -> 0.3).
    backoff_jitter_percent: float = Field(0.3, ge=0, le=100, alias="BACKOFF_JITTER_PERCENT")
    # Seed 002's video endpoints: uploads and encoded files live here (a folder the executors share).
    video_dir: str = Field(".data/videos", alias="VIDEO_DIR")
    video_max_bytes: int = Field(2 * 1024**3, ge=1024, alias="VIDEO_MAX_BYTES")

    def default_retry_policy(self) -> RetryPolicy:
        jitter = self.backoff_jitter_percent / 100 if self.backoff_jitter_percent > 1 else self.backoff_jitter_percent
        return RetryPolicy(
            base_seconds=self.backoff_base_seconds,
            max_seconds=max(self.backoff_max_seconds, self.backoff_base_seconds),
            factor=self.backoff_factor,
            jitter=jitter,
        )

    @field_validator("retry_delay_seconds", mode="before")
    @classmethod
    def _delay(cls, value: str | int | float) -> float:
        return millis_to_seconds(value)
