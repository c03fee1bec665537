"""Seed 002's metrics: `/v1/metrics`, `/v1/metrics/definitions`, `/v1/metrics/throughput`,
`/v1/metrics/performance`, each with the seed's `ttl` cache parameter (seconds; default
METRICS_CACHE_TTL_SECONDS). Figures come from the incremental statistics, times are in seconds."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.insights import Insights, InsightsDep
from services.api.stats_reader import number
from shared import stats_keys

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])
SEED_STATUSES = ("queued", "running", "succeeded", "failed", "cancelling", "cancelled")
Ttl = Annotated[float | None, Query(ge=0, le=3600, description="serve a cached answer up to this many seconds old")]


def by_status(document: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(SEED_STATUSES, 0)
    counts.update({status: n for status, n in ((document.get("jobs") or {}).get("status") or {}).items() if n})
    return counts


def performance(document: dict[str, Any]) -> dict[str, float]:
    succeeded, failed = number(document, "terminal.succeeded"), number(document, "terminal.failed")
    finished = number(document, "terminal.n")

    def average_seconds(name: str) -> float:
        count = number(document, f"{name}.n")
        return round(number(document, f"{name}.ms") / count / 1000, 4) if count else 0.0

    return {
        "successRate": round(succeeded / (succeeded + failed), 4) if succeeded + failed else 0.0,
        "avgProcessingTime": average_seconds("processing"),
        "avgQueueTime": average_seconds("queue"),
        "retryRate": round(number(document, "terminal.retried") / finished, 4) if finished else 0.0,
    }


def _ttl(insights: Insights, ttl: float | None) -> float:
    return insights.settings.metrics_cache_ttl_seconds if ttl is None else ttl


@router.get("")
async def overall(insights: InsightsDep, ttl: Ttl = None) -> dict[str, Any]:
    async def compute() -> dict[str, Any]:
        summary = await insights.reader.summary()
        return {
            "summary": {"total": number(summary, "jobs.total"), "byStatus": by_status(summary)},
            "performance": performance(summary),
            "throughput": await insights.reader.throughput_windows(datetime.now(UTC)),
        }

    return await insights.cache.get("metrics", _ttl(insights, ttl), compute)


@router.get("/definitions")
async def definitions(insights: InsightsDep, ttl: Ttl = None) -> dict[str, Any]:
    async def compute() -> dict[str, Any]:
        documents = await insights.reader.prefixed(stats_keys.DEFINITION_PREFIX)
        items = []
        for document in sorted(documents, key=lambda doc: doc["_id"]):
            if not number(document, "jobs.total"):
                continue  # e.g. `unknown`: jobs seen before their request, counted there meanwhile
            key, _, version = document["_id"][len(stats_keys.DEFINITION_PREFIX) :].rpartition("@")
            figures = performance(document)
            items.append(
                {
                    "definitionKey": key,
                    "definitionVersion": int(version) if version.isdigit() else None,
                    "total": number(document, "jobs.total"),
                    "byStatus": by_status(document),
                    "successRate": figures["successRate"],
                    "avgProcessingTime": figures["avgProcessingTime"],
                    "avgQueueTime": figures["avgQueueTime"],
                }
            )
        return {"definitions": items}

    return await insights.cache.get("definitions", _ttl(insights, ttl), compute)


@router.get("/throughput")
async def throughput(
    insights: InsightsDep,
    hours: Annotated[int, Query(ge=1, le=168, description="hours to look back")] = 24,
    ttl: Ttl = None,
) -> dict[str, Any]:
    async def compute() -> dict[str, Any]:
        series = await insights.reader.hours(datetime.now(UTC), hours)
        return {
            "data": [
                {
                    "period": moment.isoformat().replace("+00:00", ".000Z"),
                    "completed": counters["completed"],
                    "failed": counters["failed"],
                }
                for moment, counters in series
            ]
        }

    return await insights.cache.get(f"throughput:{hours}", _ttl(insights, ttl), compute)


@router.get("/performance")
async def performance_only(insights: InsightsDep, ttl: Ttl = None) -> dict[str, float]:
    async def compute() -> dict[str, float]:
        return performance(await insights.reader.summary())

    return await insights.cache.get("performance", _ttl(insights, ttl), compute)
