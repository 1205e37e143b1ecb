"""Reading epraccur.csv and importing its practices: the parser, the service and the task."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from microsystems.models import AuditEntry
from practices.models import Commissioner, Engagement, OdsImport, OdsImportStatus, OdsStatus, Practice
from practices.ods import OdsFileError, import_practices, parse, readable
from practices.tasks import run_ods_import

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "epraccur-demo.csv"


def row(
    code: str = "G82013",
    name: str = "AMHERST MEDICAL PRACTICE",
    *,
    commissioner: str = "99J",
    status: str = "A",
    opened: str = "19740401",
    closed: str = "",
    setting: str = "4",
    address: tuple[str, ...] = ("AMHERST MEDICAL PRACTICE", "21 ST BOTOLPHS ROAD", "SEVENOAKS", "KENT", ""),
    postcode: str = "TN13 3AQ",
) -> list[str]:
    """One epraccur row, shaped like the real ones (27 columns)."""
    return [
        code, name, "Y59", "Q88", *address, postcode, opened, closed, status, "B", commissioner,
        "20130401", "", "01732 459255", "", "", "", "0", "", commissioner, "", setting, "",
    ]  # fmt: skip


def epraccur(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """The rows written as NHS ODS writes the file: every field quoted, no header."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def sample_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))


# --- Parsing -----------------------------------------------------------------------------


def test_it_reads_a_row_into_readable_fields():
    parsed = parse(epraccur([row(closed="20200331", status="C")]))

    assert parsed.problems == []
    [practice] = parsed.rows
    assert practice.line == 1
    assert practice.ods_code == "G82013"
    assert practice.name == "Amherst Medical Practice"
    assert practice.address == "21 St Botolphs Road, Sevenoaks, Kent"
    assert practice.postcode == "TN13 3AQ"
    assert practice.opened_on == date(1974, 4, 1)
    assert practice.closed_on == date(2020, 3, 31)
    assert practice.status == "C"
    assert practice.commissioner_code == "99J"
    assert practice.is_gp_practice


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SPELDHURST & GREGGSWOOD MEDICAL GROUP", "Speldhurst & Greggswood Medical Group"),
        ("ST JOHN'S MEDICAL PRACTICE", "St John's Medical Practice"),
        ("DR O'BRIEN'S SURGERY", "Dr O'Brien's Surgery"),
        ("BIRD-IN-EYE SURGERY", "Bird-in-Eye Surgery"),
        ("WEST KENT CCG OOH", "West Kent CCG OOH"),
        ("RIVERSIDE PCN GP HUB", "Riverside PCN GP Hub"),
        ("NHS UK HEALTH CENTRE", "NHS UK Health Centre"),
        ("THE PRACTICE AT THE PARK", "The Practice at the Park"),
        ("RHEUMATOLOGY T&T WELLS", "Rheumatology T&T Wells"),
        ("1ST FLOOR, UNIT 4B", "1st Floor, Unit 4B"),
        ("MCKENZIE  HOUSE", "McKenzie House"),
        ("Already Mixed Case", "Already Mixed Case"),
    ],
)
def test_names_are_title_cased_keeping_acronyms_ampersands_and_apostrophes(raw, expected):
    assert readable(raw) == expected


def test_it_reads_a_latin_1_file_with_an_accented_name():
    data = epraccur([row(name="CLINIQUE ÉLODIE SURGERY"), row("G82016", "KINGSWOOD SURGERY")], encoding="latin-1")

    parsed = parse(data)

    assert parsed.problems == []
    assert [r.name for r in parsed.rows] == ["Clinique Élodie Surgery", "Kingswood Surgery"]


def test_it_reads_utf_8_with_a_byte_order_mark():
    parsed = parse(b"\xef\xbb\xbf" + epraccur([row(name="CLINIQUE ÉLODIE SURGERY")]))

    assert parsed.rows[0].ods_code == "G82013"
    assert parsed.rows[0].name == "Clinique Élodie Surgery"


def test_a_first_address_line_repeating_the_name_is_left_out_but_another_is_kept():
    parsed = parse(epraccur([row(address=("THE SURGERY", "STATION ROAD", "EDENBRIDGE", "KENT", ""))]))

    assert parsed.rows[0].address == "The Surgery, Station Road, Edenbridge, Kent"


def test_malformed_rows_are_reported_with_line_numbers_while_good_rows_are_read():
    rows = [row("G00001", "GOOD ONE")] * 1 + [
        row("G00002", "BAD DATE", opened="2013x401"),
        ["G00003", "TOO SHORT", "Y59", "Q88", "X"],
        row("G00004", "ODD STATUS", status="X"),
        row("", "NO CODE"),
        row("G00006", ""),
        row("G00007", "NOT A REAL DAY", closed="20230231"),
    ]
    rows += [row(f"G1{n:04d}", f"GOOD {n}") for n in range(10)]

    parsed = parse(epraccur(rows))

    assert [str(p) for p in parsed.problems] == [
        "line 2: open date '2013x401' is not a date (YYYYMMDD)",
        "line 3: expected 27 fields, found 5",
        "line 4: unknown status 'X'",
        "line 5: no organisation code (column 1)",
        "line 6: no name (column 2)",
        "line 7: close date '20230231' is not a date (YYYYMMDD)",
    ]
    assert len(parsed.rows) == 11
    assert parsed.total == 17


def test_line_numbers_count_blank_lines_and_a_row_repeating_a_code_is_reported():
    data = epraccur([row("G00001")]) + b"\r\n" + epraccur([row("G00002"), row("G00001", "AGAIN")])

    parsed = parse(data)

    assert [r.line for r in parsed.rows] == [1, 3]
    assert [str(p) for p in parsed.problems] == ["line 4: organisation code G00001 appears again (first on line 1)"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \r\n\r\n", "The file is empty."),
        (bytes(range(256)) * 20, "not a text file"),
        (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", "zip file"),
        (epraccur([["Organisation Code", "Name", *[""] * 25], row()]), "column headings"),
        (epraccur([["Code", "Name", "Postcode", "Status", "Open date"]]), "column headings"),
        (b"a,b,c\n1,2,3\n", "its first row has 3 columns, where epraccur.csv has 27"),
        (epraccur([row(""), row()]), "no organisation code"),
        (epraccur([row(opened="1 April 1974")]), "open date (column 11) is '1 April 1974'"),
        (epraccur([row("G00001")] + [["broken", "row"]] * 3), "3 of 4 rows could not be read"),
    ],
)
def test_it_refuses_a_file_that_is_not_epraccur_shaped(data, message):
    with pytest.raises(OdsFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(data)


def test_progress_is_reported_every_500_rows_and_at_the_end():
    calls: list[tuple[int, int]] = []

    parse(epraccur([row(f"G{n:05d}") for n in range(1200)]), progress=lambda done, total: calls.append((done, total)))

    assert calls == [(500, 1200), (1000, 1200), (1200, 1200)]


# --- Importing ---------------------------------------------------------------------------


def gp_rows_of(commissioner_code: str) -> list[list[str]]:
    return [r for r in sample_rows() if r[14] == commissioner_code and r[25] == "4"]


def test_the_sample_file_imports_every_gp_practice_of_west_kent(programme):
    gp_codes = {r[0] for r in gp_rows_of("99J")}
    all_rows = sample_rows()
    before = Practice.objects.count()

    result = import_practices(data=SAMPLE.read_bytes(), commissioner=programme.commissioner, by=programme.lead)

    west = Practice.objects.filter(commissioner=programme.commissioner)
    assert set(west.values_list("ods_code", flat=True)) == gp_codes
    assert result.created == len(gp_codes) - 2  # the fixture already has Amherst and Kingswood
    assert result.updated + result.unchanged == 2
    assert result.skipped == len(all_rows) - len(gp_codes)
    assert result.created + result.updated + result.unchanged + result.skipped == result.total == len(all_rows)
    assert result.problems == []
    assert Practice.objects.count() == before + result.created
    amherst = Practice.objects.get(ods_code="G82013")
    assert (amherst.name, amherst.address, amherst.postcode) == (
        "Amherst Medical Practice",
        "21 St Botolphs Road, Sevenoaks, Kent",
        "TN13 3AQ",
    )


def test_non_gp_settings_are_imported_only_when_asked(programme):
    west_rows = [r for r in sample_rows() if r[14] == "99J"]
    assert any(r[25] != "4" for r in west_rows)

    import_practices(data=SAMPLE.read_bytes(), commissioner=programme.commissioner, by=None, include_non_gp=True)

    assert Practice.objects.filter(commissioner=programme.commissioner).count() == len(west_rows)


def test_reimporting_updates_in_place_without_duplicating(programme):
    data = SAMPLE.read_bytes()
    first = import_practices(data=data, commissioner=programme.commissioner, by=None)
    count = Practice.objects.count()
    Practice.objects.filter(ods_code="G82017").update(name="Old Name", postcode="ME1 1AA")
    engaged = Practice.objects.get(ods_code="G82016")
    engaged.engagement = Engagement.ENGAGED
    engaged.save()

    again = import_practices(data=data, commissioner=programme.commissioner, by=None)

    assert Practice.objects.count() == count
    assert (again.created, again.updated, again.unchanged) == (
        0,
        1,
        first.created + first.updated + first.unchanged - 1,
    )
    albion = Practice.objects.get(ods_code="G82017")
    assert (albion.name, albion.postcode) == ("Albion Place Medical Practice", "ME14 5DY")
    assert Practice.objects.get(ods_code="G82016").engagement == Engagement.ENGAGED


def test_a_practice_closed_in_the_file_is_marked_closed_not_deleted(programme):
    import_practices(data=epraccur([row("G82016", "KINGSWOOD SURGERY")]), commissioner=programme.commissioner, by=None)
    pk = Practice.objects.get(ods_code="G82016").pk

    result = import_practices(
        data=epraccur([row("G82016", "KINGSWOOD SURGERY", status="C", closed="20240331")]),
        commissioner=programme.commissioner,
        by=None,
    )

    assert result.updated == 1
    kingswood = Practice.objects.get(ods_code="G82016")
    assert kingswood.pk == pk
    assert kingswood.ods_status == OdsStatus.CLOSED
    assert kingswood.closed_on == date(2024, 3, 31)
    assert kingswood.memberships.count() == 1  # its people are kept


def test_malformed_rows_are_skipped_and_reported_while_good_rows_import(programme):
    rows = [row(f"G9{n:04d}", f"SURGERY {n}") for n in range(8)]
    rows.insert(3, row("G99999", "BAD DATE SURGERY", opened="2013x401"))
    rows.insert(6, ["G99998", "SHORT"])

    result = import_practices(data=epraccur(rows), commissioner=programme.commissioner, by=None)

    assert result.created == 8
    assert result.skipped == 2
    assert [str(p) for p in result.problems] == [
        "line 4: open date '2013x401' is not a date (YYYYMMDD)",
        "line 7: expected 27 fields, found 2",
    ]
    assert not Practice.objects.filter(ods_code__in=["G99999", "G99998"]).exists()


def test_a_file_that_is_not_epraccur_shaped_is_refused_whole_and_nothing_is_written(programme):
    before, audits = Practice.objects.count(), AuditEntry.objects.count()
    data = epraccur([["Organisation Code", "Name", *[""] * 25]] + [row(f"G9{n:04d}") for n in range(5)])

    with pytest.raises(OdsFileError):
        import_practices(data=data, commissioner=programme.commissioner, by=programme.lead)

    assert Practice.objects.count() == before
    assert AuditEntry.objects.count() == audits


def test_a_leads_import_never_writes_another_commissioners_practices(programme):
    crowborough = programme.other_practice
    high_weald_rows = [r for r in sample_rows() if r[14] == "99K"]
    rows = [row("G81001", "CROWBOROUGH HEALTH CENTRE", commissioner="99K"), *high_weald_rows]

    result = import_practices(data=epraccur(rows), commissioner=programme.commissioner, by=programme.lead)

    assert (result.created, result.updated, result.skipped) == (0, 0, len(rows))
    crowborough.refresh_from_db()
    assert crowborough.name == "Crowborough Surgery"
    assert Practice.objects.filter(commissioner=programme.other_commissioner).count() == 1


def test_a_practice_of_another_commissioner_is_not_taken_over(programme):
    # The file says G81001 is West Kent's; the app has it as High Weald's. West Kent's lead must not take it.
    data = epraccur([row("G81001", "TAKEN OVER SURGERY", commissioner="99J"), row("G82099", "NEW SURGERY")])

    result = import_practices(data=data, commissioner=programme.commissioner, by=programme.lead)

    assert (result.created, result.skipped) == (1, 1)
    assert [str(p) for p in result.problems] == [
        "line 1: practice G81001 already belongs to another commissioner (99K), so it was left as it is"
    ]
    crowborough = Practice.objects.get(ods_code="G81001")
    assert (crowborough.commissioner, crowborough.name) == (programme.other_commissioner, "Crowborough Surgery")


def test_an_import_of_every_commissioner_creates_the_unknown_ones(db):
    result = import_practices(data=SAMPLE.read_bytes(), commissioner=None, by=None)

    assert set(Commissioner.objects.values_list("ods_code", "name")) == {("99J", "99J"), ("99K", "99K")}
    assert result.created == len(gp_rows_of("99J")) + len(gp_rows_of("99K"))


def test_an_import_of_every_commissioner_does_not_move_a_practice_between_commissioners(programme):
    result = import_practices(
        data=epraccur([row("G81001", "CROWBOROUGH", commissioner="91Q")]), commissioner=None, by=None
    )

    assert result.skipped == 1
    assert "already belongs to another commissioner (99K)" in str(result.problems[0])
    assert Practice.objects.get(ods_code="G81001").commissioner == programme.other_commissioner
    assert not Commissioner.objects.filter(ods_code="91Q").exists()


def test_each_import_writes_one_audit_entry_with_its_counts(programme):
    import_practices(data=SAMPLE.read_bytes(), commissioner=programme.commissioner, by=programme.lead)

    [entry] = AuditEntry.objects.filter(action="practices.ods_imported")
    assert entry.actor == programme.lead
    assert entry.subject == programme.commissioner
    assert entry.changes["created"] == len(gp_rows_of("99J")) - 2
    assert "created" in entry.summary


def national_file(rows: int = 14_000, commissioners: int = 42) -> tuple[bytes, int]:
    """A file the size of England's: real rows' shape, codes spread over many commissioners."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    codes = [f"{10 + n}{letters[n % len(letters)]}" for n in range(commissioners)]
    settings = ["4"] * 17 + ["0", "2", "9"]  # mostly GP practices, some other settings
    out = []
    for n in range(rows):
        status, closed = ("C", "20190331") if n % 9 == 0 else ("A", "")
        out.append(
            row(
                f"{letters[n % 20]}{n:05d}",
                f"PRACTICE NUMBER {n} MEDICAL CENTRE",
                commissioner=codes[n % commissioners],
                status=status,
                closed=closed,
                setting=settings[n % len(settings)],
                address=("THE SURGERY", f"{n} HIGH STREET", "MAIDSTONE", "KENT", ""),
                postcode=f"ME{n % 20} {n % 9}AA",
            )
        )
    return epraccur(out), sum(1 for r in out if r[25] == "4")


def test_a_national_scale_file_imports(db):
    data, gp_practices = national_file()

    result = import_practices(data=data, commissioner=None, by=None)

    assert result.created == gp_practices
    assert Practice.objects.count() == gp_practices
    assert Commissioner.objects.count() == 42
    assert result.skipped == 14_000 - gp_practices
    again = import_practices(data=data, commissioner=None, by=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, gp_practices)


# --- The task ------------------------------------------------------------------------------


def stored_import(programme, data: bytes, **fields) -> OdsImport:
    ods_import = OdsImport(commissioner=programme.commissioner, uploaded_by=programme.lead, file_name="e.csv", **fields)
    ods_import.file.save("epraccur.csv", ContentFile(data), save=True)
    return ods_import


def test_the_task_imports_the_stored_file_and_records_the_outcome(programme):
    ods_import = stored_import(programme, SAMPLE.read_bytes())

    run_ods_import(ods_import.pk)

    ods_import.refresh_from_db()
    assert ods_import.status == OdsImportStatus.DONE
    assert ods_import.created == len(gp_rows_of("99J")) - 2
    assert ods_import.rows_done == ods_import.rows_total == len(sample_rows())
    assert ods_import.percent_done == 100
    assert ods_import.finished_at is not None


def test_the_task_records_a_refused_file_as_failed_with_the_reason(programme):
    ods_import = stored_import(programme, b"a,b,c\n")

    run_ods_import(ods_import.pk)

    ods_import.refresh_from_db()
    assert ods_import.status == OdsImportStatus.FAILED
    assert "its first row has 3 columns" in ods_import.problems[0]["message"]
    assert ods_import.is_finished


def test_the_task_leaves_a_finished_import_alone(programme):
    ods_import = stored_import(programme, SAMPLE.read_bytes(), status=OdsImportStatus.DONE)
    before = Practice.objects.count()

    run_ods_import(ods_import.pk)

    assert Practice.objects.count() == before
    ods_import.refresh_from_db()
    assert ods_import.created == 0
