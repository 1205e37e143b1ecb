"""The funding export's part of ``make bench``: its dataset, its measurements and their verdicts.

The dataset is built small (60 practices, 1,000 payments) into a temporary SQLite file the
way ``bench`` builds it, in a subprocess under the bench settings, and read back with
``sqlite3``; the measuring functions run in-process on a few factory payments (with
``COPY`` too when the tests run on PostgreSQL); the verdicts are checked on made-up results.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from microsystems import bench_export
from microsystems.management.commands import bench as bench_command
from microsystems.management.commands.bench_build import export_years
from projects.models import Milestone, financial_year_of
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import PaymentFactory

ROWS = 1000


@pytest.fixture(scope="module")
def export_dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bench_command.Dataset]:
    database = tmp_path_factory.mktemp("bench") / "export.sqlite3"
    dataset = bench_command.Dataset("export", 60, f"sqlite:///{database}", str(database), export_rows=ROWS)
    bench_command.manage(dataset.database_url, "migrate", "--noinput", "--verbosity=0")
    bench_command.manage(dataset.database_url, "bench_build", "--practices=60", f"--export-rows={ROWS}")
    dataset.manifest = json.loads(bench_command.manage(dataset.database_url, "bench_build", "--describe"))
    yield dataset


def _query(dataset: bench_command.Dataset, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(dataset.where) as db:
        return db.execute(sql).fetchall()


@pytest.mark.slow
def test_builds_the_export_year_and_a_tenth_the_year_before(export_dataset: bench_command.Dataset) -> None:
    year, before = export_years(datetime.now(UTC).date())  # the build's today
    m = export_dataset.manifest
    assert m["built"]["export_rows"] == ROWS
    assert m["payments_by_year"] == {str(before): ROWS // 10, str(year): ROWS}
    assert bench_command.export_years(export_dataset) == (year, before)
    assert m["admin_login"]["email"] == "admin@bench.example"
    assert m["counts"]["tariffs"] == 2 * m["counts"]["commissioners"]

    statuses = dict(
        _query(
            export_dataset,
            f"SELECT status, count(*) FROM projects_payment WHERE financial_year = {year} GROUP BY status",
        )
    )
    assert set(statuses) == {"due", "approved", "paid", "cancelled"}
    assert all(n >= ROWS // 20 for n in statuses.values())
    # One in a hundred is an adjustment, each of a paid milestone payment.
    adjusted = _query(
        export_dataset,
        "SELECT a.financial_year, p.kind, p.status FROM projects_payment a "
        "JOIN projects_payment p ON p.id = a.adjusts_id WHERE a.kind = 'adjustment'",
    )
    assert len(adjusted) == ROWS // 100 + ROWS // 10 // 100
    assert {(kind, status) for _, kind, status in adjusted} == {("milestone", "paid")}
    # A practice's first project is paid from the tariff; every later one through an approved application.
    routes = _query(
        export_dataset,
        "SELECT p.route, count(DISTINCT p.project_id), count(DISTINCT a.id), min(a.status), max(a.status) "
        "FROM projects_payment p LEFT JOIN projects_fundingapplication a ON a.id = p.application_id GROUP BY p.route",
    )
    by_route = {route: rest for route, *rest in routes}
    assert by_route["first_project"][1] == 0
    assert by_route["application"][0] == by_route["application"][1]
    assert by_route["application"][2:] == ["approved", "approved"]
    first_projects = _query(
        export_dataset, "SELECT count(DISTINCT project_id) FROM projects_payment WHERE route = 'first_project'"
    )
    assert first_projects == [(60,)]  # every practice had one: the smaller year reaches them all first
    # Some projects carry their ongoing-resources text into the export; one is written as a "-" bullet.
    flagged = _query(
        export_dataset,
        "SELECT count(*), sum(ongoing_resources LIKE '-%') FROM projects_project WHERE needs_ongoing_resources",
    )
    assert flagged[0][0] > 0
    assert flagged[0][1] > 0

    rebuild = ["bench_build", "--practices=60", f"--export-rows={ROWS}", "--keep"]
    kept = bench_command.manage(export_dataset.database_url, *rebuild)
    assert "Kept the existing dataset" in kept


@pytest.mark.slow
def test_measures_the_export_in_processes_of_its_own(export_dataset: bench_command.Dataset) -> None:
    result = bench_command.measure_export(export_dataset, runs=1, engine="SQLite")

    timing, memory = result["time"], result["memory"]
    assert timing["rows"] == ROWS
    assert timing["queries"] == 1
    assert timing["ours_ms"] > 0
    assert timing["copy_ms"] is None
    assert "no COPY" in timing["copy_skipped"]
    assert memory["rows"] == {"small": ROWS // 10, "big": ROWS}
    assert memory["big"]["rss_peak_mib"] >= memory["big"]["rss_before_mib"] > 0
    assert result["checks"]["within_copy_target"] is None
    assert result["http"]["bytes"] == timing["ours_bytes"]  # the download is the export measured above
    assert result["http"]["streamed"] is True
    lines = bench_command.export_lines(result)
    assert "NOT MEASURED" in lines[2]
    json.dumps(result)


def test_bench_export_refuses_other_settings() -> None:
    with pytest.raises(CommandError, match="microsystems.settings.bench"):
        call_command("bench_export", "--year=2025")


@pytest.mark.django_db
def test_times_our_export_and_copies_the_same_query() -> None:
    due = date(2025, 6, 2)
    for title in ("Results handling", "=1+1", "Repeat prescriptions"):
        PaymentFactory(project=ProjectFactory(title=title), due_on=due, milestone=Milestone.AGREEMENT)
    PaymentFactory(due_on=date(2025, 3, 31), amount=Decimal("10.00"))  # the year before: not exported

    result = bench_export.time_export(financial_year_of(due), repeat=1)

    assert result["rows"] == 3
    assert result["queries"] == 1
    assert len(result["ours_runs_ms"]) == 1
    if connection.vendor == "postgresql":
        assert result["copy_bytes"] > 0
        assert result["ratio"] == round(result["ours_ms"] / result["copy_ms"], 2)
    else:
        assert result["copy_ms"] is None
        assert result["copy_skipped"] == "SQLite has no COPY: set DATABASE_URL=postgres://..."

    sink = bench_export.NullSink()
    assert bench_export.export_csv(financial_year_of(due), sink, limit=2) == 2
    assert sink.bytes > 0


@pytest.mark.django_db
def test_measures_the_memory_of_a_whole_export() -> None:
    PaymentFactory(due_on=date(2025, 6, 2))

    result = bench_export.export_memory(2025)

    assert result["rows"] == 1
    assert result["rss_peak_mib"] >= result["rss_before_mib"] > 0
    assert result["rss_growth_mib"] >= 0
    assert result["python_peak_mib"] > 0


def _export(copy_ms: float | None, small_peak: float, big_peak: float, big_growth: float) -> dict[str, Any]:
    ours_ms = 900.0
    ratio = round(ours_ms / copy_ms, 2) if copy_ms else None
    timing = {
        "year": 2025,
        "rows": 100_000,
        "queries": 1,
        "runs": 5,
        "ours_ms": ours_ms,
        "ours_bytes": 23_600_000,
        "rows_per_second": 111_111,
        "copy_ms": copy_ms,
        "copy_bytes": 23_700_000 if copy_ms else None,
        "ratio": ratio,
        "copy_skipped": None if copy_ms else "SQLite has no COPY: set DATABASE_URL=postgres://...",
    }
    small = {"rows": 10_000, "python_peak_mib": small_peak, "rss_growth_mib": 0.4, "rss_peak_mib": 150.0}
    big = {"rows": 100_000, "python_peak_mib": big_peak, "rss_growth_mib": big_growth, "rss_peak_mib": 151.0}
    python_ratio = round(big_peak / small_peak, 2)
    rss_ratio = round(max(big_growth, 1.0) / max(0.4, 1.0), 2)
    return {
        "database": "PostgreSQL" if copy_ms else "SQLite",
        "where": "database x_bench_export",
        "time": timing,
        "memory": {"small": small, "big": big},
        "http": {"skipped": "the reports have no payments:export_csv URL yet"},
        "checks": {
            "copy_ratio": ratio,
            "within_copy_target": None if ratio is None else ratio <= bench_command.MAX_EXPORT_RATIO,
            "python_peak_ratio": python_ratio,
            "rss_growth_ratio": rss_ratio,
            "memory_flat": python_ratio <= 1.5 and rss_ratio <= 1.5,
        },
    }


def test_a_flat_export_within_three_times_copy_passes() -> None:
    export = _export(copy_ms=400.0, small_peak=4.4, big_peak=4.5, big_growth=0.9)

    assert bench_command.export_problems(export) == []
    lines = bench_command.export_lines(export)
    assert "ours is 2.2× (target at most 3×): ok." in lines[2]
    assert "flat." in lines[-1]


def test_a_slow_export_and_growing_memory_are_reported() -> None:
    export = _export(copy_ms=250.0, small_peak=4.4, big_peak=44.0, big_growth=40.0)

    problems = bench_command.export_problems(export)

    assert problems[0] == "the funding export is 3.6× COPY (target 3×)"
    assert "memory grows with its rows (ratios 10.00 and 40.00" in problems[1]
    assert "SLOWER THAN TARGET" in bench_command.export_lines(export)[2]
    assert "NOT FLAT" in bench_command.export_lines(export)[-1]


def test_without_postgresql_copy_is_said_to_be_skipped_not_failed() -> None:
    export = _export(copy_ms=None, small_peak=4.4, big_peak=4.5, big_growth=0.5)

    assert bench_command.export_problems(export) == []
    assert "PostgreSQL's COPY of the same rows: NOT MEASURED" in bench_command.export_lines(export)[2]
    assert "Through gunicorn: not measured" in bench_command.export_lines(export)[3]


def test_resident_growth_under_a_mebibyte_counts_as_noise() -> None:
    small, big = {"rss_growth_mib": 0.1}, {"rss_growth_mib": 0.9}

    assert bench_command._flat_ratio(big, small, "rss_growth_mib", bench_command.MEMORY_FLOOR_MIB) == 1.0
