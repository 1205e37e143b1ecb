"""Two-factor login with an authenticator app (TOTP) and single-use backup codes (django-otp).

Leads, finance and staff admins are sent here by ``TwoFactorRequiredMiddleware`` until
they have entered a code in this session; anyone else may turn it on from the menu.
"""

from __future__ import annotations

import logging
from base64 import b32encode
from typing import cast

import django_otp
import segno
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit
from .models import User
from .security import client_address
from .twofactor_forms import TokenForm

log = logging.getLogger("microsystems.security")

APP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10
# Fresh backup codes wait here between the POST that makes them and the one page that shows them.
FRESH_CODES_SESSION_KEY = "two_factor_fresh_backup_codes"


# Writes


def _new_backup_codes(*, user: User) -> list[str]:
    """Replace every earlier backup code, keeping the device so a session verified by one stays verified."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def enable_two_factor(*, user: User, device: TOTPDevice) -> list[str]:
    """Confirm the app that just gave a right code, retire any earlier app, and issue backup codes."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _new_backup_codes(user=user)
        audit(user, "account.two_factor_enabled", by=user)
    return codes


def regenerate_backup_codes(*, user: User) -> list[str]:
    with transaction.atomic():
        codes = _new_backup_codes(user=user)
        audit(user, "account.backup_codes_regenerated", by=user)
    return codes


# Helpers for the pages


def safe_next(request: HttpRequest) -> str:
    """The page to go on to: ``next`` if it stays on this site, otherwise home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


def _with_next(url_name: str, request: HttpRequest) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': safe_next(request)})}"


def _unconfirmed_app(user: User) -> TOTPDevice:
    """Reuse the app being set up, so the QR code stays the same after a wrong code or a reload."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def qr_code(device: TOTPDevice) -> SafeString:
    """Inline SVG (paths only, no script or style), so it passes the CSP."""
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, title="QR code for your authenticator app")
    return mark_safe(svg)  # segno builds the markup; the only text in it is the fixed title


def typed_secret(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def is_verified(user: User) -> bool:
    """Whether the user entered a code in this session; ``OTPMiddleware`` adds ``is_verified``."""
    return bool(user.is_verified())  # type: ignore[attr-defined]


def _post_data(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


# Views


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_or_set_up(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the app, or a backup code; without a confirmed device, set one up first."""
    user = cast(User, request.user)
    devices = list(django_otp.devices_for_user(user))
    if not devices:
        return redirect(_with_next("two_factor_setup", request))
    if is_verified(user):
        return redirect(safe_next(request))
    backup = request.GET.get("backup") == "1"
    form = TokenForm(_post_data(request), devices=devices, backup=backup)
    if form.is_valid():
        django_otp.login(request, form.device)
        log.info("two-factor code accepted: user=%s from=%s", user.pk, client_address(request))
        return redirect(safe_next(request))
    if form.is_bound:
        log.warning("two-factor code refused: user=%s from=%s", user.pk, client_address(request))
    context = {"form": form, "backup": backup, "next": safe_next(request)}
    return render(request, "registration/two_factor_verify.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def set_up(request: HttpRequest) -> HttpResponse:
    """Link an authenticator app: scan the QR code, then enter a code to show it works.

    Someone who already has two-factor login sees its status instead; they may set up a
    different app (``?new=1``) only once they have entered a code in this session.
    """
    user = cast(User, request.user)
    verified = is_verified(user)
    replacing = verified and request.GET.get("new") == "1"
    if django_otp.user_has_device(user) and not replacing:
        context = {
            "verified": verified,
            "has_app": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "codes_left": StaticToken.objects.filter(device__user=user).count(),
        }
        return render(request, "registration/two_factor_enabled.html", context)
    device = _unconfirmed_app(user)
    form = TokenForm(_post_data(request), devices=[device])
    if form.is_valid():
        confirmed = cast(TOTPDevice, form.device)
        request.session[FRESH_CODES_SESSION_KEY] = enable_two_factor(user=user, device=confirmed)
        django_otp.login(request, confirmed)
        log.info("two-factor enabled: user=%s from=%s", user.pk, client_address(request))
        return redirect(_with_next("two_factor_backup_codes", request))
    context = {
        "form": form,
        "qr_code": qr_code(device),
        "secret": typed_secret(device),
        "replacing": replacing,
        "next": safe_next(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Show fresh backup codes once; POST makes a new set, for someone who has entered a code."""
    user = cast(User, request.user)
    if request.method == "POST":
        if not is_verified(user):
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': reverse('two_factor_setup')})}")
        request.session[FRESH_CODES_SESSION_KEY] = regenerate_backup_codes(user=user)
        log.info("backup codes regenerated: user=%s from=%s", user.pk, client_address(request))
        return redirect("two_factor_backup_codes")
    codes = request.session.pop(FRESH_CODES_SESSION_KEY, None)
    if codes is None:
        return redirect("two_factor_setup")
    return render(request, "registration/two_factor_backup_codes.html", {"codes": codes, "next": safe_next(request)})
