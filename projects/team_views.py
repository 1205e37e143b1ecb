"""Being written: placeholder views that answer 404 until their helper replaces this file."""

from django.http import Http404


def team(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def add_member(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def no_patient_rep(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def edit_member(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def remove_member(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def champion(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404


def meeting_role(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404
