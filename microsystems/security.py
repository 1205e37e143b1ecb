"""Logins, failed logins and denials, logged with who, when and from where."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

log = logging.getLogger("microsystems.security")
_LOOKS_LIKE_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return "-"
    return request.META.get("REMOTE_ADDR", "-")


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """Count wrong passwords per e-mail address whatever its case, as signing in ignores case."""
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    return username.strip().lower() if username else None


@receiver(user_logged_in)
def _log_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    log.info("login: user=%s email=%s from=%s", user.pk, user.email, client_address(request))
    if request is not None and hasattr(request, "session"):
        # The absolute session lifetime counts from sign-in.
        request.session["started_at"] = request.session["last_seen"] = int(time.time())


@receiver(user_logged_out)
def _log_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    log.info("logout: user=%s from=%s", getattr(user, "pk", None), client_address(request))


@receiver(user_login_failed)
def _log_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    typed = str(credentials.get("username") or "-")
    # Only an address: a password typed into the e-mail field must not reach the log.
    shown = typed if _LOOKS_LIKE_EMAIL.match(typed) else "(not an e-mail address)"
    log.warning("failed login: email=%s from=%s", shown, client_address(request))
