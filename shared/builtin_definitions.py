"""The built-in job definitions of seed 002, each doing real work.

CPU-heavy work (`compute.math`, `process.data`) goes through `ctx.run_cpu`, which the executor backs
with a process pool, so a long computation never stalls the executor's event loop. The functions
handed to it are module-level so a spawned worker process can import them.
"""

import asyncio
import hashlib
import json
import math
import random
import time
from typing import Any, Literal

import httpx
from pydantic import AnyHttpUrl, Field

from shared.definitions import JobAborted, JobContext, Params, registry
from shared.errors import PermanentError, RetryableError
from shared.events import RetryPolicy

MAX_SAFE_INT = 2**63 - 1


def json_safe(value: Any) -> Any:
    """MongoDB stores at most 64-bit integers: bigger ones travel as decimal strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > MAX_SAFE_INT:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    return value


# -- sleep: waits, and shows how a job honours its abort signal ---------------------------------
class SleepParams(Params):
    seconds: float = Field(1.0, ge=0, le=3600)


async def sleep(params: SleepParams, ctx: JobContext) -> dict[str, float]:
    started = time.monotonic()
    try:
        await asyncio.wait_for(ctx.abort.wait(), timeout=params.seconds)
    except TimeoutError:
        return {"sleptSeconds": round(time.monotonic() - started, 3)}
    await ctx.emit_event("aborted", {"afterSeconds": round(time.monotonic() - started, 3)})
    raise JobAborted("aborted while sleeping")


registry.define(
    "sleep",
    version=1,
    params=SleepParams,
    timeout_seconds=3600,
    description="Sleeps; stops early on cancel",
)(sleep)
registry.define(
    "sleep.limited",
    version=1,
    params=SleepParams,
    timeout_seconds=3600,
    concurrency_limit=2,
    description="sleep@1 with at most 2 running at once across all executors",
)(sleep)


# -- compute.math --------------------------------------------------------------------------------
class MathParams(Params):
    operation: Literal["sum", "product", "fibonacci", "prime"]
    numbers: list[int] = Field(min_length=1, max_length=10_000)


def fibonacci(n: int) -> int:
    """Naive recursion on purpose: this definition exists to burn CPU (seed 002's fibonacci(35))."""
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def primes_up_to(n: int) -> int:
    """How many primes are <= n (sieve of Eratosthenes)."""
    if n < 2:
        return 0
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, n + 1, i)))
    return sum(sieve)


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def compute(operation: str, numbers: list[int]) -> dict[str, Any]:
    if operation == "sum":
        return {"sum": sum(numbers)}
    if operation == "product":
        return {"product": math.prod(numbers)}
    if operation == "fibonacci":
        return {"fibonacci": {str(n): fibonacci(n) for n in numbers}}
    return {"prime": {str(n): {"isPrime": is_prime(n), "primesUpTo": primes_up_to(n)} for n in numbers}}


async def compute_math(params: MathParams, ctx: JobContext) -> dict[str, Any]:
    if params.operation == "fibonacci" and any(not 0 <= n <= 40 for n in params.numbers):
        raise PermanentError("fibonacci: each number must be between 0 and 40")
    if params.operation == "prime" and any(not 0 <= n <= 20_000_000 for n in params.numbers):
        raise PermanentError("prime: each number must be between 0 and 20000000")
    started = time.monotonic()
    result = await ctx.run_cpu(compute, params.operation, params.numbers)
    elapsed_ms = round((time.monotonic() - started) * 1000, 3)
    return json_safe({"operation": params.operation, **result, "computeMs": elapsed_ms})


registry.define(
    "compute.math",
    version=1,
    params=MathParams,
    default_max_attempts=2,
    timeout_seconds=300,
    concurrency_limit=4,
    description="CPU-bound math: sum, product, fibonacci (recursive), prime (sieve)",
)(compute_math)


# -- process.data ---------------------------------------------------------------------------------
class DataParams(Params):
    dataset: str = Field(min_length=1, max_length=200)
    operation: Literal["aggregate", "filter", "sort", "transform"] = "aggregate"
    records: list[dict[str, Any]] | None = Field(None, max_length=100_000, description="inline records; else generated")
    size: int = Field(10_000, ge=1, le=1_000_000, description="records generated from the dataset name")
    minAmount: float = 0.0
    top: int = Field(10, ge=1, le=1000)


REGIONS = ("north", "south", "east", "west", "central")


def generate_records(dataset: str, size: int) -> list[dict[str, Any]]:
    """A deterministic dataset: the same name and size always give the same records."""
    rng = random.Random(dataset)
    return [
        {
            "id": i,
            "region": rng.choice(REGIONS),
            "amount": round(rng.uniform(1, 1000), 2),
            "quantity": rng.randint(1, 20),
        }
        for i in range(size)
    ]


def process_records(records: list[dict[str, Any]], operation: str, min_amount: float, top: int) -> dict[str, Any]:
    if operation == "aggregate":
        groups: dict[str, dict[str, float]] = {}
        for record in records:
            group = groups.setdefault(str(record.get("region", "none")), {"count": 0, "amount": 0.0})
            group["count"] += 1
            group["amount"] += float(record.get("amount", 0))
        return {
            "groups": {
                k: {"count": v["count"], "amount": round(v["amount"], 2), "average": round(v["amount"] / v["count"], 2)}
                for k, v in sorted(groups.items())
            }
        }
    if operation == "filter":
        kept = [record for record in records if float(record.get("amount", 0)) >= min_amount]
        return {"matched": len(kept), "sample": kept[:top]}
    if operation == "sort":
        ordered = sorted(records, key=lambda record: float(record.get("amount", 0)), reverse=True)
        return {"top": ordered[:top]}
    totals = [float(record.get("amount", 0)) * int(record.get("quantity", 1)) for record in records]
    digest = hashlib.sha256(json.dumps(totals).encode()).hexdigest()
    return {"transformed": len(totals), "grandTotal": round(sum(totals), 2), "sha256": digest}


def run_pipeline(
    dataset: str, size: int, records: list[dict[str, Any]] | None, operation: str, min_amount: float, top: int
) -> dict[str, Any]:
    rows = records if records is not None else generate_records(dataset, size)
    return {"records": len(rows), **process_records(rows, operation, min_amount, top)}


async def process_data(params: DataParams, ctx: JobContext) -> dict[str, Any]:
    await ctx.emit_event("stage", {"stage": "load", "dataset": params.dataset})
    result = await ctx.run_cpu(
        run_pipeline, params.dataset, params.size, params.records, params.operation, params.minAmount, params.top
    )
    await ctx.emit_event("stage", {"stage": "done", "records": result["records"]})
    return json_safe({"dataset": params.dataset, "operation": params.operation, **result})


registry.define(
    "process.data",
    version=1,
    params=DataParams,
    default_max_attempts=3,
    timeout_seconds=600,
    concurrency_limit=4,
    description="Load a dataset (inline or generated) and aggregate, filter, sort or transform it",
)(process_data)


# -- call.api -------------------------------------------------------------------------------------
class ApiCallParams(Params):
    endpoint: AnyHttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeoutSeconds: float = Field(30.0, gt=0, le=600)


async def call_api(params: ApiCallParams, ctx: JobContext) -> dict[str, Any]:
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=params.timeoutSeconds, follow_redirects=True) as client:
            response = await client.request(
                params.method,
                str(params.endpoint),
                headers=params.headers,
                json=params.body if params.body is not None and params.method != "GET" else None,
            )
    except httpx.HTTPError as error:  # connection refused, DNS, timeout: may work next time
        raise RetryableError(f"{params.method} {params.endpoint}: {type(error).__name__}: {error}") from error
    elapsed = round((time.monotonic() - started) * 1000, 3)
    if response.status_code >= 500:
        raise RetryableError(f"{params.method} {params.endpoint}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(f"{params.method} {params.endpoint}: HTTP {response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[-4096:]
    return json_safe({"status": response.status_code, "elapsedMs": elapsed, "body": body})


registry.define(
    "call.api",
    version=1,
    params=ApiCallParams,
    default_max_attempts=3,
    timeout_seconds=120,
    concurrency_limit=20,
    capability="http",
    retry=RetryPolicy(base_seconds=1, max_seconds=60, factor=2, jitter=0.3),
    description="One HTTP request with httpx; 5xx and network errors are retried, 4xx is final",
)(call_api)


# -- process.batch ----------------------------------------------------------------------------------
class BatchParams(Params):
    items: list[Any] = Field(min_length=1, max_length=100_000)
    batchSize: int = Field(5, ge=1, le=10_000)
    delayMs: int = Field(0, ge=0, le=60_000, description="pause after each batch")


async def process_batch(params: BatchParams, ctx: JobContext) -> dict[str, Any]:
    batches = math.ceil(len(params.items) / params.batchSize)
    digest = hashlib.sha256()
    processed = 0
    for index in range(batches):
        if ctx.aborted:
            raise JobAborted(f"aborted after {processed} of {len(params.items)} items")
        chunk = params.items[index * params.batchSize : (index + 1) * params.batchSize]
        for item in chunk:
            digest.update(json.dumps(item, sort_keys=True, default=str).encode())
        processed += len(chunk)
        await ctx.emit_event(
            "progress",
            {
                "batch": index + 1,
                "batches": batches,
                "processed": processed,
                "total": len(params.items),
                "percent": round(100 * processed / len(params.items), 1),
            },
        )
        if params.delayMs:
            await asyncio.sleep(params.delayMs / 1000)
    return {"processed": processed, "batches": batches, "sha256": digest.hexdigest()}


registry.define(
    "process.batch",
    version=1,
    params=BatchParams,
    default_max_attempts=2,
    timeout_seconds=3600,
    concurrency_limit=5,
    description="Processes items in batches and reports progress after each batch",
)(process_batch)


# -- hooked: lifecycle hooks, including ones that raise ---------------------------------------------
HookName = Literal["onStart", "onSuccess", "onFail", "onEnd"]


class HookedParams(Params):
    fail: bool = False
    raiseIn: list[HookName] = Field(default_factory=list)


def _hook(name: HookName) -> Any:
    async def hook(ctx: JobContext) -> None:
        await ctx.emit_event(f"hook.{name}", {"error": ctx.error} if ctx.error else {})
        if name in ctx.params.raiseIn:
            raise RuntimeError(f"{name} hook raised on purpose")

    return hook


async def hooked(params: HookedParams, ctx: JobContext) -> dict[str, bool]:
    if params.fail:
        raise PermanentError("hooked@1 asked to fail")
    return {"ran": True}


registry.define(
    "hooked",
    version=1,
    params=HookedParams,
    timeout_seconds=60,
    on_start=_hook("onStart"),
    on_success=_hook("onSuccess"),
    on_fail=_hook("onFail"),
    on_end=_hook("onEnd"),
    description="Records each lifecycle hook as an event; hooks named in raiseIn raise",
)(hooked)
