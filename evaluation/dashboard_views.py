"""The programme dashboard's page: the lead's (and finance's) view of how the programme is doing.

Who may see it is the scope's business (``scope_from_request``): the lead and finance of a
commissioner see its dashboard, a staff admin any commissioner's, everyone else a 404. A figure
links to its list only for someone who may open that list (finance cannot open the project list,
for example); otherwise it is shown as plain text.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from microsystems.access import AuthenticatedRequest
from microsystems.models import User
from practices.models import Commissioner, ProgrammeRoleKind
from practices.permissions import roles_of

from .dashboard import COACHES, FOLLOW_UPS, PAYMENTS, PRACTICES, PROJECTS, programme_figures
from .data_version import cached
from .report_charts import chart_views
from .reporting import REPORTS, scope_from_request


def lists_open_to(user: User, commissioner: Commissioner) -> set[str]:
    """The list pages whose rows for ``commissioner`` the user may see: what the dashboard may link to."""
    roles = roles_of(user)
    leads = commissioner.pk in roles.commissioners_with(ProgrammeRoleKind.LEAD)
    lists = {PRACTICES, PAYMENTS}
    if leads or roles.is_admin:
        lists |= {PROJECTS, FOLLOW_UPS}
    if leads:
        lists.add(COACHES)
    return lists


@login_required
@require_safe
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    scope, form = scope_from_request(request)
    today = timezone.localdate()
    figures = cached("dashboard", scope.cache_part(), today, lambda: programme_figures(scope, today=today))
    context = {
        "scope": scope,
        "form": form,
        "here": "dashboard",
        "figures": figures,
        "charts": chart_views(figures.charts, scope.commissioner),
        "lists": lists_open_to(request.user, scope.commissioner),
        "reports": [(slug, title) for slug, (title, _) in REPORTS.items()],
    }
    return render(request, "evaluation/dashboard.html", context)
