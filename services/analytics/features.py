"""The features a finished job is described by, for pattern discovery (pure).

Each feature value becomes a counter, so values are normalised into bounded sets: digit runs of four
or more and long hexadecimal tokens (ids, timestamps, hashes) become `#`, values are cut at 64
characters. Short values such as `memory_mb=60` or `--fast` stay exact.
"""

import re
from datetime import datetime
from typing import Any

MAX_VALUE_LENGTH = 64
MAX_ARG_COUNT = 10
_LONG_DIGITS = re.compile(r"\d{4,}")
_HEX_TOKEN = re.compile(r"\b(?=[0-9a-fA-F-]*\d)[0-9a-fA-F-]{8,}\b")
_NAME_DIGITS = re.compile(r"\d+")
DURATION_BUCKETS = ((100, "< 100 ms"), (1_000, "100 ms - 1 s"), (10_000, "1 - 10 s"), (60_000, "10 - 60 s"))
NAME_LENGTH_BUCKETS = ((5, "1-5"), (10, "6-10"), (20, "11-20"))


def normalise(value: str) -> str:
    value = _HEX_TOKEN.sub("#", value)
    value = _LONG_DIGITS.sub("#", value)
    return value[:MAX_VALUE_LENGTH]


def name_shape(name: str) -> str:
    """`task-123` -> `task-#`: jobs named after a counter share one shape."""
    return _NAME_DIGITS.sub("#", name)[:MAX_VALUE_LENGTH]


def duration_bucket(duration_ms: float) -> str:
    for limit, label in DURATION_BUCKETS:
        if duration_ms < limit:
            return label
    return "> 60 s"


def name_length_bucket(name: str) -> str:
    for limit, label in NAME_LENGTH_BUCKETS:
        if len(name) <= limit:
            return label
    return "> 20"


def features(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(feature, value) pairs of one job document; each pair is counted once per job."""
    found: list[tuple[str, str]] = []
    name = doc.get("job_name")
    if name:
        found += [("name", name_shape(name)), ("nameLength", name_length_bucket(name))]
    if doc.get("definition_key"):
        found.append(("definition", f"{doc['definition_key']}@{doc.get('definition_version')}"))
    args = [str(arg) for arg in doc.get("args") or []]
    if doc.get("kind") in ("native", None) or args:
        found.append(("argCount", str(min(len(args), MAX_ARG_COUNT)) + ("+" if len(args) > MAX_ARG_COUNT else "")))
    found += [("arg", value) for value in sorted({normalise(arg) for arg in args})]
    if doc.get("duration_ms") is not None:
        found.append(("duration", duration_bucket(doc["duration_ms"])))
    moment: datetime | None = doc.get("started_at") or doc.get("submitted_at")
    if moment is not None:
        found.append(("hour", f"{moment.hour:02d}"))
    if doc.get("worker_id"):
        found.append(("worker", str(doc["worker_id"])[:MAX_VALUE_LENGTH]))
    return found
