"""`GET /stats`: seeds 000 and 001 in one response, from the incremental statistics.

Seed 001: `totalJobs`, `overallSuccessRate`, `patterns` (found automatically and tested, see
services/api/patterns.py). Seed 000: failures by hour of day (or minute, weekday, month; any time
zone), the average job cost, and the arguments that recur in jobs above their memory threshold.
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query

from services.api.errors import ApiError
from services.api.insights import InsightsDep
from services.api.patterns import Pattern, counters_from_documents, difference_text, discover
from services.api.stats_reader import number
from services.api.timebuckets import GroupBy, failures_by, month_ids
from shared import stats_keys
from shared.stats_keys import decode_field, describe_pattern

router = APIRouter(tags=["statistics"])
HIGH_MEMORY_MIN_COUNT = 2
HIGH_MEMORY_LIMIT = 20


def zone_or_400(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ApiError(
            400, "unknown_timezone", f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin"
        ) from error


@router.get("/stats")
async def stats(
    insights: InsightsDep,
    groupBy: Annotated[GroupBy, Query(description="failures by hour (default), minute, weekday or month")] = "hour",
    tz: Annotated[str, Query(max_length=64, description="IANA time zone for the failure buckets")] = "UTC",
    months: Annotated[int, Query(ge=1, le=120, description="how many months of failures to count")] = 12,
) -> dict[str, Any]:
    zone = zone_or_400(tz)
    now = datetime.now(UTC)
    points, pattern_docs, failure_docs = await asyncio.gather(
        insights.reader.by_ids(stats_keys.SUMMARY, stats_keys.HIGH_MEMORY),
        insights.reader.patterns(),
        insights.reader.by_ids(*month_ids(now, months)),
    )
    failure_docs = list(failure_docs.values())
    summary = points.get(stats_keys.SUMMARY, {})
    succeeded, failed = number(summary, "terminal.succeeded"), number(summary, "terminal.failed")
    finished = succeeded + failed
    overall = succeeded / finished if finished else 0.0
    found = discover(
        counters_from_documents(pattern_docs, stats_keys.PATTERN_PREFIX), finished, succeeded, insights.rules
    )
    by_hour = failures_by(failure_docs, "hour", zone, now)
    chosen = by_hour if groupBy == "hour" else failures_by(failure_docs, groupBy, zone, now)
    return {
        "totalJobs": number(summary, "jobs.total"),
        "finishedJobs": finished,
        "overallSuccessRate": round(overall, 4),
        "patterns": [_pattern_public(pattern, overall) for pattern in found],
        "patternMethod": {
            "test": "two-proportion z-test against all other finished jobs, Benjamini-Hochberg adjusted",
            "minSupport": insights.rules.min_support,
            "alpha": insights.rules.alpha,
            "minDifference": insights.rules.min_difference,
            "confidenceInterval": "Wilson 95%",
        },
        "failuresByHour": [{"hour": int(hour), "failures": n} for hour, n in by_hour.items()],
        "failures": {
            "groupBy": groupBy,
            "timezone": tz,
            "months": months,
            "total": sum(chosen.values()),
            "buckets": [{"bucket": key, "failures": n} for key, n in chosen.items()],
        },
        "averageJobCost": insights.cost_summary(summary),
        "highMemoryArguments": _high_memory(points.get(stats_keys.HIGH_MEMORY, {})),
        "generatedAt": now.isoformat(),
    }


def _pattern_public(pattern: Pattern, overall: float) -> dict[str, Any]:
    low, high = pattern.interval
    return {
        "pattern": describe_pattern(pattern.feature, pattern.value),
        "matchCount": pattern.match_count,
        "successRate": round(pattern.success_rate, 4),
        "differenceFromAverage": difference_text(pattern.success_rate, overall),
        "feature": pattern.feature,
        "value": pattern.value,
        "confidenceInterval": [round(low, 4), round(high, 4)],
        "othersSuccessRate": round(pattern.rest_rate, 4),
        "z": round(pattern.z, 3),
        "pValue": pattern.p_value,
        "adjustedPValue": pattern.adjusted_p_value,
    }


def _high_memory(document: dict[str, Any]) -> dict[str, Any]:
    jobs = number(document, "jobs")
    counts = [(decode_field(arg), n) for arg, n in (document.get("args") or {}).items() if n >= HIGH_MEMORY_MIN_COUNT]
    counts.sort(key=lambda item: (-item[1], item[0]))
    return {
        "jobs": jobs,
        "threshold": "each job's memory threshold (DEFAULT_MEMORY_THRESHOLD unless the job sets one)",
        "arguments": [
            {"argument": arg, "count": n, "share": round(n / jobs, 4) if jobs else 0.0}
            for arg, n in counts[:HIGH_MEMORY_LIMIT]
        ],
    }
