from pydantic import Field

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    batch_size: int = Field(1000, alias="ANALYTICS_BATCH_SIZE")
    # A job's requested, started and finished events arrive on three topics; a window long enough
    # to hold all three turns three document writes into one.
    batch_window_seconds: float = Field(0.25, alias="ANALYTICS_BATCH_WINDOW_SECONDS")
    cache_size: int = Field(50_000, alias="ANALYTICS_CACHE_SIZE")
    data_dir: str = Field(".data/faust", alias="FAUST_DATA_DIR")
    # Names this process's stats journal and batch guard (stats_store.py); unique per running instance.
    instance: str = Field("0", alias="ANALYTICS_INSTANCE", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    alert_webhook_url: str | None = Field(None, alias="ALERT_WEBHOOK_URL")
    alert_webhook_attempts: int = Field(5, ge=1, le=20, alias="ALERT_WEBHOOK_ATTEMPTS")
    alert_webhook_backoff_seconds: float = Field(0.5, ge=0, alias="ALERT_WEBHOOK_BACKOFF_SECONDS")
    alert_webhook_timeout_seconds: float = Field(5.0, gt=0, alias="ALERT_WEBHOOK_TIMEOUT_SECONDS")
