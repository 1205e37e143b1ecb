"""How a project is funded: derived from whether it is its practice's first and from its applications."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from microsystems.compiled import CompiledQuery

from ..models import ApplicationStatus, FundingApplication, FundingRoute, Project, Tariff
from ..selectors import first_project_ids


class FundingState:
    FIRST_PROJECT = "first_project"
    FUNDED = "funded"
    PENDING = "pending"
    SELF_FUNDED = "self_funded"


LABELS = {
    FundingState.FIRST_PROJECT: "Funded: first project (enhanced service)",
    FundingState.FUNDED: "Funded: application approved",
    FundingState.PENDING: "Funding application waiting for a decision",
    FundingState.SELF_FUNDED: "Self-funded",
}


@dataclass(frozen=True)
class Funding:
    """What anyone who sees the project may know of its funding; amounts are for finance, the lead and the practice."""

    state: str
    application: FundingApplication | None = None

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def is_funded(self) -> bool:
        return self.state in {FundingState.FIRST_PROJECT, FundingState.FUNDED}

    @property
    def route(self) -> str | None:
        return {
            FundingState.FIRST_PROJECT: FundingRoute.FIRST_PROJECT,
            FundingState.FUNDED: FundingRoute.APPLICATION,
        }.get(self.state)


def is_first_project(project: Project) -> bool:
    return first_project_ids({project.practice_id}).get(project.practice_id) == project.pk


_LIVE_APPLICATION = CompiledQuery(
    lambda project_id: FundingApplication.objects.filter(
        project_id=project_id, status__in=[ApplicationStatus.PENDING, ApplicationStatus.APPROVED]
    ).order_by("-submitted_at", "pk")[:1]
)


def live_application(project: Project) -> FundingApplication | None:
    return next(iter(_LIVE_APPLICATION(project.pk)), None)


def funding_of(project: Project) -> Funding:
    """Two queries whatever the project's state, so every project page costs the same."""
    first = is_first_project(project)
    application = live_application(project)
    if first:
        return Funding(FundingState.FIRST_PROJECT)
    if application is None:
        return Funding(FundingState.SELF_FUNDED)
    if application.status == ApplicationStatus.APPROVED:
        return Funding(FundingState.FUNDED, application)
    return Funding(FundingState.PENDING, application)


def funded_amount(funding: Funding, tariff: Tariff | None) -> Decimal | None:
    """The whole amount a funded project is paid across its milestones, before adjustments."""
    if funding.state == FundingState.FIRST_PROJECT:
        return tariff.first_project_amount if tariff else None
    if funding.state == FundingState.FUNDED and funding.application is not None:
        return funding.application.amount_approved
    return None
