"""``manage.py purge_expired``: dry run by default, deletes exactly what is past retention.

Data is dated a day either side of each cut-off at a fixed "now" (time-machine). Runs on
SQLite and, with ``DATABASE_URL``, on PostgreSQL, where a paid payment cannot be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings

from coaching.models import Action, Session
from coaching.tests.factories import ActionFactory, AgreementFactory, SessionFactory
from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from notifications.models import Kind, Notification, Status
from projects.models import (
    Chart,
    Measure,
    MeasureValue,
    PaymentStatus,
    PdsaCycle,
    Project,
    Step,
    StepChange,
    TeamMember,
    WorkbookSection,
)
from projects.tests.factories import ProjectFactory, TeamMemberFactory
from projects.tests.improvement_factories import MeasureValueFactory, PdsaCycleFactory
from projects.tests.payment_factories import PaymentFactory

NOW = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)
PROJECTS_DAYS, SESSIONS_DAYS, NOTIFICATIONS_DAYS, AUDIT_DAYS = 5 * 365, 6 * 365, 2 * 365, 6 * 365


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def closed(step: str, at: datetime, **fields) -> Project:
    project = ProjectFactory(step=step, step_changed_at=at, **fields)
    StepChange.objects.create(project=project, changed_at=at, from_step=Step.FOLLOW_UP, to_step=step)
    return project


def with_everything(project: Project) -> Project:
    """A team, a session with an action, a cycle, a measure with a value, an agreement and saved versions."""
    member = TeamMemberFactory(project=project)
    held_on = project.step_changed_at.date() - timedelta(days=60)
    ActionFactory(raised_in=SessionFactory(project=project, on=held_on), owner=member)
    PdsaCycleFactory(change_idea__project=project)
    MeasureValueFactory(measure__project=project)
    AgreementFactory(project=project)
    section = project.sections.first()
    section.data = {**section.data, "purpose": "Results actioned within two working days."}
    section.save()
    return project


def notification(status: str, *, created: datetime, sent: datetime | None = None) -> Notification:
    return Notification.objects.create(
        key=f"test:{Notification.objects.count()}",
        kind=Kind.LEAD_WEEKLY,
        recipient=UserFactory(),
        subject="Weekly digest",
        body_text="Two follow-ups are overdue.",
        status=status,
        created_at=created,
        sent_at=sent,
    )


@dataclass
class Data:
    old_project: Project
    old_withdrawn: Project
    recent_project: Project
    open_project: Project
    paid_recently: Project
    paid_long_ago: Project
    old_session: Session
    recent_session: Session
    old_sent: Notification
    old_failed: Notification
    recent_sent: Notification
    old_pending: Notification
    old_audit: AuditEntry
    recent_audit: AuditEntry


@pytest.fixture
def data(db: None) -> Data:
    with time_machine.travel(NOW, tick=False):
        open_project = ProjectFactory(step=Step.TREAT)
        paid_recently = closed(Step.COMPLETED, ago(PROJECTS_DAYS + 1))
        PaymentFactory(
            project=paid_recently,
            due_on=date(2025, 5, 1),
            status=PaymentStatus.PAID,
            paid_on=date(2025, 5, 20),
            reference="PO-1",
        )
        paid_long_ago = closed(Step.COMPLETED, ago(3000))
        PaymentFactory(
            project=paid_long_ago,
            due_on=date(2022, 1, 10),
            status=PaymentStatus.PAID,
            paid_on=date(2022, 2, 1),
            reference="PO-2",
        )
        return Data(
            old_project=with_everything(closed(Step.COMPLETED, ago(PROJECTS_DAYS + 1))),
            old_withdrawn=closed(Step.WITHDRAWN, ago(PROJECTS_DAYS + 1)),
            recent_project=with_everything(closed(Step.COMPLETED, ago(PROJECTS_DAYS - 1))),
            open_project=open_project,
            paid_recently=paid_recently,
            paid_long_ago=paid_long_ago,
            old_session=ActionFactory(
                raised_in__project=open_project, raised_in__on=ago(SESSIONS_DAYS + 1).date()
            ).raised_in,
            recent_session=SessionFactory(project=open_project, on=ago(SESSIONS_DAYS - 1).date()),
            old_sent=notification(Status.SENT, created=ago(800), sent=ago(NOTIFICATIONS_DAYS + 1)),
            old_failed=notification(Status.FAILED, created=ago(NOTIFICATIONS_DAYS + 1)),
            recent_sent=notification(Status.SENT, created=ago(800), sent=ago(NOTIFICATIONS_DAYS - 1)),
            old_pending=notification(Status.PENDING, created=ago(NOTIFICATIONS_DAYS + 100)),
            old_audit=AuditEntry.objects.create(action="project.completed", at=ago(AUDIT_DAYS + 1)),
            recent_audit=AuditEntry.objects.create(action="project.completed", at=ago(AUDIT_DAYS - 1)),
        )


def purge_expired(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (Project, TeamMember, WorkbookSection, Session, Action, PdsaCycle, Measure, Notification, AuditEntry)
    return {m.__name__: m.objects.count() for m in models}


def exists(obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).exists()


def test_the_dry_run_changes_nothing_and_reports_what_would_go(data: Data) -> None:
    before = row_counts()

    out = purge_expired()

    assert row_counts() == before
    assert "Dry run: nothing deleted" in out
    assert "Would remove 2 closed projects" in out
    assert "Would remove 1 coaching session logs" in out
    assert "Would remove 2 sent, skipped or failed notifications from before 15 June 2029" in out
    assert "Would remove 1 audit entries" in out
    assert "Kept: 1 financial records within retention." in out
    assert "Kept: 1 financial records past retention" in out
    assert not AuditEntry.objects.filter(action="retention.purged").exists()


def test_apply_deletes_what_is_past_retention_and_keeps_a_day_younger(data: Data) -> None:
    out = purge_expired("--apply")

    assert "Removed 2 closed projects" in out
    gone = [data.old_project, data.old_withdrawn, data.old_session, data.old_sent, data.old_failed, data.old_audit]
    kept = [data.recent_project, data.open_project, data.recent_session, data.recent_sent, data.old_pending]
    kept += [data.recent_audit, data.paid_recently, data.paid_long_ago]
    assert not any(exists(obj) for obj in gone)
    assert all(exists(obj) for obj in kept)


def test_a_closed_project_goes_with_everything_it_owns_and_its_saved_versions(data: Data) -> None:
    project_id = data.old_project.pk
    history = [m.history.model for m in (TeamMember, WorkbookSection, PdsaCycle)]
    assert all(h.objects.filter(project_id=project_id).exists() for h in history)

    purge_expired("--apply")

    owned = (TeamMember, WorkbookSection, Session, Action, PdsaCycle, Measure)
    assert not any(m.objects.filter(project_id=project_id).exists() for m in owned)
    assert not MeasureValue.objects.filter(measure__project_id=project_id).exists()
    assert not any(h.objects.filter(project_id=project_id).exists() for h in history)
    # The younger closed project keeps its own.
    assert Action.objects.filter(project=data.recent_project).count() == 1
    assert WorkbookSection.history.filter(project_id=data.recent_project.pk).exists()


def test_a_session_log_of_a_project_still_kept_goes_with_its_actions(data: Data) -> None:
    purge_expired("--apply")

    assert not Action.objects.filter(raised_in_id=data.old_session.pk).exists()
    assert list(Session.objects.filter(project=data.open_project)) == [data.recent_session]


def test_projects_with_payments_are_kept_as_financial_records(data: Data) -> None:
    purge_expired("--apply")

    assert data.paid_recently.payments.count() == 1
    assert data.paid_long_ago.payments.count() == 1


def test_each_applied_run_is_audited_with_counts_only(data: Data) -> None:
    purge_expired("--apply")

    entry = AuditEntry.objects.get(action="retention.purged")
    assert entry.changes == {
        "closed_projects": 2,
        "session_logs": 1,
        "notifications": 2,
        "audit_entries": 1,
        "task_failures": 0,
    }
    assert entry.actor is None


def test_a_second_run_removes_nothing(data: Data) -> None:
    purge_expired("--apply")
    after_first = row_counts()

    out = purge_expired("--apply")

    assert "Removed 0 closed projects" in out
    assert "Removed 0 audit entries" in out
    assert row_counts() == after_first | {"AuditEntry": after_first["AuditEntry"] + 1}  # this run's own entry


@override_settings(
    RETENTION_NOTIFICATIONS_DAYS=30,
    RETENTION_AUDIT_DAYS=10 * 365,
    RETENTION_CLOSED_PROJECTS_DAYS=PROJECTS_DAYS - 2,
    RETENTION_SESSION_LOGS_DAYS=10 * 365,
)
def test_settings_override_the_defaults(data: Data) -> None:
    purge_expired("--apply")

    assert not exists(data.recent_sent)
    assert exists(data.old_audit)
    assert not exists(data.recent_project)
    assert exists(data.old_session)


@override_settings(RETENTION_FINANCIAL_RECORDS_YEARS=1)
def test_the_financial_retention_only_changes_why_a_project_is_kept(data: Data) -> None:
    out = purge_expired("--apply")

    assert "Kept: 2 financial records past retention" in out
    assert exists(data.paid_recently) and exists(data.paid_long_ago)


def stored(name: str) -> str:
    return default_storage.save(name, ContentFile(b"%PDF-1.4 test"))


def test_a_deleted_projects_files_go_but_a_chart_file_another_project_uses_stays(
    data: Data, django_capture_on_commit_callbacks
) -> None:
    agreement = data.old_project.agreement
    agreement.signed_copy.name = stored("agreements/signed.pdf")
    agreement.save(update_fields=["signed_copy"])
    own, shared = stored("charts/own-run.png"), stored("charts/shared-run.svg")
    Chart.objects.create(measure=data.old_project.measures.get(), kind="run", key="a", png=own, svg=shared)
    Chart.objects.create(measure=data.recent_project.measures.get(), kind="run", key="b", png="", svg=shared)

    with django_capture_on_commit_callbacks(execute=True):
        purge_expired("--apply")

    assert not default_storage.exists(agreement.signed_copy.name)
    assert not default_storage.exists(own)
    assert default_storage.exists(shared)


def test_records_of_failed_tasks_go_after_a_year(db: None) -> None:
    from microsystems.models import TaskFailure

    with time_machine.travel(NOW, tick=False):
        old = TaskFailure.objects.create(task_name="projects.tasks.render_chart", exception_type="ValueError")
        TaskFailure.objects.filter(pk=old.pk).update(failed_at=ago(366))
        recent = TaskFailure.objects.create(task_name="projects.tasks.render_chart", exception_type="ValueError")
        TaskFailure.objects.filter(pk=recent.pk).update(failed_at=ago(364))

    assert "Would remove 1 records of failed background tasks" in purge_expired()
    assert "Removed 1 records of failed background tasks" in purge_expired("--apply")
    assert list(TaskFailure.objects.values_list("pk", flat=True)) == [recent.pk]
