"""Being written: placeholder views that answer 404 until their helper replaces this file."""

from django.http import Http404


def workbook_step(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def save(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def history(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def restore(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
