"""The FastAPI application: lifespan (producer, database, outbox), error handlers, routers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services.api.catalog import DefinitionCatalog
from services.api.deps import Services
from services.api.errors import install_error_handlers
from services.api.insights import Insights
from services.api.limits import BodySizeLimit
from services.api.outbox import Outbox
from services.api.queries import JobQueries
from services.api.recovery import RequestRecovery
from services.api.routes import (
    definitions_v1,
    dlq_v1,
    job_control,
    jobs_batch,
    jobs_v1,
    metrics_v1,
    observability,
    prometheus,
    schedules_v1,
    seed_003_jobs,
    seed_jobs,
    seed_schedules,
    stats,
    videos_v1,
    workers,
)
from services.api.schedules import ScheduleService
from services.api.settings import ApiSettings
from services.api.submission import JobSubmitter
from services.api.workers import WorkerDirectory
from shared import kafka, mongo
from shared.definitions import registry
from shared.workers import WorkerTiming


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = mongo.connect(settings, "jobstream-api")
        outbox = Outbox(db[mongo.JOB_REQUESTS])
        await outbox.ensure_indexes()
        producer = kafka.make_producer(settings, "jobstream-api")
        await producer.start()
        outbox.start()
        submitter = JobSubmitter(outbox, db[mongo.JOB_REQUESTS], producer)
        schedules = ScheduleService(db, producer, submitter)
        app.state.definitions = DefinitionCatalog(settings, registry, db[mongo.DEFINITION_RECORDS], producer)
        app.state.definitions.start()
        app.state.services = Services(
            settings=settings,
            db=db,
            producer=producer,
            submitter=submitter,
            jobs=JobQueries(db),
            schedules=schedules,
            workers=WorkerDirectory(db[mongo.WORKERS], WorkerTiming()),
        )
        await schedules.republish()
        recovery = RequestRecovery(db[mongo.JOB_REQUESTS], db[mongo.JOBS], producer, settings.recovery_window_hours)
        # In the background: the API serves while it walks the outbox.
        app.state.recovery = asyncio.create_task(recovery.run(), name="request-recovery")
        app.state.insights = Insights.build(settings, db, producer)
        try:
            yield
        finally:
            app.state.recovery.cancel()
            await app.state.definitions.stop()
            await app.state.insights.close()
            await outbox.stop()
            await producer.stop()
            db.client.close()

    app = FastAPI(
        title="jobstream",
        version="0.1.0",
        summary="Run, schedule and analyse jobs: native programs, shell, HTTP POST, Python definitions.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(jobs_batch.router)
    app.include_router(jobs_v1.router)
    app.include_router(job_control.router)
    app.include_router(definitions_v1.router)
    app.include_router(dlq_v1.router)
    app.include_router(videos_v1.router)
    app.include_router(seed_jobs.router)
    app.include_router(schedules_v1.router)
    app.include_router(seed_schedules.router)
    app.include_router(seed_003_jobs.router)
    app.include_router(workers.seed)
    app.include_router(workers.canonical)
    for router in (stats.router, metrics_v1.router, observability.router, prometheus.router):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if settings.tracing_exporter != "none":
        # Request spans cost about a third of the API's CPU per request; with tracing off they
        # would be made and dropped, so the instrumentation is only installed when spans go somewhere.
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,metrics")
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, overrides={videos_v1.UPLOAD_PATH: settings.video_max_bytes}
    )
    return app
