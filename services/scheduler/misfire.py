"""Misfire policy: which past slots a schedule fires when its owner (re)starts it late.

A slot is *missed* when it is older than the grace period at the moment the schedule is armed:
after a scheduler restart or failover, a resumed consumer that lagged, or a broker outage. Slots
within the grace period are simply late and always fire.

- `catch_up` (default): fire every missed slot, the most recent `catch_up_limit` of them
  (default 100), oldest first; older ones are skipped and counted.
- `fire_once`: fire only the most recent missed slot.
- `skip`: fire none of them; the schedule continues with the next slot.

Pure: the clock and the cron are passed in.
"""

from dataclasses import dataclass

from shared.cron import Cron
from shared.schedules import MisfirePolicy


@dataclass(frozen=True)
class Catchup:
    slots: list[float]  # to fire now, oldest first
    missed: int  # missed slots the policy fires
    dropped: bool  # True when the policy left some missed slots out


def slots_to_fire(
    cron: Cron, policy: MisfirePolicy, limit: int, floor: float, now: float, horizon: float, grace: float
) -> Catchup:
    """Slots in (floor, horizon] to fire when a schedule is armed at `now`.

    `floor` is the last slot known fired (or the schedule's active_since); `horizon` is the latest
    slot the plan has already handed out, so later slots come from the plan itself.
    """
    if horizon <= floor:
        return Catchup([], 0, False)
    cutoff = now - grace
    on_time = cron.slots_between(max(floor, cutoff), horizon, limit=10_000) if horizon > cutoff else []
    if cutoff <= floor or policy == "skip":
        missed: list[float] = []
        dropped = policy == "skip" and bool(cron.slots_between(floor, min(cutoff, horizon), limit=1))
    else:
        want = 1 if policy == "fire_once" else limit
        missed = cron.slots_between(floor, min(cutoff, horizon), limit=want + 1)
        dropped = len(missed) > want
        missed = missed[-want:]
    return Catchup(missed + on_time, len(missed), dropped)
