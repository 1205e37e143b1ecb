"""Hand-worked cases for projects.analysis: every rule, at and either side of its edge.

Each case shows its working in a comment so a reader can check the expectation without running it.
"""

from __future__ import annotations

import math

import pytest

from projects.analysis import RUNS_LIMITS, run_chart, xmr_chart


def pattern(text: str) -> list[float]:
    """L is a value below the median (0), H one above it (10); equal counts put the median at 5."""
    return [0.0 if c == "L" else 10.0 for c in text]


# A stable baseline used by most XmR cases: 12, 10 repeated six times.
# mean = 132 / 12 = 11, every moving range is 2 so amr = 22 / 11 = 2,
# limits 11 -/+ 2.66 * 2 = 5.68 .. 16.32, two sigma 11 -/+ 1.7733 * 2 = 7.4533 .. 14.5467.
BASE = [12.0, 10.0] * 6


# --- Run chart: centre, useful values, shifts -----------------------------------------------------


def test_value_on_the_median_is_skipped_in_a_shift_and_not_useful() -> None:
    # Sorted: 1 1 2 2 3 4 5 6 7 8 9 10 11 -> 13 values, median is the 7th = 5 (index 3 sits on it).
    # Above: indices 0 1 2 4 5 6 (6, 7, 8, 9, 10, 11) -> six, the on-median point neither breaks
    # nor counts, so the shift runs from index 0 to index 6. Below: indices 7..12 -> six.
    chart = run_chart([6, 7, 8, 5, 9, 10, 11, 1, 2, 3, 4, 1, 2])
    assert chart.centre == 5
    assert chart.useful == 12
    assert chart.runs == 2
    assert chart.shifts == [(0, 6), (7, 12)]
    assert chart.trends == []  # longest monotone stretches are 5,9,10,11 and 1,2,3,4: four values


def test_five_plus_a_point_on_the_median_is_not_a_shift() -> None:
    # Sorted 0..10 -> median 5 at index 3. Above: 6 7 8 9 10 (five values); below: 1 2 3 4 0 (five).
    # The on-median point does not add a sixth. 10 useful values in 2 runs -> fewer than 3: too few.
    chart = run_chart([6, 7, 8, 5, 9, 10, 1, 2, 3, 4, 0])
    assert chart.useful == 10
    assert chart.shifts == []
    assert chart.runs == 2
    assert chart.runs_signal == "too few"


def test_six_on_one_side_is_a_shift() -> None:
    # Six 1s then six 9s: median (1 + 9) / 2 = 5, six below (0..5) and six above (6..11).
    chart = run_chart([1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9])
    assert chart.shifts == [(0, 5), (6, 11)]
    assert chart.trends == []  # equal neighbours merge: 1 -> 9 is a single step


def test_five_on_one_side_is_not_a_shift() -> None:
    # Six 1s and six 9s again (median 5), arranged H L L L L L H H H H H L: longest run is five.
    chart = run_chart([9, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 1])
    assert chart.shifts == []
    assert chart.runs == 4


def test_all_values_equal_gives_no_useful_values() -> None:
    chart = run_chart([3, 3, 3, 3])
    assert (chart.centre, chart.useful, chart.runs) == (3, 0, 0)
    assert chart.shifts == [] and chart.trends == [] and chart.runs_signal is None


# --- Run chart: trends ----------------------------------------------------------------------------


def test_five_rising_is_a_trend() -> None:
    # 5 4 5 4 | 1 2 3 4 5 | 4 5 4: the stretch 1 2 3 4 5 (indices 4..8) is five rising values; the
    # falling stretch before it (5 4 1, indices 2..4) has only three.
    chart = run_chart([5, 4, 5, 4, 1, 2, 3, 4, 5, 4, 5, 4])
    assert chart.trends == [(4, 8)]


def test_four_rising_is_not_a_trend() -> None:
    # 1 2 3 4 (indices 3..6) is four values.
    assert run_chart([5, 4, 5, 1, 2, 3, 4, 3, 4, 3, 4, 3]).trends == []


def test_equal_neighbours_are_counted_once_and_do_not_break_a_trend() -> None:
    # The spec's own example: 1 2 2 3 4 5 counts as 1 2 3 4 5, a trend of five from index 0 to 5.
    assert run_chart([1, 2, 2, 3, 4, 5]).trends == [(0, 5)]


def test_equal_neighbours_do_not_make_a_trend() -> None:
    # 1 2 2 2 3 4 counts as 1 2 3 4: four values, however many repeats sit in the middle.
    assert run_chart([1, 2, 2, 2, 3, 4]).trends == []


def test_a_repeat_at_the_start_of_a_trend_belongs_to_it() -> None:
    # 1 1 2 3 4 5: five distinct values; the span covers both 1s (indices 0..5).
    assert run_chart([1, 1, 2, 3, 4, 5]).trends == [(0, 5)]


def test_rising_then_falling_gives_two_maximal_trends_sharing_the_peak() -> None:
    # 1 2 3 4 5 rises (0..4) and 5 4 3 2 1 falls (4..8); each is reported once, at its full length.
    assert run_chart([1, 2, 3, 4, 5, 4, 3, 2, 1]).trends == [(0, 4), (4, 8)]


def test_falling_trend() -> None:
    # 9 8 7 6 5 falls through five values at indices 1..5.
    assert run_chart([1, 9, 8, 7, 6, 5, 7]).trends == [(1, 5)]


# --- Run chart: runs against Perla, Provost & Murray Table 1 -------------------------------------


def test_table_rows_used_are_the_transcribed_ones() -> None:
    assert RUNS_LIMITS[10] == (3, 9)
    assert RUNS_LIMITS[20] == (6, 16)
    assert RUNS_LIMITS[40] == (15, 27)
    assert min(RUNS_LIMITS) == 10 and max(RUNS_LIMITS) == 40


@pytest.mark.parametrize(
    ("text", "runs", "signal"),
    [
        # Row n = 10: lower 3, upper 9, both exclusive.
        ("LLLLLHHHHH", 2, "too few"),  # 2 < 3
        ("LLLLHHHHHL", 3, None),  # 3 is the lower limit itself: not too few
        ("LHLHLHLHHL", 9, None),  # 9 is the upper limit itself: not too many
        ("LHLHLHLHLH", 10, "too many"),  # 10 > 9
        # Row n = 20: lower 6, upper 16.
        ("LLLHHHHLLLLHHHHHHLLL", 5, "too few"),  # runs L3 H4 L4 H6 L3; 5 < 6
        ("LLLHHHHLLLLHHHHHLLLH", 6, None),  # runs L3 H4 L4 H5 L3 H1
        ("LLHLHHLHLHLHLHLLHLHH", 16, None),
        ("LHHLHLHLHLLHLHLHLHHL", 17, "too many"),  # 17 > 16
    ],
)
def test_runs_signal_at_table_boundaries(text: str, runs: int, signal: str | None) -> None:
    assert text.count("L") == text.count("H")  # so the median is 5 and every value is useful
    chart = run_chart(pattern(text))
    assert (chart.centre, chart.useful, chart.runs) == (5, len(text), runs)
    assert chart.runs_signal == signal


def test_runs_rule_is_not_applied_below_ten_useful_values() -> None:
    # 0 10 0 10 0 10 0 10 plus two 5s: sorted 0 0 0 0 5 5 10 10 10 10 10... median is 5, leaving 9
    # useful values in 9 runs. Perfect alternation, but the table starts at 10.
    chart = run_chart([10, 0, 10, 0, 10, 0, 10, 0, 10, 5, 5])
    assert (chart.useful, chart.runs) == (9, 9)
    assert chart.runs_signal is None


def test_ten_useful_values_with_a_point_on_the_median() -> None:
    # 0 10 x5 pairs plus one 5: median is the 6th of 11 sorted values = 5, so 10 useful in 10 runs.
    chart = run_chart([0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 5])
    assert (chart.useful, chart.runs) == (10, 10)
    assert chart.runs_signal == "too many"


def test_runs_rule_is_not_applied_beyond_the_table() -> None:
    # 41 useful values in 2 runs would be far too few, but the table stops at 40.
    values = [0.0] * 20 + [10.0] * 21
    chart = run_chart(values, baseline=40)  # baseline median (0 + 10) / 2 = 5
    assert (chart.useful, chart.runs) == (41, 2)
    assert chart.runs_signal is None


# --- Run chart: baseline --------------------------------------------------------------------------


def test_baseline_takes_the_median_from_the_first_values_only() -> None:
    # Median of 1 2 3 4 5 is 3. Index 2 sits on it; 1 2 are below; 4 5 10..15 (eight) are above.
    chart = run_chart([1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], baseline=5)
    assert chart.centre == 3
    assert chart.baseline == 5
    assert chart.useful == 10
    assert chart.shifts == [(3, 10)]
    assert chart.runs == 2
    assert chart.runs_signal == "too few"  # 2 runs among 10 useful values
    assert chart.trends == [(0, 10)]  # the whole series rises


def test_run_chart_baseline_longer_than_the_series_means_all_of_it() -> None:
    chart = run_chart([1, 2, 3, 4, 100], baseline=50)
    assert chart.baseline == 5
    assert chart.centre == 3
    assert run_chart([1, 2, 3, 4, 100]).baseline is None


# --- XmR: limits, trial, direction ----------------------------------------------------------------


def test_limits_from_mean_and_average_moving_range() -> None:
    chart = xmr_chart(BASE)
    (segment,) = chart.segments
    assert (segment.start, segment.end) == (0, 11)
    assert segment.mean == 11 and segment.amr == 2
    assert segment.lower == pytest.approx(5.68) and segment.upper == pytest.approx(16.32)
    assert segment.lower_two_sigma == pytest.approx(11 - 2.66 * 2 * 2 / 3)
    assert segment.upper_two_sigma == pytest.approx(11 + 2.66 * 2 * 2 / 3)
    assert not segment.trial  # twelve points
    assert (chart.mean, chart.amr, chart.lower, chart.upper) == (11, 2, segment.lower, segment.upper)
    assert chart.signals == [None] * 12  # alternating around the mean, all well inside two sigma
    assert chart.variation == "common cause"


def test_fewer_than_twelve_points_gives_trial_limits() -> None:
    assert xmr_chart(BASE[:11]).segments[0].trial


def test_lower_limit_is_not_clipped() -> None:
    # 0 and 10 alternating: mean 5, amr 10, lower = 5 - 26.6 = -21.6.
    assert xmr_chart([0, 10, 0, 10]).lower == pytest.approx(-21.6)


@pytest.mark.parametrize(("improvement", "label"), [("up", "improvement"), ("down", "concern"), (None, "neutral")])
def test_point_above_the_upper_limit(improvement: str | None, label: str) -> None:
    # Baseline of 12 keeps the limits at 5.68 .. 16.32; 17 is above the upper limit.
    chart = xmr_chart([*BASE, 17], improvement=improvement, baseline=12)
    assert chart.signals == [None] * 12 + [label]
    assert chart.variation == label


def test_point_below_the_lower_limit_with_improvement_up_is_concern() -> None:
    assert xmr_chart([*BASE, 5], improvement="up", baseline=12).signals[-1] == "concern"  # 5 < 5.68


def test_point_exactly_on_the_limit_is_common_cause() -> None:
    upper = xmr_chart(BASE).upper
    assert xmr_chart([*BASE, upper], improvement="up", baseline=12).signals[-1] is None


# --- XmR: runs on one side of the mean ------------------------------------------------------------


def test_seven_on_one_side_of_the_mean() -> None:
    # Baseline ends on 10 (below 11). Then 12 13 12 13 12 13 12: seven above, no trend, all
    # under the two-sigma line 14.55.
    chart = xmr_chart([*BASE, 12, 13, 12, 13, 12, 13, 12], improvement="up", baseline=12)
    assert chart.signals[12:] == ["improvement"] * 7


def test_six_on_one_side_of_the_mean_is_not_a_signal() -> None:
    chart = xmr_chart([*BASE, 12, 13, 12, 13, 12, 13, 10], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 7


def test_a_point_on_the_mean_breaks_the_run() -> None:
    # 12 13 12 | 11 | 13 12 13 12: 11 equals the mean, leaving runs of three and four.
    chart = xmr_chart([*BASE, 12, 13, 12, 11, 13, 12, 13, 12], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 8


# --- XmR: trends ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("improvement", "label"), [("up", "improvement"), ("down", "concern"), (None, "neutral")])
def test_seven_rising_is_a_trend(improvement: str | None, label: str) -> None:
    # 10 (last baseline point) falls to 8, then 8 9 10 11.5 12 13 14 rises six times: seven points.
    # The run above the mean is only 11.5..14 (four), and nothing passes two sigma (14.55).
    chart = xmr_chart([*BASE, 8, 9, 10, 11.5, 12, 13, 14], improvement=improvement, baseline=12)
    assert chart.signals[12:] == [label] * 7


def test_six_rising_is_not_a_trend() -> None:
    # 10 -> 9 falls, then 9 10 11.5 12 13 14: six points, five increases.
    chart = xmr_chart([*BASE, 9, 10, 11.5, 12, 13, 14], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 6


def test_a_tie_breaks_an_xmr_trend() -> None:
    # 8 9 10 | 10 11.5 12 13: the repeated 10 splits seven points into three and four.
    chart = xmr_chart([*BASE, 8, 9, 10, 10, 11.5, 12, 13], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 7


def test_side_rules_outrank_a_trend_in_the_other_direction() -> None:
    # 17 14 13 12 11.5 10 9 falls for seven points; 17 is also above the upper limit (16.32).
    # The limit rule decides 17 (above the mean); the trend decides the rest (falling).
    up = xmr_chart([*BASE, 17, 14, 13, 12, 11.5, 10, 9], improvement="up", baseline=12)
    assert up.signals[12:] == ["improvement"] + ["concern"] * 6
    down = xmr_chart([*BASE, 17, 14, 13, 12, 11.5, 10, 9], improvement="down", baseline=12)
    assert down.signals[12:] == ["concern"] + ["improvement"] * 6


# --- XmR: two of three beyond two sigma -----------------------------------------------------------


def test_two_of_three_beyond_two_sigma_on_the_upper_side() -> None:
    # 15 12 15: all above 11, and both 15s beyond 14.55 (but inside 16.32). Only the 15s are flagged.
    chart = xmr_chart([*BASE, 15, 12, 15, 10], improvement="up", baseline=12)
    assert chart.signals[12:] == ["improvement", None, "improvement", None]


def test_two_of_three_beyond_two_sigma_on_the_lower_side() -> None:
    # 7 10 7: all below 11, both 7s beyond 7.45 (but inside 5.68).
    chart = xmr_chart([*BASE, 7, 10, 7, 12], improvement="up", baseline=12)
    assert chart.signals[12:] == ["concern", None, "concern", None]


def test_two_of_three_straddling_the_mean_is_not_a_signal() -> None:
    # 15 10 15: the middle point is below the mean, so no window of three is on one side.
    chart = xmr_chart([*BASE, 15, 10, 15, 10], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 4


def test_a_point_beyond_the_limit_counts_toward_two_of_three() -> None:
    # 17 12 15: 17 is beyond the limit (rule 1) and beyond two sigma too, so with 15 it makes two of
    # three; 15 is flagged only because 17 counts.
    chart = xmr_chart([*BASE, 17, 12, 15, 10], improvement="up", baseline=12)
    assert chart.signals[12:] == ["improvement", None, "improvement", None]


def test_one_of_three_beyond_two_sigma_is_not_a_signal() -> None:
    chart = xmr_chart([*BASE, 15, 12, 13, 10], improvement="up", baseline=12)
    assert chart.signals[12:] == [None] * 4


# --- XmR: baseline and rebase ---------------------------------------------------------------------


def test_baseline_takes_mean_and_amr_from_the_first_values_only() -> None:
    # First four values 10 12 10 12: mean 11, moving ranges 2 2 2 -> amr 2. The 30 after them
    # is judged against 16.32 and flagged; it does not move the limits.
    chart = xmr_chart([10, 12, 10, 12, 30], improvement="up", baseline=4)
    assert (chart.mean, chart.amr) == (11, 2)
    assert chart.segments[0].trial  # four points behind the limits
    assert chart.signals == [None, None, None, None, "improvement"]


def test_xmr_baseline_longer_than_the_series_means_all_of_it() -> None:
    assert xmr_chart(BASE, baseline=100) == xmr_chart(BASE)


def test_baseline_of_one_point_has_no_moving_range() -> None:
    # mean 5, amr 0: both limits sit on the mean, so anything off it is outside them.
    chart = xmr_chart([5, 6, 4, 5], improvement="up", baseline=1)
    assert (chart.mean, chart.amr, chart.lower, chart.upper) == (5, 0, 5, 5)
    assert chart.signals == [None, "improvement", "concern", None]


def test_rebase_gives_each_segment_its_own_limits() -> None:
    # 12 10 x6 then 22 20 x6. Apart: means 11 and 21, amr 2 each (the 10 -> 22 jump is never a
    # moving range). Together, the step would flag nearly every point.
    values = [*BASE, *[22.0, 20.0] * 6]
    chart = xmr_chart(values, improvement="up", rebase=[12])
    first, second = chart.segments
    assert (first.start, first.end, first.mean, first.amr) == (0, 11, 11, 2)
    assert (second.start, second.end, second.mean, second.amr) == (12, 23, 21, 2)
    assert (chart.mean, chart.upper) == (21, second.upper)
    assert chart.signals == [None] * 24
    assert any(xmr_chart(values, improvement="up").signals)


def test_a_run_of_seven_across_a_rebase_is_not_a_signal() -> None:
    # 10 12 10 12 12 12 12 12 | 12 12 10 12 10 12 10 12: seven 12s in a row at indices 3..9.
    # As one segment (mean 182 / 16 = 11.375) that run is a signal. Split at 8: the first segment's
    # mean is 11.5 with five 12s at its end, the second's 11.25 with two 12s at its start.
    values = [10, 12, 10, 12, 12, 12, 12, 12, 12, 12, 10, 12, 10, 12, 10, 12]
    assert xmr_chart(values).signals[3:10] == ["neutral"] * 7
    split = xmr_chart(values, rebase=[8])
    assert [(s.mean, s.trial) for s in split.segments] == [(11.5, True), (11.25, True)]
    assert split.signals == [None] * 16


def test_rebase_points_are_sorted_and_deduplicated() -> None:
    chart = xmr_chart(list(range(12)), rebase=[8, 4, 8])
    assert [(s.start, s.end) for s in chart.segments] == [(0, 3), (4, 7), (8, 11)]


def test_a_one_point_segment() -> None:
    chart = xmr_chart([1, 2, 3, 10], rebase=[3], improvement="up")
    last = chart.segments[-1]
    assert (last.start, last.end, last.mean, last.amr, last.trial) == (3, 3, 10, 0, True)
    assert chart.signals[-1] is None  # on its own mean
    assert chart.variation == "common cause"


# --- XmR: assurance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improvement", "target", "assurance"),
    [
        # Limits 5.68 .. 16.32.
        ("up", 5, "pass"),  # lower 5.68 >= 5: everything the process produces meets it
        ("up", 17, "fail"),  # upper 16.32 < 17: nothing does
        ("up", 11, "hit and miss"),
        ("down", 17, "pass"),  # upper 16.32 <= 17
        ("down", 5, "fail"),  # lower 5.68 > 5
        ("down", 11, "hit and miss"),
        (None, 11, None),  # no direction, no verdict
        ("up", None, None),  # no target, no verdict
    ],
)
def test_assurance(improvement: str | None, target: float | None, assurance: str | None) -> None:
    assert xmr_chart(BASE, improvement=improvement, target=target).assurance == assurance


def test_assurance_passes_when_the_target_sits_exactly_on_the_limit() -> None:
    chart = xmr_chart(BASE)
    assert xmr_chart(BASE, improvement="up", target=chart.lower).assurance == "pass"
    assert xmr_chart(BASE, improvement="down", target=chart.upper).assurance == "pass"


def test_assurance_uses_the_last_segment() -> None:
    # Second segment: mean 21, limits 15.68 .. 26.32, so a target of 15 is met; the first segment
    # (5.68 .. 16.32) alone would be hit and miss.
    values = [*BASE, *[22.0, 20.0] * 6]
    assert xmr_chart(values, improvement="up", target=15, rebase=[12]).assurance == "pass"
    assert xmr_chart(BASE, improvement="up", target=15).assurance == "hit and miss"


# --- Input errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [[], [1.0, math.nan], [math.inf, 1.0], [1.0, -math.inf]])
def test_bad_series_is_refused(values: list[float]) -> None:
    with pytest.raises(ValueError):
        run_chart(values)
    with pytest.raises(ValueError):
        xmr_chart(values)


@pytest.mark.parametrize("baseline", [0, -3])
def test_baseline_below_one_is_refused(baseline: int) -> None:
    with pytest.raises(ValueError, match="baseline"):
        run_chart([1, 2, 3], baseline=baseline)
    with pytest.raises(ValueError, match="baseline"):
        xmr_chart([1, 2, 3], baseline=baseline)


def test_unknown_improvement_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="improvement"):
        xmr_chart([1, 2, 3], improvement="sideways")


@pytest.mark.parametrize("rebase", [[0], [3], [-1], [1, 5]])
def test_rebase_outside_the_series_is_refused(rebase: list[int]) -> None:
    with pytest.raises(ValueError, match="Rebase"):
        xmr_chart([1, 2, 3], rebase=rebase)


def test_non_finite_target_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        xmr_chart([1, 2, 3], improvement="up", target=math.nan)
