"""Keep data only as long as it should be kept: what is past retention, and deleting it.

One function per kind returns the queryset past its retention (periods in
``microsystems/settings/retention.py``); ``purge`` counts them (a dry run, the default) or
deletes them and writes one audit entry with the counts. ``manage.py purge_expired`` runs it.

Projects with payments or funding applications are never deleted here: payments are
financial records that are never deleted (PostgreSQL refuses to delete a paid one), so such a
project is reported as kept, within or past its financial retention. Deleting a project also
deletes the saved versions of its team, workbook, aims and cycles (which outlive their rows),
its signed agreement's file and chart files no other chart uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.models import Action, CoachingAgreement, Session
from notifications.models import Notification
from notifications.models import Status as NotificationStatus
from projects.models import (
    Chart,
    FundingApplication,
    Payment,
    PdsaCycle,
    Project,
    SpecificAim,
    Step,
    TeamMember,
    WorkbookSection,
    financial_year_of,
)

from .audit import audit
from .models import AuditEntry, TaskFailure

log = logging.getLogger(__name__)

CLOSED_STEPS = (Step.COMPLETED, Step.WITHDRAWN)
FINISHED_NOTIFICATIONS = (NotificationStatus.SENT, NotificationStatus.SKIPPED, NotificationStatus.FAILED)
VERSIONED_PROJECT_MODELS: tuple[type[models.Model], ...] = (TeamMember, WorkbookSection, SpecificAim, PdsaCycle)


def cutoff(days: int) -> datetime:
    """Anything dated before this is past a retention of ``days``."""
    return timezone.now() - timedelta(days=days)


def financial_cutoff() -> date:
    """Financial records of a year that ended before the retention began are past it (1 April)."""
    return date(financial_year_of(timezone.localdate()) - settings.RETENTION_FINANCIAL_RECORDS_YEARS, 4, 1)


# What is past retention -----------------------------------------------------------------------


def expired_notifications() -> models.QuerySet[Notification]:
    """Sent, skipped or failed notifications, from when they were sent (or created, if never sent)."""
    before = cutoff(settings.RETENTION_NOTIFICATIONS_DAYS)
    return Notification.objects.filter(status__in=FINISHED_NOTIFICATIONS).filter(
        Q(sent_at__lt=before) | Q(sent_at__isnull=True, created_at__lt=before)
    )


def expired_audit_entries() -> models.QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(at__lt=cutoff(settings.RETENTION_AUDIT_DAYS))


def expired_task_failures() -> models.QuerySet[TaskFailure]:
    return TaskFailure.objects.filter(failed_at__lt=cutoff(settings.RETENTION_TASK_FAILURES_DAYS))


def closed_projects_past_retention() -> models.QuerySet[Project]:
    """Completed or withdrawn projects that closed (their last step change to either) before the cut-off."""
    closed_at = Coalesce(
        Max("step_changes__changed_at", filter=Q(step_changes__to_step__in=CLOSED_STEPS)), F("step_changed_at")
    )
    return (
        Project.objects.filter(step__in=CLOSED_STEPS)
        .annotate(closed_at=closed_at)
        .filter(closed_at__lt=cutoff(settings.RETENTION_CLOSED_PROJECTS_DAYS))
    )


def with_financial_records(projects: models.QuerySet[Project]) -> models.QuerySet[Project]:
    return projects.filter(
        Exists(Payment.objects.filter(project=OuterRef("pk")))
        | Exists(FundingApplication.objects.filter(project=OuterRef("pk")))
    )


def within_financial_retention(projects: models.QuerySet[Project]) -> models.QuerySet[Project]:
    """Projects whose payments or applications relate to a financial year still within retention."""
    since = financial_cutoff()
    recent_payments = Payment.objects.filter(project=OuterRef("pk")).filter(
        Q(financial_year__gte=since.year) | Q(paid_on__gte=since)
    )
    recent_applications = FundingApplication.objects.filter(project=OuterRef("pk")).filter(
        Q(submitted_at__date__gte=since) | Q(decided_at__date__gte=since)
    )
    return projects.filter(Exists(recent_payments) | Exists(recent_applications))


def expired_projects() -> models.QuerySet[Project]:
    """Closed projects past retention that can go: none with financial records."""
    past = closed_projects_past_retention()
    return Project.objects.filter(pk__in=past.values("pk")).exclude(pk__in=with_financial_records(past).values("pk"))


def expired_session_logs() -> models.QuerySet[Session]:
    """Sessions held before the cut-off, in projects that are kept (a deleted project takes its own)."""
    before = timezone.localdate() - timedelta(days=settings.RETENTION_SESSION_LOGS_DAYS)
    return Session.objects.filter(on__lt=before).exclude(project__in=expired_projects().values("pk"))


# The report -------------------------------------------------------------------------------------


@dataclass
class KindReport:
    kind: str
    what: str
    before: date
    count: int
    kept: dict[str, int] = field(default_factory=dict)


@dataclass
class PurgeReport:
    applied: bool
    kinds: list[KindReport]

    def counts(self) -> dict[str, int]:
        return {k.kind: k.count for k in self.kinds}


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def survey() -> list[KindReport]:
    """What is past retention now, kind by kind, and the closed projects kept for their financial records."""
    held = with_financial_records(closed_projects_past_retention())
    within = within_financial_retention(held).count()
    return [
        KindReport(
            "closed_projects",
            "closed projects (completed or withdrawn) with all they own",
            _day(cutoff(settings.RETENTION_CLOSED_PROJECTS_DAYS)),
            expired_projects().count(),
            kept={
                "financial records within retention": within,
                "financial records past retention (payments are never deleted: needs a decision)": held.count()
                - within,
            },
        ),
        KindReport(
            "session_logs",
            "coaching session logs with their attendance, actions and reflections",
            timezone.localdate() - timedelta(days=settings.RETENTION_SESSION_LOGS_DAYS),
            expired_session_logs().count(),
        ),
        KindReport(
            "notifications",
            "sent, skipped or failed notifications",
            _day(cutoff(settings.RETENTION_NOTIFICATIONS_DAYS)),
            expired_notifications().count(),
        ),
        KindReport(
            "audit_entries",
            "audit entries",
            _day(cutoff(settings.RETENTION_AUDIT_DAYS)),
            expired_audit_entries().count(),
        ),
        KindReport(
            "task_failures",
            "records of failed background tasks",
            _day(cutoff(settings.RETENTION_TASK_FAILURES_DAYS)),
            expired_task_failures().count(),
        ),
    ]


# Deleting -----------------------------------------------------------------------------------------


def delete_projects(projects: models.QuerySet[Project]) -> int:
    """Delete projects with everything they own, their saved versions and their files."""
    ids = list(projects.values_list("pk", flat=True))
    if not ids:
        return 0
    files = _files_of(ids)
    with transaction.atomic():
        # Protected links inside a project (an action's owner, a cycle's change idea) go first.
        Action.objects.filter(project__in=ids).delete()
        PdsaCycle.objects.filter(project__in=ids).delete()
        Project.objects.filter(pk__in=ids).delete()
        for model in VERSIONED_PROJECT_MODELS:
            model.history.model.objects.filter(project_id__in=ids).delete()  # type: ignore[attr-defined]
        transaction.on_commit(lambda: _delete_files(files))
    return len(ids)


def _files_of(project_ids: list[int]) -> list[str]:
    agreements = CoachingAgreement.objects.filter(project__in=project_ids).exclude(signed_copy="")
    charts = Chart.objects.filter(measure__project__in=project_ids)
    paths = {a.signed_copy.name for a in agreements}
    chart_paths = {p for c in charts.values_list("png", "svg") for p in c if p}
    shared = Chart.objects.exclude(measure__project__in=project_ids).filter(
        Q(png__in=chart_paths) | Q(svg__in=chart_paths)
    )
    still_used = {p for c in shared.values_list("png", "svg") for p in c}
    return sorted(paths | (chart_paths - still_used))


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            log.warning("retention: a file of a deleted project could not be deleted")


def purge(*, dry_run: bool = True) -> PurgeReport:
    """Count what is past retention; unless ``dry_run``, delete it and audit the counts."""
    kinds = survey()
    if not dry_run:
        counts = {
            "closed_projects": delete_projects(expired_projects()),
            "session_logs": _delete(expired_session_logs()),
            "notifications": _delete(expired_notifications()),
            "audit_entries": _delete(expired_audit_entries()),
            "task_failures": _delete(expired_task_failures()),
        }
        for kind in kinds:
            kind.count = counts[kind.kind]
    report = PurgeReport(applied=not dry_run, kinds=kinds)
    if report.applied:
        audit(None, "retention.purged", by=None, summary="Deleted data past retention", changes=report.counts())
    log.info(
        "retention purge %s: %s",
        "applied" if report.applied else "dry run",
        " ".join(f"{k}={n}" for k, n in report.counts().items()),
    )
    return report


def _delete(queryset: models.QuerySet) -> int:  # type: ignore[type-arg]
    """Delete a queryset's rows (and what cascades from them); the count of its own rows."""
    with transaction.atomic():
        _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)
