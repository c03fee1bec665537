"""Seed 000's job cost model, shared by analytics (which sums the resource components) and the API
(which prices them).

    cost = duration_s * DURATION_PRICE + avg_cpu_percent * CPU_PRICE + memory_units * MEMORY_UNIT_PRICE
    memory_units = ceil(max(0, peak_memory_mb - FREE_MEMORY_MB) / MEMORY_UNIT_MB)

Seed 000 defaults: 1024 MB free, $0.10 per 256 MB started above it, $0.01 per 1% average CPU,
$0.05 per second. The seed's prose says "duration * average cpu usage + memory"; its configuration
table prices duration and CPU separately, and that (linear) reading is the one implemented: it keeps
the average cost a price-weighted sum of averages, so prices can change without re-counting.
"""

import math

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class CostSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    free_memory_mb: float = Field(1024.0, ge=0, alias="COST_FREE_MEMORY_MB")
    memory_unit_mb: float = Field(256.0, gt=0, alias="COST_MEMORY_UNIT_MB")
    memory_unit_price: float = Field(0.10, ge=0, alias="COST_MEMORY_UNIT_PRICE")
    cpu_percent_price: float = Field(0.01, ge=0, alias="COST_CPU_PERCENT_PRICE")
    duration_second_price: float = Field(0.05, ge=0, alias="COST_DURATION_SECOND_PRICE")


def memory_units(peak_bytes: int | None, settings: CostSettings) -> int:
    """Billed memory units: every started MEMORY_UNIT_MB above the free allowance."""
    if not peak_bytes:
        return 0
    above = peak_bytes / MB - settings.free_memory_mb
    return max(0, math.ceil(above / settings.memory_unit_mb - 1e-9))


def attempt_cost(duration_ms: float, cpu_percent: float, units: int, settings: CostSettings) -> float:
    return (
        duration_ms / 1000 * settings.duration_second_price
        + cpu_percent * settings.cpu_percent_price
        + units * settings.memory_unit_price
    )
