"""The worker registry's pure parts: health rules and the ledger folded from heartbeats and job events."""

from datetime import UTC, datetime, timedelta

from services.worker_registry.ledger import Ledger

from shared.events import JobFinished, JobStarted, WorkerHeartbeat
from shared.workers import WorkerTiming, assess, format_uptime

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TIMING = WorkerTiming(HEARTBEAT_INTERVAL_SECONDS=1, LEASE_DURATION_SECONDS=10)


def beat(
    at: float,
    running: list[str] | None = None,
    started: float = 0.0,
    state: str = "running",
    worker: str = "w1",
    pid: int = 100,
) -> WorkerHeartbeat:
    return WorkerHeartbeat(
        worker_id=worker,
        host="h",
        pid=pid,
        version="1",
        capabilities=["script"],
        slots=4,
        running_job_ids=running or [],
        state=state,
        occurred_at=T0 + timedelta(seconds=at),
        started_at=T0 + timedelta(seconds=started),
    )


def started(job: str, at: float, worker: str = "w1", attempt: int = 1) -> JobStarted:
    return JobStarted(
        job_id=job, attempt=attempt, producer="executor", worker_id=worker, occurred_at=T0 + timedelta(seconds=at)
    )


def finished(job: str, at: float, outcome: str = "succeeded", worker: str = "w1") -> JobFinished:
    return JobFinished(
        job_id=job,
        attempt=1,
        producer="executor",
        worker_id=worker,
        outcome=outcome,
        disposition="succeeded" if outcome == "succeeded" else "failed",
        occurred_at=T0 + timedelta(seconds=at),
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_offline_after_half_the_lease_but_never_before_three_heartbeats() -> None:
    assert TIMING.offline_after == 5
    assert WorkerTiming(HEARTBEAT_INTERVAL_SECONDS=10, LEASE_DURATION_SECONDS=20).offline_after == 30


def test_health_follows_heartbeat_silence_and_failure_streak() -> None:
    def health(silence: float, failures: int = 0, state: str = "running", running: int = 0) -> tuple[str, str]:
        verdict = assess(
            state=state,
            running=running,
            consecutive_failures=failures,
            last_heartbeat_at=T0,
            now=at(silence),
            timing=TIMING,
        )
        return verdict.status, verdict.health

    assert health(0.5) == ("idle", "healthy")
    assert health(0.5, running=2) == ("busy", "healthy")
    assert health(0.5, failures=3) == ("idle", "warning")
    assert health(0.5, failures=5) == ("idle", "degraded")
    assert health(3, running=1) == ("busy", "unresponsive")
    assert health(6, running=1) == ("offline", "offline")
    assert health(0.1, state="draining", running=1) == ("draining", "healthy")
    assert health(0.1, state="stopped") == ("offline", "offline")


def test_busy_worker_with_arriving_heartbeats_is_never_offline() -> None:
    # Given a worker busy for a long time, heartbeating every second
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    for second in range(60):
        ledger.on_heartbeat(beat(second, running=["a", "b", "c", "d"]))
        # When the sweep runs between heartbeats
        assert ledger.sweep(at(second + 0.9)) == []
    # Then it stayed busy and healthy
    worker = ledger.workers["w1"]
    assert (worker.status, worker.health) == ("busy", "healthy")
    assert worker.document()["load_percentage"] == 100


def test_consecutive_failures_count_once_and_reset_on_success() -> None:
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0))
    for n in range(3):
        event = finished(f"j{n}", 0.1, outcome="failed")
        ledger.on_finished(event)
        ledger.on_finished(event)  # redelivered
    assert ledger.workers["w1"].consecutive_failures == 3
    assert ledger.workers["w1"].health == "warning"
    ledger.on_finished(finished("ok", 0.2))
    assert ledger.workers["w1"].consecutive_failures == 0
    assert ledger.workers["w1"].health == "healthy"


def test_silent_worker_is_lost_once_with_its_open_attempts() -> None:
    # Given a worker running two attempts, one of which finishes
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0))
    ledger.on_started(started("a", 0.1))
    ledger.on_started(started("b", 0.2))
    ledger.on_finished(finished("b", 0.3))
    # When its heartbeats stop
    assert ledger.sweep(at(3))[0:0] == [] and ledger.workers["w1"].health == "unresponsive"
    lost = ledger.sweep(at(6))
    # Then it is offline and only the unfinished attempt is orphaned, once
    assert [(item.worker_id, item.open_attempts) for item in lost] == [("w1", ("a:1",))]
    assert ledger.workers["w1"].status == "offline"
    assert ledger.sweep(at(7)) == []


def test_started_read_after_finished_does_not_reopen_the_attempt() -> None:
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0))
    ledger.on_finished(finished("a", 0.3))
    ledger.on_started(started("a", 0.1))
    assert ledger.workers["w1"].open_attempts == {}


def test_restarted_worker_does_not_resurrect_old_attempts() -> None:
    # Given a worker running an attempt
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0, started=0))
    ledger.on_started(started("a", 0.5))
    # When the same id comes back as a new process, which starts its own attempt
    ledger.on_heartbeat(beat(2, started=1.5, pid=200))
    ledger.on_started(started("b", 2.5))
    assert ledger.sweep(at(3)) == []  # grace for the old process's last events
    lost = ledger.sweep(at(5))
    # Then the old process's attempt is orphaned, the new one's is not, and the worker is live
    assert [(item.why, item.open_attempts, item.until) for item in lost] == [("restarted", ("a:1",), at(1.5))]
    assert list(ledger.workers["w1"].open_attempts) == ["b:1"]
    assert ledger.workers["w1"].status == "idle"


def test_stopped_worker_goes_offline_at_once() -> None:
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0))
    ledger.on_heartbeat(beat(1, state="stopped"))
    lost = ledger.sweep(at(1.1))
    assert [item.why for item in lost] == ["stopped"]
    assert ledger.workers["w1"].status == "offline"


def test_documents_survive_a_restart_of_the_registry() -> None:
    ledger = Ledger(TIMING, started_at=T0 - timedelta(minutes=1))
    ledger.on_heartbeat(beat(0))
    ledger.on_started(started("a", 0.1))
    documents = ledger.take_dirty()
    restored = Ledger(TIMING, started_at=at(9))
    restored.restore(documents)
    assert restored.sweep(at(10)) == []  # it may not have read the latest heartbeats yet
    assert [item.open_attempts for item in restored.sweep(at(15))] == [("a:1",)]
    assert ledger.take_dirty() == []


def test_uptime_is_written_like_seed_003() -> None:
    assert format_uptime(2 * 3600 + 45 * 60 + 3) == "2h 45m"
    assert format_uptime(61) == "1m 1s"


def test_an_outcome_older_than_a_release_does_not_reset_the_streak() -> None:
    # Given a release recorded as a failure at t=5
    ledger = Ledger(TIMING)
    ledger.on_heartbeat(beat(0))
    ledger.on_release("w1", job_success=False, at=at(5))
    # When a success that happened earlier is read afterwards
    ledger.on_finished(finished("early", 2))
    # Then the streak stays, while the success is still counted
    assert ledger.workers["w1"].consecutive_failures == 1
    assert ledger.workers["w1"].jobs_succeeded == 1
