"""Entry point: `python -m services.worker_registry` (or `jobstream-worker-registry`)."""

import faust

from services.worker_registry.app import build_app
from services.worker_registry.settings import RegistrySettings
from shared import eventloop, metrics
from shared.logs import setup_logging
from shared.telemetry import setup_tracing
from shared.workers import WorkerTiming


def main() -> None:
    settings = RegistrySettings()
    setup_logging("worker-registry", settings.log_level)
    setup_tracing("worker-registry", settings.tracing_exporter, settings.tracing_file)
    metrics.serve(settings.metrics_port, "worker-registry")
    eventloop.use_for_faust()
    worker = faust.Worker(
        build_app(settings, WorkerTiming()), loglevel=settings.log_level, quiet=True, redirect_stdouts=False
    )
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
