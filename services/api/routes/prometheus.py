"""`GET /metrics` on the API's own port: Prometheus text format.

Besides the process's own series, the API publishes the platform-wide figures it can read cheaply:
jobs by status and definition and the queue depth (from the statistics projection) and each consumer
group's lag (from the broker), refreshed at scrape time.
"""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.insights import InsightsDep
from shared import metrics, stats_keys

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus(insights: InsightsDep) -> Response:
    documents = await insights.reader.prefixed(stats_keys.DEFINITION_PREFIX)
    queued = 0
    for document in documents:
        definition = document["_id"][len(stats_keys.DEFINITION_PREFIX) :]
        for status, n in ((document.get("jobs") or {}).get("status") or {}).items():
            metrics.JOBS.labels(status, definition).set(n)
            if status in ("queued", "retrying"):
                queued += n
    metrics.QUEUE_DEPTH.set(queued)
    try:
        for group, per_topic in (await insights.lag.lag()).items():
            for topic, lag in per_topic.items():
                metrics.CONSUMER_LAG.labels(group, topic).set(lag)
    except Exception:  # the broker being down must not hide the other figures
        pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
