"""Which job changes add a `schedule_runs` record (pure)."""

from services.analytics.projections import Change
from services.analytics.schedule_runs import run_records


def runs_for(*changes: Change) -> list[dict]:
    return run_records(changes)


def test_a_new_scheduled_job_is_recorded_under_its_schedule() -> None:
    change = Change(None, {"_id": "j1", "labels": {"schedule_id": "nightly"}, "status": "queued"})
    assert runs_for(change) == [{"_id": "j1", "schedule_id": "nightly"}]


def test_ad_hoc_jobs_and_jobs_already_recorded_add_nothing() -> None:
    ad_hoc = Change(None, {"_id": "j2", "labels": {}, "status": "queued"})
    known = Change({"_id": "j3", "labels": {"schedule_id": "s"}}, {"_id": "j3", "labels": {"schedule_id": "s"}})
    assert runs_for(ad_hoc, known) == []


def test_a_job_whose_request_arrives_after_its_start_is_recorded_when_the_label_appears() -> None:
    started_first = Change({"_id": "j4", "status": "running"}, {"_id": "j4", "labels": {"schedule_id": "s"}})
    assert runs_for(started_first) == [{"_id": "j4", "schedule_id": "s"}]
