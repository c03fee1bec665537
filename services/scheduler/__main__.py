"""Entry point: `python -m services.scheduler` (or `jobstream-scheduler`).

Two consumers: retries and cancels (`job-finished`, `job-control`) in one group, and the cron
schedules (`schedules`) in another whose partition assignment is the schedule ownership.
"""

import asyncio
import logging
import os
import signal
import socket

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.scheduler.cron import CronScheduler
from services.scheduler.firing import Firer
from services.scheduler.held import HeldJobs
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import ScheduleStore
from services.scheduler.timers import Timers
from shared import eventloop, kafka, metrics, mongo, topics
from shared.errors import UndecodableMessage
from shared.events import CancelJob, JobDeferred, JobFinished, decode
from shared.logs import setup_logging
from shared.schedules import decode_schedule_event
from shared.telemetry import setup_tracing

log = logging.getLogger("scheduler")


class Ownership(ConsumerRebalanceListener):
    """Group rebalance = failover: the partitions of `schedules` this process owns."""

    def __init__(self, cron: CronScheduler) -> None:
        self._cron = cron

    async def on_partitions_revoked(self, revoked) -> None:  # noqa: ANN001
        self._cron.revoke({tp.partition for tp in revoked if tp.topic == topics.SCHEDULES})

    async def on_partitions_assigned(self, assigned) -> None:  # noqa: ANN001
        await self._cron.assign({tp.partition for tp in assigned if tp.topic == topics.SCHEDULES})


async def consume_jobs(consumer: AIOKafkaConsumer, producer, timers: Timers, held: HeldJobs) -> None:  # noqa: ANN001
    # Every job's outcome passes through here, so offsets are committed once per fetched batch:
    # a commit per message cost more broker and scheduler CPU than the rest of the job's trip.
    while True:
        batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        for messages in batches.values():
            for message in messages:
                await handle_job_message(message, producer, timers, held)
        if batches:
            await consumer.commit()


async def handle_job_message(message, producer, timers: Timers, held: HeldJobs) -> None:  # noqa: ANN001
    try:
        event = decode(message.value)
    except UndecodableMessage as error:
        await kafka.dead_letter(producer, message.topic, message.value, str(error))
        return
    if isinstance(event, JobFinished):
        await timers.on_finished(event)
    elif isinstance(event, CancelJob):
        await timers.cancel_job(event.job_id, event.reason)
        await held.cancel(event.job_id, event.reason)
    elif isinstance(event, JobDeferred):
        await held.add(event)


async def consume_schedules(consumer: AIOKafkaConsumer, producer, cron: CronScheduler) -> None:  # noqa: ANN001
    async for message in consumer:
        try:
            event = decode_schedule_event(message.value)
        except UndecodableMessage as error:
            await kafka.dead_letter(producer, message.topic, message.value, str(error))
            continue
        await cron.apply(event, message.partition)
        await consumer.commit()


async def serve(settings: SchedulerSettings) -> None:
    instance = settings.instance_id or f"{socket.gethostname()}:{os.getpid()}"
    db = mongo.connect(settings, "jobstream-scheduler")
    compression = None if settings.fire_compression == "none" else settings.fire_compression
    producer = kafka.make_producer(settings, "jobstream-scheduler", compression_type=compression)
    consumer = kafka.make_consumer(settings, topics.JOB_FINISHED, topics.JOB_CONTROL, group_id=topics.GROUP_SCHEDULER)
    schedule_consumer = kafka.make_consumer(
        settings,
        group_id=topics.GROUP_SCHEDULER_CRON,
        session_timeout_ms=settings.cron_session_timeout_ms,
        heartbeat_interval_ms=settings.cron_heartbeat_interval_ms,
    )
    scheduler = AsyncIOScheduler(timezone="UTC")
    timers = Timers(db, producer, scheduler)
    control_partitions = next(spec.partitions for spec in topics.TOPICS if spec.name == topics.JOB_CONTROL)
    held = HeldJobs(
        db,
        producer,
        lambda partition: TopicPartition(topics.JOB_CONTROL, partition) in consumer.assignment(),
        control_partitions,
    )
    cron = CronScheduler(
        ScheduleStore(db, instance),
        Firer(producer),
        settings.misfire_grace_seconds,
        settings.tick_lead_seconds,
        held=held,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    metrics.serve(settings.metrics_port, "scheduler")  # the drift histogram is shared.metrics.SCHEDULER_DRIFT
    await producer.start()
    scheduler.start()
    cron.start(scheduler)
    log.info("reloaded %d pending timers", await timers.load())
    log.info("reloaded %d held jobs", await held.load())
    scheduler.add_job(held.check, trigger="interval", seconds=1, id="held-jobs", max_instances=1, coalesce=True)
    await consumer.start()
    schedule_consumer.subscribe([topics.SCHEDULES], listener=Ownership(cron))
    await schedule_consumer.start()

    tasks = [
        asyncio.create_task(consume_jobs(consumer, producer, timers, held), name="jobs"),
        asyncio.create_task(consume_schedules(schedule_consumer, producer, cron), name="schedules"),
    ]
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task in done and task.exception():
            log.error("consumer %s died: %r", task.get_name(), task.exception())
        task.cancel()
    scheduler.shutdown(wait=False)
    await schedule_consumer.stop()
    await consumer.stop()
    await producer.stop()


def main() -> None:
    settings = SchedulerSettings()
    setup_logging("scheduler", settings.log_level)
    setup_tracing("scheduler", settings.tracing_exporter, settings.tracing_file)
    eventloop.run(serve(settings))


if __name__ == "__main__":
    main()
