"""The one form two-factor login needs: a code from an authenticator app, or a backup code."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice

WRONG_CODE = "The code is not right. Check your app and try again."


def normalise_code(code: str) -> str:
    """Codes are often typed with spaces or hyphens ("123 456", "abcd-efgh"); backup codes are lower case."""
    return "".join(code.split()).replace("-", "").lower()


def wait_message(locked_until: datetime) -> str:
    seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    wait = f"{seconds} second{pluralize(seconds)}" if seconds < 60 else f"{minutes} minute{pluralize(minutes)}"
    return f"You entered too many wrong codes. Wait {wait}, then try again."


def check_code(device: Device, code: str) -> Device | None:
    """Verify against a locked, fresh row, so two requests cannot both use one code; return that row."""
    with transaction.atomic():
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        return locked if locked.verify_token(code) else None


class TokenForm(forms.Form):
    """Checks the code against the devices given; the device that accepted it is ``form.device``."""

    code = forms.CharField(
        label="Code",
        max_length=20,
        error_messages={"required": "Enter the code."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
                "autocapitalize": "none",
                "class": "form-control-lg",
            }
        ),
    )

    def __init__(self, *args: Any, devices: Sequence[Device], backup: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.devices = list(devices)
        self.device: Device | None = None
        field = self.fields["code"]
        if backup:
            field.label = "Backup code"
            field.help_text = "Each backup code is 8 letters and numbers, and works once."
            field.widget.attrs["inputmode"] = "text"
        else:
            field.help_text = "The 6-digit code your authenticator app shows now."

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        is_backup_code = not code.isdigit()
        candidates = [d for d in self.devices if isinstance(d, StaticDevice) == is_backup_code]
        for device in candidates:
            allowed, info = device.verify_is_allowed()
            if not allowed and info and "locked_until" in info:
                raise forms.ValidationError(wait_message(info["locked_until"]), code="throttled")
        for device in candidates:
            self.device = check_code(device, code)
            if self.device is not None:
                return code
        raise forms.ValidationError(WRONG_CODE, code="wrong")
