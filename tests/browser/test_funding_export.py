"""Finance, signed in with two-factor, downloads the current year's funding report as XLSX and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from microsystems.tests.factories import PASSWORD
from projects.models import Payment, PaymentKind, PaymentStatus, financial_year_label, financial_year_of
from projects.payments.reports import PAYMENT_COLUMNS
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import PaymentFactory

HEADERS = [column.header for column in PAYMENT_COLUMNS]
COMMITTED = [PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID]


@pytest.fixture
def prog(transactional_db, programme, settings):
    settings.REQUIRE_TWO_FACTOR = True  # as in production: finance needs a code from their app
    return programme


@pytest.fixture
def this_year(prog):
    """This financial year's payments: one paid with a reference, one due, one cancelled, a negative adjustment."""
    today = timezone.localdate()
    year = financial_year_of(today)
    start = date(year, 4, 1)
    project = ProjectFactory(
        practice=prog.practice,
        title="Test results handling",
        starts_on=start,
        planned_end_on=date(year, 7, 1),
        needs_ongoing_resources=True,
        ongoing_resources="=A half-day of admin time a week",
    )
    paid = PaymentFactory(
        project=project,
        amount=Decimal("1500.00"),
        due_on=start,
        status=PaymentStatus.PAID,
        paid_on=start,
        reference="PO-4471",
    )
    PaymentFactory(project=project, milestone="completion", amount=Decimal("1500.00"), due_on=today)
    PaymentFactory(
        project=ProjectFactory(practice=prog.sibling_practice),
        amount=Decimal("990.00"),
        due_on=start,
        status=PaymentStatus.CANCELLED,
    )
    PaymentFactory(
        project=project,
        kind=PaymentKind.ADJUSTMENT,
        milestone="",
        percent=None,
        adjusts=paid,
        amount=Decimal("-120.00"),
        due_on=today,
        reason="One session was paid twice.",
    )
    PaymentFactory(project=ProjectFactory(practice=prog.other_practice), amount=Decimal("777.00"), due_on=start)
    return {"year": year, "paid": paid}


def committed_in_db(prog, year: int) -> Decimal:
    return Payment.objects.filter(
        financial_year=year, status__in=COMMITTED, project__practice__commissioner=prog.commissioner
    ).aggregate(total=Sum("amount"))["total"]


def sign_in_with_two_factor(page: Page, base_url: str, email: str, device: TOTPDevice) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your security code")).to_be_visible()
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    page.get_by_label("Code").fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def test_finance_downloads_the_current_years_report_as_xlsx_and_csv(page: Page, live_server, prog, this_year, tmp_path):
    year, paid = this_year["year"], this_year["paid"]
    device = TOTPDevice.objects.create(user=prog.finance, name="Authenticator app", confirmed=True)
    sign_in_with_two_factor(page, live_server.url, prog.finance.email, device)

    page.goto(f"{live_server.url}/payments/reports/")
    label = financial_year_label(year)
    expect(page.get_by_role("heading", name=f"Totals for {label}")).to_be_visible()
    expect(page.get_by_text("Crowborough Surgery")).to_have_count(0)  # the other commissioner's practice

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name=f"Download {label} as a spreadsheet (XLSX)").click()
    xlsx = xlsx_download.value
    assert xlsx.suggested_filename == f"funding-{label.replace('/', '-')}.xlsx"
    xlsx_path = tmp_path / xlsx.suggested_filename
    xlsx.save_as(xlsx_path)

    sheet = load_workbook(xlsx_path)["Payments"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2) if isinstance(row[0].value, int)}
    assert len(rows) == 4
    known = {HEADERS[i]: cell.value for i, cell in enumerate(rows[paid.pk])}
    assert known["Practice ODS code"] == "G82013"
    assert known["Amount (£)"] == 1500 and known["Reference"] == "PO-4471"
    assert known["Paid on"].date() == paid.paid_on
    assert known["Ongoing resources"] == "=A half-day of admin time a week"
    assert rows[paid.pk][HEADERS.index("Ongoing resources")].data_type == "s"  # text, not a formula
    totals = {row[1].value: row[HEADERS.index("Amount (£)")].value for row in sheet.iter_rows(min_row=2)}
    assert Decimal(str(totals["Total committed (due, approved and paid)"])) == committed_in_db(prog, year)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Payments (CSV)").click()
    download = csv_download.value
    assert download.suggested_filename == f"funding-{label.replace('/', '-')}-payments.csv"
    csv_path = tmp_path / download.suggested_filename
    download.save_as(csv_path)
    header, *lines = list(csv.reader(io.StringIO(Path(csv_path).read_text(encoding="utf-8-sig"))))
    assert header == HEADERS
    by_id = {int(line[0]): dict(zip(HEADERS, line, strict=True)) for line in lines}
    assert set(by_id) == set(rows)
    assert by_id[paid.pk]["Amount (£)"] == "1500.00" and by_id[paid.pk]["Reference"] == "PO-4471"
    assert by_id[paid.pk]["Ongoing resources"] == "'=A half-day of admin time a week"
    committed = sum(Decimal(line["Amount (£)"]) for line in by_id.values() if line["Status"] != "Cancelled")
    assert committed == committed_in_db(prog, year) == Decimal("2880.00")
