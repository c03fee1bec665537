"""A small per-process response cache with a caller-chosen freshness (seed 002's `ttl` parameter)."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

MAX_ENTRIES = 256


class TtlCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, ttl: float, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value if it is younger than `ttl` seconds, else a freshly computed one."""
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and ttl > 0 and now - cached[0] < ttl:
            return cached[1]
        value = await compute()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (now, value)
        return value
