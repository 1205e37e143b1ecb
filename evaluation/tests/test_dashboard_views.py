"""The dashboard page: who may see it, its filters, its links (each list shows as many rows as the number said)
and what it costs. Today is 1 September 2025."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import CoachProfile
from coaching.tests.factories import AgreementFactory, CoachProfileFactory, SessionFactory
from evaluation.models import FollowUp, FollowUpKind, FollowUpReview, FollowUpStatus, Sustained
from practices.models import Cohort, Engagement, OdsStatus, Pcn
from practices.tests.factories import PracticeFactory
from projects.models import PaymentStatus, Step, Typology
from projects.tests.factories import ProjectFactory, TeamMemberFactory
from projects.tests.payment_factories import PaymentFactory

URL = reverse("programme:dashboard")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2025, 9, 1, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def project(at, step=Step.TREAT, **fields):
    fields.setdefault("starts_on", date(2025, 5, 1))
    fields.setdefault("planned_end_on", date(2025, 8, 1))
    return ProjectFactory(practice=at, step=step, **fields)


def populate(programme, n: int = 1) -> None:
    """A programme with something behind every figure, ``n`` times over, and East's rows beside it."""
    coach = programme.coach
    if not CoachProfile.objects.filter(user=coach).exists():
        CoachProfileFactory(user=coach, commissioner=programme.commissioner, max_projects=1)
        CoachProfileFactory(commissioner=programme.commissioner, max_projects=4)
    for i in range(n):
        for engagement, cohort in [
            (Engagement.INVITED, Cohort.EARLY_ADOPTER),
            (Engagement.DECLINED, Cohort.NONE),
            (Engagement.WITHDREW, Cohort.LATE_MAJORITY),
            (Engagement.ENGAGED, Cohort.LATE_MAJORITY),  # never contacted
        ]:
            PracticeFactory(commissioner=programme.commissioner, engagement=engagement, cohort=cohort)
        PracticeFactory(commissioner=programme.commissioner, engagement=Engagement.ENGAGED, ods_status=OdsStatus.CLOSED)
        at = PracticeFactory(
            commissioner=programme.commissioner,
            pcn=programme.practice.pcn,
            engagement=Engagement.ENGAGED,
            cohort=Cohort.EARLY_ADOPTER,
            engagement_since=date(2024, 1, 1),
        )
        done = project(at, Step.FOLLOW_UP, completed_on=date(2025, 1, 10), starts_on=date(2024, 9, 1), lead_coach=coach)
        TeamMemberFactory(project=done, is_champion=True)
        AgreementFactory(project=done)
        SessionFactory(project=done, coach=coach, on=date(2025, 7, 1))
        held = FollowUp.objects.create(
            project=done, kind=FollowUpKind.SIX_MONTHS, due_on=date(2025, 7, 10), status=FollowUpStatus.HELD
        )
        FollowUpReview.objects.create(follow_up=held, held_on=date(2025, 7, 10), sustained=Sustained.PARTLY)
        FollowUp.objects.create(project=done, kind=FollowUpKind.TWELVE_MONTHS, due_on=date(2025, 9, 10 + i))
        lapsed = project(at, Step.FOLLOW_UP, completed_on=date(2024, 6, 1), starts_on=date(2024, 2, 1))
        FollowUp.objects.create(project=lapsed, kind=FollowUpKind.TWELVE_MONTHS, due_on=date(2025, 6, 1 + i))
        fresh = project(at, Step.ORGANISE, typology=Typology.HEALTH_OUTPUTS, process_subtheme="", co_coach=coach)
        project(programme.sibling_practice, Step.WITHDRAWN)
        PaymentFactory(project=done, amount=Decimal("1500.00"), due_on=date(2025, 5, 1))
        PaymentFactory(
            project=fresh, amount=Decimal("250.00"), status=PaymentStatus.PAID, due_on=date(2025, 6, 1),
            paid_on=date(2025, 6, 20), reference=f"PO-{i}",
        )  # fmt: skip
        east = project(programme.other_practice, Step.ORGANISE)
        PaymentFactory(project=east, amount=Decimal("999.00"), due_on=date(2025, 5, 1))


# --- who may see it -------------------------------------------------------------------------------------------


def test_the_lead_sees_their_programme(as_, programme):
    populate(programme)
    response = as_("lead").get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="mb-1">Programme dashboard</h1>' in page
    assert "NHS West Kent · All years" in page
    assert "£1,500.00" in page and "£250.00" in page and "£999.00" not in page
    figures = response.context["figures"]
    assert figures.scope.commissioner == programme.commissioner
    assert f'href="{figures.no_agreement.url}"' in page.replace("&amp;", "&")


def test_finance_reads_it_with_links_only_to_the_lists_finance_may_open(as_, programme):
    populate(programme)
    response = as_("finance").get(URL)
    assert response.status_code == 200
    page = response.content.decode().replace("&amp;", "&")
    figures = response.context["figures"]
    assert f'href="{figures.money.committed.url}"' in page
    assert f'href="{figures.funnel[0].total.url}"' in page
    assert "/projects/?" not in page and "/follow-ups/?" not in page and "/coaching/coaches/?" not in page
    assert figures.no_agreement.shown in page  # shown, unlinked


@pytest.mark.parametrize("who", ["coach", "manager", "nurse", "other_nurse"])
def test_coaches_and_practice_staff_get_a_404(as_, who):
    assert as_(who).get(URL).status_code == 404


def test_someone_signed_out_is_asked_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_a_lead_cannot_see_another_commissioners_dashboard(as_, programme):
    populate(programme)
    response = as_("other_lead").get(URL, {"commissioner": programme.commissioner.pk})
    assert response.status_code == 200
    assert response.context["figures"].scope.commissioner == programme.other_commissioner
    page = response.content.decode()
    assert "NHS West Kent" not in page and "£1,500.00" not in page
    assert "£999.00" in page  # East's own payment


def test_a_staff_admin_picks_any_commissioner(as_, programme):
    populate(programme)
    response = as_("admin").get(URL, {"commissioner": programme.other_commissioner.pk})
    assert response.context["figures"].scope.commissioner == programme.other_commissioner
    assert response.context["figures"].money.committed.value == Decimal("999.00")


# --- filters --------------------------------------------------------------------------------------------------


def test_the_pcn_and_year_filters_narrow_the_figures(as_, programme):
    populate(programme)
    client = as_("lead")
    everything = client.get(URL).context["figures"]
    assert everything.projects.value == 4  # done, lapsed, fresh, and the sibling's withdrawn one
    narrowed = client.get(URL, {"pcn": programme.practice.pcn.pk, "year": 2025}).context["figures"]
    assert narrowed.projects.value == 1  # fresh: started in 2025/26 at the practice's PCN
    assert narrowed.scope.describe() == f"NHS West Kent · {programme.practice.pcn.name} · 2025/26"
    earlier = client.get(URL, {"year": 2024}).context["figures"]
    assert (earlier.projects.value, earlier.money.year) == (1, 2024)  # done; lapsed started in 2023/24


def test_a_pcn_of_another_commissioner_is_ignored(as_, programme):
    populate(programme)
    east_pcn = Pcn.objects.create(code="U99999", name="Weald PCN", commissioner=programme.other_commissioner)
    figures = as_("lead").get(URL, {"pcn": east_pcn.pk}).context["figures"]
    assert figures.scope.pcn is None and figures.projects.value == 4


# --- every number opens the list of what it counts -------------------------------------------------------------


def rows_listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    context = response.context
    if "table" in context:  # practices, projects
        return int(context["table"].paginator.count)
    if "page" in context and hasattr(context["page"], "paginator") and "totals" in context:  # payments
        return int(context["page"].paginator.count)
    return len(context["rows"])  # follow-ups, coaches


def test_each_number_opens_a_list_of_as_many_rows(as_, programme):
    populate(programme, n=2)
    client = as_("lead")
    figures = client.get(URL, {"year": 2025}).context["figures"]
    counted = [
        *(cell for row in (*figures.funnel, *figures.left) for cell in row.cells),
        figures.not_contacted,
        *figures.steps,
        figures.projects,
        figures.no_champion,
        figures.no_agreement,
        figures.coaches.coaches,
        figures.coaches.over,
        figures.follow_ups_due,
        figures.follow_ups_overdue,
    ]
    assert [f.value for f in counted if f.value]  # something behind the numbers
    for figure in counted:
        assert rows_listed(client, figure.url) == figure.value, figure.label
    money = figures.money
    assert (rows_listed(client, money.committed.url), rows_listed(client, money.paid.url)) == (
        money.committed_count,
        money.paid_count,
    )


def test_the_numbers_are_what_the_data_says(as_, programme):
    populate(programme, n=2)
    figures = as_("lead").get(URL).context["figures"]
    totals = {row.label: row.total.value for row in (*figures.funnel, *figures.left)}
    assert totals == {
        "Not yet approached": 2,  # the fixture's practice and sibling
        "Invited": 2,
        "Engaged": 4,
        "First project completed": 2,
        "Second project": 2,
        "Declined": 2,
        "Withdrew": 2,
    }
    assert figures.not_contacted.value == 2
    assert (figures.no_champion.value, figures.no_agreement.value) == (2, 2)  # the fresh projects
    # the coach leads both "done" projects (in Follow-up: still open) and co-coaches both fresh ones
    assert (figures.coaches.coaches.value, figures.coaches.load, figures.coaches.over.value) == (2, 4, 1)
    assert (figures.follow_ups_due.value, figures.follow_ups_overdue.value) == (2, 2)
    assert (figures.money.committed.shown, figures.money.paid.shown) == ("£3,000.00", "£500.00")


# --- charts, reports and cost ----------------------------------------------------------------------------------


def test_the_charts_are_asked_for_and_the_reports_linked(as_, programme):
    populate(programme)
    response = as_("lead").get(URL)
    charts = response.context["charts"]
    assert [(c.slug, c.status) for c in charts] == [
        ("dashboard-typology", "pending"),
        ("dashboard-sustainability", "pending"),
    ]
    page = response.content.decode()
    assert f'hx-get="{charts[0].poll_url}"' in page
    assert charts[1].alt in page.replace("&#x27;", "'")
    query = f"commissioner={programme.commissioner.pk}"
    for slug in ("typology", "adoption", "sustainability", "outcomes", "embedding", "coaching"):
        assert f'href="{reverse("programme:report", args=[slug])}?{query}"' in page
    assert f'href="{reverse("programme:programme_report")}?{query}"' in page


def test_an_empty_programme_shows_zeros_and_empty_charts(as_, programme):
    response = as_("lead").get(URL)
    assert response.status_code == 200
    assert [c.status for c in response.context["charts"]] == ["empty", "empty"]
    assert "No data to chart for this selection." in response.content.decode()


def test_the_page_takes_the_same_queries_however_much_data(as_, programme):
    client = as_("lead")
    populate(programme, n=1)
    client.get(URL)  # the charts' rows exist from here on
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"year": 2025}).status_code == 200
    populate(programme, n=5)
    client.get(URL, {"year": 2025})
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL, {"year": 2025}).status_code == 200
    assert len(many) == len(few)


def test_the_lead_and_finance_find_the_dashboard_in_the_menu(as_, programme):
    for who in ("lead", "finance"):
        page = as_(who).get(reverse("home")).content.decode()
        assert f'href="{URL}"' in page
    assert f'href="{URL}"' not in as_("coach").get(reverse("home")).content.decode()


# --- the lists' new filters, on their own ------------------------------------------------------------------------


def test_a_link_naming_another_commissioner_shows_none_of_its_rows(as_, programme):
    populate(programme)
    client = as_("lead")
    east = programme.other_commissioner.pk
    assert rows_listed(client, f"{reverse('projects:list')}?commissioner={east}") == 0
    assert rows_listed(client, f"{reverse('practices:directory')}?commissioner={east}") == 0
    assert rows_listed(client, f"{reverse('payments:list')}?commissioner={east}&status=committed") == 0
    assert rows_listed(client, f"{reverse('evaluation:follow_ups')}?commissioner={east}") == 0


def test_the_lists_offer_the_new_filters_by_name(as_, programme):
    client = as_("lead")
    projects = client.get(reverse("projects:list"), {"missing": "champion"}).content.decode()
    assert '<option value="champion" selected>Active, no champion</option>' in projects
    assert '<option value="2025">2025/26</option>' in projects  # started in
    practices = client.get(reverse("practices:directory"), {"progress": "not_contacted"}).content.decode()
    assert '<option value="not_contacted" selected>Engaged, no session for 6 months</option>' in practices
    assert '<option value="none">None yet</option>' in practices  # the cohort "None yet"
    payments = client.get(reverse("payments:list"), {"status": "committed"}).content.decode()
    assert '<option value="committed" selected>Committed (due or approved)</option>' in payments


def test_the_follow_up_list_ignores_a_state_it_does_not_know(as_, programme):
    populate(programme)
    client = as_("lead")
    everything = rows_listed(client, reverse("evaluation:follow_ups"))
    assert rows_listed(client, f"{reverse('evaluation:follow_ups')}?state=lost&pcn=x") == everything == 3


def test_the_coach_directory_shows_only_coaches_over_capacity_when_asked(as_, programme):
    populate(programme)
    rows = as_("lead").get(reverse("coaching:coaches"), {"capacity": "over"}).context["rows"]
    assert [row.coach.user for row in rows] == [programme.coach]
