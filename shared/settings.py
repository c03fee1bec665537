"""Settings common to every service, read from environment variables (documented in the README).

Each service subclasses `ServiceSettings` with its own fields and builds it once in `main()`.
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    kafka_bootstrap: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP")
    mongo_url: str = Field("mongodb://127.0.0.1:27017", alias="MONGO_URL")
    mongo_database: str = Field("jobstream", alias="MONGO_DATABASE")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # none | console | jsonl (one JSON span per line in TRACING_FILE)
    tracing_exporter: str = Field("none", alias="TRACING_EXPORTER")
    tracing_file: str = Field(".data/traces.jsonl", alias="TRACING_FILE")
    # Kafka group membership: Tansu makes a join wait about half the session timeout (DESIGN.md),
    # so every consumer in every service uses these two values.
    kafka_session_timeout_ms: int = Field(6000, alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_interval_ms: int = Field(2000, alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    # How long the broker may hold a fetch open waiting for data. Tansu does not answer a waiting
    # fetch early when a message arrives on a multi-partition topic (measured: ~150 ms median
    # pickup at 500 ms), so latency-sensitive consumers poll with a short wait instead.
    kafka_fetch_max_wait_ms: int = Field(10, ge=0, alias="KAFKA_FETCH_MAX_WAIT_MS")
    metrics_port: int = Field(0, alias="METRICS_PORT", description="Prometheus port; 0 disables it")


def millis_to_seconds(value: str | int | float) -> float:
    """'1000ms', '1s' or 1000 -> seconds. Seed 000 writes delays such as RETRY_DELAY as '1000ms'."""
    if isinstance(value, int | float):
        return float(value) / 1000
    text = value.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text) / 1000
