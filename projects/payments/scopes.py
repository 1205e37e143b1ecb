"""Who sees which payments and applications, and who may act on them: the one place these rules live.

Finance and the lead see their commissioner's payments, with amounts; practice staff see
their own practice's, read-only; a coach sees only whether a project is funded
(``funding.funding_of``), never an amount. The lead sets tariffs, decides applications and
approves payments; finance pays; either cancels or adjusts.
"""

from __future__ import annotations

import rules
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from microsystems.models import User
from practices.models import Practice, ProgrammeRoleKind
from practices.permissions import roles_of

from ..models import FundingApplication, Payment, Project

MONEY_ROLES = (ProgrammeRoleKind.LEAD, ProgrammeRoleKind.FINANCE)


def _scope(user: User | AnonymousUser, practice_path: str) -> Q | None:
    """The rows the user may see, as a filter on the practice reached by ``practice_path``; None for all."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    roles = roles_of(user)
    if roles.is_admin:
        return None
    scope = Q(pk__in=[])
    if commissioners := roles.commissioners_with(*MONEY_ROLES):
        scope |= Q(**{f"{practice_path}__commissioner_id__in": commissioners})
    if roles.practices:
        scope |= Q(**{f"{practice_path}_id__in": list(roles.practices)})
    return scope


def payments_for(user: User | AnonymousUser) -> QuerySet[Payment]:
    scope = _scope(user, "project__practice")
    return Payment.objects.all() if scope is None else Payment.objects.filter(scope)


def applications_for(user: User | AnonymousUser) -> QuerySet[FundingApplication]:
    scope = _scope(user, "project__practice")
    return FundingApplication.objects.all() if scope is None else FundingApplication.objects.filter(scope)


def commissioners_managed(user: User | AnonymousUser) -> set[int]:
    """Commissioners whose funding the user runs (lead or finance): what their reports cover."""
    return roles_of(user).commissioners_with(*MONEY_ROLES) if user.is_authenticated else set()


def _commissioner_of(obj: Payment | FundingApplication | Project | Practice) -> int:
    if isinstance(obj, Practice):
        return obj.commissioner_id
    if isinstance(obj, Project):
        return obj.practice.commissioner_id
    return obj.project.practice.commissioner_id


@rules.predicate
def is_lead_for(user: User, obj: Payment | FundingApplication | Project | Practice) -> bool:
    return _commissioner_of(obj) in roles_of(user).commissioners_with(ProgrammeRoleKind.LEAD)


@rules.predicate
def is_finance_for(user: User, obj: Payment | FundingApplication | Project | Practice) -> bool:
    return _commissioner_of(obj) in roles_of(user).commissioners_with(ProgrammeRoleKind.FINANCE)


@rules.predicate
def is_staff_of_practice(user: User, obj: Project) -> bool:
    return obj.practice_id in roles_of(user).practices


@rules.predicate
def sees_any_funding(user: User) -> bool:
    return bool(commissioners_managed(user))


@rules.predicate
def is_any_lead(user: User) -> bool:
    return roles_of(user).holds(ProgrammeRoleKind.LEAD)


rules.add_perm("payments.see_reports", sees_any_funding)
rules.add_perm("payments.set_tariff", is_any_lead)
rules.add_perm("payments.approve", is_lead_for)
rules.add_perm("payments.pay", is_finance_for)
rules.add_perm("payments.cancel", is_lead_for | is_finance_for)
rules.add_perm("payments.adjust", is_lead_for | is_finance_for)
rules.add_perm("payments.decide_application", is_lead_for)
rules.add_perm("payments.apply", is_staff_of_practice)
rules.add_perm("payments.see_amounts", is_lead_for | is_finance_for | is_staff_of_practice)
