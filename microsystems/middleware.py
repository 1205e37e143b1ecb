"""Session lifetime and the two-factor requirement, applied to every request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from practices.permissions import roles_of

# Writing the session on every request would cost a query per page; a minute's slack is enough.
_TOUCH_EVERY = 60


class SessionLifetimeMiddleware:
    """End a session after an idle timeout and after an absolute lifetime, whichever comes first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault("started_at", now)
            last_seen = request.session.get("last_seen", now)
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_ABSOLUTE_LIFETIME:
                logout(request)
                messages.info(request, "Your session ended. Sign in again to carry on.")
                return redirect(f"{reverse('login')}?next={request.path}")
            if now - last_seen >= _TOUCH_EVERY or "last_seen" not in request.session:
                request.session["last_seen"] = now
        return self.get_response(request)


TWO_FACTOR_EXEMPT_PREFIXES = ("/account/", "/static/", "/healthz", "/readyz")


def _has_own_device(request: HttpRequest) -> bool:
    """Whether the user turned two-factor on themselves: asked once per session, then remembered."""
    if "has_otp_device" not in request.session:
        request.session["has_otp_device"] = user_has_device(request.user)
    return bool(request.session["has_otp_device"])


class TwoFactorRequiredMiddleware:
    """Ask for a code before anything else: always from leads, finance and staff admins
    (when required), and from anyone who turned two-factor on for themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # is_verified() is added to the user by django-otp's OTPMiddleware.
        if (
            user.is_authenticated
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
            and ((settings.REQUIRE_TWO_FACTOR and roles_of(user).needs_two_factor) or _has_own_device(request))
        ):
            return redirect(f"{reverse('two_factor')}?next={request.path}")
        return self.get_response(request)
