"""Seed 004's observability API: `/observability/health`, `/metrics`, `/alerts`,
`/executions/recent`, `/executions/failed`. Executions and alerts are the analytics projections
(one record per finished attempt; alerts persisted, not in memory), paged newest first."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.api.insights import Insights, InsightsDep
from services.api.recent import newest_first
from services.api.stats_reader import number
from shared import mongo, topics
from shared.ids import id_floor

router = APIRouter(prefix="/observability", tags=["observability"])
CHECK_TIMEOUT_SECONDS = 3.0
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-fA-F-]{36}$", description="page below this id")]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def execution_public(record: dict[str, Any]) -> dict[str, Any]:
    """Seed 004's execution shape (epoch milliseconds as in the seed), plus our identifiers."""
    return {
        "id": record["_id"],
        "jobId": record["job_id"],
        "attempt": record["attempt"],
        "status": record["status"],
        "outcome": record.get("outcome"),
        "jobName": record.get("job_name"),
        "scheduledAt": _millis(record.get("scheduled_at")),
        "startedAt": _millis(record.get("started_at")),
        "completedAt": _millis(record.get("finished_at")),
        "duration": record.get("duration_ms"),
        "httpStatus": record.get("http_status"),
        "exitCode": record.get("exit_code"),
        "error": record.get("error"),
        "retryCount": record.get("retry_count", 0),
        "workerId": record.get("worker_id"),
    }


def alert_public(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": alert["_id"],
        "jobId": alert["job_id"],
        "attempt": alert.get("attempt"),
        "severity": alert.get("severity"),
        "reason": alert.get("reason"),
        "message": alert.get("message"),
        "error": alert.get("error"),
        "jobName": alert.get("job_name"),
        "timestamp": _iso(alert.get("occurred_at")),
    }


async def _check(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
        return name, {"status": "up", "latencyMs": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}
    except Exception as error:  # a failed check is an answer, not an error of this endpoint
        return name, {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}


async def _broker(insights: Insights) -> dict[str, Any]:
    metadata = await insights.producer.client.fetch_all_metadata()
    return {"brokers": len(metadata.brokers()), "topics": len(metadata.topics())}


async def _database(insights: Insights) -> dict[str, Any]:
    await insights.db.command("ping")
    return {}


async def _consumers(insights: Insights) -> dict[str, Any]:
    lag = await insights.lag.lag()
    return {"groups": {group: sum(per_topic.values()) for group, per_topic in lag.items()}}


@router.get("/health")
async def health(insights: InsightsDep) -> JSONResponse:
    """Real checks: a metadata round trip to the broker, a database ping, and consumer-group lag.
    503 when the broker or database is down; "degraded" when analytics lags by HEALTH_LAG_DEGRADED+."""
    checks = dict(
        await asyncio.gather(
            _check("broker", _broker(insights)),
            _check("database", _database(insights)),
            _check("consumerLag", _consumers(insights)),
        )
    )
    status = "healthy"
    if checks["broker"]["status"] == "down" or checks["database"]["status"] == "down":
        status = "unhealthy"
    elif checks["consumerLag"]["status"] == "down":
        status = "degraded"
    elif checks["consumerLag"]["groups"].get(topics.APP_ANALYTICS, 0) >= insights.settings.health_lag_degraded:
        status = "degraded"
    body = {"status": status, "checks": checks, "timestamp": _iso(datetime.now(UTC))}
    return JSONResponse(body, status_code=503 if status == "unhealthy" else 200)


@router.get("/metrics")
async def metrics(insights: InsightsDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    summary, last_hour, alerts = await asyncio.gather(
        insights.reader.summary(),
        insights.reader.last_hour(now),
        insights.db[mongo.ALERTS]
        .find({"sk": {"$gte": id_floor(int((now - timedelta(hours=1)).timestamp() * 1000))}}, {"_id": 1})
        .to_list(None),
    )
    statuses = (summary.get("jobs") or {}).get("status") or {}
    total = number(summary, "executions.n")
    succeeded, failed = number(summary, "executions.succeeded"), number(summary, "executions.failed")
    measured = number(summary, "executions.ms_n")
    return {
        "jobs": {
            "total": number(summary, "jobs.total"),
            "active": sum(statuses.get(status, 0) for status in ("queued", "running", "retrying")),
        },
        "executions": {
            "total": total,
            "successful": succeeded,
            "failed": failed,
            "successRate": f"{succeeded / total * 100:.2f}%" if total else "0.00%",
            "recentHour": last_hour["executions"],
            "averageDurationMs": round(number(summary, "executions.ms") / measured) if measured else 0,
        },
        "alerts": {"recentFailures": len(alerts)},
        "timestamp": _iso(now),
    }


@router.get("/alerts")
async def alerts(
    insights: InsightsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50, cursor: Cursor = None
) -> dict[str, Any]:
    found, next_cursor = await newest_first(insights.db[mongo.ALERTS], limit, cursor)
    return {"alerts": [alert_public(alert) for alert in found], "count": len(found), "nextCursor": next_cursor}


@router.get("/executions/recent")
async def recent_executions(
    insights: InsightsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 20, cursor: Cursor = None
) -> dict[str, Any]:
    found, next_cursor = await newest_first(insights.db[mongo.EXECUTIONS], limit, cursor)
    return {"executions": [execution_public(r) for r in found], "count": len(found), "nextCursor": next_cursor}


@router.get("/executions/failed")
async def failed_executions(
    insights: InsightsDep,
    jobId: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    collection = insights.db[mongo.FAILED_EXECUTIONS]
    if jobId is not None:
        # One job's failed attempts: a handful of records found through the job_id index.
        query: dict[str, Any] = {"job_id": jobId}
        if cursor:
            query["_id"] = {"$lt": cursor}
        records = sorted(await collection.find(query).to_list(None), key=lambda r: r["_id"], reverse=True)
        found, next_cursor = records[:limit], (records[limit - 1]["_id"] if len(records) > limit else None)
    else:
        found, next_cursor = await newest_first(collection, limit, cursor)
    return {
        "jobId": jobId,
        "executions": [execution_public(r) for r in found],
        "count": len(found),
        "nextCursor": next_cursor,
    }
