"""The report pages, their CSV and the chart poll partial: what the lead sees, what finance downloads, who gets a 404.

The views are tested with a fake report (this module's ``build``, put in place of a real one in
``REPORTS``); the real reports are smoke-tested at the end: each renders and gives a CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evaluation import reporting
from evaluation.models import ReportChart
from evaluation.report_charts import render_and_store
from evaluation.report_views import PAGE_ROWS, shown
from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table
from practices.tests.factories import PcnFactory

FAKE = "typology"
SEEN: list[Scope] = []
SIZE = {"charts": 1, "rows": 1}


def build(scope: Scope) -> Report:
    """A report with known figures: ``SIZE`` charts and table rows, and a row that looks like a formula."""
    SEEN.append(scope)
    charts = tuple(
        ChartSpec(
            slug=f"fake-{i}",
            title=f"Projects by category {i}",
            kind="bar",
            categories=("Process-driven", "Health outputs"),
            series=(ChartSeries("Projects", (4.0 + i, 1.0)),),
            alt=f"Process-driven projects lead, {4 + i} to 1.",
        )
        for i in range(SIZE["charts"])
    )
    rows = tuple((f"Practice {i}", i, date(2025, 3, 3), Decimal("1250.00")) for i in range(SIZE["rows"]))
    return Report(
        slug=FAKE,
        title="Typology",
        intro="Projects by what they set out to improve.",
        scope=scope,
        charts=charts,
        tables=(
            Table(
                title="Projects by practice",
                columns=(
                    Column("Practice"),
                    Column("Projects", numeric=True),
                    Column("Since"),
                    Column("Paid", numeric=True),
                ),
                rows=rows,
                note="Counts every project started.",
            ),
            Table(title="Withdrawals", columns=(Column("Reason"),), rows=(), empty="No project was withdrawn."),
        ),
        csv_header=("Practice", "Projects", "Since", "Note"),
        csv_rows=(
            ("Amherst Medical Practice", 3, date(2025, 3, 3), '=HYPERLINK("http://evil")'),
            ("@Kingswood Surgery", -2, None, "+1"),
            ("Plain", Decimal("12.50"), True, "fine"),
        ),
        highlights=(("Projects", 12), ("Started", date(2025, 4, 1)), ("Mean score", 3.25)),
    )


@pytest.fixture(autouse=True)
def fake_report(monkeypatch, settings):
    monkeypatch.setitem(reporting.REPORTS, FAKE, ("Typology", __name__))
    monkeypatch.setitem(SIZE, "charts", 1)
    monkeypatch.setitem(SIZE, "rows", 1)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    SEEN.clear()


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def page_url(slug: str = FAKE, **params: object) -> str:
    url = reverse("programme:report", args=[slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def csv_url(slug: str = FAKE, **params: object) -> str:
    url = reverse("programme:report_csv", args=[slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def rows_of(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# The page


def test_the_lead_sees_the_report_with_its_figures_charts_and_tables(as_, programme):
    response = as_("lead").get(page_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="mb-1">Typology</h1>' in page and "NHS West Kent · All years" in page
    assert "Projects by what they set out to improve." in page
    assert "Mean score" in page and "3.25" in page and "1 April 2025" in page
    assert "Drawing the chart “Projects by category 0”" in page
    chart = ReportChart.objects.get()
    assert f'hx-get="/programme/charts/{chart.key}/"' in page
    assert "Projects by practice" in page and "Practice 0" in page and "3 March 2025" in page and "1,250.00" in page
    assert "No project was withdrawn." in page
    assert f'href="/programme/reports/typology.csv?commissioner={programme.commissioner.pk}"' in page
    assert SEEN[0] == Scope(commissioner=programme.commissioner)


def test_a_drawn_chart_shows_as_its_image_with_alt_text(as_, programme):
    as_("lead").get(page_url())
    render_and_store(ReportChart.objects.get().key)
    page = as_("lead").get(page_url()).content.decode()
    assert 'src="/charts/' in page and 'alt="Process-driven projects lead, 4 to 1."' in page
    assert "hx-get" not in page.split('id="report-chart-')[1].split(">")[0]


def test_the_menu_links_every_report_keeping_the_scope(as_, programme):
    pcn = PcnFactory(commissioner=programme.commissioner, name="Riverside PCN")
    page = as_("lead").get(page_url(pcn=pcn.pk, year=2024)).content.decode()
    query = f"commissioner={programme.commissioner.pk}&amp;pcn={pcn.pk}&amp;year=2024"
    for slug in reporting.REPORTS:
        assert f'href="/programme/reports/{slug}/?{query}"' in page
    assert 'aria-current="page" href="/programme/reports/typology/' in page


def test_the_filters_choose_the_pcn_and_the_year(as_, programme):
    pcn = PcnFactory(commissioner=programme.commissioner, name="Riverside PCN")
    response = as_("lead").get(page_url(pcn=pcn.pk, year=2024))
    assert SEEN[-1] == Scope(commissioner=programme.commissioner, pcn=pcn, year=2024)
    page = response.content.decode()
    assert "NHS West Kent · Riverside PCN · 2024/25" in page
    assert f"typology.csv?commissioner={programme.commissioner.pk}&amp;pcn={pcn.pk}&amp;year=2024" in page


def test_another_commissioners_pcn_is_ignored(as_, programme):
    theirs = PcnFactory(commissioner=programme.other_commissioner)
    as_("lead").get(page_url(pcn=theirs.pk))
    assert SEEN[-1] == Scope(commissioner=programme.commissioner)


def test_finance_sees_the_report(as_):
    assert as_("finance").get(page_url()).status_code == 200


def test_an_admin_sees_any_commissioners_report(as_, programme):
    as_("admin").get(page_url(commissioner=programme.other_commissioner.pk))
    assert SEEN[-1].commissioner == programme.other_commissioner


def test_a_lead_asking_for_another_commissioner_sees_only_their_own(as_, programme):
    page = as_("other_lead").get(page_url(commissioner=programme.commissioner.pk)).content.decode()
    assert SEEN[-1].commissioner == programme.other_commissioner
    assert "NHS High Weald" in page and "NHS West Kent" not in page


@pytest.mark.parametrize("who", ["coach", "manager", "nurse", "other_nurse"])
def test_coaches_and_practice_staff_get_a_404(as_, who):
    assert as_(who).get(page_url()).status_code == 404
    assert as_(who).get(csv_url()).status_code == 404
    assert not SEEN


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get(page_url()).status_code == 302
    assert client.get(csv_url()).status_code == 302


def test_an_unknown_report_is_a_404(as_):
    assert as_("lead").get(page_url("nonsense")).status_code == 404
    assert as_("lead").get(csv_url("nonsense")).status_code == 404


def test_a_long_table_shows_its_first_rows_and_says_the_csv_has_them_all(as_, monkeypatch):
    monkeypatch.setitem(SIZE, "rows", PAGE_ROWS + 5)
    page = as_("lead").get(page_url()).content.decode()
    assert f"The first {PAGE_ROWS} of {PAGE_ROWS + 5} rows are shown" in page
    assert f"Practice {PAGE_ROWS - 1}<" in page and f"Practice {PAGE_ROWS}<" not in page


def page_queries(client) -> int:
    client.get(page_url())  # the charts' rows exist from now on
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url()).status_code == 200
    return len(queries)


def test_the_page_shell_takes_the_same_queries_with_one_chart_or_five(as_, monkeypatch):
    client = as_("lead")
    one = page_queries(client)
    monkeypatch.setitem(SIZE, "charts", 5)
    monkeypatch.setitem(SIZE, "rows", 50)
    assert page_queries(client) == one


# The CSV


def test_the_csv_has_the_reports_rows_with_formulas_neutralised(as_, programme):
    response = as_("finance").get(csv_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="typology-nhs-west-kent-all-years.csv"'
    assert rows_of(response) == [
        ["Practice", "Projects", "Since", "Note"],
        ["Amherst Medical Practice", "3", "2025-03-03", '\'=HYPERLINK("http://evil")'],
        ["'@Kingswood Surgery", "-2", "", "'+1"],  # a negative number stays a number
        ["Plain", "12.50", "Yes", "fine"],
    ]


def test_the_csv_is_for_the_chosen_scope_and_named_after_it(as_, programme):
    pcn = PcnFactory(commissioner=programme.commissioner, name="Riverside PCN")
    response = as_("lead").get(csv_url(pcn=pcn.pk, year=2025))
    assert SEEN[-1] == Scope(commissioner=programme.commissioner, pcn=pcn, year=2025)
    assert response["Content-Disposition"] == 'attachment; filename="typology-nhs-west-kent-riverside-pcn-2025-26.csv"'


def test_values_are_shown_in_the_nhs_style():
    values = [None, "", True, date(2025, 3, 3), 6500, 12.5, Decimal("1250")]
    assert [shown(value) for value in values] == ["—", "—", "Yes", "3 March 2025", "6,500", "12.5", "1,250.00"]


# The chart poll partial


def chart_key(client) -> str:
    client.get(page_url())
    return ReportChart.objects.get().key


@pytest.mark.parametrize("who", ["lead", "finance", "admin"])
def test_whoever_sees_the_report_can_poll_its_chart(as_, who):
    key = chart_key(as_("lead"))
    response = as_(who).get(reverse("programme:chart", args=[key]))
    assert response.status_code == 200
    assert (
        "Drawing the chart" in response.content.decode()
        and f'hx-get="/programme/charts/{key}/"' in response.content.decode()
    )


def test_the_poll_shows_the_image_once_drawn(as_):
    client = as_("lead")
    key = chart_key(client)
    render_and_store(key)
    page = client.get(reverse("programme:chart", args=[key])).content.decode()
    assert 'src="/charts/' in page and 'alt="Process-driven projects lead, 4 to 1."' in page and "hx-get" not in page


@pytest.mark.parametrize("who", ["other_lead", "coach", "nurse", "manager"])
def test_anyone_else_polling_a_chart_gets_a_404(as_, who):
    key = chart_key(as_("lead"))
    assert as_(who).get(reverse("programme:chart", args=[key])).status_code == 404


def test_an_unknown_chart_is_a_404(as_):
    assert as_("lead").get(reverse("programme:chart", args=["0" * 64])).status_code == 404
    assert as_("lead").get("/programme/charts/not-a-key/").status_code == 404


# The real reports


@pytest.fixture
def real_reports(monkeypatch):
    monkeypatch.setitem(reporting.REPORTS, FAKE, ("Typology", "evaluation.reports.typology"))


@pytest.mark.parametrize("slug", list(reporting.REPORTS))
def test_every_report_renders_and_gives_a_csv(as_, programme, real_reports, slug):
    pytest.importorskip(reporting.REPORTS[slug][1])
    client = as_("lead")
    page = client.get(page_url(slug))
    assert page.status_code == 200 and reporting.REPORTS[slug][0] in page.content.decode()
    download = client.get(csv_url(slug))
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    assert rows_of(download)[0]  # the header


def test_table_rows_are_written_escaped_with_numbers_aligned_right():
    from evaluation.report_views import table_views

    table = Table(
        title="Benefits",
        columns=(Column("Project"), Column("Projects", numeric=True), Column("Said")),
        rows=(("<script>alert(1)</script>", 1250, 'Less "chasing" & fewer calls'),),
    )
    html = str(table_views((table,))[0].body_html)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<td class="text-end text-nowrap">1,250</td>' in html
    assert "<td>Less &quot;chasing&quot; &amp; fewer calls</td>" in html
    assert html.startswith('<tr><th scope="row">')
