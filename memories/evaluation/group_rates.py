"""Rates per demographic group with bootstrap confidence intervals: the arithmetic of
`memories eval fairness`, shared by its parts (pure functions over arrays).

A rate is the mean of per-item values (1/0 for "detected", "kept"; any number for a mean score).
Its 95 % interval is the 2.5th and 97.5th percentiles of the means of `BOOTSTRAP_REPS` resamples
of the items with replacement (a fixed seed, so a report is the same on every run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_REPS = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class GroupRate:
    """One row of a fairness table."""

    attribute: str  # what the groups split by: "skin", "gender", "age", "race x gender", ...
    group: str
    count: int  # items (faces, pairs) measured
    rate: float
    low: float  # bootstrap interval
    high: float

    def as_dict(self) -> dict[str, object]:
        return {
            "attribute": self.attribute,
            "group": self.group,
            "count": self.count,
            "rate": round(self.rate, 4),
            "ci95": [round(self.low, 4), round(self.high, 4)],
        }


def bootstrap_mean(values: Sequence[float] | np.ndarray, reps: int = BOOTSTRAP_REPS, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of the values with a percentile bootstrap interval."""
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    if not len(data):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(reps, len(data)))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    return float(data.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def rates_by_group(
    attribute: str, groups: Sequence[str], values: Sequence[float] | np.ndarray, order: Sequence[str] | None = None
) -> list[GroupRate]:
    """One GroupRate per group (in `order` when given, else sorted), from per-item values."""
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    labels = np.asarray(groups, dtype=object).reshape(-1)
    names = [g for g in (order or sorted(set(labels.tolist()))) if np.any(labels == g)]
    rows = []
    for name in names:
        chosen = data[labels == name]
        rate, low, high = bootstrap_mean(chosen)
        rows.append(GroupRate(attribute, str(name), int(len(chosen)), rate, low, high))
    return rows


def largest_gap(rows: Sequence[GroupRate]) -> float:
    """The largest difference of rates between two groups of the rows."""
    rates = [r.rate for r in rows if np.isfinite(r.rate)]
    return float(max(rates) - min(rates)) if len(rates) > 1 else 0.0


def format_table(title: str, rows: Sequence[GroupRate], percent: bool = True) -> str:
    """A plain-text table: group, n, rate and interval (in percent for rates)."""
    if not rows:
        return f"{title}\n  (no data)"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    width = max(len(r.group) for r in rows)
    lines = [title]
    for row in rows:
        lines.append(
            f"  {row.group:<{width}}  n={row.count:<6d} {row.rate * scale:7.2f}{unit}  "
            f"[{row.low * scale:.2f}, {row.high * scale:.2f}]"
        )
    gap = largest_gap(rows) * scale
    lines.append(f"  largest gap: {gap:.2f}{' points' if percent else ''}")
    return "\n".join(lines)
