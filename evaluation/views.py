"""Follow-up pages: the list, one follow-up with its review (or the form to record it), and moving its date.

Every follow-up is fetched through the user's scope (``selectors.follow_ups_for``), so one
outside it is a 404; practice staff read, and the project's coaches and the lead write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error
from projects.measures import measures_with_latest
from projects.services import ProjectError
from projects.views import posted

from . import selectors as select
from .forms import RescheduleForm, ReviewForm
from .models import FollowUp, FollowUpKind, FollowUpReview, FollowUpStatus, NotSustainedReason
from .services import record_review, reschedule_follow_up

RECORD = "evaluation.record_review"
RESCHEDULE = "evaluation.reschedule"
PER_PAGE = 50


def _get(request: AuthenticatedRequest, pk: int, *, needs: str = "") -> FollowUp:
    follow_up = get_in_scope_or_404(select.follow_up_for_page(request.user), request, pk=pk)
    if needs and not request.user.has_perm(needs, follow_up):
        raise deny(request, needs)
    return follow_up


def _choice(value: str, choices: Any) -> str:
    return value if value in choices.values else ""


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@login_required
def follow_up_list(request: AuthenticatedRequest) -> HttpResponse:
    status = _choice(request.GET.get("status", ""), FollowUpStatus)
    kind = _choice(request.GET.get("kind", ""), FollowUpKind)
    state = request.GET.get("state", "")
    state = state if state in dict(select.STATES) else ""
    today = timezone.localdate()
    rows = select.follow_up_list(
        request.user,
        status=status,
        kind=kind,
        state=state,
        commissioner=_id(request.GET.get("commissioner", "")),
        pcn=_id(request.GET.get("pcn", "")),
        today=today,
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    commissioner, pcn = _id(request.GET.get("commissioner", "")), _id(request.GET.get("pcn", ""))
    # Every filter the list was opened with (a dashboard link sets commissioner and PCN) goes on to its pages.
    kept = {"status": status, "kind": kind, "state": state, "commissioner": commissioner or "", "pcn": pcn or ""}
    context = {
        "page": page,
        "rows": select.with_state(list(page.object_list), today),
        "status": status,
        "kind": kind,
        "state": state,
        "commissioner": commissioner or "",
        "pcn": pcn or "",
        "page_query": urlencode({k: v for k, v in kept.items() if v}),
        "statuses": FollowUpStatus.choices,
        "kinds": FollowUpKind.choices,
        "states": select.STATES,
        "filtered": bool(status or kind or state or commissioner or pcn),
    }
    return render(request, "evaluation/list.html", context)


def _review_form(request: AuthenticatedRequest, follow_up: FollowUp) -> ReviewForm:
    project = follow_up.project
    return ReviewForm(
        posted(request),
        team=select.team_of(project),
        measures=measures_with_latest(project),
        today=timezone.localdate(),
    )


@login_required
def follow_up_page(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    follow_up = _get(request, pk, needs=RECORD if request.method == "POST" else "")
    can_record = request.user.has_perm(RECORD, follow_up)
    form = _review_form(request, follow_up) if can_record else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            record_review(follow_up=follow_up, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, _recorded_message(follow_up))
            return redirect(follow_up)
    review = select.review_of(follow_up) if follow_up.status == FollowUpStatus.HELD else None
    context = {
        "follow_up": select.with_state([follow_up], timezone.localdate())[0],
        "project": follow_up.project,
        "review": review,
        "reasons": _reasons(review) if review else [],
        "reschedules": follow_up.reschedules.all(),
        "form": form,
        "can_reschedule": request.user.has_perm(RESCHEDULE, follow_up),
    }
    return render(request, "evaluation/follow_up.html", context)


def _reasons(review: FollowUpReview) -> list[str]:
    labels = dict(NotSustainedReason.choices) | {NotSustainedReason.OTHER.value: f"Other: {review.other_reason}"}
    return [labels.get(reason, reason) for reason in review.reasons]


def _recorded_message(follow_up: FollowUp) -> str:
    if follow_up.kind == FollowUpKind.TWELVE_MONTHS:
        return f"The review is recorded. {follow_up.project.title} is now completed."
    return "The review is recorded."


@login_required
def reschedule(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    follow_up = _get(request, pk, needs=RESCHEDULE)
    form = RescheduleForm(posted(request), initial={"to_date": follow_up.due_on})
    if request.method == "POST" and form.is_valid():
        try:
            reschedule_follow_up(follow_up=follow_up, by=request.user, **form.cleaned_data)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"The follow-up is now due on {follow_up.due_on:%-d %B %Y}.")
            return redirect(follow_up)
    return render(request, "evaluation/reschedule.html", {"form": form, "follow_up": follow_up})
