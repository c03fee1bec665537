"""Which Kafka offsets are safe to commit while jobs finish out of order.

The executor reads ahead (priorities need a backlog to choose from) and runs jobs concurrently, so
it may only commit a partition up to its oldest job still queued or running. After a crash the group
re-reads from there; leases turn the re-read of finished jobs into no-ops.
"""

from aiokafka import TopicPartition


class OffsetTracker:
    def __init__(self) -> None:
        self._open: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}

    def add(self, partition: TopicPartition, offset: int) -> None:
        self._open.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def done(self, partition: TopicPartition, offset: int) -> None:
        self._open.get(partition, set()).discard(offset)

    def committable(self, partitions: set[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        result = {}
        for partition, next_offset in self._next.items():
            if partitions is not None and partition not in partitions:
                continue
            still_open = self._open.get(partition)
            result[partition] = min(still_open) if still_open else next_offset
        return result

    def forget(self, partitions: set[TopicPartition]) -> None:
        for partition in partitions:
            self._open.pop(partition, None)
            self._next.pop(partition, None)
