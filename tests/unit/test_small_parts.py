"""Offsets, ids, settings parsing and the seed status mapping."""

import time

import pytest
from aiokafka import TopicPartition

from services.api.views import seed_list_item
from services.executor.offsets import OffsetTracker
from services.executor.settings import parse_bytes
from shared.ids import id_floor, new_job_id


def test_commit_stops_at_the_oldest_unfinished_offset() -> None:
    tracker = OffsetTracker()
    partition = TopicPartition("t", 0)
    for offset in range(5):
        tracker.add(partition, offset)
    tracker.done(partition, 0)
    tracker.done(partition, 2)
    assert tracker.committable() == {partition: 1}
    for offset in (1, 3, 4):
        tracker.done(partition, offset)
    assert tracker.committable() == {partition: 5}


def test_job_ids_sort_by_creation_time() -> None:
    first = new_job_id()
    time.sleep(0.002)
    second = new_job_id()
    assert first < second
    assert id_floor(int(time.time() * 1000) - 60_000) < first
    assert len({new_job_id() for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    ("text", "expected"), [("40MB", 40 * 1024**2), ("512KB", 512 * 1024), ("1GB", 1024**3), ("100", 100)]
)
def test_parse_bytes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


def test_parse_bytes_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        parse_bytes("lots")


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [
        ("succeeded", "succeeded", "completed"),
        ("dead_lettered", "failed", "failed"),
        ("dead_lettered", "crashed", "crashed"),
        ("retrying", "failed", "retrying"),
        ("queued", None, "queued"),
    ],
)
def test_seed_001_status_names(status: str, outcome: str | None, expected: str) -> None:
    item = seed_list_item({"_id": "j", "status": status, "outcome": outcome, "attempt": 2})
    assert item.status == expected
    assert item.retries == 1


def test_stack_refuses_a_busy_port_with_the_variable_to_change(tmp_path) -> None:
    import socket

    from infra.processes import free_port
    from infra.stack import Stack, StackSettings

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        stack = Stack(StackSettings(PORT=busy, KAFKA_PORT=free_port(), MONGO_PORT=free_port(), DATA_DIR=tmp_path))
        with pytest.raises(SystemExit) as refused:
            stack.check_ports()
    assert f"PORT (API)={busy}" in str(refused.value)
