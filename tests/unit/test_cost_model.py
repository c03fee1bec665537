"""Seed 000's cost model: duration and average CPU priced linearly, memory above 1 GB free billed per
started 256 MB."""

import pytest

from shared.cost import MB, CostSettings, attempt_cost, memory_units

DEFAULTS = CostSettings()


@pytest.mark.parametrize(
    ("peak_mb", "units"),
    [(0, 0), (512, 0), (1024, 0), (1025, 1), (1280, 1), (1281, 2), (1300, 2), (2048, 4), (2049, 5)],
)
def test_memory_is_free_up_to_1gb_then_billed_per_started_256mb(peak_mb: float, units: int) -> None:
    assert memory_units(int(peak_mb * MB), DEFAULTS) == units


def test_worked_example_small_job_pays_only_duration_and_cpu() -> None:
    # Given a 2 s job at 50% average CPU that peaked at 512 MB
    units = memory_units(512 * MB, DEFAULTS)
    # Then it costs 2 * $0.05 + 50 * $0.01 = $0.60
    assert attempt_cost(2000, 50, units, DEFAULTS) == pytest.approx(0.60)


def test_worked_example_job_above_the_free_gigabyte() -> None:
    # Given a 10 s job at 10% CPU peaking at 1300 MB: 276 MB above the free 1024 MB = 2 started units
    units = memory_units(1300 * MB, DEFAULTS)
    # Then it costs 10 * $0.05 + 10 * $0.01 + 2 * $0.10 = $0.80
    assert units == 2
    assert attempt_cost(10_000, 10, units, DEFAULTS) == pytest.approx(0.80)


def test_prices_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COST_DURATION_SECOND_PRICE", "1")
    monkeypatch.setenv("COST_FREE_MEMORY_MB", "0")
    monkeypatch.setenv("COST_MEMORY_UNIT_MB", "100")
    settings = CostSettings()
    assert memory_units(250 * MB, settings) == 3
    assert attempt_cost(3000, 0, 0, settings) == pytest.approx(3.0)
