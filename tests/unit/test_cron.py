"""Cron parsing and next-fire times, including DST changes."""

from datetime import UTC, datetime

import pytest

from shared.cron import CronError, parse


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def utc(instant: float) -> datetime:
    return datetime.fromtimestamp(instant, UTC)


def test_six_field_expression_with_ranges_and_day_names() -> None:
    # Given seed 004's example: second 31 of minutes 10-15 of 01:xx, Monday to Friday
    cron = parse("31 10-15 1 * * MON-FRI")
    # When asked for the next slots after Saturday 2026-11-21 00:00 UTC
    first = cron.next_after(ts(2026, 11, 21))
    second = cron.next_after(first)
    # Then they are Monday 01:10:31 and 01:11:31
    assert utc(first) == datetime(2026, 11, 23, 1, 10, 31, tzinfo=UTC)
    assert utc(second) == datetime(2026, 11, 23, 1, 11, 31, tzinfo=UTC)


def test_five_field_expression_with_steps_and_lists() -> None:
    cron = parse("*/15 9,17 * JAN-MAR *")
    slots = []
    after = ts(2026, 1, 1)
    for _ in range(5):
        after = cron.next_after(after)
        slots.append(utc(after).strftime("%H:%M"))
    assert slots == ["09:00", "09:15", "09:30", "09:45", "17:00"]


def test_every_second() -> None:
    cron = parse("* * * * * *")
    assert cron.slots_between(ts(2026, 1, 1), ts(2026, 1, 1, 0, 0, 5), limit=100) == [
        ts(2026, 1, 1, 0, 0, s) for s in range(1, 6)
    ]


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("61 * * * * *", "schedule.second"),
        ("60 * * * *", "schedule.minute"),
        ("* 24 * * *", "schedule.hour"),
        ("* * 32 * *", "schedule.day_of_month"),
        ("* * * 13 *", "schedule.month"),
        ("* * * * FOO", "schedule.day_of_week"),
        ("*/0 * * * *", "schedule.minute"),
        ("1 2 3", "schedule"),
        ("", "schedule"),
        ("0 0 30 2 *", "schedule"),  # 30 February never comes
    ],
)
def test_invalid_expressions_name_the_wrong_field(expression: str, field: str) -> None:
    with pytest.raises(CronError) as raised:
        parse(expression)
    assert raised.value.field == field


def test_unknown_time_zone() -> None:
    with pytest.raises(CronError) as raised:
        parse("* * * * *", "Mars/Olympus_Mons")
    assert raised.value.field == "timezone"


def test_zone_is_applied() -> None:
    # 09:00 in New York is 14:00 UTC in winter
    cron = parse("0 9 * * *", "America/New_York")
    assert utc(cron.next_after(ts(2026, 1, 5))) == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def test_spring_forward_skipped_wall_time_fires_one_gap_later() -> None:
    # Given 02:30 daily in Paris, and 2026-03-29 02:00 CET jumps to 03:00 CEST
    cron = parse("30 2 * * *", "Europe/Paris")
    # When computing the slots around the change
    first = cron.next_after(ts(2026, 3, 28, 12))
    second = cron.next_after(first)
    # Then the missing 02:30 fires at 03:30 CEST (01:30 UTC), and the next day at 02:30 CEST
    assert utc(first) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert utc(second) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_fall_back_repeated_wall_time_fires_once() -> None:
    # Given 02:30 daily in Paris, and 2026-10-25 03:00 CEST falls back to 02:00 CET
    cron = parse("30 2 * * *", "Europe/Paris")
    slots = cron.slots_between(ts(2026, 10, 24, 12), ts(2026, 10, 27, 12), limit=10)
    # Then 02:30 fires once on the change day (its first occurrence) and daily at 02:30 CET after
    assert [utc(slot) for slot in slots] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]
    # And stepping one slot at a time gives the same answer
    stepped, after = [], ts(2026, 10, 24, 12)
    for _ in range(3):
        after = cron.next_after(after)
        stepped.append(after)
    assert stepped == slots


def test_slots_across_a_dst_change_are_strictly_increasing() -> None:
    cron = parse("*/10 * * * *", "Europe/Paris")
    slots = cron.slots_between(ts(2026, 3, 28, 23), ts(2026, 3, 29, 3), limit=1000)
    assert slots == sorted(set(slots))
    assert len(slots) > 10


def test_slots_between_keeps_the_latest() -> None:
    cron = parse("* * * * * *")
    assert cron.slots_between(ts(2026, 1, 1), ts(2026, 1, 1, 0, 1), limit=3) == [
        ts(2026, 1, 1, 0, 0, 58),
        ts(2026, 1, 1, 0, 0, 59),
        ts(2026, 1, 1, 0, 1),
    ]
