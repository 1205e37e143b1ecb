"""Drawing run and XmR charts, their alt text, and the keys that say when a chart must be drawn again."""

import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from projects import chart_cache, charts
from projects.analysis import run_chart, xmr_chart
from projects.chart_cache import chart_key
from projects.charts import CycleSpan, alt_text_run, alt_text_xmr, draw_run_chart, draw_xmr_chart, render
from projects.models import Measure, PdsaCycle
from projects.series import Series, run_analysis, xmr_analysis

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 1, 6)
BEFORE_AND_AFTER = [8, 9, 7, 8, 9, 8, 7, 8, 9, 8, 5, 4, 5, 4, 3, 4, 5, 4]  # a shift down after ten weeks


def series(values, *, improvement="down", baseline=None, target=None, astronomical=(), notes=None, start=START):
    count = len(values)
    return Series(
        dates=[start + timedelta(weeks=i) for i in range(count)],
        values=[float(v) for v in values],
        notes=notes or [""] * count,
        astronomical=[i in astronomical for i in range(count)],
        baseline=baseline,
        target=target,
        improvement=improvement,
    )


def measure(**fields):
    return Measure(**{"name": "Days from result to action", "unit": "days", "direction": "down", **fields})


CYCLES = [CycleSpan(1, date(2025, 3, 3), date(2025, 3, 17)), CycleSpan(2, date(2025, 4, 7), date(2025, 4, 21))]


# Drawing


def assert_images(png: bytes, svg: bytes) -> None:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and svg.rstrip().endswith(b"</svg>")


def test_a_run_chart_is_a_figure_rendered_as_png_and_svg():
    data = series(BEFORE_AND_AFTER, baseline=10, target=4, astronomical={3})
    figure = draw_run_chart(data, run_analysis(data), CYCLES, title="Days from result to action")
    assert isinstance(figure, Figure)
    png, svg = render(figure)
    assert_images(png, svg)
    assert b"PDSA 1" in svg and b"Baseline median" in svg


def test_the_png_is_drawn_larger_than_shown_for_sharp_screens():
    png, _ = render(draw_run_chart(series([1, 2, 3]), run_analysis(series([1, 2, 3])), [], title="x"))
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (
        charts.WIDTH * charts.PNG_DPI // charts.DPI,
        charts.HEIGHT * charts.PNG_DPI // charts.DPI,
    )


def test_an_xmr_chart_with_signals_trial_limits_and_a_rebase_renders():
    data = series(BEFORE_AND_AFTER + [20], target=4, astronomical={18})
    analysis = xmr_chart(data.values, improvement="down", target=4, rebase=(10,))
    assert any(s.trial for s in analysis.segments)
    figure = draw_xmr_chart(data, analysis, title="Days from result to action")
    assert isinstance(figure, Figure)
    words = [text.get_text() for text in figure.texts]
    assert "Special cause: concern" in words and "Assurance: hit and miss" in words
    assert "trial limits" in [text.get_text() for text in figure.axes[0].texts]
    assert_images(*render(figure))


@pytest.mark.parametrize("values", [[5], [5, 5], [3, 3, 3, 3], [0.5, 120.25]])
def test_short_and_flat_series_still_draw(values):
    data = series(values, improvement=None)
    assert_images(*render(draw_run_chart(data, run_analysis(data), CYCLES, title="Short")))
    assert_images(*render(draw_xmr_chart(data, xmr_analysis(data), title="Short")))


def test_only_cycles_within_the_data_dates_are_shaded_and_labelled():
    data = series(BEFORE_AND_AFTER)
    later = CycleSpan(3, date(2026, 1, 5), date(2026, 1, 19))
    figure = draw_run_chart(data, run_analysis(data), [*CYCLES, later], title="x")
    labels = [text.get_text().strip() for text in figure.axes[0].texts]
    assert labels == ["PDSA 1", "PDSA 2"]


def test_a_cycle_is_drawn_from_its_actual_dates_when_recorded_else_planned():
    planned = PdsaCycle(number=4, planned_start=date(2025, 3, 3), planned_end=date(2025, 3, 10))
    done = PdsaCycle(
        number=5,
        planned_start=date(2025, 3, 3),
        planned_end=date(2025, 3, 10),
        actual_start=date(2025, 3, 5),
        actual_end=date(2025, 3, 19),
    )
    assert charts.cycle_span(planned) == CycleSpan(4, date(2025, 3, 3), date(2025, 3, 10))
    assert charts.cycle_span(done) == CycleSpan(5, date(2025, 3, 5), date(2025, 3, 19))


def test_a_long_title_is_shortened_to_leave_room_for_the_badges():
    data = series(BEFORE_AND_AFTER)
    figure = draw_xmr_chart(data, xmr_analysis(data), title="A" * 150)
    title = figure.axes[0].get_title(loc="left")
    assert len(title) == charts.TITLE_CHARACTERS["xmr"] and title.endswith("\u2026")


def test_our_chart_modules_never_import_pyplot():
    code = (
        "import os, sys, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'microsystems.settings.test'\n"
        "django.setup()\n"
        "from datetime import date\n"
        "from projects import chart_cache, charts, chart_views, tasks\n"
        "from projects.series import Series, run_analysis, xmr_analysis\n"
        "s = Series([date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)], [1.0, 3.0, 2.0], ['', '', ''],"
        " [False] * 3, None, 2.0, 'up')\n"
        "charts.render(charts.draw_run_chart(s, run_analysis(s), [], title='t'))\n"
        "charts.render(charts.draw_xmr_chart(s, xmr_analysis(s), title='t'))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for module in ("charts.py", "chart_cache.py", "tasks.py", "chart_views.py"):
        source = (ROOT / "projects" / module).read_text()
        assert "matplotlib.pyplot" not in source and "import pyplot" not in source


# Alt text


def test_the_run_alt_text_says_a_shift_below_the_median_of_a_down_measure_is_an_improvement():
    data = series(BEFORE_AND_AFTER, baseline=10, start=date(2025, 1, 6))
    text = alt_text_run(data, run_analysis(data))
    assert "A shift of 8 points below the median from 17 March 2025, in the direction of improvement." in text
    assert "frozen on the first 10 points" in text
    assert text.count(".") <= 8


def test_the_same_shift_in_an_up_measure_is_against_the_direction_of_improvement():
    data = series(BEFORE_AND_AFTER, improvement="up")
    assert "below the median from 17 March 2025, against the direction of improvement" in alt_text_run(
        data, run_analysis(data)
    )


def test_without_a_direction_the_alt_text_does_not_judge_the_shift():
    data = series(BEFORE_AND_AFTER, improvement=None)
    text = alt_text_run(data, run_analysis(data))
    assert "below the median from 17 March 2025." in text and "direction" not in text


def test_the_run_alt_text_says_when_there_are_no_signals():
    data = series([5, 6, 6, 4, 4, 7, 7, 5, 5, 6])
    analysis = run_analysis(data)
    assert not analysis.shifts and not analysis.trends and not analysis.runs_signal
    text = alt_text_run(data, analysis)
    assert "There are no signals of non-random variation." in text
    assert text.startswith("Run chart of 10 points from 6 January 2025 to 10 March 2025. The median is 5.5.")


def test_the_run_alt_text_names_a_trend_and_too_few_runs():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    data = series(values, improvement="up")
    text = alt_text_run(data, run_chart(data.values))
    assert "A trend of 12 points rising from 6 January 2025, in the direction of improvement." in text
    assert "There are too few runs (2 runs in 12 points off the median)." in text


def test_the_run_alt_text_counts_signals_beyond_the_first_few():
    analysis = replace(run_analysis(series([1] * 20)), shifts=[(0, 5), (6, 11), (12, 17)], trends=[(14, 19)])
    text = alt_text_run(series([1] * 20), analysis)
    assert "There are 1 more signals." not in text and "There is 1 more signal." in text


def test_the_xmr_alt_text_reads_like_making_data_count():
    values = [6, 5, 6, 4, 5, 6, 5, 4, 6, 5, 5, 6, 5, 4, 1]
    data = series(values, target=3)
    text = alt_text_xmr(data, xmr_analysis(data), "days")
    assert text.startswith(
        "The latest point shows special-cause variation, an improvement; 1 point is outside the process limits."
    )
    assert "The target of 3 days is hit and miss." in text
    assert "trial limits" not in text


def test_the_xmr_alt_text_mentions_trial_limits_below_twelve_points():
    data = series([5, 6, 5, 4, 6, 5], target=1)
    text = alt_text_xmr(data, xmr_analysis(data), "%")
    assert "The latest point shows common-cause variation; no points are outside the process limits." in text
    assert "These are trial limits, from fewer than 12 points." in text
    assert "The mean is 5.17%" in text


def test_the_xmr_alt_text_for_a_target_always_missed():
    data = series([9, 10, 9, 11, 10, 9, 10, 11, 10, 9, 10, 10], target=3)
    assert "The target of 3 days is consistently missed" in alt_text_xmr(data, xmr_analysis(data), "days")


def test_no_data_has_a_plain_alt_text():
    empty = series([])
    assert alt_text_run(empty, None) == alt_text_xmr(empty, None, "days") == "No data yet."


# Keys


def test_the_key_is_a_sha256_that_is_stable_for_the_same_data():
    key = chart_key(measure(), "run", series(BEFORE_AND_AFTER), CYCLES)
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == chart_key(measure(), "run", series(BEFORE_AND_AFTER), list(CYCLES))
    assert key != chart_key(measure(), "xmr", series(BEFORE_AND_AFTER), CYCLES)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda m, s, c: (m, replace(s, values=[*s.values[:-1], 99.0]), c), id="a value"),
        pytest.param(lambda m, s, c: (m, replace(s, dates=[*s.dates[:-1], date(2025, 6, 2)]), c), id="a date"),
        pytest.param(lambda m, s, c: (m, replace(s, baseline=6), c), id="the baseline"),
        pytest.param(lambda m, s, c: (m, replace(s, target=2.5), c), id="the target"),
        pytest.param(lambda m, s, c: (m, replace(s, astronomical=[True] + s.astronomical[1:]), c), id="astronomical"),
        pytest.param(lambda m, s, c: (measure(direction="up"), s, c), id="the direction"),
        pytest.param(lambda m, s, c: (measure(unit="hours"), s, c), id="the unit"),
        pytest.param(lambda m, s, c: (measure(name="Days to file"), s, c), id="the name"),
        pytest.param(lambda m, s, c: (m, s, [CycleSpan(1, date(2025, 3, 3), date(2025, 3, 24)), c[1]]), id="a cycle"),
        pytest.param(lambda m, s, c: (m, s, [*c, CycleSpan(3, date(2025, 4, 28), date(2025, 5, 5))]), id="new cycle"),
    ],
)
def test_the_run_key_changes_with_anything_drawn(change):
    before = (measure(), series(BEFORE_AND_AFTER, baseline=10, target=4), CYCLES)
    assert chart_key(before[0], "run", *before[1:]) != chart_key(change(*before)[0], "run", *change(*before)[1:])


def test_the_key_changes_with_the_chart_code_version(monkeypatch):
    key = chart_key(measure(), "xmr", series(BEFORE_AND_AFTER), [])
    monkeypatch.setattr(chart_cache, "CHART_CODE_VERSION", "2")
    assert chart_key(measure(), "xmr", series(BEFORE_AND_AFTER), []) != key


def test_a_note_does_not_change_the_key():
    plain = series(BEFORE_AND_AFTER)
    noted = series(BEFORE_AND_AFTER, notes=["Locum week"] + [""] * (len(BEFORE_AND_AFTER) - 1))
    for kind in ("run", "xmr"):
        assert chart_key(measure(), kind, plain, CYCLES) == chart_key(measure(), kind, noted, CYCLES)


def test_cycles_outside_the_data_and_on_the_xmr_chart_do_not_change_the_key():
    data = series(BEFORE_AND_AFTER)
    later = [*CYCLES, CycleSpan(9, date(2026, 1, 5), date(2026, 1, 12))]
    assert chart_key(measure(), "run", data, CYCLES) == chart_key(measure(), "run", data, later)
    assert chart_key(measure(), "xmr", data, CYCLES) == chart_key(measure(), "xmr", data, [])


def test_decimal_targets_and_floats_from_the_series_give_the_same_key():
    target = Measure(name="x", unit="days", direction="down", target=Decimal("3.000"))
    assert chart_key(target, "run", series([1, 2], target=3.0), []) == chart_key(
        measure(name="x", target=Decimal("3")), "run", series([1, 2], target=3.0), []
    )
