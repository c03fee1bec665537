"""Every service runs on uvloop: the event loop is where a job platform's per-message CPU goes
(socket reads, timers, task switches), and uvloop does that work in C."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a uvloop event loop."""
    return uvloop.run(main)


def use_for_faust() -> None:
    """Faust's worker creates its loop through the asyncio policy: call this before building the app."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
