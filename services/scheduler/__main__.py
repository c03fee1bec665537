"""Entry point: `python -m services.scheduler` (or `jobstream-scheduler`)."""

import asyncio
import logging
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.scheduler.settings import SchedulerSettings
from services.scheduler.timers import Timers
from shared import kafka, mongo, topics
from shared.errors import UndecodableMessage
from shared.events import CancelJob, JobFinished, decode
from shared.logs import setup_logging
from shared.telemetry import setup_tracing

log = logging.getLogger("scheduler")


async def serve(settings: SchedulerSettings) -> None:
    db = mongo.connect(settings, "jobstream-scheduler")
    producer = kafka.make_producer(settings, "jobstream-scheduler")
    consumer = kafka.make_consumer(settings, topics.JOB_FINISHED, topics.JOB_CONTROL, group_id=topics.GROUP_SCHEDULER)
    scheduler = AsyncIOScheduler(timezone="UTC")
    timers = Timers(db, producer, scheduler)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    await producer.start()
    scheduler.start()
    log.info("reloaded %d pending timers", await timers.load())
    await consumer.start()

    async def consume() -> None:
        async for message in consumer:
            try:
                event = decode(message.value)
            except UndecodableMessage as error:
                await kafka.dead_letter(producer, message.topic, message.value, str(error))
                continue
            if isinstance(event, JobFinished):
                await timers.on_finished(event)
            elif isinstance(event, CancelJob):
                await timers.cancel_job(event.job_id, event.reason)
            await consumer.commit()

    consuming = asyncio.create_task(consume())
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([consuming, stopped], return_when=asyncio.FIRST_COMPLETED)
    if consuming in done and consuming.exception():
        log.error("consumer died: %r", consuming.exception())
    consuming.cancel()
    scheduler.shutdown(wait=False)
    await consumer.stop()
    await producer.stop()


def main() -> None:
    settings = SchedulerSettings()
    setup_logging("scheduler", settings.log_level)
    setup_tracing("scheduler", settings.tracing_exporter, settings.tracing_file)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
