"""A user's own definition module, imported by `jobstream register-definitions --module`."""

from pydantic import BaseModel

from shared.definitions import JobContext, registry
from shared.events import RetryPolicy


class GreetParams(BaseModel):
    name: str


@registry.define(
    "greet",
    version=2,
    params=GreetParams,
    default_max_attempts=4,
    timeout_seconds=90,
    concurrency_limit=3,
    retry=RetryPolicy(base_seconds=2, max_seconds=30, factor=3, jitter=0.1),
    description="says hello",
)
async def greet(params: GreetParams, ctx: JobContext) -> str:
    return f"hello {params.name}"
