"""What the benchmark adds to the running site (only under ``microsystems.settings.bench``).

``QueryCountMiddleware`` counts the SQL queries each request runs and reports them in an
``X-Query-Count`` response header, so ``manage.py bench`` can read them over HTTP from
gunicorn. ``bare`` is the yardstick page: it passes the same middleware and session
authentication as every real page and does nothing else, so a page's latency divided by
the bare view's is what the page itself costs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse

QUERY_COUNT_HEADER = "X-Query-Count"


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    """Put the number of SQL queries the request ran (every database) in ``X-Query-Count``.

    Sits first in ``MIDDLEWARE`` so it also counts the session and authentication queries
    the other middleware run. A response streamed after this returns is not counted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counter))
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(counter.count)
        return response


@login_required
def bare(request: HttpRequest) -> HttpResponse:
    """A signed-in page that does nothing: the baseline every page is measured against."""
    return HttpResponse("ok", content_type="text/plain")
