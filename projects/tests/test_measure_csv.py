"""Reading pasted and uploaded CSV for a measure, and writing the download: every bad row reported."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from projects.measure_csv import (
    MAX_BYTES,
    MAX_ROWS,
    csv_filename,
    decode,
    parse_date,
    parse_values,
    period_label,
    plain_number,
    values_csv,
)
from projects.models import Frequency, Unit


def row(on, value, note="", astronomical=False, reason=""):
    return SimpleNamespace(
        on=on, value=Decimal(value), note=note, astronomical=astronomical, astronomical_reason=reason
    )


TODAY = date(2025, 6, 30)


def parse(text, *, unit=Unit.DAYS, frequency=Frequency.WEEKLY, existing=None, today=TODAY):
    return parse_values(text, unit=unit, frequency=frequency, existing=existing, today=today)


def messages(parsed):
    return [str(e) for e in parsed.errors]


def test_a_clean_file_with_a_header_is_read_in_both_date_styles():
    parsed = parse("date,value,note\n03/03/2025,6.5,Locum week\n2025-03-10,4\n17/3/2025, 3 , short staffed \n")
    assert parsed.clean
    assert [(r.line, r.on, r.value, r.note) for r in parsed.rows] == [
        (2, date(2025, 3, 3), Decimal("6.500"), "Locum week"),
        (3, date(2025, 3, 10), Decimal("4.000"), ""),
        (4, date(2025, 3, 17), Decimal("3.000"), "short staffed"),
    ]


def test_blank_lines_are_ignored_and_line_numbers_still_count_them():
    parsed = parse("\n03/03/2025,6\n\n   \n10/03/2025,x\n")
    assert messages(parsed) == ["Line 5: “x” is not a number: use digits with a decimal point, like 6.5"]


def test_a_byte_order_mark_from_excel_and_windows_line_endings_are_handled():
    text = decode("\ufeffdate,value,note\r\n03/03/2025,6,\r\n10/03/2025,5,a note\r\n".encode())
    parsed = parse(text)
    assert parsed.clean
    assert [(r.line, r.note) for r in parsed.rows] == [(2, ""), (3, "a note")]


def test_a_file_saved_by_excel_in_windows_1252_is_read():
    assert decode("03/03/2025,6,café\n".encode("cp1252")) == "03/03/2025,6,café\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("31/02/2025,4", "“31/02/2025” is not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        ("March 3rd,4", "“March 3rd” is not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        ("03/03/25,4", "“03/03/25” is not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        ("03/03/2025,four", "“four” is not a number: use digits with a decimal point, like 6.5"),
        ('03/03/2025,"4,5"', "“4,5” is not a number: use digits with a decimal point, like 6.5"),
        ("03/03/2025,1e3", "“1e3” is not a number: use digits with a decimal point, like 6.5"),
        ("03/03/2025,-1", "-1 is negative, and a days cannot be"),
        ("03/03/2025,4,note,extra", "too many columns (4): expected the date, value and note; put a note with"),
        ("03/03/2025", "there is no value after the date"),
        ("03/03/2025,", "there is no value after the date"),
        (f"03/03/2025,4,{'x' * 301}", "the note is 301 characters long; the limit is 300"),
        ("03/07/2025,4", "3 July 2025 is in the future"),
        ("03/03/2025;4,5", "separate the columns with commas, not semicolons"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_line(row, message):
    parsed = parse(f"date,value,note\n{row}\n")
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 2
    assert parsed.errors[0].message.startswith(message), parsed.errors[0].message
    assert parsed.rows == []


def test_a_percentage_must_be_between_0_and_100():
    parsed = parse("03/03/2025,100\n10/03/2025,0\n17/03/2025,100.5\n24/03/2025,-2", unit=Unit.PERCENTAGE)
    assert messages(parsed) == [
        "Line 3: 100.5 is outside 0 to 100 for a percentage",
        "Line 4: -2 is outside 0 to 100 for a percentage",
    ]


@pytest.mark.parametrize("unit", [Unit.COUNT, Unit.DAYS, Unit.MINUTES, Unit.HOURS])
def test_a_negative_value_is_refused_for_amounts_that_cannot_be_negative(unit):
    assert parse("03/03/2025,-0.5", unit=unit).errors[0].message.startswith("-0.5 is negative")


def test_a_score_may_be_negative():
    assert parse("03/03/2025,-3", unit=Unit.SCORE).clean


def test_several_bad_rows_are_all_listed_and_nothing_is_returned_to_save():
    text = "date,value\n03/03/2025,6\nsoon,4\n10/03/2025,lots\n12/03/2025,5\n17/03/2025,-1\n13/03/2025,5\n"
    parsed = parse(text)
    assert messages(parsed) == [
        "Line 3: “soon” is not a date: use dd/mm/yyyy or yyyy-mm-dd",
        "Line 4: “lots” is not a number: use digits with a decimal point, like 6.5",
        "Line 6: -1 is negative, and a days cannot be",
        "Line 7: week of 10 March 2025 is already on line 5: one value per week",
    ]
    assert parsed.rows == []


def test_two_rows_in_the_same_week_are_a_duplicate():
    parsed = parse("03/03/2025,6\n05/03/2025,5\n")
    assert messages(parsed) == ["Line 2: week of 3 March 2025 is already on line 1: one value per week"]


def test_two_rows_in_the_same_month_are_a_duplicate_for_a_monthly_measure():
    parsed = parse("03/03/2025,6\n28/03/2025,5\n01/04/2025,4", frequency=Frequency.MONTHLY)
    assert messages(parsed) == ["Line 2: March 2025 is already on line 1: one value per month"]


def test_a_period_that_already_has_a_value_is_refused_with_its_value():
    parsed = parse("04/03/2025,6\n", existing={date(2025, 3, 3): Decimal("4.000")})
    assert messages(parsed) == ["Line 1: week of 3 March 2025 already has a value (4); edit it in the table"]


def test_semicolons_are_not_accepted():
    parsed = parse("date;value\n03/03/2025;6,5\n")
    assert messages(parsed) == ["Line 2: separate the columns with commas, not semicolons"]
    parsed = parse("03/03/2025;6\n10/03/2025;5\n")
    assert messages(parsed) == ["Separate the columns with commas, not semicolons: date,value,note."]


def test_nothing_to_read_is_an_error():
    assert messages(parse("\n\n")) == ["There are no values: paste or upload rows of date,value[,note]."]
    assert messages(parse("date,value,note\n")) == ["There are no values: paste or upload rows of date,value[,note]."]


def test_too_much_data_is_refused_with_a_clear_message():
    too_many = "\n".join(f"{date.fromordinal(700000 + i).isoformat()},1" for i in range(MAX_ROWS + 1))
    assert messages(parse(too_many, today=None)) == ["The data has more than 5,000 rows. Split it into parts."]
    too_big = "03/03/2025,1," + "x" * MAX_BYTES
    assert messages(parse(too_big)) == ["The data is larger than 1 MB. Split it into parts."]


def test_more_than_three_decimal_places_are_rounded():
    assert parse("03/03/2025,33.33333").rows[0].value == Decimal("33.333")


def test_dates_are_strict():
    assert parse_date("3/3/2025") == date(2025, 3, 3)
    assert parse_date("2025-3-3") is None
    assert parse_date("29/02/2024") == date(2024, 2, 29)
    assert parse_date("29/02/2025") is None


def test_the_download_lists_values_in_period_order_with_iso_dates():
    values = [
        row(date(2025, 3, 3), "6.500", "Locum, week", False, ""),
        row(date(2025, 3, 12), "40", "", True, "IT outage"),
    ]
    assert values_csv(values) == (
        "date,value,note,astronomical,astronomical_reason\r\n"
        '2025-03-03,6.5,"Locum, week",no,\r\n'
        "2025-03-12,40,,yes,IT outage\r\n"
    )


def test_notes_that_a_spreadsheet_would_run_are_guarded_and_read_back_unchanged():
    note = '=HYPERLINK("http://example.com")'
    text = values_csv([row(date(2025, 3, 3), "1", note, False, "")])
    assert "'=HYPERLINK" in text
    assert parse(text).rows[0].note == note


def test_a_downloaded_file_reads_back_unchanged():
    values = [
        row(date(2025, 3, 3), "6.5", "a, b", False, ""),
        row(date(2025, 3, 10), "0.125", "", True, "Flu"),
        row(date(2025, 3, 17), "-2", "@home", False, ""),
    ]
    parsed = parse(values_csv(values), unit=Unit.SCORE)
    assert parsed.clean
    assert [(r.on, r.value, r.note, r.astronomical, r.astronomical_reason) for r in parsed.rows] == [
        (v.on, Decimal(v.value), v.note, v.astronomical, v.astronomical_reason) for v in values
    ]


def test_the_astronomical_columns_are_checked_in_a_downloaded_file():
    header = "date,value,note,astronomical,astronomical_reason\n"
    parsed = parse(header + "03/03/2025,4,,yes,\n10/03/2025,4,,perhaps,\n17/03/2025,4,,no,ignored\n")
    assert messages(parsed) == [
        "Line 2: an astronomical point needs a reason",
        "Line 3: “perhaps” in the astronomical column is not yes or no",
    ]


def test_the_file_name_comes_from_the_measure_name():
    assert csv_filename("Days from result to action") == "days-from-result-to-action.csv"
    assert csv_filename("% of results < 2 days!") == "of-results-2-days.csv"
    assert csv_filename("£££") == "measure.csv"


def test_labels_and_numbers_read_as_people_write_them():
    assert period_label(date(2025, 3, 3), Frequency.WEEKLY) == "week of 3 March 2025"
    assert period_label(date(2025, 3, 1), Frequency.MONTHLY) == "March 2025"
    assert [plain_number(Decimal(x)) for x in ("4.000", "6.500", "100", "0.125", "-0")] == [
        "4",
        "6.5",
        "100",
        "0.125",
        "0",
    ]
