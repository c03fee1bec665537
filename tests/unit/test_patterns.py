"""Pattern discovery reports a real difference and stays silent on noise."""

import random

from services.api.patterns import PatternRules, benjamini_hochberg, difference_text, discover, wilson_interval

RULES = PatternRules()


def count(jobs: list[tuple[set[tuple[str, str]], bool]]) -> tuple[dict, int, int]:
    counters: dict[str, dict[str, dict[str, int]]] = {}
    for features, succeeded in jobs:
        for feature, value in features:
            cell = counters.setdefault(feature, {}).setdefault(value, {"n": 0, "ok": 0})
            cell["n"] += 1
            cell["ok"] += int(succeeded)
    return counters, len(jobs), sum(1 for _, ok in jobs if ok)


def synthetic(rng: random.Random, planted: bool, jobs: int = 2000) -> list[tuple[set[tuple[str, str]], bool]]:
    out = []
    for _ in range(jobs):
        features = {
            ("worker", f"w{rng.randrange(4)}"),
            ("hour", f"{rng.randrange(24):02d}"),
            ("arg", rng.choice(["--fast", "--slow", "--safe", "-v", "-q"])),
            ("name", f"task-{rng.randrange(8)}"),
        }
        rate = 0.8
        if planted and ("arg", "--fast") in features:
            rate = 0.4
        out.append((features, rng.random() < rate))
    return out


def test_a_planted_pattern_is_found_with_its_interval() -> None:
    # Given jobs with the argument --fast succeeding 40% of the time against 80% for the rest
    counters, total, ok = count(synthetic(random.Random(7), planted=True))
    # When patterns are discovered
    found = discover(counters, total, ok, RULES)
    # Then --fast is reported first, its interval holds 0.4 and excludes the overall rate
    assert found and (found[0].feature, found[0].value) == ("arg", "--fast")
    low, high = found[0].interval
    assert low < 0.4 < high and high < ok / total
    assert found[0].adjusted_p_value < 1e-6


def test_pure_noise_is_rarely_called_a_pattern() -> None:
    # Given 100 data sets where nothing affects success (41 groups tested in each)
    reported = [discover(*count(synthetic(random.Random(seed), planted=False)), RULES) for seed in range(100)]
    # Then at most a few of them report anything: under pure noise, Benjamini-Hochberg at 5% reports
    # something in at most about 5% of data sets (untested, each of the 41 groups would be
    # significant at 5% about 2 times per data set)
    with_any = sum(1 for patterns in reported if patterns)
    assert with_any <= 10


def test_small_groups_are_not_tested() -> None:
    counters = {"arg": {"rare": {"n": 5, "ok": 0}}}
    assert discover(counters, 1000, 900, RULES) == []


def test_wilson_interval_and_adjustment() -> None:
    low, high = wilson_interval(8, 10)
    assert 0.49 < low < 0.5 and 0.94 < high < 0.95
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == [0.03, 0.04, 0.04]


def test_difference_is_relative_like_seed_001() -> None:
    assert difference_text(0.83, 0.72) == "+15%"
    assert difference_text(0.63, 0.72) == "-13%"
