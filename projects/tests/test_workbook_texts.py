"""A section's fields as text to read: every kind of field, escaped as a template would, the example written once."""

from __future__ import annotations

from projects.workbook import SECTIONS_BY_KEY
from projects.workbook_forms import FieldText
from projects.workbook_texts import example_html, texts_html

EVIL = "<script>alert('x')</script> & \"quoted\""


def test_text_keeps_its_lines_and_is_escaped():
    html = texts_html([FieldText("Purpose", "", "textarea", True, text=f"First line\n{EVIL}")])

    assert "<dt>Purpose</dt>" in html
    assert "First line<br>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
    assert "<script>" not in html


def test_a_field_named_like_its_section_hides_its_label_and_an_empty_one_says_so():
    html = texts_html([FieldText("Purpose", "", "textarea", False, label_is_title=True)])

    assert '<dt class="visually-hidden">Purpose</dt>' in html
    assert "Nothing written yet." in html


def test_a_table_has_its_columns_and_escaped_cells():
    texts = [FieldText("Roles", "", "table", True, columns=["Role", EVIL], rows=[["GP", EVIL], ["Nurse", "2"]])]

    html = texts_html(texts)

    assert '<th scope="col">Role</th><th scope="col">&lt;script&gt;' in html
    assert "<tr><td>GP</td><td>&lt;script&gt;" in html and "<tr><td>Nurse</td><td>2</td></tr>" in html
    assert "<script>" not in html


def test_a_fishbone_lists_its_causes_under_each_heading():
    headings = [{"name": "People", "causes": ["Rota gaps", EVIL]}, {"name": EVIL, "causes": []}]
    fishbone = FieldText("Causes", "", "fishbone", True, problem="", headings=headings)

    html = texts_html([fishbone])

    assert '<strong>The problem:</strong> <span class="text-body-secondary">not written yet</span>' in html
    assert "<li>People<ul><li>Rota gaps</li><li>&lt;script&gt;" in html
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;"
    assert f'<li>{escaped}: <span class="text-body-secondary">no causes yet</span></li>' in html
    assert "<script>" not in html


def test_each_worked_example_is_written_once_and_shows_its_text():
    definition = SECTIONS_BY_KEY["fishbone"]

    first, again = example_html(definition), example_html(definition)

    assert first is again
    assert "The problem:" in first and "Nothing written yet." not in first
