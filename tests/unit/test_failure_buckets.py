"""Failures by hour/weekday/month/minute in any time zone, from UTC quarter-hour counters."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.api.timebuckets import failures_by, month_ids
from shared import stats_keys

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def documents(*moments: datetime) -> list[dict]:
    """What analytics writes for one failed attempt at each moment."""
    docs: dict[str, dict] = {}
    for moment in moments:
        doc = docs.setdefault(
            stats_keys.failures_month(moment), {"_id": stats_keys.failures_month(moment), "q": {}, "m": {}}
        )
        field = stats_keys.quarter_field(moment)
        doc["q"][field] = doc["q"].get(field, 0) + 1
        doc["m"][f"{moment.minute:02d}"] = doc["m"].get(f"{moment.minute:02d}", 0) + 1
    return list(docs.values())


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {key: n for key, n in counts.items() if n}


def test_a_late_evening_utc_failure_is_the_next_morning_in_kolkata() -> None:
    # Given a failure at 23:30 UTC on a Monday
    docs = documents(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    # Then it is at 23 in UTC, at 05 (+05:30) on Tuesday in Kolkata, at 18 (-05:00) in New York
    assert nonzero(failures_by(docs, "hour", ZoneInfo("UTC"), NOW)) == {"23": 1}
    assert nonzero(failures_by(docs, "hour", ZoneInfo("Asia/Kolkata"), NOW)) == {"05": 1}
    assert nonzero(failures_by(docs, "weekday", ZoneInfo("Asia/Kolkata"), NOW)) == {"Tuesday": 1}
    assert nonzero(failures_by(docs, "hour", ZoneInfo("America/New_York"), NOW)) == {"18": 1}


def test_daylight_saving_uses_the_offset_of_the_failure_itself() -> None:
    # Given failures at 12:00 UTC in January (EST, -5) and July (EDT, -4)
    docs = documents(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), datetime(2026, 7, 15, 12, 0, tzinfo=UTC))
    # Then New York sees one at 07 and one at 08
    assert nonzero(failures_by(docs, "hour", ZoneInfo("America/New_York"), NOW)) == {"07": 1, "08": 1}
    assert nonzero(failures_by(docs, "month", ZoneInfo("America/New_York"), NOW)) == {"January": 1, "July": 1}


def test_month_boundary_moves_with_the_zone() -> None:
    docs = documents(datetime(2026, 10, 31, 23, 45, tzinfo=UTC))
    assert nonzero(failures_by(docs, "month", ZoneInfo("UTC"), NOW)) == {"October": 1}
    assert nonzero(failures_by(docs, "month", ZoneInfo("Europe/Berlin"), NOW)) == {"November": 1}


def test_minutes_shift_by_a_half_hour_offset() -> None:
    docs = documents(datetime(2026, 11, 23, 10, 40, tzinfo=UTC), datetime(2026, 11, 23, 11, 40, tzinfo=UTC))
    assert nonzero(failures_by(docs, "minute", ZoneInfo("UTC"), NOW)) == {"40": 2}
    assert nonzero(failures_by(docs, "minute", ZoneInfo("Asia/Kolkata"), NOW)) == {"10": 2}


def test_every_bucket_is_listed_even_when_empty() -> None:
    assert len(failures_by([], "hour", ZoneInfo("UTC"), NOW)) == 24
    assert len(failures_by([], "minute", ZoneInfo("UTC"), NOW)) == 60
    assert list(failures_by([], "weekday", ZoneInfo("UTC"), NOW))[0] == "Monday"


def test_month_window_spans_year_ends() -> None:
    assert month_ids(NOW, 12)[0] == "fail:2025-12" and month_ids(NOW, 12)[-1] == "fail:2026-11"
    assert len(month_ids(NOW, 12)) == 12 and len(set(month_ids(NOW, 24))) == 24
    assert month_ids(NOW, 1) == ["fail:2026-11"]
