"""Cron expressions: validation that names the wrong field, and next-fire times in an IANA zone.

Five fields (`minute hour day month weekday`) or six with leading seconds
(`second minute hour day month weekday`, seed 004's `31 10-15 1 * * MON-FRI`). Ranges, lists,
steps and names (JAN-DEC, MON-SUN) are croniter's. Slots are wall-clock times in the schedule's zone, returned as
UTC epoch seconds. Across DST changes: a wall time that occurs twice (autumn) fires once, at its
first occurrence; a wall time the spring-forward skips fires one gap later (02:30 -> 03:30), and an
instant never fires twice (slots are strictly increasing).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

FIELDS_5 = ("minute", "hour", "day of month", "month", "day of week")
FIELDS_6 = ("second", *FIELDS_5)


class CronError(ValueError):
    """An invalid expression or zone; `field` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Cron:
    expression: str
    timezone: str = "UTC"

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split()) == 6

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, after: float) -> float:
        """The first slot strictly after `after` (UTC epoch seconds), as UTC epoch seconds."""
        zone = self.zone()
        iterator = croniter(self.expression, _wall(after, zone), second_at_beginning=self.has_seconds)
        while True:
            slot = _instant(iterator.get_next(datetime), zone)
            if slot > after:
                return slot

    def slots_between(self, after: float, until: float, limit: int) -> list[float]:
        """The latest `limit` slots in (after, until], oldest first (walks backwards from `until`)."""
        zone = self.zone()
        iterator = croniter(self.expression, _wall(until + 1, zone), second_at_beginning=self.has_seconds)
        slots: list[float] = []
        while len(slots) < limit:
            slot = _instant(iterator.get_prev(datetime), zone)
            if slot <= after:
                break
            if slot <= until and (not slots or slot < slots[-1]):
                slots.append(slot)
        return slots[::-1]


def _wall(instant: float, zone: ZoneInfo) -> datetime:
    """Local wall-clock time of an instant, without zone: croniter then does plain calendar steps."""
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo) -> float:
    # fold=0: a repeated wall time (autumn) is its first occurrence; a skipped one (spring) lands
    # one gap later. Callers keep slots strictly monotonic, so each instant fires once.
    return wall.replace(tzinfo=zone).timestamp()


def parse(expression: str, timezone: str = "UTC") -> Cron:
    """Validate and return a `Cron`; raise `CronError` naming the wrong field."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CronError("timezone", f"unknown IANA time zone {timezone!r}") from None
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("schedule", "empty cron expression")
    parts = expression.split()
    if len(parts) not in (5, 6):
        raise CronError(
            "schedule", f"expected 5 fields (minute hour day month weekday) or 6 with leading seconds, got {len(parts)}"
        )
    names = FIELDS_6 if len(parts) == 6 else FIELDS_5
    normalized = " ".join(parts)
    for index, (name, part) in enumerate(zip(names, parts, strict=True)):
        probe = ["*"] * len(parts)
        probe[index] = part
        if not _valid(" ".join(probe), len(parts) == 6):
            raise CronError(f"schedule.{name.replace(' ', '_')}", f"{part!r} is not a valid {name} field")
    if not _valid(normalized, len(parts) == 6):
        raise CronError("schedule", f"{expression!r} is not a valid cron expression")
    cron = Cron(normalized, timezone)
    try:
        cron.next_after(datetime.now(UTC).timestamp())
    except (CroniterError, ValueError) as error:  # e.g. 30 February: never fires
        raise CronError("schedule", f"{expression!r} never fires: {error}") from None
    return cron


def _valid(expression: str, seconds: bool) -> bool:
    try:
        croniter(expression, second_at_beginning=seconds)
    except (CroniterError, ValueError, KeyError, IndexError):
        return False
    return True
