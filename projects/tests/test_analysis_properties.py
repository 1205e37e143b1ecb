"""Property tests for projects.analysis: invariances a correct SPC implementation must keep.

Translation and scaling are tested on integer-valued series with integer constants, so every
value, sum and moving range is exact in floating point and only a single rounding (mean, limits)
can differ between the original and the transformed chart. That rounding can only flip a point
that sits exactly on a limit, so examples where a point is within a hair of a limit are discarded.
Ties with the mean are safe: a mean an integer can equal is itself an integer, hence exact.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from projects.analysis import XmrChart, run_chart, xmr_chart

SWAP = {"improvement": "concern", "concern": "improvement", "neutral": "neutral", None: None}

random_whole_values = st.lists(st.integers(min_value=-50, max_value=50).map(float), min_size=1, max_size=60)


@st.composite
def stepped_whole_values(draw: st.DrawFn) -> list[float]:
    """Noise plus a step and a ramp, so that most examples carry special causes worth preserving."""
    noise = draw(st.lists(st.integers(min_value=-5, max_value=5), min_size=12, max_size=60))
    at = draw(st.integers(min_value=0, max_value=len(noise)))
    step = draw(st.integers(min_value=-30, max_value=30))
    slope = draw(st.integers(min_value=-2, max_value=2))
    return [float(x + (step if i >= at else 0) + slope * i) for i, x in enumerate(noise)]


whole_values = st.one_of(random_whole_values, stepped_whole_values())
real_values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)
baselines = st.one_of(st.none(), st.integers(min_value=1, max_value=70))
directions = st.sampled_from(["up", "down", None])


@st.composite
def xmr_inputs(draw: st.DrawFn, values: st.SearchStrategy[list[float]] = whole_values) -> dict[str, object]:
    series = draw(values)
    rebase = draw(st.lists(st.integers(min_value=1, max_value=len(series) - 1), max_size=4)) if len(series) > 1 else []
    return {"values": series, "baseline": draw(baselines), "rebase": rebase}


def clear_of_limits(values: list[float], chart: XmrChart) -> bool:
    """True when no point sits so close to a limit that one rounding could put it on the other side."""
    for segment in chart.segments:
        if segment.amr == 0:  # every limit is the (exact) mean
            continue
        limits = (segment.lower, segment.upper, segment.lower_two_sigma, segment.upper_two_sigma)
        for x in values[segment.start : segment.end + 1]:
            if any(abs(x - limit) <= 1e-7 * (1 + abs(limit)) for limit in limits):
                return False
    return True


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(xmr_inputs(real_values))
def test_reversing_the_direction_swaps_improvement_and_concern(case: dict[str, object]) -> None:
    up = xmr_chart(**case, improvement="up")  # type: ignore[arg-type]
    down = xmr_chart(**case, improvement="down")  # type: ignore[arg-type]
    assert down.signals == [SWAP[s] for s in up.signals]
    assert down.variation == SWAP.get(up.variation, up.variation)
    assert up.segments == down.segments


@settings(max_examples=200, deadline=None)
@given(xmr_inputs(real_values), directions)
def test_one_signal_per_value_and_segments_cover_the_series(case: dict[str, object], improvement: str | None) -> None:
    chart = xmr_chart(**case, improvement=improvement)  # type: ignore[arg-type]
    values: list[float] = case["values"]  # type: ignore[assignment]
    assert len(chart.signals) == len(values)
    assert chart.segments[0].start == 0 and chart.segments[-1].end == len(values) - 1
    for left, right in zip(chart.segments, chart.segments[1:], strict=False):
        assert right.start == left.end + 1
    assert [s.start for s in chart.segments[1:]] == sorted(set(case["rebase"]))  # type: ignore[call-overload]
    assert all(s.lower <= s.lower_two_sigma <= s.mean <= s.upper_two_sigma <= s.upper for s in chart.segments)


@settings(max_examples=200, deadline=None)
@given(xmr_inputs(real_values))
def test_no_direction_means_only_neutral_signals(case: dict[str, object]) -> None:
    chart = xmr_chart(**case, improvement=None)  # type: ignore[arg-type]
    assert set(chart.signals) <= {None, "neutral"}
    assert chart.variation in {"common cause", "neutral"}
    assert chart.assurance is None


@settings(max_examples=200, deadline=None)
@given(xmr_inputs(), directions, st.integers(min_value=-1000, max_value=1000))
def test_adding_a_constant_moves_the_chart_and_keeps_every_signal(
    case: dict[str, object], improvement: str | None, shift: int
) -> None:
    values: list[float] = case["values"]  # type: ignore[assignment]
    before = xmr_chart(**case, improvement=improvement)  # type: ignore[arg-type]
    assume(clear_of_limits(values, before))
    moved = [x + shift for x in values]
    after = xmr_chart(**{**case, "values": moved}, improvement=improvement)  # type: ignore[arg-type]

    assert after.signals == before.signals
    for old, new in zip(before.segments, after.segments, strict=True):
        assert (new.start, new.end, new.trial) == (old.start, old.end, old.trial)
        assert new.amr == old.amr  # the moving ranges are exactly the same numbers
        for field in ("mean", "lower", "upper", "lower_two_sigma", "upper_two_sigma"):
            assert close(getattr(new, field), getattr(old, field) + shift)

    run_before = run_chart(values, baseline=case["baseline"])  # type: ignore[arg-type]
    run_after = run_chart(moved, baseline=case["baseline"])  # type: ignore[arg-type]
    assert run_after.centre == run_before.centre + shift  # medians of integers are exact
    assert (run_after.useful, run_after.runs, run_after.runs_signal) == (
        run_before.useful,
        run_before.runs,
        run_before.runs_signal,
    )
    assert (run_after.shifts, run_after.trends) == (run_before.shifts, run_before.trends)


@settings(max_examples=200, deadline=None)
@given(xmr_inputs(), directions, st.integers(min_value=1, max_value=1000))
def test_multiplying_by_a_positive_constant_keeps_every_signal(
    case: dict[str, object], improvement: str | None, factor: int
) -> None:
    values: list[float] = case["values"]  # type: ignore[assignment]
    before = xmr_chart(**case, improvement=improvement)  # type: ignore[arg-type]
    assume(clear_of_limits(values, before))
    scaled = [x * factor for x in values]
    after = xmr_chart(**{**case, "values": scaled}, improvement=improvement)  # type: ignore[arg-type]

    assert after.signals == before.signals
    for old, new in zip(before.segments, after.segments, strict=True):
        for field in ("mean", "amr", "lower", "upper"):
            assert close(getattr(new, field), getattr(old, field) * factor)

    run_before = run_chart(values, baseline=case["baseline"])  # type: ignore[arg-type]
    run_after = run_chart(scaled, baseline=case["baseline"])  # type: ignore[arg-type]
    assert run_after.centre == run_before.centre * factor
    assert (run_after.shifts, run_after.trends, run_after.runs_signal) == (
        run_before.shifts,
        run_before.trends,
        run_before.runs_signal,
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(whole_values, real_values))
def test_reversing_a_run_chart_mirrors_shifts_and_trends(values: list[float]) -> None:
    last = len(values) - 1
    forward = run_chart(values)
    backward = run_chart(values[::-1])
    assert backward.centre == forward.centre
    assert (backward.useful, backward.runs, backward.runs_signal) == (forward.useful, forward.runs, forward.runs_signal)
    assert sorted(backward.shifts) == sorted((last - end, last - start) for start, end in forward.shifts)
    assert sorted(backward.trends) == sorted((last - end, last - start) for start, end in forward.trends)


@settings(max_examples=200, deadline=None)
@given(st.one_of(whole_values, real_values), baselines)
def test_run_chart_counts_are_consistent(values: list[float], baseline: int | None) -> None:
    chart = run_chart(values, baseline=baseline)
    off_centre = [x for x in values if x != chart.centre]
    assert chart.useful == len(off_centre)
    sides = [x > chart.centre for x in off_centre]
    assert chart.runs == (1 + sum(a != b for a, b in zip(sides, sides[1:], strict=False)) if sides else 0)
    if chart.useful < 10 or chart.useful > 40:
        assert chart.runs_signal is None
    for start, end in chart.shifts:
        stretch = [x for x in values[start : end + 1] if x != chart.centre]
        assert len(stretch) >= 6
        assert all(x > chart.centre for x in stretch) or all(x < chart.centre for x in stretch)
