"""A user's own notifications: the in-app list of what was sent (opening it marks them read) and their choices."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from microsystems.access import AuthenticatedRequest
from microsystems.forms import apply_error

from .forms import PreferencesForm
from .models import Notification, Status
from .preferences import PreferenceError, set_preferences
from .selectors import inbox_for, kinds_for, turned_off

PER_PAGE = 20


@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    seen_at = timezone.now()
    page = Paginator(inbox_for(request.user), PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)  # read before marking, so the page shows which were new
    _mark_read(request, seen_at)
    return render(request, "notifications/inbox.html", {"page": page, "rows": rows})


def _mark_read(request: AuthenticatedRequest, seen_at: datetime) -> None:
    """Everything the user could see when the page was read is now read; anything sent since stays new."""
    Notification.objects.filter(recipient=request.user, read_at__isnull=True).filter(
        Q(status=Status.SENT, sent_at__lte=seen_at) | Q(status=Status.SKIPPED, created_at__lte=seen_at)
    ).update(read_at=seen_at)


@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    kinds = kinds_for(request.user)
    form = PreferencesForm(
        request.POST if request.method == "POST" else None, kinds=kinds, off=turned_off(request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = set_preferences(user=request.user, choices=form.choices())
        except PreferenceError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Your choices are saved." if changed else "Nothing changed.")
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form, "kinds": kinds})
