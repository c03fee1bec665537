"""Backoff and the job-level consequence of an attempt's outcome."""

import random

import pytest

from shared.events import RetryPolicy
from shared.retry import backoff_seconds, disposition


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_backoff_is_exponential_within_jitter_bounds(attempt: int) -> None:
    policy = RetryPolicy(base_seconds=1, max_seconds=3600, factor=2, jitter=0.3)
    expected = 2 ** (attempt - 1)
    rng = random.Random(attempt)
    delays = [backoff_seconds(policy, attempt, rng) for _ in range(500)]
    assert min(delays) >= expected * 0.7
    assert max(delays) <= expected * 1.3
    # jitter really spreads the delays (not a constant)
    assert max(delays) - min(delays) > expected * 0.3


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_seconds=1, max_seconds=10, factor=2, jitter=0.3)
    assert all(backoff_seconds(policy, 20) <= 10 for _ in range(100))


def test_fixed_delay_without_jitter() -> None:
    policy = RetryPolicy(base_seconds=0.2, max_seconds=1, factor=1, jitter=0)
    assert backoff_seconds(policy, 1) == backoff_seconds(policy, 5) == 0.2


@pytest.mark.parametrize(
    ("outcome", "retryable", "attempt", "max_attempts", "expected"),
    [
        ("succeeded", True, 1, 3, "succeeded"),
        ("failed", True, 1, 3, "retry"),
        ("failed", True, 3, 3, "dead_lettered"),
        ("failed", False, 1, 3, "failed"),
        ("timed_out", True, 1, 2, "retry"),
        ("crashed", True, 2, 2, "dead_lettered"),
        ("cancelled", True, 1, 3, "cancelled"),
    ],
)
def test_disposition(outcome, retryable, attempt, max_attempts, expected) -> None:
    assert disposition(outcome, retryable, attempt, max_attempts) == expected
