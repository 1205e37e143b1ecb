"""Statistical process control for improvement projects: run charts and XmR charts.

Pure Python on purpose: the web app, the workbook exports and the tests all call the same code,
and none of them should need numpy or Django to tell a signal from noise.

Both functions make a fixed number of linear passes over the series, so a 10,000-point series
costs milliseconds; the only step that is not linear is the median's sort, which runs in C.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RunChart", "Segment", "XmrChart", "run_chart", "xmr_chart"]

# --- Run chart rules (IHI; Perla, Provost & Murray, BMJ Qual Saf 2011;20:46-51) -------------------

SHIFT_LENGTH = 6  # values on one side of the median, values on the median skipped
TREND_LENGTH = 5  # values all going up or all going down, equal neighbours counted once

# Table 1 of Perla, Provost & Murray 2011, "Tests for number of runs above and below the median":
# useful observations (points not on the median) -> (lower limit, upper limit).
# The limits are EXCLUSIVE, as the paper's column headings say: fewer runs than the lower limit is
# "too few", more runs than the upper limit is "too many"; a count equal to either limit is fine.
#
# Where the numbers came from:
# 1. The printed table could not be consulted directly. The one published copy found is a
#    transcription of rows 10-40 in a public JavaScript run-chart implementation ("Published limits
#    for the number of runs ... Swed and Eisenhart, as tabulated for run charts by Perla, Provost and
#    Murray"), reproduced here row for row.
# 2. Cross-check against the table's stated origin, the exact distribution of the number of runs
#    (Swed & Eisenhart, Ann Math Statist 1943;14:66-87) with the useful points split evenly above
#    and below the median (n1 = n // 2, n2 = n - n1): at 17 of the 31 rows the transcription equals
#    the exact 2.5%-per-tail limits, and at the other 14 it is one run wider on one or both sides
#    (never narrower), so every row keeps the false-signal risk at or below 3.7%, consistent with
#    the paper's "about 5%". Reading the limits as inclusive instead would push 21 of the 31 rows
#    above 5%, which is why the comparison below is strict.
# 3. Kevin Little's note on this table (iecodesign.com, "n/3 Approximation for Too Few Runs", 2019)
#    confirms the reading of the lower limit: "fewer than the value shown in column two" is the signal.
# Rows above 40 are not used: no published copy of them was found, so no runs signal is given there.
RUNS_LIMITS: dict[int, tuple[int, int]] = {
    10: (3, 9), 11: (3, 10), 12: (3, 11), 13: (4, 11), 14: (4, 12),
    15: (5, 12), 16: (5, 13), 17: (5, 13), 18: (6, 14), 19: (6, 15),
    20: (6, 16), 21: (7, 16), 22: (7, 17), 23: (7, 17), 24: (8, 18),
    25: (8, 18), 26: (9, 19), 27: (9, 20), 28: (10, 20), 29: (10, 21),
    30: (11, 22), 31: (11, 22), 32: (11, 23), 33: (11, 24), 34: (12, 24),
    35: (12, 25), 36: (13, 25), 37: (13, 26), 38: (14, 26), 39: (14, 27),
    40: (15, 27),
}  # fmt: skip

# --- XmR chart rules (NHS England "Making Data Count") --------------------------------------------

LIMIT_FACTOR = 2.66  # 3 / d2 for moving ranges of two points
TWO_SIGMA_FACTOR = LIMIT_FACTOR * 2 / 3
RUN_LENGTH = 7  # points on one side of the mean
XMR_TREND_LENGTH = 7  # points all rising or all falling (6 consecutive increases)
MIN_POINTS_FOR_FIRM_LIMITS = 12

IMPROVEMENT = "improvement"
CONCERN = "concern"
NEUTRAL = "neutral"
COMMON_CAUSE = "common cause"


@dataclass(frozen=True)
class RunChart:
    centre: float
    baseline: int | None
    useful: int
    runs: int
    shifts: list[tuple[int, int]]
    trends: list[tuple[int, int]]
    runs_signal: str | None


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    mean: float
    amr: float
    lower: float
    upper: float
    lower_two_sigma: float
    upper_two_sigma: float
    trial: bool


@dataclass(frozen=True)
class XmrChart:
    segments: list[Segment]
    mean: float
    amr: float
    lower: float
    upper: float
    signals: list[str | None]
    variation: str
    assurance: str | None


# --- Input checks ---------------------------------------------------------------------------------


def _checked_values(values: Sequence[float]) -> list[float]:
    """Reject what would otherwise surface later as a nonsense centre line."""
    if len(values) == 0:
        raise ValueError("The series is empty: at least one value is needed.")
    series = [float(v) for v in values]
    for index, value in enumerate(series):
        if not math.isfinite(value):
            raise ValueError(f"Value {index} is not a finite number ({value}).")
    return series


def _checked_baseline(baseline: int | None, length: int) -> int | None:
    """A baseline longer than the series means "all of it", so clamp rather than refuse."""
    if baseline is None:
        return None
    if isinstance(baseline, bool) or not isinstance(baseline, int):
        raise ValueError("The baseline must be a whole number of points.")
    if baseline < 1:
        raise ValueError("The baseline must be at least 1 point.")
    return min(baseline, length)


# --- Run chart ------------------------------------------------------------------------------------


def run_chart(values: Sequence[float], *, baseline: int | None = None) -> RunChart:
    """Apply the IHI run chart rules against the median of the series (or of its baseline).

    The runs rule uses Table 1 of Perla, Provost & Murray (2011) for 10 to 40 useful values (values
    not on the median). With fewer than 10 useful values the table says nothing, and above 40 no
    published copy of the table was available to check, so ``runs_signal`` is None in both cases;
    shifts and trends are reported at any length.
    """
    series = _checked_values(values)
    used = _checked_baseline(baseline, len(series))
    centre = statistics.median(series[:used] if used is not None else series)

    sides = [(index, 1 if value > centre else -1) for index, value in enumerate(series) if value != centre]
    runs = 0
    shifts: list[tuple[int, int]] = []
    k = 0
    while k < len(sides):
        end = k
        while end + 1 < len(sides) and sides[end + 1][1] == sides[k][1]:
            end += 1
        runs += 1
        if end - k + 1 >= SHIFT_LENGTH:
            shifts.append((sides[k][0], sides[end][0]))
        k = end + 1

    return RunChart(
        centre=centre,
        baseline=used,
        useful=len(sides),
        runs=runs,
        shifts=shifts,
        trends=_run_chart_trends(series),
        runs_signal=_runs_signal(len(sides), runs),
    )


def _runs_signal(useful: int, runs: int) -> str | None:
    limits = RUNS_LIMITS.get(useful)
    if limits is None:
        return None
    lower, upper = limits
    if runs < lower:
        return "too few"
    if runs > upper:
        return "too many"
    return None


def _run_chart_trends(series: list[float]) -> list[tuple[int, int]]:
    """Find trends on the series with equal neighbours merged, because a repeat is no evidence either way.

    A group of equal neighbours at either end of a trend belongs to it, so a trend's span runs from
    the first index of its first value to the last index of its last value; that keeps the spans
    mirror-symmetric when the series is reversed.
    """
    groups: list[tuple[float, int, int]] = []  # (value, first index, last index)
    for index, value in enumerate(series):
        if groups and groups[-1][0] == value:
            groups[-1] = (value, groups[-1][1], index)
        else:
            groups.append((value, index, index))

    trends: list[tuple[int, int]] = []
    g = 1
    while g < len(groups):
        rising = groups[g][0] > groups[g - 1][0]
        last = g
        while last + 1 < len(groups) and (groups[last + 1][0] > groups[last][0]) == rising:
            last += 1
        if last - g + 2 >= TREND_LENGTH:  # the steps g..last join groups g-1..last
            trends.append((groups[g - 1][1], groups[last][2]))
        g = last + 1
    return trends


# --- XmR chart ------------------------------------------------------------------------------------


def xmr_chart(
    values: Sequence[float],
    *,
    improvement: str | None = None,
    baseline: int | None = None,
    target: float | None = None,
    rebase: Sequence[int] = (),
) -> XmrChart:
    """Build an XmR chart with the Making Data Count special-cause rules, one segment per rebase.

    Rules never look across a rebase: each segment is judged only against its own limits, because a
    rebase says the process itself changed there.
    """
    series = _checked_values(values)
    if improvement not in ("up", "down", None):
        raise ValueError('improvement must be "up", "down" or None.')
    if target is not None and not math.isfinite(target):
        raise ValueError("The target must be a finite number.")
    used = _checked_baseline(baseline, len(series))
    starts = _checked_rebase(rebase, len(series))

    bounds = [*starts, len(series)]
    segments: list[Segment] = []
    signals: list[str | None] = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        segment = _segment(series, start, stop, used)
        segments.append(segment)
        signals.extend(_segment_signals(series[start:stop], segment, improvement))

    last = segments[-1]
    latest = signals[-1]
    return XmrChart(
        segments=segments,
        mean=last.mean,
        amr=last.amr,
        lower=last.lower,
        upper=last.upper,
        signals=signals,
        variation=latest if latest is not None else COMMON_CAUSE,
        assurance=_assurance(last, improvement, target),
    )


def _checked_rebase(rebase: Sequence[int], length: int) -> list[int]:
    """Return the segment starts; a rebase at 0 or past the end would make an empty segment."""
    points: set[int] = set()
    for point in rebase:
        if isinstance(point, bool) or not isinstance(point, int):
            raise ValueError(f"Rebase point {point!r} is not a whole-number index.")
        if not 1 <= point <= length - 1:
            raise ValueError(f"Rebase point {point} is outside the series: it must be between 1 and {length - 1}.")
        points.add(point)
    return [0, *sorted(points)]


def _segment(series: list[float], start: int, stop: int, baseline: int | None) -> Segment:
    count = stop - start if baseline is None else min(baseline, stop - start)
    base = series[start : start + count]
    mean = math.fsum(base) / count
    amr = math.fsum(abs(b - a) for a, b in zip(base, base[1:], strict=False)) / (count - 1) if count > 1 else 0.0
    return Segment(
        start=start,
        end=stop - 1,
        mean=mean,
        amr=amr,
        lower=mean - LIMIT_FACTOR * amr,
        upper=mean + LIMIT_FACTOR * amr,
        lower_two_sigma=mean - TWO_SIGMA_FACTOR * amr,
        upper_two_sigma=mean + TWO_SIGMA_FACTOR * amr,
        trial=count < MIN_POINTS_FOR_FIRM_LIMITS,
    )


def _segment_signals(points: list[float], seg: Segment, improvement: str | None) -> list[str | None]:
    """Label one segment's points; side rules (1, 2, 4) outrank the trend rule (3).

    Side rules decide first because a point's side is unambiguous, while a point where a rising
    trend turns into a falling one belongs to two trends; it is given the trend it completes (the
    earlier one). Both choices ignore which direction is "better", so reversing ``improvement``
    swaps improvement and concern exactly.
    """
    n = len(points)
    side = [1 if x > seg.mean else -1 if x < seg.mean else 0 for x in points]
    side_flag = [False] * n

    # Rule 1: outside the process limits.
    for i, x in enumerate(points):
        if x > seg.upper or x < seg.lower:
            side_flag[i] = True

    # Rule 2: a run of RUN_LENGTH or more on one side; a point on the mean breaks it.
    i = 0
    while i < n:
        end = i
        while end + 1 < n and side[end + 1] == side[i]:
            end += 1
        if side[i] != 0 and end - i + 1 >= RUN_LENGTH:
            for j in range(i, end + 1):
                side_flag[j] = True
        i = end + 1

    # Rule 4: two of three consecutive points beyond two sigma, all three on the same side.
    beyond = [x > seg.upper_two_sigma or x < seg.lower_two_sigma for x in points]
    for i in range(n - 2):
        if side[i] != 0 and side[i] == side[i + 1] == side[i + 2] and beyond[i] + beyond[i + 1] + beyond[i + 2] >= 2:
            for j in (i, i + 1, i + 2):
                if beyond[j]:
                    side_flag[j] = True

    # Rule 3: XMR_TREND_LENGTH or more points all rising or all falling; a tie breaks the trend.
    trend = [0] * n
    i = 1
    while i < n:
        step = _sign(points[i] - points[i - 1])
        last = i
        while step != 0 and last + 1 < n and _sign(points[last + 1] - points[last]) == step:
            last += 1
        if step != 0 and last - i + 2 >= XMR_TREND_LENGTH:  # the steps i..last join points i-1..last
            for j in range(i - 1, last + 1):
                if trend[j] == 0:  # a turning point keeps the trend it completes
                    trend[j] = step
        i = last + 1

    labels: list[str | None] = []
    for i in range(n):
        direction = side[i] if side_flag[i] else trend[i]
        labels.append(_label(direction, improvement))
    return labels


def _sign(difference: float) -> int:
    return 1 if difference > 0 else -1 if difference < 0 else 0


def _label(direction: int, improvement: str | None) -> str | None:
    if direction == 0:
        return None
    if improvement is None:
        return NEUTRAL
    good = 1 if improvement == "up" else -1
    return IMPROVEMENT if direction == good else CONCERN


def _assurance(seg: Segment, improvement: str | None, target: float | None) -> str | None:
    """Compare the target with the range the process will produce, not with the latest point."""
    if target is None or improvement is None:
        return None
    if improvement == "up":
        if seg.lower >= target:
            return "pass"
        if seg.upper < target:
            return "fail"
    else:
        if seg.upper <= target:
            return "pass"
        if seg.lower > target:
            return "fail"
    return "hit and miss"
