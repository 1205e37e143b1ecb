"""Spotting patient-identifiable data in free text before it is saved.

The product holds no patient-identifiable data, but free text invites it. Two patterns
are flagged: a valid NHS number (10 digits, spaced or not, passing the modulus-11 check)
and a date of birth next to a name. Matches are described, never logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NHS_NUMBER = re.compile(r"(?<![\d])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d])")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DATE = rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)? {_MONTH} (?:19|20)\d{{2}})"
_NAME = r"(?:(?:Mr|Mrs|Ms|Miss|Dr)\.? )?[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+"
_DOB_WORDS = re.compile(rf"\b(?:DOB|D\.O\.B\.?|date of birth|born)\b\W{{0,3}}{_DATE}", re.IGNORECASE)
_NAME_NEAR_DATE = re.compile(rf"{_NAME}\W{{1,25}}{_DATE}|{_DATE}\W{{1,25}}{_NAME}")


def is_valid_nhs_number(digits: str) -> bool:
    """The NHS number's modulus-11 check digit."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def patient_data_warnings(text: str) -> list[str]:
    """Plain-English reasons why ``text`` may identify a patient (empty when it looks safe)."""
    warnings = []
    if any(is_valid_nhs_number("".join(m.groups())) for m in _NHS_NUMBER.finditer(text)):
        warnings.append("It contains what looks like an NHS number.")
    if _DOB_WORDS.search(text) or _NAME_NEAR_DATE.search(text):
        warnings.append("It contains what looks like a date of birth next to a name.")
    return warnings


def texts_in(value: object) -> Iterable[str]:
    """Every string inside a section's data (nested lists and dicts included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)
