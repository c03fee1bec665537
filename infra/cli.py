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


@app.command("register-definitions")
def register_definitions(
    module: list[str] = typer.Option([], "--module", "-m", help="import this module first (repeatable)"),  # noqa: B006
) -> None:
    """Publish every job definition (built-ins and those in --module) to the `definitions` topic."""
    from infra.register_definitions import load, publish_definitions

    settings = ServiceSettings()
    published = asyncio.run(publish_definitions(settings, load(module)))
    typer.echo(f"registered {len(published)} definitions on {settings.kafka_bootstrap}: {', '.join(published)}")


@app.command()
def replay(
    prefix: str = typer.Option("replay_", help="prefix of the fresh collections the projections are rebuilt into"),
    batch_size: int = typer.Option(1000, min=1, help="events per batch"),
) -> None:
    """Rebuild every analytics projection (jobs, stats, executions, alerts) from the Kafka topics."""
    from services.analytics.__main__ import replay_command

    replay_command(["--prefix", prefix, "--batch-size", str(batch_size)])


if __name__ == "__main__":
    app()
