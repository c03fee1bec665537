"""Entry point: `python -m services.executor` (or `jobstream-executor`). Runs one executor process;
start more of them to scale out: they share the work through the consumer group."""

import asyncio
import contextlib
import logging
import signal

from services.executor.concurrency import ConcurrencySlots, definition_limit
from services.executor.heartbeat import heartbeat, publish_heartbeats
from services.executor.leases import Leases
from services.executor.routing import CapabilityRouter
from services.executor.runners import Runners
from services.executor.settings import ExecutorSettings
from services.executor.worker import Executor
from shared import eventloop, kafka, metrics, mongo, topics
from shared.definitions import registry
from shared.errors import UndecodableMessage
from shared.events import DrainWorker, decode
from shared.logs import setup_logging
from shared.telemetry import setup_tracing

log = logging.getLogger("executor")
DRAIN_TIMEOUT_SECONDS = 30.0


async def serve(settings: ExecutorSettings) -> None:
    db = mongo.connect(settings, "jobstream-executor")
    leases = Leases(db, settings.worker_id)
    await leases.ensure_indexes()
    producer = kafka.make_producer(settings, settings.worker_id)
    consumer = kafka.make_consumer(
        settings, group_id=topics.GROUP_EXECUTOR, fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms
    )
    # Every executor must see every command, so the control topic is read outside the group.
    control = kafka.make_consumer(settings, topics.JOB_CONTROL, group_id=None, auto_offset_reset="latest")
    holder: dict[str, Executor] = {}
    runners = Runners(
        settings, registry, lambda request, name, data: holder["executor"].emit_progress(request, name, data)
    )
    router = CapabilityRouter(settings, producer)
    await kafka.create_topics(settings.kafka_bootstrap, specs=router.topic_specs())
    slots = ConcurrencySlots(db, settings.worker_id, settings.lease_duration_seconds)
    executor = Executor(settings, producer, consumer, leases, runners, router, slots, definition_limit(registry))
    holder["executor"] = executor
    if metrics.serve(settings.metrics_port, "executor"):
        metrics.EXECUTOR_QUEUED.set_function(executor.queue_depth)
        metrics.EXECUTOR_RUNNING.set_function(lambda: len(executor.running_job_ids()))
    consumer.subscribe(router.subscription(), listener=executor.rebalance_listener())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    await producer.start()
    await consumer.start()
    await control.start()
    log.info(
        "executor %s up: capabilities %s, %d slots",
        settings.worker_id,
        settings.capability_list(),
        settings.max_concurrent_executions,
    )

    drain_requested = asyncio.Event()

    async def read_control() -> None:
        async for message in control:
            try:
                command = decode(message.value)
                if isinstance(command, DrainWorker):
                    if command.worker_id == settings.worker_id:
                        log.info("drain requested: %s", command.reason)
                        drain_requested.set()
                    continue
                await executor.handle_control(command)
            except UndecodableMessage as error:
                await kafka.dead_letter(producer, topics.JOB_CONTROL, message.value, str(error))
            except Exception:
                log.exception("control command failed")

    state = {"value": "running"}
    tasks = [
        asyncio.create_task(executor.consume(), name="consume"),
        asyncio.create_task(executor.dispatch(), name="dispatch"),
        asyncio.create_task(executor.commit_periodically(), name="commit"),
        asyncio.create_task(executor.watch_concurrency(), name="concurrency"),
        asyncio.create_task(read_control(), name="control"),
        asyncio.create_task(
            publish_heartbeats(settings, producer, executor.running_job_ids, lambda: state["value"]), name="heartbeat"
        ),
    ]
    stopped = asyncio.create_task(stop.wait())
    drained = asyncio.create_task(drain_requested.wait())
    done, _ = await asyncio.wait([*tasks, stopped, drained], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task not in (stopped, drained) and task.exception():
            log.error("task %s died: %r", task.get_name(), task.exception())
    state["value"] = "draining"
    # A drain command waits for every running attempt (each has its own timeout); a signal waits
    # DRAIN_TIMEOUT_SECONDS, after which the registry orphans what is left.
    timeout = None if drained in done else DRAIN_TIMEOUT_SECONDS
    log.info(
        "draining: waiting %s for running attempts", "until they finish" if timeout is None else f"up to {timeout:.0f}s"
    )
    with contextlib.suppress(Exception):
        await kafka.publish(producer, topics.HEARTBEATS, heartbeat(settings, executor.running_job_ids(), "draining"))
    drain = asyncio.create_task(executor.drain(timeout))
    # A signal during an unbounded drain ends it: what still runs is orphaned and re-run elsewhere.
    await asyncio.wait([drain] if stopped in done else [drain, stopped], return_when=asyncio.FIRST_COMPLETED)
    drained.cancel()
    stopped.cancel()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await kafka.publish(producer, topics.HEARTBEATS, heartbeat(settings, [], "stopped"))
    await asyncio.gather(*tasks, return_exceptions=True)
    await runners.close()
    await control.stop()
    await consumer.stop()
    await producer.stop()
    log.info("executor %s stopped", settings.worker_id)


def main() -> None:
    settings = ExecutorSettings()
    setup_logging("executor", settings.log_level)
    setup_tracing("executor", settings.tracing_exporter, settings.tracing_file)
    eventloop.run(serve(settings))


if __name__ == "__main__":
    main()
