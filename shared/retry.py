"""Retry decisions: what a job does after an attempt, and how long to wait before the next one."""

import random
from datetime import datetime, timedelta

from shared.events import Disposition, JobSpec, Outcome, RetryPolicy


def backoff_seconds(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Delay before the attempt after `attempt` (1-based): exponential, capped, with +/- jitter."""
    base = min(policy.max_seconds, policy.base_seconds * policy.factor ** max(0, attempt - 1))
    spread = base * policy.jitter
    low, high = max(0.0, base - spread), min(policy.max_seconds, base + spread)
    return (rng or random).uniform(low, high) if high > low else base


def disposition(outcome: Outcome, retryable: bool, attempt: int, max_attempts: int) -> Disposition:
    """The job-level consequence of an attempt's outcome (pure, shared by executor and projections)."""
    if outcome == "succeeded":
        return "succeeded"
    if outcome == "cancelled":
        return "cancelled"
    if not retryable:
        return "failed"
    return "retry" if attempt < max_attempts else "dead_lettered"


def retry_at(spec: JobSpec, attempt: int, now: datetime, rng: random.Random | None = None) -> datetime:
    return now + timedelta(seconds=backoff_seconds(spec.retry, attempt, rng))
