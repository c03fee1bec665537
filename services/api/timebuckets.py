"""Failures by hour, minute, weekday or month in any time zone, from the UTC quarter-hour counters
(`fail:<YYYY-MM>` documents, pure).

Analytics counts failed attempts per UTC quarter hour, so the conversion to a time zone happens at
read time with that moment's own offset (daylight saving included) and any zone, including those
30 or 45 minutes off UTC, maps quarter to quarter. Minutes of the hour come from a separate per-minute
counter shifted by the zone's current offset.
"""

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

GroupBy = Literal["hour", "minute", "weekday", "month"]
WEEKDAYS = list(calendar.day_name)
MONTHS = list(calendar.month_name)[1:]


def labels(group_by: GroupBy) -> list[str]:
    if group_by == "hour":
        return [f"{hour:02d}" for hour in range(24)]
    if group_by == "minute":
        return [f"{minute:02d}" for minute in range(60)]
    return WEEKDAYS if group_by == "weekday" else MONTHS


def quarter_moment(month_id: str, field: str) -> datetime:
    """`fail:2026-11` + `23141` -> 2026-11-23 14:15 UTC."""
    year, month = (int(part) for part in month_id.split(":", 1)[1].split("-"))
    day, hour, quarter = int(field[:2]), int(field[2:4]), int(field[4])
    return datetime(year, month, day, hour, quarter * 15, tzinfo=UTC)


def failures_by(documents: list[dict[str, Any]], group_by: GroupBy, zone: ZoneInfo, now: datetime) -> dict[str, int]:
    counts = dict.fromkeys(labels(group_by), 0)
    if group_by == "minute":
        offset = now.astimezone(zone).utcoffset() or timedelta(0)
        shift = int(offset.total_seconds() // 60)
        for document in documents:
            for minute, n in (document.get("m") or {}).items():
                counts[f"{(int(minute) + shift) % 60:02d}"] += n
        return counts
    for document in documents:
        for field, n in (document.get("q") or {}).items():
            local = quarter_moment(document["_id"], field).astimezone(zone)
            if group_by == "hour":
                key = f"{local.hour:02d}"
            elif group_by == "weekday":
                key = WEEKDAYS[local.weekday()]
            else:
                key = MONTHS[local.month - 1]
            counts[key] += n
    return counts


def month_ids(now: datetime, months: int) -> list[str]:
    """The `fail:` ids of the `months` UTC months ending with the current one, oldest first."""
    ids = []
    year, month = now.year, now.month
    for _ in range(months):
        ids.append(f"fail:{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return ids[::-1]
