"""Being written: placeholder views that answer 404 until their helper replaces this file."""

from django.http import Http404


def blank_workbook(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def example_workbook(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def project_workbook(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
