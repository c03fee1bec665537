"""The executor's loop: read job requests ahead, run the highest-priority ones in free slots,
report each attempt's start and outcome, and commit offsets only behind unfinished work.

Event-driven end to end: a request is claimed and started as soon as it is consumed and a slot is
free, with no polling interval in between.
"""

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from opentelemetry import trace

from services.executor.concurrency import ConcurrencySlots
from services.executor.leases import Leases, lease_id
from services.executor.offsets import OffsetTracker
from services.executor.outcome import AttemptResult
from services.executor.routing import CapabilityRouter
from services.executor.runners import AttemptControl, Runners
from services.executor.settings import ExecutorSettings
from shared import kafka, telemetry, topics
from shared.errors import UndecodableMessage
from shared.events import CancelJob, JobFinished, JobProgressed, JobRequested, JobStarted, decode
from shared.retry import disposition, retry_at

log = logging.getLogger(__name__)
PRODUCER = "executor"
COMMIT_INTERVAL_SECONDS = 1.0
# How often a definition that was at its concurrency limit is probed again for a free slot (slots
# freed by this executor are handed on at once; this catches those freed by other executors).
CONCURRENCY_PROBE_SECONDS = 0.25
# Returns (key@version, limit) for a request whose definition has a concurrency limit.
LimitOf = Callable[[JobRequested], tuple[str, int] | None]
MAX_DELIVERY_BACKOFF_SECONDS = 30.0
REMEMBERED_CANCELS = 10_000


@dataclass(order=True)
class Pending:
    sort_key: tuple[int, int]
    request: JobRequested = field(compare=False)
    partition: TopicPartition = field(compare=False)
    offset: int = field(compare=False)
    headers: tuple[tuple[str, bytes], ...] = field(compare=False, default=())
    concurrency_ref: str | None = field(compare=False, default=None)  # key@version when limited
    slot: str | None = field(compare=False, default=None)  # the concurrency slot it holds
    probe: bool = field(compare=False, default=False)  # re-queued to try for a slot again
    claimed: bool = field(compare=False, default=False)  # claimed ahead: this executor holds its lease


class Executor:
    def __init__(
        self,
        settings: ExecutorSettings,
        producer: AIOKafkaProducer,
        consumer: AIOKafkaConsumer,
        leases: Leases,
        runners: Runners,
        router: CapabilityRouter | None = None,
        slots: ConcurrencySlots | None = None,
        limit_of: LimitOf | None = None,
    ) -> None:
        self.settings = settings
        self._producer = producer
        self._consumer = consumer
        self._leases = leases
        self._runners = runners
        self._router = router
        self._slots = slots
        self._limit_of = limit_of
        # key@version -> heap of requests waiting for a concurrency slot; they hold no executor slot.
        self._blocked: dict[str, list[Pending]] = {}
        self._offsets = OffsetTracker()
        self._heap: list[Pending] = []
        # Claimed ahead: requests whose lease this executor holds, waiting for a free slot (a heap in
        # the same order as `_heap`). One lease round trip per `slots` jobs is what bounds how fast
        # a backlog of short jobs drains; claiming EXECUTOR_CLAIM_AHEAD more per round trip lifts
        # that. Claimed requests stay here through a rebalance (their leases are ours), so the
        # number is kept small; a later request with a higher priority still starts first.
        self._claimed: list[Pending] = []
        self._order = itertools.count()
        self._running: dict[str, AttemptControl] = {}
        # job_id -> first cancelled attempt: later attempts of a cancelled job never start here,
        # even when the command named an older attempt than the one waiting in the heap.
        self._cancelled: OrderedDict[str, int] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._free_slots = settings.max_concurrent_executions
        self._draining = False
        self._tracer = telemetry.tracer("jobstream.executor")

    # -- consumption ---------------------------------------------------------------------------
    def rebalance_listener(self) -> ConsumerRebalanceListener:
        executor = self

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
                await executor._on_revoked(set(revoked))

            async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
                log.info("assigned %d partitions", len(assigned))

        return Listener()

    async def consume(self) -> None:
        while not self._draining:
            if len(self._heap) >= self.settings.prefetch:
                await asyncio.sleep(0.01)
                continue
            batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
            for partition, messages in batches.items():
                for message in messages:
                    await self._accept(partition, message)
            if self._router is not None:
                await self._router.flush()
            if batches:
                self._wakeup.set()

    async def _accept(self, partition: TopicPartition, message: Any) -> None:
        self._offsets.add(partition, message.offset)
        try:
            request = decode(message.value)
        except UndecodableMessage as error:
            await kafka.dead_letter(self._producer, topics.JOB_REQUESTED, message.value, str(error))
            self._offsets.done(partition, message.offset)
            return
        if not isinstance(request, JobRequested):
            self._offsets.done(partition, message.offset)
            return
        if self._router is not None and not self._router.accepts(request):
            offset = message.offset
            await self._router.forward(
                request, message.value, message.headers, lambda: self._offsets.done(partition, offset)
            )
            return
        item = Pending(
            (-request.spec.priority, next(self._order)),
            request,
            partition,
            message.offset,
            tuple(message.headers or ()),
        )
        heapq.heappush(self._heap, item)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Queued work on those partitions now belongs to another executor; it re-reads it from
        # the committed offset. Running attempts finish here (their leases keep them unique).
        await self.commit(revoked)
        self._heap = [item for item in self._heap if item.partition not in revoked]
        heapq.heapify(self._heap)
        for ref, waiting in list(self._blocked.items()):
            kept = [item for item in waiting if item.partition not in revoked]
            heapq.heapify(kept)
            self._blocked[ref] = kept
        self._offsets.forget(revoked)

    # -- dispatch ------------------------------------------------------------------------------
    async def dispatch(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._free_slots > 0 and not self._draining and (self._heap or self._claimed):
                if self._claimed and (not self._heap or self._claimed[0] < self._heap[0]):
                    await self._start_claimed(heapq.heappop(self._claimed))
                elif self._limited(self._heap[0]):
                    # Definitions with a concurrency limit take their slot and lease just in time,
                    # so a backlog of them is never bound to this executor.
                    self._free_slots -= 1
                    await self._start_batch([heapq.heappop(self._heap)])
                elif not await self._claim_ahead():
                    break

    def _limited(self, item: Pending) -> bool:
        return self._limit_of is not None and self._slots is not None and self._limit_of(item.request) is not None

    async def _claim_ahead(self) -> bool:
        """Claim the best unlimited requests, up to the free slots plus EXECUTOR_CLAIM_AHEAD, in one
        round trip. False when the database refused (the requests went back to the queue)."""
        want = max(1, self._free_slots + self.settings.claim_ahead - len(self._claimed))
        batch: list[Pending] = []
        while self._heap and len(batch) < want and not self._limited(self._heap[0]):
            batch.append(heapq.heappop(self._heap))
        live = []
        for item in batch:
            if self._is_cancelled(item.request):
                await self._end_unstarted(item)
            else:
                live.append(item)
        try:
            claimed = await self._claim_leases(live)
        except Exception:
            log.exception("claiming leases failed; requests go back to the queue")
            for item in live:
                heapq.heappush(self._heap, item)
            await asyncio.sleep(0.5)
            self._wakeup.set()
            return False
        for item, mine in zip(live, claimed, strict=True):
            if mine:
                item.claimed = True
                heapq.heappush(self._claimed, item)
            else:
                log.debug("skip %s attempt %d: already claimed", item.request.job_id, item.request.attempt)
                self._offsets.done(item.partition, item.offset)
        return True

    async def _claim_leases(self, items: list[Pending]) -> list[bool]:
        """One round trip; True where this executor now holds the attempt's lease. The spec goes
        into the lease so that the registry can re-request the attempt if this worker dies."""
        return await self._leases.claim(
            [(item.request.job_id, item.request.attempt) for item in items],
            [item.request.spec.model_dump(mode="json") for item in items],
        )

    async def _start_claimed(self, item: Pending) -> None:
        if self._is_cancelled(item.request):
            await self._end_unstarted(item)
            return
        self._free_slots -= 1
        self._spawn(item)

    async def _end_unstarted(self, item: Pending) -> None:
        """End a cancelled request that never started. With its lease held here the outcome is
        published at once; otherwise the lease is claimed as cancelled first (unless another
        executor holds it, which then ends the attempt itself)."""
        end = self._publish_cancelled if item.claimed else self._finish_cancelled
        try:
            await end(item.request.job_id, item.request.attempt, "cancel requested")
        except Exception:
            log.exception("could not end cancelled %s; will try again", item.request.job_id)
            heapq.heappush(self._claimed if item.claimed else self._heap, item)
            await asyncio.sleep(0.5)
        else:
            self._offsets.done(item.partition, item.offset)

    def _spawn(self, item: Pending) -> None:
        task = asyncio.create_task(self._run(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _release_slot(self) -> None:
        self._free_slots += 1
        self._wakeup.set()

    async def _start_batch(self, batch: list[Pending]) -> None:
        """Start requests one slot each: concurrency slot first, then the lease."""
        cancelled = [item for item in batch if self._is_cancelled(item.request)]
        if cancelled:
            batch = [item for item in batch if item not in cancelled]
            for item in cancelled:
                await self._end_unstarted(item)
                self._release_slot()
        batch = await self._take_concurrency_slots(batch)
        if not batch:
            return
        try:
            claimed = await self._claim_leases(batch)
        except Exception:
            log.exception("claiming leases failed; requests go back to the queue")
            for item in batch:
                await self._give_back_concurrency_slot(item)
                heapq.heappush(self._heap, item)
            self._free_slots += len(batch)
            await asyncio.sleep(0.5)
            self._wakeup.set()
            return
        for item, mine in zip(batch, claimed, strict=True):
            if not mine:
                log.debug("skip %s attempt %d: already claimed", item.request.job_id, item.request.attempt)
                await self._give_back_concurrency_slot(item)
                self._offsets.done(item.partition, item.offset)
                self._release_slot()
                continue
            self._spawn(item)

    # -- one attempt ---------------------------------------------------------------------------
    async def _run(self, item: Pending) -> None:
        request = item.request
        control = AttemptControl(self.settings.cancel_grace_ms / 1000)
        self._running[request.job_id] = control
        if self._is_cancelled(request):  # the command arrived between the lease claim and here
            control.cancel("cancel requested")
        parent = telemetry.extract_context(item.headers)
        try:
            with self._tracer.start_as_current_span(
                f"run {request.spec.kind}", context=parent, kind=trace.SpanKind.CONSUMER
            ) as span:
                span.set_attribute("job.id", request.job_id)
                span.set_attribute("job.attempt", request.attempt)
                started = JobStarted(
                    job_id=request.job_id, attempt=request.attempt, producer=PRODUCER, worker_id=self.settings.worker_id
                )
                await kafka.publish(self._producer, topics.JOB_STARTED, started)
                log.info("start %s attempt %d (%s)", request.job_id, request.attempt, request.spec.kind)
                try:
                    result = await self._runners.run(request, control)
                except Exception as error:  # a runner bug must not take the executor down
                    log.exception("runner failed for %s", request.job_id)
                    result = AttemptResult("failed", error=f"executor error: {error}")
                if control.cancel_reason and result.outcome != "succeeded":
                    result.outcome = "cancelled"
                span.set_attribute("job.outcome", result.outcome)
                finished = self._finished_event(request, result, started.occurred_at)
            await self._deliver(topics.JOB_FINISHED, finished)
        except Exception:
            log.exception("could not report the outcome of %s attempt %d", request.job_id, request.attempt)
            return
        finally:
            self._running.pop(request.job_id, None)
            await self._give_back_concurrency_slot(item)
            self._release_slot()
        self._offsets.done(item.partition, item.offset)

    # -- per-definition concurrency limits ----------------------------------------------------------
    async def _take_concurrency_slots(self, batch: list[Pending]) -> list[Pending]:
        """Keep the items that may start now; park the ones whose definition is at its limit."""
        if self._slots is None or self._limit_of is None:
            return batch
        ready = []
        for item in batch:
            limit = self._limit_of(item.request)
            if limit is None:
                ready.append(item)
                continue
            ref, most = limit
            item.concurrency_ref = ref
            if self._blocked.get(ref) and not item.probe:
                self._park(ref, item)  # others already wait for this definition: queue behind them
                continue
            item.probe = False
            try:
                item.slot = await self._slots.acquire(ref, most, lease_id(item.request.job_id, item.request.attempt))
            except Exception:
                log.exception("could not take a concurrency slot of %s; will try again", ref)
                item.slot = None
            if item.slot is None:
                self._park(ref, item)
                continue
            ready.append(item)
            self._probe_next(ref)  # more slots may be free
        return ready

    def _park(self, ref: str, item: Pending) -> None:
        heapq.heappush(self._blocked.setdefault(ref, []), item)
        self._release_slot()  # waiting for a concurrency slot does not hold an executor slot

    def _probe_next(self, ref: str) -> None:
        waiting = self._blocked.get(ref)
        if not waiting:
            self._blocked.pop(ref, None)
            return
        item = heapq.heappop(waiting)
        item.probe = True
        heapq.heappush(self._heap, item)
        self._wakeup.set()

    async def _give_back_concurrency_slot(self, item: Pending) -> None:
        if item.slot is None or self._slots is None:
            return
        slot, item.slot = item.slot, None
        try:
            await self._slots.release(slot)
        except Exception:
            log.exception("could not free concurrency slot %s; it expires by itself", slot)
        if item.concurrency_ref is not None:
            self._probe_next(item.concurrency_ref)

    async def watch_concurrency(self) -> None:
        """Probe limited definitions for slots other executors freed; keep our slots alive."""
        if self._slots is None:
            return
        last_refresh = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CONCURRENCY_PROBE_SECONDS)
            for ref in list(self._blocked):
                if not any(pending.probe and pending.concurrency_ref == ref for pending in self._heap):
                    self._probe_next(ref)
            if loop.time() - last_refresh >= self.settings.heartbeat_interval_seconds:
                last_refresh = loop.time()
                try:
                    await self._slots.refresh()
                except Exception:
                    log.exception("could not refresh concurrency slots")

    async def _deliver(self, topic: str, event: JobFinished) -> None:
        """Publish an outcome until the broker takes it. The attempt's lease stops any other
        executor from re-running it, so an outcome given up on would leave the job running forever;
        while the broker is away we keep the same event (same id: consumers dedupe) and retry."""
        delay = 0.5
        while True:
            try:
                await (await kafka.publish(self._producer, topic, event))
                return
            except Exception as error:  # broker unavailable, timeouts: all transient here
                log.warning("outcome of %s not delivered (%s); retrying in %.1fs", event.job_id, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELIVERY_BACKOFF_SECONDS)

    def _finished_event(self, request: JobRequested, result: AttemptResult, started_at: datetime) -> JobFinished:
        spec = request.spec
        decided = disposition(result.outcome, result.retryable, request.attempt, spec.max_attempts)
        now = datetime.now(UTC)
        finished = JobFinished(
            job_id=request.job_id,
            attempt=request.attempt,
            producer=PRODUCER,
            worker_id=self.settings.worker_id,
            started_at=started_at,
            outcome=result.outcome,
            disposition=decided,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            cpu_percent=result.cpu_percent,
            peak_rss_bytes=result.peak_rss_bytes,
            memory_exceeded=result.memory_exceeded,
            http_status=result.http_status,
            error=result.error,
            output_tail=result.output_tail,
            result=result.result,
            retry_at=retry_at(spec, request.attempt, now) if decided == "retry" else None,
            spec=spec if decided == "retry" else None,
        )
        log.info("finish %s attempt %d: %s -> %s", request.job_id, request.attempt, result.outcome, decided)
        return finished

    async def emit_progress(self, request: JobRequested, name: str, data: dict[str, Any]) -> None:
        event = JobProgressed(job_id=request.job_id, attempt=request.attempt, producer=PRODUCER, name=name, data=data)
        await kafka.publish(self._producer, topics.JOB_EVENTS, event)

    # -- control -------------------------------------------------------------------------------
    async def handle_control(self, command: Any) -> None:
        if not isinstance(command, CancelJob):
            return
        known = self._cancelled.get(command.job_id)
        self._cancelled[command.job_id] = min(known, command.attempt) if known else command.attempt
        self._cancelled.move_to_end(command.job_id)
        while len(self._cancelled) > REMEMBERED_CANCELS:
            self._cancelled.popitem(last=False)
        control = self._running.get(command.job_id)
        if control is not None:
            log.info("cancel %s (running here)", command.job_id)
            control.cancel(command.reason)
            return
        # Not running here: claim the attempt as cancelled so that no executor starts it.
        # Every executor sees the command; the lease insert lets exactly one of them answer.
        await self._finish_cancelled(command.job_id, command.attempt, command.reason)

    def _is_cancelled(self, request: JobRequested) -> bool:
        first = self._cancelled.get(request.job_id)
        return first is not None and request.attempt >= first

    async def _finish_cancelled(self, job_id: str, attempt: int, reason: str) -> None:
        """End an attempt nobody has started, unless some executor already holds its lease."""
        if not await self._leases.claim_cancelled(job_id, attempt):
            return
        await self._publish_cancelled(job_id, attempt, reason)

    async def _publish_cancelled(self, job_id: str, attempt: int, reason: str) -> None:
        log.info("cancel %s attempt %d before it started", job_id, attempt)
        finished = JobFinished(
            job_id=job_id,
            attempt=attempt,
            producer=PRODUCER,
            worker_id=self.settings.worker_id,
            outcome="cancelled",
            disposition="cancelled",
            error=f"cancelled before start: {reason}",
        )
        await (await kafka.publish(self._producer, topics.JOB_FINISHED, finished))

    # -- offsets and shutdown ------------------------------------------------------------------
    async def commit(self, partitions: set[TopicPartition] | None = None) -> None:
        offsets = self._offsets.committable(partitions)
        if offsets:
            with contextlib.suppress(Exception):
                await self._consumer.commit(offsets)

    async def commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_SECONDS)
            await self.commit()

    async def _release_claimed(self) -> None:
        """Hand back the leases claimed ahead but not started, so the executor that takes the
        partitions over runs them (their offsets stay uncommitted). If the database is away they
        stay ours, and the registry re-requests them once this worker is gone."""
        claimed, self._claimed = self._claimed, []
        try:
            await self._leases.release([(item.request.job_id, item.request.attempt) for item in claimed])
        except Exception:
            log.exception("could not release %d claimed attempts; the registry will recover them", len(claimed))

    def queue_depth(self) -> int:
        return len(self._heap) + len(self._claimed)

    def running_job_ids(self) -> list[str]:
        return list(self._running)

    async def drain(self, timeout: float | None) -> None:
        """Stop taking work, hand the partitions to the other executors, and give running attempts
        `timeout` seconds (None: as long as they take) to finish. Their requests are re-read
        elsewhere and skipped there: the leases are ours."""
        self._draining = True
        await self._release_claimed()
        await self.commit()
        with contextlib.suppress(Exception):
            self._consumer.unsubscribe()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        await self.commit()
