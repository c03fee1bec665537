"""The slot plan, misfire policies and fire identity."""

from datetime import UTC, datetime

from services.scheduler.misfire import slots_to_fire
from services.scheduler.plan import SlotPlan
from shared.cron import parse
from shared.schedules import fire_event_id, fire_job_id

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def test_plan_hands_out_each_slot_once_per_schedule() -> None:
    # Given two every-second schedules and one every-5-seconds schedule
    plan = SlotPlan(horizon=T0)
    plan.add("a", parse("* * * * * *"))
    plan.add("b", parse("* * * * * *"))
    plan.add("c", parse("*/5 * * * * *"))
    # When the plan is asked twice for overlapping windows
    first = plan.due(T0 + 3)
    second = plan.due(T0 + 5)
    # Then each slot comes once, with all schedules due in it
    assert [(slot - T0, sorted(ids)) for slot, ids in first] == [(1, ["a", "b"]), (2, ["a", "b"]), (3, ["a", "b"])]
    assert [(slot - T0, sorted(ids)) for slot, ids in second] == [(4, ["a", "b"]), (5, ["a", "b", "c"])]
    assert plan.horizon == T0 + 5


def test_removed_schedule_no_longer_fires_and_readding_does_not_duplicate() -> None:
    plan = SlotPlan(horizon=T0)
    plan.add("a", parse("* * * * * *"))
    plan.remove("a")
    assert plan.due(T0 + 2) == []
    plan.add("a", parse("* * * * * *"))
    plan.add("a", parse("* * * * * *"))
    assert [ids for _, ids in plan.due(T0 + 4)] == [["a"], ["a"]]
    assert len(plan) == 1


def test_catch_up_fires_every_missed_slot_up_to_the_limit() -> None:
    cron = parse("* * * * * *")
    # Given the last fired slot 10 s ago, a 2 s grace and the plan at now + 1
    result = slots_to_fire(cron, "catch_up", 100, floor=T0 - 10, now=T0, horizon=T0 + 1, grace=2)
    assert result.slots == [T0 + s for s in range(-9, 2)]
    assert result.missed == 8 and not result.dropped
    bounded = slots_to_fire(cron, "catch_up", 3, floor=T0 - 10, now=T0, horizon=T0 + 1, grace=2)
    assert bounded.slots == [T0 - 4, T0 - 3, T0 - 2, T0 - 1, T0, T0 + 1]
    assert bounded.missed == 3 and bounded.dropped


def test_fire_once_fires_only_the_latest_missed_slot() -> None:
    cron = parse("* * * * * *")
    result = slots_to_fire(cron, "fire_once", 100, floor=T0 - 10, now=T0, horizon=T0, grace=2)
    assert result.slots == [T0 - 2, T0 - 1, T0]
    assert result.missed == 1 and result.dropped


def test_skip_fires_no_missed_slot() -> None:
    cron = parse("* * * * * *")
    result = slots_to_fire(cron, "skip", 100, floor=T0 - 10, now=T0, horizon=T0, grace=2)
    assert result.slots == [T0 - 1, T0]
    assert result.missed == 0 and result.dropped


def test_nothing_to_fire_when_the_floor_is_at_the_horizon() -> None:
    cron = parse("* * * * * *")
    assert slots_to_fire(cron, "catch_up", 100, floor=T0, now=T0, horizon=T0, grace=2).slots == []


def test_a_fire_has_a_stable_identity() -> None:
    job_id = fire_job_id("s1", T0 + 5)
    assert job_id == fire_job_id("s1", T0 + 5)
    assert job_id != fire_job_id("s1", T0 + 6) and job_id != fire_job_id("s2", T0 + 5)
    assert fire_event_id("s1", T0 + 5) == fire_event_id("s1", T0 + 5)
    # time-ordered like every other job id: the UUIDv7 prefix is the slot's milliseconds
    assert int(job_id.replace("-", "")[:12], 16) == int((T0 + 5) * 1000)
    assert job_id[14] == "7"


def test_cycle_detection_names_the_cycle() -> None:
    from services.api.dependencies import dependents, find_cycle

    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    cycle = find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert dependents({"a": [], "b": ["a"], "c": ["a", "b"]}, "a") == ["b", "c"]


def test_held_job_decisions() -> None:
    from services.scheduler.held import decide

    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    later = datetime(2026, 1, 1, 13, tzinfo=UTC)
    # waits for its time, then for its dependencies, and is released when all succeeded
    assert decide(now, later, {}).action == "wait"
    assert decide(later, later, {}).action == "release"
    assert decide(now, None, {"a": "succeeded", "b": "running"}).action == "wait"
    assert decide(now, None, {"a": "succeeded", "b": None}).action == "wait"
    assert decide(now, None, {"a": "succeeded", "b": "succeeded"}).action == "release"
    # a failed dependency fails it at once, even before its start time
    failed = decide(now, later, {"a": "succeeded", "b": "dead_lettered"})
    assert failed.action == "fail" and failed.reason == "upstream_failed: dependency b ended dead_lettered"
