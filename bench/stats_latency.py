"""GET /stats latency with 100,000 finished jobs in the projections (target: p99 < 100 ms).

    .venv/bin/python bench/stats_latency.py [--jobs 100000] [--requests 1000]

Starts the embedded broker and database with only the analytics and API services, produces the
`job.requested` / `job.started` / `job.finished` events of `--jobs` synthetic finished jobs straight
to Kafka (spread over the last 7 days, 60 job-name shapes, an argument pool, 4 workers, 15% failures
and one planted pattern: the argument `--turbo` fails 40% of the time), waits until the analytics
projection has counted every job, then times `--requests` sequential GET /stats requests (and the other
statistics endpoints) from one client. Prints one JSON line per figure.

`--reuse DATA_DIR` times the requests again on the database an earlier run left (broker empty, API only).
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.processes import free_port  # noqa: E402
from infra.stack import Stack, StackSettings  # noqa: E402
from shared import topics  # noqa: E402
from shared.events import JobFinished, JobRequested, JobSpec, JobStarted, encode  # noqa: E402
from shared.ids import time_id  # noqa: E402

ARGUMENTS = [
    "--fast",
    "--safe",
    "-v",
    "-q",
    "--retry",
    "memory_mb=64",
    "memory_mb=512",
    "input.csv",
    "out.json",
    "--turbo",
    "mode=full",
    "mode=delta",
    "--dry-run",
    "region=eu",
    "region=us",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def emit(name: str, **fields: object) -> None:
    print(json.dumps({"bench": name, "date": time.strftime("%Y-%m-%d"), **fields}), flush=True)


def job_events(n: int, rng: random.Random, now: datetime) -> list[tuple[str, bytes, str]]:
    submitted = now - timedelta(seconds=rng.uniform(60, 7 * 86_400))
    args = rng.sample(ARGUMENTS, rng.randrange(0, 4))
    failure_rate = 0.4 if "--turbo" in args else 0.1
    failed = rng.random() < failure_rate
    job_id = time_id(int(submitted.timestamp() * 1000), f"bench:{n}")
    spec = JobSpec(kind="native", job_name=f"task-{rng.randrange(60)}-{n}", args=args, max_attempts=1)
    worker = f"worker-{rng.randrange(4)}"
    started = submitted + timedelta(milliseconds=rng.uniform(5, 500))
    duration = rng.lognormvariate(6, 1.2)
    peak = int(rng.uniform(20, 90 if "memory_mb=512" not in args else 1400) * 2**20)
    finished = started + timedelta(milliseconds=duration)
    events = [
        (
            topics.JOB_REQUESTED,
            JobRequested(job_id=job_id, producer="bench", spec=spec, occurred_at=submitted, submitted_at=submitted),
        ),
        (topics.JOB_STARTED, JobStarted(job_id=job_id, producer="bench", worker_id=worker, occurred_at=started)),
        (
            topics.JOB_FINISHED,
            JobFinished(
                job_id=job_id,
                producer="bench",
                worker_id=worker,
                outcome="failed" if failed else "succeeded",
                disposition="dead_lettered" if failed else "succeeded",
                exit_code=1 if failed else 0,
                duration_ms=duration,
                cpu_percent=rng.uniform(1, 100),
                peak_rss_bytes=peak,
                memory_exceeded=peak > 40 * 2**20,
                occurred_at=finished,
            ),
        ),
    ]
    return [(topic, encode(event), job_id) for topic, event in events]


async def produce(bootstrap: str, jobs: int) -> float:
    rng = random.Random(42)
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for n in range(jobs):
            for topic, value, key in job_events(n, rng, now):
                pending.append(await producer.send(topic, value, key=key.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def time_requests(client: httpx.Client, path: str, count: int, **params: object) -> dict[str, float]:
    client.get(path, params=params)  # warm-up
    samples = []
    for _ in range(count):
        begin = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.text
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "p99_ms": round(percentile(samples, 99), 1),
        "max_ms": round(max(samples), 1),
        "requests": count,
    }


def measure(client: httpx.Client, requests: int, jobs: int) -> None:
    stats = client.get("/stats").json()
    emit(
        "stats_answer",
        totalJobs=stats["totalJobs"],
        finishedJobs=stats["finishedJobs"],
        overallSuccessRate=stats["overallSuccessRate"],
        patterns=[
            (p["pattern"], p["matchCount"], p["successRate"], p["differenceFromAverage"]) for p in stats["patterns"]
        ][:5],
        averageJobCost=stats["averageJobCost"]["average"],
        highMemoryArguments=stats["highMemoryArguments"]["arguments"][:3],
    )
    emit("GET /stats", jobs=jobs, **time_requests(client, "/stats", requests))
    emit(
        "GET /stats?groupBy=weekday&tz=America/New_York",
        jobs=jobs,
        **time_requests(client, "/stats", requests // 4, groupBy="weekday", tz="America/New_York"),
    )
    emit("GET /v1/metrics?ttl=0", **time_requests(client, "/v1/metrics", requests // 4, ttl=0))
    emit(
        "GET /v1/metrics/throughput?hours=168&ttl=0",
        **time_requests(client, "/v1/metrics/throughput", requests // 4, hours=168, ttl=0),
    )
    emit("GET /observability/metrics", **time_requests(client, "/observability/metrics", requests // 4))
    emit(
        "GET /observability/executions/recent",
        **time_requests(client, "/observability/executions/recent", requests // 4, limit=20),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--catch-up-seconds", type=float, default=7200, help="give up waiting for the projection")
    parser.add_argument("--reuse", type=Path, help="only time the requests, on the DATA_DIR an earlier run left")
    options = parser.parse_args()
    data_dir = options.reuse or Path(tempfile.mkdtemp(prefix="jobstream-stats-bench-"))
    settings = StackSettings(
        KAFKA_PORT=free_port(),
        MONGO_PORT=free_port(),
        PORT=free_port(),
        DATA_DIR=data_dir,
        STACK_SERVICES="api" if options.reuse else "analytics,api",
    )
    stack = Stack(settings, log_to_files=True, env={"LOG_LEVEL": "WARNING"})
    try:
        stack.start_servers()
        stack.create_topics()
        stack.start_services()
        client = httpx.Client(base_url=stack.api_url, timeout=30)
        if options.reuse:
            measure(client, options.requests, options.jobs)
            return
        produce_seconds = asyncio.run(produce(stack.bootstrap, options.jobs))
        emit("stats_bench_produce", jobs=options.jobs, events=options.jobs * 3, seconds=round(produce_seconds, 1))
        begin = time.monotonic()
        while True:
            # Done when every job is finished and analytics has consumed every topic (a job's
            # requested event may be consumed after its finished one: topics are read independently).
            stats = client.get("/stats").json()
            lag = client.get("/observability/health").json()["checks"]["consumerLag"].get("groups", {})
            if stats["finishedJobs"] >= options.jobs and lag.get(topics.APP_ANALYTICS) == 0:
                break
            if time.monotonic() - begin > options.catch_up_seconds:
                raise SystemExit(f"projection did not catch up: {stats['finishedJobs']} of {options.jobs}; lag {lag}")
            time.sleep(2)
        projected = time.monotonic() - begin
        emit(
            "stats_bench_projection",
            jobs=options.jobs,
            seconds_after_produce=round(projected, 1),
            jobs_per_second=round(options.jobs / (projected + produce_seconds), 1),
        )
        measure(client, options.requests, options.jobs)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
