"""The online workbook's pages: who reads and who writes, what a save keeps or refuses, conflicts and history."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import escape

from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import Step, WorkbookSection
from projects.services import save_section
from projects.tests.factories import ProjectFactory

EDITORS = ["nurse", "manager", "coach"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
HTMX = {"HX-Request": "true"}
NHS_NUMBER = "943 476 5919"  # passes the modulus-11 check


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.ASSESS)


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


def section(project, key):
    return WorkbookSection.objects.get(project=project, key=key)


def post(client, project, key, data, *, version=None, htmx=True):
    body = {"version": section(project, key).version if version is None else version, **data}
    return client.post(url("section_save", project.pk, key), body, headers=HTMX if htmx else {})


def write(project, key, data, by, **kwargs):
    row = section(project, key)
    return save_section(section=row, data=data, base_version=row.version, by=by, **kwargs)


def assert_message_at(response, field_id, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    html, shown = response.text, re.escape(escape(message))
    assert "There is a problem" in html
    assert re.search(rf'<li><a href="#{field_id}">{shown}</a></li>', html), html
    assert re.search(
        rf'<p class="invalid-feedback d-block mb-1" id="{field_id}-error" data-wb-live><span class="visually-hidden">'
        rf"Error:</span> {shown}</p>",
        html,
    ), html


# The step page


def test_the_step_page_shows_each_section_with_its_guidance_example_and_state(as_, project, programme):
    write(project, "purpose", {"purpose": "To care for Northgate."}, programme.nurse, complete=True)
    response = as_("nurse").get(url("workbook", project.pk, "assess"))
    assert response.status_code == 200
    html = response.text
    for title in ("Purpose", "Patients", "Professionals", "Processes", "Patterns"):
        assert f'<h2 class="h3 mb-0" id="section-{title.lower()}-title">{title}</h2>' in html
    assert "Who provides and supports care? List roles, not names" in html  # guidance
    assert "Minor surgery, diabetes lead" in html  # the worked example
    assert "1 of 5 marked complete" in html
    saved_at = format_date(timezone.localtime(section(project, "purpose").updated_at), "H:i")
    assert f"Saved {saved_at} by {programme.nurse.get_short_name()}" in html
    assert "Not saved yet" in html
    assert "js/workbook.js" in html


def test_the_diagnose_page_has_the_fishbone_theme_and_global_aim(as_, project):
    html = as_("manager").get(url("workbook", project.pk, "diagnose")).text
    for key in ("strengths", "weaknesses", "fishbone", "theme", "global_aim"):
        assert f'id="section-{key}"' in html
    assert "The problem (the head of the fish)" in html
    assert 'value="Equipment and IT"' in html  # the default headings, renameable
    assert re.search(r'<noscript>.*name="fishbone-c-5-name"', html, re.S)  # a spare heading without JavaScript


@pytest.mark.parametrize("step", ["organise", "treat", "follow_up", "nonsense"])
def test_a_step_without_workbook_sections_is_not_found(as_, project, step):
    assert as_("nurse").get(url("workbook", project.pk, step)).status_code == 404


@pytest.mark.parametrize("who", EDITORS)
def test_editors_get_a_form_for_each_section(as_, project, who):
    html = as_(who).get(url("workbook", project.pk, "assess")).text
    assert html.count("data-wb-form") == 5
    assert f'action="{url("section_save", project.pk, "purpose")}"' in html
    assert 'name="version" value="0"' in html


def test_the_lead_sees_the_text_without_a_form(as_, project, programme):
    write(project, "purpose", {"purpose": "To keep Northgate well."}, programme.nurse)
    response = as_("lead").get(url("workbook", project.pk, "assess"))
    assert response.status_code == 200
    assert "To keep Northgate well." in response.text
    assert "data-wb-form" not in response.text
    assert "js/workbook.js" not in response.text
    assert "You can read this workbook." in response.text


def test_a_withdrawn_project_is_read_only_even_for_its_practice(as_, project, programme):
    project.step = Step.WITHDRAWN
    project.save(update_fields=["step"])
    client = as_("nurse")
    response = client.get(url("workbook", project.pk, "assess"))
    assert "data-wb-form" not in response.text
    assert "no longer changed" in response.text
    assert post(client, project, "purpose", {"purpose": "Late"}).status_code == 404


def test_each_field_shows_its_limit_as_a_count(as_, project, programme):
    write(project, "purpose", {"purpose": "x" * 120}, programme.nurse)
    html = as_("nurse").get(url("workbook", project.pk, "assess")).text
    assert "120 of 2,000 characters" in html
    assert "0 of 2,000 characters" in html
    html = as_("nurse").get(url("workbook", project.pk, "diagnose")).text
    assert "0 of 200 characters" in html  # the theme, a one-line field
    assert "0 of 300 characters" in html  # the fishbone's problem


def test_user_text_is_escaped_everywhere(as_, project, programme):
    attack = '<script>alert("x")</script>'
    write(project, "purpose", {"purpose": attack}, programme.nurse)
    client = as_("nurse")
    pages = [
        client.get(url("workbook", project.pk, "assess")),
        client.get(url("section_history", project.pk, "purpose")),
        post(client, project, "purpose", {"purpose": attack + " mine"}, version=0),  # a conflict shows both
        as_("lead").get(url("workbook", project.pk, "assess")),
    ]
    for response in pages:
        assert attack not in response.text
        assert escape(attack) in response.text


# Who may do what


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_workbook_view(as_, project, programme, who):
    write(project, "purpose", {"purpose": "v1"}, programme.nurse)
    history_id = section(project, "purpose").history.first().history_id
    client = as_(who)
    assert client.get(url("workbook", project.pk, "assess")).status_code == 404
    assert post(client, project, "purpose", {"purpose": "theirs"}).status_code == 404
    assert client.get(url("section_history", project.pk, "purpose")).status_code == 404
    assert client.post(url("section_restore", project.pk, "purpose", history_id)).status_code == 404
    assert section(project, "purpose").data["purpose"] == "v1"


def test_the_lead_reads_the_workbook_and_history_but_gets_404_on_save_and_restore(as_, project, programme):
    write(project, "purpose", {"purpose": "v1"}, programme.nurse)
    history_id = section(project, "purpose").history.first().history_id
    client = as_("lead")
    assert client.get(url("workbook", project.pk, "assess")).status_code == 200
    history = client.get(url("section_history", project.pk, "purpose"))
    assert history.status_code == 200
    assert "Restore version" not in history.text
    assert post(client, project, "purpose", {"purpose": "lead's"}).status_code == 404
    assert client.post(url("section_restore", project.pk, "purpose", history_id)).status_code == 404
    assert section(project, "purpose").version == 1


def test_a_coach_of_another_project_gets_404(client, project, programme):
    spare = UserFactory(email="spare.coach@west.example")
    ProgrammeRoleFactory(user=spare, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    client.force_login(spare)
    assert client.get(url("workbook", project.pk, "assess")).status_code == 404
    assert post(client, project, "purpose", {"purpose": "x"}).status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, project):
    response = client.get(url("workbook", project.pk, "assess"))
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]


def test_saving_needs_a_post(as_, project):
    assert as_("nurse").get(url("section_save", project.pk, "purpose")).status_code == 405


@pytest.mark.parametrize("key", ["nonsense", "specific_aims"])
def test_a_section_that_is_not_on_a_workbook_page_is_not_found(as_, project, key):
    client = as_("nurse")
    assert client.post(url("section_save", project.pk, key), {"version": 0}).status_code == 404
    assert client.get(url("section_history", project.pk, key)).status_code == 404


# Saving


@pytest.mark.parametrize("who", EDITORS)
def test_editors_save_a_section_and_get_it_back_with_the_new_version(as_, project, programme, who):
    response = post(as_(who), project, "purpose", {"purpose": "Our system exists to help.", "complete": "yes"})
    assert response.status_code == 200
    saved = section(project, "purpose")
    assert (saved.version, saved.complete, saved.data) == (1, True, {"purpose": "Our system exists to help."})
    assert saved.updated_by == getattr(programme, who)
    html = response.text
    assert 'name="version" value="1"' in html
    assert (
        f"Saved {format_date(timezone.localtime(saved.updated_at), 'H:i')} by {saved.updated_by.get_short_name()}"
        in html
    )
    assert "<html" not in html  # a fragment, not the page


def test_a_form_post_without_javascript_saves_and_returns_to_the_section(as_, project):
    response = post(as_("nurse"), project, "purpose", {"purpose": "Plain form"}, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == url("workbook", project.pk, "assess") + "#section-purpose"
    assert section(project, "purpose").data["purpose"] == "Plain form"


def test_unticking_complete_marks_the_section_not_complete(as_, project, programme):
    write(project, "purpose", {"purpose": "Done"}, programme.nurse, complete=True)
    post(as_("nurse"), project, "purpose", {"purpose": "Done"})
    assert section(project, "purpose").complete is False


def test_a_table_is_read_from_repeated_inputs_in_order_without_blank_rows(as_, project):
    data = {
        "staff-0-role": "GP partner",
        "staff-0-sessions": "24",
        "staff-0-skills": "Diabetes",
        "staff-1-role": "",  # the spare row, left empty
        "staff-1-sessions": "",
        "staff-1-skills": "",
        "staff-7-role": "Receptionist",  # a row added inline: its index need not follow on
        "staff-7-sessions": "40",
        "staff-3-role": "Practice nurse",
        "morale": "Good",
    }
    assert post(as_("nurse"), project, "professionals", data).status_code == 200
    saved = section(project, "professionals").data
    assert [row["role"] for row in saved["staff"]] == ["GP partner", "Practice nurse", "Receptionist"]
    assert saved["staff"][2] == {"role": "Receptionist", "sessions": "40", "skills": ""}
    html = as_("nurse").get(url("workbook", project.pk, "assess")).text
    assert 'name="staff-2-role" id="professionals-staff-2-role" value="Receptionist"' in html
    assert 'name="staff-3-role" id="professionals-staff-3-role" value=""' in html  # a spare row to write in


def test_the_fishbone_keeps_renamed_headings_and_added_and_removed_causes(as_, project):
    project.step = Step.DIAGNOSE
    project.save(update_fields=["step"])
    data = {
        "fishbone-problem": "Results wait too long",
        "fishbone-c-0-id": "c1",
        "fishbone-c-0-name": "Our people",  # renamed from People
        "fishbone-c-0-x-0-id": "a1",
        "fishbone-c-0-x-0-text": "Part-time GPs",
        "fishbone-c-0-x-1-id": "a2",
        "fishbone-c-0-x-1-text": "",  # a cause emptied: removed
        "fishbone-c-4-id": "n1",
        "fishbone-c-4-name": "Suppliers",  # a heading added inline
        "fishbone-c-4-x-0-id": "n2",
        "fishbone-c-4-x-0-text": "Lab courier late",
        "fishbone-c-5-id": "",
        "fishbone-c-5-name": "",  # an empty new heading: ignored
    }
    assert post(as_("nurse"), project, "fishbone", data).status_code == 200
    fishbone = section(project, "fishbone").data["fishbone"]
    assert fishbone["problem"] == "Results wait too long"
    assert fishbone["categories"] == [
        {"id": "c1", "name": "Our people", "causes": [{"id": "a1", "text": "Part-time GPs"}]},
        {"id": "n1", "name": "Suppliers", "causes": [{"id": "n2", "text": "Lab courier late"}]},
    ]


def test_a_cause_under_a_heading_with_no_name_is_refused_at_the_fishbone(as_, project):
    data = {"fishbone-problem": "", "fishbone-c-0-name": " ", "fishbone-c-0-x-0-text": "Orphan cause"}
    response = post(as_("nurse"), project, "fishbone", data)
    assert response.status_code == 422
    assert_message_at(response, "fishbone-fishbone", "Every fishbone heading needs a name.")
    assert 'value="Orphan cause"' in response.text
    assert section(project, "fishbone").version == 0


def test_over_long_text_is_refused_at_the_field_keeping_what_was_typed(as_, project):
    typed = "a" * 2001
    response = post(as_("nurse"), project, "purpose", {"purpose": typed})
    assert response.status_code == 422
    message = "Our system exists to… must be 2,000 characters or fewer (it has 2,001)."
    assert_message_at(response, "purpose-purpose", message)
    assert f"\n{typed}</textarea>" in response.text
    assert "2,001 of 2,000 characters: 1 too many" in response.text
    assert "Not saved: there is a problem with what you wrote." in response.text
    assert section(project, "purpose").version == 0


def test_over_long_text_without_javascript_shows_the_page_with_the_error_summary(as_, project):
    response = post(as_("nurse"), project, "purpose", {"purpose": "a" * 2001}, htmx=False)
    assert response.status_code == 422
    assert "<html" in response.text
    assert_message_at(
        response, "purpose-purpose", "Our system exists to… must be 2,000 characters or fewer (it has 2,001)."
    )
    assert section(project, "purpose").version == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"staff-0-role": "r" * 201}, "Role in row 1 must be 200 characters or fewer (it has 201)."),
        ({"staff-0-sessions": "1" * 21}, "Sessions a week in row 1 must be 20 characters or fewer (it has 21)."),
        ({f"staff-{i}-role": f"Role {i}" for i in range(41)}, "Roles in the team can have at most 40 rows."),
    ],
)  # fmt: skip
def test_a_malformed_table_is_refused_at_the_table_and_writes_nothing(as_, project, data, message):
    response = post(as_("nurse"), project, "professionals", {**data, "morale": "Fine"})
    assert response.status_code == 422
    assert_message_at(response, "professionals-staff", message)
    assert 'value="Fine"' not in response.text  # morale is a text area
    assert "\nFine</textarea>" in response.text
    assert section(project, "professionals").version == 0


def test_a_refused_save_keeps_the_version_the_page_had(as_, project, programme):
    write(project, "purpose", {"purpose": "Newer, by someone else"}, programme.manager)
    response = post(as_("nurse"), project, "purpose", {"purpose": "a" * 2001}, version=0)
    assert 'name="version" value="0"' in response.text  # never the newer version without its text


def test_possible_patient_data_is_flagged_and_saved_once_confirmed(as_, project):
    client = as_("nurse")
    typed = f"Mrs Jones, NHS number {NHS_NUMBER}, rings daily."
    response = post(client, project, "patients", {"who": typed})
    assert response.status_code == 422
    assert "It contains what looks like an NHS number." in response.text
    assert "This is not a patient's data — save anyway" in response.text
    assert_message_at(
        response, "patients-who", "This may identify a patient. It contains what looks like an NHS number."
    )
    assert typed in response.text
    assert section(project, "patients").version == 0

    response = post(client, project, "patients", {"who": typed, "confirm_not_patient_data": "yes"})
    assert response.status_code == 200
    assert section(project, "patients").data["who"] == typed
    assert 'name="confirm_not_patient_data" value="yes" id="patients-confirm" checked' in response.text


def test_a_stale_version_gets_both_texts_side_by_side_and_writes_nothing(as_, project, programme):
    write(project, "purpose", {"purpose": "Theirs: safe, timely care."}, programme.manager)
    response = post(as_("nurse"), project, "purpose", {"purpose": "Mine: care close to home."}, version=0)
    assert response.status_code == 409
    html = response.text
    assert "Their version" in html and "Your version" in html
    assert "Theirs: safe, timely care." in html
    assert "\nMine: care close to home.</textarea>" in html
    assert f"{programme.manager.get_full_name()} saved this section while you were editing it." in html
    assert 'name="version" value="1"' in html  # saving again saves the merge
    assert "Save your merged version" in html
    assert section(project, "purpose").data["purpose"] == "Theirs: safe, timely care."
    assert section(project, "purpose").version == 1


def test_saving_the_merge_from_the_conflict_saves_it_as_the_next_version(as_, project, programme):
    write(project, "purpose", {"purpose": "Theirs"}, programme.manager)
    client = as_("nurse")
    post(client, project, "purpose", {"purpose": "Mine"}, version=0)
    response = post(client, project, "purpose", {"purpose": "Theirs and mine"}, version=1)
    assert response.status_code == 200
    saved = section(project, "purpose")
    assert (saved.version, saved.data["purpose"], saved.updated_by) == (2, "Theirs and mine", programme.nurse)
    assert "Their version" not in response.text


def test_a_conflict_without_javascript_shows_the_whole_page(as_, project, programme):
    write(project, "purpose", {"purpose": "Theirs"}, programme.manager)
    response = post(as_("nurse"), project, "purpose", {"purpose": "Mine"}, version=0, htmx=False)
    assert response.status_code == 409
    assert "<html" in response.text
    assert "Your changes were not saved" in response.text
    assert "Their version" in response.text


def test_a_garbled_version_is_treated_as_a_conflict(as_, project):
    response = post(as_("nurse"), project, "purpose", {"purpose": "Mine"}, version="latest")
    assert response.status_code == 409
    assert section(project, "purpose").version == 0


# History and restore


def test_the_history_lists_each_version_with_who_and_when(as_, project, programme):
    write(project, "purpose", {"purpose": "First words"}, programme.nurse)
    write(project, "purpose", {"purpose": "Second words"}, programme.manager)
    response = as_("coach").get(url("section_history", project.pk, "purpose"))
    assert response.status_code == 200
    html = response.text
    assert html.index("Second words") < html.index("First words")  # newest first
    assert programme.nurse.get_full_name() in html and programme.manager.get_full_name() in html
    assert 'Version 2 <span class="badge text-bg-primary">Current</span>' in html
    assert "Restore version 1" in html
    assert "Restore version 2" not in html  # the current one


def test_restore_brings_back_an_earlier_text_as_a_new_version(as_, project, programme):
    write(project, "purpose", {"purpose": "First words"}, programme.nurse)
    write(project, "purpose", {"purpose": "Second words"}, programme.manager)
    first = section(project, "purpose").history.get(version=1)
    response = as_("nurse").post(url("section_restore", project.pk, "purpose", first.history_id))
    assert response.status_code == 302
    assert response["Location"].endswith("#section-purpose")
    restored = section(project, "purpose")
    assert (restored.version, restored.data["purpose"], restored.updated_by) == (3, "First words", programme.nurse)
    assert restored.history.count() == 3  # nothing lost
    page = as_("nurse").get(response["Location"])
    assert "Purpose: version 1 is back, saved as version 3." in page.text


def test_restoring_another_sections_version_is_not_found(as_, project, programme):
    write(project, "patients", {"who": "Everyone"}, programme.nurse)
    other = section(project, "patients").history.first()
    response = as_("nurse").post(url("section_restore", project.pk, "purpose", other.history_id))
    assert response.status_code == 404
    assert section(project, "purpose").version == 0


def test_restoring_needs_a_post(as_, project, programme):
    write(project, "purpose", {"purpose": "v1"}, programme.nurse)
    history_id = section(project, "purpose").history.first().history_id
    assert as_("nurse").get(url("section_restore", project.pk, "purpose", history_id)).status_code == 405


# Queries


def _grow(project, programme, saves):
    for i in range(saves):
        for key in ("purpose", "patients", "professionals", "processes", "patterns"):
            row = section(project, key)
            data = {f: f"{key} {i}" for f in row.data if isinstance(row.data[f], str)}
            save_section(section=row, data=data, base_version=row.version, by=programme.nurse)


def test_the_step_page_makes_the_same_number_of_queries_as_history_grows(as_, programme):
    client = as_("nurse")
    client.get(reverse("home"))  # the session's first request writes to it

    def queries_for(saves):
        project = ProjectFactory(practice=programme.practice, step=Step.ASSESS)
        _grow(project, programme, saves)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("workbook", project.pk, "assess")).status_code == 200
        return len(captured)

    assert queries_for(1) == queries_for(12)


def test_the_history_page_makes_the_same_number_of_queries_as_history_grows(as_, programme):
    client = as_("nurse")
    client.get(reverse("home"))  # the session's first request writes to it

    def queries_for(saves):
        project = ProjectFactory(practice=programme.practice, step=Step.ASSESS)
        _grow(project, programme, saves)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("section_history", project.pk, "purpose")).status_code == 200
        return len(captured)

    assert queries_for(2) == queries_for(15)
