"""Being written: placeholder views that answer 404 until their helper replaces this file."""

from django.http import Http404


def project_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def create(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def overview(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def edit(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def coaches(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def change_step(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def withdraw(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def aims(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def edit_aim(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def remove_aim(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
