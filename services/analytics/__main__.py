"""Entry point: `python -m services.analytics` (or `jobstream-analytics`) runs the Faust worker."""

import faust

from services.analytics.app import build_app
from services.analytics.settings import AnalyticsSettings
from shared.logs import setup_logging
from shared.telemetry import setup_tracing


def main() -> None:
    settings = AnalyticsSettings()
    setup_logging("analytics", settings.log_level)
    setup_tracing("analytics", settings.tracing_exporter, settings.tracing_file)
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
