"""Fetch one object through a user's scope: anything outside it is a 404, and is logged."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from .models import User
from .security import client_address

T = TypeVar("T", bound=Model)


class AuthenticatedRequest(HttpRequest):
    """The request of a view behind ``login_required``: its user is signed in."""

    user: User  # type: ignore[assignment]


log = logging.getLogger("microsystems.security")


def get_in_scope_or_404(scope: QuerySet[T], request: HttpRequest, **lookup: Any) -> T:
    try:
        return scope.get(**lookup)
    except ObjectDoesNotExist:
        raise not_in_scope(request, str(scope.model._meta.verbose_name)) from None


def not_in_scope(request: HttpRequest, what: str) -> Http404:
    """A 404 for something missing or outside the user's scope (the two look the same), logged."""
    log.warning(
        "access denied or missing: user=%s path=%s from=%s",
        getattr(request.user, "pk", None),
        request.path,
        client_address(request),
    )
    return Http404(f"No {what} here.")


def deny(request: HttpRequest, what: str) -> Http404:
    """A 404 for an action the user may not take on something they can see, logged."""
    log.warning(
        "permission denied: user=%s action=%s path=%s from=%s",
        getattr(request.user, "pk", None),
        what,
        request.path,
        client_address(request),
    )
    return Http404("Not found.")
