"""A measure's values as a series the analysis can read: dates, floats and the baseline as a count of points.

The measure stores its baseline either as the first N points or as a date range; the
analysis wants a count of leading points, so a date range becomes the number of values
from the first one up to the range's end (values before ``baseline_from`` are not part of
any baseline the analysis can express, so the range must start at or before the first value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .analysis import RunChart, XmrChart, run_chart, xmr_chart
from .models import Measure, MeasureValue


@dataclass(frozen=True)
class Series:
    dates: list[date]
    values: list[float]
    notes: list[str]
    astronomical: list[bool]
    baseline: int | None
    target: float | None
    improvement: str | None
    follow_ups: list[str] = field(default_factory=list)  # per point: "6m"/"12m" if entered at a follow-up review

    def __len__(self) -> int:
        return len(self.values)


def baseline_count(measure: Measure, dates: list[date]) -> int | None:
    """How many leading points make the baseline, or None for "all of them"."""
    if measure.baseline_points:
        return min(measure.baseline_points, len(dates)) or None
    if measure.baseline_to:
        count = sum(1 for on in dates if on <= measure.baseline_to)
        return count or None
    return None


def series_of(measure: Measure, values: list[MeasureValue] | None = None) -> Series:
    """The measure's series in date order; pass ``values`` when they are already loaded."""
    rows = sorted(values if values is not None else measure.values.all(), key=lambda v: v.period)
    dates = [v.on for v in rows]
    return Series(
        dates=dates,
        values=[float(v.value) for v in rows],
        notes=[v.note for v in rows],
        astronomical=[v.astronomical for v in rows],
        baseline=baseline_count(measure, dates),
        target=float(measure.target) if measure.target is not None else None,
        improvement=measure.direction or None,
        follow_ups=[v.follow_up_kind for v in rows],
    )


def run_analysis(series: Series) -> RunChart | None:
    return run_chart(series.values, baseline=series.baseline) if series.values else None


def xmr_analysis(series: Series) -> XmrChart | None:
    if not series.values:
        return None
    return xmr_chart(series.values, improvement=series.improvement, baseline=series.baseline, target=series.target)
