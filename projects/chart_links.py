"""Signed links to stored chart images, served before the session is even read.

A measure page checks who may see the measure, then hands out ``<img>`` links that carry
a signature of the file's name and an expiry (the presigned-URL pattern of object stores).
``ChartFileMiddleware`` sits just after WhiteNoise and answers those links straight from
storage: no session, no user, no query, so a chart costs about what a static file does.
A link is only as good as its signature and expiry; the checked view
(``projects:chart_file``) still serves downloads and anyone without a valid link.

The expiry is rounded up to the hour, so a page drawn twice in the same hour gives the same
link and the browser's cache keeps working.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.core import signing
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

PREFIX = "/charts/"
SALT = "projects.chart_links"
LIFETIME_HOURS = 12  # a signed-in session lasts at most 12 hours
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
# matplotlib styles its SVG inline; the SVG has no scripts.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
NAME = re.compile(r"^charts/(?P<key>[0-9a-f]{64})-(?:run|xmr)\.(?P<fmt>png|svg)$")


def signed_url(name: str, *, now: float | None = None) -> str:
    """A link to the stored chart ``name`` (``charts/<key>-<kind>.<fmt>``) valid for 12 to 13 hours."""
    hour = int((now if now is not None else time.time()) // 3600)
    expires = (hour + LIFETIME_HOURS + 1) * 3600
    token = signing.Signer(salt=SALT).sign_object({"n": name, "e": expires}, compress=False)
    return f"{PREFIX}{token}"


def _unsigned(token: str) -> tuple[str, str, str] | None:
    """The file name, key and format a valid, unexpired token names; None for anything else."""
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
    return (name, match["key"], match["fmt"]) if match else None


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
        name, key, fmt = found
        headers = {"ETag": f'"{key}"', "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        tags = parse_etags(request.headers.get("If-None-Match", ""))
        if headers["ETag"] in tags or "*" in tags:
            return HttpResponseNotModified(headers=headers)
        try:
            with default_storage.open(name, "rb") as stored:
                content = stored.read()
        except FileNotFoundError:
            return HttpResponse("Not found.", status=404, content_type="text/plain")
        response = HttpResponse(content, content_type=CONTENT_TYPES[fmt], headers=headers)
        if fmt == "svg":
            response["Content-Security-Policy"] = SVG_POLICY
        return response
