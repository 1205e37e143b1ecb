"""The funding reports as files finance can open in Excel: CSV streamed row by row, and XLSX.

Both are safe to open: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return cannot run as a formula. In the CSV it gets a leading apostrophe (Excel's own
"this is text" mark); in the XLSX it is written as an explicit string cell with Excel's quote
prefix, so its text is kept exactly and Excel still never evaluates it, even after an edit.
Amounts are never text: a negative adjustment is the number -150.00, not a formula to guard.

The CSV holds one view; the XLSX holds every view, one sheet each, with amounts as numbers in
a £ format, dates as dates, a bold frozen header and a totals row from the database.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..models import financial_year_label
from . import reports
from .reports import DATE, MONEY, TEXT, Column, CommissionerIds, Summary

FORMULA_STARTS = frozenset("=+-@\t\r")
BATCH_ROWS = 500  # CSV rows joined into one chunk of the response
MONEY_FORMAT = '"£"#,##0.00'
DATE_FORMAT = "dd/mm/yyyy"
BOLD = Font(bold=True)


def is_formula_like(value: Any) -> bool:
    """Text that a spreadsheet would take for a formula (numbers and dates never are)."""
    return isinstance(value, str) and value[:1] in FORMULA_STARTS


def neutralised(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; anything else is unchanged."""
    return f"'{value}" if is_formula_like(value) else value


def filename(year: int, view: str, extension: str) -> str:
    """``funding-2026-27-payments.csv``; the XLSX, with every view, is ``funding-2026-27.xlsx``."""
    stem = f"funding-{financial_year_label(year).replace('/', '-')}"
    return f"{stem}-{view}.{extension}" if view else f"{stem}.{extension}"


# CSV


class _Lines:
    """What ``csv.writer`` writes into: the lines of one batch, handed over by ``take``."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def _text_getter(text_at: tuple[int, ...]) -> Callable[[Sequence[Any]], Iterable[Any]]:
    getter = itemgetter(*text_at)
    if len(text_at) == 1:  # itemgetter of one index returns the value itself, not a tuple
        return lambda row: (getter(row),)
    return getter


def _safe_rows(rows: Iterable[Sequence[Any]], text_at: tuple[int, ...]) -> Iterator[Sequence[Any]]:
    if not text_at:
        yield from rows
        return
    # The check runs on every row of a 100,000-row export: map and isdisjoint keep it in C.
    texts, first_character, plain = _text_getter(text_at), itemgetter(slice(0, 1)), FORMULA_STARTS.isdisjoint
    for row in rows:
        try:
            clean = plain(map(first_character, texts(row)))
        except TypeError:  # an empty (None) cell among the text columns
            clean = not any(is_formula_like(row[i]) for i in text_at)
        if not clean:
            row = list(row)
            for i in text_at:
                row[i] = neutralised(row[i])
        yield row


def csv_lines(rows: Iterable[Sequence[Any]], columns: Sequence[Column] = reports.PAYMENT_COLUMNS) -> Iterator[str]:
    """The CSV text of ``rows`` (tuples following ``columns``), in chunks of ``BATCH_ROWS`` lines.

    The first chunk starts with a byte-order mark (so Excel reads UTF-8) and the header. Text
    columns are neutralised against formulas; amounts and ids are written as plain numbers,
    dates as ``2026-03-31``, a missing value as an empty cell. Nothing is held but one batch,
    so memory stays flat whatever the number of rows; give it ``reports.payment_rows(..., as_text=True)``.
    """
    text_at = tuple(i for i, column in enumerate(columns) if column.kind == TEXT)
    out = _Lines()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.header for column in columns])
    yield "\ufeff" + out.take()
    safe = _safe_rows(rows, text_at)
    while batch := list(islice(safe, BATCH_ROWS)):
        writer.writerows(batch)
        yield out.take()


def summary_csv_lines(summary: Summary, year: int, commissioner_ids: CommissionerIds) -> Iterator[str]:
    """One summary as CSV: a row per group, then the totals row from the database."""
    total = reports.totals(year, commissioner_ids)
    blanks = ("",) * (len(summary.label_fields) - 1)
    rows = (row.cells for row in reports.summary_rows(summary, year, commissioner_ids))
    total_row = ("Total", *blanks, *(getattr(total, name) for name in reports.TOTAL_NAMES))
    return csv_lines(_then(rows, total_row), summary.columns)


def _then(rows: Iterable[Sequence[Any]], last: Sequence[Any]) -> Iterator[Sequence[Any]]:
    yield from rows
    yield last


@dataclass(frozen=True)
class CsvView:
    slug: str
    title: str


CSV_VIEWS = {
    "payments": CsvView("payments", "Payments"),
    "commissioners": CsvView("commissioners", reports.BY_COMMISSIONER.title),
    "pcns": CsvView("pcns", reports.BY_PCN.title),
    "practices": CsvView("practices", reports.BY_PRACTICE.title),
    "split": CsvView("split", reports.BY_ROUTE.title),
    "applications": CsvView("applications", "Applications"),
}
_SUMMARY_BY_SLUG = {s.slug: s for s in (*reports.SUMMARIES, reports.BY_ROUTE)}


def csv_for(view: str, year: int, commissioner_ids: CommissionerIds) -> Iterator[str]:
    """The chunks of one view's CSV (a key of ``CSV_VIEWS``)."""
    if view == "payments":
        return csv_lines(reports.payment_rows(year, commissioner_ids, as_text=True), reports.PAYMENT_COLUMNS)
    if view == "applications":
        return csv_lines(reports.application_rows(year, commissioner_ids), reports.APPLICATION_COLUMNS)
    return summary_csv_lines(_SUMMARY_BY_SLUG[view], year, commissioner_ids)


# XLSX


class _Sheet:
    """One write-only sheet: a bold frozen header, then rows written cell by kind of column."""

    def __init__(self, workbook: Workbook, title: str, columns: Sequence[Column]) -> None:
        self.sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
        self.columns = columns
        for number, column in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(number)].width = column.width
        self.sheet.freeze_panes = "A2"
        self.sheet.append([self._cell(column.header, bold=True) for column in columns])

    def _cell(self, value: Any, *, kind: str = TEXT, bold: bool = False) -> Any:
        if kind == TEXT and isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if not bold and not is_formula_like(value):
                return value  # a plain string cell; openpyxl only takes "=…" for a formula
        cell = WriteOnlyCell(self.sheet, value=value)
        if kind == TEXT and isinstance(value, str) and is_formula_like(value):
            cell.data_type = "s"  # text, never a formula
            cell.quotePrefix = True
        elif kind == MONEY:
            cell.number_format = MONEY_FORMAT
        elif kind == DATE:
            cell.number_format = DATE_FORMAT
        if bold:
            cell.font = BOLD
        return cell

    def row(self, values: Sequence[Any], *, bold: bool = False) -> None:
        self.sheet.append(
            [
                self._cell(value, kind=column.kind, bold=bold) if value is not None else None
                for value, column in zip(values, self.columns, strict=True)
            ]
        )

    def rows(self, rows: Iterable[Sequence[Any]]) -> None:
        for values in rows:
            self.row(values)


def _payments_sheet(workbook: Workbook, year: int, commissioner_ids: CommissionerIds) -> None:
    sheet = _Sheet(workbook, "Payments", reports.PAYMENT_COLUMNS)
    sheet.rows(reports.payment_rows(year, commissioner_ids))
    total = reports.totals(year, commissioner_ids)
    width = len(reports.PAYMENT_COLUMNS)
    for label, amount in payment_total_rows(total):
        cells: list[Any] = [None] * width
        cells[1], cells[reports.AMOUNT_INDEX] = label, amount
        sheet.row(cells, bold=True)


def payment_total_rows(total: reports.Totals) -> list[tuple[str, Any]]:
    """The totals under the payments: one per status, then what is committed."""
    return [
        ("Total due", total.due),
        ("Total approved", total.approved),
        ("Total paid", total.paid),
        ("Total cancelled", total.cancelled),
        ("Total committed (due, approved and paid)", total.committed),
    ]


def _summary_sheet(workbook: Workbook, summary: Summary, year: int, commissioner_ids: CommissionerIds) -> None:
    sheet = _Sheet(workbook, summary.sheet, summary.columns)
    sheet.rows(row.cells for row in reports.summary_rows(summary, year, commissioner_ids))
    total = reports.totals(year, commissioner_ids)
    blanks = (None,) * (len(summary.label_fields) - 1)
    sheet.row(("Total", *blanks, *(getattr(total, name) for name in reports.TOTAL_NAMES)), bold=True)


def _applications_sheet(workbook: Workbook, year: int, commissioner_ids: CommissionerIds) -> None:
    sheet = _Sheet(workbook, "Applications", reports.APPLICATION_COLUMNS)
    sheet.rows(reports.application_rows(year, commissioner_ids))
    total = reports.application_totals(year, commissioner_ids)
    cells: list[Any] = [None] * len(reports.APPLICATION_COLUMNS)
    headers = [column.header for column in reports.APPLICATION_COLUMNS]
    cells[1] = f"Total: {total.applications} applications"
    cells[headers.index("Requested (£)")] = total.requested
    cells[headers.index("Approved (£)")] = total.amount_approved
    sheet.row(cells, bold=True)


SHEETS = ("Payments", "By commissioner", "By PCN", "By practice", "First vs subsequent", "Applications")


def write_xlsx(out: IO[bytes], year: int, commissioner_ids: CommissionerIds) -> None:
    """Every view of the year's report as one workbook, a sheet each (``SHEETS``), written to ``out``.

    Write-only: rows go to a temporary file as they are read, never all held at once.
    """
    workbook = Workbook(write_only=True)
    _payments_sheet(workbook, year, commissioner_ids)
    for summary in (*reports.SUMMARIES, reports.BY_ROUTE):
        _summary_sheet(workbook, summary, year, commissioner_ids)
    _applications_sheet(workbook, year, commissioner_ids)
    workbook.save(out)
