from pydantic import Field, field_validator

from shared.settings import ServiceSettings


def _millis_to_seconds(value: str | int | float) -> float:
    if isinstance(value, int | float):
        return float(value) / 1000
    text = value.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text) / 1000


class ApiSettings(ServiceSettings):
    host: str = Field("127.0.0.1", alias="API_HOST")
    port: int = Field(8000, ge=1, le=65535, alias="PORT")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, alias="MAX_BODY_BYTES")
    # Seeds 000/001: ad-hoc jobs are retried DEFAULT_MAX_RETRIES times, RETRY_DELAY apart.
    default_max_retries: int = Field(1, ge=0, le=99, alias="DEFAULT_MAX_RETRIES")
    retry_delay_seconds: float = Field(1.0, alias="RETRY_DELAY")
    metrics_cache_ttl_seconds: float = Field(30.0, alias="METRICS_CACHE_TTL_SECONDS")

    @field_validator("retry_delay_seconds", mode="before")
    @classmethod
    def _delay(cls, value: str | int | float) -> float:
        return _millis_to_seconds(value)
