"""Scale-out: throughput with 1, 2 and 3 executor processes sharing the work through the consumer group.

    .venv/bin/python bench/scale.py [--executors 3] [--slots 8] [--sleep-n 300] [--sleep-seconds 0.5]
        [--noop-n 2000] [--native-n 400]

One embedded stack; after each measurement another executor process joins the group (the bench
waits until the new executor has run a job, i.e. owns partitions). Workloads, each end to end
(HTTP submit -> Kafka -> executor -> Kafka -> analytics projection, see bench/throughput.py):
- sleep:  `sleep@1` with --sleep-seconds (0.5), in-process, MAX_CONCURRENT_EXECUTIONS=--slots per executor: bound
          by executor slots, so it shows how capacity adds up across processes;
- noop:   `noop@1` submitted in batches of 100: bound by the platform (API, broker, analytics, database);
- native: `/bin/true` as a real child process: bound by process spawning (CPU).
The machine has 2 cores shared by every process of the stack, so CPU-bound workloads cannot scale
with more executor processes here; the slot-bound one can.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import throughput as tp  # noqa: E402

from infra.processes import free_port  # noqa: E402
from infra.stack import Stack, StackSettings  # noqa: E402


def sleep_body(seconds: float) -> dict:
    return {"definitionKey": "sleep", "params": {"seconds": seconds}}


def wait_until(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(what)


def join_executor(stack: Stack, worker_id: str, slots: int) -> None:
    """Start one more executor and wait until it owns partitions (it ran one of a stream of jobs)."""
    stack.start_service(
        "executor", instance=worker_id, env={"WORKER_ID": worker_id, "MAX_CONCURRENT_EXECUTIONS": str(slots)}
    )
    http = httpx.Client(base_url=stack.api_url, timeout=10)

    def ran_one() -> bool:
        job_ids = [http.post("/v1/jobs", json=sleep_body(0)).json()["jobId"] for _ in range(12)]
        time.sleep(1.0)
        return any(http.get(f"/v1/jobs/{job_id}").json().get("workerId") == worker_id for job_id in job_ids)

    wait_until(ran_one, 120, f"{worker_id} to take work")
    http.close()


async def measure(stack: Stack, watch: "tp.FinishedWatch", executors: int, args: argparse.Namespace) -> dict:
    body = sleep_body(args.sleep_seconds)
    results = {
        "sleep": await tp.throughput(stack, watch, args.sleep_n, args.clients, body, f"scale_sleep_{executors}x"),
        "noop": await tp.throughput(stack, watch, args.noop_n, 4, tp.NOOP, f"scale_noop_batch_{executors}x", 100),
    }
    if args.native_n:
        native = {"kind": "native", "program": "/bin/true"}
        results["native"] = await tp.throughput(
            stack, watch, args.native_n, args.clients, native, f"scale_native_{executors}x"
        )
    return results


async def measure_all(stack: Stack, args: argparse.Namespace) -> dict[int, dict]:
    watch = tp.FinishedWatch(stack.bootstrap)
    await watch.start()
    warm, _ = await tp.submit_all(stack.api_url, [tp.NOOP] * 50, 4)
    await tp.wait_terminal(stack, warm, 180, watch)
    table: dict[int, dict] = {}
    for executors in range(1, args.executors + 1):
        if executors > 1:
            await asyncio.to_thread(join_executor, stack, f"scale-{executors}", args.slots)
        table[executors] = await measure(stack, watch, executors, args)
    await watch.stop()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executors", type=int, default=3)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sleep-n", type=int, default=300)
    parser.add_argument("--sleep-seconds", type=float, default=0.5)
    parser.add_argument("--noop-n", type=int, default=2000)
    parser.add_argument("--native-n", type=int, default=400)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="jobstream-scale-"))
    settings = StackSettings(
        KAFKA_PORT=free_port(), MONGO_PORT=free_port(), PORT=free_port(), DATA_DIR=data_dir, EXECUTORS=1
    )
    stack = Stack(
        settings,
        log_to_files=True,
        env={"LOG_LEVEL": "WARNING", "MAX_CONCURRENT_EXECUTIONS": str(args.slots), "WORKER_ID": "scale-1"},
    )
    try:
        stack.start_servers()
        stack.create_topics()
        stack.start_services()
        http = httpx.Client(base_url=stack.api_url, timeout=10)
        wait_until(lambda: http.get("/v1/workers", params={"status": "idle"}).json()["count"], 180, "a live worker")
        http.close()
        table = asyncio.run(measure_all(stack, args))
    finally:
        stack.stop()
    print(
        f"\nexecutors  sleep {args.sleep_seconds}s, {args.slots} slots each (jobs/s)  noop, batches (jobs/s)  "
        "native /bin/true (jobs/s)"
    )
    for executors, results in table.items():
        native = results.get("native", {}).get("jobs_per_s", "-")
        print(f"{executors:<10} {results['sleep']['jobs_per_s']:<38} {results['noop']['jobs_per_s']:<22} {native}")
    print(
        f"(slot-bound ceiling: {args.slots / args.sleep_seconds:.0f} jobs/s per executor; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
