"""Cron fire drift: N schedules firing every second, through jobstream's scheduler, beside plain
APScheduler (one job per schedule) from ../shared/peers, in the same run.

    .venv/bin/python bench/cron_drift.py [--schedules 1000 10000] [--seconds 20] [--no-peer]

jobstream: the embedded broker and database are started on free ports; N schedules (four
expressions/zones: `* * * * * *` and `*/1 * * * * *` in UTC and Europe/Paris) are stored in the
scheduler's collection and loaded the way a restarted or failed-over scheduler loads them
(`CronScheduler.assign`); the real tick (APScheduler, once per second), plan, renderer and batch
firer then run in this process against the real broker.
- drift = broker ack of the batch holding the fire - slot time (what "produced" means here);
- missed = (schedule, slot) pairs in the window that never reached `job-requested`, counted by a
  consumer reading every message back (duplicates are counted too);
- e2e p99 = the consumer's receive time - slot, for reference.
Only slots inside the window (after a 3 s warm-up) count. The peer (`apscheduler_bench.py --trigger
cron`) measures job start - scheduled run time inside APScheduler, with no broker at all.
"""

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import murmur2
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from motor.motor_asyncio import AsyncIOMotorClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.processes import free_port  # noqa: E402
from infra.stack import Stack, StackSettings  # noqa: E402
from services.scheduler.cron import CronScheduler  # noqa: E402
from services.scheduler.firing import Firer  # noqa: E402
from services.scheduler.settings import SchedulerSettings  # noqa: E402
from services.scheduler.store import ScheduleStore  # noqa: E402
from shared import kafka, mongo, topics  # noqa: E402
from shared.events import JobSpec  # noqa: E402
from shared.ids import new_job_id  # noqa: E402
from shared.schedules import Schedule  # noqa: E402

PEERS = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "peers"))
PEER_PYTHON = os.environ.get("PEER_PYTHON", sys.executable)  # the peer needs only APScheduler 3
VARIANTS = [
    ("* * * * * *", "UTC"),
    ("*/1 * * * * *", "UTC"),
    ("* * * * * *", "Europe/Paris"),
    ("*/1 * * * * *", "Europe/Paris"),
]


def percentile(weighted: list[tuple[float, int]], p: float) -> float | None:
    """Nearest-rank percentile of (value, weight) pairs."""
    total = sum(weight for _, weight in weighted)
    if not total:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value, weight in sorted(weighted):
        seen += weight
        if seen >= rank:
            return value
    return sorted(weighted)[-1][0]


def emit(name: str, **fields: object) -> dict:
    record = {"bench": name, "date": time.strftime("%Y-%m-%d"), **fields}
    print(json.dumps(record), flush=True)
    return record


def schedules(count: int) -> list[Schedule]:
    now = datetime.now(UTC)
    job = JobSpec(kind="python", definition_key="noop", definition_version=1)
    made = []
    for index in range(count):
        expression, zone = VARIANTS[index % len(VARIANTS)]
        made.append(
            Schedule(
                schedule_id=new_job_id(),
                cron=expression,
                timezone=zone,
                job=job,
                active_since=now,
                created_at=now,
                updated_at=now,
                name=f"bench-{index}",
            )
        )
    return made


async def run_jobstream(stack: Stack, count: int, seconds: int) -> dict:
    database = f"cron_bench_{count}_{int(time.time())}"
    client = AsyncIOMotorClient(stack.mongo_url, tz_aware=True)
    db = client[database]
    made = schedules(count)
    partitions = next(spec.partitions for spec in topics.TOPICS if spec.name == topics.SCHEDULES)
    documents = [
        {
            "_id": s.schedule_id,
            "version": 1,
            "schedule": s.model_dump(mode="json"),
            "partition": (murmur2(s.schedule_id.encode()) & 0x7FFFFFFF) % partitions,
        }
        for s in made
    ]
    for start in range(0, len(documents), 1000):
        await db[mongo.SCHEDULES].insert_many(documents[start : start + 1000])

    settings = SchedulerSettings(KAFKA_BOOTSTRAP=stack.bootstrap)
    compression = None if settings.fire_compression == "none" else settings.fire_compression
    producer = kafka.make_producer(settings, "cron-bench", compression_type=compression)
    await producer.start()
    ids = [s.schedule_id for s in made]
    # The read-back consumer runs in its own process, as the executor would: it must not share
    # this event loop with the scheduler it measures.
    context = multiprocessing.get_context("spawn")
    window_queue, result_queue = context.Queue(), context.Queue()
    reader = context.Process(target=read_back, args=(stack.bootstrap, ids, window_queue, result_queue), daemon=True)
    reader.start()
    ready = await asyncio.get_running_loop().run_in_executor(None, result_queue.get)
    assert ready == "ready"
    firer = Firer(producer)
    await firer.start()
    cron = CronScheduler(ScheduleStore(db, "bench"), firer, grace_seconds=2.0, lead_seconds=0.5)
    apscheduler = AsyncIOScheduler(timezone="UTC")
    apscheduler.start()
    loaded_at = time.time()
    await cron.assign(set(range(partitions)))
    load_s = time.time() - loaded_at
    cron.start(apscheduler)
    # A restart with N every-second schedules first fires the slots missed while loading (the
    # misfire policy, catch_up by default); the window starts once the scheduler is caught up.
    caught_up_at = time.time()
    while time.time() - caught_up_at < 180:
        recent = {slot: drift for slot, drift, _ in list(firer.drift.batches)[-200:]}
        latest = sorted(recent)[-3:]
        if len(latest) == 3 and latest[-1] >= time.time() - 1.5 and all(recent[slot] < 0.3 for slot in latest):
            break
        await asyncio.sleep(0.2)
    catchup_s = time.time() - caught_up_at
    startup_fires = firer.drift.fires
    begin = math.ceil(time.time()) + 3
    end = begin + seconds
    window_queue.put((begin, end))
    cpu0, wall0 = time.process_time(), time.time()
    await asyncio.sleep(end - time.time() + 3)
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    apscheduler.shutdown(wait=False)
    window_queue.put("stop")
    received_count, duplicates, e2e = await asyncio.get_running_loop().run_in_executor(None, result_queue.get)
    reader.join(10)
    await producer.stop()
    await client.drop_database(database)
    client.close()

    in_window = [(drift, fires) for slot, drift, fires in firer.drift.batches if begin <= slot < end]
    if os.environ.get("CRON_DRIFT_DEBUG"):
        for slot, drift, fires in firer.drift.batches:
            print(f"slot {slot:.0f} drift {drift * 1000:.1f} ms fires {fires}", file=sys.stderr)
    expected = count * seconds
    fired = sum(fires for _, fires in in_window)
    return emit(
        "jobstream_cron_drift",
        schedules=count,
        window_s=seconds,
        load_schedules_s=round(load_s, 2),
        startup_catchup_s=round(catchup_s, 1),
        startup_catchup_fires=startup_fires,
        expected_fires=expected,
        fires=fired,
        fires_per_s=round(fired / seconds, 1),
        received=received_count,
        missed=expected - received_count,
        duplicates=duplicates,
        failed_sends=firer.drift.failed,
        drift_p50_ms=_ms(percentile(in_window, 50)),
        drift_p99_ms=_ms(percentile(in_window, 99)),
        drift_max_ms=_ms(max((d for d, _ in in_window), default=None)),
        e2e_p99_ms=_ms(e2e),
        scheduler_cpu_pct=round(100 * cpu / wall, 1),
    )


def read_back(bootstrap: str, schedule_ids: list[str], window_queue, result_queue) -> None:  # noqa: ANN001
    """Child process: read `job-requested` and count each (schedule, slot) of the window."""
    asyncio.run(_read_back(bootstrap, set(schedule_ids), window_queue, result_queue))


async def _read_back(bootstrap: str, ids: set[str], window_queue, result_queue) -> None:  # noqa: ANN001
    consumer = AIOKafkaConsumer(
        topics.JOB_REQUESTED,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=8 << 20,
    )
    await consumer.start()
    await consumer.seek_to_end()
    result_queue.put("ready")
    received: dict[tuple[str, str], int] = {}
    e2e: list[tuple[float, int]] = []
    slots: dict[str, float] = {}
    begin = end = float("inf")
    stopping = False
    while True:
        if not window_queue.empty():
            command = window_queue.get()
            if command == "stop":
                stopping = True
            else:
                begin, end = command
        batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
        if stopping and not batches:
            break
        now = time.time()
        for messages in batches.values():
            for message in messages:
                schedule_id, label = _label(message.value, b'"schedule_id":"'), _label(message.value, b'"slot":"')
                if schedule_id not in ids:
                    continue
                slot = slots.get(label)
                if slot is None:
                    slot = slots[label] = datetime.fromisoformat(label.replace("Z", "+00:00")).timestamp()
                if begin <= slot < end:
                    key = (schedule_id, label)
                    received[key] = received.get(key, 0) + 1
                    e2e.append((now - slot, 1))
    await consumer.stop()
    result_queue.put((len(received), sum(n - 1 for n in received.values()), percentile(e2e, 99)))


def _label(raw: bytes, marker: bytes) -> str:
    start = raw.find(marker) + len(marker)
    return raw[start : raw.find(b'"', start)].decode()


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def run_peer(count: int, seconds: int) -> dict | None:
    script = PEERS / "apscheduler_bench.py"
    if not script.exists():
        print(f"peer benchmark not found at {script}", file=sys.stderr)
        return None
    done = subprocess.run(  # noqa: S603 - fixed argv
        [PEER_PYTHON, str(script), "--jobs", str(count), "--trigger", "cron", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    record = json.loads(lines[-1])
    return emit(
        "apscheduler_peer_drift",
        schedules=count,
        window_s=seconds,
        fires=record.get("fires"),
        fires_per_s=record.get("fires_per_s"),
        missed=record.get("missed"),
        drift_p50_ms=record.get("drift_p50_ms"),
        drift_p99_ms=record.get("drift_p99_ms"),
        drift_max_ms=record.get("drift_max_ms"),
        scheduler_cpu_pct=record.get("sched_cpu_pct"),
        idle_before_pct=record.get("idle_before_pct"),
    )


def main() -> None:
    if os.environ.get("CRON_DRIFT_DEBUG"):
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("aiokafka", "apscheduler", "asyncio", "pymongo"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="cron-drift-"))
    stack = Stack(
        StackSettings(
            KAFKA_PORT=free_port(), MONGO_PORT=free_port(), PORT=free_port(), DATA_DIR=data_dir, STACK_SERVICES=""
        ),
        log_to_files=True,
    )
    rows = []
    try:
        stack.start_servers()
        stack.create_topics()
        for count in args.schedules:
            rows.append(asyncio.run(run_jobstream(stack, count, args.seconds)))
    finally:
        stack.stop()
    if not args.no_peer:
        for count in args.schedules:
            peer = run_peer(count, args.seconds)
            if peer:
                rows.append(peer)
    print("\n| system | schedules | fires/s | missed | drift p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        name = "jobstream (slot -> broker ack)" if row["bench"].startswith("jobstream") else "APScheduler 3 alone"
        print(
            f"| {name} | {row['schedules']} | {row['fires_per_s']} | {row['missed']} | {row['drift_p50_ms']} | "
            f"{row['drift_p99_ms']} | {row['drift_max_ms']} |"
        )


if __name__ == "__main__":
    main()
