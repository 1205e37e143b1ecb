"""URL of the programme dashboard, mounted at ``/programme/`` in the ``programme`` namespace."""

from django.urls import path

from . import dashboard_views

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
]
