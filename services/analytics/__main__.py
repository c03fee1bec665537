"""Entry point: `python -m services.analytics` (or `jobstream-analytics`) runs the Faust worker;
`python -m services.analytics replay --prefix replay_` rebuilds the projections from the topics."""

import argparse
import asyncio
import sys

import faust

from services.analytics.app import build_app
from services.analytics.settings import AnalyticsSettings
from shared import eventloop
from shared.logs import setup_logging
from shared.telemetry import setup_tracing


def replay_command(argv: list[str]) -> None:
    from services.analytics.replay import replay

    parser = argparse.ArgumentParser(prog="python -m services.analytics replay")
    parser.add_argument("--prefix", default="replay_", help="prefix of the fresh collections (default replay_)")
    parser.add_argument("--batch-size", type=int, default=1000)
    options = parser.parse_args(argv)
    settings = AnalyticsSettings()
    setup_logging("analytics-replay", settings.log_level)
    result = asyncio.run(replay(settings, options.prefix, options.batch_size))
    print(
        f"replayed {result.messages} messages ({result.jobs_changed} job changes) in {result.seconds:.1f}s into "
        f"{', '.join(result.collections.__dict__.values())}"
    )


def main() -> None:
    if sys.argv[1:2] == ["replay"]:
        replay_command(sys.argv[2:])
        return
    settings = AnalyticsSettings()
    setup_logging("analytics", settings.log_level)
    setup_tracing("analytics", settings.tracing_exporter, settings.tracing_file)
    eventloop.use_for_faust()
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
