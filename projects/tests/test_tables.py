"""The table bodies and lists drawn in Python read as the templates would write them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.template import engines
from django.utils.formats import date_format

from projects.models import SpecificAim
from projects.tables import DateTexts, aims_html


def test_dates_read_as_date_format_writes_them_for_every_day_of_two_years() -> None:
    texts = DateTexts()
    for n in range(731):
        on = date(2024, 1, 1) + timedelta(days=n)
        assert texts(on) == date_format(on)


@pytest.mark.parametrize("fmt", ["D j F Y", r"j \o\f F Y", "d/m/Y"])
def test_a_date_format_with_other_day_parts_or_escapes_falls_back_to_date_format(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("projects.tables.get_format", lambda name: fmt)
    assert DateTexts().month_format is None


@pytest.mark.parametrize("met", [True, False, None])
def test_the_aims_read_as_the_template_wrote_them_and_escape_what_users_typed(met: bool | None) -> None:
    aim = SpecificAim(measure="<b>Waits</b>", baseline="10 & more", target='"5"', target_date=date(2025, 3, 3), met=met)
    template = engines["django"].from_string(
        "{% for aim in aims %}<li>{{ aim.measure }}: from {{ aim.baseline }} to {{ aim.target }} by "
        '{{ aim.target_date }}{% if aim.met is True %} <span class="badge text-bg-success">Met</span>'
        '{% elif aim.met is False %} <span class="badge text-bg-secondary">Not met</span>{% endif %}</li>'
        "{% endfor %}"
    )
    assert aims_html([aim]) == template.render({"aims": [aim]})
