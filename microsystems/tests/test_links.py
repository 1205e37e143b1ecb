"""``{% link %}`` gives exactly what ``{% url %}`` gives, wherever the site is mounted."""

from __future__ import annotations

import pytest
from django.template import engines
from django.urls import reverse, set_script_prefix

from microsystems.templatetags.links import link_to


@pytest.fixture
def at_root():
    yield
    set_script_prefix("/")


@pytest.mark.parametrize(
    "name, args",
    [
        ("projects:list", ()),
        ("projects:overview", (7,)),
        ("projects:overview", (123456,)),
        ("projects:measure", (3, 41)),
        ("projects:workbook", (5, "assess")),  # a step's name: reversed as usual
    ],
)
def test_a_link_is_the_reversed_url(at_root, name, args):
    assert link_to(name, *args) == reverse(name, args=args)
    set_script_prefix("/microsystems/")
    assert link_to(name, *args) == reverse(name, args=args)
    assert link_to(name, *args).startswith("/microsystems/")


def test_the_tag_writes_the_link_escaped_in_a_page(db):
    page = engines["django"].from_string("{% load links %}<a href=\"{% link 'projects:overview' pk %}\">")
    assert page.render({"pk": 12}) == f'<a href="{reverse("projects:overview", args=[12])}">'
