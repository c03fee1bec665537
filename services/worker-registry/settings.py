from pydantic import Field

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    data_dir: str = Field(".data/faust", alias="FAUST_DATA_DIR")
    heartbeat_interval_seconds: float = Field(10.0, gt=0, alias="HEARTBEAT_INTERVAL_SECONDS")
