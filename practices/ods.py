"""Reading the NHS ODS practice file (epraccur.csv) and importing its practices.

The file has no header and 27 quoted columns per row. ``parse`` turns the raw bytes into
clean rows and a list of row problems, refusing a file that is not epraccur-shaped as a
whole (``OdsFileError``). ``import_practices`` writes the rows: new practices created,
known ones updated in place (matched by ODS code), closed ones marked closed, never
deleted, and never a practice of another commissioner taken over.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.broker import publish
from microsystems.models import User

from .models import Commissioner, OdsImport, OdsStatus, Practice

Progress = Callable[[int, int], None]

FIELD_COUNT = 27
GP_PRACTICE_SETTING = "4"
PROGRESS_EVERY = 500
BATCH_SIZE = 500
UPDATED_FIELDS = ["name", "address", "postcode", "ods_status", "opened_on", "closed_on"]

# Columns, 0-based (the file's documentation counts from 1).
CODE = 0
NAME = 1
ADDRESS_FIRST, ADDRESS_LAST = 4, 8
POSTCODE = 9
OPENED = 10
CLOSED = 11
STATUS = 12
COMMISSIONER = 14
SETTING = 25

_CODE_RE = re.compile(r"[A-Z0-9]{2,10}")
_DATE_RE = re.compile(r"\d{8}")
_STATUSES = frozenset(OdsStatus.values)
_HEADER_WORDS = {
    "organisation code",
    "org code",
    "code",
    "name",
    "postcode",
    "open date",
    "status",
    "national grouping",
}


class OdsFileError(Exception):
    """The file as a whole is not one we can import; the message says why. Nothing was written."""


@dataclass(frozen=True)
class Problem:
    """A row that was not imported, and why."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message

    def as_json(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class OdsRow:
    """One row of the file, cleaned: readable name and address, real dates."""

    line: int
    ods_code: str
    name: str
    address: str
    postcode: str
    status: str
    opened_on: date
    closed_on: date | None
    commissioner_code: str
    setting: str

    @property
    def is_gp_practice(self) -> bool:
        return self.setting == GP_PRACTICE_SETTING


@dataclass
class ParsedFile:
    rows: list[OdsRow]
    problems: list[Problem]
    total: int  # every non-blank row, read or not


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.total} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.skipped} skipped"
        )
        count = len(self.problems)
        return text + (f"; {count} problem{'s' if count != 1 else ''}" if count else "")


# ---------------------------------------------------------------------------------------
# Readable names


_ACRONYMS = {"NHS", "GP", "GPS", "PCN", "UK", "CCG", "ICB", "OOH", "UTC", "MIU", "HIV", "ENT", "IAPT", "CIC", "LLP"}
# Words without vowels that are abbreviations to title-case, not acronyms to keep in capitals.
_ABBREVIATIONS = {
    *("DR", "DRS", "MR", "MRS", "MS", "NR", "ST", "STS"),
    *("CTR", "CRT", "CT", "CL", "FLR", "GRP", "LN", "MT", "PK", "PL", "RD", "SQ"),
}
_SMALL_WORDS = {"AND", "OF", "THE", "AT", "ON", "IN", "UPON", "UNDER", "BY", "FOR", "TO", "WITH"}
_ORDINALS = {"ST", "ND", "RD", "TH"}
_VOWELS = set("AEIOUY")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_APOSTROPHE_RE = re.compile(r"(.+?)(['’])(.+)")


@lru_cache(maxsize=16384)
def readable(text: str) -> str:
    """Title-case an all-capitals name or address line, keeping acronyms such as NHS and PCN."""
    text = " ".join(text.split())
    if text != text.upper():
        return text  # already mixed case: leave it as the file has it
    return _WORD_RE.sub(lambda m: _word(m.group(), first=m.start() == 0, after=text[m.start() - 1 : m.start()]), text)


@lru_cache(maxsize=16384)
def _word(word: str, *, first: bool, after: str) -> str:
    upper = word.upper()
    if after.isdigit():  # "1ST", "4B"
        return word.lower() if upper in _ORDINALS else upper
    if upper in _ACRONYMS or (len(upper) > 1 and not _VOWELS & set(upper) and upper not in _ABBREVIATIONS):
        return upper
    if upper in _SMALL_WORDS and not first:
        return word.lower()
    if match := _APOSTROPHE_RE.fullmatch(word):  # O'BRIEN → O'Brien, JOHN'S → John's
        head, apostrophe, tail = match.groups()
        return head.capitalize() + apostrophe + (tail.capitalize() if len(head) == 1 else tail.lower())
    if upper.startswith("MC") and len(upper) > 3:
        return "Mc" + word[2:].capitalize()
    return word.capitalize()


# ---------------------------------------------------------------------------------------
# Parsing


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM dropped) if it is valid UTF-8, otherwise Latin-1."""
    if not data.strip():
        raise OdsFileError("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        raise OdsFileError(
            "This is a zip file or an Excel workbook, not a CSV file. "
            "Unzip the download from NHS ODS and upload the epraccur.csv inside it."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if _looks_binary(text):
        raise OdsFileError("This is not a text file. Upload epraccur.csv as downloaded from NHS ODS.")
    return text


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\r\n\x0c\x1a") or 127 <= ord(c) < 160)
    return "\x00" in sample or controls > len(sample) // 200


def parse(data: bytes, progress: Progress | None = None) -> ParsedFile:
    """Every row of the file, cleaned, and the rows that could not be read, by line number."""
    records = _records(decode(data))
    if not records:
        raise OdsFileError("The file is empty.")
    _check_first_row(records[0][1])
    rows: list[OdsRow] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for done, (line, fields) in enumerate(records, start=1):
        row_or_reason = _clean(line, fields)
        if isinstance(row_or_reason, str):
            problems.append(Problem(line, row_or_reason))
        elif row_or_reason.ods_code in first_line:
            seen = first_line[row_or_reason.ods_code]
            problems.append(
                Problem(line, f"organisation code {row_or_reason.ods_code} appears again (first on line {seen})")
            )
        else:
            first_line[row_or_reason.ods_code] = line
            rows.append(row_or_reason)
        if progress and (done % PROGRESS_EVERY == 0 or done == len(records)):
            progress(done, len(records))
    _check_most_rows_read(problems, len(records))
    return ParsedFile(rows=rows, problems=problems, total=len(records))


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for fields in reader:
            line, next_line = next_line, reader.line_num + 1
            if any(f.strip() for f in fields):
                records.append((line, fields))
    except csv.Error as e:
        raise OdsFileError(f"Line {next_line} cannot be read as CSV ({e}). Upload epraccur.csv as downloaded.") from e
    return records


def _check_first_row(fields: list[str]) -> None:
    not_ods = "This does not look like the NHS ODS practice file (epraccur.csv): "
    if any(f.strip().lower() in _HEADER_WORDS for f in fields):
        raise OdsFileError(
            not_ods + "its first row is a row of column headings. epraccur.csv has no header row: "
            "upload the file as NHS ODS publishes it, not a copy saved from a spreadsheet with headings added."
        )
    if len(fields) != FIELD_COUNT:
        raise OdsFileError(not_ods + f"its first row has {len(fields)} columns, where epraccur.csv has {FIELD_COUNT}.")
    if not _CODE_RE.fullmatch(fields[CODE].strip().upper()):
        raise OdsFileError(not_ods + "its first row has no organisation code in the first column.")
    if not _DATE_RE.fullmatch(fields[OPENED].strip()):
        raise OdsFileError(
            not_ods
            + f"its first row's open date (column 11) is '{fields[OPENED].strip()}', not a date written YYYYMMDD."
        )


def _check_most_rows_read(problems: list[Problem], total: int) -> None:
    if len(problems) * 2 > total:
        raise OdsFileError(
            f"{len(problems)} of {total} rows could not be read (the first: {problems[0]}). "
            "This does not look like epraccur.csv, so nothing was imported."
        )


def _clean(line: int, fields: list[str]) -> OdsRow | str:
    """The row cleaned, or why it cannot be read."""
    if len(fields) != FIELD_COUNT:
        return f"expected {FIELD_COUNT} fields, found {len(fields)}"
    f = [value.strip() for value in fields]
    code, commissioner_code, status = f[CODE].upper(), f[COMMISSIONER].upper(), f[STATUS].upper()
    opened, opened_reason = _date(f[OPENED], "open date", required=True)
    closed, closed_reason = _date(f[CLOSED], "close date", required=False)
    reasons = [
        "no organisation code (column 1)" if not code else "",
        f"organisation code '{f[CODE]}' is not an ODS code" if code and not _CODE_RE.fullmatch(code) else "",
        "no name (column 2)" if not f[NAME] else "",
        opened_reason,
        closed_reason,
        f"unknown status '{f[STATUS]}'" if status not in _STATUSES else "",
        "no commissioner code (column 15)" if not commissioner_code else "",
        f"commissioner code '{f[COMMISSIONER]}' is not an ODS code"
        if commissioner_code and not _CODE_RE.fullmatch(commissioner_code)
        else "",
        f"postcode '{f[POSTCODE]}' is too long" if len(f[POSTCODE]) > 10 else "",
    ]
    if any(reasons) or opened is None:
        return "; ".join(r for r in reasons if r)
    return OdsRow(
        line=line,
        ods_code=code,
        name=readable(f[NAME])[:200],
        address=_address(f[ADDRESS_FIRST : ADDRESS_LAST + 1], name=f[NAME]),
        postcode=" ".join(f[POSTCODE].upper().split()),
        status=status,
        opened_on=opened,
        closed_on=closed,
        commissioner_code=commissioner_code,
        setting=f[SETTING],
    )


def _date(value: str, what: str, *, required: bool) -> tuple[date | None, str]:
    if not value:
        return None, f"no {what}" if required else ""
    if _DATE_RE.fullmatch(value):
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:])), ""
        except ValueError:
            pass
    return None, f"{what} '{value}' is not a date (YYYYMMDD)"


def _address(lines: Iterable[str], *, name: str) -> str:
    """Address lines joined, leaving out a first line that only repeats the practice's name."""
    kept = [readable(line) for line in lines if line and line.upper() != name.upper()]
    return ", ".join(kept)[:400]


# ---------------------------------------------------------------------------------------
# Importing


def import_practices(
    *,
    data: bytes,
    commissioner: Commissioner | None,
    by: User | None,
    include_non_gp: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Create and update practices from the file's bytes; ``commissioner`` None imports every commissioner's.

    Raises ``OdsFileError`` (and writes nothing) when the file is not epraccur-shaped.
    Progress is reported while the rows are read, before the one transaction that writes them,
    so that another database connection can see it.
    """
    parsed = parse(data, progress=progress)
    result = ImportResult(total=parsed.total, skipped=len(parsed.problems), problems=list(parsed.problems))
    wanted = [row for row in parsed.rows if _is_wanted(row, commissioner, include_non_gp)]
    result.skipped += len(parsed.rows) - len(wanted)
    with transaction.atomic():
        _write(wanted, commissioner, result)
        audit(
            commissioner,
            "practices.ods_imported",
            by=by,
            summary=result.summary(),
            changes={
                "rows": result.total,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "skipped": result.skipped,
                "problems": len(result.problems),
                "include_non_gp": include_non_gp,
            },
        )
    return result


def _is_wanted(row: OdsRow, commissioner: Commissioner | None, include_non_gp: bool) -> bool:
    if commissioner is not None and row.commissioner_code != commissioner.ods_code:
        return False  # another commissioner's row: a lead never writes into someone else's practices
    return include_non_gp or row.is_gp_practice


def _write(rows: list[OdsRow], commissioner: Commissioner | None, result: ImportResult) -> None:
    existing = _existing_practices(rows, commissioner)
    code_of = dict(Commissioner.objects.values_list("pk", "ods_code"))
    new_rows: list[OdsRow] = []
    changed: list[Practice] = []
    for row in rows:
        practice = existing.get(row.ods_code)
        if practice is None:
            new_rows.append(row)
        elif code_of.get(practice.commissioner_id) != row.commissioner_code:
            result.skipped += 1
            result.problems.append(_not_taken_over(row, code_of.get(practice.commissioner_id, "")))
        elif _apply(practice, row):
            changed.append(practice)
        else:
            result.unchanged += 1
    commissioners = _commissioners_for(new_rows, commissioner)
    Practice.objects.bulk_create(
        [_new_practice(row, commissioners[row.commissioner_code]) for row in new_rows], batch_size=BATCH_SIZE
    )
    _update(changed)
    result.created, result.updated = len(new_rows), len(changed)
    result.problems.sort(key=lambda p: p.line or 0)


def _not_taken_over(row: OdsRow, owner_code: str) -> Problem:
    """A practice another commissioner has here is never moved by an import: tenancy hangs on it."""
    return Problem(
        row.line,
        f"practice {row.ods_code} already belongs to another commissioner ({owner_code}), so it was left as it is",
    )


def _update(practices: list[Practice]) -> None:
    """Save the changed fields, in batches of one parameterised UPDATE run many times.

    ``bulk_update`` builds a CASE expression per field per row, about a millisecond a row in Python:
    13 seconds for a national file whose every row changed, against one or two this way.
    """
    fields = [f for f in Practice._meta.concrete_fields if f.name in UPDATED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    table, pk = quote(Practice._meta.db_table), quote(str(Practice._meta.pk.column))
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 (names from the model, values are parameters)
    with connection.cursor() as cursor:
        for start in range(0, len(practices), BATCH_SIZE):
            batch = practices[start : start + BATCH_SIZE]
            cursor.executemany(
                sql, [[f.get_db_prep_save(getattr(p, f.attname), connection) for f in fields] + [p.pk] for p in batch]
            )


def _existing_practices(rows: list[OdsRow], commissioner: Commissioner | None) -> dict[str, Practice]:
    """The practices the rows may match, in one query: a national import reads them all."""
    practices = Practice.objects.only("pk", "ods_code", "commissioner_id", *UPDATED_FIELDS)
    if commissioner is not None:
        practices = practices.filter(ods_code__in=[row.ods_code for row in rows])
    return {p.ods_code: p for p in practices}


def _commissioners_for(rows: list[OdsRow], commissioner: Commissioner | None) -> dict[str, Commissioner]:
    """Commissioners by ODS code; an import of every commissioner creates the ones not yet known."""
    if commissioner is not None:
        return {commissioner.ods_code: commissioner}
    codes = {row.commissioner_code for row in rows}
    known = set(Commissioner.objects.filter(ods_code__in=codes).values_list("ods_code", flat=True))
    Commissioner.objects.bulk_create([Commissioner(ods_code=code, name=code) for code in sorted(codes - known)])
    return {c.ods_code: c for c in Commissioner.objects.filter(ods_code__in=codes)}


def _apply(practice: Practice, row: OdsRow) -> bool:
    """Copy the row's values onto the practice; True if anything changed."""
    values = {
        "name": row.name,
        "address": row.address,
        "postcode": row.postcode,
        "ods_status": row.status,
        "opened_on": row.opened_on,
        "closed_on": row.closed_on,
    }
    changed = False
    for name, value in values.items():
        if getattr(practice, name) != value:
            setattr(practice, name, value)
            changed = True
    return changed


def _new_practice(row: OdsRow, commissioner: Commissioner) -> Practice:
    return Practice(
        ods_code=row.ods_code,
        name=row.name,
        address=row.address,
        postcode=row.postcode,
        ods_status=row.status,
        opened_on=row.opened_on,
        closed_on=row.closed_on,
        commissioner=commissioner,
    )


# ---------------------------------------------------------------------------------------
# Uploads


def start_import(
    *, commissioner: Commissioner, file_name: str, data: bytes, total: int, include_non_gp: bool, by: User
) -> OdsImport:
    """Store an uploaded file and queue its import once the upload is committed."""
    from .tasks import run_ods_import  # the task imports this module

    with transaction.atomic():
        ods_import = OdsImport(commissioner=commissioner, uploaded_by=by, file_name=file_name[:200], rows_total=total)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        ods_import.file.save(f"epraccur-{commissioner.ods_code}-{stamp}.csv", ContentFile(data), save=True)
        transaction.on_commit(lambda: publish(run_ods_import, ods_import.pk, include_non_gp=include_non_gp))
    return ods_import
