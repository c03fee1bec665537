"""jobstream throughput and submit-to-start latency, measured side by side with Celery.

    .venv/bin/python bench/throughput.py [--n 5000] [--clients 32] [--rate 200] [--seconds 10]
        [--native-n 1000] [--no-peer]

1. throughput: submit N no-op jobs (the in-process `noop@1` definition) over HTTP with `--clients`
   concurrent connections, and wait until every one is `succeeded` in the `jobs` projection.
   jobs/s = N / (last job terminal in the projection - first submit). This is end to end
   (HTTP -> outbox -> Kafka -> executor -> Kafka -> analytics -> MongoDB), unlike the peer's drain-only figure.
2. latency: submit at a steady `--rate` for `--seconds`; submit-to-start = the executor's
   `job.started` time minus the moment the client sent the request (same machine clock).
3. native: N jobs running `/bin/true` as real processes (reported on its own, see DESIGN.md).
4. peer: Celery 5 + Redis from ../shared/peers (its venv from peers/setup.sh), same machine, same run.
Prints one JSON line per figure and a summary table.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from aiokafka import AIOKafkaConsumer
from motor.motor_asyncio import AsyncIOMotorClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.processes import free_port  # noqa: E402
from infra.stack import Stack, StackSettings  # noqa: E402
from shared import topics  # noqa: E402
from shared.events import decode  # noqa: E402

PEERS = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "peers"))
PEER_PYTHON = os.environ.get("PEER_PYTHON", "/tmp/pv/bin/python")
NOOP = {"definitionKey": "noop", "definitionVersion": 1}
TERMINAL = ("succeeded", "failed", "dead_lettered", "cancelled")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def emit(name: str, **fields: object) -> dict:
    record = {"bench": name, "date": time.strftime("%Y-%m-%d"), **fields}
    print(json.dumps(record), flush=True)
    return record


async def submit_batches(api: str, bodies: list[dict], batch_size: int, clients: int) -> tuple[list[str], float]:
    batches = [bodies[i : i + batch_size] for i in range(0, len(bodies), batch_size)]
    ids: list[list[str]] = [[] for _ in batches]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(batches)):
        queue.put_nowait(index)
    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                async with session.post(f"{api}/v1/jobs/batch", json={"jobs": batches[index]}) as response:
                    if response.status != 201:
                        raise RuntimeError(f"batch submit failed: {response.status} {await response.text()}")
                    ids[index] = [item["jobId"] for item in (await response.json())["data"]]

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
    return [job_id for batch in ids for job_id in batch], started


async def submit_all(api: str, bodies: list[dict], clients: int) -> tuple[list[str], float]:
    ids: list[str] = [""] * len(bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(bodies)):
        queue.put_nowait(index)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                async with session.post(f"{api}/v1/jobs", json=bodies[index]) as response:
                    if response.status not in (200, 201):
                        raise RuntimeError(f"submit failed: {response.status} {await response.text()}")
                    ids[index] = (await response.json())["jobId"]

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
    return ids, started


async def wait_terminal(stack: Stack, ids: list[str], timeout: float, finished: "FinishedWatch") -> float:
    """Wait until every job is terminal in the projection; return that moment.

    The broker tells when the executor has finished them all (cheap). Then the projection is read
    as lightly as possible, because reads load the database being measured: the newest pending job
    by _id (a point read) until it is terminal, then the rest in one indexed range, then any
    stragglers by _id."""
    await finished.wait(set(ids), timeout)
    jobs = AsyncIOMotorClient(stack.mongo_url)["jobstream"]["jobs"]
    pending = set(ids)
    deadline = time.perf_counter() + timeout
    swept = False
    while time.perf_counter() < deadline:
        if len(pending) > 20 and not swept:
            newest = await jobs.find_one({"_id": max(pending)}, {"status": 1})
            if newest is None or newest.get("status") not in TERMINAL:
                await asyncio.sleep(0.05)
                continue
            query = {"sk": {"$gte": min(pending), "$lte": max(pending)}}
            swept = True
        else:
            query = {"_id": {"$in": sorted(pending)}}
        async for doc in jobs.find(query, {"status": 1}):
            if doc.get("status") in TERMINAL:
                pending.discard(doc["_id"])
        if not pending:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{len(pending)} of {len(ids)} jobs not terminal after {timeout}s")


class FinishedWatch:
    """Follows job-finished from the end of the topic and remembers which jobs finished."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topics.JOB_FINISHED,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self.finished: set[str] = set()

    async def start(self) -> None:
        await self._consumer.start()
        while not self._consumer.assignment():
            await asyncio.sleep(0.05)
        await self._consumer.seek_to_end()
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        async for message in self._consumer:
            self.finished.add(decode(message.value).job_id)

    async def wait(self, ids: set[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not ids <= self.finished and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._task.cancel()
        await self._consumer.stop()


async def throughput(
    stack: Stack, watch: FinishedWatch, n: int, clients: int, body: dict, name: str, batch_size: int = 0
) -> dict:
    if batch_size:
        ids, started = await submit_batches(stack.api_url, [body] * n, batch_size, clients)
    else:
        ids, started = await submit_all(stack.api_url, [body] * n, clients)
    submitted = time.perf_counter()
    finished = await wait_terminal(stack, ids, 600, watch)
    return emit(
        name,
        n=n,
        clients=clients,
        batch_size=batch_size,
        submit_per_s=round(n / (submitted - started), 1),
        jobs_per_s=round(n / (finished - started), 1),
        seconds=round(finished - started, 2),
    )


async def latency(stack: Stack, rate: float, seconds: float) -> dict:
    consumer = AIOKafkaConsumer(
        topics.JOB_STARTED,
        bootstrap_servers=stack.bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    await asyncio.sleep(1.0)  # let the consumer find the end of the topic before we submit
    started_at: dict[str, float] = {}

    async def read_starts() -> None:
        async for message in consumer:
            event = decode(message.value)
            started_at[event.job_id] = event.occurred_at.timestamp()

    reader = asyncio.create_task(read_starts())
    sent_at: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            sent = time.time()
            async with session.post(f"{stack.api_url}/v1/jobs", json=NOOP) as response:
                sent_at[(await response.json())["jobId"]] = sent

        total = int(rate * seconds)
        begin = time.perf_counter()
        pending = []
        for index in range(total):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(one()))
        await asyncio.gather(*pending)
    deadline = time.perf_counter() + 60
    while len(set(sent_at) & set(started_at)) < len(sent_at) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    reader.cancel()
    await consumer.stop()
    latencies = [(started_at[job] - sent_at[job]) * 1000 for job in sent_at if job in started_at]
    return emit(
        "jobstream_latency",
        rate=rate,
        sent=len(sent_at),
        started=len(latencies),
        lat_p50_ms=round(percentile(latencies, 50), 2),
        lat_p99_ms=round(percentile(latencies, 99), 2),
        lat_max_ms=round(max(latencies), 2),
        lat_mean_ms=round(statistics.fmean(latencies), 2),
    )


def run_peer(args: list[str]) -> dict | None:
    if not Path(PEER_PYTHON).exists():
        print(f"peer venv {PEER_PYTHON} missing: run bash {PEERS}/setup.sh", file=sys.stderr)
        return None
    servers = PEERS / "servers.sh"
    subprocess.run(["bash", str(servers), "start", "redis"], check=True, capture_output=True)
    try:
        out = subprocess.run(
            [PEER_PYTHON, str(PEERS / "celery_bench.py"), *args], capture_output=True, text=True, timeout=900, cwd=PEERS
        )
    finally:
        subprocess.run(["bash", str(servers), "stop", "redis"], capture_output=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    record = json.loads(lines[-1])
    print(json.dumps(record), flush=True)
    return record


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time used so far by each process of the stack (children included)."""
    used = {}
    for process in stack.processes:
        try:
            tree = psutil.Process(process.pid)
            members = [tree, *tree.children(recursive=True)]
            used[process.name] = sum(sum(member.cpu_times()[:2]) for member in members)
        except psutil.Error:
            continue
    return used


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, dict]:
    results: dict[str, dict] = {}
    watch = FinishedWatch(stack.bootstrap)
    await watch.start()
    warm, _ = await submit_all(stack.api_url, [NOOP] * 20, 4)
    await wait_terminal(stack, warm, 180, watch)
    before = cpu_seconds(stack)
    results["throughput"] = await throughput(stack, watch, args.n, args.clients, NOOP, "jobstream_throughput")
    after = cpu_seconds(stack)
    emit(
        "jobstream_cpu_seconds_per_1000_jobs",
        **{name: round((after[name] - before.get(name, 0)) * 1000 / args.n, 2) for name in after},
    )
    if args.batch:
        results["batch"] = await throughput(stack, watch, args.n, 4, NOOP, "jobstream_batch_throughput", args.batch)
    results["latency"] = await latency(stack, args.rate, args.seconds)
    if args.native_n:
        native = {"kind": "native", "program": "/bin/true"}
        results["native"] = await throughput(
            stack, watch, args.native_n, args.clients, native, "jobstream_native_throughput"
        )
    await watch.stop()
    return results


def measure_jobstream(args: argparse.Namespace) -> dict[str, dict]:
    data_dir = Path(tempfile.mkdtemp(prefix="jobstream-bench-"))
    settings = StackSettings(
        KAFKA_PORT=free_port(), MONGO_PORT=free_port(), PORT=free_port(), DATA_DIR=data_dir, EXECUTORS=1
    )
    stack = Stack(settings, log_to_files=True, env={"LOG_LEVEL": "WARNING", "MAX_CONCURRENT_EXECUTIONS": "64"})
    try:
        stack.start_servers()
        stack.create_topics()
        stack.start_services()
        return asyncio.run(measure(stack, args))
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--native-n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="jobs per POST /v1/jobs/batch (0: skip)")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    ours = measure_jobstream(args)
    peer_tp = peer_lat = None
    if not args.no_peer:
        peer_tp = run_peer(["throughput", "--pool", "prefork", "-c", "2", "--n", str(args.n)])
        peer_lat = run_peer(
            ["latency", "--pool", "prefork", "-c", "2", "--rate", str(args.rate), "--seconds", str(args.seconds)]
        )
    print("\nfigure                               jobstream        celery (prefork 2)")
    print(
        f"no-op throughput (jobs/s)            {ours['throughput']['jobs_per_s']:<16} "
        f"{peer_tp and peer_tp.get('tasks_per_s')}"
    )
    print(
        f"submit-to-start p50 / p99 (ms)       {ours['latency']['lat_p50_ms']} / {ours['latency']['lat_p99_ms']:<8} "
        f"{peer_lat and peer_lat.get('lat_p50_ms')} / {peer_lat and peer_lat.get('lat_p99_ms')}"
    )
    if "batch" in ours:
        print(f"no-op throughput, batches of {args.batch}  {ours['batch']['jobs_per_s']}")
    if "native" in ours:
        print(f"native /bin/true throughput (jobs/s) {ours['native']['jobs_per_s']}")
    if peer_tp and peer_tp.get("tasks_per_s"):
        print(
            f"throughput ratio jobstream/celery: {ours['throughput']['jobs_per_s'] / peer_tp['tasks_per_s']:.2f}"
            + (
                f" (batched submit: {ours['batch']['jobs_per_s'] / peer_tp['tasks_per_s']:.2f})"
                if "batch" in ours
                else ""
            )
        )


if __name__ == "__main__":
    main()
