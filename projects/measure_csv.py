"""A measure's values as CSV: reading a pasted or uploaded file, and writing the download.

The format is ``date,value[,note]``: dates as ``dd/mm/yyyy`` or ``yyyy-mm-dd``, decimals with a
point, percentages as 0 to 100. A header row is skipped, blank lines are ignored and cells are
trimmed. The download adds ``astronomical,astronomical_reason``; a file whose header names those
columns is read with them, so a downloaded file uploads again unchanged.

A file is checked whole: every bad row is reported with its line number, and the caller saves
nothing until there are none. An import never replaces a value: a period that already has one
is a bad row ("edit it in the table"), so a paste can never silently overwrite what the team
entered by hand.

Pure functions: the caller passes the measure's unit and frequency, the periods that already
have values, and today's date.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from django.utils.dateformat import format as format_date

from .models.improvement import Frequency, Unit, period_start

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
NOTE_LIMIT = 300
REASON_LIMIT = 300
LARGEST = Decimal("999999999.999")  # the column holds 12 digits, 3 after the point
PLACES = Decimal("0.001")
NON_NEGATIVE_UNITS = frozenset({Unit.COUNT, Unit.DAYS, Unit.HOURS, Unit.MINUTES, Unit.RATE})
HEADER = ["date", "value", "note", "astronomical", "astronomical_reason"]
SHORT_COLUMNS = 3  # date, value, note
LONG_COLUMNS = len(HEADER)
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"", "no", "n", "false", "0"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class ParsedRow:
    line: int
    on: date
    value: Decimal
    note: str = ""
    astronomical: bool = False
    astronomical_reason: str = ""


@dataclass(frozen=True)
class Parsed:
    rows: list[ParsedRow]
    errors: list[RowError]

    @property
    def clean(self) -> bool:
        return not self.errors


class ValueRow(Protocol):
    on: date
    value: Decimal
    note: str
    astronomical: bool
    astronomical_reason: str


# Rules shared with the table on the measure's page


def value_problem(value: Decimal, unit: str) -> str | None:
    """Why a value cannot be a value of a measure in ``unit``, or None."""
    if not value.is_finite():
        return "the value is not a number"
    if abs(value) > LARGEST:
        return "the value is too large"
    if unit == Unit.PERCENTAGE and not 0 <= value <= 100:
        return f"{plain_number(value)} is outside 0 to 100 for a percentage"
    if unit in NON_NEGATIVE_UNITS and value < 0:
        return f"{plain_number(value)} is negative, and a {Unit(unit).label.lower()} cannot be"
    return None


def rounded(value: Decimal) -> Decimal:
    """To the three decimal places the column keeps."""
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


def plain_number(value: Decimal | float) -> str:
    """``4``, ``6.5``, ``0.125``: no trailing zeros, no exponent."""
    number = Decimal(str(value)).quantize(PLACES, rounding=ROUND_HALF_UP)
    if number == 0:
        return "0"
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def period_label(period: date, frequency: str) -> str:
    """``week of 3 March 2025`` or ``March 2025``."""
    if frequency == Frequency.MONTHLY:
        return format_date(period, "F Y")
    return f"week of {format_date(period, 'j F Y')}"


# Reading


def parse_date(text: str) -> date | None:
    """``dd/mm/yyyy`` (``d/m/yyyy`` too) or ``yyyy-mm-dd``; anything else, or an impossible day, is None."""
    if match := DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_number(text: str) -> Decimal | None:
    """A decimal with a point; no thousands separators, no exponents, no units."""
    if not NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def decode(data: bytes) -> str | None:
    """An uploaded file's text: UTF-8 (with or without Excel's byte-order mark) or Windows-1252; else None."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def parse_values(
    text: str,
    *,
    unit: str,
    frequency: str,
    existing: Mapping[date, Decimal] | None = None,
    today: date | None = None,
) -> Parsed:
    """Read ``text`` whole: the rows it would add and every reason it cannot, each with its line."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        return Parsed([], [RowError(0, f"The data is larger than {MAX_BYTES // 1_000_000} MB. Split it into parts.")])
    text = text.removeprefix("\ufeff")
    if ";" in text and "," not in text:
        message = "Separate the columns with commas, not semicolons: date,value,note."
        return Parsed([], [RowError(0, message)])
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[date, int] = {}
    columns = SHORT_COLUMNS
    first = True
    for line, cells in _lines(text):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if first and cells[0].split(";")[0].strip().lower() == "date":  # a header, even one with semicolons
            first = False
            columns = LONG_COLUMNS if "astronomical" in (c.lower() for c in cells) else SHORT_COLUMNS
            continue
        first = False
        if len(rows) + len(errors) >= MAX_ROWS:
            return Parsed([], [RowError(0, f"The data has more than {MAX_ROWS:,} rows. Split it into parts.")])
        row = _row(line, cells, columns=columns, unit=unit, today=today)
        if isinstance(row, RowError):
            errors.append(row)
            continue
        problem = _duplicate(row, frequency=frequency, seen=seen, existing=existing or {})
        if problem:
            errors.append(RowError(line, problem))
        else:
            seen[period_start(row.on, frequency)] = line
            rows.append(row)
    if not rows and not errors:
        errors.append(RowError(0, "There are no values: paste or upload rows of date,value[,note]."))
    return Parsed(rows if not errors else [], errors)


def _lines(text: str) -> Iterable[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on; a quoted note may hold commas."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            cells = ["\x00"]  # an unreadable record: reported as a bad date on its line
        yield start, cells
        start = reader.line_num + 1


def _row(line: int, cells: list[str], *, columns: int, unit: str, today: date | None) -> ParsedRow | RowError:
    if any(";" in cell for cell in cells[:2]):
        return RowError(line, "separate the columns with commas, not semicolons")
    if len(cells) > columns:
        what = "date, value and note" if columns == SHORT_COLUMNS else "columns of the downloaded file"
        return RowError(
            line, f"too many columns ({len(cells)}): expected the {what}; put a note with commas in double quotes"
        )
    if len(cells) < 2 or not cells[1]:
        return RowError(line, "there is no value after the date")
    on = parse_date(cells[0])
    if on is None:
        return RowError(line, f"“{_shown(cells[0])}” is not a date: use dd/mm/yyyy or yyyy-mm-dd")
    if today is not None and on > today:
        return RowError(line, f"{format_date(on, 'j F Y')} is in the future")
    value = parse_number(cells[1])
    if value is None:
        return RowError(line, f"“{_shown(cells[1])}” is not a number: use digits with a decimal point, like 6.5")
    if problem := value_problem(value, unit):
        return RowError(line, problem)
    note = _unescaped(cells[2]) if len(cells) > 2 else ""
    if len(note) > NOTE_LIMIT:
        return RowError(line, f"the note is {len(note)} characters long; the limit is {NOTE_LIMIT}")
    astronomical, reason = _astronomical(cells)
    if astronomical is None:
        return RowError(line, f"“{_shown(cells[3])}” in the astronomical column is not yes or no")
    if astronomical and not reason:
        return RowError(line, "an astronomical point needs a reason")
    if len(reason) > REASON_LIMIT:
        return RowError(line, f"the reason is {len(reason)} characters long; the limit is {REASON_LIMIT}")
    return ParsedRow(line, on, rounded(value), note, astronomical, reason if astronomical else "")


def _astronomical(cells: list[str]) -> tuple[bool | None, str]:
    flag = cells[3].lower() if len(cells) > 3 else ""
    reason = _unescaped(cells[4]) if len(cells) > 4 else ""
    if flag in YES:
        return True, reason
    if flag in NO:
        return False, reason
    return None, reason


def _duplicate(row: ParsedRow, *, frequency: str, seen: dict[date, int], existing: Mapping[date, Decimal]) -> str:
    period = period_start(row.on, frequency)
    label = period_label(period, frequency)
    if period in seen:
        return f"{label} is already on line {seen[period]}: one value per {_period_word(frequency)}"
    if period in existing:
        return f"{label} already has a value ({plain_number(existing[period])}); edit it in the table"
    return ""


def _period_word(frequency: str) -> str:
    return "month" if frequency == Frequency.MONTHLY else "week"


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _unescaped(text: str) -> str:
    """Undo the download's guard against spreadsheet formulas, so a file round-trips unchanged."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


# Writing


def _escaped(text: str) -> str:
    """A note a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def values_csv(values: Iterable[ValueRow]) -> str:
    """The download: a header, then one row per value in period order, dates ISO."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for v in values:
        writer.writerow(
            [
                v.on.isoformat(),
                plain_number(v.value),
                _escaped(v.note),
                "yes" if v.astronomical else "no",
                _escaped(v.astronomical_reason),
            ]
        )
    return out.getvalue()


def csv_filename(name: str) -> str:
    """``days-from-result-to-action.csv`` from the measure's name; ASCII only, never empty."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80].strip("-")
    return f"{slug or 'measure'}.csv"
