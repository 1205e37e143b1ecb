"""Two-factor login with an authenticator app (TOTP) and single-use backup codes (django-otp)."""
# Being written.
from django.http import HttpResponse


def verify_or_set_up(request):  # type: ignore[no-untyped-def]
    return HttpResponse("")


set_up = backup_codes = verify_or_set_up
