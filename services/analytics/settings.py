from pydantic import Field

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    batch_size: int = Field(1000, alias="ANALYTICS_BATCH_SIZE")
    batch_window_seconds: float = Field(0.05, alias="ANALYTICS_BATCH_WINDOW_SECONDS")
    cache_size: int = Field(50_000, alias="ANALYTICS_CACHE_SIZE")
    data_dir: str = Field(".data/faust", alias="FAUST_DATA_DIR")
