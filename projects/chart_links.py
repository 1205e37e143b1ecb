"""Signed links to stored chart images, served before the session is even read.

A measure page checks who may see the measure, then hands out ``<img>`` links that carry
a signature of the file's name and an expiry (the presigned-URL pattern of object stores).
``ChartFileMiddleware`` sits just after WhiteNoise and answers those links straight from
storage: no session, no user, no query, so a chart costs about what a static file does.
A link is only as good as its signature and expiry; the checked view
(``projects:chart_file``) still serves downloads and anyone without a valid link.

The expiry is rounded up to the hour, so a page drawn twice in the same hour gives the same
link and the browser's cache keeps working.

On object storage that presigns its URLs (S3 through django-storages, ``querystring_auth``), a
PNG link answers with a redirect to a presigned URL of the file, so the image bytes come from the
bucket, not through a web process; the redirect is cached by the browser for up to an hour. SVGs,
and storages that cannot presign (the file system, S3 behind a custom domain without a CloudFront
signer), are streamed from storage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from django.core import signing
from django.core.files.storage import Storage, default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.utils.http import parse_etags

PREFIX = "/charts/"
SALT = "projects.chart_links"
LIFETIME_HOURS = 12  # a signed-in session lasts at most 12 hours
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
# matplotlib styles its SVG inline; the SVG has no scripts.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
# A measure's run and XmR charts (PNG and SVG); a programme report's chart (PNG only: evaluation.report_charts).
NAME = re.compile(r"^charts/(?P<key>[0-9a-f]{64})-(?:run|xmr|report(?=\.png$))\.(?P<fmt>png|svg)$")


def signed_url(name: str, *, now: float | None = None) -> str:
    """A link to the stored chart ``name`` (``charts/<key>-<kind>.<fmt>``) valid for 12 to 13 hours."""
    hour = int((now if now is not None else time.time()) // 3600)
    expires = (hour + LIFETIME_HOURS + 1) * 3600
    token = signing.Signer(salt=SALT).sign_object({"n": name, "e": expires}, compress=False)
    return f"{PREFIX}{token}"


def presigned_url(storage: Storage, name: str, *, expires_in: int) -> str | None:
    """A URL of ``name`` the storage has signed to expire within ``expires_in`` seconds; None if it cannot presign.

    S3Storage presigns when ``querystring_auth`` is on, except behind a custom domain without a
    CloudFront signer, where its URL would be unsigned (and the private bucket would refuse it).
    """
    if not getattr(storage, "querystring_auth", False):
        return None
    if getattr(storage, "custom_domain", None) and not getattr(storage, "cloudfront_signer", None):
        return None
    sign: Any = storage.url  # S3Storage.url(name, parameters=None, expire=None)
    return str(sign(name, expire=expires_in))


def _unsigned(token: str) -> tuple[str, str, str, int] | None:
    """The file name, key, format and expiry a valid, unexpired token names; None for anything else."""
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    name, expires = data.get("n"), data.get("e")
    if not isinstance(name, str) or not isinstance(expires, int) or expires < time.time():
        return None
    match = NAME.match(name)
    return (name, match["key"], match["fmt"], expires) if match else None


class ChartFileMiddleware:
    """Serve ``/charts/<signed token>`` from storage; every other request passes through untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        found = _unsigned(request.path[len(PREFIX) :])
        if found is None or request.method not in ("GET", "HEAD"):
            return HttpResponse("Not found.", status=404, content_type="text/plain")
        name, key, fmt, expires = found
        headers = {"ETag": f'"{key}"', "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        tags = parse_etags(request.headers.get("If-None-Match", ""))
        if headers["ETag"] in tags or "*" in tags:
            return HttpResponseNotModified(headers=headers)
        if fmt == "png":
            # Valid as long as the link (at least 12 hours); the browser keeps the redirect for an hour.
            url = presigned_url(default_storage, name, expires_in=max(expires - int(time.time()), 60))
            if url is not None:
                return HttpResponseRedirect(url, headers={"Cache-Control": "private, max-age=3600"})
        try:
            with default_storage.open(name, "rb") as stored:
                content = stored.read()
        except FileNotFoundError:
            return HttpResponse("Not found.", status=404, content_type="text/plain")
        response = HttpResponse(content, content_type=CONTENT_TYPES[fmt], headers=headers)
        if fmt == "svg":
            response["Content-Security-Policy"] = SVG_POLICY
        return response
