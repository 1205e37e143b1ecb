"""The benchmark harness behind ``make bench``, exercised cheaply.

A 60-practice dataset is built into a temporary SQLite file the way ``bench`` builds its
own (``migrate`` and ``bench_build`` in a subprocess under the bench settings), served by
gunicorn, and measured for one round; the rest are in-process checks of the middleware,
the numbers and the verdicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path

from evaluation.reporting import REPORTS
from microsystems import bench, urls
from microsystems.management.commands import bench as bench_command
from microsystems.management.commands.bench_build import (
    BUILD_VERSION,
    PASSWORD,
    WINDOW_YEARS,
    Scale,
    apportion,
    window_start,
)
from microsystems.tests.factories import UserFactory
from projects.models import financial_year_of

urlpatterns = [path("bench/bare/", bench.bare, name="bench_bare"), *urls.urlpatterns]

with_query_count = override_settings(
    MIDDLEWARE=["microsystems.bench.QueryCountMiddleware", *settings.MIDDLEWARE],
    ROOT_URLCONF=__name__,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> bench_command.Dataset:
    database = tmp_path_factory.mktemp("bench") / "tiny.sqlite3"
    dataset = bench_command.Dataset("full", 60, f"sqlite:///{database}", str(database))
    bench_command.manage(dataset.database_url, "migrate", "--noinput", "--verbosity=0")
    bench_command.manage(dataset.database_url, "bench_build", "--practices=60")
    dataset.manifest = json.loads(bench_command.manage(dataset.database_url, "bench_build", "--describe"))
    return dataset


@pytest.mark.slow
def test_builds_a_coherent_dataset(tiny: bench_command.Dataset) -> None:
    m = tiny.manifest
    counts = m["counts"]
    assert counts["practices"] == 60
    assert counts["commissioners"] == 6
    assert counts["pcns"] == 12
    programme_users = 6 * 3 + 1  # lead, coach, finance per commissioner; one staff admin
    assert counts["users"] == counts["memberships"] + programme_users
    assert 60 <= counts["memberships"] <= 60 * 15
    assert 2 * 60 <= counts["engagement_changes"] <= 3 * 60
    assert m["built"] == {"version": BUILD_VERSION, "practices": 60, "seed": 2024}
    assert m["login"] == {"email": f"lead.{m['commissioner']['ods_code'].lower()}@bench.example", "password": PASSWORD}
    largest, smallest = m["samples"]["practice"]["largest"], m["samples"]["practice"]["smallest"]
    assert largest["staff"] >= smallest["staff"] >= 1
    assert tiny.sample("practice") == largest["key"]

    assert counts["projects"] >= 6  # about three for each engaged practice
    assert counts["workbook_sections"] == 10 * counts["projects"]
    assert counts["team_members"] >= 3 * counts["projects"]
    assert counts["step_changes"] >= counts["projects"] // 2
    assert counts["specific_aims"] >= 1
    biggest, smallest_team = m["samples"]["project"]["largest"], m["samples"]["project"]["smallest"]
    assert biggest["team"] >= smallest_team["team"] >= 3
    assert tiny.sample("project") == str(biggest["key"])

    kept = bench_command.manage(tiny.database_url, "bench_build", "--practices=60", "--keep")
    assert "Kept the existing dataset" in kept


@pytest.mark.slow
def test_builds_the_programme_data_of_the_benchmarked_commissioner(tiny: bench_command.Dataset) -> None:
    counts, own = tiny.manifest["counts"], tiny.manifest["commissioner_counts"]

    # Projects over the five financial years, the oldest of them long since completed.
    today = datetime.now(UTC).date()
    years = {int(year) for year in tiny.manifest["projects_by_year"]}
    assert years <= set(range(financial_year_of(window_start(today)), financial_year_of(today) + 1))
    assert len(years) >= WINDOW_YEARS - 1
    assert 0 < own["completed_projects"] < own["projects"] < counts["projects"]
    assert own["projects_with_benefits"] == own["completed_projects"]
    assert own["aims_met"] >= 1
    assert own["improving_measures"] >= 1

    # Payments from the tariffs of each year: first projects, and some later ones by application.
    assert counts["tariffs"] == WINDOW_YEARS * counts["commissioners"]
    assert 0 < own["paid_payments"] < own["payments"] < counts["payments"]
    assert 0 < own["first_project_payments"] < own["payments"]
    assert counts["funding_applications"] >= 1

    # Two follow-ups for each completed project; every one held has its review.
    assert own["follow_ups"] == 2 * own["completed_projects"]
    assert 0 < own["follow_up_reviews"] == own["held_follow_ups"] < own["follow_ups"]
    assert counts["follow_up_reviews"] > own["follow_up_reviews"]

    # A baseline self-assessment for each project past Organise, and one at each follow-up held.
    assert own["embedding_assessments"] > own["follow_up_reviews"]
    assert own["embedding_assessments"] <= own["projects"] + own["follow_up_reviews"]


@pytest.mark.slow
def test_warming_draws_the_charts_of_the_programme_pages(tiny: bench_command.Dataset) -> None:
    warmed = bench_command.warm(tiny).splitlines()

    programme_pages = [page for page in bench_command.PAGES if page.draws_charts]
    assert len(programme_pages) == 2 + len(REPORTS) + 1  # the dashboard twice, each report, the report page
    assert [line.split()[1] for line in warmed if line.startswith("warmed ")] == [
        page.url(tiny) for page in programme_pages
    ]
    by_status = json.loads(warmed[-1].removeprefix("report charts by status: "))
    assert by_status.get("ready", 0) >= len(REPORTS)
    assert set(by_status) == {"ready"}  # none left pending or failed


@pytest.mark.slow
def test_serves_and_measures_every_page(tiny: bench_command.Dataset) -> None:
    bench_command.warm(tiny)  # what ``bench`` does before serving
    bench_command.write_chart_sized_file(tiny)
    measured = bench_command.measure_dataset(tiny, workers=1, warmup=0, rounds=2)

    for url, page in zip(measured.urls, bench_command.PAGES, strict=True):
        assert url.startswith("/charts/") if page.resolve else url == page.url(tiny)
    for sample in [measured.bare, *measured.pages]:
        assert len(sample.times_ms) == 2
        assert all(t > 0 for t in sample.times_ms)
    for sample, page in zip(measured.pages, bench_command.PAGES, strict=True):
        served_before_the_session = page.name in {"Static file the size of the chart", "Chart image (signed link)"}
        assert sample.queries == 0 if served_before_the_session else sample.queries >= 1


def test_bench_build_refuses_other_settings() -> None:
    with pytest.raises(CommandError, match="microsystems.settings.bench"):
        call_command("bench_build", "--practices=10")


@pytest.mark.django_db
@with_query_count
def test_query_count_header_matches_the_queries_run(client: Any) -> None:
    client.force_login(UserFactory())
    client.get("/bench/bare/")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/bench/bare/")

    assert response.status_code == 200
    assert int(response[bench.QUERY_COUNT_HEADER]) == len(queries) >= 1


@pytest.mark.django_db
@with_query_count
def test_bare_view_needs_a_signed_in_user(client: Any) -> None:
    response = client.get("/bench/bare/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
    assert bench.QUERY_COUNT_HEADER in response


def test_bare_url_only_exists_in_bench_settings() -> None:
    assert not any(getattr(p, "name", None) == "bench_bare" for p in urls.urlpatterns)


def test_scale_and_apportion() -> None:
    assert Scale.for_practices(6500) == Scale(practices=6500, pcns=1250, commissioners=42)
    assert Scale.for_practices(650) == Scale(practices=650, pcns=125, commissioners=42)
    shares = apportion(100, [3, 1, 1], minimum=1)
    assert sum(shares) == 100
    assert shares[0] > shares[1]
    assert min(apportion(10, [100, 1, 1], minimum=2)) == 2


def _dataset(label: str, practices: int) -> bench_command.Dataset:
    manifest = {
        "counts": {"practices": practices},
        "login": {"email": "lead@bench.example", "password": PASSWORD},
        "commissioner": {"ods_code": "QOP", "name": "NHS Greater Manchester ICB", "practices": practices // 15},
        "samples": {
            "practice": {"largest": {"key": "A81001"}, "smallest": {"key": "A81002"}},
            "pcn": {"largest": {"key": 12}, "smallest": {"key": 3}},
            "project": {"largest": {"key": 41}, "smallest": {"key": 7}},
            "measure": {"largest": {"key": "41/5"}, "smallest": {"key": "7/2"}},
        },
    }
    return bench_command.Dataset(label, practices, f"sqlite:///{label}", label, manifest)


def _measurement(dataset: bench_command.Dataset, page_ms: float, page_queries: list[int]) -> Any:
    def sample(ms: float, queries: int) -> bench_command.Sample:
        return bench_command.Sample([ms] * 19 + [ms * 2], [queries] * 20)

    pages = [sample(page_ms, q) for q in page_queries]
    urls = [page.url(dataset) for page in bench_command.PAGES]
    return bench_command.Measurement(dataset, sample(4.0, 2), urls, pages)


def test_summary_has_the_results_shape_and_flags_varying_queries() -> None:
    n = len(bench_command.PAGES)
    full = _measurement(_dataset("full", 6500), 10.0, [7] * n)
    detail = [page.name for page in bench_command.PAGES].index("Practice detail")
    small = _measurement(_dataset("small", 650), 10.0, [5 if i == detail else 7 for i in range(n)])

    results = bench_command.summarise(full, small)

    assert set(results["bare"]) == {"p50_ms", "p95_ms"}
    keys = {"name", "url", "p50_ms", "p95_ms", "queries", "queries_small"}
    keys |= {"p95_ratio", "compared_with", "max_p95_ratio"}
    assert [set(p) for p in results["pages"]] == [keys] * n
    assert results["pages"][detail]["url"] == "/practices/A81001/"
    overview = next(p for p in results["pages"] if p["name"] == "Project overview")
    assert overview["url"] == "/projects/41/"
    assert results["checks"]["query_counts_seen"]["Workbook: Assess"]["url_small"] == "/projects/7/workbook/assess/"
    assert results["checks"]["query_counts_seen"]["Practice detail"]["url_small"] == "/practices/A81002/"
    last_year = financial_year_of(datetime.now(UTC).date()) - 1
    one_pcn = results["checks"]["query_counts_seen"]["Programme dashboard, one PCN, last year"]
    assert one_pcn["url_small"] == f"/programme/?pcn=3&year={last_year}"
    assert next(p for p in results["pages"] if p["name"] == "Report: Typology")["url"] == "/programme/reports/typology/"
    assert results["checks"]["queries_constant"] is False
    assert results["checks"]["query_problems"] == [
        "Practice detail: 7 queries with 6,500 practices (/practices/A81001/), 5 with 650 (/practices/A81002/)"
    ]
    assert results["checks"]["latency_within_target"] is True
    lines = bench_command.table(results)
    assert lines[0].split()[:2] == ["Page", "URL"]
    assert "QUERIES VARY" in lines[2 + 1 + detail]
    json.dumps(results)


def test_summary_reports_slow_pages() -> None:
    n = len(bench_command.PAGES)
    full = _measurement(_dataset("full", 6500), 40.0, [7] * n)
    small = _measurement(_dataset("small", 650), 40.0, [7] * n)

    results = bench_command.summarise(full, small)

    assert results["checks"]["queries_constant"] is True
    assert results["checks"]["latency_within_target"] is False
    assert "10.0× the bare view's" in results["checks"]["latency_problems"][0]
    compared_with_another = {p.name for p in bench_command.PAGES if p.against}
    for page, line in zip(bench_command.PAGES, bench_command.table(results)[3:], strict=True):
        assert ("SLOW" in line) != (page.name in compared_with_another)  # the same time as its yardstick: 1×


def test_sample_statistics_ignore_the_occasional_session_write() -> None:
    sample = bench_command.Sample([float(ms) for ms in range(1, 101)], [7] * 97 + [8] * 3)

    assert sample.queries == 7
    assert sample.p50_ms == 50.5
    assert sample.p95_ms == pytest.approx(95.05)


def test_sqlite_databases_live_in_the_bench_folder() -> None:
    databases = bench_command.databases_for({"ENGINE": "django.db.backends.sqlite3", "NAME": "x"})
    assert databases.url("full").endswith("/bench/bench.sqlite3")
    assert databases.url("small").endswith("/bench/bench_small.sqlite3")


def test_postgres_databases_sit_beside_the_configured_one() -> None:
    config = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "microsystems",
        "USER": "app",
        "PASSWORD": "p@ss word",
        "HOST": "db.internal",
        "PORT": 5433,
        "OPTIONS": {"sslmode": "require"},
    }
    databases = bench_command.databases_for(config)
    assert databases.url("full") == "postgres://app:p%40ss%20word@db.internal:5433/microsystems_bench?sslmode=require"
    assert databases.url("small").split("?")[0].endswith("/microsystems_bench_small")
    assert Path(databases.where("small")).name == "database microsystems_bench_small"
