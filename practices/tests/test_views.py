"""Practice pages: who sees what, and what a change leaves behind."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from microsystems.models import AuditEntry, User
from practices.models import Engagement, EngagementChange, Practice, PracticeMembership, StaffRole
from practices.tests.factories import MembershipFactory, PracticeFactory


def directory(client, **params):
    return client.get(reverse("practices:directory"), params)


# Directory


@pytest.mark.parametrize("who", ["lead", "coach", "finance"])
def test_programme_roles_see_their_commissioners_practices_only(client, programme, who):
    client.force_login(getattr(programme, who))
    response = directory(client)
    assert response.status_code == 200
    assert "Amherst Medical Practice" in response.text
    assert "Kingswood Surgery" in response.text
    assert "Crowborough Surgery" not in response.text


def test_a_practice_member_sees_only_their_own_practice_in_the_directory(client, programme):
    client.force_login(programme.nurse)
    response = directory(client)
    assert "Amherst Medical Practice" in response.text
    assert "Kingswood Surgery" not in response.text


def test_the_directory_searches_by_name_and_ods_code(client, programme):
    client.force_login(programme.lead)
    assert "Kingswood" not in directory(client, q="amherst").text
    by_code = directory(client, q="g82016").text
    assert "Kingswood Surgery" in by_code and "Amherst" not in by_code


def test_the_directory_filters_by_engagement_and_pcn(client, programme):
    Practice.objects.filter(pk=programme.practice.pk).update(engagement=Engagement.ENGAGED)
    client.force_login(programme.lead)
    engaged = directory(client, engagement="engaged").text
    assert "Amherst Medical Practice" in engaged and "Kingswood Surgery" not in engaged
    by_pcn = directory(client, pcn=programme.sibling_practice.pcn_id).text
    assert "Kingswood Surgery" in by_pcn and "Amherst Medical Practice" not in by_pcn


def test_the_pcn_filter_offers_no_pcn_of_another_commissioner(client, programme):
    client.force_login(programme.lead)
    response = directory(client, pcn=programme.other_practice.pcn_id)
    assert "Select a valid choice" in response.text
    assert programme.other_practice.pcn.name not in response.text


def test_the_directory_sorts_and_paginates(client, programme):
    PracticeFactory.create_batch(30, commissioner=programme.commissioner, pcn=programme.practice.pcn)
    client.force_login(programme.lead)
    first = directory(client, sort="-name")
    assert first.status_code == 200
    assert "32 practices" in first.text
    assert directory(client, page=2).status_code == 200


def test_the_directory_runs_the_same_number_of_queries_for_1_and_50_practices(client, programme):
    client.force_login(programme.lead)
    directory(client)
    with CaptureQueriesContext(connection) as few:
        directory(client)
    for practice in PracticeFactory.create_batch(50, commissioner=programme.commissioner):
        MembershipFactory.create_batch(2, practice=practice)
    with CaptureQueriesContext(connection) as many:
        directory(client)
    assert len(few) == len(many)


def test_the_directory_asks_an_anonymous_visitor_to_sign_in(client, programme):
    response = directory(client)
    assert response.status_code == 302 and reverse("login") in response["Location"]


# Detail


def detail(client, practice):
    return client.get(reverse("practices:detail", args=[practice.ods_code]))


@pytest.mark.parametrize("who", ["lead", "coach", "finance", "manager", "nurse", "admin"])
def test_people_with_a_reason_to_see_a_practice_can_open_it(client, programme, who):
    client.force_login(getattr(programme, who))
    response = detail(client, programme.practice)
    assert response.status_code == 200
    assert "manager@amherst.example" in response.text


@pytest.mark.parametrize("who", ["sibling_nurse", "other_lead", "other_nurse"])
def test_outsiders_get_a_404_for_a_practice(client, programme, who):
    client.force_login(getattr(programme, who))
    response = detail(client, programme.practice)
    assert response.status_code == 404
    assert "manager@amherst.example" not in response.text


def test_practice_detail_runs_the_same_number_of_queries_with_more_staff_and_history(client, programme):
    client.force_login(programme.lead)
    detail(client, programme.practice)
    with CaptureQueriesContext(connection) as few:
        detail(client, programme.practice)
    MembershipFactory.create_batch(20, practice=programme.practice)
    for n in range(10):
        EngagementChange.objects.create(
            practice=programme.practice,
            changed_by=programme.lead,
            effective_on=date(2024, 1, 1) + timedelta(n),
            from_engagement="invited",
            to_engagement="engaged",
        )
    with CaptureQueriesContext(connection) as many:
        detail(client, programme.practice)
    assert len(few) == len(many)


# Engagement


def change(client, practice, **data):
    payload = {"engagement": "engaged", "cohort": "early_adopter", "effective_on": "2025-03-03"} | data
    return client.post(reverse("practices:engagement", args=[practice.ods_code]), payload)


def test_the_lead_changes_engagement_with_a_reason_and_it_is_kept_in_history(client, programme):
    client.force_login(programme.lead)
    response = change(
        client,
        programme.practice,
        engagement="declined",
        cohort="",
        reason="no_time",
        reason_detail="Too busy with the CQC visit.",
    )
    assert response.status_code == 302
    programme.practice.refresh_from_db()
    assert programme.practice.engagement == Engagement.DECLINED
    assert programme.practice.engagement_since == date(2025, 3, 3)
    entry = programme.practice.engagement_changes.get()
    assert (entry.from_engagement, entry.to_engagement, entry.reason) == ("not_approached", "declined", "no_time")
    assert entry.changed_by == programme.lead
    assert AuditEntry.objects.filter(action="practice.engagement_changed", actor=programme.lead).exists()
    page = detail(client, programme.practice).text
    assert "Too busy with the CQC visit." in page and "No time to take part" in page


def test_declining_without_a_reason_is_refused_at_the_field_and_changes_nothing(client, programme):
    client.force_login(programme.lead)
    response = change(client, programme.practice, engagement="withdrew", cohort="")
    assert response.status_code == 200
    assert "Say why the practice withdrew." in response.text
    assert 'href="#id_reason"' in response.text
    programme.practice.refresh_from_db()
    assert programme.practice.engagement == Engagement.NOT_APPROACHED
    assert not EngagementChange.objects.exists()


def test_other_as_a_reason_needs_a_description(client, programme):
    client.force_login(programme.lead)
    response = change(client, programme.practice, engagement="declined", cohort="", reason="other")
    assert "Describe the reason." in response.text
    assert not EngagementChange.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"effective_on": "not a date"}, "Enter a valid date."),
        ({"effective_on": (date.today() + timedelta(days=3)).isoformat()}, "cannot be in the future"),
        ({"engagement": "married"}, "Select a valid choice."),
        ({"engagement": "not_approached", "cohort": ""}, "Nothing to change"),
    ],
)
def test_bad_engagement_input_gets_a_clear_message_and_writes_nothing(client, programme, data, message):
    client.force_login(programme.lead)
    response = change(client, programme.practice, **data)
    assert response.status_code == 200
    assert message in response.text
    assert not EngagementChange.objects.exists()


@pytest.mark.parametrize("who", ["coach", "finance", "manager", "nurse"])
def test_only_the_lead_can_change_engagement(client, programme, who):
    client.force_login(getattr(programme, who))
    assert client.get(reverse("practices:engagement", args=[programme.practice.ods_code])).status_code == 404
    assert change(client, programme.practice).status_code == 404
    assert not EngagementChange.objects.exists()


def test_another_commissioners_lead_cannot_change_engagement(client, programme):
    client.force_login(programme.other_lead)
    assert change(client, programme.practice).status_code == 404
    assert not EngagementChange.objects.exists()


# Invitations


def invite(client, practice, **data):
    payload = {"full_name": "Jo Bloggs", "email": "Jo.Bloggs@nhs.example", "role": "receptionist"} | data
    return client.post(reverse("practices:invite", args=[practice.ods_code]), payload)


@pytest.mark.parametrize("who", ["lead", "manager"])
def test_the_lead_or_practice_manager_invites_staff_who_set_their_own_password(
    client, programme, who, django_capture_on_commit_callbacks
):
    client.force_login(getattr(programme, who))
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, programme.practice)
    assert response.status_code == 302
    invitee = User.objects.get(email="jo.bloggs@nhs.example")
    assert not invitee.has_usable_password()
    assert PracticeMembership.objects.get(user=invitee).role == StaffRole.RECEPTIONIST
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jo.bloggs@nhs.example"]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/account/invitation/" in line)
    path = link[link.index("/account/") :]

    client.logout()
    form = client.get(path, follow=True)
    assert "Choose your password" in form.text
    set_password_url = form.redirect_chain[-1][0] if form.redirect_chain else path
    done = client.post(set_password_url, {"new_password1": "Lantern-river-42", "new_password2": "Lantern-river-42"})
    assert done.status_code == 302
    invitee.refresh_from_db()
    assert invitee.check_password("Lantern-river-42")

    client.logout()
    again = client.get(path, follow=True)
    assert "This invitation has expired or been used" in again.text


def test_an_invitation_link_expires(client, programme, django_capture_on_commit_callbacks, settings):
    import time_machine

    client.force_login(programme.lead)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, programme.practice)
    link = next(line for line in mail.outbox[0].body.splitlines() if "/account/invitation/" in line)
    client.logout()
    with time_machine.travel(date.today() + timedelta(days=4)):
        response = client.get(link[link.index("/account/") :], follow=True)
    assert "This invitation has expired or been used" in response.text


def test_inviting_someone_already_on_the_staff_is_refused_at_the_field(client, programme):
    client.force_login(programme.lead)
    response = invite(client, programme.practice, email="NURSE@amherst.example")
    assert response.status_code == 200
    assert "already on this practice&#x27;s staff" in response.text
    assert PracticeMembership.objects.filter(practice=programme.practice).count() == 2


def test_an_existing_user_is_added_without_a_new_password(client, programme, django_capture_on_commit_callbacks):
    client.force_login(programme.lead)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, programme.sibling_practice, email="nurse@amherst.example")
    assert programme.nurse.memberships.count() == 2
    assert "/account/invitation/" not in mail.outbox[0].body


@pytest.mark.parametrize("data", [{"email": "not-an-email"}, {"full_name": ""}, {"role": "surgeon"}])
def test_bad_invitation_input_writes_nothing(client, programme, data):
    client.force_login(programme.lead)
    users = User.objects.count()
    response = invite(client, programme.practice, **data)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert User.objects.count() == users


@pytest.mark.parametrize("who", ["nurse", "coach", "finance", "sibling_nurse", "other_lead"])
def test_people_who_may_not_invite_get_a_404(client, programme, who):
    client.force_login(getattr(programme, who))
    assert invite(client, programme.practice).status_code == 404
    assert not User.objects.filter(email="jo.bloggs@nhs.example").exists()


# Roles remembered in the session


def test_roles_remembered_in_the_session_follow_a_change_on_the_next_request(client, programme):
    from practices.models import ProgrammeRole, ProgrammeRoleKind
    from practices.tests.factories import ProgrammeRoleFactory

    client.force_login(programme.coach)
    assert "Amherst Medical Practice" in directory(client).text
    assert "roles" in client.session
    with CaptureQueriesContext(connection) as remembered:
        directory(client)
    assert not any("practices_programmerole" in q["sql"] for q in remembered.captured_queries)

    ProgrammeRoleFactory(user=programme.coach, commissioner=programme.other_commissioner, role=ProgrammeRoleKind.COACH)
    assert "Crowborough Surgery" in directory(client).text

    ProgrammeRole.objects.filter(user=programme.coach).delete()
    assert "Amherst Medical Practice" not in directory(client).text


def test_a_new_practice_membership_takes_effect_on_the_next_request(client, programme):
    client.force_login(programme.nurse)
    assert "Kingswood Surgery" not in directory(client).text
    MembershipFactory(user=programme.nurse, practice=programme.sibling_practice, role=StaffRole.NURSE)
    assert "Kingswood Surgery" in directory(client).text
    PracticeMembership.objects.filter(user=programme.nurse, practice=programme.sibling_practice).delete()
    assert "Kingswood Surgery" not in directory(client).text


def test_the_practice_pages_scope_check_agrees_with_the_directorys_scope(programme):
    """``sees_practice`` (the practice page's check, on a practice already read) is ``practices_for``'s rule."""
    from microsystems.models import User
    from practices.models import Practice
    from practices.selectors import practices_for, sees_practice

    users = [getattr(programme, name) for name in programme.__dataclass_fields__]
    for user in [u for u in users if isinstance(u, User)]:
        for practice in Practice.objects.all():
            assert sees_practice(user, practice) == practices_for(user).filter(pk=practice.pk).exists(), (
                user.email,
                practice.ods_code,
            )
