"""The `jobstream` command line: run the embedded stack and administer a running platform."""

import asyncio

import typer

from shared.kafka import create_topics
from shared.settings import ServiceSettings

app = typer.Typer(help="jobstream: run, schedule and analyse jobs.", no_args_is_help=True)


@app.command()
def run() -> None:
    """Start the embedded broker and database and every service (what `make run` does)."""
    from infra.stack import main

    main()


@app.command()
def topics() -> None:
    """Create every Kafka topic jobstream uses on KAFKA_BOOTSTRAP (idempotent)."""
    settings = ServiceSettings()
    asyncio.run(create_topics(settings.kafka_bootstrap))
    typer.echo(f"topics ready on {settings.kafka_bootstrap}")


if __name__ == "__main__":
    app()
