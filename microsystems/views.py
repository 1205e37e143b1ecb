"""Site-wide pages: the home page for each role, sign-in and accepting an invitation."""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of
from practices.selectors import commissioners_for, engagement_summary, practices_for
from projects.payments.scopes import MONEY_ROLES
from projects.payments.selectors import funding_to_do
from projects.selectors import caseload


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True


class AcceptInvitationView(auth_views.PasswordResetConfirmView):
    """An invitee sets their own password from a single-use, expiring link, and is signed in."""

    template_name = "registration/accept_invitation.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request.user)
    context = {
        "roles": roles,
        "lead_commissioners": commissioners_for(request.user, ProgrammeRoleKind.LEAD),
        "summary": engagement_summary(request.user) if roles.programme else None,
        "my_practices": practices_for(request.user).filter(pk__in=list(roles.practices)).select_related("pcn"),
        "caseload": caseload(request.user) if roles.holds(ProgrammeRoleKind.COACH) else [],
        "funding": funding_to_do(request.user) if roles.commissioners_with(*MONEY_ROLES) else None,
    }
    return render(request, "home.html", context)
