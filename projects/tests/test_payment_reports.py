"""The funding reports and their CSV and XLSX downloads: totals, years, safety in Excel, and who sees what."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q, Sum
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from projects.models import (
    ApplicationStatus,
    FundingApplication,
    FundingRoute,
    Payment,
    PaymentKind,
    PaymentStatus,
    financial_year_label,
)
from projects.payments import reports
from projects.payments.exports import SHEETS, csv_lines, filename, write_xlsx
from projects.payments.reports import BY_COMMISSIONER, BY_PCN, BY_PRACTICE, BY_ROUTE, payment_rows

from .factories import ProjectFactory
from .payment_factories import PaymentFactory

YEAR = 2025  # 2025/26: 1 April 2025 to 31 March 2026
COMMITTED = [PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID]
HEADERS = [column.header for column in reports.PAYMENT_COLUMNS]
INJECTIONS = ["=1+1", "+44 20 7946 0000", "-2", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def paid(**fields: Any) -> Payment:
    return PaymentFactory(
        **{"status": PaymentStatus.PAID, "paid_on": date(2025, 7, 1), "reference": "PO-1001", **fields}
    )


@pytest.fixture
def book(programme):
    """A year of West's payments at every status, an adjustment, one of East's, and one from the year before."""
    first = ProjectFactory(
        practice=programme.practice,
        title="Test results handling",
        needs_ongoing_resources=True,
        ongoing_resources="A half-day of admin time each week, from the practice budget.",
    )
    second = ProjectFactory(practice=programme.practice, title="Repeat prescriptions")
    sibling = ProjectFactory(practice=programme.sibling_practice, title="Diabetes annual reviews")
    other = ProjectFactory(practice=programme.other_practice, title="Care home rounds")
    agreement = paid(project=first, amount=Decimal("1500.00"), due_on=date(2025, 5, 6))
    application = FundingApplication.objects.create(
        project=second,
        why="More staff time.",
        amount_requested=Decimal("2000.00"),
        pays_for="Staff time",
        needs_ongoing_resources=False,
        status=ApplicationStatus.APPROVED,
        amount_approved=Decimal("1800.00"),
        decision_reason="Within the budget.",
        decided_by=programme.lead,
        submitted_at=timezone.make_aware(datetime(2025, 5, 1, 10)),
        decided_at=timezone.make_aware(datetime(2025, 5, 9, 10)),
    )
    return {
        "agreement": agreement,
        "completion": PaymentFactory(
            project=first,
            milestone="completion",
            amount=Decimal("1500.00"),
            due_on=date(2025, 9, 1),
            status=PaymentStatus.APPROVED,
        ),
        "adjustment": PaymentFactory(
            project=first,
            kind=PaymentKind.ADJUSTMENT,
            milestone="",
            percent=None,
            adjusts=agreement,
            amount=Decimal("-150.00"),
            due_on=date(2025, 10, 1),
            reason="Paid twice for one session.",
        ),
        "subsequent": PaymentFactory(
            project=second,
            route=FundingRoute.APPLICATION,
            application=application,
            amount=Decimal("900.00"),
            due_on=date(2025, 6, 2),
        ),
        "cancelled": PaymentFactory(
            project=sibling,
            amount=Decimal("1250.50"),
            due_on=date(2026, 3, 31),
            status=PaymentStatus.CANCELLED,
            cancel_reason="The practice withdrew.",
        ),
        "sibling_due": PaymentFactory(
            project=sibling, milestone="completion", amount=Decimal("1249.50"), due_on=date(2026, 1, 5)
        ),
        "other": PaymentFactory(project=other, amount=Decimal("999.99"), due_on=date(2025, 8, 1)),
        "last_year": PaymentFactory(
            project=ProjectFactory(practice=programme.practice), amount=Decimal("700.00"), due_on=date(2025, 3, 31)
        ),
        "application": application,
        "rejected": FundingApplication.objects.create(
            project=sibling,
            why="Cover for a nurse.",
            amount_requested=Decimal("500.00"),
            pays_for="Nurse time",
            needs_ongoing_resources=True,
            ongoing_resources_plan="The PCN will fund it.",
            status=ApplicationStatus.REJECTED,
            decision_reason="Not in this year's priorities.",
            submitted_at=timezone.make_aware(datetime(2025, 11, 3, 9)),
            decided_at=timezone.make_aware(datetime(2025, 11, 20, 9)),
        ),
    }


def db_sum(*conditions: Q, **filters: Any) -> Decimal:
    return Payment.objects.filter(*conditions, **filters).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def west_sum(programme, *statuses: str) -> Decimal:
    return db_sum(
        financial_year=YEAR, project__practice__commissioner=programme.commissioner, status__in=list(statuses)
    )


def read_csv(content: str) -> list[list[str]]:
    assert content.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(content[1:])))


def downloaded(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def as_user(client, user):
    client.force_login(user)
    return client


# Totals against the database


def test_the_years_totals_by_status_are_the_database_sums(programme, book):
    west = {programme.commissioner.pk}
    totals = reports.totals(YEAR, west)
    assert totals.due == west_sum(programme, PaymentStatus.DUE) == Decimal("1999.50")  # 900 + 1249.50 - 150
    assert totals.approved == west_sum(programme, PaymentStatus.APPROVED) == Decimal("1500.00")
    assert totals.paid == west_sum(programme, PaymentStatus.PAID) == Decimal("1500.00")
    assert totals.cancelled == west_sum(programme, PaymentStatus.CANCELLED) == Decimal("1250.50")
    assert totals.committed == west_sum(programme, *COMMITTED) == Decimal("4999.50")
    assert (totals.payments, totals.projects, totals.ongoing) == (6, 3, 1)


def test_each_practices_and_pcns_totals_are_the_database_sums_and_add_up_to_the_year(programme, book):
    west = {programme.commissioner.pk}
    for summary in (BY_COMMISSIONER, BY_PCN, BY_PRACTICE):
        rows = list(reports.summary_rows(summary, YEAR, west))
        assert sum(row.totals.committed for row in rows) == west_sum(programme, *COMMITTED)
    practices = {row.labels[-1]: row.totals for row in reports.summary_rows(BY_PRACTICE, YEAR, west)}
    for practice in (programme.practice, programme.sibling_practice):
        in_practice = {"financial_year": YEAR, "project__practice": practice}
        assert practices[practice.ods_code].committed == db_sum(**in_practice, status__in=COMMITTED)
        assert practices[practice.ods_code].cancelled == db_sum(**in_practice, status=PaymentStatus.CANCELLED)
    (commissioner,) = reports.summary_rows(BY_COMMISSIONER, YEAR, west)
    assert commissioner.labels == ("NHS West Kent", "99J")
    pcns = {row.labels[2]: row.labels[3] for row in reports.summary_rows(BY_PCN, YEAR, west)}
    assert pcns == {
        programme.practice.pcn.name: programme.practice.pcn.code,
        programme.sibling_practice.pcn.name: programme.sibling_practice.pcn.code,
    }


def test_the_split_separates_first_projects_from_subsequent_ones_and_shows_both(programme, book):
    first, subsequent = reports.route_split(YEAR, {programme.commissioner.pk})
    assert first.labels == ("First project",) and subsequent.labels == ("Subsequent",)
    assert subsequent.totals.committed == Decimal("900.00")
    west = Q(financial_year=YEAR, status__in=COMMITTED, project__practice__commissioner=programme.commissioner)
    assert first.totals.committed == db_sum(west, route=FundingRoute.FIRST_PROJECT) == Decimal("4099.50")
    assert first.totals.committed + subsequent.totals.committed == west_sum(programme, *COMMITTED)
    _, nothing = reports.route_split(YEAR, {programme.other_commissioner.pk})
    assert nothing.totals.payments == 0 and nothing.totals.committed == Decimal("0.00")


def test_a_payment_due_on_31_march_is_in_the_year_ending_then_and_one_due_on_1_april_in_the_next(programme):
    project = ProjectFactory(practice=programme.practice)
    march = PaymentFactory(project=project, due_on=date(2026, 3, 31))
    april = PaymentFactory(project=project, milestone="completion", due_on=date(2026, 4, 1))
    west = {programme.commissioner.pk}
    assert [row[0] for row in payment_rows(2025, west)] == [march.pk]
    assert [row[0] for row in payment_rows(2026, west)] == [april.pk]
    assert reports.totals(2025, west).due == march.amount
    assert reports.totals(2026, west).due == april.amount
    assert reports.report_years(west)[:2] == sorted({2026, 2025, reports.current_financial_year()}, reverse=True)[:2]


def test_payment_rows_carry_codes_route_milestone_and_the_projects_ongoing_resources(programme, book):
    rows = {row[0]: dict(zip(HEADERS, row, strict=True)) for row in payment_rows(YEAR, {programme.commissioner.pk})}
    agreement = rows[book["agreement"].pk]
    assert agreement["Commissioner ODS code"] == "99J"
    assert agreement["Practice ODS code"] == "G82013"
    assert agreement["PCN code"] == programme.practice.pcn.code
    assert agreement["Funding"] == "First project"
    assert agreement["Payment for"] == "Coaching agreement signed"
    assert agreement["Amount (£)"] == Decimal("1500.00")
    assert agreement["Status"] == "Paid"
    assert (agreement["Paid on"], agreement["Reference"]) == (date(2025, 7, 1), "PO-1001")
    assert agreement["Needs ongoing resources"] == "Yes"
    assert agreement["Ongoing resources"].startswith("A half-day of admin time")
    adjustment = rows[book["adjustment"].pk]
    assert (adjustment["Payment for"], adjustment["Adjusts payment ID"]) == ("Adjustment", book["agreement"].pk)
    assert rows[book["subsequent"].pk]["Funding"] == "Subsequent"
    assert rows[book["subsequent"].pk]["Needs ongoing resources"] == "No"
    assert book["other"].pk not in rows and book["last_year"].pk not in rows


def test_applications_are_reported_with_their_outcomes(programme, book):
    west = {programme.commissioner.pk}
    names = [field for _, field in reports.APPLICATION_FIELDS]
    rows = [dict(zip(names, row, strict=True)) for row in reports.application_rows(YEAR, west)]
    by_id = {row["id"]: row for row in rows}
    approved = by_id[book["application"].pk]
    assert (approved["amount_requested"], approved["amount_approved"]) == (Decimal("2000.00"), Decimal("1800.00"))
    assert (approved["status_label"], approved["submitted_on"], approved["decided_on"]) == (
        "Approved",
        date(2025, 5, 1),
        date(2025, 5, 9),
    )
    rejected = by_id[book["rejected"].pk]
    assert rejected["status_label"] == "Rejected" and rejected["decision_reason"] == "Not in this year's priorities."
    assert rejected["ongoing_resources_plan"] == "The PCN will fund it."
    totals = reports.application_totals(YEAR, west)
    assert (totals.applications, totals.approved, totals.rejected, totals.pending) == (2, 1, 1, 0)
    assert (totals.requested, totals.amount_approved) == (Decimal("2500.00"), Decimal("1800.00"))
    assert reports.application_totals(YEAR + 1, west).applications == 0


# CSV


def test_the_csv_streams_every_payment_of_the_year_with_plain_numbers_and_iso_dates(client, programme, book):
    response = as_user(client, programme.finance).get(reverse("payments:export_csv"), {"year": YEAR})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="funding-2025-26-payments.csv"'
    header, *rows = read_csv(downloaded(response))
    assert header == HEADERS
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_id) == {p.pk for k, p in book.items() if k not in {"other", "last_year", "application", "rejected"}}
    agreement = by_id[book["agreement"].pk]
    assert (agreement["Amount (£)"], agreement["Due from"], agreement["Paid on"]) == (
        "1500.00",
        "2025-05-06",
        "2025-07-01",
    )
    assert by_id[book["adjustment"].pk]["Amount (£)"] == "-150.00"  # a number: no apostrophe
    assert by_id[book["completion"].pk]["Paid on"] == ""
    csv_total = sum(Decimal(row["Amount (£)"]) for row in by_id.values() if row["Status"] != "Cancelled")
    assert csv_total == west_sum(programme, *COMMITTED)


def test_text_that_excel_would_run_as_a_formula_is_neutralised_in_the_csv(client, programme):
    for text in INJECTIONS:
        project = ProjectFactory(
            practice=programme.practice, title=text, needs_ongoing_resources=True, ongoing_resources=text
        )
        paid(project=project, amount=Decimal("10.00"), reference=text, due_on=date(2025, 6, 1))
    content = downloaded(as_user(client, programme.finance).get(reverse("payments:export_csv"), {"year": YEAR}))
    header, *rows = read_csv(content)
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        original = cells["Project"][1:]
        assert original in INJECTIONS, cells["Project"]
        assert cells["Project"] == cells["Reference"] == cells["Ongoing resources"] == f"'{original}"
        assert cells["Amount (£)"] == "10.00"
    assert len(rows) == len(INJECTIONS)


def test_csv_lines_neutralise_text_columns_only_so_a_negative_amount_stays_a_number():
    rows = [
        (
            1,
            "=HYPERLINK(x)",
            "99J",
            "",
            "",
            "-2",
            "G1",
            "@me",
            3,
            "First project",
            "Adjustment",
            7,
            Decimal("-150.00"),
            "Due",
            date(2026, 3, 31),
            None,
            "\t",
            "No",
            "\rx",
        )
    ]
    _, line = read_csv("".join(csv_lines(rows)))
    assert line[1] == "'=HYPERLINK(x)" and line[5] == "'-2" and line[7] == "'@me"
    assert line[16] == "'\t" and line[18] == "'\rx"
    assert (line[0], line[11], line[12], line[14], line[15]) == ("1", "7", "-150.00", "2026-03-31", "")


@pytest.mark.parametrize(
    ("view", "summary"),
    [("commissioners", BY_COMMISSIONER), ("pcns", BY_PCN), ("practices", BY_PRACTICE), ("split", BY_ROUTE)],
)
def test_each_summary_csv_ends_with_the_database_totals(client, programme, book, view, summary):
    response = as_user(client, programme.lead).get(reverse("payments:export_csv"), {"year": YEAR, "view": view})
    assert response["Content-Disposition"] == f'attachment; filename="funding-2025-26-{view}.csv"'
    header, *rows, total = read_csv(downloaded(response))
    assert header == [column.header for column in summary.columns]
    assert total[0] == "Total"
    cells = dict(zip(header, total, strict=True))
    assert Decimal(cells["Committed (£)"]) == west_sum(programme, *COMMITTED)
    assert Decimal(cells["Cancelled (£)"]) == west_sum(programme, PaymentStatus.CANCELLED)
    assert sum(Decimal(dict(zip(header, row, strict=True))["Paid (£)"]) for row in rows) == Decimal(cells["Paid (£)"])


def test_the_applications_csv_lists_the_years_applications(client, programme, book):
    response = as_user(client, programme.finance).get(
        reverse("payments:export_csv"), {"year": YEAR, "view": "applications"}
    )
    header, *rows = read_csv(downloaded(response))
    assert header == [column.header for column in reports.APPLICATION_COLUMNS]
    outcomes = {row[0]: (row[header.index("Outcome")], row[header.index("Approved (£)")]) for row in rows}
    assert outcomes == {
        str(book["application"].pk): ("Approved", "1800.00"),
        str(book["rejected"].pk): ("Rejected", ""),
    }


def test_an_unknown_view_or_year_is_not_found(client, programme):
    as_user(client, programme.finance)
    assert client.get(reverse("payments:export_csv"), {"view": "secrets"}).status_code == 404
    assert client.get(reverse("payments:export_csv"), {"year": "next"}).status_code == 404
    assert client.get(reverse("payments:export_xlsx"), {"year": "1066"}).status_code == 404


# XLSX


def xlsx_of(client, user, year: int = YEAR):
    response = as_user(client, user).get(reverse("payments:export_xlsx"), {"year": year})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename(year, "", "xlsx")}"'
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_the_workbook_has_a_sheet_per_view_with_a_bold_frozen_header(client, programme, book):
    workbook = xlsx_of(client, programme.finance)
    assert workbook.sheetnames == list(SHEETS)
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
    assert [cell.value for cell in workbook["Payments"][1]] == HEADERS


def test_the_payments_sheet_has_amounts_as_pounds_dates_as_dates_and_database_totals(client, programme, book):
    sheet = xlsx_of(client, programme.finance)["Payments"]
    rows = list(sheet.iter_rows(min_row=2))
    by_id = {row[0].value: row for row in rows if isinstance(row[0].value, int)}
    amount_at, due_at = HEADERS.index("Amount (£)"), HEADERS.index("Due from")
    agreement = by_id[book["agreement"].pk]
    assert agreement[amount_at].value == 1500 and agreement[amount_at].number_format == '"£"#,##0.00'
    assert isinstance(agreement[due_at].value, datetime) and agreement[due_at].value.date() == date(2025, 5, 6)
    assert agreement[due_at].is_date
    adjustment = by_id[book["adjustment"].pk][amount_at]
    assert adjustment.value == -150 and adjustment.data_type == "n"
    totals = {row[1].value: row[amount_at].value for row in rows if str(row[1].value).startswith("Total")}
    assert Decimal(str(totals["Total committed (due, approved and paid)"])) == west_sum(programme, *COMMITTED)
    assert Decimal(str(totals["Total cancelled"])) == west_sum(programme, PaymentStatus.CANCELLED)
    assert Decimal(str(totals["Total paid"])) == west_sum(programme, PaymentStatus.PAID)
    assert all(row[amount_at].font.b for row in rows if str(row[1].value).startswith("Total"))


def test_each_summary_sheet_ends_with_a_totals_row_equal_to_the_database_sum(client, programme, book):
    workbook = xlsx_of(client, programme.lead)
    for summary in (BY_COMMISSIONER, BY_PCN, BY_PRACTICE, BY_ROUTE):
        sheet = workbook[summary.sheet]
        header = [cell.value for cell in sheet[1]]
        last = list(sheet[sheet.max_row])
        assert last[0].value == "Total"
        committed = last[header.index("Committed (£)")]
        assert Decimal(str(committed.value)) == west_sum(programme, *COMMITTED)
        assert committed.number_format == '"£"#,##0.00'
    applications = workbook["Applications"]
    header = [cell.value for cell in applications[1]]
    last = list(applications[applications.max_row])
    assert last[header.index("Requested (£)")].value == 2500 and last[header.index("Approved (£)")].value == 1800
    submitted = applications[2][header.index("Submitted on")]
    assert submitted.is_date


def test_text_that_excel_would_run_as_a_formula_is_a_plain_string_cell_in_the_workbook(client, programme):
    for text in INJECTIONS:
        project = ProjectFactory(practice=programme.practice, title=text)
        paid(project=project, reference=text, amount=Decimal("1.00"), due_on=date(2025, 6, 1))
    sheet = xlsx_of(client, programme.finance)["Payments"]
    project_at, reference_at, amount_at = (
        HEADERS.index("Project"),
        HEADERS.index("Reference"),
        HEADERS.index("Amount (£)"),
    )
    rows = [row for row in sheet.iter_rows(min_row=2) if isinstance(row[0].value, int)]
    assert sorted(row[project_at].value for row in rows) == sorted(INJECTIONS)  # the text kept exactly
    for row in rows:
        for cell in (row[project_at], row[reference_at]):
            assert cell.data_type == "s", f"{cell.value!r} would run as a formula"
            assert cell.quotePrefix
        assert row[amount_at].value == 1 and row[amount_at].data_type == "n"


def test_write_xlsx_writes_a_workbook_for_a_year_with_nothing_in_it(programme):
    out = io.BytesIO()
    write_xlsx(out, 2030, {programme.commissioner.pk})
    workbook = load_workbook(io.BytesIO(out.getvalue()))
    payments = workbook["Payments"]
    assert [cell.value for cell in payments[1]] == HEADERS
    assert payments.max_row == 1 + 5  # the header and the five totals rows, each £0.00
    assert {row[reports.AMOUNT_INDEX].value for row in payments.iter_rows(min_row=2)} == {0}


# Who sees what


@pytest.mark.parametrize("who", ["finance", "lead"])
def test_finance_and_the_lead_see_only_their_commissioners_payments(client, programme, book, who):
    client = as_user(client, getattr(programme, who))
    content = downloaded(client.get(reverse("payments:export_csv"), {"year": YEAR}))
    ids = {int(row[0]) for row in read_csv(content)[1:]}
    assert book["agreement"].pk in ids and book["other"].pk not in ids
    sheet = load_workbook(
        io.BytesIO(b"".join(client.get(reverse("payments:export_xlsx"), {"year": YEAR}).streaming_content))
    )["Payments"]
    assert book["other"].pk not in {row[0].value for row in sheet.iter_rows(min_row=2)}
    page = client.get(reverse("payments:reports"), {"year": YEAR})
    assert "NHS West Kent" in page.content.decode() and "NHS High Weald" not in page.content.decode()


def test_the_other_commissioners_lead_gets_none_of_these_payments(client, programme, book):
    client = as_user(client, programme.other_lead)
    content = downloaded(client.get(reverse("payments:export_csv"), {"year": YEAR}))
    ids = {int(row[0]) for row in read_csv(content)[1:]}
    assert ids == {book["other"].pk}
    page = client.get(reverse("payments:reports"), {"year": YEAR}).content.decode()
    assert "Amherst Medical Practice" not in page and "Crowborough Surgery" in page


def test_a_staff_admin_reports_on_every_commissioner(client, programme, book):
    content = downloaded(as_user(client, programme.admin).get(reverse("payments:export_csv"), {"year": YEAR}))
    ids = {int(row[0]) for row in read_csv(content)[1:]}
    assert {book["agreement"].pk, book["other"].pk} <= ids


@pytest.mark.parametrize("who", ["coach", "manager", "nurse", "other_nurse"])
@pytest.mark.parametrize("name", ["payments:reports", "payments:export_csv", "payments:export_xlsx"])
def test_coaches_and_practice_staff_get_not_found(client, programme, book, who, name):
    assert as_user(client, getattr(programme, who)).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", ["payments:reports", "payments:export_csv", "payments:export_xlsx"])
def test_anyone_signed_out_is_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# The page


def test_the_page_shows_the_years_summaries_split_applications_and_downloads(client, programme, book):
    response = as_user(client, programme.finance).get(reverse("payments:reports"), {"year": YEAR})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Totals for 2025/26" in page
    assert "£4,999.50" in page  # committed
    assert "£1,250.50" in page  # cancelled
    assert "First projects and subsequent projects" in page
    assert "Amherst Medical Practice" in page and "G82016" in page
    assert "Not in this year&#x27;s priorities." in page
    assert "A half-day of admin time each week" in page  # the project's ongoing resources
    assert f"{reverse('payments:export_xlsx')}?year={YEAR}" in page
    assert f"{reverse('payments:export_csv')}?view=practices&amp;year={YEAR}" in page


def test_the_page_defaults_to_the_current_year_and_says_when_it_is_empty(client, programme):
    page = as_user(client, programme.lead).get(reverse("payments:reports")).content.decode()
    label = financial_year_label(reports.current_financial_year())
    assert f"Totals for {label}" in page
    assert f"No payments fell due in {label}" in page


def test_a_year_that_is_not_a_year_is_shown_at_the_field(client, programme, book):
    response = as_user(client, programme.finance).get(reverse("payments:reports"), {"year": "<b>2025</b>"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose a financial year from the list." in page
    assert "<b>2025</b>" not in page


def test_text_on_the_page_is_escaped(client, programme):
    project = ProjectFactory(
        practice=programme.practice,
        title="<script>alert(1)</script>",
        needs_ongoing_resources=True,
        ongoing_resources="<img src=x>",
    )
    PaymentFactory(project=project, due_on=date(2025, 6, 1))
    page = as_user(client, programme.finance).get(reverse("payments:reports"), {"year": YEAR}).content.decode()
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page


def test_the_page_runs_the_same_number_of_queries_with_few_or_many_payments(client, programme, book):
    client = as_user(client, programme.finance)
    url = reverse("payments:reports")
    client.get(url, {"year": YEAR})  # the session's first page also loads the user's roles
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"year": YEAR})
    for n in range(20):
        project = ProjectFactory(practice=programme.sibling_practice if n % 2 else programme.practice)
        PaymentFactory(project=project, due_on=date(2025, 6, 1), amount=Decimal("10.00"))
        FundingApplication.objects.create(
            project=project,
            why="Why",
            amount_requested=Decimal("10.00"),
            pays_for="Time",
            needs_ongoing_resources=False,
            submitted_at=timezone.make_aware(datetime(2025, 6, 1, 9)),
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"year": YEAR})
    assert response.status_code == 200
    assert len(many) == len(few)


def test_the_formula_guard_copes_with_empty_cells_and_a_single_text_column():
    from projects.payments.exports import _safe_rows

    rows = [("=HYPERLINK(1)", None, 5), (None, "+44 1234", 6), ("plain", "text", 7)]

    assert [list(r) for r in _safe_rows(rows, (0, 1))] == [
        ["'=HYPERLINK(1)", None, 5],
        [None, "'+44 1234", 6],
        ["plain", "text", 7],
    ]
    assert [list(r) for r in _safe_rows([("@SUM(A1)", 1)], (0,))] == [["'@SUM(A1)", 1]]
