"""The self-assessment pages: who reads, who records, the form's messages at their fields, and editing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.html import escape

from evaluation.models import CHARACTERISTICS, EmbeddingAssessment
from projects.models import Step
from projects.tests.payment_factories import funded_project

from .conftest import TODAY

RECORDERS = ["nurse", "manager", "coach"]
READERS = ["lead", "admin"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
NAMES = [name for name, _ in CHARACTERISTICS]


def page(project):
    return reverse("embedding:project", args=[project.pk])


def record(project, occasion="baseline"):
    return reverse("embedding:record", args=[project.pk, occasion])


def form_data(**overrides):
    data = {"assessed_on": TODAY.isoformat(), "notes": "", "base": ""} | dict.fromkeys(NAMES, "3")
    return data | overrides


def assert_message_at(response, field_id, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    html, shown = response.text, escape(message)
    assert "There is a problem" in html
    assert f'<li><a href="#{field_id}">{shown}</a></li>' in html, html
    assert html.count(shown) >= 2


# Who


@pytest.mark.parametrize("who", RECORDERS)
def test_practice_staff_and_coaches_record_the_baseline(as_, project, who):
    client = as_(who)
    form = client.get(record(project))
    assert form.status_code == 200 and "Leadership" in form.text and "shared purpose" in form.text

    response = client.post(record(project), form_data(leadership="4"))

    assert response.status_code == 302 and response.url == page(project)
    saved = EmbeddingAssessment.objects.get(project=project, occasion="baseline")
    assert saved.leadership == 4 and saved.patient_focus == 3
    shown = client.get(page(project))
    assert "The baseline (project start) self-assessment is saved." in shown.text
    assert "Change the baseline (project start)" in shown.text


@pytest.mark.parametrize("who", READERS)
def test_the_lead_reads_but_cannot_record(as_, project, who, programme):
    EmbeddingAssessment.objects.create(
        project=project, occasion="baseline", assessed_on=TODAY, **dict.fromkeys(NAMES, 2)
    )
    client = as_(who)
    shown = client.get(page(project))
    assert shown.status_code == 200 and "Mean of the ten" in shown.text
    assert record(project) not in shown.text
    assert client.get(record(project)).status_code == 404
    assert client.post(record(project), form_data(leadership="5")).status_code == 404
    assert EmbeddingAssessment.objects.get().leadership == 2


@pytest.mark.parametrize("who", OUTSIDERS)
def test_anyone_else_gets_404_everywhere(as_, project, who):
    client = as_(who)
    assert client.get(page(project)).status_code == 404
    assert client.get(record(project)).status_code == 404
    assert client.post(record(project), form_data()).status_code == 404
    assert not EmbeddingAssessment.objects.exists()


def test_the_overview_links_to_the_self_assessment(as_, project):
    assert page(project) in as_("lead").get(project.get_absolute_url()).text


# The form


def test_a_missing_score_and_a_future_date_are_shown_at_their_fields(as_, project):
    data = form_data(assessed_on=(TODAY + timedelta(days=1)).isoformat())
    del data["patient_focus"]

    missing = as_("nurse").post(record(project), data)

    assert missing.status_code == 200
    assert_message_at(missing, "id_patient_focus_0", "Score patient focus from 1 to 5.")
    future = as_("nurse").post(record(project), form_data(assessed_on=(TODAY + timedelta(days=1)).isoformat()))
    assert_message_at(future, "id_assessed_on", "The date assessed cannot be in the future.")
    assert not EmbeddingAssessment.objects.exists()


def test_a_score_outside_1_to_5_is_refused(as_, project):
    response = as_("nurse").post(record(project), form_data(leadership="7"))
    assert_message_at(response, "id_leadership_0", "Score leadership from 1 to 5.")
    assert not EmbeddingAssessment.objects.exists()


def test_notes_that_may_identify_a_patient_need_the_box_ticked(as_, project):
    notes = "Spoke to Mr John Brown DOB 01/02/1960 about it"
    warned = as_("nurse").post(record(project), form_data(notes=notes))

    assert warned.status_code == 200 and "looks like a date of birth next to a name" in warned.text
    assert 'name="confirm_not_patient_data"' in warned.text and 'type="checkbox"' in warned.text
    assert not EmbeddingAssessment.objects.exists()

    as_("nurse").post(record(project), form_data(notes=notes, confirm_not_patient_data="on"))
    assert EmbeddingAssessment.objects.get().notes == notes


def test_the_follow_ups_wait_for_completion(as_, programme, clock):
    active = funded_project(programme, step=Step.TREAT)
    response = as_("coach").get(record(active, "6m"))
    assert response.status_code == 302 and response.url == page(active)
    as_("coach").post(record(active, "6m"), form_data())
    assert not EmbeddingAssessment.objects.exists()
    assert "open once the project has completed" in as_("coach").get(page(active)).text


def test_an_unknown_occasion_is_404(as_, project):
    assert as_("nurse").get(record(project, "24m")).status_code == 404


def test_editing_shows_the_saved_scores_and_refuses_a_stale_save(as_, project, clock):
    as_("nurse").post(record(project), form_data(leadership="2"))
    edit = as_("coach").get(record(project))
    base = EmbeddingAssessment.objects.get().recorded_at.isoformat()
    assert f'value="{base}"' in edit.text
    assert 'name="leadership" value="2"  id="id_leadership_1" required checked' in edit.text

    clock.shift(timedelta(minutes=3))
    as_("manager").post(record(project), form_data(leadership="5", base=base))
    stale = as_("coach").post(record(project), form_data(leadership="1", base=base))

    assert stale.status_code == 200
    assert "Manager Amherst saved this self-assessment while you were filling it in." in stale.text
    assert EmbeddingAssessment.objects.get().leadership == 5


def test_the_project_page_shows_the_change(as_, project):
    for occasion, score in (("baseline", 2), ("6m", 4)):
        EmbeddingAssessment.objects.create(
            project=project, occasion=occasion, assessed_on=TODAY, **dict.fromkeys(NAMES, score)
        )
    shown = as_("lead").get(page(project)).text
    assert "+2" in shown and "the change is from the baseline to the 6-month follow-up" in shown
