"""``manage.py import_ods``: the command-line import of epraccur.csv."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from practices.models import Commissioner, Practice
from practices.tests.test_ods import SAMPLE, epraccur, gp_rows_of, row, sample_rows


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_ods", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_without_a_commissioner_it_imports_every_row_and_creates_unknown_commissioners(db):
    out, _ = run(str(SAMPLE))

    gp = len(gp_rows_of("99J")) + len(gp_rows_of("99K"))
    assert Practice.objects.count() == gp
    assert set(Commissioner.objects.values_list("ods_code", flat=True)) == {"99J", "99K"}
    assert f"{len(sample_rows())} rows: {gp} created, 0 updated, 0 unchanged" in out


def test_with_a_commissioner_it_imports_only_that_commissioners_practices(programme):
    run(str(SAMPLE), "--commissioner", "99k")

    assert Practice.objects.filter(commissioner=programme.other_commissioner).count() == len(gp_rows_of("99K")) + 1
    assert set(Practice.objects.filter(commissioner=programme.commissioner).values_list("ods_code", flat=True)) == {
        "G82013",
        "G82016",
    }


def test_it_imports_non_gp_settings_when_asked(programme):
    run(str(SAMPLE), "--commissioner", "99J", "--include-non-gp")

    west = [r for r in sample_rows() if r[14] == "99J"]
    assert Practice.objects.filter(commissioner=programme.commissioner).count() == len(west)


def test_an_unknown_commissioner_is_an_error(programme):
    with pytest.raises(CommandError, match="no commissioner with ODS code '15N'"):
        run(str(SAMPLE), "--commissioner", "15N")

    assert Practice.objects.count() == 3


def test_it_prints_each_problem_with_its_line_number_and_progress_to_stderr(db, tmp_path):
    path = tmp_path / "epraccur.csv"
    rows = [row(f"G9{n:04d}", f"SURGERY {n}") for n in range(600)]
    rows[11] = row("G99999", "BAD", opened="2013x401")
    path.write_bytes(epraccur(rows))

    out, err = run(str(path))

    assert "line 12: open date '2013x401' is not a date (YYYYMMDD)" in out
    assert "600 rows: 599 created, 0 updated, 0 unchanged, 1 skipped; 1 problem" in out
    assert "Checked 500 of 600 rows" in err
    assert "Checked 600 of 600 rows" in err


def test_a_refused_file_is_an_error_and_writes_nothing(programme, tmp_path):
    path = tmp_path / "practices.csv"
    path.write_bytes(b"Organisation Code,Name\nG82013,Amherst\n")

    with pytest.raises(CommandError, match="column headings"):
        run(str(path))

    assert Practice.objects.count() == 3


def test_a_missing_file_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "nowhere.csv"))
