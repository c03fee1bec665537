from pydantic import Field

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    data_dir: str = Field(".data/faust", alias="FAUST_DATA_DIR")
    sweep_interval_seconds: float = Field(0.5, gt=0, alias="REGISTRY_SWEEP_INTERVAL_SECONDS")
    # Offline workers are removed from the projection after this long.
    worker_retention_seconds: float = Field(3600.0, gt=0, alias="WORKER_RETENTION_SECONDS")
