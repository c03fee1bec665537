"""Pattern discovery over the per-feature success counters (pure).

A pattern is a feature value (job name shape, an argument, the argument count, a duration bucket,
the hour, the worker, ...). Each is tested against all other finished jobs with a two-proportion
z-test; p-values are adjusted for the number of patterns tested (Benjamini-Hochberg), and a pattern
is reported only with enough jobs on both sides, an adjusted p-value under `alpha` and a difference
of at least `min_difference`. So the noise of many small groups is not called a pattern.

scipy/statsmodels are not used: the normal tail is `math.erfc` and the Wilson interval is a formula,
and neither would be worth a 40 MB dependency in the API image.
"""

import math
from dataclasses import dataclass
from typing import Any

from shared.stats_keys import decode_field

Z95 = 1.959963984540054


@dataclass(frozen=True)
class PatternRules:
    min_support: int = 20
    alpha: float = 0.05
    min_difference: float = 0.05
    limit: int = 20


@dataclass(frozen=True)
class Pattern:
    feature: str
    value: str
    match_count: int
    successes: int
    success_rate: float
    rest_rate: float
    z: float
    p_value: float
    adjusted_p_value: float
    interval: tuple[float, float]


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_z(ok_a: int, n_a: int, ok_b: int, n_b: int) -> tuple[float, float]:
    """(z, two-sided p-value) for rate a != rate b, with the pooled standard error."""
    pooled = (ok_a + ok_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return 0.0, 1.0
    z = (ok_a / n_a - ok_b / n_b) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Adjusted p-values (q-values) controlling the false discovery rate."""
    count = len(p_values)
    order = sorted(range(count), key=lambda index: p_values[index])
    adjusted = [1.0] * count
    running = 1.0
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * count / rank)
        adjusted[index] = running
    return adjusted


def discover(
    counters: dict[str, dict[str, dict[str, int]]], total: int, successes: int, rules: PatternRules
) -> list[Pattern]:
    """`counters`: feature -> value -> {"n", "ok"}; `total`/`successes` over the same finished jobs."""
    candidates: list[tuple[str, str, int, int, float, float]] = []
    for feature, values in counters.items():
        for value, counts in values.items():
            n, ok = counts.get("n", 0), counts.get("ok", 0)
            rest_n, rest_ok = total - n, successes - ok
            if n < rules.min_support or rest_n < rules.min_support:
                continue
            z, p = two_proportion_z(ok, n, rest_ok, rest_n)
            candidates.append((feature, value, n, ok, z, p))
    adjusted = benjamini_hochberg([candidate[5] for candidate in candidates])
    overall = successes / total if total else 0.0
    found = []
    for (feature, value, n, ok, z, p), q in zip(candidates, adjusted, strict=True):
        rate = ok / n
        if q > rules.alpha or abs(rate - overall) < rules.min_difference:
            continue
        rest_rate = (successes - ok) / (total - n)
        found.append(Pattern(feature, value, n, ok, rate, rest_rate, z, p, q, wilson_interval(ok, n)))
    found.sort(key=lambda pattern: (pattern.adjusted_p_value, -abs(pattern.success_rate - overall)))
    return found[: rules.limit]


def counters_from_documents(documents: list[dict[str, Any]], prefix: str) -> dict[str, dict[str, dict[str, int]]]:
    """`pat:<feature>` stats documents -> feature -> value -> counts."""
    counters: dict[str, dict[str, dict[str, int]]] = {}
    for document in documents:
        feature = document["_id"][len(prefix) :]
        counters[feature] = {decode_field(value): counts for value, counts in (document.get("v") or {}).items()}
    return counters


def difference_text(rate: float, overall: float) -> str:
    """Seed 001's `differenceFromAverage`: the relative difference, e.g. 0.83 vs 0.72 -> "+15%"."""
    if overall == 0:
        return f"{_half_away((rate - overall) * 100):+d}pp"
    return f"{_half_away((rate - overall) / overall * 100):+d}%"


def _half_away(value: float) -> int:
    """Round half away from zero, as the seed's JavaScript-era figures do (-12.5 -> -13)."""
    return int(math.copysign(math.floor(abs(value) + 0.5 + 1e-9), value))
