"""Prometheus metrics: the names every service exports, and the per-service `/metrics` endpoint.

Each service process calls `serve(settings.metrics_port)` (METRICS_PORT; 0 = off) and updates the
metrics it owns; the API serves `/metrics` on its own HTTP port instead. Names are defined here once,
so a dashboard finds the same series whichever service exports them.
"""

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

# analytics: job outcomes as the projection sees them (each transition once per process)
JOB_TRANSITIONS = Counter(
    "jobstream_job_transitions_total", "Job status transitions projected", ["status", "definition"]
)
ATTEMPT_DURATION = Histogram(
    "jobstream_attempt_duration_seconds",
    "Duration of finished attempts",
    ["definition", "outcome"],
    buckets=DURATION_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "jobstream_queue_wait_seconds", "Time from submission to the first start", ["definition"], buckets=DURATION_BUCKETS
)
BATCH_SECONDS = Histogram("jobstream_projection_batch_seconds", "Time to project one batch of events")
# api: figures read from the statistics projection at scrape time
JOBS = Gauge("jobstream_jobs", "Jobs by current status and definition", ["status", "definition"])
QUEUE_DEPTH = Gauge("jobstream_queue_depth", "Jobs waiting to run (queued or waiting for a retry)")
CONSUMER_LAG = Gauge("jobstream_consumer_lag", "Messages not yet consumed by a consumer group", ["group", "topic"])
# executor
EXECUTOR_QUEUED = Gauge("jobstream_executor_queued", "Requests held in this executor's local queue")
EXECUTOR_RUNNING = Gauge("jobstream_executor_running", "Attempts running in this executor")
# scheduler
SCHEDULER_DRIFT = Histogram(
    "jobstream_scheduler_drift_seconds",
    "How late a timer or cron slot fired",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60),
)


def serve(port: int, service: str) -> bool:
    """Start the `/metrics` HTTP endpoint on `port` in a background thread (0 disables it)."""
    if not port:
        return False
    try:
        start_http_server(port)
    except OSError as error:  # metrics are not worth stopping a service for
        log.error("%s: cannot serve metrics on port %d: %s", service, port, error)
        return False
    log.info("%s: Prometheus metrics on :%d/metrics", service, port)
    return True
