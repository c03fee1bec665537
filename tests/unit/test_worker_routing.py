"""Capability routing, the API's compatibility answer and the crash event for an orphaned attempt."""

from datetime import UTC, datetime, timedelta

from services.worker_registry.ledger import LostIncarnation
from services.worker_registry.orphans import crashed

from services.api.workers import compatibility, worker_public
from services.executor.routing import CapabilityRouter
from services.executor.settings import ExecutorSettings
from shared.events import JobRequested, JobSpec
from shared.workers import WorkerTiming

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TIMING = WorkerTiming(HEARTBEAT_INTERVAL_SECONDS=1, LEASE_DURATION_SECONDS=10)


def request(capability: str | None) -> JobRequested:
    return JobRequested(
        job_id="j1", producer="api", spec=JobSpec(kind="native", program="/bin/true", capability=capability)
    )


def test_executor_runs_what_it_can_and_subscribes_to_its_capability_topics() -> None:
    settings = ExecutorSettings(WORKER_ID="w-1", WORKER_CAPABILITIES="script,shell", WORKER_TAGS="gpu")
    router = CapabilityRouter(settings, producer=None)  # type: ignore[arg-type]
    assert router.accepts(request(None)) and router.accepts(request("gpu")) and router.accepts(request("worker.w-1"))
    assert not router.accepts(request("http"))
    assert router.subscription() == [
        "job-requested",
        "job-requested.gpu",
        "job-requested.script",
        "job-requested.shell",
        "job-requested.worker.w-1",
    ]
    assert {spec.name: spec.partitions for spec in router.topic_specs()}["job-requested.worker.w-1"] == 1


def test_capabilities_that_cannot_be_topic_names_are_ignored() -> None:
    router = CapabilityRouter(ExecutorSettings(WORKER_ID="w", WORKER_CAPABILITIES="script,bad name"), producer=None)  # type: ignore[arg-type]
    assert "bad name" not in router.capabilities


def doc(
    worker_id: str, capabilities: list[str], running: int = 0, silence: float = 0.5, state: str = "running"
) -> dict:
    return {
        "_id": worker_id,
        "capabilities": capabilities,
        "slots": 2,
        "running_job_ids": ["x"] * running,
        "state": state,
        "status": "busy" if running else "idle",
        "health": "healthy",
        "last_heartbeat_at": NOW - timedelta(seconds=silence),
        "started_at": NOW - timedelta(hours=2, minutes=45),
    }


def test_compatibility_names_compatible_available_workers_and_the_cluster() -> None:
    workers = [
        doc("w1", ["shell"]),
        doc("w2", ["shell"], running=2),
        doc("w3", ["script"]),
        doc("w4", ["shell"], silence=60),
    ]
    found = compatibility(workers, "shell", NOW, TIMING)
    fields = found.error_fields()
    assert fields["compatibleWorkers"] == ["w1", "w2", "w4"]
    assert fields["availableCompatibleWorkers"] == ["w1"]
    assert found.live == ["w1", "w2"]
    assert fields["clusterStatus"] == {
        "totalWorkers": 4,
        "activeWorkers": 3,
        "idleWorkers": 2,
        "busyWorkers": 1,
        "drainingWorkers": 0,
        "offlineWorkers": 1,
    }
    assert fields["suggestions"] == "Try assigning to: w1"
    assert "queueIfNoWorker" in compatibility(workers, "gpu", NOW, TIMING).error_fields()["suggestions"]


def test_worker_public_is_seed_003_shaped_and_rechecks_silence() -> None:
    public = worker_public(doc("w1", ["script"], running=1), NOW, TIMING)
    assert public["status"] == "busy" and public["uptime"] == "2h 45m" and public["loadPercentage"] == 50
    assert public["healthStatus"]["status"] == "healthy"
    silent = worker_public(doc("w1", ["script"], silence=30), NOW, TIMING)
    assert (silent["status"], silent["healthStatus"]["status"]) == ("offline", "offline")


def test_orphaned_attempt_is_crashed_and_retried_when_attempts_remain() -> None:
    lost = LostIncarnation("w1", None, NOW, ("j1:1",), "no heartbeat")
    spec = JobSpec(kind="native", program="/bin/true", max_attempts=2).model_dump(mode="json")
    lease = {"_id": "j1:1", "job_id": "j1", "attempt": 1, "worker_id": "w1", "state": "running", "spec": spec}
    event = crashed(lease, lost, NOW)
    assert event is not None
    assert (event.outcome, event.disposition, event.attempt) == ("crashed", "retry", 1)
    assert event.spec is not None and event.retry_at is not None
    assert crashed(lease, lost, NOW).event_id == event.event_id  # deterministic: re-announcing dedupes
    last = crashed({**lease, "_id": "j1:2", "attempt": 2}, lost, NOW)
    assert last is not None and last.disposition == "dead_lettered" and last.spec is None
