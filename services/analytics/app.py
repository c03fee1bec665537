"""The analytics Faust app: consumes every job topic and keeps the analytics projections current
(`pipeline.py`), publishes alerts, and hands the `alerts` topic to the alert sinks."""

import logging
import time

import faust
from opentelemetry import trace

from services.analytics.pipeline import Pipeline
from services.analytics.settings import AnalyticsSettings
from services.analytics.sinks import LogSink, Sink, WebhookSink, deliver
from shared import metrics, mongo, telemetry, topics
from shared.cost import CostSettings
from shared.errors import UndecodableMessage
from shared.events import JobAlerted, JobFinished, JobProgressed, JobRequested, JobStarted, decode, encode
from shared.streams import faust_app

log = logging.getLogger(__name__)
PROJECTED = (JobRequested, JobStarted, JobFinished, JobProgressed)


def make_sinks(settings: AnalyticsSettings) -> list[Sink]:
    sinks: list[Sink] = [LogSink()]
    if settings.alert_webhook_url:
        sinks.append(
            WebhookSink(
                settings.alert_webhook_url,
                settings.alert_webhook_attempts,
                settings.alert_webhook_backoff_seconds,
                settings.alert_webhook_timeout_seconds,
            )
        )
    return sinks


def build_app(settings: AnalyticsSettings) -> faust.App:
    app = faust_app(topics.APP_ANALYTICS, settings, settings.data_dir)
    job_topics = app.topic(
        topics.JOB_REQUESTED,
        topics.JOB_STARTED,
        topics.JOB_FINISHED,
        topics.JOB_EVENTS,
        value_serializer="raw",
        key_serializer="raw",
    )
    alerts_topic = app.topic(topics.ALERTS, value_serializer="raw", key_serializer="raw")
    dead_letters = app.topic(topics.DEAD_LETTER, value_serializer="raw", key_serializer="raw")
    tracer = telemetry.tracer("jobstream.analytics")
    state: dict[str, Pipeline] = {}
    sinks = make_sinks(settings)

    async def publish_alerts(alerts: list[JobAlerted]) -> None:
        for alert in alerts:
            await alerts_topic.send(key=alert.job_id.encode(), value=encode(alert))

    @app.task
    async def open_projection() -> None:
        metrics.serve(settings.metrics_port, "analytics")
        pipeline = Pipeline(
            mongo.connect(settings, "jobstream-analytics"),
            CostSettings(),
            settings.instance,
            cache_size=settings.cache_size,
            publish_alerts=publish_alerts,
        )
        await pipeline.start()
        state["jobs"] = pipeline

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
            started = time.perf_counter()
            try:
                await state["jobs"].process(decoded)
            except Exception as error:
                for span in spans:
                    span.record_exception(error)
                    span.set_status(trace.StatusCode.ERROR)
                raise
            finally:
                for span in spans:
                    span.end()
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    @app.agent(alerts_topic)
    async def notify(stream: faust.StreamT) -> None:
        async for raw in stream:
            try:
                alert = decode(raw)
            except UndecodableMessage:
                continue
            if isinstance(alert, JobAlerted):
                await deliver(sinks, alert)

    return app
