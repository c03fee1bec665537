"""The slot plan: which schedules are due at which second, as a heap of next-fire times.

Schedules with the same expression and zone share one group, so ten thousand `* * * * * *`
schedules cost one cron computation per slot, not ten thousand. Pure: no clock, no I/O.
"""

import heapq
from dataclasses import dataclass, field

from shared.cron import Cron


@dataclass
class _Group:
    cron: Cron
    next_slot: float
    members: set[str] = field(default_factory=set)


@dataclass
class SlotPlan:
    # Every slot <= horizon has been handed out by `due`; groups always point past it.
    horizon: float
    _groups: dict[tuple[str, str], _Group] = field(default_factory=dict)
    _member_group: dict[str, tuple[str, str]] = field(default_factory=dict)
    _heap: list[tuple[float, tuple[str, str]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._member_group)

    def __contains__(self, schedule_id: str) -> bool:
        return schedule_id in self._member_group

    def add(self, schedule_id: str, cron: Cron) -> None:
        """Plan `schedule_id` from the first slot after the horizon (replaces an earlier entry)."""
        self.remove(schedule_id)
        key = (cron.expression, cron.timezone)
        group = self._groups.get(key)
        if group is None:
            group = _Group(cron, cron.next_after(self.horizon))
            self._groups[key] = group
            heapq.heappush(self._heap, (group.next_slot, key))
        group.members.add(schedule_id)
        self._member_group[schedule_id] = key

    def remove(self, schedule_id: str) -> None:
        key = self._member_group.pop(schedule_id, None)
        if key is None:
            return
        group = self._groups[key]
        group.members.discard(schedule_id)
        if not group.members:
            del self._groups[key]  # its heap entry is dropped lazily in `due`

    def next_slot(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def due(self, until: float) -> list[tuple[float, list[str]]]:
        """Hand out every (slot, schedule ids) with slot <= until, oldest first, and move past them."""
        fired: dict[float, list[str]] = {}
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > until:
                break
            slot, key = heapq.heappop(self._heap)
            group = self._groups[key]
            fired.setdefault(slot, []).extend(group.members)
            group.next_slot = group.cron.next_after(slot)
            heapq.heappush(self._heap, (group.next_slot, key))
        self.horizon = max(self.horizon, until)
        return sorted(fired.items())

    def _drop_stale(self) -> None:
        while self._heap:
            slot, key = self._heap[0]
            group = self._groups.get(key)
            if group is not None and group.next_slot == slot:
                return
            heapq.heappop(self._heap)
