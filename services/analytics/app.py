"""The analytics Faust app: consumes every job topic and keeps the `jobs` projection current."""

import logging

import faust
from opentelemetry import trace

from services.analytics.projections import JobProjection
from services.analytics.settings import AnalyticsSettings
from shared import mongo, telemetry, topics
from shared.errors import UndecodableMessage
from shared.events import JobFinished, JobProgressed, JobRequested, JobStarted, decode
from shared.streams import faust_app

log = logging.getLogger(__name__)
PROJECTED = (JobRequested, JobStarted, JobFinished, JobProgressed)


def build_app(settings: AnalyticsSettings) -> faust.App:
    app = faust_app(topics.APP_ANALYTICS, settings, settings.data_dir)
    job_topics = app.topic(
        topics.JOB_REQUESTED, topics.JOB_STARTED, topics.JOB_FINISHED, topics.JOB_EVENTS,
        value_serializer="raw", key_serializer="raw",
    )
    dead_letters = app.topic(topics.DEAD_LETTER, value_serializer="raw", key_serializer="raw")
    tracer = telemetry.tracer("jobstream.analytics")
    state: dict[str, JobProjection] = {}

    @app.task
    async def open_projection() -> None:
        projection = JobProjection(mongo.connect(settings, "jobstream-analytics"), settings.cache_size)
        await projection.ensure_indexes()
        state["jobs"] = projection

    @app.on_partitions_assigned.connect
    async def forget_cache(sender: object, *args: object, **kwargs: object) -> None:
        if "jobs" in state:
            state["jobs"].forget()

    @app.agent(job_topics)
    async def project(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_window_seconds):
            decoded, spans = [], []
            for event in batch:
                try:
                    item = decode(event.message.value)
                except UndecodableMessage as error:
                    await dead_letters.send(
                        value=event.message.value,
                        headers={"source-topic": event.message.topic.encode(), "reason": str(error)[:1000].encode()},
                    )
                    continue
                if isinstance(item, PROJECTED):
                    decoded.append(item)
                    parent = telemetry.extract_context(event.message.headers)
                    span = tracer.start_span(f"project {item.type}", context=parent)
                    span.set_attribute("job.id", item.job_id)
                    spans.append(span)
            while "jobs" not in state:
                await app.sleep(0.05)
            try:
                await state["jobs"].apply(decoded)
            except Exception as error:
                for span in spans:
                    span.record_exception(error)
                    span.set_status(trace.StatusCode.ERROR)
                raise
            finally:
                for span in spans:
                    span.end()

    return app
