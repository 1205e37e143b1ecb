"""The coaching lists' rows drawn in Python: every value escaped, the links and badges right."""

from datetime import date, time

import pytest

from coaching.models import Session
from coaching.session_selectors import CaseloadRow, with_counts
from coaching.tables import caseload_rows_html, session_rows_html
from coaching.tests.factories import SessionFactory
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

TITLE = '<script>alert("x")</script> & results'


def test_session_rows_escape_text_and_link_to_the_session_and_project():
    session = SessionFactory(project=ProjectFactory(title=TITLE), actual_minutes=80, planned_minutes=60)
    rows = session_rows_html(with_counts(Session.objects.filter(pk=session.pk)), with_project=True)
    assert "<script>" not in rows and "&lt;script&gt;" in rows and "&amp; results" in rows
    assert f'href="/coaching/sessions/{session.pk}/"' in rows
    assert f'href="/coaching/projects/{session.project_id}/sessions/"' in rows
    assert "80 of 60 minutes" in rows and "Overran by 20 min" in rows
    assert "4 February 2025" in rows and "13:00" in rows


def test_caseload_rows_carry_the_csrf_token_and_say_how_long_since_contact():
    project = ProjectFactory(title=TITLE)
    row = CaseloadRow(
        project=project, last_held=date(2025, 2, 4), next_on=None, open_count=2, overdue_count=1, days_since_contact=1
    )
    html = caseload_rows_html([row], csrf_token='tok"en')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'value="tok&quot;en"' in html
    assert f'action="/coaching/projects/{project.pk}/sessions/new/"' in html
    assert "1 day ago" in html and "Not planned" in html and 'text-bg-danger">1<' in html


def test_repeated_dates_and_times_are_each_shown_in_every_row():
    project = ProjectFactory()
    SessionFactory(project=project, on=date(2025, 3, 3), starts_at=time(9, 30))
    SessionFactory(project=project, on=date(2025, 3, 3), starts_at=time(9, 30))
    rows = session_rows_html(with_counts(Session.objects.filter(project=project)), with_project=False)
    assert rows.count("3 March 2025") == 2 and rows.count("09:30") == 2
