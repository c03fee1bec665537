"""What the statistics, metrics and observability routes depend on, built once in the app's lifespan."""

from dataclasses import dataclass, field
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from motor.motor_asyncio import AsyncIOMotorDatabase

from services.api.patterns import PatternRules
from services.api.settings import ApiSettings
from services.api.stats_reader import StatsReader, number
from services.api.ttlcache import TtlCache
from shared.cost import CostSettings
from shared.lag import LagMonitor


@dataclass
class Insights:
    settings: ApiSettings
    db: AsyncIOMotorDatabase
    producer: AIOKafkaProducer
    reader: StatsReader
    cost: CostSettings
    rules: PatternRules
    lag: LagMonitor
    cache: TtlCache = field(default_factory=TtlCache)

    @classmethod
    def build(cls, settings: ApiSettings, db: AsyncIOMotorDatabase, producer: AIOKafkaProducer) -> "Insights":
        rules = PatternRules(
            min_support=settings.stats_pattern_min_support,
            alpha=settings.stats_pattern_alpha,
            min_difference=settings.stats_pattern_min_difference,
        )
        return cls(settings, db, producer, StatsReader(db), CostSettings(), rules, LagMonitor(settings.kafka_bootstrap))

    async def close(self) -> None:
        await self.lag.close()

    def cost_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Seed 000's average job cost, priced now from the summed resource components."""
        jobs = number(summary, "cost.n")
        seconds = number(summary, "cost.duration_ms") / 1000 / jobs if jobs else 0.0
        cpu = number(summary, "cost.cpu_centi") / 100 / jobs if jobs else 0.0
        units = number(summary, "cost.memory_units") / jobs if jobs else 0.0
        prices = self.cost
        parts = {
            "duration": seconds * prices.duration_second_price,
            "cpu": cpu * prices.cpu_percent_price,
            "memory": units * prices.memory_unit_price,
        }
        return {
            "average": round(sum(parts.values()), 6),
            "currency": "USD",
            "jobs": jobs,
            "perJob": {
                "durationSeconds": round(seconds, 4),
                "cpuPercent": round(cpu, 4),
                "memoryUnits": round(units, 4),
            },
            "breakdown": {name: round(value, 6) for name, value in parts.items()},
            "prices": {
                "perSecond": prices.duration_second_price,
                "perCpuPercent": prices.cpu_percent_price,
                "perMemoryUnit": prices.memory_unit_price,
                "memoryUnitMb": prices.memory_unit_mb,
                "freeMemoryMb": prices.free_memory_mb,
            },
        }


async def get_insights(request: Request) -> Insights:  # async: no worker-thread hop (see deps.py)
    return request.app.state.insights


InsightsDep = Annotated[Insights, Depends(get_insights)]
