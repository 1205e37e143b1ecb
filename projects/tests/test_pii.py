"""Spotting what looks like patient-identifiable data in free text."""

import pytest

from projects.pii import is_valid_nhs_number, patient_data_warnings, texts_in


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9876543210"])
def test_valid_nhs_numbers_pass_the_modulus_11_check(number):
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize("number", ["9434765918", "1234567890", "0000000000", "943476591", "94347659190"])
def test_invalid_numbers_fail_it(number):
    assert not is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "text",
    [
        "Mrs Jones (943 476 5919) rang twice",
        "NHS no 943-476-5919",
        "patient 9434765919 waited",
    ],
)
def test_an_nhs_number_in_text_is_flagged_however_it_is_spaced(text):
    assert patient_data_warnings(text) == ["It contains what looks like an NHS number."]


@pytest.mark.parametrize(
    "text",
    [
        "John Smith 12/03/1956 missed his review",
        "DOB 01/02/1950",
        "Mary Ellen Brown, born 3rd March 1950",
        "date of birth: 4 June 1961",
    ],
)
def test_a_date_of_birth_next_to_a_name_is_flagged(text):
    assert "It contains what looks like a date of birth next to a name." in patient_data_warnings(text)


@pytest.mark.parametrize(
    "text",
    [
        "We met on 12/03/2025 and agreed the theme.",
        "Call 01732 459255 to book.",
        "The list size is 9434 patients; 765919 items were prescribed.",
        "Reception answers 1,200 calls a week.",
        "",
    ],
)
def test_ordinary_workbook_text_is_not_flagged(text):
    assert patient_data_warnings(text) == []


def test_every_string_inside_a_section_is_checked():
    data = {"a": "one", "rows": [{"x": "two"}, {"y": "three"}], "fishbone": {"problem": "four", "categories": []}}
    assert sorted(texts_in(data)) == ["four", "one", "three", "two"]
