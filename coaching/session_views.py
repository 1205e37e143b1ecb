"""Coaching sessions: the coach's home, a project's sessions, logging one, reflections, actions and the calendar feed.

The log page saves itself as the coach types: ``static/js/session_log.js`` lets htmx post the
form to ``session_autosave``, which answers with out-of-band fragments only (the status line,
the new version, the ids of the action rows it saved), never the fields being typed in. A save
naming an older version is refused with 409 and the typed text stays on the page. The form's
buttons post the whole page to ``session_log`` and work without the script.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from evaluation.selectors import coach_follow_ups
from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error
from projects.services import ProjectError
from projects.views import get_project, posted

from . import session_selectors as select
from .calendar import calendar_text, session_event
from .models import Action, ActionStatus, CoachProfile, Session, SessionStatus
from .session_forms import ReflectionForm, SessionLogForm
from .sessions import (
    SavedLog,
    SessionConflict,
    renew_calendar_token,
    save_session_log,
    start_session,
    tick_action,
    write_reflection,
)
from .tables import caseload_rows_html, follow_up_items_html, session_rows_html, week_items_html

LOG = "coaching.log_session"
TICK = "coaching.tick_action"
SESSIONS_PER_PAGE = 20


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _get_session(request: AuthenticatedRequest, pk: int, *, needs: str = "") -> Session:
    """The session through the user's projects (404 outside them), checked against ``needs`` on its project."""
    session = get_in_scope_or_404(select.session_for_page(request.user), request, pk=pk)
    if needs and not request.user.has_perm(needs, session.project):
        raise deny(request, needs)
    return session


def _coach_only(request: AuthenticatedRequest) -> None:
    if not select.is_coach(request.user):
        raise deny(request, "coaching.coach_pages")


def _back(request: HttpRequest, default: str) -> str:
    """Where to go after a small action: the page it came from, if it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# The coach's home and the calendar feed


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    _coach_only(request)
    today = timezone.localdate()
    profile = select.profile_of(request.user)
    rows = select.caseload_rows(request.user, today)
    context = {
        "today": today,
        "rows": rows,
        "caseload_html": caseload_rows_html(rows, csrf_token=get_token(request)),
        "week_html": week_items_html(select.week_sessions(request.user, today)),
        "week_starts": select.week_of(today)[0],
        "profile": profile,
        "refresher": select.refresher_for(profile, today) if profile else None,
        "follow_ups_html": follow_up_items_html(coach_follow_ups(request.user, today)),
        "feed_url": request.build_absolute_uri(reverse("coaching:calendar", args=[profile.calendar_token]))
        if profile
        else "",
    }
    return render(request, "coaching/sessions/home.html", context)


@login_required
@require_POST
def new_calendar_link(request: AuthenticatedRequest) -> HttpResponse:
    _coach_only(request)
    profile = get_in_scope_or_404(CoachProfile.objects.all(), request, user=request.user)
    renew_calendar_token(profile=profile, by=request.user)
    messages.success(request, "Your calendar has a new link. The old link no longer works: add the new one.")
    return redirect(f"{reverse('coaching:home')}#calendar")


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: the secret token in the link is the key, and a new link revokes the old one."""
    profile = get_object_or_404(
        CoachProfile.objects.select_related("user"), calendar_token=token, is_active=True, user__is_active=True
    )
    host, now = request.get_host().split(":")[0], timezone.now()
    events = [
        session_event(s, url=request.build_absolute_uri(s.get_absolute_url()), host=host, now=now)
        for s in select.calendar_sessions(profile, timezone.localdate())
    ]
    name = f"Coaching sessions: {profile.user.get_full_name()}"
    response = HttpResponse(calendar_text(events, name=name), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="coaching-sessions.ics"'
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, private=True, no_cache=True)
    return response


# A project's sessions and the coach's sessions


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))


def _tickable(request: AuthenticatedRequest, actions: list[Action]) -> list[dict[str, Any]]:
    return [{"action": a, "can_tick": request.user.has_perm(TICK, a)} for a in actions]


@login_required
def project_sessions(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = get_project(request, project_id)
    page = _page(request, select.project_sessions(project))
    context = {
        "project": project,
        "page": page,
        "rows_html": session_rows_html(page, with_project=False),
        "actions": _tickable(request, list(select.open_actions(project))),
        "today": timezone.localdate(),
        "can_log": request.user.has_perm(LOG, project),
    }
    return render(request, "coaching/sessions/project_sessions.html", context)


@login_required
def my_sessions(request: AuthenticatedRequest) -> HttpResponse:
    _coach_only(request)
    page = _page(request, select.coach_sessions(request.user))
    context = {"page": page, "rows_html": session_rows_html(page, with_project=True)}
    return render(request, "coaching/sessions/my_sessions.html", context)


@login_required
def session_new(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = get_project(request, project_id, needs=LOG)
    if request.method != "POST":
        return render(request, "coaching/sessions/start.html", {"project": project})
    session = start_session(project=project, by=request.user)
    return redirect("coaching:session_log", pk=session.pk)


# One session


@login_required
def session_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = _get_session(request, pk)
    project, today = session.project, timezone.localdate()
    attendance = session.attendance.select_related("member__user").order_by("member__name", "pk")
    team = {m.pk: m for m in select.team_of(project)}
    can_log = request.user.has_perm(LOG, project)
    context = {
        "session": session,
        "project": project,
        "attendance": attendance,
        "roles": [(role.title(), team.get(member_id)) for role, member_id in session.meeting_roles.items()],
        "raised": _tickable(request, select.raised_actions(session)),
        "closed_here": list(select.closed_at(session)),
        "reflections": select.readable_reflections(request.user, session, today),
        "can_log": can_log and session.status != SessionStatus.CANCELLED,
        "can_reflect": can_log and session.status == SessionStatus.HELD,
        "today": today,
    }
    return render(request, "coaching/sessions/session.html", context)


def _log_form(session: Session, data: QueryDict | None = None) -> SessionLogForm:
    return SessionLogForm(
        data,
        session=session,
        team=select.team_of(session.project),
        carried=list(select.carried_actions(session)),
        raised=select.raised_actions(session),
        attendance=select.attendance_of(session),
    )


def _log_page(
    request: AuthenticatedRequest, session: Session, form: SessionLogForm, *, status: int = 200, conflict: bool = False
) -> HttpResponse:
    context = {
        "session": session,
        "project": session.project,
        "form": form,
        "conflict": conflict,
        "autosave": session.status in {SessionStatus.PLANNED, SessionStatus.DRAFT} and not conflict,
    }
    return render(request, "coaching/sessions/log.html", context, status=status)


@login_required
def session_log(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = _get_session(request, pk, needs=LOG)
    if session.status == SessionStatus.CANCELLED:
        messages.info(request, "This session was cancelled, so there is nothing to log.")
        return redirect(session)
    form = _log_form(session, posted(request))
    if request.method != "POST" or not form.is_valid():
        return _log_page(request, session, form, status=422 if request.method == "POST" else 200)
    hold = request.POST.get("hold") == "yes"
    try:
        saved = save_session_log(
            session=session, log=form.log(), base_version=form.posted_version(), by=request.user, hold=hold
        )
    except SessionConflict as e:
        return _conflict_page(request, e, form)
    except ProjectError as e:
        apply_error(form, e)
        return _log_page(request, session, form, status=422)
    return _after_save(request, saved)


def _conflict_page(request: AuthenticatedRequest, error: SessionConflict, form: SessionLogForm) -> HttpResponse:
    """The page again with what was typed, now naming the latest version: saving again replaces it, knowingly."""
    data = request.POST.copy()
    data["version"] = str(error.session.version)
    kept = _log_form(error.session, data)
    kept.is_valid()
    advice = "Look at the latest version (it opens in a new tab), then save again to replace it with this page."
    kept.add_error(None, f"{error} {advice}")
    return _log_page(request, error.session, kept, status=409, conflict=True)


def _after_save(request: AuthenticatedRequest, saved: SavedLog) -> HttpResponse:
    session = saved.session
    if session.status != SessionStatus.HELD:
        messages.success(request, "Draft saved.")
        return redirect("coaching:session_log", pk=session.pk)
    message = "Session saved as held."
    if saved.next_session is not None:
        message += f" The next session is planned for {saved.next_session.on:%-d %B %Y}."
    messages.success(request, message)
    return redirect(session)


@login_required
@require_POST
def session_autosave(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = _get_session(request, pk, needs=LOG)
    form = _log_form(session, request.POST)
    context: dict[str, Any] = {"session": session, "form": form, "rows": form.rows}
    if not form.is_valid():
        return render(request, "coaching/sessions/_autosave.html", context | {"refused": True}, status=422)
    try:
        saved = save_session_log(session=session, log=form.log(), base_version=form.posted_version(), by=request.user)
    except SessionConflict as e:
        return render(request, "coaching/sessions/_autosave.html", context | {"conflict": e}, status=409)
    except ProjectError as e:
        apply_error(form, e)
        return render(request, "coaching/sessions/_autosave.html", context | {"refused": True}, status=422)
    context |= {"saved": saved.session, "hidden": _held_by_page(saved, form)}
    return render(request, "coaching/sessions/_autosave.html", context)


def _held_by_page(saved: SavedLog, form: SessionLogForm) -> list[tuple[str, str]]:
    """The hidden inputs the page must now hold: each action row's id, and the status each action shows."""
    current = dict(Action.objects.filter(pk__in=[a.pk for a in form.carried]).values_list("pk", "status"))
    inputs = [(f"review_{pk}_was", status) for pk, status in current.items()]
    raised = dict(saved.session.actions_raised.values_list("pk", "status"))
    for index in form.rows:
        action_id = saved.action_ids.get(f"actions-{index}")
        inputs.append((f"actions-{index}-id", str(action_id or "")))
        inputs.append((f"actions-{index}-was", raised.get(action_id, "") if action_id else ""))
    return inputs


# Reflections


def _session_for_reflection(request: AuthenticatedRequest, pk: int) -> Session:
    """A session of the user's projects, or one a mentee reflected on: the mentor reaches it only for this."""
    scope = select.sessions_for_reflection(request.user, timezone.localdate())
    return get_in_scope_or_404(scope, request, pk=pk)


@login_required
def reflection(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = _session_for_reflection(request, pk)
    today = timezone.localdate()
    may_write = request.user.has_perm(LOG, session.project) and session.status == SessionStatus.HELD
    readable = select.readable_reflections(request.user, session, today)
    if not may_write and not readable:
        raise deny(request, "coaching.read_reflection")
    own = next((r for r in readable if r.coach_id == request.user.pk), None)
    form = ReflectionForm(posted(request), initial={"text": own.text if own else ""}) if may_write else None
    if request.method == "POST":
        if form is None:
            raise deny(request, LOG)
        if form.is_valid():
            try:
                write_reflection(session=session, by=request.user, text=form.cleaned_data["text"])
            except ProjectError as e:
                apply_error(form, e)
            else:
                messages.success(request, "Your reflection is saved. Only you and your mentor can read it.")
                return redirect("coaching:reflection", pk=session.pk)
    others = [r for r in readable if r.coach_id != request.user.pk]
    context = {"session": session, "project": session.project, "form": form, "own": own, "others": others}
    return render(request, "coaching/sessions/reflection.html", context, status=422 if form and form.errors else 200)


# Ticking off an action


@login_required
@require_POST
def tick(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    action = get_in_scope_or_404(select.actions_for(request.user), request, pk=pk)
    if not request.user.has_perm(TICK, action):
        raise deny(request, TICK)
    status = request.POST.get("status", "")
    try:
        tick_action(action=action, status=status, by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        words: dict[str, str] = {ActionStatus.DONE: "done", ActionStatus.DROPPED: "dropped"}
        word = words.get(status, "open again")
        messages.success(request, f"“{action.description}” is {word}.")
    return redirect(_back(request, reverse("coaching:project_sessions", args=[action.project_id])))
