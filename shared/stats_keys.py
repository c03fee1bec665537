"""The layout of the analytics-owned `stats` collection: document ids and field paths.

Analytics writes these documents (incrementally, `$inc` of deltas); the API reads them by `_id` or
by a range on `_id`. Both sides build ids with these functions, so the layout lives in one place.

| `_id`                          | fields                                                            |
| ------------------------------ | ----------------------------------------------------------------- |
| `summary`                      | jobs.total, jobs.status.<s>, terminal.*, processing.*, queue.*,   |
|                                | executions.*, cost.* (integers only: replay gives equal documents) |
| `def:<key>@<version>`          | the same job/terminal/processing/queue counters per definition    |
| `tp:<YYYY-MM-DD>`              | h.<HH>.<c> and m.<HHMM>.<c> per UTC hour and minute, where <c> is |
|                                | completed, failed (jobs), executions, executions_failed           |
| `fail:<YYYY-MM>`               | q.<DDHHQ> failed attempts per UTC quarter hour, m.<MM> per minute |
| `pat:<feature>`                | v.<value>.n / v.<value>.ok over finished jobs (pattern discovery)  |
| `highmem`                      | jobs, args.<argument> over jobs above their memory threshold      |
| `journal:<instance>`           | the crash-recovery journal of the last batch (analytics only)     |

Every document also carries `sk`, a copy of its `_id` with a secondary index: the embedded database
scans the whole collection for a range on `_id` but uses a secondary index for a range, so listings
(`def:` documents) are ranges on `sk`. Everything else is read by known ids (`$in`).
"""

from datetime import datetime

SUMMARY = "summary"
HIGH_MEMORY = "highmem"
DEFINITION_PREFIX = "def:"
DAY_PREFIX = "tp:"
FAILURES_PREFIX = "fail:"
PATTERN_PREFIX = "pat:"
JOURNAL_PREFIX = "journal:"


def definition(key: str, version: int | None) -> str:
    return f"{DEFINITION_PREFIX}{key}@{version if version is not None else '-'}"


def day(moment: datetime) -> str:
    """The UTC day's throughput document."""
    return f"{DAY_PREFIX}{moment:%Y-%m-%d}"


def hour_field(moment: datetime, counter: str) -> str:
    return f"h.{moment:%H}.{counter}"


def minute_field(moment: datetime, counter: str) -> str:
    return f"m.{moment:%H%M}.{counter}"


def failures_month(moment: datetime) -> str:
    return f"{FAILURES_PREFIX}{moment:%Y-%m}"


def quarter_field(moment: datetime) -> str:
    """`DDHHQ`: day of month, hour and quarter hour (0-3) of a UTC moment."""
    return f"{moment:%d%H}{moment.minute // 15}"


# The features pattern discovery counts (`pat:<feature>` documents), read by their ids.
FEATURES = ("name", "nameLength", "definition", "argCount", "arg", "duration", "hour", "worker")


def pattern(feature: str) -> str:
    return f"{PATTERN_PREFIX}{feature}"


def journal(instance: str) -> str:
    return f"{JOURNAL_PREFIX}{instance}"


def prefix_range(prefix: str) -> dict[str, str]:
    """A range on `_id` that selects every id starting with `prefix` (ids are ASCII)."""
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


# MongoDB field names may not contain "." or start with "$": values used as field names are escaped.
_ESCAPES = (("%", "%25"), (".", "%2E"), ("$", "%24"), ("\x00", "%00"))


def encode_field(value: str) -> str:
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    return value


def decode_field(value: str) -> str:
    for raw, escaped in reversed(_ESCAPES):
        value = value.replace(escaped, raw)
    return value


def describe_pattern(feature: str, value: str) -> str:
    """Human wording of a `pat:<feature>` value, in the style of seed 001 ("Job name length > 10")."""
    return {
        "name": f"Job name like '{value}'",
        "nameLength": f"Job name length {value}",
        "definition": f"Definition {value}",
        "argCount": f"{value} argument{'' if value == '1' else 's'}",
        "arg": f"Argument '{value}'",
        "duration": f"Job execution time {value}",
        "hour": f"Started {value}:00-{value}:59 UTC",
        "worker": f"Ran on worker {value}",
    }.get(feature, f"{feature} = {value}")
